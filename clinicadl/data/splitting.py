"""Participant-level, stratified, seeded splits of sessions.

Two splitters follow scikit-learn's cross-validator protocol (``split(X, y, groups)`` yields
``(train_index, test_index)`` arrays of ROW positions, ``get_n_splits``), so they work inside
``sklearn.model_selection`` tools (``cross_val_score(..., cv=splitter, groups=participants)``):

- :class:`StratifiedParticipantSplit`: one train/test split with ``n_test`` participants on the test side;
- :class:`StratifiedParticipantKFold`: ``n_splits`` folds that partition the participants.

All the sessions (rows) of a participant land on the same side. Participants are stratified on their
label, the label of their baseline session (the first in sorted order when ``X`` is a DataFrame with a
``session_id`` column, else their first row). Class counts per side stay within one participant of the
proportional share (largest-remainder allocation, see the Notes of each class).

Frame-level functions return the partitions of a participant TSV for a seed:
:func:`participant_split`, :func:`participant_kfold`, and their demographically checked forms
:func:`balanced_split` and :func:`balanced_kfold`, which re-draw with the next seed of a deterministic
sequence until the age/sex p-values pass thresholds. Training replicates that vary the ``split`` source
re-draw the train/validation partition of the training pool with ``participant_kfold(pool, k, seed=s)``.

Randomness comes only from ``numpy.random.default_rng(random_state)``: no global state. Given the same
seed, the partition depends only on the set of (participant, label) pairs, not on the row order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clinicadl.data.demographics import DemographicBalance, demographic_balance
from clinicadl.data.labels import AGE_COLUMNS, SEX_COLUMNS, baseline_sessions, find_column, natural_key, sort_sessions
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

RandomState = int | Sequence[int] | np.random.SeedSequence | None


def draw_seed(seed: int, attempt: int) -> int | list[int]:
    """Seed of the ``attempt``-th draw (0-based) of a demographically checked split.

    Attempt 0 uses ``seed`` itself (so a split that passes at once equals the unchecked split of the same
    seed); attempt ``t > 0`` uses ``[seed, t]``, a distinct :class:`numpy.random.SeedSequence` entropy, so
    the draws of different seeds never coincide.
    """
    return int(seed) if attempt == 0 else [int(seed), int(attempt)]


def allocate_largest_remainder(counts: Sequence[int], total: int, rng: np.random.Generator) -> np.ndarray:
    """Split ``total`` among classes of sizes ``counts`` proportionally, by the largest-remainder rule.

    Class ``k`` receives ``floor(total * c_k / N)`` or that plus one (``N = sum(counts)``): the
    ``total - sum(floors)`` extra units go to the classes with the largest remainders
    ``(total * c_k) mod N`` (exact integers), ties broken at random by ``rng``. Each share is therefore
    within one unit of its proportional share ``total * c_k / N`` and never exceeds ``c_k``.

    Examples
    --------
    >>> allocate_largest_remainder([8, 8], 4, np.random.default_rng(0)).tolist()
    [2, 2]
    >>> allocate_largest_remainder([10, 5, 1], 4, np.random.default_rng(0)).tolist()
    [3, 1, 0]
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    if not 0 <= total <= n:
        raise InputError(f"cannot allocate {total} among {n} participants; choose 0 <= total <= {n}.")
    if n == 0:
        return np.zeros(len(counts), dtype=np.int64)
    floors = (total * counts) // n
    remainders = (total * counts) % n
    ties = rng.random(len(counts))
    extra = total - int(floors.sum())
    order = np.lexsort((ties, -remainders))  # largest remainder first, random among equal remainders
    shares = floors.copy()
    shares[order[:extra]] += 1
    return shares


def resolve_n_test(n_test: float, n_participants: int, *, source: object = "the data") -> int:
    """Number of test participants for ``n_test``: an integer count (>= 1) or a fraction in (0, 1).

    A fraction gives ``floor(n_test * n_participants)`` participants, as upstream.

    Raises
    ------
    InputError
        If ``n_test`` is not a positive count or fraction, is not an integer when >= 1, gives no participant,
        or leaves no participant for training.
    """
    if isinstance(n_test, bool) or not isinstance(n_test, int | float | np.integer | np.floating) or \
            not math.isfinite(n_test) or n_test <= 0:
        raise InputError(f"n_test={n_test!r} is not valid; give a number of participants (>= 1) or a fraction < 1.")
    if n_test < 1:
        count = math.floor(n_test * n_participants + 1e-9)  # 0.29 * 100 is 28.999...: count 29
        if count < 1:
            raise InputError(
                f"n_test={n_test} of the {n_participants} participants of {source} is less than one participant; "
                "give a larger fraction or a count."
            )
    else:
        if float(n_test) != int(n_test):
            raise InputError(f"n_test={n_test} is not a whole number of participants; give a count or a fraction < 1.")
        count = int(n_test)
    if count >= n_participants:
        raise InputError(
            f"n_test={n_test} asks for {count} test participants but {source} has only {n_participants}; "
            f"give fewer than {n_participants} (or a fraction < 1)."
        )
    return count


