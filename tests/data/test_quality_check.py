"""quality-check t1-volume and pet-linear on generated CAPS with planted bad images, and the QC slices."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import normalized_mutual_info_score

from clinicadl.cli.main import cli
from clinicadl.data.qc_pet_linear import contour_pass_probability
from clinicadl.data.qc_slices import qc_slices
from clinicadl.data.qc_t1_volume import normalized_mutual_information

SHAPE = (16, 18, 16)


def _save(path: Path, data: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(data, dtype=np.float32), np.eye(4)), path)
    return path


# ------------------------------------------------------------------------------------------------ QC slices


def _upstream_chain(plane: np.ndarray) -> np.ndarray:
    """Upstream's steps for a slice that needs no resizing (its larger side is 256): flip, pad, crop, rotate, flip."""
    flipped = plane[::-1, :]
    padded = np.zeros((256, 256))
    top, left = (256 - flipped.shape[0]) // 2, (256 - flipped.shape[1]) // 2
    padded[top: top + flipped.shape[0], left: left + flipped.shape[1]] = flipped
    return np.flip(np.rot90(padded[16:240, 16:240]), axis=1)


def test_qc_slices_follow_upstream_geometry():
    rng = np.random.default_rng(0)
    volume = rng.uniform(0, 10, size=(256, 256, 6))
    scaled = (volume - volume.min()) / (volume.max() - volume.min()) - 0.5
    slices = qc_slices(volume).numpy()
    np.testing.assert_allclose(slices[0], _upstream_chain(scaled[:, :, 3]), atol=1e-5)
    np.testing.assert_allclose(slices[1], _upstream_chain(scaled[128, :, :]), atol=1e-5)
    np.testing.assert_allclose(slices[2], _upstream_chain(scaled[:, 128, :]), atol=1e-5)


def test_tensor_path_resizes_by_nearest_neighbour():
    rng = np.random.default_rng(1)
    volume = rng.uniform(0, 1, size=(1, 128, 128, 4))  # an extracted tensor: each 128x128 slice doubles
    scaled = (volume[0] - volume.min()) / (volume.max() - volume.min()) - 0.5
    doubled = np.kron(scaled[:, :, 2][::-1, :], np.ones((2, 2)))[::-1, :]  # upsample, then the chain flips again
    np.testing.assert_allclose(qc_slices(volume, from_tensor=True).numpy()[0], _upstream_chain(doubled), atol=1e-5)


# ------------------------------------------------------------------------------------------------ t1-volume


def test_normalized_mutual_information_matches_scikit_learn():
    rng = np.random.default_rng(2)
    a = rng.normal(size=500)
    b = a + rng.normal(scale=0.7, size=500)

    def labels(x):
        edges = np.histogram_bin_edges(x, bins=10)
        return np.digitize(x, edges[1:-1])

    expected = normalized_mutual_info_score(labels(a), labels(b), average_method="arithmetic")
    assert normalized_mutual_information(a, b) == pytest.approx(expected, rel=1e-10)


def _brain() -> np.ndarray:
    grid = np.indices(SHAPE).astype(float)
    centre = (np.array(SHAPE) - 1)[:, None, None, None] / 2
    radius = np.sqrt((((grid - centre) / (np.array(SHAPE)[:, None, None, None] / 2.2)) ** 2).sum(axis=0))
    return np.clip(1.2 - radius, 0, 1) * (radius < 0.85)  # a blob with values up to 1, about 1/3 of the voxels


def _volume_caps(root: Path) -> tuple[Path, Path]:
    caps, rng = root / "caps", np.random.default_rng(3)
    brain = _brain()
    eyes = np.zeros(SHAPE)
    eyes[4:12, 12:17, 5:11] = 1  # the front of the head
    template = np.stack([brain, 0.2 * brain], axis=-1)  # 4D: tissue classes, summed by the check
    _save(caps / "groups" / "group-AD" / "t1" / "group-AD_template.nii.gz", template)
    good = [np.clip(brain + rng.normal(0, 0.02, SHAPE) * (brain > 0), 0, 1) for _ in range(3)]
    for image in good:
        image[brain > 0] = np.maximum(image[brain > 0], 1e-3)
        image.flat[np.argmax(brain)] = 1.0
    faint = good[0] * 0.5  # max 0.5: fails step 1
    spread = np.clip(good[1] + 0.3 * (brain == 0), 0, 1)  # almost every voxel non-zero: fails step 2
    no_front = good[2] * (1 - eyes)  # empty frontal region: fails step 3
    images = {"sub-001": good[0], "sub-002": good[1], "sub-003": good[2], "sub-004": faint, "sub-005": spread,
              "sub-006": no_front}
    for participant, image in images.items():
        _save(caps / "subjects" / participant / "ses-M000" / "t1" / "spm" / "segmentation" / "normalized_space"
              / f"{participant}_ses-M000_T1w_segm-graymatter_space-Ixi549Space_modulated-off_probability.nii.gz",
              image)
    return caps, _save(root / "eyes_segmentation.nii.gz", eyes)


