"""Expected performance and variance components of a procedure on a test group shared by all its models.

Every trained model of the procedure (replicate ``r``, split ``s``) scored the same test participants: the
design is crossed, and :mod:`clinicadl.stats.crossed_inference` gives, per metric, the interval of the expected
performance and the replicate, participant and interaction variance components. This module turns a
:class:`~clinicadl.evaluate.procedure_inputs.Procedure` into its arrays and the results into table rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinicadl.errors import InputError
from clinicadl.evaluate.inputs import to_predictions
from clinicadl.evaluate.model import EvaluationOptions
from clinicadl.evaluate.procedure_inputs import Procedure
from clinicadl.evaluate.results import ResultRow, results_frame
from clinicadl.stats.crossed_design import COMPONENT_NAMES, CrossedValues, values_from_predictions
from clinicadl.stats.crossed_inference import ExpectedPerformance, interval_from_values
from clinicadl.stats.metrics import MEDIAN_SUFFIX, metric_bounds

WHAT_IT_IS = (
    "The interval of the expected performance is a confidence interval for a fixed number: the mean performance of "
    "this learning procedure over re-runs (new splits of the SAME development sample, new seeds) and over test sets "
    "of this size drawn from the participant population. It accounts for the replicates, for the test-set sampling "
    "shared by every model and for their interaction (crossed design). It is conditional on the development data "
    "set: it does not say what another cohort, scanner or development sample would give, nor where one new trained "
    "model will fall (models vary: see the replicate component)."
)


def _stat_of(procedure: Procedure, metric: str) -> tuple[str, str | None, tuple[float, float] | None]:
    """(registry metric, per-image column or None, bounds) of a metric name of the models table."""
    predictions = procedure.models[0].predictions
    if predictions.task != "per_image":
        return metric, None, None
    column = metric.removesuffix(MEDIAN_SUFFIX)
    stat = "median" if metric.endswith(MEDIAN_SUFFIX) else "mean"
    return stat, column, metric_bounds(column, per_image=True)


def crossed_inputs(procedure: Procedure, metric: str, laid_out: dict | None = None
                   ) -> tuple[CrossedValues, tuple[float, float] | None]:
    """Values and pseudo-values of every model of ``procedure`` for ``metric``, splits averaged per replicate.

    ``laid_out`` (a dict the caller keeps across metrics) holds the models' validated predictions per value column,
    so that they are built once for all metrics rather than once per metric.
    """
    stat, column, bounds = _stat_of(procedure, metric)
    laid_out = {} if laid_out is None else laid_out
    if column not in laid_out:
        laid_out[column] = [to_predictions(m.predictions, column) for m in procedure.models]
    models = laid_out[column]
    participants = np.unique(procedure.models[0].predictions.frame["participant_id"].to_numpy())
    values = values_from_predictions(models, metric=stat, replicates=[m.replicate for m in procedure.models],
                                     participants=participants)
    return CrossedValues(metric, values.values, values.pseudo, values.strata, values.participants), bounds


def crossed_results(procedure: Procedure, metrics, options: EvaluationOptions
                    ) -> tuple[dict[str, tuple[ExpectedPerformance, CrossedValues]], list[str]]:
    """The crossed-design result of every metric that is defined for every model and participant."""
    results, notes, laid_out = {}, [], {}
    for metric in metrics:
        try:
            values, bounds = crossed_inputs(procedure, metric, laid_out)
            results[metric] = (interval_from_values(values, confidence_level=options.confidence_level,
                                                    bounds=bounds), values)
        except InputError as error:
            notes.append(f"{metric}: no expected performance ({error})")
    return results, notes


def _replicate_label(procedure: Procedure) -> str:
    return "split + seeds" if procedure.split_varied else "seeds (one data split)"


def expected_rows(procedure: Procedure, results, options: EvaluationOptions, base: ResultRow) -> pd.DataFrame:
    """One row per metric: the interval of the expected performance (FORMATS.md columns plus the crossed ones)."""
    rows = []
    for metric, (res, _) in results.items():
        comp = res.components
        rows.append(base.with_values(
            metric=metric, estimate=res.estimate, ci_low=res.confidence_interval.low,
            ci_high=res.confidence_interval.high, se=res.standard_error,
            method=res.method if res.estimable else f"not estimable: {res.reason}",
            estimable=res.estimable, reason=res.reason,
            conditional_ci_low=res.conditional_interval.low, conditional_ci_high=res.conditional_interval.high,
            replicate_variance=comp.replicate, participant_variance=comp.participant,
            interaction_variance=comp.interaction, df_replicate=comp.df_replicate,
            df_participant=comp.df_participant, scale=res.scale, n_resamples=0,
            n_replicates=res.n_replicates, two_level_estimate=np.nan,
        ))
    return results_frame(rows)


def component_rows(procedure: Procedure, results, options: EvaluationOptions, base: ResultRow) -> pd.DataFrame:
    """Replicate, participant and interaction components per metric, with their shares of one model's variance."""
    rows = []
    for metric, (res, _) in results.items():
        comp = res.components
        if comp.n_replicates < 2:
            continue
        estimates = {"replicate": comp.replicate, "participant": comp.participant, "interaction": comp.interaction,
                     "one_model": comp.one_model}
        total = sum(max(estimates[k], 0.0) for k in ("replicate", "participant", "interaction"))
        for name in COMPONENT_NAMES:
            estimate = float(estimates[name])
            low, high = np.nan, np.nan  # see COMPONENT_INTERVALS_NOTE
            share = max(estimate, 0.0) / total if name != "one_model" and total > 0 else (1.0 if total > 0 else np.nan)
            rows.append(base.with_values(
                metric=metric, component=name, estimate=estimate, ci_low=low, ci_high=high,
                se=np.nan, sd=float(np.sqrt(max(estimate, 0.0))), fraction=share,
                method="crossed-design ANOVA on jackknife pseudo-values (no interval: not validated)",
                n_resamples=0, n_replicates=comp.n_replicates,
                replicate_sources=_replicate_label(procedure),
            ))
    return results_frame(rows)


COMPONENT_INTERVALS_NOTE = (
    "The variance components are printed without intervals: the modified large-sample intervals (Graybill & Wang "
    "1980) covered 0.30-0.97 in the validation (docs/validation.md), so no interval is given rather than one that "
    "under-covers; the estimates themselves are unbiased within a few percent at 50 participants or more."
)

COMPONENT_CAPTION = (
    "Variance of ONE trained model's value on a test set of this size, split into: replicate (the procedure's "
    "randomness: {replicate}), participant (test-set sampling shared by every model: the same participants are "
    "easy or hard for all of them) and interaction (a participant easy for one model, hard for another). Shares are "
    "shares of that variance (negative estimates counted as 0). The expected performance is uncertain by "
    "replicate / R + participant + interaction / R."
)

__all__ = ["COMPONENT_CAPTION", "COMPONENT_INTERVALS_NOTE", "WHAT_IT_IS", "component_rows", "crossed_inputs",
           "crossed_results", "expected_rows"]