# ----------------------------------------------------------------------------------------------------------------
# scikit-learn-style splitters


def _num_rows(X) -> int:
    if hasattr(X, "shape") and len(getattr(X, "shape", ())) > 0:
        return int(X.shape[0])
    return len(X)


def _participants(X, y, groups) -> tuple[list, np.ndarray, list, np.ndarray]:
    """(participants sorted, row -> participant position, participant labels, labels as class codes).

    Raises InputError for inconsistent lengths.
    """
    n_rows = _num_rows(X)
    if groups is None:
        groups = np.arange(n_rows)
    groups = np.asarray(groups, dtype=object)
    if len(groups) != n_rows:
        raise InputError(f"groups has {len(groups)} values for {n_rows} rows; give one participant per row.")
    if y is not None:
        y = np.asarray(y, dtype=object)
        if len(y) != n_rows:
            raise InputError(f"y has {len(y)} values for {n_rows} rows; give one label per row.")
        if y.ndim != 1:
            raise InputError("y must be one label per row (1-d); stratification on several columns is not supported.")
    participants = sorted(set(groups.tolist()), key=natural_key)
    position = {participant: index for index, participant in enumerate(participants)}
    row_participant = np.fromiter((position[g] for g in groups.tolist()), dtype=np.int64, count=n_rows)
    # the row that carries each participant's label: its baseline session, else its first row
    first_row = np.full(len(participants), -1, dtype=np.int64)
    sessions = X["session_id"].tolist() if isinstance(X, pd.DataFrame) and "session_id" in X.columns else None
    for row, participant in enumerate(row_participant):
        current = first_row[participant]
        if current < 0:
            first_row[participant] = row
        elif sessions is not None and natural_key(sessions[row]) < natural_key(sessions[current]):
            first_row[participant] = row
    if y is None:
        labels = [None] * len(participants)
        codes = np.zeros(len(participants), dtype=np.int64)
    else:
        labels = [y[row] for row in first_row]
        classes = sorted(set(labels), key=lambda value: (str(type(value)), natural_key(value)))
        class_code = {label: code for code, label in enumerate(classes)}
        codes = np.array([class_code[label] for label in labels], dtype=np.int64)
    return participants, row_participant, labels, codes


