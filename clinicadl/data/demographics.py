"""Demographics of participant groups: the age/sex balance between the two sides of a split, and the
demographics table of ``tsvtools analysis``.

Both work on one row per participant (its baseline session, see :func:`clinicadl.data.labels.baseline_sessions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from clinicadl.data.labels import AGE_COLUMNS, MISSING_VALUES, SEX_COLUMNS, find_column, natural_key
from clinicadl.errors import InputError

__all__ = [
    "ANALYSIS_COLUMNS",
    "DemographicBalance",
    "age_ttest_pvalue",
    "demographic_balance",
    "demographics_table",
    "numeric_column",
    "sex_chi2_pvalue",
    "sex_codes",
]

ANALYSIS_COLUMNS = (
    "n_subjects", "mean_age", "std_age", "min_age", "max_age", "sexF", "sexM",
    "mean_MMSE", "std_MMSE", "min_MMSE", "max_MMSE", "CDR_0", "CDR_0.5", "CDR_1", "CDR_2", "CDR_3",
    "mean_scans", "std_scans", "n_scans",
)
"""Columns of the ``tsvtools analysis`` table after ``group``, in upstream's order."""

MMSE_COLUMNS = ("MMSE", "MMS", "mmse", "mms")
CDR_COLUMNS = ("cdr_global", "CDR", "cdr")


@dataclass(frozen=True)
class DemographicBalance:
    """Balance of age and sex between two groups of participants.

    Attributes
    ----------
    p_age : float
        Two-sided p-value of Student's two-sample t-test (pooled variance) on the ages; 1.0 when every age
        is equal; NaN when it cannot be computed (no age column, fewer than 3 ages, an empty side).
    p_sex : float
        p-value of Pearson's chi-square test (no continuity correction) of the 2x2 table side x sex; 1.0
        when one sex only is present; NaN when it cannot be computed (no sex column, a side without sex).
    """

    p_age: float
    p_sex: float

    def passes(self, p_age_threshold: float | None, p_sex_threshold: float | None) -> bool:
        """Whether both p-values reach their thresholds (a threshold of None is not checked; NaN fails)."""
        age_ok = p_age_threshold is None or self.p_age >= p_age_threshold
        sex_ok = p_sex_threshold is None or self.p_sex >= p_sex_threshold
        return bool(age_ok and sex_ok)


def numeric_column(frame: pd.DataFrame, column: str, *, source: object = "the table") -> np.ndarray:
    """Values of ``column`` as floats, missing cells (``""``, ``n/a``, ``NaN``...) as NaN.

    Raises
    ------
    InputError
        If a cell is neither a number nor a missing value (the message names the column and the value).
    """
    values = np.full(len(frame), np.nan)
    for index, cell in enumerate(frame[column].tolist()):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)):
            continue
        text = str(cell).strip()
        if text.lower() in MISSING_VALUES:
            continue
        try:
            values[index] = float(text)
        except ValueError:
            raise InputError(
                f"{source}: column {column} holds {text!r}, not a number; fix the value or leave the cell empty."
            ) from None
    return values


def sex_codes(frame: pd.DataFrame, column: str, *, source: object = "the table") -> np.ndarray:
    """Sex as 0 (F), 1 (M) or -1 (missing); accepts F/M, female/male in any case.

    Raises
    ------
    InputError
        If a value is neither F, M nor missing.
    """
    codes = np.full(len(frame), -1, dtype=np.int64)
    for index, cell in enumerate(frame[column].tolist()):
        text = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell).strip().lower()
        if text in ("f", "female"):
            codes[index] = 0
        elif text in ("m", "male"):
            codes[index] = 1
        elif text not in MISSING_VALUES:
            raise InputError(f"{source}: column {column} holds {cell!r}; sex must be F or M (or empty if unknown).")
    return codes


def age_ttest_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of Student's t-test with pooled variance between ages ``a`` and ``b`` (NaN ignored).

    Written in closed form so that a side of one participant is allowed (the pooled variance then comes
    from the other side); equals :func:`scipy.stats.ttest_ind` wherever that is defined.

    Examples
    --------
    >>> round(age_ttest_pvalue(np.array([70., 72., 75.]), np.array([60., 65., 62., 64.])), 4)
    0.003
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return float("nan")
    both = np.concatenate([a, b])
    if np.all(both == both[0]):
        return 1.0
    dof = n1 + n2 - 2
    if dof < 1:
        return float("nan")
    pooled = (np.sum((a - a.mean()) ** 2) + np.sum((b - b.mean()) ** 2)) / dof
    difference = a.mean() - b.mean()
    if pooled == 0:
        return 1.0 if difference == 0 else 0.0
    t = difference / np.sqrt(pooled * (1 / n1 + 1 / n2))
    return float(2 * stats.t.sf(abs(t), dof))


