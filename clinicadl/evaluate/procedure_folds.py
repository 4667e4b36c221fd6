"""A procedure assessed on its validation folds (a cross-validation design): each model tested on its own fold.

The models do not share test participants, so the crossed design does not apply: the expected performance gets
the corrected repeated k-fold t-interval (:mod:`clinicadl.stats.cross_validation_interval`) and the variance
between models the one-way ANOVA components of :mod:`clinicadl.stats.variance_components`.

References
----------
Nadeau C., Bengio Y. (2003). Inference for the generalization error. Machine Learning 52(3), 239-281.
Bouckaert R. R., Frank E. (2004). Evaluating the replicability of significance tests. PAKDD.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinicadl.evaluate.model import EvaluationOptions
from clinicadl.evaluate.procedure_inputs import Procedure
from clinicadl.evaluate.procedure_models import unit_values
from clinicadl.evaluate.results import ResultRow, results_frame
from clinicadl.stats.cross_validation_interval import cross_validation_interval
from clinicadl.stats.metrics import higher_is_better
from clinicadl.stats.variance_components import variance_components

__all__ = ["COMPONENTS", "CV_METHOD", "NESTED_CV_NOTE", "cross_validation_performance", "variance_table"]

CV_METHOD = "corrected repeated k-fold t"
"""Interval of the expected performance on validation folds (Nadeau & Bengio 2003; Bouckaert & Frank 2004)."""

NESTED_CV_NOTE = (
    "The nested-CV interval of Bates et al. (2023) needs, for every repetition, a model trained without each pair "
    "of folds (K(K-1)/2 more trainings); this MAPS holds the K models of each repetition only. For learners that "
    "can be refit (e.g. on extracted features), clinicadl.stats.nested_cv computes it (docs/procedures.md)."
)

CORRECTED_NOTE = (
    "On the validation folds, the interval is the corrected repeated k-fold t-interval (Nadeau & Bengio 2003; "
    "Bouckaert & Frank 2004); the naive t-interval over the fold scores, given beside it (naive_ci_low, "
    "naive_ci_high), ignores the overlap of the training sets and is too narrow. Fold scores also served to select "
    "the models (best-<metric>): a test group gives an unbiased estimate."
)

COMPONENTS = ("test_sampling", "split", "seed", "split_and_seed", "total")
"""Variance components of the validation-fold design."""


def _mean_size(sizes: list[int | None]) -> float | None:
    known = [s for s in sizes if s]
    return float(np.mean(known)) if known and len(known) == len(sizes) else None


def _fold_sizes(procedure: Procedure) -> tuple[float, float, list[str]] | None:
    """(n_train, n_test, notes) of the correction; None when neither the sizes nor a K-fold ratio are known."""
    n_train = _mean_size([m.n_train for m in procedure.models])
    n_test = _mean_size([m.n_validation for m in procedure.models])
    if n_train is not None and n_test is not None:
        return n_train, n_test, []
    if procedure.n_splits < 2:
        return None
    ratio = 1.0 / (procedure.n_splits - 1)
    return procedure.n_splits - 1, 1, [f"groups/ does not list the train/validation sizes: n_test / n_train = 1 / "
                                       f"(K - 1) = {ratio:.3g}."]


def cross_validation_performance(procedure: Procedure, table: pd.DataFrame, options: EvaluationOptions
                                 ) -> tuple[pd.DataFrame, list[str]]:
    """Expected performance from the validation folds: corrected repeated k-fold t-interval per metric.

    ``n_train`` and ``n_test`` are the participants of ``groups/train`` and ``groups/validation`` (mean over the
    models), or the K-fold ratio ``1 / (K - 1)`` when the MAPS does not list them. The naive interval
    ``s / sqrt(J)`` is given beside it (``naive_ci_low``, ``naive_ci_high``) to show how much it under-states the
    uncertainty.
    """
    rows, notes = [], [NESTED_CV_NOTE]
    sizes = _fold_sizes(procedure)
    if sizes is None:
        return pd.DataFrame(rows), ["The train/validation sizes are not listed in groups/ of the MAPS and there "
                                    "is one split: no corrected interval on the validation folds."]
    n_train, n_test, size_notes = sizes
    notes += size_notes
    scored = pd.concat([m.predictions.frame[["participant_id", "session_id"]] for m in procedure.models])
    n_subjects, n_images = int(scored["participant_id"].nunique()), len(scored.drop_duplicates())
    for metric in dict.fromkeys(table["metric"]):
        values, _ = unit_values(table, metric, procedure)
        values = values[np.isfinite(values)]
        if values.size < 2:
            notes.append(f"{metric}: fewer than two folds with a value: no corrected interval.")
            continue
        res = cross_validation_interval(values, n_train=n_train, n_test=n_test,
                                        confidence_level=options.confidence_level)
        rows.append(ResultRow(
            metric=metric, estimate=res.estimate, ci_low=res.confidence_interval.low,
            ci_high=res.confidence_interval.high, se=res.standard_error, method=CV_METHOD,
            confidence=options.confidence_level, n_resamples=0, n_subjects=n_subjects, n_images=n_images,
            seed=options.seed,
            extra={"n_replicates": procedure.n_replicates, "n_splits": procedure.n_splits,
                   "n_folds_scored": res.n_scores, "test_train_ratio": res.test_train_ratio,
                   "naive_ci_low": res.naive_interval.low, "naive_ci_high": res.naive_interval.high,
                   "higher_is_better": higher_is_better(metric), "procedure": str(procedure.path),
                   "data_group": procedure.data_group, "selection_metric": procedure.selection_metric,
                   "two_level_estimate": np.nan},
        ))
    notes.append(CORRECTED_NOTE)
    return results_frame(rows), notes


def variance_table(procedure: Procedure, table: pd.DataFrame, options: EvaluationOptions
                   ) -> tuple[pd.DataFrame, list[str]]:
    """Variance components of every metric (empty when there is a single model)."""
    rows, notes = [], {}
    if len(procedure.models) < 2:
        return pd.DataFrame(rows), ["One trained model only: no variance between models to decompose."]
    partitions = procedure.partition_ids()
    first = ResultRow(metric="", confidence=options.confidence_level, n_subjects=int(table["n_subjects"].iloc[0]),
                      n_images=int(table["n_images"].iloc[0]), seed=options.seed)
    for metric in dict.fromkeys(table["metric"]):
        values, variances = unit_values(table, metric, procedure)
        keep = np.isfinite(values) & np.isfinite(variances)
        if keep.sum() < 2:
            continue
        result = variance_components(values[keep], partitions[keep], variances[keep],
                                     confidence_level=options.confidence_level, n_resamples=options.n_resamples,
                                     rng=options.seed)
        if result.note:
            notes.setdefault(result.note, []).append(metric)
        for component in COMPONENTS:
            estimate = float(getattr(result, component))
            low, high = result.intervals[component]
            rows.append(first.with_values(
                metric=metric, estimate=estimate, ci_low=low, ci_high=high, se=np.nan,
                method=f"ANOVA components, bootstrap over {result.resampling_unit}s", n_resamples=result.n_resamples,
                component=component, fraction=estimate / result.total if result.total > 0 else np.nan,
                sd=float(np.sqrt(max(estimate, 0.0))), n_replicates=result.n_replicates, n_splits=result.n_splits,
                procedure=str(procedure.path), data_group=procedure.data_group))
    return results_frame(rows), [f"Variance components of {', '.join(m)}: {n}" for n, m in notes.items()]
