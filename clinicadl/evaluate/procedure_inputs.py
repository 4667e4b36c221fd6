"""The trained models of a learning procedure: every (replicate, split) of a MAPS, with its recorded seeds.

A *unit of replication* is one trained model: replicate ``r``, split ``s``, one selection metric. A MAPS
with replicates (``replicates.tsv``, FORMATS.md section 4) holds ``R x S`` of them; a plain 1.x MAPS is one
replicate (``R = 1``) with its ``S`` splits. Only replicates with status ``done`` are used; the others
are named in ``Procedure.notes``.

Every model of a procedure must have predicted the same test images; two procedures compared replicate by
replicate must also share them (:func:`check_same_test_images`) and, to be paired, the seeds of the sources
they vary (:func:`pairing_problems`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.errors import InputError, MAPSError
from clinicadl.maps import ModelPredictions, find_models, maps_version, read_group_data, read_model_predictions
from clinicadl.maps.maps_json import is_maps, read_maps_json
from clinicadl.maps.replicates import REPLICATES_TSV, has_replicates, read_replicates_tsv, replicate_dir
from clinicadl.training.seeds import SOURCES

KEYS = ["participant_id", "session_id"]

__all__ = [
    "VALIDATION_GROUP",
    "Procedure",
    "TrainedModel",
    "check_same_test_images",
    "has_replicates",
    "load_procedure",
    "pairing_problems",
]


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """One unit of replication: the predictions of the model of replicate ``replicate``, split ``split``.

    Attributes
    ----------
    replicate, split : int
    predictions : ModelPredictions
        Image-level predictions on the data group.
    n_train, n_validation : int or None
        Participants of ``groups/train/split-<s>`` and ``groups/validation/split-<s>`` of the replicate
        (None when the MAPS does not list them); the sizes the corrected t-tests need.
    """

    replicate: int
    split: int
    predictions: ModelPredictions
    n_train: int | None
    n_validation: int | None


@dataclass(frozen=True, eq=False)
class Procedure:
    """The trained models of one learning procedure on one data group.

    Attributes
    ----------
    path : Path
        The MAPS.
    data_group, selection_metric : str
    models : tuple of TrainedModel
        Sorted by replicate, then split.
    seeds : dict
        Replicate -> seed of every source (empty dict for a plain MAPS that records none).
    varied_sources : tuple of str
        Sources declared varied in ``maps.json`` (``replicates.varied_sources``), or, when not declared,
        those whose seed differs between replicates.
    replicated : bool
        True when the MAPS has ``replicates.tsv``.
    notes : tuple of str
        Replicates left out (not done) and similar facts.
    """

    path: Path
    data_group: str
    selection_metric: str
    models: tuple[TrainedModel, ...]
    seeds: dict[int, dict[str, int]]
    varied_sources: tuple[str, ...]
    replicated: bool
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def replicates(self) -> tuple[int, ...]:
        return tuple(sorted({m.replicate for m in self.models}))

    @property
    def splits(self) -> tuple[int, ...]:
        return tuple(sorted({m.split for m in self.models}))

    @property
    def n_replicates(self) -> int:
        return len(self.replicates)

    @property
    def n_splits(self) -> int:
        return len(self.splits)

    @property
    def on_validation_folds(self) -> bool:
        """True on the ``validation`` group: each model was scored on its own held-out fold (a CV design)."""
        return self.data_group == VALIDATION_GROUP

    @property
    def split_varied(self) -> bool:
        """Whether the train/validation partition changes from one replicate to the next."""
        return "split" in self.varied_sources

    def model(self, replicate: int, split: int) -> TrainedModel:
        for m in self.models:
            if m.replicate == replicate and m.split == split:
                return m
        raise InputError(f"{self.path}: no model for replicate {replicate}, split {split} on group "
                         f"{self.data_group!r}.")

    def partition_ids(self) -> np.ndarray:
        """One integer per model naming its train/validation partition.

        When ``split`` is varied each replicate re-draws its partitions, so every model has its own;
        otherwise the partitions are the splits, shared by all replicates.
        """
        if self.split_varied:
            keys = [(self.seeds.get(m.replicate, {}).get("split", m.replicate), m.split) for m in self.models]
        else:
            keys = [(0, m.split) for m in self.models]
        codes = {key: i for i, key in enumerate(dict.fromkeys(keys))}
        return np.array([codes[k] for k in keys], dtype=np.int64)


VALIDATION_GROUP = "validation"
"""The data group of the held-out folds written by ``train``: a cross-validation design, one fold per model."""


def _count_participants(folder: Path, group: str, split: int) -> int | None:
    try:
        return int(read_group_data(folder, group, split=split)["participant_id"].nunique())
    except (MAPSError, InputError):
        return None


def _declared_varied(maps: Path) -> tuple[str, ...] | None:
    try:
        block = read_maps_json(maps).get("replicates")
    except (MAPSError, OSError):
        return None
    if isinstance(block, dict) and isinstance(block.get("varied_sources"), list):
        return tuple(s for s in SOURCES if s in block["varied_sources"])
    return None


def _plain_seeds(maps: Path) -> dict[str, int]:
    try:
        parameters = read_maps_json(maps)
    except (MAPSError, OSError):
        return {}
    seeds = parameters.get("seeds")
    if isinstance(seeds, dict):
        return {s: int(seeds[s]) for s in SOURCES if s in seeds}
    return {"init": int(parameters["seed"])} if isinstance(parameters.get("seed"), int) else {}


def load_procedure(
    maps_path: str | Path,
    data_group: str,
    *,
    selection_metric: str = "loss",
    splits: Sequence[int] | None = None,
) -> Procedure:
    """Read every trained model of a learning procedure on a data group.

    Parameters
    ----------
    maps_path : str or Path
        A MAPS with replicates, or a plain 1.x MAPS (one replicate).
    data_group : str
        The test group, predicted by every replicate (``clinicadl predict MAPS GROUP``).
    selection_metric : str, default "loss"
        Which model of each split (``best-<m>``).
    splits : sequence of int, optional
        Splits to use (default: all).

    Returns
    -------
    Procedure

    Raises
    ------
    MAPSError
        Not a MAPS, no finished replicate, a finished replicate without predictions on the group.
    InputError
        Models that predicted different test images.
    """
    maps = Path(maps_path)
    if not maps.is_dir():
        raise InputError(f"{maps} is not a folder: give a MAPS (with replicates or not).")
    notes: list[str] = []
    if has_replicates(maps):
        records = read_replicates_tsv(maps, sources=SOURCES)
        not_done = {r: rec.status for r, rec in sorted(records.items()) if rec.status != "done"}
        if not_done:
            listed = ", ".join(f"{r} ({s})" for r, s in not_done.items())
            notes.append(f"{maps}: replicates not finished and left out: {listed}; `clinicadl train resume` "
                         "finishes them.")
        folders = {r: replicate_dir(maps, r) for r, rec in sorted(records.items()) if rec.status == "done"}
        gone = [r for r, folder in folders.items() if not is_maps(folder)]
        if gone:
            notes.append(f"{maps}: replicates {', '.join(map(str, gone))} are recorded done but their folders are "
                         "missing; they are left out (`clinicadl train resume` trains them again).")
            folders = {r: folder for r, folder in folders.items() if r not in gone}
        if not folders:
            raise MAPSError(f"{maps / REPLICATES_TSV} lists no finished replicate (status done); finish the "
                            "training with `clinicadl train resume` first.")
        seeds = {r: dict(records[r].seeds) for r in folders}
        declared = _declared_varied(maps)
        replicated = True
    else:
        maps_version(maps)
        folders = {0: maps}
        seeds = {0: _plain_seeds(maps)}
        declared = _declared_varied(maps) or ()
        replicated = False
    if declared is None:
        declared = tuple(s for s in SOURCES if len({seeds[r].get(s) for r in seeds}) > 1)
    models = []
    for r, folder in folders.items():
        for split, selection in find_models(folder, data_group, splits=splits, selection_metrics=[selection_metric]):
            predictions = read_model_predictions(folder, data_group, split=split, selection_metric=selection)
            models.append(TrainedModel(r, split, predictions, _count_participants(folder, "train", split),
                                       _count_participants(folder, "validation", split)))
    procedure = Procedure(maps, data_group, selection_metric, tuple(models), seeds, declared, replicated,
                          tuple(notes))
    _check_within(procedure)
    return procedure


def _image_keys(model: TrainedModel) -> pd.DataFrame:
    return model.predictions.frame[KEYS].sort_values(KEYS, ignore_index=True)


def _difference(a: pd.DataFrame, b: pd.DataFrame) -> str:
    merged = a.merge(b, how="outer", indicator=True)
    only_a = merged[merged["_merge"] == "left_only"]
    only_b = merged[merged["_merge"] == "right_only"]
    shown = ", ".join(f"{p}/{s}" for p, s in pd.concat([only_a, only_b])[KEYS].head(3).itertuples(index=False))
    return f"{len(only_a)} images only in the first, {len(only_b)} only in the second (e.g. {shown})"


def _check_within(procedure: Procedure) -> None:
    first = procedure.models[0]
    reference = _image_keys(first)
    for model in procedure.models[1:] if not procedure.on_validation_folds else ():
        keys = _image_keys(model)
        if not keys.equals(reference):
            raise InputError(
                f"{procedure.path}: replicate {model.replicate} split {model.split} and replicate {first.replicate} "
                f"split {first.split} did not predict the same {procedure.data_group!r} images "
                f"({_difference(keys, reference)}); predict every replicate on the same group."
            )
    if procedure.models[0].predictions.task == "classification":
        labels = {m.predictions.labels for m in procedure.models}
        if len(labels) > 1:
            raise InputError(f"{procedure.path}: replicates disagree on the class names ({sorted(labels)}).")


def check_same_test_images(procedures: Sequence[Procedure]) -> None:
    """Refuse procedures whose models did not predict the same test images with the same labels.

    Raises
    ------
    InputError
        Naming the two MAPS and the images found in one and not the other.
    """
    first = procedures[0]
    reference = _image_keys(first.models[0])
    for other in procedures[1:]:
        if other.models[0].predictions.task != first.models[0].predictions.task:
            raise InputError(f"{first.path} is a {first.models[0].predictions.task} task but {other.path} is a "
                             f"{other.models[0].predictions.task} task: nothing to compare.")
        keys = _image_keys(other.models[0])
        if not keys.equals(reference):
            raise InputError(
                f"{first.path} and {other.path} were not tested on the same participants "
                f"({_difference(reference, keys)}); compare procedures on the same test group."
            )
        fa = first.models[0].predictions.frame.sort_values(KEYS, ignore_index=True)
        fb = other.models[0].predictions.frame.sort_values(KEYS, ignore_index=True)
        if "true_label" in fa and not np.allclose(fa["true_label"], fb["true_label"]):
            raise InputError(f"{first.path} and {other.path} give different true labels to the same images.")


def pairing_problems(a: Procedure, b: Procedure) -> list[str]:
    """Why replicate ``r`` of ``a`` and replicate ``r`` of ``b`` are not paired (empty list: they are).

    They are paired when both have the same replicates and splits, and the same seed of every source that
    either procedure varies (FORMATS.md section 4: two MAPS trained with the same root seed are paired).
    """
    problems = []
    if a.replicates != b.replicates:
        problems.append(f"replicates {list(a.replicates)} in {a.path} but {list(b.replicates)} in {b.path}")
    if a.splits != b.splits:
        problems.append(f"splits {list(a.splits)} in {a.path} but {list(b.splits)} in {b.path}")
    varied = [s for s in SOURCES if s in a.varied_sources or s in b.varied_sources]
    for r in sorted(set(a.replicates) & set(b.replicates)):
        sa, sb = a.seeds.get(r, {}), b.seeds.get(r, {})
        differ = [s for s in varied if sa.get(s) != sb.get(s)]
        if differ:
            problems.append(f"replicate {r} has different seed_{'/seed_'.join(differ)}")
    return problems
