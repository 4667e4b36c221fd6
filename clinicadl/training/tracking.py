"""Experiment tracking of ``train --track_exp mlflow | wandb``, offline, into the MAPS.

Upstream's option, with the libraries as an optional extra (``pip install "clinicadl[tracking]"``) imported only
when asked. Each split is one tracked run, named ``split-<i>`` (``replicate-<r> split-<i>`` in a MAPS of replicates)
in an experiment (wandb: project) named after the MAPS folder:

- its parameters once, at the start: the MAPS parameters (what maps.json holds);
- each row of ``training.tsv`` when it is written (every epoch, and every ``--evaluation_steps`` iterations), as
  metrics at the global iteration step (``epoch`` among them);
- at the end, the selected models (``best-<m>/model.pth.tar``) as artifacts.

The runs of a replicate are stored in its own folder (``<MAPS>/replicate-<r>/mlruns`` or ``.../wandb``), so that
replicates trained at once never write the same files.

Where: mlflow writes a file store in ``<MAPS>/mlruns`` (``mlflow ui --backend-store-uri <MAPS>/mlruns``; mlflow 3
keeps that backend in maintenance mode, so ``MLFLOW_ALLOW_FILE_STORE`` is set for it; a ``MLFLOW_TRACKING_URI`` of
the environment wins); wandb writes an offline run in ``<MAPS>/wandb/`` (``wandb sync <MAPS>/wandb/offline-run-*``
uploads it later). A resumed split starts a new run with the epochs it trains.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from clinicadl.errors import InputError

__all__ = ["TRACKERS", "Tracker", "check_tracking", "start_tracker"]

TRACKERS = {"mlflow": "mlflow", "wandb": "wandb"}
"""``--track_exp`` value -> the module it needs."""

INSTALL = 'pip install "clinicadl[tracking]"'
_MLFLOW_PARAM_LENGTH = 6000  # mlflow refuses longer parameter values
_MLFLOW_BATCH = 100  # mlflow's largest batch of parameters


class Tracker(Protocol):
    """One tracked run (one split)."""

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Record the values of one ``training.tsv`` row at the global iteration ``step``."""

    def finish(self, models: list[Path]) -> None:
        """Record the selected models and close the run."""


def check_tracking(track_exp: str) -> None:
    """Raise :class:`InputError` when ``track_exp`` is unknown or its library is not installed."""
    if track_exp in ("", None):
        return
    if track_exp not in TRACKERS:
        raise InputError(f"track_exp = {track_exp!r}: choose mlflow or wandb (or leave it empty).")
    if importlib.util.find_spec(TRACKERS[track_exp]) is None:
        raise InputError(f"--track_exp {track_exp} needs the {track_exp} library: {INSTALL}, or train without "
                         "--track_exp.")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


class MlflowTracker:
    """A run of an mlflow file store (through ``MlflowClient``: no global active run)."""

    def __init__(self, maps_dir: Path, experiment: str, run_name: str, parameters: Mapping[str, Any]):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow import MlflowClient
        from mlflow.entities import Param

        uri = os.environ.get("MLFLOW_TRACKING_URI") or (maps_dir / "mlruns").resolve().as_uri()
        self.client = MlflowClient(tracking_uri=uri)
        found = self.client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
        self.run_id = self.client.create_run(experiment_id, run_name=run_name).info.run_id
        params = [Param(key, _text(value)[:_MLFLOW_PARAM_LENGTH]) for key, value in sorted(parameters.items())]
        for start in range(0, len(params), _MLFLOW_BATCH):
            self.client.log_batch(self.run_id, params=params[start: start + _MLFLOW_BATCH])

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(key, float(value), now, int(step))
                                                    for key, value in metrics.items()])

    def finish(self, models: list[Path]) -> None:
        for model in models:
            self.client.log_artifact(self.run_id, str(model), artifact_path=model.parent.name)
        self.client.set_terminated(self.run_id)


class WandbTracker:
    """An offline wandb run in ``<MAPS>/wandb``."""

    def __init__(self, maps_dir: Path, experiment: str, run_name: str, parameters: Mapping[str, Any]):
        import wandb

        self.wandb = wandb
        self.run = wandb.init(project=experiment, name=run_name, dir=str(maps_dir), mode="offline",
                              config=dict(parameters), reinit="create_new")
        self.run_name = run_name

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self.run.log(dict(metrics), step=int(step))

    def finish(self, models: list[Path]) -> None:
        if models:
            artifact = self.wandb.Artifact(self.run_name.replace(" ", "-") + "-models", type="model")
            for model in models:
                artifact.add_file(str(model), name=f"{model.parent.name}/{model.name}")
            self.run.log_artifact(artifact)
        self.run.finish()


def start_tracker(parameters: Mapping[str, Any], split_dir: str | Path) -> Tracker | None:
    """The tracked run of the split trained in ``split_dir`` (``<MAPS>/split-<i>``), parameters logged; None when
    ``parameters["track_exp"]`` is empty."""
    name = parameters.get("track_exp") or ""
    if not name:
        return None
    check_tracking(name)
    split_dir = Path(split_dir)
    maps_dir = split_dir.parent
    in_replicate = maps_dir.name.startswith("replicate-")
    run_name = f"{maps_dir.name} {split_dir.name}" if in_replicate else split_dir.name
    tracker = MlflowTracker if name == "mlflow" else WandbTracker
    return tracker(maps_dir, (maps_dir.parent if in_replicate else maps_dir).name, run_name, parameters)
