"""``clinicadl interpret`` on MAPS: upstream's layout, maps equal to autograd's, replicates, the 1.6.1 MAPS, errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import pandas as pd
import pytest
import tiny_caps as helpers
import torch
from click.testing import CliRunner

from clinicadl.cli.main import cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A replicate MAPS (2 finished replicates, 1 failed) of a one-split, one-epoch TinyCNN, made once per module."""
    from clinicadl.training.seeds import replicate_seeds
    from clinicadl.training.trainer import train_replicate

    root = tmp_path_factory.mktemp("interpret")
    paths = helpers.make_dataset(root)
    parameters = helpers.resolved_parameters(paths, epochs=1, kfold=False)
    train_replicate(parameters, root / "plain", replicate_seeds(0, 0), progress=False)
    sliced = helpers.resolved_parameters(paths, json="slice.json", epochs=1, kfold=False, selection_metrics=["loss"])
    train_replicate(sliced, root / "slices", replicate_seeds(0, 0), progress=False)
    study = root / "study"
    study.mkdir()
    shutil.copy(root / "plain" / "maps.json", study / "maps.json")
    for replicate in (0, 1, 2):
        shutil.copytree(root / "plain", study / f"replicate-{replicate}")
    pd.DataFrame({"replicate": [0, 1, 2], "status": ["done", "done", "failed"]}).to_csv(
        study / "replicates.tsv", sep="\t", index=False)
    return paths, study


@pytest.fixture
def study(trained, tmp_path):
    paths, source = trained
    shutil.copytree(source, tmp_path / "study")
    return paths, tmp_path / "study"


def test_slice_mode_mean_is_over_images_and_the_figure_stacks_the_slices(trained, tmp_path):
    """A plain MAPS in slice mode (4 slices per image): mean_slice-<k>_map.pt is the mean of the images' slice k."""
    paths, study = trained
    maps = tmp_path / "slices"
    shutil.copytree(study.parent / "slices", maps)
    result = _interpret(maps, "test", "s", "gradients", "-pt", paths["test"], "--save_individual", "-np", "0")
    assert result.exit_code == 0, result.output
    folder = maps / "split-0" / "best-loss" / "test" / "interpret-s"
    participants = pd.read_csv(paths["test"], sep="\t")["participant_id"]
    ids = sorted(int(p.name.split("-")[1].split("_")[0]) for p in folder.glob("mean_slice-*_map.pt"))
    assert len(ids) == 4 and ids == list(range(ids[0], ids[0] + 4))  # slices numbered by their index in the volume
    for k in ids:
        mean = torch.load(folder / f"mean_slice-{k}_map.pt", weights_only=True)
        maps_k = [torch.load(folder / f"{p}_ses-M000_slice-{k}_map.pt", weights_only=True) for p in participants]
        assert mean.shape == (1, *helpers.SHAPE[:2])
        torch.testing.assert_close(mean, torch.stack(maps_k).mean(0))
    assert sorted(p.name for p in folder.glob("*.png")) == ["mean_slice_map.png"]


def _interpret(*arguments):
    return CliRunner().invoke(cli, ["interpret", *map(str, arguments)])


def _autograd_maps(maps: Path, paths, frame: pd.DataFrame) -> dict[str, torch.Tensor]:
    """Oracle: each image's gradient of output node 1, by torch.autograd.grad on the network read from the MAPS."""
    from clinicadl.data.datasets import CapsDataset
    from clinicadl.maps.maps_json import read_maps_json
    from clinicadl.runtime.checkpoints import load_trained_network

    parameters = read_maps_json(maps)
    network = load_trained_network(maps, parameters, 0, "loss", torch.device("cpu"))
    dataset = CapsDataset(paths["caps"], frame, parameters["preprocessing_dict"], label=None)
    maps_by_image = {}
    for item in (dataset[i] for i in range(len(dataset))):
        x = item["image"][None].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(network(x)[0, 1], x)
        maps_by_image[item["participant_id"]] = grad[0]
    return maps_by_image


