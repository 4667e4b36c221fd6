"""CAPS discovery: modality patterns, participants TSVs, missing images, BIDS given as CAPS."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from clinicadl.data.caps import (
    check_caps,
    check_modality,
    file_type,
    find_images,
    list_sessions,
    modality_folder,
    read_sessions_tsv,
)
from clinicadl.errors import CAPSError, InputError

UPSTREAM = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "upstream" / "v1_clinicadl_1.6.1"
T1 = "space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_T1w.nii.gz"


def _touch(caps: Path, participant: str, session: str, name: str, folder: str = "t1_linear") -> Path:
    path = caps / "subjects" / participant / session / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.zeros((4, 5, 6), dtype=np.float32), np.eye(4)), path)
    return path


@pytest.fixture
def caps(tmp_path) -> Path:
    root = tmp_path / "caps"
    for index in range(3):
        _touch(root, f"sub-{index:02d}", "ses-M000", f"sub-{index:02d}_ses-M000_{T1}")
    _touch(root, "sub-00", "ses-M000", "sub-00_ses-M000_space-MNI152NLin2009cSym_res-1x1x1_T1w.nii.gz")
    _touch(root, "sub-00", "ses-M006", "sub-00_ses-M006_space-MNI152NLin2009cSym_desc-Crop_res-2x2x2_T1w.nii.gz")
    return root


def test_t1_linear_cropped_uncropped_and_reduced_resolution(caps):
    sessions = list_sessions(caps)
    assert sessions.values.tolist() == [["sub-00", "ses-M000"], ["sub-00", "ses-M006"], ["sub-01", "ses-M000"],
                                        ["sub-02", "ses-M000"]]
    names = [image.path.name for image in find_images(caps, sessions, file_type("t1-linear"))]
    assert names[0] == f"sub-00_ses-M000_{T1}"  # the uncropped image of the same session is not picked
    assert names[1].endswith("_desc-Crop_res-2x2x2_T1w.nii.gz")
    uncropped = find_images(caps, [("sub-00", "ses-M000")], file_type("t1-linear", use_uncropped_image=True))
    assert uncropped[0].path.name == "sub-00_ses-M000_space-MNI152NLin2009cSym_res-1x1x1_T1w.nii.gz"
    assert modality_folder("t1-linear") == "t1_linear"


def test_glob_is_case_insensitive_and_ignores_the_pipeline_folder(tmp_path):
    root = tmp_path / "caps"
    _touch(root, "sub-01", "ses-M000", "sub-01_ses-M000_space-mni152nlin2009csym_desc-crop_res-1x1x1_t1w.nii.gz",
           folder="renamed/deeper")
    found = find_images(root, [("sub-01", "ses-M000")], file_type("t1-linear"))
    assert found[0].path.parent.name == "deeper"


def test_pet_flair_and_custom_patterns(tmp_path):
    root = tmp_path / "caps"
    pet_name = "sub-01_ses-M000_trc-18FAV45_space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_suvr-pons2_pet.nii.gz"
    _touch(root, "sub-01", "ses-M000", pet_name, "pet_linear")
    _touch(root, "sub-01", "ses-M000", "sub-01_ses-M000_space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_flair.nii.gz",
           "flair_linear")
    _touch(root, "sub-01", "ses-M000", "sub-01_ses-M000_space-SheppLogan_phantom.nii.gz", "shepplogan")
    pairs = [("sub-01", "ses-M000")]
    pet = file_type("pet-linear", tracer="18FAV45", suvr_reference_region="pons2")
    assert find_images(root, pairs, pet)[0].path.name.endswith("_suvr-pons2_pet.nii.gz")
    with pytest.raises(CAPSError, match="trc-18FFDG"):  # the default tracer is absent
        find_images(root, pairs, file_type("pet-linear"))
    assert find_images(root, pairs, file_type("flair-linear"))[0].path.parent.name == "flair_linear"
    custom = file_type("custom", custom_suffix="_space-SheppLogan_phantom.nii.gz")
    assert custom.pattern == "*_space-SheppLogan_phantom.nii.gz"
    assert find_images(root, pairs, custom)[0].path.parent.name == "shepplogan"
    with pytest.raises(InputError, match="--custom_suffix"):
        file_type("custom")


def test_missing_images_are_listed_with_the_pattern(caps):
    pairs = [(f"sub-{index:02d}", "ses-M000") for index in range(10)]
    with pytest.raises(CAPSError) as error:
        find_images(caps, pairs, file_type("t1-linear"))
    message = str(error.value)
    assert "7 of 10 session(s)" in message and "*_space-MNI152NLin2009cSym_desc-Crop_res-*_T1w.nii.gz" in message
    assert "sub-03 ses-M000" in message and "sub-07 ses-M000" in message and "sub-08" not in message
    assert "\n" not in message


def test_several_matching_images_are_an_error(caps):
    _touch(caps, "sub-01", "ses-M000", "sub-01_ses-M000_space-MNI152NLin2009cSym_desc-Crop_res-2x2x2_T1w.nii.gz")
    with pytest.raises(CAPSError, match=r"several images.*res-2x2x2"):
        find_images(caps, [("sub-01", "ses-M000")], file_type("t1-linear"))


def test_sessions_from_a_tsv(caps, tmp_path):
    tsv = tmp_path / "sessions.tsv"
    pd.DataFrame({"participant_id": ["sub-02", "sub-01", "sub-02"], "session_id": ["ses-M000"] * 3,
                  "diagnosis": ["AD", "CN", "AD"]}).to_csv(tsv, sep="\t", index=False)
    assert list_sessions(caps, tsv).values.tolist() == [["sub-02", "ses-M000"], ["sub-01", "ses-M000"]]
    bad = tmp_path / "bad.tsv"
    pd.DataFrame({"subject": ["sub-01"], "session_id": ["ses-M000"]}).to_csv(bad, sep="\t", index=False)
    with pytest.raises(InputError, match=r"lacks column\(s\) participant_id \(columns found: subject, session_id\)"):
        read_sessions_tsv(bad)


def test_bids_folder_given_as_caps(tmp_path):
    bids = tmp_path / "bids"
    (bids / "sub-01" / "ses-M000" / "anat").mkdir(parents=True)
    (bids / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.8.0"}))
    with pytest.raises(CAPSError, match=r"looks like a BIDS folder.*clinica run t1-linear"):
        check_caps(bids)
    with pytest.raises(CAPSError, match="no subjects/ folder"):
        check_caps(tmp_path / "bids" / "sub-01" / "ses-M000" / "anat")
    with pytest.raises(CAPSError, match="does not exist"):
        check_caps(tmp_path / "nowhere")


def test_unknown_modality():
    with pytest.raises(InputError, match="Unknown modality 't2-linear': choose one of t1-linear, pet-linear"):
        check_modality("t2-linear")


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="upstream fixtures absent")
def test_upstream_caps_is_read():
    caps = UPSTREAM / "caps_sl"
    sessions = list_sessions(caps)
    assert len(sessions) == 16
    extraction = json.loads(next((caps / "tensor_extraction").glob("*.json")).read_text())
    images = find_images(caps, sessions, extraction["file_type"]["pattern"])
    assert {image.path.parent.name for image in images} == {"shepplogan"}
    assert list_sessions(caps, caps / "data.tsv").shape == (16, 2)
