"""``tsvtools split --multi-diagnoses``: the split whose sides differ least on EVERY column, not only age and sex.

ClinicaDL 1.x draws many splits and keeps the one whose smallest two-sample p-value over the columns is largest.
Here each draw is a participant-level, stratified split (:func:`~clinicadl.data.splitting.participant_split`) with
the seeds :func:`~clinicadl.data.splitting.draw_seed` ``(seed, t)``, compared on the baseline sessions of the two
sides: numeric columns with the two-sample Kolmogorov-Smirnov test, categorical columns (at most
``MAX_LEVELS`` values, fewer than the rows) with Pearson's chi-square test of the side x level table. Columns that
are identifiers, stratification labels, free text (a value per row) or constant are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clinicadl.data.demographics import DemographicBalance, demographic_balance
from clinicadl.data.labels import AGE_COLUMNS, ID_COLUMNS, MISSING_VALUES, SEX_COLUMNS, baseline_sessions, find_column
from clinicadl.data.splitting import Partition, PartitionDraw, draw_seed, participant_split
from clinicadl.errors import InputError

__all__ = ["CovariateBalance", "covariate_balance", "most_balanced_split"]

MAX_LEVELS = 20
"""Most distinct values of a categorical column compared by the chi-square test."""


@dataclass(frozen=True)
class CovariateBalance:
    """The least balanced column of a split.

    Attributes
    ----------
    p_min : float
        Smallest p-value over the columns compared (1.0 when no column could be compared).
    column : str or None
        The column that gave it.
    """

    p_min: float
    column: str | None


@dataclass(frozen=True, eq=False)
class _Column:
    """One comparable column of the baseline sessions: numbers (NaN: missing) or category codes (-1: missing)."""

    name: str
    numeric: bool
    values: np.ndarray


def _columns(baseline: pd.DataFrame, skip: Sequence[str]) -> list[_Column]:
    """The columns of ``baseline`` that can be compared (module docstring), parsed once."""
    columns = []
    for name in baseline.columns:
        if name in ID_COLUMNS or name in skip:
            continue
        text = baseline[name].astype(str).str.strip()
        missing = text.str.lower().isin(MISSING_VALUES).to_numpy()
        numbers = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(float)
        if not np.isnan(numbers[~missing]).any():
            columns.append(_Column(name, True, numbers))
            continue
        levels = sorted(set(text[~missing]))
        if 2 <= len(levels) <= MAX_LEVELS and len(levels) < int((~missing).sum()):  # not one value per row
            codes = np.where(missing, -1, pd.Categorical(text, categories=levels).codes)
            columns.append(_Column(name, False, codes))
    return columns


def _p_value(column: _Column, test: np.ndarray) -> float | None:
    """KS p-value (numbers), chi-square p-value (categories) between the rows out of / in ``test``; None when a side
    has fewer than 2 values or a single category is present."""
    from scipy import stats

    present = ~np.isnan(column.values) if column.numeric else column.values >= 0
    a, b = column.values[present & ~test], column.values[present & test]
    if len(a) < 2 or len(b) < 2:
        return None
    if column.numeric:
        return float(stats.ks_2samp(a, b).pvalue)
    size = int(column.values.max()) + 1
    table = np.stack([np.bincount(a, minlength=size), np.bincount(b, minlength=size)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return None
    return float(stats.chi2_contingency(table, correction=False)[1])


def _balance(columns: list[_Column], test: np.ndarray) -> CovariateBalance:
    best = CovariateBalance(1.0, None)
    for column in columns:
        p_value = _p_value(column, test)
        if p_value is not None and p_value < best.p_min:
            best = CovariateBalance(p_value, column.name)
    return best


def covariate_balance(train: pd.DataFrame, test: pd.DataFrame, *, skip: Sequence[str] = ()) -> CovariateBalance:
    """The smallest p-value over the columns of ``train`` and ``test`` (one row per participant), and its column."""
    both = pd.concat([train, test], ignore_index=True)
    in_test = np.arange(len(both)) >= len(train)
    return _balance(_columns(both, skip), in_test)


def _demographics(train: pd.DataFrame, test: pd.DataFrame, source: object) -> DemographicBalance:
    try:
        return demographic_balance(train, test, age_column=find_column(train, AGE_COLUMNS),
                                   sex_column=find_column(train, SEX_COLUMNS), source=source)
    except InputError:
        return DemographicBalance(float("nan"), float("nan"))


def most_balanced_split(frame: pd.DataFrame, n_test: float, *, label: Sequence[str] = ("diagnosis",), seed: int = 0,
                        n_draws: int = 1000, source: object = "the data") -> tuple[PartitionDraw, CovariateBalance]:
    """Of ``n_draws`` seeded splits, the one whose least balanced column is most balanced (module docstring).

    Returns
    -------
    (PartitionDraw, CovariateBalance)
        The split kept (``n_tries`` is the index + 1 of that draw, ``draw_seed`` its seed) and its balance. Ties
        keep the first draw, so the result depends only on the data, ``seed`` and ``n_draws``.
    """
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise InputError(f"the number of draws must be an integer >= 1; got {n_draws!r}.")
    baseline = baseline_sessions(frame).reset_index(drop=True)
    columns = _columns(baseline, label)
    best = None
    for attempt in range(n_draws):
        current = draw_seed(seed, attempt)
        train, test = participant_split(frame, n_test, label=list(label), seed=current, source=source)
        balance = _balance(columns, baseline["participant_id"].isin(set(test["participant_id"])).to_numpy())
        if best is None or balance.p_min > best[0].p_min:
            best = (balance, train, test, current, attempt + 1)
        if balance.p_min >= 1.0:
            break
    balance, train, test, current, n_tries = best
    partition = Partition(train, test, _demographics(baseline_sessions(train), baseline_sessions(test), source))
    return PartitionDraw((partition,), int(seed), current, n_tries, None, None), balance