def test_gradients_on_a_replicate_maps_write_upstream_layout_equal_to_autograd(study):
    paths, root = study
    result = _interpret(root, "test", "saliency", "gradients", "--participants_tsv", paths["test"], "-sm", "loss",
                        "--target_node", "1", "--save_individual", "--save_nifti", "-np", "0")
    assert result.exit_code == 0, result.output
    assert result.output.count("Written:") == 2 and "(4 images)" in result.output
    frame = pd.read_csv(paths["test"], sep="\t")
    expected = _autograd_maps(root / "replicate-0", paths, frame)
    for replicate in (0, 1):
        folder = root / f"replicate-{replicate}" / "split-0" / "best-loss" / "test" / "interpret-saliency"
        names = sorted(p.name for p in folder.iterdir())
        individual = [f"{p}_ses-M000_image-0_map.{ext}" for p in frame["participant_id"] for ext in ("nii.gz", "pt")]
        assert names == sorted(["mean_image-0_map.pt", "mean_image-0_map.nii.gz", "mean_image-0_map.png",
                                *individual])
        for participant, oracle in expected.items():
            ours = torch.load(folder / f"{participant}_ses-M000_image-0_map.pt", weights_only=True)
            assert ours.shape == (1, *helpers.SHAPE)
            torch.testing.assert_close(ours, oracle, rtol=1e-4, atol=1e-8)
        mean = torch.load(folder / "mean_image-0_map.pt", weights_only=True)
        torch.testing.assert_close(mean, torch.stack(list(expected.values())).mean(0), rtol=1e-4, atol=1e-8)
        nifti = nib.load(folder / "mean_image-0_map.nii.gz").get_fdata()
        assert nifti.shape == helpers.SHAPE and abs(nifti - mean[0].numpy()).max() < 1e-6
        assert (folder / "mean_image-0_map.png").read_bytes()[:4] == b"\x89PNG"
        assert (root / f"replicate-{replicate}" / "groups" / "test" / "data.tsv").is_file()
    assert not (root / "replicate-2" / "groups" / "test").exists()  # failed replicate: left alone
    assert not list(root.rglob(".test.interpret-*"))


def test_grad_cam_and_existing_name(study):
    from clinicadl.interpret.interpret import interpret

    _, root = study
    results = interpret(root / "replicate-0", "validation", "cam", "grad-cam", level=4, n_proc=0, diagnoses=["AD"])
    assert [(r.split, r.selection_metric, r.n_images) for r in results] == [(0, "BA", 2), (0, "loss", 2)]
    cam = torch.load(results[0].mean_maps[0], weights_only=True)
    assert cam.shape == (1, *helpers.SHAPE) and float(cam.min()) >= 0.0 and float(cam.max()) > 0.0
    assert results[0].figures[0].is_file()
    again = _interpret(root / "replicate-0", "validation", "cam", "grad-cam")
    assert again.exit_code == 1 and again.output.count("\n") == 1 and "--overwrite_name" in again.output
    before = results[0].mean_maps[0].read_bytes()
    replaced = _interpret(root / "replicate-0", "validation", "cam", "gradients", "-on", "-sm", "BA")
    assert replaced.exit_code == 0, replaced.output
    assert results[0].mean_maps[0].read_bytes() != before  # gradients replaced grad-cam
    assert results[1].mean_maps[0].read_bytes()  # the other model's maps are kept


def test_bad_input_ends_in_one_message_and_leaves_nothing(study, tmp_path):
    paths, root = study
    maps = root / "replicate-0"
    unknown = _interpret(maps, "nowhere", "x", "gradients")
    assert unknown.exit_code == 1 and unknown.output.count("\n") == 1
    assert "does not exist" in unknown.output and "--participants_tsv" in unknown.output
    method = _interpret(maps, "test", "x", "occlusion", "--participants_tsv", paths["test"])
    assert method.exit_code == 2 and "'occlusion' is not one of 'gradients', 'grad-cam'" in method.output
    node = _interpret(maps, "test", "x", "gradients", "--participants_tsv", paths["test"], "--target_node", "5")
    assert node.exit_code == 1 and "--target_node 5 does not exist" in node.output and "Traceback" not in node.output
    leak = _interpret(maps, "all", "x", "gradients", "--participants_tsv", paths["data"])
    assert leak.exit_code == 1 and "Data leakage" in leak.output
    cohort = _interpret(maps, "test", "x", "gradients", "--participants_tsv", paths["test"], "--multi_cohort")
    assert cohort.exit_code == 1 and "not provided" in cohort.output
    assert _interpret(tmp_path, "test", "x", "gradients").exit_code == 1
    assert not (maps / "groups" / "test").exists() and not list(maps.rglob("*interpret-x*"))


