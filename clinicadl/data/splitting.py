"""Participant-level, stratified, seeded partitions of a participant TSV.

Frame-level functions return the partitions of a participant TSV for a seed:
:func:`participant_split`, :func:`participant_kfold`, and their demographically checked forms
:func:`balanced_split` and :func:`balanced_kfold`, which re-draw with the next seed of a deterministic
sequence until the age/sex p-values pass thresholds. Training replicates that vary the ``split`` source
re-draw the train/validation partition of the training pool with ``participant_kfold(pool, k, seed=s)``.
They draw with the scikit-learn-style splitters of :mod:`clinicadl.data.participant_splitters`
(:class:`StratifiedParticipantSplit`, :class:`StratifiedParticipantKFold`, re-exported here).

All the sessions of a participant land on the same side, and participants are stratified on the label of
their baseline session. Randomness comes only from ``numpy.random.default_rng(seed)``: no global state. Given
the same seed, the partition depends only on the set of (participant, label) pairs, not on the row order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clinicadl.data.demographics import DemographicBalance, demographic_balance
from clinicadl.data.labels import AGE_COLUMNS, SEX_COLUMNS, baseline_sessions, find_column, sort_sessions
from clinicadl.data.participant_splitters import (
    RandomState,
    StratifiedParticipantKFold,
    StratifiedParticipantSplit,
    allocate_largest_remainder,
    resolve_n_test,
)
from clinicadl.errors import InputError

__all__ = [
    "Partition",
    "PartitionDraw",
    "StratifiedParticipantKFold",
    "StratifiedParticipantSplit",
    "allocate_largest_remainder",
    "balanced_kfold",
    "balanced_split",
    "draw_seed",
    "participant_kfold",
    "participant_split",
    "resolve_n_test",
]



def draw_seed(seed: int, attempt: int) -> int | list[int]:
    """Seed of the ``attempt``-th draw (0-based) of a demographically checked split.

    Attempt 0 uses ``seed`` itself (so a split that passes at once equals the unchecked split of the same
    seed); attempt ``t > 0`` uses ``[seed, t]``, a distinct :class:`numpy.random.SeedSequence` entropy, so
    the draws of different seeds never coincide.
    """
    return int(seed) if attempt == 0 else [int(seed), int(attempt)]


# ----------------------------------------------------------------------------------------------------------------
# frame-level API


def _label_values(frame: pd.DataFrame, label: str | Sequence[str] | None, source: object) -> np.ndarray | None:
    if label is None:
        return None
    columns = [label] if isinstance(label, str) else list(label)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InputError(
            f"{source} lacks the column {', '.join(missing)} needed to stratify (found: "
            f"{', '.join(map(str, frame.columns))}); add it or choose another stratification column."
        )
    values = frame[columns].astype(str)
    for column in columns:
        empty = values[column].str.strip().str.lower().isin(["", "n/a", "nan"])
        if empty.any():
            first = frame.loc[empty, "participant_id"].iloc[0]
            raise InputError(
                f"{source}: {int(empty.sum())} session(s) have no {column} (first: participant {first}); "
                f"fill {column} or remove these sessions."
            )
    if len(columns) == 1:
        return values[columns[0]].to_numpy(dtype=object)
    return values.agg("|".join, axis=1).to_numpy(dtype=object)


def _check_frame(frame: pd.DataFrame, source: object) -> pd.DataFrame:
    missing = [c for c in ("participant_id", "session_id") if c not in frame.columns]
    if missing:
        raise InputError(
            f"{source} lacks the column {', '.join(missing)} (found: {', '.join(map(str, frame.columns))}); "
            "a participant TSV needs participant_id and session_id."
        )
    return sort_sessions(frame)


def participant_split(
    frame: pd.DataFrame, n_test: float, *, label: str | Sequence[str] | None = "diagnosis", seed: RandomState = 0,
    source: object = "the data",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test sessions of ``frame`` (all sessions of each participant), for a seed.

    Parameters
    ----------
    frame : pandas.DataFrame
        Sessions with ``participant_id``, ``session_id`` and the ``label`` column(s).
    n_test : int or float
        Test participants: a count or a fraction in (0, 1).
    label : str, sequence of str or None
        Column(s) to stratify on (several columns: their combination); None: no stratification.
    seed : int, sequence of int or SeedSequence
        Seed of the draw.

    Returns
    -------
    (train, test) : tuple of pandas.DataFrame
        Rows sorted by participant then session.

    Examples
    --------
    >>> frame = pd.DataFrame({"participant_id": [f"sub-{i}" for i in range(8)], "session_id": "ses-M000",
    ...                       "diagnosis": ["AD"] * 4 + ["CN"] * 4})
    >>> train, test = participant_split(frame, 2, seed=0)
    >>> sorted(test["diagnosis"])
    ['AD', 'CN']
    """
    frame = _check_frame(frame, source)
    y = _label_values(frame, label, source)
    train, test = next(StratifiedParticipantSplit(n_test, rng=seed).split(frame, y, frame["participant_id"]))
    return frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)


