"""``tsvtools split --multi-diagnoses``: the split whose sides differ least on EVERY column, not only age and sex.

ClinicaDL 1.x draws many splits and keeps the one whose smallest two-sample p-value over the columns is largest.
Here each draw is a participant-level, stratified split (:func:`~clinicadl.data.splitting.participant_split`) with
the seeds :func:`~clinicadl.data.splitting.draw_seed` ``(seed, t)``, compared on the baseline sessions of the two
sides: numeric columns with the two-sample Kolmogorov-Smirnov test, categorical columns (at most
``MAX_LEVELS`` values) with Pearson's chi-square test of the side x level table. Columns that are identifiers,
stratification labels, free text or constant are skipped.
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


def _values(frame: pd.DataFrame, column: str) -> pd.Series:
    text = frame[column].astype(str).str.strip()
    return text[~text.str.lower().isin(MISSING_VALUES)]


def _p_value(train: pd.Series, test: pd.Series) -> float | None:
    """KS p-value (numeric columns), chi-square p-value (categorical ones), None when not comparable."""
    from scipy import stats

    if len(train) < 2 or len(test) < 2:
        return None
    numeric_train, numeric_test = pd.to_numeric(train, errors="coerce"), pd.to_numeric(test, errors="coerce")
    if not (numeric_train.isna().any() or numeric_test.isna().any()):
        return float(stats.ks_2samp(numeric_train.to_numpy(float), numeric_test.to_numpy(float)).pvalue)
    levels = sorted(set(train) | set(test))
    if len(levels) < 2 or len(levels) > MAX_LEVELS:
        return None
    table = np.array([[int((side == level).sum()) for level in levels] for side in (train, test)])
    table = table[:, table.sum(axis=0) > 0]
    return float(stats.chi2_contingency(table, correction=False)[1])


def covariate_balance(train: pd.DataFrame, test: pd.DataFrame, *, skip: Sequence[str] = ()) -> CovariateBalance:
    """The smallest p-value over the columns of ``train`` and ``test`` (one row per participant), and its column."""
    best = CovariateBalance(1.0, None)
    for column in train.columns:
        if column in ID_COLUMNS or column in skip:
            continue
        p_value = _p_value(_values(train, column), _values(test, column))
        if p_value is not None and p_value < best.p_min:
            best = CovariateBalance(p_value, column)
    return best


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
    best = None
    for attempt in range(n_draws):
        current = draw_seed(seed, attempt)
        train, test = participant_split(frame, n_test, label=list(label), seed=current, source=source)
        balance = covariate_balance(baseline_sessions(train), baseline_sessions(test), skip=label)
        if best is None or balance.p_min > best[0].p_min:
            best = (balance, train, test, current, attempt + 1)
        if balance.p_min >= 1.0:
            break
    balance, train, test, current, n_tries = best
    partition = Partition(train, test, _demographics(baseline_sessions(train), baseline_sessions(test), source))
    return PartitionDraw((partition,), int(seed), current, n_tries, None, None), balance