def test_t1_volume_rejects_each_planted_image_at_its_step(tmp_path):
    caps, eyes = _volume_caps(tmp_path)
    output = tmp_path / "qc"
    result = CliRunner().invoke(cli, ["quality-check", "t1-volume", str(caps), str(output), "AD",
                                      "--eyes_segmentation", str(eyes)])
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(output / "QC_metrics.tsv", sep="\t")
    assert list(metrics.columns) == ["participant_id", "session_id", "max_intensity", "non_zero_percentage",
                                     "frontal_similarity"]
    assert metrics["max_intensity"].is_monotonic_increasing and len(metrics) == 6
    kept = [set(pd.read_csv(output / f"pass_step-{step}.tsv", sep="\t")["participant_id"]) for step in (1, 2, 3)]
    good = {"sub-001", "sub-002", "sub-003"}
    assert kept[0] == good | {"sub-005", "sub-006"}
    assert kept[1] == good | {"sub-006"}
    assert kept[2] == good
    row = metrics.set_index("participant_id").loc["sub-006"]
    assert row["frontal_similarity"] == pytest.approx(0.0, abs=1e-12)


def test_t1_volume_without_eyes_segmentation_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    caps, _ = _volume_caps(tmp_path)
    result = CliRunner().invoke(cli, ["quality-check", "t1-volume", str(caps), str(tmp_path / "qc"), "AD"])
    assert result.exit_code == 1
    assert "eyes_segmentation.nii.gz" in result.output and "--eyes_segmentation" in result.output
    assert "https://aramislab.paris.inria.fr/files/data/template/" in result.output
    assert not (tmp_path / "qc").exists()


# ------------------------------------------------------------------------------------------------ pet-linear

PET = "_trc-18FFDG_space-MNI152NLin2009cSym_res-1x1x1_suvr-cerebellumPons2_pet.nii.gz"


def _pet_caps(root: Path) -> tuple[Path, Path, int]:
    caps = root / "caps"
    contour = np.zeros(SHAPE)
    contour[1:-1, 1:-1, 1:-1] = 1
    contour[3:-3, 3:-3, 3:-3] = 0  # a shell around the brain
    brain = _brain() * (contour == 0)
    shifted = brain.copy()
    shifted[:, 14:, :] = 1.0  # signal spilling on the contour at the back: fails
    for index, image in enumerate([brain, brain * 2 + 0.1, shifted], start=1):
        participant = f"sub-00{index}"
        _save(caps / "subjects" / participant / "ses-M000" / "pet_linear" / f"{participant}_ses-M000{PET}", image)
    spilled = int(((contour == 1) & (shifted >= 0.35)).sum())
    return caps, _save(root / "qc_pet_mask_contour.nii.gz", contour), spilled


def test_pet_linear_fails_the_image_with_signal_on_the_contour(tmp_path):
    caps, mask, spilled = _pet_caps(tmp_path)
    output = tmp_path / "qc.tsv"
    result = CliRunner().invoke(cli, ["quality-check", "pet-linear", str(caps), str(output), "18FFDG",
                                      "cerebellumPons2", "-uui", "--contour_mask", str(mask)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(output, sep="\t")
    assert list(table.columns) == ["participant_id", "session_id", "pass_probability", "pass"]
    assert list(table["participant_id"]) == ["sub-003", "sub-001", "sub-002"]  # increasing probability
    contour_size = int(nib.load(mask).get_fdata().sum())
    assert table["pass_probability"].iloc[0] == pytest.approx(1 - spilled / contour_size)  # shifted: intensity 1
    assert table["pass_probability"].iloc[1:].tolist() == [1.0, 1.0]
    assert table["pass"].tolist() == [False, True, True]
    again = CliRunner().invoke(cli, ["quality-check", "pet-linear", str(caps), str(output), "18FFDG",
                                     "cerebellumPons2", "-uui", "--contour_mask", str(mask)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_contour_probability_closed_form():
    image = np.zeros((4, 4, 4))
    image[0, 0, :2] = [0.3, 1.0]  # normalised 0.3 (< 0.35: ignored) and 1.0 on a contour of 16 voxels
    contour = np.zeros((4, 4, 4))
    contour[0] = 1
    assert contour_pass_probability(image, contour) == pytest.approx(1 - 1.0 / 16)


def test_pet_linear_without_mask_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    caps, _, _ = _pet_caps(tmp_path)
    result = CliRunner().invoke(cli, ["quality-check", "pet-linear", str(caps), str(tmp_path / "qc.tsv"), "18FFDG",
                                      "cerebellumPons2", "-uui"])
    assert result.exit_code == 1
    assert "--contour_mask" in result.output and "qc_pet_mask_contour.nii.gz" in result.output
    assert not (tmp_path / "qc.tsv").exists()
