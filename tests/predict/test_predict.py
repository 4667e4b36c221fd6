"""``clinicadl predict``: upstream files on a test group, intervals, leakage refusal, replicate MAPS."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import tiny_caps as helpers
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.errors import MAPSError


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A MAPS of 2 folds x 1 epoch, selection on loss and BA (one per module; predict tests copy it)."""
    from clinicadl.evaluate.prediction_intervals import ModelIntervals
    from clinicadl.training.seeds import replicate_seeds
    from clinicadl.training.trainer import train_replicate

    root = tmp_path_factory.mktemp("predict")
    paths = helpers.make_dataset(root)
    parameters = helpers.resolved_parameters(paths, epochs=1)
    train_replicate(parameters, root / "maps", replicate_seeds(0, 0), progress=False, after_split=ModelIntervals())
    return paths, root / "maps"


@pytest.fixture
def maps(trained, tmp_path):
    paths, source = trained
    copy = tmp_path / "maps"
    shutil.copytree(source, copy)
    return paths, copy


def _predict(*arguments):
    return CliRunner().invoke(cli, ["predict", *map(str, arguments)])


def test_predict_test_group_writes_upstream_files_and_intervals(maps):
    paths, folder = maps
    result = _predict(folder, "test", "--participants_tsv", paths["test"], "--n_resamples", "200")
    assert result.exit_code == 0, result.output
    data = pd.read_csv(folder / "groups" / "test" / "data.tsv", sep="\t")
    assert list(data.columns) == ["participant_id", "session_id", "cohort", "diagnosis"] and len(data) == 4
    assert (folder / "groups" / "test" / "maps.json").is_file()
    for split in (0, 1):
        for metric in ("loss", "BA"):
            group = folder / f"split-{split}" / f"best-{metric}" / "test"
            prediction = pd.read_csv(group / "test_image_level_prediction.tsv", sep="\t")
            assert len(prediction) == 4 and set(prediction["true_label"]) == {0, 1}
            metrics = pd.read_csv(group / "test_image_level_metrics.tsv", sep="\t")  # 1.6.1's layout
            assert list(metrics.columns[:2]) == ["Metrics", "BA"] and metrics.columns[-1] == "loss"
            assert list(metrics["Metrics"]) == ["Values", "Lower bound CI", "Upper bound CI", "SE"]
            assert "Number of participants: 4" in (group / "description.log").read_text()
            ci = pd.read_csv(group / "test_image_level_metrics_ci.tsv", sep="\t")
            assert set(ci["n_resamples"]) == {200}


def test_predict_library_reads_back(maps):
    from clinicadl.maps import read_model_predictions
    from clinicadl.predict.predict import predict

    paths, folder = maps
    results = predict(folder, "test", participants_tsv=paths["test"], splits=[1], selection_metrics=["loss"],
                      progress=False)
    assert len(results) == 1 and set(results[0].metrics["split"]) == {1}
    model = read_model_predictions(folder, "test", split=1, selection_metric="loss")
    assert len(model.frame) == 4
    assert not (folder / "split-0" / "best-loss" / "test").exists()


