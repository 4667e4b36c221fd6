"""Training: upstream MAPS layout with each model's validation intervals, determinism, resume, bad inputs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import tiny_caps as helpers
import torch
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.maps import read_metrics_table
from clinicadl.training.seeds import replicate_seeds

SEEDS = replicate_seeds(0, 0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return helpers.make_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def cli_maps(dataset, tmp_path_factory):
    """A MAPS trained through the command line: 2 folds x 2 epochs, selection on loss and BA."""
    output = tmp_path_factory.mktemp("cli") / "maps"
    result = CliRunner().invoke(cli, ["train", "classification", *helpers.train_arguments(dataset, output)])
    assert result.exit_code == 0, result.output
    return output


def _single(maps: Path) -> Path:
    """The 1.x MAPS of a one-replicate training (the folder itself, or replicate-0 in a replicate MAPS)."""
    return maps / "replicate-0" if (maps / "replicates.tsv").is_file() else maps


def _train(parameters, maps, seeds=SEEDS, **options):
    """Train as ``clinicadl train`` does: with each model's validation intervals (the step the command passes)."""
    from clinicadl.evaluate.prediction_intervals import ModelIntervals
    from clinicadl.training.trainer import train_replicate

    options.setdefault("after_split", ModelIntervals())
    train_replicate(parameters, maps, seeds, progress=False, **options)
    return maps