def participant_kfold(
    frame: pd.DataFrame, n_splits: int, *, label: str | Sequence[str] | None = "diagnosis", seed: RandomState = 0,
    source: object = "the data",
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """``(train, validation)`` sessions of each of ``n_splits`` stratified participant folds, for a seed.

    This is the function that training replicates call to re-draw the train/validation partition of the
    training pool when the ``split`` source of variance varies: ``participant_kfold(pool, k, seed=s)``.

    Examples
    --------
    >>> frame = pd.DataFrame({"participant_id": [f"sub-{i}" for i in range(6)], "session_id": "ses-M000",
    ...                       "diagnosis": ["AD"] * 3 + ["CN"] * 3})
    >>> folds = participant_kfold(frame, 3, seed=1)
    >>> [len(valid) for _, valid in folds]
    [2, 2, 2]
    """
    frame = _check_frame(frame, source)
    y = _label_values(frame, label, source)
    splitter = StratifiedParticipantKFold(n_splits, shuffle=True, rng=seed)
    return [
        (frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True))
        for train, test in splitter.split(frame, y, frame["participant_id"])
    ]


@dataclass(frozen=True, eq=False)
class Partition:
    """One train/test partition of sessions.

    Attributes
    ----------
    train, test : pandas.DataFrame
        All the sessions of the participants on each side, sorted by participant then session.
    balance : DemographicBalance
        Age and sex p-values between the sides' baseline sessions (NaN where a column is absent).
    """

    train: pd.DataFrame
    test: pd.DataFrame
    balance: DemographicBalance


@dataclass(frozen=True, eq=False)
class PartitionDraw:
    """Partitions drawn for a seed, possibly re-drawn until the demographic thresholds passed.

    Attributes
    ----------
    partitions : tuple of Partition
        One (split) or ``n_splits`` (k-fold) partitions.
    seed : int
        The seed asked for.
    draw_seed : int or list of int
        Seed of the accepted draw (:func:`draw_seed` of ``seed`` and ``n_tries - 1``); passing it as the
        seed of the unchecked function reproduces the partitions.
    n_tries : int
        Number of draws made (1 when no threshold is given or the first draw passed).
    p_age_threshold, p_sex_threshold : float or None
        Thresholds checked (None: not checked).
    """

    partitions: tuple[Partition, ...]
    seed: int
    draw_seed: int | list[int]
    n_tries: int
    p_age_threshold: float | None
    p_sex_threshold: float | None


def _draw_until_balanced(frame, make_partitions, *, seed, p_age_threshold, p_sex_threshold, max_tries, source):
    check = p_age_threshold is not None or p_sex_threshold is not None
    age_column = find_column(frame, AGE_COLUMNS)
    sex_column = find_column(frame, SEX_COLUMNS)
    if p_age_threshold is not None and age_column is None:
        raise InputError(
            f"{source} has no age column ({', '.join(AGE_COLUMNS)}; found: {', '.join(map(str, frame.columns))}) "
            "to balance; add it or skip the age check (--ignore_demographics)."
        )
    if p_sex_threshold is not None and sex_column is None:
        raise InputError(
            f"{source} has no sex column (found: {', '.join(map(str, frame.columns))}) to balance; add it or skip "
            "the sex check (--ignore_demographics)."
        )
    if isinstance(max_tries, bool) or not isinstance(max_tries, int) or max_tries < 1:
        raise InputError(f"max_tries={max_tries!r} is not valid; give an integer >= 1.")
    best = (-1.0, None)
    for attempt in range(max_tries if check else 1):
        current_seed = draw_seed(seed, attempt)
        partitions = []
        for train, test in make_partitions(current_seed):
            try:
                balance = demographic_balance(baseline_sessions(train), baseline_sessions(test),
                                              age_column=age_column, sex_column=sex_column, source=source)
            except InputError:
                if check:
                    raise
                balance = DemographicBalance(float("nan"), float("nan"))  # only reported: bad values do not block
            partitions.append(Partition(train, test, balance))
        if not check or all(p.balance.passes(p_age_threshold, p_sex_threshold) for p in partitions):
            return PartitionDraw(tuple(partitions), int(seed), current_seed, attempt + 1,
                                 p_age_threshold, p_sex_threshold)
        worst = min(min(_nan_low(p.balance.p_age), _nan_low(p.balance.p_sex)) for p in partitions)
        if worst > best[0]:
            best = (worst, partitions)
    p_age = ", ".join(f"{p.balance.p_age:.3g}" for p in best[1])
    p_sex = ", ".join(f"{p.balance.p_sex:.3g}" for p in best[1])
    raise InputError(
        f"no split of {source} passed p_age >= {p_age_threshold} and p_sex >= {p_sex_threshold} in {max_tries} draws "
        f"(best draw: p_age {p_age}; p_sex {p_sex}); lower the thresholds, raise --max_tries, or use "
        "--ignore_demographics."
    )