def test_leakage_is_refused_unless_skipped(maps):
    paths, folder = maps
    result = _predict(folder, "everyone", "--participants_tsv", paths["data"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "Data leakage" in result.output and "--skip_leak_check" in result.output
    assert not (folder / "groups" / "everyone").exists()
    result = _predict(folder, "everyone", "--participants_tsv", paths["data"], "--skip_leak_check", "-sm", "loss",
                      "--split", "0", "--n_resamples", "100")
    assert result.exit_code == 0, result.output


def test_groups_are_not_overwritten_without_overwrite(maps):
    paths, folder = maps
    assert _predict(folder, "test", "--participants_tsv", paths["test"], "-sm", "loss", "--n_resamples", "100",
                    "--no_labels").exit_code == 0
    assert not (folder / "split-0" / "best-loss" / "test" / "test_image_level_metrics.tsv").exists()
    # the same participants: what the first run left out (other models, intervals) is completed, no --overwrite
    again = _predict(folder, "test", "--participants_tsv", paths["test"], "--n_resamples", "100")
    assert again.exit_code == 0, again.output
    assert (folder / "split-1" / "best-BA" / "test" / "test_image_level_metrics_ci.tsv").is_file()
    assert (folder / "split-0" / "best-loss" / "test" / "test_image_level_metrics.tsv").is_file()
    third = _predict(folder, "test", "--participants_tsv", paths["test"])
    assert third.exit_code == 1 and "already exists" in third.output and "--overwrite" in third.output
    other = _predict(folder, "test", "--participants_tsv", paths["data"], "--skip_leak_check")
    assert other.exit_code == 1 and "other participants" in other.output and "--overwrite" in other.output
    replaced = _predict(folder, "test", "--participants_tsv", paths["test"], "--overwrite", "--n_resamples", "100")
    assert replaced.exit_code == 0, replaced.output
    training = _predict(folder, "validation", "--participants_tsv", paths["test"], "--overwrite")
    assert training.exit_code == 1 and "never redefined" in training.output
    missing = _predict(folder, "nothing")
    assert missing.exit_code == 1 and "--participants_tsv" in missing.output


def test_label_column_missing(maps, tmp_path):
    paths, folder = maps
    frame = pd.read_csv(paths["test"], sep="\t").drop(columns="diagnosis")
    frame.to_csv(tmp_path / "no_label.tsv", sep="\t", index=False)
    result = _predict(folder, "test", "--participants_tsv", tmp_path / "no_label.tsv")
    assert result.exit_code == 1 and "--no_labels" in result.output


def test_replicate_maps_predicts_finished_replicates(maps, tmp_path):
    from clinicadl.predict.predict import predict

    paths, folder = maps
    root = tmp_path / "procedure"
    root.mkdir()
    shutil.copy(folder / "maps.json", root / "maps.json")
    for replicate in (0, 1):
        shutil.copytree(folder, root / f"replicate-{replicate}")
    pd.DataFrame({"replicate": [0, 1], "status": ["done", "failed"]}).to_csv(root / "replicates.tsv", sep="\t",
                                                                             index=False)
    results = predict(root, "test", participants_tsv=paths["test"], selection_metrics=["loss"],
                      progress=False)
    assert [r.maps_dir.name for r in results] == ["replicate-0"]
    assert (root / "replicate-0" / "split-1" / "best-loss" / "test" / "test_image_level_prediction.tsv").is_file()
    assert not (root / "replicate-1" / "groups" / "test").exists()
    with pytest.raises(MAPSError, match="split"):
        predict(root, "test2", participants_tsv=paths["test"], splits=[7])


def test_not_a_maps(tmp_path):
    result = _predict(tmp_path, "test")
    assert result.exit_code == 1 and "not a MAPS" in result.output


# ------------------------------------------------------------------------- all or nothing, resumable


def _group_leftovers(folder: Path, group: str) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in [*folder.glob(f"groups/{group}"),
                                                      *folder.glob(f"split-*/best-*/{group}")])


def test_a_participant_missing_from_the_caps_leaves_no_group(maps, tmp_path):
    paths, folder = maps
    frame = pd.read_csv(paths["test"], sep="\t")
    frame.loc[0, "participant_id"] = "sub-999"
    frame.to_csv(tmp_path / "ghost.tsv", sep="\t", index=False)
    result = _predict(folder, "ghost", "--participants_tsv", tmp_path / "ghost.tsv")
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "Traceback" not in result.output
    assert _group_leftovers(folder, "ghost") == []


def test_a_crashed_predict_is_finished_by_the_same_command(maps):
    paths, folder = maps
    leftover = folder / "split-0" / "best-loss" / "test"  # what a kill -9 leaves: files of a group never registered
    leftover.mkdir(parents=True)
    (leftover / "test_image_level_prediction.tsv").write_text("participant_id\tsession_id\n")
    (leftover / ".test_image_level_metrics.tsv.x1y2.tmp").write_text("half")
    result = _predict(folder, "test", "--participants_tsv", paths["test"], "-sm", "loss", "--n_resamples", "100")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(leftover / "test_image_level_prediction.tsv", sep="\t")) == 4
    assert not list(folder.rglob("*.tmp"))