def test_upstream_161_maps(upstream, tmp_path, monkeypatch):
    """The slice-mode MAPS written by ClinicaDL 1.6.1: upstream's files for its test group, as upstream names them."""
    source = upstream / "v1_clinicadl_1.6.1"
    shutil.copytree(source / "maps", tmp_path / "maps")
    for path in (tmp_path / "maps").rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    monkeypatch.chdir(source)  # the MAPS records caps_sl relative to this folder
    upstream_flags = {"grads": ["--no-gpu", "-np", "0"],  # upstream's spelling of every option given
                      "cam": ["--level_grad_cam", "8", "--selection_metrics", "loss", "--target_node", "1",
                              "--batch_size", "3", "--n_proc", "0", "--no-gpu", "--no-amp"]}
    for name, method in (("grads", "gradients"), ("cam", "grad-cam")):
        result = _interpret(tmp_path / "maps", "test-heldout", name, method, "--save_individual",
                            *upstream_flags[name])
        assert result.exit_code == 0, result.output
        folder = tmp_path / "maps" / "split-0" / "best-loss" / "test-heldout" / f"interpret-{name}"
        participants = pd.read_csv(source / "maps" / "groups" / "test-heldout" / "data.tsv", sep="\t")
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            ["mean_slice-0_map.pt", "mean_slice-0_map.png",
             *(f"{p}_{s}_slice-0_map.pt" for p, s in zip(participants.participant_id, participants.session_id))])
        mean = torch.load(folder / "mean_slice-0_map.pt", weights_only=True)
        assert mean.shape == (1, 64, 64) and torch.isfinite(mean).all() and mean.abs().max() > 0


def test_help_needs_no_torch():
    code = ("import sys; from clinicadl.cli.main import cli\n"
            "try: cli.main(['interpret', '--help'], prog_name='clinicadl')\n"
            "except SystemExit: pass\n"
            "assert 'torch' not in sys.modules and 'pandas' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "INPUT_MAPS_DIRECTORY DATA_GROUP NAME" in out.stdout and "--level_grad_cam" in out.stdout


def test_a_group_is_redefined_only_with_overwrite(study):
    paths, root = study
    maps = root / "replicate-1"
    assert _interpret(maps, "test", "a", "gradients", "-pt", paths["test"], "-sm", "loss").exit_code == 0
    assert _interpret(maps, "test", "b", "gradients", "-pt", paths["test"], "-sm", "loss").exit_code == 0  # same
    frame = pd.read_csv(paths["test"], sep="\t")
    ad_only = _interpret(maps, "test", "c", "gradients", "-pt", paths["test"], "-d", "AD", "-sm", "loss")
    assert ad_only.exit_code == 1 and "other participants" in ad_only.output and "--overwrite" in ad_only.output
    replaced = _interpret(maps, "test", "a", "gradients", "-pt", paths["test"], "-d", "AD", "-sm", "loss", "-o")
    assert replaced.exit_code == 0, replaced.output
    group = pd.read_csv(maps / "groups" / "test" / "data.tsv", sep="\t")
    assert sorted(group["participant_id"]) == sorted(frame.loc[frame["diagnosis"] == "AD", "participant_id"])
    results = maps / "split-0" / "best-loss" / "test"
    assert sorted(p.name for p in results.iterdir()) == ["interpret-a"]  # the old group's results went with it
    assert "(2 images)" in replaced.output