def _nan_low(value: float) -> float:
    return -1.0 if value != value else value


def balanced_split(
    frame: pd.DataFrame, n_test: float, *, label: str | Sequence[str] | None = "diagnosis", seed: int = 0,
    p_age_threshold: float | None = None, p_sex_threshold: float | None = None, max_tries: int = 1000,
    source: object = "the data",
) -> PartitionDraw:
    """:func:`participant_split`, re-drawn until the age and sex p-values reach their thresholds.

    Draw ``t`` (0-based) uses the seed :func:`draw_seed` ``(seed, t)``; the first draw whose age t-test and
    sex chi-square p-values (between the baseline sessions of the two sides) are both at least the
    thresholds is kept. Without thresholds, one draw is made and its p-values are only reported.

    Raises
    ------
    InputError
        A threshold is given but the age or sex column is absent, or no draw passed in ``max_tries``.

    Examples
    --------
    >>> frame = pd.DataFrame({"participant_id": [f"sub-{i}" for i in range(12)], "session_id": "ses-M000",
    ...                       "diagnosis": ["AD"] * 6 + ["CN"] * 6, "sex": ["F", "M"] * 6,
    ...                       "age": [str(60 + 2 * i) for i in range(12)]})
    >>> draw = balanced_split(frame, 4, seed=0, p_age_threshold=0.5, p_sex_threshold=0.5)
    >>> draw.partitions[0].balance.p_age >= 0.5, draw.n_tries >= 1
    (True, True)
    """
    frame = _check_frame(frame, source)
    y = _label_values(frame, label, source)
    resolve_n_test(n_test, int(frame["participant_id"].nunique()), source=source)

    def make(current_seed):
        splitter = StratifiedParticipantSplit(n_test, rng=current_seed)
        for train, test in splitter.split(frame, y, frame["participant_id"]):
            yield frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)

    return _draw_until_balanced(frame, make, seed=seed, p_age_threshold=p_age_threshold,
                                p_sex_threshold=p_sex_threshold, max_tries=max_tries, source=source)


def balanced_kfold(
    frame: pd.DataFrame, n_splits: int, *, label: str | Sequence[str] | None = "diagnosis", seed: int = 0,
    p_age_threshold: float | None = None, p_sex_threshold: float | None = None, max_tries: int = 1000,
    source: object = "the data",
) -> PartitionDraw:
    """:func:`participant_kfold`, re-drawn until every fold's age and sex p-values reach the thresholds.

    See :func:`balanced_split`; every fold (validation versus train) must pass for a draw to be kept.
    """
    frame = _check_frame(frame, source)
    y = _label_values(frame, label, source)
    splitter = StratifiedParticipantKFold(n_splits, shuffle=True, rng=0)
    try:  # validate the class sizes once, up front, naming the data
        splitter.fold_of_participants(frame, y, frame["participant_id"])
    except InputError as error:
        raise InputError(f"{source}: {error}") from None

    def make(current_seed):
        folds = StratifiedParticipantKFold(n_splits, shuffle=True, rng=current_seed)
        for train, test in folds.split(frame, y, frame["participant_id"]):
            yield frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)

    return _draw_until_balanced(frame, make, seed=seed, p_age_threshold=p_age_threshold,
                                p_sex_threshold=p_sex_threshold, max_tries=max_tries, source=source)