def test_a_replicate_that_fails_leaves_the_others_whole_and_a_rerun_finishes(maps, tmp_path):
    from clinicadl.evaluate.prediction_intervals import predict_with_intervals as predict

    paths, folder = maps
    root = tmp_path / "procedure"
    root.mkdir()
    shutil.copy(folder / "maps.json", root / "maps.json")
    for replicate in (0, 1, 2):
        shutil.copytree(folder, root / f"replicate-{replicate}")
    pd.DataFrame({"replicate": [0, 1, 2], "status": ["done"] * 3}).to_csv(root / "replicates.tsv", sep="\t",
                                                                          index=False)
    model = root / "replicate-1" / "split-1" / "best-loss" / "model.pth.tar"
    weights = model.read_bytes()
    model.write_bytes(b"not a checkpoint")
    arguments = dict(participants_tsv=paths["test"], selection_metrics=["loss"], progress=False)
    with pytest.raises(MAPSError, match=r"model\.pth\.tar"):
        predict(root, "test", **arguments)
    assert (root / "replicate-0" / "groups" / "test" / "data.tsv").is_file()
    assert _group_leftovers(root / "replicate-1", "test") == [] and _group_leftovers(root / "replicate-2", "test") == []
    kept = (root / "replicate-0" / "split-0" / "best-loss" / "test" / "test_image_level_prediction.tsv")
    before = kept.stat().st_mtime_ns

    model.write_bytes(weights)
    results = predict(root, "test", **arguments)  # the same command, no overwrite: finishes replicates 1 and 2
    assert [r.maps_dir.name for r in results] == ["replicate-1", "replicate-2"]
    assert kept.stat().st_mtime_ns == before
    for replicate in (0, 1, 2):
        assert (root / f"replicate-{replicate}" / "split-1" / "best-loss" / "test" /
                "test_image_level_metrics_ci.tsv").is_file()
    with pytest.raises(MAPSError, match="already exists"):
        predict(root, "test", **arguments)


# ------------------------------------------------------------------------- upstream's other predict options


def test_label_and_diagnoses_select_the_column_and_the_sessions(maps, tmp_path):
    paths, folder = maps
    frame = pd.read_csv(paths["test"], sep="\t").rename(columns={"diagnosis": "dx"})
    frame.to_csv(tmp_path / "dx.tsv", sep="\t", index=False)
    result = _predict(folder, "test", "--participants_tsv", tmp_path / "dx.tsv", "--label", "dx", "-sm", "loss",
                      "--split", "0", "--n_resamples", "100")
    assert result.exit_code == 0, result.output
    assert "dx" in pd.read_csv(folder / "groups" / "test" / "data.tsv", sep="\t").columns
    kept = pd.read_csv(paths["test"], sep="\t").query("diagnosis == 'AD'")
    result = _predict(folder, "ad", "--participants_tsv", paths["test"], "-d", "AD", "-sm", "loss", "--split", "0",
                      "--no_labels")
    assert result.exit_code == 0, result.output
    predicted = pd.read_csv(folder / "split-0" / "best-loss" / "ad" / "ad_image_level_prediction.tsv", sep="\t")
    assert sorted(predicted["participant_id"]) == sorted(kept["participant_id"]) and 0 < len(kept) < len(frame)


@pytest.mark.parametrize(("arguments", "message"), [
    (["--multi_cohort"], "--multi_cohort"),
    (["-d", "MCI"], "no session has a diagnosis in MCI"),
    (["--save_nifti"], "--save_nifti"),
    (["--save_latent_tensor"], "--save_latent_tensor"),
])
def test_options_out_of_reach_are_refused_in_one_line(maps, arguments, message):
    paths, folder = maps
    result = _predict(folder, "test", "--participants_tsv", paths["test"], *arguments)
    assert result.exit_code == 1 and message in result.output and result.output.count("\n") == 1
    assert not (folder / "groups" / "test").exists()


def test_save_tensor_writes_each_input_and_output(maps):
    import torch

    from clinicadl.maps import read_maps_json
    from clinicadl.runtime.checkpoints import load_trained_network

    paths, folder = maps
    result = _predict(folder, "test", "--participants_tsv", paths["test"], "-sm", "loss", "--split", "1",
                      "--save_tensor", "--no_labels")
    assert result.exit_code == 0, result.output
    group = folder / "split-1" / "best-loss" / "test"
    prediction = pd.read_csv(group / "test_image_level_prediction.tsv", sep="\t")
    network = load_trained_network(folder, read_maps_json(folder), 1, "loss", torch.device("cpu"))
    assert len(list((group / "tensors").iterdir())) == 2 * len(prediction)
    for row in prediction.itertuples():
        stem = group / "tensors" / f"{row.participant_id}_{row.session_id}_image-0"
        image = torch.load(f"{stem}_input.pt", weights_only=True)
        output = torch.load(f"{stem}_output.pt", weights_only=True)
        assert image.shape == (1, *helpers.SHAPE) and output.shape == (2,)
        with torch.no_grad():
            assert torch.allclose(network(image[None])[0], output, atol=1e-5)
        assert abs(float(torch.softmax(output.double(), 0)[1]) - row.proba1) < 1e-6