def sex_chi2_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """p-value of Pearson's chi-square test (1 degree of freedom, no continuity correction) of sex by side.

    ``a`` and ``b`` hold sex codes (0 = F, 1 = M, -1 = missing, ignored).

    Examples
    --------
    >>> round(sex_chi2_pvalue(np.array([0, 0, 0, 1]), np.array([1, 1, 1, 0])), 4)
    0.1573
    """
    table = np.array([[np.sum(np.asarray(side) == code) for code in (0, 1)] for side in (a, b)], dtype=float)
    columns = table.sum(axis=0)
    rows = table.sum(axis=1)
    if np.count_nonzero(columns) < 2:
        return 1.0 if columns.sum() > 0 else float("nan")
    if np.any(rows == 0):
        return float("nan")
    expected = np.outer(rows, columns) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return float(stats.chi2.sf(statistic, 1))


def demographic_balance(
    train: pd.DataFrame, test: pd.DataFrame, *, age_column: str | None, sex_column: str | None, source: object = ""
) -> DemographicBalance:
    """Age and sex balance between two groups of participants (one row per participant).

    A column of None (absent from the data) gives a NaN p-value.
    """
    p_age = float("nan")
    if age_column is not None:
        p_age = age_ttest_pvalue(numeric_column(train, age_column, source=source),
                                 numeric_column(test, age_column, source=source))
    p_sex = float("nan")
    if sex_column is not None:
        p_sex = sex_chi2_pvalue(sex_codes(train, sex_column, source=source),
                                sex_codes(test, sex_column, source=source))
    return DemographicBalance(p_age, p_sex)


def demographics_table(
    sessions: pd.DataFrame, *, diagnoses: Sequence[str] | None = None, source: object = ""
) -> pd.DataFrame:
    """Demographics per diagnosis, in upstream's ``tsvtools analysis`` layout.

    Parameters
    ----------
    sessions : pandas.DataFrame
        One row per session, sorted by participant then session, with ``participant_id``, ``session_id``,
        ``diagnosis`` and, when known, the age (``age``/``age_bl``), ``sex``, MMSE (``MMSE``/``MMS``) and
        global CDR (``cdr_global``) of the session.
    diagnoses : sequence of str, optional
        Rows of the table, in this order; default: every diagnosis present, sorted.

    Returns
    -------
    pandas.DataFrame
        Column ``group`` (the diagnosis) then :data:`ANALYSIS_COLUMNS`. Participants are counted under the
        diagnosis of their baseline (first) session; age, MMSE and CDR are those of the baseline session;
        standard deviations are sample standard deviations (``ddof=1``; upstream divides by n); values that
        cannot be computed are NaN.
    """
    baseline = sessions[~sessions["participant_id"].duplicated(keep="first")]
    scans = sessions.groupby("participant_id", sort=False).size()
    age_column = find_column(sessions, AGE_COLUMNS)
    sex_column = find_column(sessions, SEX_COLUMNS)
    mmse_column = find_column(sessions, MMSE_COLUMNS)
    cdr_column = find_column(sessions, CDR_COLUMNS)
    if diagnoses is None:
        diagnoses = sorted(set(baseline["diagnosis"]), key=natural_key)
    rows = []
    for diagnosis in diagnoses:
        group = baseline[baseline["diagnosis"] == diagnosis]
        age = numeric_column(group, age_column, source=source) if age_column else np.full(len(group), np.nan)
        mmse = numeric_column(group, mmse_column, source=source) if mmse_column else np.full(len(group), np.nan)
        cdr = numeric_column(group, cdr_column, source=source) if cdr_column else np.full(len(group), np.nan)
        sex = sex_codes(group, sex_column, source=source) if sex_column else np.full(len(group), -1)
        n_scans = scans.loc[group["participant_id"]].to_numpy(dtype=float) if len(group) else np.array([])
        row = {"group": diagnosis, "n_subjects": len(group)}
        row.update(_describe("age", age))
        row.update(sexF=int(np.sum(sex == 0)), sexM=int(np.sum(sex == 1)))
        row.update(_describe("MMSE", mmse))
        for value, name in ((0, "CDR_0"), (0.5, "CDR_0.5"), (1, "CDR_1"), (2, "CDR_2"), (3, "CDR_3")):
            row[name] = int(np.sum(cdr == value))
        row["mean_scans"] = _mean(n_scans)
        row["std_scans"] = _std(n_scans)
        row["n_scans"] = int(n_scans.sum())
        rows.append(row)
    return pd.DataFrame(rows, columns=["group", *ANALYSIS_COLUMNS])


def _mean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else float("nan")


def _std(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.std(ddof=1)) if len(values) > 1 else float("nan")


def _describe(name: str, values: np.ndarray) -> dict[str, float]:
    present = values[~np.isnan(values)]
    return {
        f"mean_{name}": _mean(values),
        f"std_{name}": _std(values),
        f"min_{name}": float(present.min()) if len(present) else float("nan"),
        f"max_{name}": float(present.max()) if len(present) else float("nan"),
    }