def _weights(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def test_cli_train_writes_upstream_layout(cli_maps):
    maps = _single(cli_maps)
    parameters = json.loads((maps / "maps.json").read_text())
    assert parameters["network_task"] == "classification" and parameters["validation"] == "KFoldSplit"
    assert parameters["label_code"] == {"AD": 0, "CN": 1} and parameters["input_size"] == [1, 16, 20, 16]
    assert parameters["output_size"] == 2 and parameters["mode"] == "image"
    assert set(parameters["seeds"]) >= {"split", "init", "order", "augmentation", "dropout"}
    assert "seed" in parameters and parameters["preprocessing_dict"]["extract_json"] == "image.json"
    for name in ("environment.txt", "information.log", "groups/train+validation.tsv"):
        assert (maps / name).is_file(), name
    assert len(pd.read_csv(maps / "groups" / "train+validation.tsv", sep="\t")) == 16
    for split in (0, 1):
        data = (maps / "groups" / "train" / f"split-{split}" / "data.tsv").read_text().splitlines()
        assert data[0].split("\t") == ["", "participant_id", "session_id", "cohort", "diagnosis"]
        assert json.loads((maps / "groups" / "validation" / f"split-{split}" / "maps.json").read_text())[
            "multi_cohort"] is False
        folder = maps / f"split-{split}"
        assert not (folder / "tmp").exists()
        log = pd.read_csv(folder / "training_logs" / "training.tsv", sep="\t")
        assert list(log.columns[:5]) == ["epoch", "iteration", "time", "BA_train", "accuracy_train"]
        assert list(log.columns[-2:]) == ["LR_minus_valid", "loss_valid"] and list(log["epoch"]) == [0, 1]
        assert any((folder / "training_logs" / "tensorboard" / "train").iterdir())
        assert any((folder / "training_logs" / "tensorboard" / "validation").iterdir())
        for metric in ("loss", "BA"):
            best = folder / f"best-{metric}"
            assert (best / "model.pth.tar").is_file()
            for group in ("train", "validation"):
                prediction = pd.read_csv(best / group / f"{group}_image_level_prediction.tsv", sep="\t")
                assert list(prediction.columns) == ["participant_id", "session_id", "image_id", "true_label",
                                                    "predicted_label", "proba0", "proba1"]
                metrics = read_metrics_table(best / group / f"{group}_image_level_metrics.tsv")  # 1.6.1's layout
                assert list(metrics.columns) == ["BA", "accuracy", "F1_score", "sensitivity", "specificity", "PPV",
                                                 "NPV", "MCC", "MK", "LR_plus", "LR_minus", "loss"]
                assert (best / group / "description.log").is_file()
            ci = pd.read_csv(best / "validation" / "validation_image_level_metrics_ci.tsv", sep="\t")
            assert {"metric", "estimate", "ci_low", "ci_high", "n_subjects"} <= set(ci.columns)
            assert ci["n_subjects"].iloc[0] == 8


def test_our_maps_is_read_by_evaluate_and_reader(cli_maps):
    from clinicadl.evaluate.model import EvaluationOptions, evaluate_model
    from clinicadl.maps import read_model_predictions

    maps = _single(cli_maps)
    model = read_model_predictions(maps, "validation", split=1, selection_metric="BA")
    assert model.task == "classification" and model.labels == ("AD", "CN") and len(model.frame) == 8
    result = evaluate_model(maps, "validation", splits=[0], selection_metrics=["loss"],
                            options=EvaluationOptions(n_resamples=200), output=maps.parent / "ci.tsv")
    assert set(result.table["metric"]) >= {"BA", "AUC"}


def test_deterministic_runs_give_identical_predictions(dataset, tmp_path):
    parameters = helpers.resolved_parameters(dataset, kfold=False, dropout=0.3)
    first, second = _train(parameters, tmp_path / "a"), _train(parameters, tmp_path / "b")
    name = "split-0/best-loss/validation/validation_image_level_prediction.tsv"
    assert (first / name).read_bytes() == (second / name).read_bytes()
    a, b = _weights(first / "split-0/best-loss/model.pth.tar"), _weights(second / "split-0/best-loss/model.pth.tar")
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = _train(parameters, tmp_path / "c", seeds={**SEEDS, "init": SEEDS["init"] + 1})
    c = _weights(other / "split-0/best-loss/model.pth.tar")
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_resume_after_interruption_gives_the_same_weights(dataset, tmp_path, monkeypatch):
    from clinicadl.training import loop

    parameters = helpers.resolved_parameters(dataset, kfold=False, epochs=3, dropout=0.3, data_augmentation=["Noise"],
                                             selection_metrics=["loss"])
    reference = _train(parameters, tmp_path / "reference")

    def interrupt(split, epoch):
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(loop, "EPOCH_END_HOOK", interrupt)
    with pytest.raises(KeyboardInterrupt):
        _train(parameters, tmp_path / "resumed")
    assert (tmp_path / "resumed" / "split-0" / "tmp" / "checkpoint.pth.tar").is_file()
    monkeypatch.setattr(loop, "EPOCH_END_HOOK", None)
    resumed = _train(parameters, tmp_path / "resumed")
    assert not (resumed / "split-0" / "tmp").exists()
    a = _weights(reference / "split-0/best-loss/model.pth.tar")
    b = _weights(resumed / "split-0/best-loss/model.pth.tar")
    assert all(torch.equal(a[k], b[k]) for k in a)
    log_a = pd.read_csv(reference / "split-0/training_logs/training.tsv", sep="\t").drop(columns="time")
    log_b = pd.read_csv(resumed / "split-0/training_logs/training.tsv", sep="\t").drop(columns="time")
    pd.testing.assert_frame_equal(log_a, log_b)
    # a complete split is skipped: nothing is retrained
    stamp = (resumed / "split-0/best-loss/model.pth.tar").stat().st_mtime_ns
    _train(parameters, resumed)
    assert (resumed / "split-0/best-loss/model.pth.tar").stat().st_mtime_ns == stamp


def test_resample_split_redraws_partitions_from_the_pool(dataset, tmp_path):
    parameters = helpers.resolved_parameters(dataset, epochs=1, selection_metrics=["loss"], split=[0])
    given = _train(parameters, tmp_path / "given")
    drawn = _train(parameters, tmp_path / "drawn", resample_split=True)
    drawn_again = _train(parameters, tmp_path / "again", seeds={**SEEDS, "split": SEEDS["split"] + 1},
                         resample_split=True)
    read = lambda maps: set(pd.read_csv(maps / "groups/validation/split-0/data.tsv", sep="\t")["participant_id"])  # noqa: E731
    pool = set(pd.read_csv(dataset["kfold"] / "split-0" / "train.tsv", sep="\t")["participant_id"]) | read(given)
    for maps in (drawn, drawn_again):
        train = set(pd.read_csv(maps / "groups/train/split-0/data.tsv", sep="\t")["participant_id"])
        assert train | read(maps) == pool and not train & read(maps)
    assert read(drawn) != read(drawn_again)


def test_slice_mode_writes_soft_voted_image_level(dataset, tmp_path):
    from clinicadl.maps import read_model_predictions

    parameters = helpers.resolved_parameters(dataset, json="slice.json", kfold=False, epochs=1,
                                             selection_metrics=["loss"])
    assert parameters["mode"] == "slice" and parameters["input_size"] == [1, 16, 20]
    maps = _train(parameters, tmp_path / "maps")
    folder = maps / "split-0/best-loss/validation"
    slices = pd.read_csv(folder / "validation_slice_level_prediction.tsv", sep="\t")
    assert "slice_id" in slices.columns and len(slices) == 4 * 4
    images = pd.read_csv(folder / "validation_image_level_prediction.tsv", sep="\t")
    assert len(images) == 4 and {"participant_id", "session_id"} <= set(images.columns)
    assert (folder / "validation_slice_level_metrics.tsv").is_file()
    assert len(read_model_predictions(maps, "validation", split=0, selection_metric="loss").frame) == 4


@pytest.mark.parametrize("task", ["regression", "reconstruction"])
def test_other_tasks(dataset, tmp_path, task):
    architecture = "TinyAE" if task == "reconstruction" else helpers.ARCHITECTURE
    parameters = helpers.resolved_parameters(dataset, task=task, kfold=False, epochs=1, architecture=architecture)
    maps = _train(parameters, tmp_path / "maps")
    metrics = read_metrics_table(maps / "split-0/best-loss/validation/validation_image_level_metrics.tsv")
    expected = ["R2_score", "MAE", "RMSE", "loss"] if task == "regression" else ["MAE", "RMSE", "PSNR", "SSIM", "loss"]
    assert list(metrics.columns) == expected
    assert (maps / "split-0/best-loss/validation/validation_image_level_metrics_ci.tsv").is_file()


# ------------------------------------------------------------------------------------------- bad inputs


def _invoke(arguments):
    return CliRunner().invoke(cli, ["train", "classification", *arguments])


def _one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_bad_inputs_give_one_line(dataset, tmp_path):
    arguments = helpers.train_arguments(dataset, tmp_path / "maps")
    bad = list(arguments)
    bad[bad.index("-a") + 1] = "NoSuchNet"
    _one_line_error(_invoke(bad), "Unknown architecture 'NoSuchNet'", helpers.ARCHITECTURE)
    empty = tmp_path / "empty_tsv"
    empty.mkdir()
    bad = list(arguments)
    bad[2] = str(empty)
    _one_line_error(_invoke(bad), "no split files")
    _one_line_error(_invoke([*arguments, "--label", "grade"]), "label column 'grade'")
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "maps.json").write_text("{}")
    _one_line_error(_invoke(arguments), "already exists", "--overwrite")
    toml = tmp_path / "c.toml"
    toml.write_text("[Optimization]\nepochz = 2\n")
    _one_line_error(_invoke([*arguments, "-c", str(toml)]), "epochz")


