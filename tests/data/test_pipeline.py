"""The data layer end to end, through the command line: generate -> tsvtools -> prepare-data -> dataset."""

import json

import nibabel as nib
import numpy as np
import pandas as pd
import torch
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.data.datasets import CapsDataset


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_generated_cohort_is_split_extracted_and_read_back(tmp_path):
    caps = tmp_path / "caps"
    run("generate", "cohort", caps, "--n_participants", 12, "--sessions", 1, 2, "--resolution", 4, "--seed", 3,
        "--n_proc", 1)
    data = pd.read_csv(caps / "data.tsv", sep="\t")
    assert {"participant_id", "session_id", "diagnosis", "age", "sex"} <= set(data.columns)

    run("tsvtools", "split", caps / "data.tsv", "--subset_name", "test", "--n_test", 4, "--seed", 1,
        "--ignore_demographics")
    split = tmp_path / "caps" / "split"
    train = pd.read_csv(split / "train.tsv", sep="\t")
    test = pd.read_csv(split / "test_baseline.tsv", sep="\t")
    assert not set(train["participant_id"]) & set(test["participant_id"])
    assert json.loads((split / "split.json").read_text())["seed"] == 1

    run("prepare-data", "image", caps, "t1-linear", "--n_proc", 1, "--extract_json", "image.json")
    preprocessing = json.loads((caps / "tensor_extraction" / "image.json").read_text())
    dataset = CapsDataset(caps, data, preprocessing, label="diagnosis", label_code={"AD": 0, "CN": 1}, normalize=True)
    assert len(dataset) == len(data)
    item = dataset[0]
    row = data.iloc[0]
    nifti = next((caps / "subjects" / row.participant_id / row.session_id).rglob("*_T1w.nii.gz"))
    voxels = torch.from_numpy(np.asarray(nib.load(nifti).dataobj, dtype=np.float32))
    expected = (voxels - voxels.min()) / (voxels.max() - voxels.min())
    assert item["label"] == (0 if row.diagnosis == "AD" else 1)
    assert item["image"].shape == (1, *voxels.shape)
    assert torch.allclose(item["image"][0], expected, atol=1e-6)
