"""prepare-data: tensor layout and content, extraction JSON, resumability, parallelism, command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from clinicadl.cli.main import LazyGroup
from clinicadl.cli.prepare_data import prepare_data as prepare_data_command
from clinicadl.data.caps import CAPSImage
from clinicadl.data.extraction import (
    element_filename,
    extraction_parameters,
    load_extraction_json,
    prepare_data,
    tensor_folder,
)
from clinicadl.errors import CAPSError, InputError

UPSTREAM = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "upstream" / "v1_clinicadl_1.6.1"
T1 = "space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_T1w.nii.gz"
SHAPE = (20, 24, 20)


def make_caps(root: Path, n: int = 3, shape=SHAPE) -> dict[str, np.ndarray]:
    """A t1-linear CAPS of ``n`` random images (sub-01 stored as int16 with a scaling slope)."""
    rng = np.random.default_rng(0)
    voxels = {}
    for index in range(n):
        participant = f"sub-{index:02d}"
        path = root / "subjects" / participant / "ses-M000" / "t1_linear" / f"{participant}_ses-M000_{T1}"
        path.parent.mkdir(parents=True)
        if index == 1:
            data = rng.integers(-100, 1000, size=shape).astype(np.int16)
            image = nib.Nifti1Image(data, np.eye(4))
            image.header.set_slope_inter(2.0, 1.0)
        else:
            image = nib.Nifti1Image(rng.normal(100, 30, size=shape).astype(np.float32), np.eye(4))
        nib.save(image, path)
        voxels[participant] = nib.load(path).get_fdata(dtype=np.float32)
    return voxels


def load(path: Path) -> torch.Tensor:
    return torch.load(path, weights_only=True)


def folder(caps: Path, participant: str, mode: str) -> Path:
    return caps / "subjects" / participant / "ses-M000" / "deeplearning_prepare_data" / f"{mode}_based" / "t1_linear"


@pytest.fixture
def caps(tmp_path):
    root = tmp_path / "caps"
    return root, make_caps(root)


def test_image_tensors_equal_the_voxels_and_json(caps):
    root, voxels = caps
    result = prepare_data(root, extraction_parameters("image", "t1-linear", extract_json="img"), n_proc=1)
    assert (result.n_images, result.n_written, result.n_skipped) == (3, 3, 0)
    for participant, data in voxels.items():
        tensor = load(folder(root, participant, "image") / f"{participant}_ses-M000_{T1[:-7]}.pt")
        assert tensor.dtype == torch.float32 and tensor.shape == (1, *SHAPE)
        assert torch.equal(tensor[0], torch.from_numpy(data))  # raw voxels, scaling applied
    saved = json.loads(result.json_path.read_text())
    assert result.json_path == root / "tensor_extraction" / "img.json"
    assert saved == {"preprocessing": "t1-linear", "mode": "image", "use_uncropped_image": False, "prepare_dl": True,
                     "extract_json": "img.json", "file_type": saved["file_type"]}
    assert set(saved["file_type"]) == {"pattern", "description", "needed_pipeline"}
    assert load_extraction_json(root, "img") == saved


def test_patch_tensors(caps):
    root, voxels = caps
    parameters = extraction_parameters("patch", "t1-linear", patch_size=8, stride_size=6, save_features=True,
                                       extract_json="patch.json")
    result = prepare_data(root, parameters, n_proc=1)
    assert result.n_written == 3 * 27 and json.loads(result.json_path.read_text())["num_patches"] == 27
    data = voxels["sub-01"]
    for index, (x, y, z) in enumerate(np.ndindex(3, 3, 3)):
        name = f"sub-01_ses-M000_space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_patchsize-8_stride-6_patch-{index}_T1w.pt"
        patch = load(folder(root, "sub-01", "patch") / name)
        expected = data[6 * x:6 * x + 8, 6 * y:6 * y + 8, 6 * z:6 * z + 8]
        assert patch.shape == (1, 8, 8, 8) and torch.equal(patch[0], torch.from_numpy(expected))


def test_slice_tensors_and_upstream_naming(caps):
    root, voxels = caps
    parameters = extraction_parameters("slice", "t1-linear", slice_direction=1, slice_mode="rgb",
                                       discarded_slices=[2, 3], save_features=True, extract_json="s")
    prepare_data(root, parameters, n_proc=1)
    files = sorted(folder(root, "sub-00", "slice").iterdir())
    assert len(files) == 24 - 5
    name = "sub-00_ses-M000_space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_axis-cor_channel-rgb_slice-2_T1w.pt"
    tensor = load(folder(root, "sub-00", "slice") / name)
    assert tensor.shape == (3, 20, 20)
    for channel in range(3):
        assert torch.equal(tensor[channel], torch.from_numpy(voxels["sub-00"][:, 2, :]))
    assert not (folder(root, "sub-00", "slice") / name.replace("slice-2", "slice-1")).exists()
    assert not (folder(root, "sub-00", "slice") / name.replace("slice-2", "slice-21")).exists()


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="upstream fixtures absent")
def test_slice_name_matches_the_upstream_fixture():
    caps = UPSTREAM / "caps_sl"
    parameters = load_extraction_json(caps, "extract_1795748279.json")
    expected = next((caps / "subjects" / "sub-CLNC10001").rglob("*.pt"))
    image = CAPSImage("sub-CLNC10001", "ses-M000", Path("sub-CLNC10001_ses-M000_space-SheppLogan_phantom.nii.gz"))
    assert tensor_folder(image, parameters, caps_directory=caps) == expected.parent
    assert element_filename(image.path.name, parameters, 0) == expected.name


def test_roi_tensors_with_masks(caps):
    root, voxels = caps
    parameters = extraction_parameters("roi", "t1-linear", roi_list=["box"], save_features=True, extract_json="r",
                                       roi_background_value=-1)
    with pytest.raises(CAPSError, match=r"masks.*folder is missing"):
        prepare_data(root, parameters, n_proc=1)
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[3:9, 4:12, 5:7] = 1
    mask[3, 4, 5] = 0
    masks = root / "masks" / "tpl-MNI152NLin2009cSym"
    masks.mkdir(parents=True)
    nib.save(nib.Nifti1Image(mask, np.eye(4)), masks / "tpl-MNI152NLin2009cSym_desc-Crop_res-1x1x1_roi-box_mask.nii.gz")
    nib.save(nib.Nifti1Image(np.ones((30, 30, 30), np.uint8), np.eye(4)),
             masks / "tpl-MNI152NLin2009cSym_res-1x1x1_roi-box_mask.nii.gz")
    prepare_data(root, parameters, n_proc=1)  # the mask of the image's shape is chosen
    name = "sub-00_ses-M000_space-MNI152NLin2009cSym_desc-CropRoi_roi-box_T1w.pt"
    roi = load(folder(root, "sub-00", "roi") / name)
    expected = voxels["sub-00"][3:9, 4:12, 5:7].copy()
    expected[0, 0, 0] = -1
    assert roi.shape == (1, 6, 8, 2) and torch.equal(roi[0], torch.from_numpy(expected))
    with pytest.raises(CAPSError, match="No mask of region 'nope'"):
        prepare_data(root, {**parameters, "roi_list": ["nope"], "extract_json": "r2.json"}, n_proc=1)


def test_rerun_skips_valid_tensors_and_rewrites_invalid_ones(caps):
    root, voxels = caps
    parameters = extraction_parameters("slice", "t1-linear", slice_direction=2, slice_mode="single",
                                       save_features=True, extract_json="s.json")
    assert prepare_data(root, parameters, n_proc=1).n_written == 60
    target = folder(root, "sub-02", "slice") / element_filename(f"sub-02_ses-M000_{T1}", parameters, 7)
    target.write_bytes(target.read_bytes()[:50])  # truncated file
    (folder(root, "sub-00", "slice") / element_filename(f"sub-00_ses-M000_{T1}", parameters, 3)).unlink()
    result = prepare_data(root, parameters, n_proc=1)
    assert (result.n_written, result.n_skipped) == (2, 58)
    assert torch.equal(load(target)[0], torch.from_numpy(voxels["sub-02"][:, :, 7]))


KILL_SCRIPT = """
import os, signal, sys
import clinicadl.atomic as atomic
from clinicadl.data.extraction import extraction_parameters, prepare_data