def test_overwrite_replaces_an_existing_maps(dataset, tmp_path):
    output = tmp_path / "maps"
    output.mkdir()
    (output / "stale.txt").write_text("old")
    arguments = helpers.train_arguments(dataset, output, kfold=False)
    arguments[arguments.index("--epochs") + 1] = "1"
    result = _invoke([*arguments, "--overwrite", "-sm", "loss"])
    assert result.exit_code == 0, result.output
    assert not (output / "stale.txt").exists() and (_single(output) / "split-0" / "best-loss").is_dir()


def test_resuming_another_training_is_refused(dataset, tmp_path):
    from clinicadl.errors import MAPSError

    parameters = helpers.resolved_parameters(dataset, kfold=False, epochs=1, selection_metrics=["loss"])
    maps = _train(parameters, tmp_path / "maps")
    with pytest.raises(MAPSError, match="another training"):
        _train({**parameters, "learning_rate": 0.5}, maps)
    shutil.rmtree(maps)


def test_cli_replicates_write_replicate_folders(dataset, tmp_path):
    output = tmp_path / "procedure"
    arguments = helpers.train_arguments(dataset, output, kfold=False)
    arguments[arguments.index("--epochs") + 1] = "1"
    if not hasattr(sys.modules["clinicadl.training.replicates"], "ProcedureResult"):
        pytest.skip("the replicates module is a stand-in")
    result = _invoke([*arguments, "--replicates", "2", "--vary", "init", "--root_seed", "3"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(output / "replicates.tsv", sep="\t")
    assert list(table["status"]) == ["done", "done"] and table["seed_init"].nunique() == 2
    for replicate in (0, 1):
        folder = output / f"replicate-{replicate}"
        assert (folder / "split-0" / "best-loss" / "validation" / "validation_image_level_metrics_ci.tsv").is_file()


def test_the_trainer_writes_no_interval_without_the_step_and_the_split_is_complete(dataset, tmp_path):
    """Training never reaches evaluation: the intervals come from the step the command passes (``after_split``)."""
    from clinicadl.maps.training_state import split_is_complete

    parameters = helpers.resolved_parameters(dataset, kfold=False, epochs=1)
    calls = []
    maps = _train(parameters, tmp_path / "maps", after_split=lambda m, group, models: calls.append((group, models)))
    assert calls == [("validation", [(0, metric) for metric in parameters["selection_metrics"]])]
    assert not (maps / "split-0/best-loss/validation/validation_image_level_metrics_ci.tsv").exists()
    assert (maps / "split-0/best-loss/validation/validation_image_level_prediction.tsv").is_file()
    metrics = list(parameters["selection_metrics"])
    assert split_is_complete(maps, 0, metrics, intervals=False)
    assert not split_is_complete(maps, 0, metrics)
