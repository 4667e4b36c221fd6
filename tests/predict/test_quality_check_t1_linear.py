"""quality-check t1-linear with random weights saved to a file: upstream's TSV, the network's own probabilities."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.data.qc_slices import qc_slices
from clinicadl.models.qc_networks import build_qc_network

T1 = "_space-MNI152NLin2009cSym_res-1x1x1_T1w.nii.gz"


@pytest.fixture(scope="module")
def qc_inputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("qc_t1_linear")
    rng = np.random.default_rng(0)
    caps = root / "caps"
    for index in range(2):
        participant = f"sub-00{index}"
        path = caps / "subjects" / participant / "ses-M000" / "t1_linear" / f"{participant}_ses-M000{T1}"
        path.parent.mkdir(parents=True)
        image = rng.gamma(2.0 + 3 * index, 10.0, size=(20, 24, 20)).astype(np.float32)
        nib.save(nib.Nifti1Image(image, np.eye(4)), path)
    torch.manual_seed(0)
    network = build_qc_network("sq101")
    torch.nn.init.normal_(network.classifier[1].weight, std=0.1)  # random weights that spread the probabilities
    weights = root / "sq101_darq.pth"
    torch.save(network.state_dict(), weights)
    return {"caps": caps, "weights": weights, "root": root}


def _run(inputs, output, *extra):
    return CliRunner().invoke(cli, ["quality-check", "t1-linear", str(inputs["caps"]), str(output), "--no-gpu",
                                    "--network", "sq101", "--network_weights", str(inputs["weights"]), "-np", "0",
                                    *extra])


def test_probabilities_are_the_networks_softmax(qc_inputs):
    output = qc_inputs["root"] / "qc.tsv"
    result = _run(qc_inputs, output, "--threshold", "0.5", "--batch_size", "2")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(output, sep="\t")
    assert list(table.columns) == ["participant_id", "session_id", "pass_probability", "pass"]
    assert table["pass_probability"].is_monotonic_decreasing
    assert ((table["pass_probability"] >= 0) & (table["pass_probability"] <= 1)).all()
    assert (table["pass"] == (table["pass_probability"] > 0.5)).all()
    network = build_qc_network("sq101")
    network.load_state_dict(torch.load(qc_inputs["weights"], weights_only=True))
    network.eval()
    for row in table.itertuples():
        path = next((qc_inputs["caps"] / "subjects" / row.participant_id).rglob(f"*{T1}"))
        with torch.no_grad():
            logits = network(qc_slices(nib.load(path).get_fdata())[None])
        assert row.pass_probability == pytest.approx(float(torch.softmax(logits, 1)[0, 1]), abs=1e-5)


def test_threshold_decides_pass(qc_inputs):
    output = qc_inputs["root"] / "qc_middle.tsv"
    assert _run(qc_inputs, output, "--threshold", "0.7", "--batch_size", "2").exit_code == 0
    table = pd.read_csv(output, sep="\t")
    assert table["pass"].tolist() == (table["pass_probability"] > 0.7).tolist()
    assert 0 < table["pass"].sum() < len(table)  # the threshold splits these images


def test_without_weights_one_message_and_no_output(qc_inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    output = tmp_path / "qc.tsv"
    result = CliRunner().invoke(cli, ["quality-check", "t1-linear", str(qc_inputs["caps"]), str(output),
                                      "--no-gpu"])
    assert result.exit_code == 1
    assert "--network_weights" in result.output and "resnet_18_darq.pth" in result.output
    assert "https://aramislab.paris.inria.fr/files/data/models/dl/qc/" in result.output
    assert not output.exists()


def test_weights_of_another_network_are_refused(qc_inputs, tmp_path):
    output = tmp_path / "qc.tsv"
    result = CliRunner().invoke(cli, ["quality-check", "t1-linear", str(qc_inputs["caps"]), str(output),
                                      "--no-gpu", "--network", "darq", "--network_weights", str(qc_inputs["weights"])])
    assert result.exit_code == 1
    assert "not a state dict of the darq QC network" in result.output and "--network" in result.output
    assert not output.exists()


def test_use_tensor_reads_the_extracted_image_tensors(qc_inputs, tmp_path):
    from clinicadl.data.extraction import prepare_data
    from clinicadl.data.extraction_json import extraction_parameters

    output = tmp_path / "qc.tsv"
    missing = _run(qc_inputs, output, "--use_tensor")
    assert missing.exit_code == 1 and "prepare-data image" in missing.output and not output.exists()
    prepare_data(qc_inputs["caps"], extraction_parameters("image", "t1-linear", use_uncropped_image=True,
                                                          extract_json="uncropped.json"), n_proc=1, progress=False)
    result = _run(qc_inputs, output, "--use_tensor")
    assert result.exit_code == 0, result.output
    network = build_qc_network("sq101")
    network.load_state_dict(torch.load(qc_inputs["weights"], weights_only=True))
    network.eval()
    for row in pd.read_csv(output, sep="\t").itertuples():
        tensor = next((qc_inputs["caps"] / "subjects" / row.participant_id).rglob("*_T1w.pt"))
        with torch.no_grad():
            logits = network(qc_slices(torch.load(tensor, weights_only=True), from_tensor=True)[None])
        assert row.pass_probability == pytest.approx(float(torch.softmax(logits, 1)[0, 1]), abs=1e-5)
