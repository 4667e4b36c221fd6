"""Training one replicate of a learning procedure into a complete ClinicaDL 1.x MAPS.

:func:`train_replicate` trains every split of one replicate. ``replicates.train_procedure`` calls it once per
replicate (``replicate-<r>/``), or once on OUTPUT_MAPS itself for a plain training. It is resumable: a split whose
outputs are complete is skipped, an interrupted one resumes from its checkpoint.

Layers: ``clinicadl train`` also writes each model's participant-level intervals on the validation group. That is
evaluation, a room above this one: the command passes the step as ``after_split``
(:class:`clinicadl.evaluate.prediction_intervals.ModelIntervals`), run once a split's predictions are written;
a split is complete only once its step has run. Without a step (the Python API's default) a split is complete
with its models and predictions.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from clinicadl.errors import MAPSError
from clinicadl.maps.maps_json import is_maps, read_maps_json
from clinicadl.maps.training_state import split_is_complete
from clinicadl.maps.writer import (
    write_environment,
    write_information_log,
    write_maps_json,
    write_training_groups,
)
from clinicadl.training.partitions import SplitSessions, partitions

__all__ = ["TRANSIENT_KEYS", "split_is_complete", "train_replicate"]

TRANSIENT_KEYS = frozenset({"gpu", "n_proc", "amp"})
"""Parameters that may change when a MAPS is resumed (they do not change what is learnt on CPU)."""

VALIDATION = "validation"
TRAIN = "train"

AfterSplit = Callable[[Path, str, Sequence[tuple[int, str]]], object]
"""A step run on each split once its models predicted the validation group (see :func:`train_replicate`)."""


@contextlib.contextmanager
def deterministic_algorithms(enabled: bool, *, gpu: bool) -> Iterator[None]:
    """Deterministic torch algorithms (and cuDNN) inside the block, previous settings restored after.

    On CPU, operations without a flagged deterministic implementation (e.g. ``max_unpool3d``) are allowed: torch's
    flags concern GPU kernels (atomic additions), CPU kernels give the same results run after run.
    """
    import torch

    previous = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
                torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
                os.environ.get("CUBLAS_WORKSPACE_CONFIG"))
    with warnings.catch_warnings():
        if enabled:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=not gpu)
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
            warnings.filterwarnings("ignore", message=".*does not have a deterministic implementation.*")
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = previous[2], previous[3]
            if previous[4] is None:
                os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)


def _maps_parameters(parameters: Mapping[str, Any], seeds: Mapping[str, int]) -> dict[str, Any]:
    content = dict(parameters)
    content["seeds"] = {name: int(value) for name, value in seeds.items()}
    return content


def _check_same_training(maps: Path, content: Mapping[str, Any]) -> None:
    stored = read_maps_json(maps)
    from clinicadl.maps.results_io import to_jsonable

    new = to_jsonable(dict(content))
    differ = sorted(key for key in set(stored) | set(new)
                    if key not in TRANSIENT_KEYS and stored.get(key) != new.get(key))
    if differ:
        raise MAPSError(f"{maps} holds another training (different: {', '.join(differ[:5])}"
                        f"{' ...' if len(differ) > 5 else ''}); choose another output folder, or --overwrite.")


def train_replicate(
    parameters: Mapping[str, Any],
    maps_dir: str | Path,
    seeds: Mapping[str, int],
    *,
    resample_split: bool = False,
    progress: bool = True,
    after_split: AfterSplit | None = None,
) -> None:
    """Train every split of one replicate into ``maps_dir``, which becomes a complete 1.x MAPS.

    Parameters
    ----------
    parameters : mapping
        Resolved training parameters (:func:`clinicadl.training.config.resolve_parameters`).
    maps_dir : path
        The MAPS to write (created if needed). A MAPS of the same training is resumed; one of another training is
        refused.
    seeds : mapping
        Seed of each source of variance (:func:`clinicadl.training.seeds.replicate_seeds`): ``split``, ``init``,
        ``order``, ``augmentation``, ``dropout``. Recorded in ``maps.json`` under ``seeds``.
    resample_split : bool
        Re-draw the train/validation partitions from the pool of TSV_DIRECTORY with ``seeds["split"]``; otherwise
        use those of TSV_DIRECTORY as given.
    progress : bool
        Show a progress bar per epoch.
    after_split : callable, optional
        ``after_split(maps, "validation", models)`` once a split's predictions are written, ``models`` its
        (split, selection metric) pairs: ``clinicadl train`` passes
        :class:`~clinicadl.evaluate.prediction_intervals.ModelIntervals` (each model's intervals on the validation
        group). Must be picklable when replicates run in worker processes.

    Notes
    -----
    For each split: train (:func:`clinicadl.training.loop.train_split`), predict the ``train`` and ``validation``
    groups with each best model (upstream's files), run ``after_split``, then remove ``tmp/``.
    """
    from clinicadl.training.loop import train_split

    maps, parts, device = prepare_replicate(parameters, maps_dir, seeds, resample_split=resample_split)
    metrics = list(parameters["selection_metrics"])
    with deterministic_algorithms(bool(parameters["deterministic"]), gpu=device.type == "cuda"):
        for part in parts:
            if split_is_complete(maps, part.split, metrics, intervals=after_split is not None):
                continue
            train_split(parameters, maps, part, seeds, device=device, progress=progress)
            finish_split(parameters, maps, part, after_split)


def prepare_replicate(parameters: Mapping[str, Any], maps_dir: str | Path, seeds: Mapping[str, int], *,
                      resample_split: bool) -> tuple[Path, list[SplitSessions], Any]:
    """Write a replicate's MAPS files that precede training; return ``(maps, partitions, device)``."""
    from clinicadl.runtime.device import select_device
    from clinicadl.runtime.network import build_network

    maps = Path(maps_dir)
    maps.mkdir(parents=True, exist_ok=True)
    content = _maps_parameters(parameters, seeds)
    if is_maps(maps):
        _check_same_training(maps, content)
    else:
        write_maps_json(maps, content)
    if not (maps / "environment.txt").is_file():
        write_environment(maps)
    if not (maps / "information.log").is_file():
        network = build_network(parameters, seed=int(seeds["init"]))
        write_information_log(maps, repr(network), extra={"Seeds": dict(seeds)})
    device = select_device(bool(parameters["gpu"]))
    parts: list[SplitSessions] = partitions(parameters, split_seed=int(seeds["split"]) if resample_split else None)
    label = parameters.get("label") if parameters["network_task"] != "reconstruction" else None
    write_training_groups(maps, [(p.split, p.train, p.validation) for p in parts],
                          caps_directory=parameters["caps_directory"], label=label)
    return maps, parts, device


def finish_split(parameters: Mapping[str, Any], maps: Path, part: SplitSessions,
                 after_split: AfterSplit | None, *, predicted: bool = False) -> None:
    """After a split's training: predict the train and validation groups, run ``after_split``, remove ``tmp/``.

    ``predicted``: the groups are predicted already (by a pack, :mod:`clinicadl.training.packed_prediction`).
    """
    from clinicadl.predict.predict import predict_models

    models = [(part.split, metric) for metric in parameters["selection_metrics"]]
    if not predicted:
        for group, frame in ((TRAIN, part.train), (VALIDATION, part.validation)):
            predict_models(maps, parameters, group, {part.split: frame}, models,
                           caps_directory=parameters["caps_directory"], progress=False)
    if after_split is not None:
        after_split(maps, VALIDATION, models)
    shutil.rmtree(maps / f"split-{part.split}" / "tmp", ignore_errors=True)
