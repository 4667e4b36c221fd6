"""``clinicadl evaluate plan``: how many replicates, how many test participants?

Two questions to answer before training:

1. How many paired replicates does a comparison of two procedures need to detect ``P(A>B) = gamma``?
   Noether's (1987) formula, e.g. 35 for gamma = 0.75 at one-sided alpha = 0.025 (the level at which
   ``evaluate compare`` decides with its default 95 % interval) and beta = 0.05; 29 at one-sided 0.05.
2. How many test participants does an interval of a given width need? From the variance of one
   participant's contribution, or from the standard errors measured on a pilot MAPS
   (``n = n_pilot (2 z SE_pilot / width)^2``).

References
----------
Noether G. E. (1987). Sample size determination for some common nonparametric tests. JASA 82(398), 645-647.
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clinicadl.errors import InputError
from clinicadl.evaluate.display import format_number, render_table
from clinicadl.evaluate.model import EvaluationOptions
from clinicadl.evaluate.procedure_inputs import load_procedure
from clinicadl.evaluate.procedure_models import model_table

__all__ = ["ParticipantPlan", "format_plan", "plan_participants", "plan_replicates"]


def plan_replicates(gamma: float = 0.75, *, alpha: float = 0.025, beta: float = 0.05):
    """Paired replicates needed to detect ``P(A>B) = gamma`` (Noether 1987).

    ``alpha`` is one-sided; its default 0.025 is the level of the decision that ``evaluate compare``
    makes with its default two-sided 95 % interval (:func:`format_plan` also prints the number at 0.05).

    Returns
    -------
    clinicadl.stats.sample_size.NoetherSampleSize
        ``n`` (the integer to use), ``exact``, ``gamma``, ``alpha`` (one-sided), ``beta``.

    Examples
    --------
    >>> plan_replicates(0.75).n
    35
    >>> plan_replicates(0.75, alpha=0.05).n
    29
    """
    from clinicadl.stats.sample_size import noether_sample_size

    return noether_sample_size(gamma, alpha=alpha, beta=beta)


@dataclass(frozen=True)
class ParticipantPlan:
    """Test participants needed per metric.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per metric: ``metric``, ``n`` (participants to use), ``exact``, ``width``,
        ``confidence_level``, ``unit_variance``, ``standard_error`` and ``n_pilot`` (from the pilot, NaN when
        the variance was given), ``n_models`` (pilot models averaged).
    source : str
        Where the variance came from.
    """

    table: pd.DataFrame
    source: str


def plan_participants(
    width: float,
    *,
    pilot: str | Path | None = None,
    data_group: str | None = None,
    metrics: Sequence[str] = (),
    selection_metric: str = "loss",
    metric_variance: float | None = None,
    standard_error: float | None = None,
    n_pilot: int | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> ParticipantPlan:
    """Test participants for the interval of a metric to have a full width ``width``.

    Give the variance of one participant's contribution (``metric_variance``; ``p (1 - p)`` for an accuracy
    ``p``), or a pilot standard error with its number of participants, or a pilot MAPS (with or without
    replicates) and its test group: every pilot model is evaluated (:func:`assess_model`) and the mean of
    their squared standard errors is used, per metric.

    Notes
    -----
    The width concerns the test-set sampling only: the interval of a procedure's expected performance also
    holds the variance between replicates, which more participants do not reduce (``evaluate procedure``
    shows how large it is).
    """
    from clinicadl.stats.sample_size import participants_for_width

    given = sum(x is not None for x in (pilot, metric_variance, standard_error))
    if given != 1:
        raise InputError("Give one of: a pilot MAPS (--pilot with its DATA_GROUP), --metric_variance, or "
                         "--standard_error with --n_pilot.")
    rows = []
    if pilot is not None:
        if data_group is None:
            raise InputError("A pilot MAPS needs the data group its models were tested on (--data_group).")
        procedure = load_procedure(pilot, data_group, selection_metric=selection_metric)
        options = EvaluationOptions(metrics=tuple(metrics), n_resamples=n_resamples,
                                    confidence_level=confidence_level, seed=seed)
        table = model_table(procedure, options)
        for metric, frame in table.groupby("metric", sort=False):
            se = float(np.sqrt(np.nanmean(frame["se"].to_numpy(float) ** 2)))
            n = int(frame["n_subjects"].iloc[0])
            if not np.isfinite(se) or se <= 0:
                continue
            result = participants_for_width(width, standard_error=se, n_pilot=n, confidence_level=confidence_level)
            rows.append(_row(metric, result, se, n, len(frame)))
        source = f"pilot {procedure.path} ({len(procedure.models)} models on {data_group!r})"
    elif metric_variance is not None:
        result = participants_for_width(width, metric_variance=metric_variance, confidence_level=confidence_level)
        rows.append(_row(metrics[0] if metrics else "metric", result, np.nan, np.nan, 0))
        source = f"given variance of one participant's contribution {metric_variance:g}"
    else:
        if n_pilot is None:
            raise InputError("--standard_error needs --n_pilot, the number of participants it was measured on.")
        result = participants_for_width(width, standard_error=standard_error, n_pilot=n_pilot,
                                        confidence_level=confidence_level)
        rows.append(_row(metrics[0] if metrics else "metric", result, standard_error, n_pilot, 0))
        source = f"given standard error {standard_error:g} on {n_pilot} participants"
    return ParticipantPlan(pd.DataFrame(rows), source)


def _row(metric, result, se, n_pilot, n_models) -> dict:
    return {"metric": metric, "n": result.n, "exact": result.exact, "width": result.width,
            "confidence_level": result.confidence_level, "unit_variance": result.unit_variance,
            "standard_error": se, "n_pilot": n_pilot, "n_models": n_models}


def format_plan(replicates=None, participants: ParticipantPlan | None = None) -> str:
    """Readable plan."""
    lines = []
    if replicates is not None:
        lines += [
            f"Paired replicates to compare two procedures: {replicates.n} (exact {replicates.exact:.2f}; Noether 1987)",
            f"  to detect P(A>B) = {replicates.gamma:g} with a one-sided test at alpha = {replicates.alpha:g} and "
            f"power {1 - replicates.beta:.0%}.",
            f"  Train both with the same --root_seed and --replicates {replicates.n} so that they are paired; "
            f"`evaluate compare` with --confidence_level {1 - 2 * replicates.alpha:g} reads its one-sided "
            f"alpha = {replicates.alpha:g}.",
        ]
        if replicates.alpha != 0.025:
            lines.append("  Note: `evaluate compare` decides by default with a 95% interval, i.e. a one-sided "
                         f"alpha of 0.025; pass --confidence_level {1 - 2 * replicates.alpha:g} to it, or the "
                         "comparison has less power than planned.")
        else:
            from clinicadl.stats.sample_size import noether_sample_size

            other = noether_sample_size(replicates.gamma, alpha=0.05, beta=replicates.beta, paired=replicates.paired)
            lines.append(f"  At one-sided alpha = 0.05 (Bouthillier et al. 2021) it would be {other.n}, to be read "
                         "with `evaluate compare --confidence_level 0.9`.")
    if participants is not None:
        table = participants.table
        level = round(float(table["confidence_level"].iloc[0]) * 100) if len(table) else 95
        if len(table):
            title = (f"Test participants for a {level}% interval of full width {table['width'].iloc[0]:g} "
                     f"(from the {participants.source}):")
        else:
            title = "No metric with a standard error in the pilot."
        lines += ["", title]
        if len(table):
            lines.append(render_table(["metric", "participants", "exact", "pilot SE", "pilot participants"],
                                 [[r.metric, str(r.n), f"{r.exact:.1f}", format_number(r.standard_error),
                                   "" if not np.isfinite(r.n_pilot) else str(int(r.n_pilot))]
                                  for r in table.itertuples()]))
            lines.append("This width is that of the test-set sampling only; the variance between replicates adds "
                         "to it in the interval of a procedure (see `clinicadl evaluate procedure`).")
    return "\n".join(lines).strip("\n")
