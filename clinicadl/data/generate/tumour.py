"""``generate tumour``: T1 images with a brain mass and its surrounding oedema, and their masks.

Each participant's image is the MNI152 2009 template on the cropped t1-linear grid (:mod:`._pathology`) with one
tumour, in the spirit of glioma images (BraTS; Menze et al. 2015) but much simpler:

1. Place and size. The centre is a white-matter voxel (p_WM > 0.7) of a random hemisphere, at least the core radius
   away from the brain's edge; the core radius is ``R ~ U(radius_mm)``.
2. Mass effect. Tissue is pushed away from the centre: the image at distance r samples the template at
   ``r * (1 - mass_effect * exp(-r^2 / (2 (1.5 R)^2)))``.
3. Shape. The core is the set of points whose distance to the centre, divided by ``R * (1 + f)``, is at most 1,
   ``f`` being a smooth random field (RMS ``irregularity``) that makes the boundary irregular. The oedema extends
   to ``oedema_ratio`` times that normalised distance, only in white matter (p_WM > 0.3): vasogenic oedema
   spreads along white-matter tracts.
4. Contrast. The core's intensity is multiplied by ``1 - contrast``, the oedema's by ``1 - contrast / 2``
   (negative contrast: hyperintense, FLAIR-like), with soft edges.
5. Nuisance: the bias field and Rician noise of ``generate cohort``.

Masks: 0 background, 1 tumour core, 2 oedema (``--n_labels 2`` for ``train segmentation``). ``data.tsv`` has the
volumes (mL) and ``diagnosis`` ``large`` when core + oedema exceed ``volume_threshold`` (default: the volume of a
core of the middle radius with its oedema), else ``small``.

References
----------
Menze B. H. et al. (2015). The multimodal brain tumor image segmentation benchmark (BRATS). IEEE Transactions on
Medical Imaging 34(10), 1993-2024.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clinicadl.data.generate._pathology import PathologyResult
from clinicadl.errors import InputError

__all__ = ["DATA_COLUMNS", "TumourModel", "generate_tumour"]

DATA_COLUMNS = ("participant_id", "session_id", "diagnosis", "age", "sex", "tumour_volume", "oedema_volume",
                "hemisphere", "radius_mm")
LABELS = {1: "tumour core", 2: "oedema"}


@dataclass(frozen=True)
class TumourModel:
    """Constants of the tumour model (module docstring); recorded in ``generate.json``."""

    mass_effect: float = 0.3
    irregularity: float = 0.15
    irregularity_order: int = 4
    edge_mm: float = 1.5


@dataclass(frozen=True)
class _Task:
    index: int
    participant_id: str
    seed: int
    radius_mm: tuple[float, float]
    oedema_ratio: float
    contrast: float
    volume_threshold: float
    resolution: int
    staging: str
    model: TumourModel


def generate_tumour(output: str | Path, *, n_subjects: int = 20, radius_mm: tuple[float, float] = (8.0, 20.0),
                    oedema_ratio: float = 1.8, contrast: float = 0.5, volume_threshold: float | None = None,
                    resolution: int = 2, seed: int = 0, n_proc: int = 1, progress: bool = False,
                    model: TumourModel = TumourModel()) -> PathologyResult:
    """Write a t1-linear CAPS of images with a tumour (core and oedema) and their masks.

    Parameters
    ----------
    output : the CAPS folder to create (must not exist, or be empty).
    n_subjects : number of participants (one session each).
    radius_mm : (MIN, MAX) of the core radius in mm (uniform): the tumour load.
    oedema_ratio : outer radius of the oedema over the core's (>= 1; 1: no oedema).
    contrast : relative intensity drop in the core, in [-1, 1] (half of it in the oedema).
    volume_threshold : core + oedema volume (mL) above which ``diagnosis`` is ``large``.
    resolution, seed, n_proc, progress : as :func:`~clinicadl.data.generate.lesions.generate_lesions`.
    model : constants of the tumour model.

    Returns
    -------
    PathologyResult
    """
    from clinicadl.data.generate._pathology import check_common, check_range, write_pathology_caps

    start = time.perf_counter()
    check_common(n_subjects, resolution, n_proc)
    radius = check_range("radius_mm", radius_mm, 1.0, 40.0)
    if not (math.isfinite(oedema_ratio) and 1.0 <= oedema_ratio <= 4.0):
        raise InputError(f"oedema_ratio must lie in [1, 4] (outer radius of the oedema over the core's); got "
                         f"{oedema_ratio}.")
    if not (math.isfinite(contrast) and -1.0 <= contrast <= 1.0):
        raise InputError(f"contrast must lie in [-1, 1] (relative intensity drop in the core); got {contrast}.")
    if volume_threshold is None:
        middle = (radius[0] + radius[1]) / 2
        volume_threshold = 4 / 3 * math.pi * (middle * oedema_ratio) ** 3 / 1000 * 0.5  # about half is white matter
    if not math.isfinite(volume_threshold) or volume_threshold < 0:
        raise InputError(f"volume_threshold must be a volume >= 0 in mL; got {volume_threshold}.")
    resolution = int(resolution)
    return write_pathology_caps(
        output, generator="tumour", prefix="T", n_subjects=n_subjects, resolution=resolution, seed=seed,
        n_proc=n_proc, progress=progress, labels=LABELS, columns=DATA_COLUMNS, worker=_make_participant,
        make_task=lambda i, p, staging: _Task(i, p, int(seed), radius, float(oedema_ratio), float(contrast),
                                              float(volume_threshold), resolution, staging, model),
        record=lambda rows: {"radius_mm": list(radius), "oedema_ratio": float(oedema_ratio),
                             "contrast": float(contrast), "volume_threshold": float(volume_threshold),
                             "resolution": resolution, "n_large": sum(row["diagnosis"] == "large" for row in rows)},
        model=model, start=start)


def _soft(q: np.ndarray, limit: float, scale: float) -> np.ndarray:
    """Logistic step: 1 for q well below ``limit``, 0.5 at it, 0 above."""
    return (1.0 / (1.0 + np.exp(np.clip((q - limit) * 4.0 * scale, -50, 50)))).astype(np.float32)


def _make_participant(task: _Task) -> dict:
    from scipy import ndimage

    from clinicadl.data.generate._fields import smooth_field
    from clinicadl.data.generate._pathology import add_nuisance, demographics, grid_anatomy, stream, write_case

    anatomy = grid_anatomy(task.resolution)
    model = task.model
    draw = stream(task.seed, 1, task.index, 0)
    age, sex = demographics(draw)
    radius = float(draw.uniform(*task.radius_mm))
    hemisphere = "L" if draw.random() < 0.5 else "R"
    axes = anatomy.axes
    brain = (anatomy.wm + anatomy.gm) > 0.5
    depth = ndimage.distance_transform_edt(brain, sampling=[float(task.resolution)] * 3)
    side = (axes[0] < 0)[:, None, None] if hemisphere == "L" else (axes[0] > 0)[:, None, None]
    candidates = np.argwhere((anatomy.wm > 0.7) & (depth > radius) & side)
    if len(candidates) == 0:
        candidates = np.argwhere((anatomy.wm > 0.5) & side)
    if len(candidates) == 0:
        raise InputError(f"No white-matter voxel deep enough for a tumour of radius {radius:.1f} mm at "
                         f"{task.resolution} mm; reduce radius_mm or the resolution.")
    centre_index = candidates[draw.integers(len(candidates))]
    centre = np.array([axes[c][centre_index[c]] for c in range(3)], dtype=np.float32)
    offsets = np.meshgrid(*[(axes[c] - centre[c]).astype(np.float32) for c in range(3)], indexing="ij")
    r = np.sqrt(sum(o * o for o in offsets))
    # mass effect: sample the template closer to the centre
    shrink = 1.0 - np.float32(model.mass_effect) * np.exp(-(r * r) / np.float32(2 * (1.5 * radius) ** 2))
    grid = anatomy.axes
    coordinates = np.stack([(centre[c] + offsets[c] * shrink - grid[c][0]) / task.resolution for c in range(3)])

    def warp(volume: np.ndarray) -> np.ndarray:
        return ndimage.map_coordinates(volume, coordinates, order=1, mode="nearest", prefilter=False)

    t1, wm = warp(anatomy.t1), warp(anatomy.wm)
    irregular = smooth_field(axes, order=model.irregularity_order, rms=model.irregularity,
                             rng=stream(task.seed, 1, task.index, 1)).astype(np.float32)
    q = r / (np.float32(radius) * (1.0 + np.clip(irregular, -0.5, 0.5)))
    scale = radius / max(model.edge_mm, 1e-6)
    core = _soft(q, 1.0, scale)
    oedema = _soft(q, task.oedema_ratio, scale) * np.clip((wm - 0.3) / 0.4, 0, 1) * (1 - core)
    labels = np.zeros(t1.shape, dtype=np.uint8)
    labels[oedema >= 0.5] = 2
    labels[core >= 0.5] = 1
    contrast = np.float32(task.contrast)
    image = t1 * (1.0 - contrast * core) * (1.0 - contrast / 2 * oedema)
    image = add_nuisance(image.astype(np.float32), anatomy, stream(task.seed, 1, task.index, 2))
    write_case(Path(task.staging), task.participant_id, task.resolution, image, labels, anatomy.affine)
    voxel_ml = task.resolution**3 / 1000.0
    core_ml, oedema_ml = float((labels == 1).sum() * voxel_ml), float((labels == 2).sum() * voxel_ml)
    return {"participant_id": task.participant_id, "session_id": "ses-M000",
            "diagnosis": "large" if core_ml + oedema_ml > task.volume_threshold else "small", "age": age,
            "sex": sex, "tumour_volume": core_ml, "oedema_volume": oedema_ml, "hemisphere": hemisphere,
            "radius_mm": radius}