calls = 0
real_replace = os.replace

def replace_then_die(source, target):
    global calls
    calls += 1
    if calls == 5:  # the 5th tensor is written to its temporary file: kill -9 before the rename
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(source, target)

atomic.os.replace = replace_then_die
parameters = extraction_parameters("patch", "t1-linear", patch_size=8, stride_size=6, save_features=True,
                                   extract_json="p.json")
prepare_data(sys.argv[1], parameters, n_proc=1, progress=False)
"""


def test_killed_run_leaves_no_partial_file_and_resumes(caps):
    root, _ = caps
    run = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(root)], capture_output=True, text=True, timeout=120)
    assert run.returncode == -9, run.stderr
    patch_folder = folder(root, "sub-00", "patch")
    complete = sorted(path for path in patch_folder.iterdir() if path.suffix == ".pt")
    leftovers = [path for path in patch_folder.iterdir() if path.name.endswith(".tmp")]
    assert len(complete) == 4 and len(leftovers) == 1  # no partial .pt: the 5th is only a temporary file
    assert not (root / "tensor_extraction" / "p.json").exists()  # the JSON is written last
    before = {path.name: path.stat().st_mtime_ns for path in complete}
    parameters = extraction_parameters("patch", "t1-linear", patch_size=8, stride_size=6, save_features=True,
                                       extract_json="p.json")
    result = prepare_data(root, parameters, n_proc=1)
    assert (result.n_written, result.n_skipped) == (81 - 4, 4)
    assert {path.name: path.stat().st_mtime_ns for path in complete} == before  # finished tensors untouched
    assert not [path for path in patch_folder.iterdir() if path.name.endswith(".tmp")]
    assert len(list(patch_folder.glob("*.pt"))) == 27
    assert (root / "tensor_extraction" / "p.json").is_file()


def test_parallel_run_equals_sequential_run(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    make_caps(one, n=4)
    make_caps(two, n=4)
    parameters = extraction_parameters("image", "t1-linear", extract_json="i.json")
    assert prepare_data(one, parameters, n_proc=1).n_written == 4
    assert prepare_data(two, parameters, n_proc=2).n_written == 4
    for path in one.rglob("*.pt"):
        assert torch.equal(load(path), load(two / path.relative_to(one)))


def test_existing_json_describing_another_extraction_is_refused(caps):
    root, _ = caps
    prepare_data(root, extraction_parameters("image", "t1-linear", extract_json="e.json"), n_proc=1)
    prepare_data(root, extraction_parameters("image", "t1-linear", extract_json="e.json"), n_proc=1)  # same: fine
    with pytest.raises(CAPSError, match=r"e.json already exists and describes another extraction \(different: .*mode"):
        prepare_data(root, extraction_parameters("slice", "t1-linear", extract_json="e.json"), n_proc=1)


def test_custom_json_has_custom_suffix_and_bad_options(caps):
    parameters = extraction_parameters("image", "custom", custom_suffix="_T1w.nii.gz", extract_json="c")
    assert parameters["custom_suffix"] == "_T1w.nii.gz" and parameters["file_type"]["pattern"] == "*_T1w.nii.gz"
    with pytest.raises(InputError, match="roi_list"):
        extraction_parameters("roi", "t1-linear")
    with pytest.raises(InputError, match="Unknown extraction mode"):
        extraction_parameters("voxel", "t1-linear")


# ------------------------------------------------------------------------------------------------ command line


def _cli() -> click.Group:
    """The command as the lead registers it (LazyGroup: user errors end in one line and exit 1)."""

    @click.group(cls=LazyGroup, lazy={"prepare-data": "clinicadl.cli.prepare_data:prepare_data"})
    def cli():
        pass

    return cli


def test_cli_runs_and_resumes(caps):
    root, _ = caps
    runner = CliRunner()
    arguments = ["slice", str(root), "t1-linear", "--slice_direction", "2", "-ds", "1", "-ds", "2",
                 "--save_features", "--extract_json", "cli", "--n_proc", "1"]
    result = runner.invoke(prepare_data_command, arguments)
    assert result.exit_code == 0, result.output
    assert "3 image(s): 51 tensor(s) written, 0 already present and valid." in result.output
    saved = json.loads((root / "tensor_extraction" / "cli.json").read_text())
    assert saved["discarded_slices"] == [1, 2] and saved["num_slices"] == 17 and saved["slice_mode"] == "rgb"
    again = runner.invoke(prepare_data_command, arguments)
    assert "0 tensor(s) written, 51 already present" in again.output
    assert "Example:" in runner.invoke(prepare_data_command, ["patch", "--help"]).output


def test_cli_bad_inputs_end_in_one_line(caps, tmp_path):
    root, _ = caps
    bids = tmp_path / "bids"
    (bids / "sub-01" / "ses-M000" / "anat").mkdir(parents=True)
    no_participant = tmp_path / "bad.tsv"
    pd.DataFrame({"subject": ["sub-00"], "session_id": ["ses-M000"]}).to_csv(no_participant, sep="\t", index=False)
    runner = CliRunner()
    ok = runner.invoke(_cli(), ["prepare-data", "image", str(root), "t1-linear", "-ej", "x", "-np", "1"])
    assert ok.exit_code == 0, ok.output
    cases = {
        "Unknown modality 't2-linear'": ["image", str(root), "t2-linear"],
        "lacks column(s) participant_id": ["image", str(root), "t1-linear", "--tsv_file", str(no_participant)],
        "looks like a BIDS folder": ["image", str(bids), "t1-linear"],
        "describes another extraction": ["patch", str(root), "t1-linear", "-ej", "x", "-np", "1"],
        "no image matching": ["image", str(root), "flair-linear"],
    }
    for expected, arguments in cases.items():
        result = runner.invoke(_cli(), ["prepare-data", *arguments])
        assert result.exit_code == 1, (arguments, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0], result.output
    assert os.listdir(root / "tensor_extraction") == ["x.json"]
