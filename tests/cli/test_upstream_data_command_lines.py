"""ClinicaDL 1.6.1 data command lines (prepare-data, tsvtools, generate) that run here unchanged."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
from click.testing import CliRunner

from clinicadl.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def parse(path, args):
    """The parameters ``clinicadl <path> <args>`` would receive (parsing only)."""
    import click

    command = cli
    with click.Context(cli) as context:
        for name in path:
            command = command.get_command(context, name)
    return command.make_context("clinicadl", [str(a) for a in args]).params


def write_dti_caps(root, n=2):
    """A CAPS with the FA and MD maps of Clinica's dwi-dti pipeline, in native and normalized space."""
    rng = np.random.default_rng(0)
    for i in range(n):
        for space, folder, entity in (("native", "native_space", "space-T1w"),
                                      ("normalized", "normalized_space", "space-MNI152Lin_res-1x1x1")):
            path = root / "subjects" / f"sub-0{i}" / "ses-M000" / "dwi" / "dti_based_processing" / folder
            path.mkdir(parents=True, exist_ok=True)
            for measure in ("FA", "MD"):
                shape = (8, 9, 7) if space == "native" else (10, 12, 10)
                nib.save(nib.Nifti1Image(rng.uniform(0, 1, shape).astype(np.float32), np.eye(4)),
                         path / f"sub-0{i}_ses-M000_{entity}_{measure}.nii.gz")
    return root


@pytest.mark.parametrize("space, shape", [("native", [1, 8, 9, 7]), ("normalized", [1, 10, 12, 10])])
def test_prepare_data_dwi_dti_with_upstreams_flags(tmp_path, space, shape):
    caps = write_dti_caps(tmp_path / "caps")
    result = run("prepare-data", "image", caps, "dwi-dti", "--dti_measure", "MD", "-ds", space, "-ej", "dti.json",
                 "-np", 1)
    assert result.exit_code == 0, result.output
    parameters = json.loads((caps / "tensor_extraction" / "dti.json").read_text())
    assert (parameters["dti_measure"], parameters["dti_space"]) == ("MD", space)
    import torch

    tensors = sorted((caps / "subjects").rglob("deeplearning_prepare_data/image_based/dwi_dti/*.pt"))
    assert len(tensors) == 2 and "_MD" in tensors[0].name
    assert list(torch.load(tensors[0], weights_only=True).shape) == shape


def test_prepare_data_slice_takes_dti_space_without_its_short_flag():
    params = parse(("prepare-data", "slice"), ["caps", "dwi-dti", "--dti_space", "normalized", "-ds", 3, "-dm", "RD"])
    assert (params["dti_space"], params["discarded_slices"], params["dti_measure"]) == ("normalized", (3,), "RD")


def test_upstream_tsvtools_and_generate_command_lines_parse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("merged.tsv", "labels.tsv"):
        (tmp_path / name).write_text("participant_id\tsession_id\n")
    (tmp_path / "old").mkdir()
    assert parse(("tsvtools", "getlabels"), ["merged.tsv", "-d", "AD", "-c", "."])["caps_directory"] == "."
    assert parse(("tsvtools", "prepare-experiment"), ["labels.tsv", "-vt", "split"])["validation_type"] == "split"
    assert parse(("tsvtools", "adapt"), ["old", "new", "-lb", "AD", "-lb", "CN"])["labels_list"] == ("AD", "CN")
    params = parse(("generate", "artifacts"), [".", "out", "--contrast", "--gamma", "-0.3", "--gamma", "-0.1",
                                               "--translation", 1, "--translation", 3, "--num_transforms", 3])
    assert params["gamma"] == (-0.3, -0.1) and params["translation"] == (1.0, 3.0)
    params = parse(("generate", "hypometabolic"), [".", "out", "-p", "pca", "-anod", 20, "--sigma", 3, "-np", 4])
    assert (params["pathology"], params["anomaly_degree"], params["sigma"], params["n_proc"]) == ("pca", 20, 3, 4)
    assert parse(("generate", "shepplogan"), ["out", "-asd", 0, "-asd", 1, "-asd", 0])[
        "ad_subtypes_distribution"] == (0.0, 1.0, 0.0)


def test_top_level_verbose_short_flag():
    assert run("-v", "tsvtools", "--help").exit_code == 0
