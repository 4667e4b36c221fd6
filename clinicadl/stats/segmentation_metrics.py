"""Per-image segmentation metrics: Dice, IoU, HD95 and NSD of a predicted mask against a reference mask.

Each function compares two masks of one image (numpy arrays of the same shape, any number of dimensions) and
returns one number. The per-image values are what ``clinicadl predict`` writes for a segmentation model and what
``clinicadl evaluate`` summarises (mean and median over images, with participant-level intervals).

Definitions (A: predicted foreground, B: reference foreground, |.| a voxel count)

- ``Dice`` = 2 |A n B| / (|A| + |B|) (Dice 1945; Sorensen 1948).
- ``IoU`` = |A n B| / |A u B| (Jaccard index).
- Surfaces: the boundary voxels of a mask, ``mask & ~erode(mask)``, with a 6-connected (face) structuring element
  and the outside of the array counted as background, as MONAI's ``get_mask_edges`` does. Distances are Euclidean,
  in millimetres, from each boundary voxel of one mask to the nearest boundary voxel of the other (a distance
  transform scaled by the voxel ``spacing``).
- ``HD95`` = max(P95(d(dA, dB)), P95(d(dB, dA))): the larger of the two directed 95th percentiles
  (``numpy.percentile``, linear interpolation), as MONAI's ``compute_hausdorff_distance(percentile=95)`` and
  Maier-Hein et al. (2024) define it.
- ``NSD`` (normalised surface distance, or surface Dice at tolerance tau) = (#{p in dA : d(p, dB) <= tau} +
  #{q in dB : d(q, dA) <= tau}) / (|dA| + |dB|) (Nikolov et al. 2021), counted on boundary voxels as MONAI's
  ``compute_surface_dice(use_subvoxels=False)``.

Empty masks (documented conventions; Maier-Hein et al. 2024 ask that they be stated)

==================  =====  =====  ======  =====
case                Dice   IoU    HD95    NSD
==================  =====  =====  ======  =====
both empty          1      1      0       1
one empty           0      0      NaN     0
==================  =====  =====  ======  =====

Both empty is perfect agreement (a lesion-free image correctly predicted lesion-free). With one mask empty, the
Hausdorff distance is undefined (MONAI returns inf or NaN): it is NaN, so that ``evaluate`` leaves the image out of
the HD95 summaries (and says how many images it used) rather than averaging an arbitrary maximum.

References
----------
Dice L. R. (1945). Measures of the amount of ecologic association between species. Ecology 26(3), 297-302.
Nikolov S. et al. (2021). Clinically applicable segmentation of head and neck anatomy for radiotherapy: deep
learning algorithm development and validation study. J Med Internet Res 23(7), e26151.
Maier-Hein L., Reinke A. et al. (2024). Metrics reloaded: recommendations for image analysis validation. Nature
Methods 21, 195-212.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from clinicadl.errors import InputError, plain

__all__ = [
    "SEGMENTATION_METRICS",
    "SegmentationValues",
    "dice",
    "hausdorff_95",
    "iou",
    "label_values",
    "mask_boundary",
    "normalized_surface_distance",
    "segmentation_values",
    "surface_distances",
]

HD_PERCENTILE = 95.0


def _masks(prediction, reference) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(prediction), np.asarray(reference)
    if a.shape != b.shape:
        raise InputError(f"The predicted mask has shape {a.shape} but the reference mask {b.shape}; both masks "
                         "of an image must have the same shape.")
    if a.ndim < 1:
        raise InputError("Masks must be arrays with at least one dimension.")
    return a.astype(bool, copy=False), b.astype(bool, copy=False)


def _spacing(spacing: float | Sequence[float] | None, ndim: int) -> np.ndarray:
    if spacing is None:
        return np.ones(ndim)
    values = np.asarray(spacing, dtype=np.float64)
    if values.ndim == 0:
        values = np.full(ndim, float(values))
    if values.shape != (ndim,) or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise InputError(f"spacing must be one positive voxel size per axis ({ndim} values), got {plain(spacing)}.")
    return values


def dice(prediction, reference) -> float:
    """Dice similarity coefficient of two binary masks: 2|A n B| / (|A| + |B|); 1 when both are empty.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((4, 4), bool); a[:2] = True
    >>> b = np.zeros((4, 4), bool); b[1:3] = True
    >>> dice(a, b)
    0.5
    """
    a, b = _masks(prediction, reference)
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total


def iou(prediction, reference) -> float:
    """Intersection over union (Jaccard index) of two binary masks; 1 when both are empty.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((4, 4), bool); a[:2] = True
    >>> b = np.zeros((4, 4), bool); b[1:3] = True
    >>> round(iou(a, b), 4)
    0.3333
    """
    a, b = _masks(prediction, reference)
    union = int(np.logical_or(a, b).sum())
    return 1.0 if union == 0 else int(np.logical_and(a, b).sum()) / union


def mask_boundary(mask) -> np.ndarray:
    """Boundary voxels of a binary mask: the voxels removed by one erosion with the face-connected element.

    The outside of the array counts as background, so foreground voxels on the array's border are boundary voxels.
    """
    from scipy import ndimage

    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return mask.copy()
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure=structure, border_value=0)


def surface_distances(prediction, reference, *, spacing=None) -> tuple[np.ndarray, np.ndarray]:
    """Distances (mm) from each boundary voxel of one mask to the nearest boundary voxel of the other.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``d(dA, dB)`` (one value per boundary voxel of the prediction) and ``d(dB, dA)``. Both masks must be
        non-empty.
    """
    from scipy import ndimage

    a, b = _masks(prediction, reference)
    if not a.any() or not b.any():
        raise InputError("Surface distances need two non-empty masks; see the empty-mask conventions of "
                         "clinicadl.stats.segmentation_metrics.")
    sampling = _spacing(spacing, a.ndim)
    edge_a, edge_b = mask_boundary(a), mask_boundary(b)
    to_b = ndimage.distance_transform_edt(~edge_b, sampling=sampling)
    to_a = ndimage.distance_transform_edt(~edge_a, sampling=sampling)
    return to_b[edge_a], to_a[edge_b]


def hausdorff_95(prediction, reference, *, spacing=None) -> float:
    """95th-percentile Hausdorff distance (mm): the larger of the two directed 95th percentiles.

    0 when both masks are empty, NaN when exactly one is (undefined; see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((8, 8, 8), bool); a[2:5, 2:5, 2:5] = True
    >>> hausdorff_95(a, np.roll(a, 1, axis=0), spacing=(2.0, 1.0, 1.0))
    2.0
    """
    a, b = _masks(prediction, reference)
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return float("nan")
    ab, ba = surface_distances(a, b, spacing=spacing)
    return float(max(np.percentile(ab, HD_PERCENTILE), np.percentile(ba, HD_PERCENTILE)))


def normalized_surface_distance(prediction, reference, *, tolerance: float = 1.0, spacing=None) -> float:
    """Normalised surface distance (surface Dice) at ``tolerance`` mm (Nikolov et al. 2021).

    1 when both masks are empty, 0 when exactly one is.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((8, 8, 8), bool); a[2:5, 2:5, 2:5] = True
    >>> normalized_surface_distance(a, np.roll(a, 1, axis=0), tolerance=1.0)
    1.0
    """
    if not np.isfinite(tolerance) or tolerance < 0:
        raise InputError(f"The NSD tolerance must be a distance >= 0 in mm, got {plain(tolerance)}.")
    a, b = _masks(prediction, reference)
    if not a.any() and not b.any():
        return 1.0
    if not a.any() or not b.any():
        return 0.0
    ab, ba = surface_distances(a, b, spacing=spacing)
    return float((np.count_nonzero(ab <= tolerance) + np.count_nonzero(ba <= tolerance)) / (ab.size + ba.size))


@dataclass(frozen=True)
class SegmentationValues:
    """The four metrics of one label of one image.

    Attributes
    ----------
    Dice, IoU, NSD : float
        In [0, 1].
    HD95 : float
        In mm; NaN when exactly one mask is empty.
    """

    Dice: float
    IoU: float
    HD95: float
    NSD: float

    def as_dict(self, suffix: str = "") -> dict[str, float]:
        """``{"Dice<suffix>": ..., "IoU<suffix>": ..., "HD95<suffix>": ..., "NSD<suffix>": ...}``."""
        return {f"{name}{suffix}": float(getattr(self, name)) for name in SEGMENTATION_METRICS}


SEGMENTATION_METRICS = tuple(f.name for f in fields(SegmentationValues))
"""Names of the per-image metrics, in the order of the prediction files (their direction, range and display
name are in the registry, :data:`clinicadl.stats.metrics.PER_IMAGE_METRICS`)."""


def segmentation_values(prediction, reference, *, spacing=None, tolerance: float = 1.0) -> SegmentationValues:
    """Dice, IoU, HD95 and NSD of one predicted binary mask against its reference (one distance transform pair).

    Parameters
    ----------
    prediction, reference : array_like of bool
        Masks of the same shape.
    spacing : float or sequence of float, optional
        Voxel size along each axis in mm (default 1).
    tolerance : float
        NSD tolerance in mm.

    Returns
    -------
    SegmentationValues
    """
    a, b = _masks(prediction, reference)
    if not a.any() or not b.any():
        return SegmentationValues(dice(a, b), iou(a, b), hausdorff_95(a, b),
                                  normalized_surface_distance(a, b, tolerance=tolerance))
    ab, ba = surface_distances(a, b, spacing=spacing)
    hd = float(max(np.percentile(ab, HD_PERCENTILE), np.percentile(ba, HD_PERCENTILE)))
    nsd = float((np.count_nonzero(ab <= tolerance) + np.count_nonzero(ba <= tolerance)) / (ab.size + ba.size))
    return SegmentationValues(dice(a, b), iou(a, b), hd, nsd)


def label_values(prediction, reference, n_labels: int, *, spacing=None, tolerance: float = 1.0) -> dict[str, float]:
    """Per-image values of a label map with foreground labels 1..n_labels, as the prediction files name them.

    With one foreground label: ``Dice IoU HD95 NSD``. With several: the same four names hold the mean over the
    labels (NaN-ignoring for HD95), followed by ``<metric>_label<k>`` for each label k.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0, 1, 1, 2]]); r = np.array([[0, 1, 2, 2]])
    >>> label_values(p, r, 2)["Dice_label1"]
    0.6666666666666666
    """
    p, r = np.asarray(prediction), np.asarray(reference)
    if n_labels < 1:
        raise InputError(f"n_labels must be at least 1 (foreground labels), got {n_labels}.")
    per_label = [segmentation_values(p == k, r == k, spacing=spacing, tolerance=tolerance)
                 for k in range(1, n_labels + 1)]
    if n_labels == 1:
        return per_label[0].as_dict()
    out: dict[str, float] = {}
    for name in SEGMENTATION_METRICS:
        values = np.array([getattr(v, name) for v in per_label], dtype=float)
        out[name] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    for k, values in enumerate(per_label, start=1):
        out.update(values.as_dict(f"_label{k}"))
    return out
