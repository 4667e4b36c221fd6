"""The train/validation partitions of a training run, read from TSV_DIRECTORY or re-drawn from a seed.

TSV_DIRECTORY is the output of ``clinicadl tsvtools split`` (one partition: ``train.tsv``,
``train_baseline.tsv``, ``validation_baseline.tsv`` in the folder itself) or ``tsvtools kfold``
(``split-<i>/`` folders holding the same files). As upstream, training reads ``train.tsv`` (``train_baseline.tsv``
with ``baseline``) and validation reads ``validation_baseline.tsv`` (``validation.tsv`` with
``valid_longitudinal``); rows are kept when their ``diagnosis`` is one of ``diagnoses`` (no filter when
``diagnoses`` is empty).

When the ``split`` source of variance varies (replicates), the partition is re-drawn from the *pool*: every
participant of the training and validation files, with all their sessions. Test groups are never part of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from clinicadl.data.labels import baseline_sessions, sort_sessions
from clinicadl.errors import InputError
from clinicadl.maps.tables import read_tsv

__all__ = ["SplitSessions", "partitions", "read_pool", "split_indices"]

VALIDATION_SUBSET = "validation"


@dataclass(frozen=True, eq=False)
class SplitSessions:
    """The training and validation sessions of one split."""

    split: int
    train: pd.DataFrame
    validation: pd.DataFrame


def _folder(parameters: Mapping[str, Any], split: int) -> Path:
    tsv = Path(parameters["tsv_path"])
    return tsv / f"split-{split}" if int(parameters["n_splits"]) > 1 else tsv


def _train_file(folder: Path, parameters: Mapping[str, Any]) -> Path:
    return folder / ("train_baseline.tsv" if parameters["baseline"] else "train.tsv")


def _validation_file(folder: Path, parameters: Mapping[str, Any]) -> Path:
    name = f"{VALIDATION_SUBSET}.tsv" if parameters["valid_longitudinal"] else f"{VALIDATION_SUBSET}_baseline.tsv"
    return folder / name


def split_indices(parameters: Mapping[str, Any]) -> list[int]:
    """Splits to train (``split``, or all of ``n_splits``); checks their TSV files exist.

    Raises
    ------
    InputError
        If TSV_DIRECTORY lacks the split folders or files (the message lists what it holds), or ``split`` names a
        split beyond ``n_splits``.
    """
    tsv = Path(parameters["tsv_path"])
    if not tsv.is_dir():
        raise InputError(f"TSV_DIRECTORY {tsv} is not a folder; give the output folder of 'clinicadl tsvtools "
                         "split' or 'tsvtools kfold'.")
    n_splits = int(parameters["n_splits"])
    available = list(range(n_splits)) if n_splits > 1 else [0]
    wanted = [int(s) for s in parameters.get("split") or []] or available
    wrong = [s for s in wanted if s not in available]
    if wrong:
        raise InputError(f"split {', '.join(map(str, wrong))} does not exist with n_splits = {n_splits}; choose "
                         f"among {', '.join(map(str, available))}.")
    for split in wanted:
        folder = _folder(parameters, split)
        needed = [_train_file(folder, parameters), _validation_file(folder, parameters)]
        missing = [path.name for path in needed if not path.is_file()]
        if missing:
            found = sorted(child.name for child in folder.iterdir()) if folder.is_dir() else []
            hint = (f"with n_splits = {n_splits} it needs split-<i>/ folders from 'tsvtools kfold'" if n_splits > 1
                    else "give the folder written by 'tsvtools split' (or set --n_splits for a 'tsvtools kfold' one)")
            raise InputError(f"TSV_DIRECTORY {tsv} has no split files: {folder} lacks {', '.join(missing)} "
                             f"(found: {', '.join(found) or 'nothing'}); {hint}.")
    return wanted


def _read(path: Path, parameters: Mapping[str, Any]) -> pd.DataFrame:
    frame = read_tsv(path)
    diagnoses = [str(d) for d in parameters.get("diagnoses") or []]
    if diagnoses:
        if "diagnosis" not in frame.columns:
            raise InputError(f"{path} lacks the column diagnosis, needed to keep the diagnoses "
                             f"{', '.join(diagnoses)}; add it, or set diagnoses = [] in the TOML file.")
        frame = frame[frame["diagnosis"].astype(str).isin(diagnoses)]
    label = parameters.get("label")
    if label:
        if label not in frame.columns:
            raise InputError(f"{path} lacks the label column {label!r} (columns: {', '.join(frame.columns)}); "
                             "choose another --label or add the column.")
        empty = frame[label].isna()
        if empty.any():
            first = frame.loc[empty, "participant_id"].iloc[0]
            raise InputError(f"{path}: {int(empty.sum())} session(s) have no {label} (first: {first}); fill them or "
                             "remove these sessions.")
        if parameters["network_task"] == "regression":
            values = pd.to_numeric(frame[label], errors="coerce")
            if values.isna().any():
                raise InputError(f"{path}: the label column {label!r} holds non-numeric values; regression needs "
                                 "numbers.")
    if frame.empty:
        raise InputError(f"{path} has no session left with diagnoses {', '.join(diagnoses)}; check --diagnoses.")
    return sort_sessions(frame.reset_index(drop=True))


def _pool_files(parameters: Mapping[str, Any]) -> list[Path]:
    folder = _folder(parameters, 0)
    files = [folder / "train.tsv"]
    if not files[0].is_file():
        files = [folder / "train_baseline.tsv"]
    longitudinal = folder / f"{VALIDATION_SUBSET}.tsv"
    files.append(longitudinal if longitudinal.is_file() else folder / f"{VALIDATION_SUBSET}_baseline.tsv")
    return files


def read_pool(parameters: Mapping[str, Any]) -> pd.DataFrame:
    """Every session of the training and validation participants (of split 0: all folds share the pool)."""
    frames = [_read(path, parameters) for path in _pool_files(parameters)]
    pool = pd.concat(frames, ignore_index=True)
    pool = pool.drop_duplicates(["participant_id", "session_id"], keep="first")
    return sort_sessions(pool)


def _stratification(parameters: Mapping[str, Any], pool: pd.DataFrame) -> str | None:
    if parameters["network_task"] == "classification":
        return parameters["label"]
    return "diagnosis" if "diagnosis" in pool.columns else None


def _sides(parameters: Mapping[str, Any], train: pd.DataFrame, validation: pd.DataFrame):
    if parameters["baseline"]:
        train = baseline_sessions(train)
    if not parameters["valid_longitudinal"]:
        validation = baseline_sessions(validation)
    return train, validation


def partitions(parameters: Mapping[str, Any], *, split_seed: int | None = None) -> list[SplitSessions]:
    """The partitions of the splits to train.

    Parameters
    ----------
    parameters : mapping
        Resolved training parameters (``tsv_path``, ``n_splits``, ``split``, ``baseline``, ...).
    split_seed : int, optional
        None: the partitions of TSV_DIRECTORY, as given (upstream behaviour). An integer: re-draw them from the pool
        with :func:`~clinicadl.data.splitting.participant_kfold` (or :func:`participant_split` for one split,
        keeping the size of the given validation set), stratified on the label (classification) or the diagnosis.
    """
    indices = split_indices(parameters)
    if split_seed is None:
        out = []
        for split in indices:
            folder = _folder(parameters, split)
            out.append(SplitSessions(split, _read(_train_file(folder, parameters), parameters),
                                 _read(_validation_file(folder, parameters), parameters)))
        return out
    from clinicadl.data.splitting import participant_kfold, participant_split

    pool = read_pool(parameters)
    label = _stratification(parameters, pool)
    n_splits = int(parameters["n_splits"])
    source = f"the training pool of {parameters['tsv_path']}"
    if n_splits > 1:
        drawn = participant_kfold(pool, n_splits, label=label, seed=int(split_seed), source=source)
    else:
        given = _read(_validation_file(_folder(parameters, 0), parameters), parameters)
        drawn = [participant_split(pool, given["participant_id"].nunique(), label=label, seed=int(split_seed),
                                   source=source)]
    return [SplitSessions(split, *_sides(parameters, *drawn[split])) for split in indices]
