"""Participant-level, stratified splitters of sessions, with scikit-learn's cross-validator protocol.

``split(X, y, groups)`` yields ``(train_index, test_index)`` arrays of ROW positions and ``get_n_splits`` counts
them, so the splitters work inside ``sklearn.model_selection`` tools
(``cross_val_score(..., cv=splitter, groups=participants)``):

- :class:`StratifiedParticipantSplit`: one train/test split with ``n_test`` participants on the test side;
- :class:`StratifiedParticipantKFold`: ``n_splits`` folds that partition the participants.

All the sessions (rows) of a participant land on the same side. Participants are stratified on their
label, the label of their baseline session (the first in sorted order when ``X`` is a DataFrame with a
``session_id`` column, else their first row). Class counts per side stay within one participant of the
proportional share (largest-remainder allocation, see the Notes of each class). Randomness comes only from
``numpy.random.default_rng(rng)``: no global state.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from clinicadl.data.labels import natural_key
from clinicadl.errors import InputError

__all__ = [
    "RandomState",
    "StratifiedParticipantKFold",
    "StratifiedParticipantSplit",
    "allocate_largest_remainder",
    "resolve_n_test",
]

RandomState = int | Sequence[int] | np.random.SeedSequence | None
"""A seed of ``numpy.random.default_rng`` that gives the same draws at every call (not a Generator)."""


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


def _check_rng(rng: RandomState) -> None:
    if isinstance(rng, np.random.Generator | np.random.RandomState):
        raise InputError(
            "rng must be an int, a sequence of ints or a numpy SeedSequence (a Generator would make "
            "repeated calls differ); pass a seed."
        )


class StratifiedParticipantSplit:
    """One train/test split of participants, stratified on the participants' labels.

    Parameters
    ----------
    n_test : int or float
        Test participants: a count (>= 1) or a fraction in (0, 1) of the participants (rounded down).
    rng : int, sequence of int, numpy.random.SeedSequence or None
        Seed of ``numpy.random.default_rng``; None draws fresh entropy at each call (not reproducible). Not a
        Generator: its state would advance, and two calls of :meth:`split` would differ.

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
    >>> train, test = next(StratifiedParticipantSplit(2, rng=0).split(groups, y, groups))
    >>> groups[test].tolist(), y[test].tolist()
    (['sub-1', 'sub-2'], ['AD', 'CN'])
    """

    def __init__(self, n_test: float, *, rng: RandomState = None):
        self.n_test = n_test
        self.rng = rng

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
        _check_rng(self.rng)
        participants, row_participant, _, codes = _participants(X, y, groups)
        n_test = resolve_n_test(self.n_test, len(participants), source="the data")
        generator = np.random.default_rng(self.rng)
        counts = np.bincount(codes, minlength=int(codes.max()) + 1 if len(codes) else 0)
        shares = allocate_largest_remainder(counts, n_test, generator)
        selected = np.zeros(len(participants), dtype=bool)
        for code, share in enumerate(shares):
            members = np.flatnonzero(codes == code)
            selected[generator.permutation(members)[:share]] = True
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
    rng : int, sequence of int, numpy.random.SeedSequence or None
        Seed of ``numpy.random.default_rng`` (with ``shuffle``); None draws fresh entropy at each call. Not a
        Generator, as in :class:`StratifiedParticipantSplit`.

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
    >>> folds = list(StratifiedParticipantKFold(3, rng=0).split(groups, y, groups))
    >>> [sorted(set(y[test].tolist())) for _, test in folds]
    [['AD', 'CN'], ['AD', 'CN'], ['AD', 'CN']]
    """

    def __init__(self, n_splits: int = 5, *, shuffle: bool = True, rng: RandomState = None):
        if isinstance(n_splits, bool) or not isinstance(n_splits, int | np.integer) or n_splits < 2:
            raise InputError(f"n_splits={n_splits!r} is not valid; give an integer >= 2.")
        if not shuffle and rng is not None:
            raise InputError("rng has no effect without shuffle; pass shuffle=True or leave rng.")
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.rng = rng

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of folds."""
        return self.n_splits

    def fold_of_participants(self, X, y=None, groups=None) -> tuple[list, np.ndarray, list]:
        """(participants sorted, fold of each participant, label of each participant)."""
        _check_rng(self.rng)
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
        generator = np.random.default_rng(self.rng) if self.shuffle else None
        next_fold = int(generator.integers(k)) if generator is not None else 0
        fold = np.empty(len(codes), dtype=np.int64)
        for code, count in enumerate(counts):
            members = np.flatnonzero(codes == code)
            if generator is not None:
                members = generator.permutation(members)
            sizes = np.full(k, count // k, dtype=np.int64)
            for _ in range(count % k):
                sizes[next_fold] += 1
                next_fold = (next_fold + 1) % k
            fold[members] = np.repeat(np.arange(k), sizes)
        return fold

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_index, test_index)`` row positions for each fold; see
        :meth:`StratifiedParticipantSplit.split` for the arguments."""
        _check_rng(self.rng)
        _, row_participant, labels, codes = _participants(X, y, groups)
        fold = self._assign(codes, labels)
        for index in range(self.n_splits):
            yield _rows(row_participant, fold == index)
