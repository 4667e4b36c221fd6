"""train --track_exp: the calls a tracker gets (a stand-in mlflow), and offline runs of the real libraries."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
import types

import pytest
import tiny_caps as helpers
from click.testing import CliRunner

from clinicadl.cli.main import cli


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return helpers.make_dataset(tmp_path_factory.mktemp("tracking"))


def _train(paths, maps, *extra):
    arguments = helpers.train_arguments(paths, maps, kfold=False)
    return CliRunner().invoke(cli, ["train", "classification", *map(str, arguments), *extra])


def _fake_mlflow(calls: list) -> types.ModuleType:
    """A stand-in for mlflow that records what MlflowClient is asked."""

    class MlflowClient:
        def __init__(self, tracking_uri):
            calls.append(("client", tracking_uri))

        def get_experiment_by_name(self, name):
            calls.append(("experiment", name))

        def create_experiment(self, name):
            return "1"

        def create_run(self, experiment_id, run_name):
            calls.append(("run", run_name))
            return types.SimpleNamespace(info=types.SimpleNamespace(run_id="r1"))

        def log_batch(self, run_id, params=(), metrics=()):
            if params:
                calls.append(("params", {param.key: param.value for param in params}))
            if metrics:
                calls.append(("metrics", metrics[0].step, {metric.key: metric.value for metric in metrics}))

        def log_artifact(self, run_id, path, artifact_path):
            calls.append(("artifact", artifact_path))

        def set_terminated(self, run_id):
            calls.append(("end",))

    mlflow = types.ModuleType("mlflow")
    mlflow.__spec__ = importlib.machinery.ModuleSpec("mlflow", None)
    mlflow.MlflowClient = MlflowClient
    entities = types.ModuleType("mlflow.entities")
    entities.Param = lambda key, value: types.SimpleNamespace(key=key, value=value)
    entities.Metric = lambda key, value, timestamp, step: types.SimpleNamespace(key=key, value=value, step=step)
    mlflow.entities = entities
    return mlflow


def test_tracker_gets_parameters_once_metrics_per_epoch_and_models(dataset, tmp_path, monkeypatch):
    calls: list = []
    mlflow = _fake_mlflow(calls)
    monkeypatch.setitem(sys.modules, "mlflow", mlflow)
    monkeypatch.setitem(sys.modules, "mlflow.entities", mlflow.entities)
    maps = tmp_path / "maps"
    result = _train(dataset, maps, "--track_exp", "mlflow")
    assert result.exit_code == 0, result.output
    kinds = [call[0] for call in calls]
    assert kinds == ["client", "experiment", "run", "params", "metrics", "metrics", "artifact", "artifact", "end"]
    assert calls[0][1] == (maps / "mlruns").resolve().as_uri() and calls[2] == ("run", "split-0")
    parameters = json.loads((maps / "maps.json").read_text())
    logged = calls[3][1]
    assert set(logged) == set(parameters) and logged["architecture"] == "TinyCNN" and logged["track_exp"] == "mlflow"
    rows = (maps / "split-0" / "training_logs" / "training.tsv").read_text().splitlines()
    header = rows[0].split("\t")
    for call, row in zip(calls[4:6], rows[1:]):
        values = dict(zip(header, map(float, row.split("\t"))))
        assert call[2] == pytest.approx({key: value for key, value in values.items() if key != "iteration"},
                                        nan_ok=True)
    assert calls[4][2]["epoch"] == 0 and calls[5][2]["epoch"] == 1 and calls[4][1] < calls[5][1]
    assert sorted(call[1] for call in calls if call[0] == "artifact") == ["best-BA", "best-loss"]


def test_asked_without_the_library_names_the_extra(dataset, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    result = _train(dataset, tmp_path / "maps", "--track_exp", "wandb")
    assert result.exit_code == 1
    assert 'pip install "clinicadl[tracking]"' in result.output
    assert not (tmp_path / "maps").exists()


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow is not installed")
def test_mlflow_offline_file_store(dataset, tmp_path):
    from mlflow import MlflowClient

    maps = tmp_path / "maps"
    assert _train(dataset, maps, "-te", "mlflow", "--epochs", "1").exit_code == 0
    client = MlflowClient(tracking_uri=(maps / "mlruns").as_uri())
    run = client.search_runs([client.get_experiment_by_name("maps").experiment_id])[0]
    assert run.info.run_name == "split-0" and run.data.params["architecture"] == "TinyCNN"
    history = client.get_metric_history(run.info.run_id, "loss_valid")
    assert [metric.value for metric in history] == pytest.approx(
        [float(line.split("\t")[-1]) for line in
         (maps / "split-0" / "training_logs" / "training.tsv").read_text().splitlines()[1:]])
    assert {artifact.path for artifact in client.list_artifacts(run.info.run_id, "best-loss")} == {
        "best-loss/model.pth.tar"}


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="wandb is not installed")
def test_wandb_offline_run(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    maps = tmp_path / "maps"
    assert _train(dataset, maps, "-te", "wandb", "--epochs", "1").exit_code == 0
    runs = list((maps / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(runs) == 1
    content = runs[0].read_bytes()
    assert b"loss_valid" in content and b"TinyCNN" in content and b"split-0-models" in content
