"""Per-image segmentation metrics against hand computations, brute-force distances and MONAI's metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from clinicadl.errors import InputError
from clinicadl.stats.segmentation_metrics import (
    dice,
    hausdorff_95,
    iou,
    label_values,
    mask_boundary,
    normalized_surface_distance,
    segmentation_values,
)


def cube(shape, start, stop) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(slice(a, b) for a, b in zip(start, stop))] = True
    return mask


def brute_force(a, b, spacing, tolerance):
    """HD95 and NSD from all pairwise distances between boundary voxels (no distance transform)."""
    def boundary(mask):
        padded = np.pad(mask, 1)
        eroded = ndimage.binary_erosion(padded, structure=ndimage.generate_binary_structure(mask.ndim, 1))
        return np.argwhere(mask & ~eroded[tuple(slice(1, -1) for _ in mask.shape)]) * np.asarray(spacing)

    pa, pb = boundary(a), boundary(b)
    distances = np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1))
    ab, ba = distances.min(axis=1), distances.min(axis=0)
    hd95 = max(np.percentile(ab, 95), np.percentile(ba, 95))
    nsd = ((ab <= tolerance).sum() + (ba <= tolerance).sum()) / (ab.size + ba.size)
    return hd95, nsd


def test_dice_and_iou_of_hand_made_masks():
    a = cube((10, 10, 10), (0, 0, 0), (4, 4, 4))  # 64 voxels
    b = cube((10, 10, 10), (2, 0, 0), (6, 4, 4))  # 64 voxels, 32 shared
    assert dice(a, b) == 2 * 32 / 128
    assert iou(a, b) == 32 / 96
    assert dice(a, a) == 1.0 and iou(a, a) == 1.0
    assert dice(a, ~a) == 0.0


def test_boundary_is_the_shell_and_counts_the_array_border():
    a = cube((5, 5, 5), (1, 1, 1), (4, 4, 4))
    assert mask_boundary(a).sum() == 27 - 1  # a 3x3x3 cube: all but the centre
    full = np.ones((3, 3, 3), dtype=bool)
    assert mask_boundary(full).sum() == 26  # outside the array is background


def test_shifted_cube_distances_by_hand():
    a = cube((12, 12, 12), (3, 3, 3), (7, 7, 7))
    b = np.roll(a, 2, axis=0)  # shifted by 2 voxels along x
    # boundary voxels of the shifted cube are at most 2 voxels from the other surface; spacing scales x only
    assert hausdorff_95(a, b) == pytest.approx(2.0)
    assert hausdorff_95(a, b, spacing=(1.5, 1.0, 1.0)) == pytest.approx(3.0)
    assert normalized_surface_distance(a, b, tolerance=2.0) == 1.0
    assert normalized_surface_distance(a, b, tolerance=0.0) < 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hd95_and_nsd_equal_brute_force_on_random_blobs(seed):
    rng = np.random.default_rng(seed)
    a = ndimage.gaussian_filter(rng.random((14, 16, 12)), 1.5) > 0.5
    b = ndimage.gaussian_filter(rng.random((14, 16, 12)), 1.5) > 0.5
    spacing = (1.0, 2.0, 1.5)
    hd95, nsd = brute_force(a, b, spacing, tolerance=2.0)
    values = segmentation_values(a, b, spacing=spacing, tolerance=2.0)
    assert values.HD95 == pytest.approx(hd95, rel=1e-12)
    assert values.NSD == pytest.approx(nsd, rel=1e-12)
    assert values.Dice == pytest.approx(2 * (a & b).sum() / (a.sum() + b.sum()))
    assert values.IoU == pytest.approx((a & b).sum() / (a | b).sum())


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("seed", [3, 4])
def test_metrics_equal_monai(seed):
    torch = pytest.importorskip("torch")
    metrics = pytest.importorskip("monai.metrics")
    rng = np.random.default_rng(seed)
    a = ndimage.gaussian_filter(rng.random((18, 20, 16)), 2) > 0.5
    b = ndimage.gaussian_filter(rng.random((18, 20, 16)), 2) > 0.5
    spacing = (1.0, 2.0, 1.5)
    pa, pb = (torch.tensor(m)[None, None].float() for m in (a, b))
    values = segmentation_values(a, b, spacing=spacing, tolerance=2.0)
    assert values.Dice == pytest.approx(float(metrics.compute_dice(pa, pb)), rel=1e-6)
    assert values.HD95 == pytest.approx(float(metrics.compute_hausdorff_distance(pa, pb, percentile=95,
                                                                                 spacing=spacing)), rel=1e-5)
    assert values.NSD == pytest.approx(float(metrics.compute_surface_dice(pa, pb, [2.0], spacing=spacing)), rel=1e-5)


def test_empty_mask_conventions():
    empty = np.zeros((6, 6, 6), dtype=bool)
    some = cube((6, 6, 6), (1, 1, 1), (3, 3, 3))
    both = segmentation_values(empty, empty)
    assert (both.Dice, both.IoU, both.HD95, both.NSD) == (1.0, 1.0, 0.0, 1.0)
    for a, b in ((empty, some), (some, empty)):
        one = segmentation_values(a, b)
        assert (one.Dice, one.IoU, one.NSD) == (0.0, 0.0, 0.0)
        assert math.isnan(one.HD95)


def test_label_values_per_label_and_mean():
    reference = np.zeros((8, 8, 8), dtype=int)
    reference[1:4, 1:4, 1:4] = 1
    reference[5:7, 5:7, 5:7] = 2
    predicted = reference.copy()
    predicted[5:7, 5:7, 5:7] = 0  # label 2 missed: Dice 0, HD95 undefined
    values = label_values(predicted, reference, 2)
    assert values["Dice_label1"] == 1.0 and values["Dice_label2"] == 0.0
    assert values["Dice"] == 0.5
    assert math.isnan(values["HD95_label2"]) and values["HD95"] == 0.0  # mean of the defined labels
    assert list(label_values(predicted == 1, reference == 1, 1)) == ["Dice", "IoU", "HD95", "NSD"]


def test_bad_inputs_give_clear_errors():
    with pytest.raises(InputError, match="same shape"):
        dice(np.zeros((2, 2)), np.zeros((3, 2)))
    with pytest.raises(InputError, match="spacing"):
        hausdorff_95(cube((4, 4, 4), (0, 0, 0), (2, 2, 2)), cube((4, 4, 4), (1, 1, 1), (3, 3, 3)), spacing=(1, 1))
    with pytest.raises(InputError, match="tolerance"):
        normalized_surface_distance(np.ones((2, 2)), np.ones((2, 2)), tolerance=-1)
    with pytest.raises(InputError, match="n_labels"):
        label_values(np.ones((2, 2)), np.ones((2, 2)), 0)
