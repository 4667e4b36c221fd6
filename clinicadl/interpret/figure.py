"""The figure of a mean attribution map: three orthogonal slices, a colour bar and a title (matplotlib, Agg).

Signed maps (``gradients``) use a diverging colour map centred on 0; non-negative maps (``grad-cam``) a sequential
one. The three slices go through the voxel of largest absolute value, which the title names; a 2D map (one
slice of slice mode) is drawn as it is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clinicadl.atomic import atomic_output

__all__ = ["peak_voxel", "write_map_figure"]

_AXES = ("sagittal (axis 0)", "coronal (axis 1)", "axial (axis 2)")


def peak_voxel(volume: np.ndarray) -> tuple[int, ...]:
    """Index of the voxel of largest absolute value (the first one on ties)."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(volume))), volume.shape))


def _display_array(values: np.ndarray) -> np.ndarray:
    """A map ``(C, *spatial)`` as one 2D or 3D array: its channel, or the mean over channels."""
    values = np.asarray(values, dtype=np.float64)
    return values[0] if values.shape[0] == 1 else values.mean(axis=0)


def write_map_figure(path: str | Path, values: np.ndarray, *, title: str, signed: bool) -> Path:
    """Write a PNG of ``values`` (``(C, H, W)`` or ``(C, D, H, W)``) and return its path.

    Parameters
    ----------
    path : path
        The PNG to write (atomically).
    values : numpy.ndarray
        The map, channels first; several channels are averaged for display.
    title : str
        First line of the title (method, group, split, selection metric).
    signed : bool
        Diverging colour map centred on 0 (gradients) rather than a sequential one (grad-cam).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    volume = _display_array(values)
    peak = peak_voxel(volume)
    limit = float(np.abs(volume).max()) or 1.0
    style = dict(cmap="RdBu_r", vmin=-limit, vmax=limit) if signed else dict(cmap="inferno", vmin=0.0, vmax=limit)
    if volume.ndim == 3:
        panels = [(np.take(volume, peak[axis], axis=axis), f"{_AXES[axis]} = {peak[axis]}") for axis in range(3)]
    else:
        panels = [(volume, "slice")]
    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels) + 1.2, 3.8), squeeze=False,
                                layout="constrained")
    for axis, (image, label) in zip(axes[0], panels):
        shown = axis.imshow(np.rot90(image), **style)
        axis.set_title(label, fontsize=9)
        axis.set_axis_off()
    figure.colorbar(shown, ax=list(axes[0]), shrink=0.8)
    figure.suptitle(f"{title}\npeak at voxel {peak}", fontsize=10)
    path = Path(path)
    with atomic_output(path) as tmp:
        figure.savefig(tmp, format="png", dpi=80)
    plt.close(figure)
    return path
