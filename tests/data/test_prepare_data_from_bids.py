"""``clinicadl prepare-data-from-bids``: a tiny BIDS folder made from the template moved by known affines gives
Clinica's t1-linear files, registered back onto the template, and the tensors of ``prepare-data``."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
import scipy.io
import torch
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.data.generate._nifti import write_nifti
from clinicadl.data.t1_linear import CROP, _load_template, clinica_grid, t1_linear_names
from tests.registration_images import coarse, known_affine

APPLIED = {"sub-01": known_affine([6.0, 0.0, -4.0], [1.0, 1.0, 1.0], [5.0, -6.0, 4.0]),
           "sub-02": known_affine([-3.0, 5.0, 2.0], [1.05, 0.97, 1.0], [-4.0, 7.0, -3.0])}


@pytest.fixture(scope="module")
def bids(tmp_path_factory):
    """Two participants, one session each: the template seen through a known affine on a 4 mm grid."""
    folder = tmp_path_factory.mktemp("bids")
    t1, affine = _load_template()
    for participant, applied in APPLIED.items():
        moving, moving_affine = coarse(t1, affine, 4.0, (52, 60, 50), [-104.0, -124.0, -84.0], applied)
        write_nifti(folder / participant / "ses-M000" / "anat" / f"{participant}_ses-M000_T1w.nii.gz", moving,
                    moving_affine)
    (folder / "dataset_description.json").write_text('{"Name": "tiny", "BIDSVersion": "1.7.0"}')
    return folder


def test_image_mode_writes_clinica_names_registered_images_and_tensors(bids, tmp_path):
    caps = tmp_path / "caps"
    result = CliRunner().invoke(cli, ["prepare-data-from-bids", "image", str(bids), str(caps), "t1", "-np", "2",
                                      "--registration_resolution", "8", "-ej", "image.json"])
    assert result.exit_code == 0, result.output
    assert "2 image(s) registered" in result.output
    t1, affine = _load_template()
    shape, grid = clinica_grid()
    template_on_grid = coarse(t1, affine, 1.0, shape, grid[:3, 3])[0]
    for participant, applied in APPLIED.items():
        folder = caps / "subjects" / participant / "ses-M000" / "t1_linear"
        names = t1_linear_names(participant, "ses-M000")
        assert sorted(path.name for path in folder.iterdir()) == sorted(names.values())
        crop = nib.load(folder / names["crop"])
        assert crop.shape == (169, 208, 179)
        np.testing.assert_allclose(crop.affine[:3, 3], [-84.0, -119.0, -78.0])
        # registered back: the crop correlates with the template on the same grid
        template_crop = template_on_grid[CROP]
        assert np.corrcoef(crop.get_fdata().ravel(), template_crop.ravel())[0, 1] > 0.95
        # the .mat holds the inverse of the applied map (ITK: LPS, template point -> T1w point)
        parameters = scipy.io.loadmat(folder / names["affine"])["AffineTransform_double_3_3"].ravel()
        flip = np.diag([-1.0, -1.0, 1.0, 1.0])
        found = np.eye(4)
        found[:3, :3], found[:3, 3] = parameters[:9].reshape(3, 3), parameters[9:]
        recovered = flip @ found @ flip @ applied
        assert np.abs(recovered[:3, :3] - np.eye(3)).max() < 0.03
        assert np.abs(recovered[:3, 3]).max() < 2.0
        # the tensor is prepare-data's: the cropped image, float32 [1, 169, 208, 179]
        tensor = torch.load(caps / "subjects" / participant / "ses-M000" / "deeplearning_prepare_data" /
                            "image_based" / "t1_linear" / names["crop"].replace(".nii.gz", ".pt"), weights_only=True)
        assert tensor.dtype == torch.float32 and tuple(tensor.shape) == (1, 169, 208, 179)
        np.testing.assert_array_equal(tensor[0].numpy(), crop.get_fdata(dtype=np.float32))
    parameters = json.loads((caps / "tensor_extraction" / "image.json").read_text())
    assert parameters["mode"] == "image" and parameters["preprocessing"] == "t1-linear"
    # a rerun registers nothing and rewrites no tensor
    again = CliRunner().invoke(cli, ["prepare-data-from-bids", "image", str(bids), str(caps), "t1", "-np", "1",
                                     "--registration_resolution", "8", "-ej", "image.json"])
    assert again.exit_code == 0, again.output
    assert "0 image(s) registered" in again.output and "0 tensor(s) written" in again.output
    # another mode on the uncropped images: nothing registered again, prepare-data slice's tensors of those images
    uncropped = CliRunner().invoke(cli, ["prepare-data-from-bids", "slice", str(bids), str(caps), "t1", "-np", "1",
                                         "-uui", "-sd", "2", "-sm", "single", "-ds", "20", "-ej", "slice.json"])
    assert uncropped.exit_code == 0, uncropped.output
    assert "0 image(s) registered" in uncropped.output
    parameters = json.loads((caps / "tensor_extraction" / "slice.json").read_text())
    assert parameters["use_uncropped_image"] is True and parameters["num_slices"] == 193 - 2 * 20
    names = t1_linear_names("sub-01", "ses-M000")
    tensor = torch.load(caps / "subjects" / "sub-01" / "ses-M000" / "deeplearning_prepare_data" / "image_based" /
                        "t1_linear" / names["image"].replace(".nii.gz", ".pt"), weights_only=True)
    image = nib.load(caps / "subjects" / "sub-01" / "ses-M000" / "t1_linear" / names["image"])
    assert tuple(tensor.shape) == (1, 193, 229, 193)
    np.testing.assert_array_equal(tensor[0].numpy(), image.get_fdata(dtype=np.float32))


@pytest.mark.parametrize("modality", ["pet", "custom"])
def test_other_modalities_are_refused_before_anything_is_written(bids, tmp_path, modality):
    caps = tmp_path / "caps"
    result = CliRunner().invoke(cli, ["prepare-data-from-bids", "image", str(bids), str(caps), modality])
    assert result.exit_code == 1
    assert f"MODALITY_BIDS '{modality}'" in result.output and "prepare-data" in result.output
    assert not caps.exists()


def test_a_bids_folder_without_sessions_is_refused_with_the_fix(tmp_path):
    image = tmp_path / "bids" / "sub-01" / "anat" / "sub-01_T1w.nii.gz"
    write_nifti(image, np.ones((4, 4, 4)), np.eye(4))
    result = CliRunner().invoke(cli, ["prepare-data-from-bids", "image", str(tmp_path / "bids"),
                                      str(tmp_path / "caps"), "t1"])
    assert result.exit_code == 1
    assert "has no session level" in result.output and "ses-M000" in result.output
    assert not (tmp_path / "caps").exists()


def test_an_unreadable_template_is_refused_before_anything_is_written(bids, tmp_path):
    template = tmp_path / "template.nii.gz"
    template.write_text("not a NIfTI")
    result = CliRunner().invoke(cli, ["prepare-data-from-bids", "image", str(bids), str(tmp_path / "caps"), "t1",
                                      "--template", str(template)])
    assert result.exit_code == 1
    assert str(template) in result.output and "--template" in result.output
    assert not (tmp_path / "caps").exists()


def test_a_bad_t1w_is_refused_before_any_session_is_written(bids, tmp_path):
    import shutil

    copy = tmp_path / "bids"
    shutil.copytree(bids, copy)
    bad = copy / "sub-02" / "ses-M000" / "anat" / "sub-02_ses-M000_T1w.nii.gz"
    bad.write_bytes(b"not a NIfTI")
    result = CliRunner().invoke(cli, ["prepare-data-from-bids", "image", str(copy), str(tmp_path / "caps"), "t1"])
    assert result.exit_code == 1
    assert str(bad) in result.output and "replace or remove this file" in result.output
    assert not (tmp_path / "caps").exists()