def _rows(row_participant: np.ndarray, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    chosen = selected[row_participant]
    return np.flatnonzero(~chosen), np.flatnonzero(chosen)


def _check_random_state(random_state: RandomState) -> None:
    if isinstance(random_state, np.random.Generator | np.random.RandomState):
        raise InputError(
            "random_state must be an int, a sequence of ints or a numpy SeedSequence (a Generator would make "
            "repeated calls differ); pass a seed."
        )


class StratifiedParticipantSplit:
    """One train/test split of participants, stratified on the participants' labels.

    Parameters
    ----------
    n_test : int or float
        Test participants: a count (>= 1) or a fraction in (0, 1) of the participants (rounded down).
    random_state : int, sequence of int, numpy.random.SeedSequence or None
        Seed of ``numpy.random.default_rng``; None draws fresh entropy at each call (not reproducible).

    Notes
    -----
    With ``N`` participants of which ``c_k`` have label ``k`` and ``n`` test participants, the test side
    receives ``t_k = floor(n c_k / N)`` or ``t_k + 1`` participants of class ``k`` by the largest-remainder
    rule (:func:`allocate_largest_remainder`), so ``|t_k - n c_k / N| < 1`` and, on the train side,
    ``|(c_k - t_k) - (N - n) c_k / N| < 1``: each side's class counts are within one participant of the
    proportional share. Within a class, the test participants are a uniform random subset.

    Examples
    --------
    >>> import numpy as np
    >>> groups = np.array(["sub-0", "sub-0", "sub-1", "sub-2", "sub-3", "sub-3"])
    >>> y = np.array(["AD", "AD", "AD", "CN", "CN", "CN"])
    >>> train, test = next(StratifiedParticipantSplit(2, random_state=0).split(groups, y, groups))
    >>> groups[test].tolist(), y[test].tolist()
    (['sub-1', 'sub-2'], ['AD', 'CN'])
    """

    def __init__(self, n_test: float, *, random_state: RandomState = None):
        self.n_test = n_test
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of splits: 1."""
        return 1

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield one ``(train_index, test_index)`` pair of row positions.

        Parameters
        ----------
        X : array-like or pandas.DataFrame
            Rows (sessions); only its length is used, and its ``session_id`` column if it is a DataFrame.
        y : array-like, optional
            Label of each row; None splits without stratification.
        groups : array-like, optional
            Participant of each row; None makes each row its own participant.
        """
        _check_random_state(self.random_state)
        participants, row_participant, _, codes = _participants(X, y, groups)
        n_test = resolve_n_test(self.n_test, len(participants), source="the data")
        rng = np.random.default_rng(self.random_state)
        counts = np.bincount(codes, minlength=int(codes.max()) + 1 if len(codes) else 0)
        shares = allocate_largest_remainder(counts, n_test, rng)
        selected = np.zeros(len(participants), dtype=bool)
        for code, share in enumerate(shares):
            members = np.flatnonzero(codes == code)
            selected[rng.permutation(members)[:share]] = True
        yield _rows(row_participant, selected)


class StratifiedParticipantKFold:
    """K folds of participants, stratified on the participants' labels; the folds partition the participants.

    Parameters
    ----------
    n_splits : int, default 5
        Number of folds (>= 2).
    shuffle : bool, default True
        Shuffle the participants of each class before dealing them into folds; without shuffling they are
        dealt in sorted order of their identifiers.
    random_state : int, sequence of int, numpy.random.SeedSequence or None
        Seed of ``numpy.random.default_rng`` (with ``shuffle``); None draws fresh entropy at each call.

    Notes
    -----
    A class of ``c_k`` participants puts ``floor(c_k / K)`` or ``ceil(c_k / K)`` of them in each fold, so
    every validation fold, and every training side (``c_k`` minus that), is within one participant of its
    proportional share. The extra participants of successive classes (``c_k mod K``) go to successive folds
    (round robin from a random first fold), so fold sizes differ by at most one participant.

    Raises
    ------
    InputError
        From :meth:`split`, if a class has fewer participants than ``n_splits``.

    Examples
    --------
    >>> import numpy as np
    >>> groups = np.repeat([f"sub-{i}" for i in range(6)], 2)
    >>> y = np.repeat(["AD", "AD", "AD", "CN", "CN", "CN"], 2)
    >>> folds = list(StratifiedParticipantKFold(3, random_state=0).split(groups, y, groups))
    >>> [sorted(set(y[test].tolist())) for _, test in folds]
    [['AD', 'CN'], ['AD', 'CN'], ['AD', 'CN']]
    """

    def __init__(self, n_splits: int = 5, *, shuffle: bool = True, random_state: RandomState = None):
        if isinstance(n_splits, bool) or not isinstance(n_splits, int | np.integer) or n_splits < 2:
            raise InputError(f"n_splits={n_splits!r} is not valid; give an integer >= 2.")
        if not shuffle and random_state is not None:
            raise InputError("random_state has no effect without shuffle; pass shuffle=True or leave random_state.")
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of folds."""
        return self.n_splits

    def fold_of_participants(self, X, y=None, groups=None) -> tuple[list, np.ndarray, list]:
        """(participants sorted, fold of each participant, label of each participant)."""
        _check_random_state(self.random_state)
        participants, _, labels, codes = _participants(X, y, groups)
        return participants, self._assign(codes, labels), labels

    def _assign(self, codes: np.ndarray, labels: list) -> np.ndarray:
        k = self.n_splits
        n_classes = int(codes.max()) + 1 if len(codes) else 0
        counts = np.bincount(codes, minlength=n_classes)
        for code, count in enumerate(counts):
            if count < k:
                label = labels[int(np.flatnonzero(codes == code)[0])]
                what = "the data" if label is None else f"class {label}"
                raise InputError(
                    f"{what} has {count} participant(s), fewer than n_splits={k}; every fold needs one: "
                    f"lower n_splits to at most {count} or add participants."
                )
        rng = np.random.default_rng(self.random_state) if self.shuffle else None
        next_fold = int(rng.integers(k)) if rng is not None else 0
        fold = np.empty(len(codes), dtype=np.int64)
        for code, count in enumerate(counts):
            members = np.flatnonzero(codes == code)
            if rng is not None:
                members = rng.permutation(members)
            sizes = np.full(k, count // k, dtype=np.int64)
            for _ in range(count % k):
                sizes[next_fold] += 1
                next_fold = (next_fold + 1) % k
            fold[members] = np.repeat(np.arange(k), sizes)
        return fold

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_index, test_index)`` row positions for each fold; see
        :meth:`StratifiedParticipantSplit.split` for the arguments."""
        _check_random_state(self.random_state)
        _, row_participant, labels, codes = _participants(X, y, groups)
        fold = self._assign(codes, labels)
        for index in range(self.n_splits):
            yield _rows(row_participant, fold == index)


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
    train, test = next(StratifiedParticipantSplit(n_test, random_state=seed).split(frame, y, frame["participant_id"]))
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
    splitter = StratifiedParticipantKFold(n_splits, shuffle=True, random_state=seed)
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
        splitter = StratifiedParticipantSplit(n_test, random_state=current_seed)
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
    splitter = StratifiedParticipantKFold(n_splits, shuffle=True, random_state=0)
    try:  # validate the class sizes once, up front, naming the data
        splitter.fold_of_participants(frame, y, frame["participant_id"])
    except InputError as error:
        raise InputError(f"{source}: {error}") from None

    def make(current_seed):
        folds = StratifiedParticipantKFold(n_splits, shuffle=True, random_state=current_seed)
        for train, test in folds.split(frame, y, frame["participant_id"]):
            yield frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)

    return _draw_until_balanced(frame, make, seed=seed, p_age_threshold=p_age_threshold,
                                p_sex_threshold=p_sex_threshold, max_tries=max_tries, source=source)
