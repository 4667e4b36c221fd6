"""Paired comparison of two models evaluated on the same participants.

Both models are resampled with the same participant counts, so the bootstrap distribution of the
difference keeps the correlation between the two models' errors (a paired, cluster bootstrap). The
permutation test swaps the two models' predictions participant by participant; for the AUC it swaps
within-model ranks (Venkatraman & Begg 1996), so that two models whose scores live on different
scales can be compared.

References
----------
Efron B., Tibshirani R. J. (1993). An Introduction to the Bootstrap, section 16.4.
Good P. (2005). Permutation, Parametric and Bootstrap Tests of Hypotheses, 3rd ed., section 3.
Field C. A., Welsh A. H. (2007). Bootstrapping clustered data. JRSS B 69(3), 369-390.
Venkatraman E. S., Begg C. B. (1996). A distribution-free procedure for comparing receiver operating
characteristic curves from a paired experiment. Biometrika 83(4), 835-848.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clinicadl.errors import InputError
from clinicadl.stats.bootstrap import _check_options, make_rng, resampling_plan
from clinicadl.stats.intervals import BOOTSTRAP_METHODS, bootstrap_interval, standard_error
from clinicadl.stats.metrics import evaluate_metrics, point_estimates, resolve_metrics
from clinicadl.stats.midranks import midranks
from clinicadl.stats.normal import ndtri
from clinicadl.stats.predictions import Predictions, make_predictions
from clinicadl.stats.resampling import LeaveOneOut, bootstrap_counts, chunk_size, expand
from clinicadl.stats.results import ConfidenceInterval, TestResult


@dataclass(frozen=True)
class PairedBootstrapResult:
    """Bootstrap of the difference of one metric between model A and model B.

    Attributes
    ----------
    metric : str
    estimate_a, estimate_b : float
        The metric of each model on the observed data.
    difference : float
        ``estimate_a - estimate_b``.
    confidence_interval : ConfidenceInterval
        Interval of the difference.
    standard_error : float
        Bootstrap standard error of the difference.
    pvalue : float
        Two-sided bootstrap p-value of "no difference": twice the smaller tail proportion of
        replicates on either side of 0 (with the +1 correction of Davison & Hinkley 1997, eq. 4.11).
    probability_a_better : float
        Proportion of replicates in which A beats B (``difference > 0``; ties count one half).
        Note: for a loss-like metric (MAE, RMSE) a lower value is better and this reads the other way.
    bootstrap_distribution : numpy.ndarray
        Replicates of the difference (NaN where undefined).
    method, confidence_level, n_resamples, n_dropped, unit, n_units, n_rows, seed :
        As in :class:`~clinicadl.stats.BootstrapResult`.
    note : str
        Why the interval is not the bootstrap one: a degenerate bootstrap (every resample gives the same
        difference) replaced by Newcombe's (1998a) paired interval, or "not estimable" and why.
    """

    metric: str
    estimate_a: float
    estimate_b: float
    difference: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    pvalue: float
    probability_a_better: float
    bootstrap_distribution: np.ndarray
    method: str
    confidence_level: float
    n_resamples: int
    n_dropped: int
    unit: str
    n_units: int
    n_rows: int
    seed: int | None
    note: str = ""


def _paired_proportion_interval(a: Predictions, b: Predictions, metric: str, k: int, confidence_level: float):
    """Newcombe's (1998a) paired interval of a difference of accuracies, sensitivities or specificities, or None."""
    from clinicadl.stats.mover import newcombe_paired_difference

    if metric not in ("accuracy", "sensitivity", "specificity") or a.has_clusters:
        return None
    oa, ob = original_arrays(a), original_arrays(b)
    truth = oa["y_true"]
    right_a, right_b = oa["y_pred"] == truth, ob["y_pred"] == truth
    rows = {"accuracy": np.ones(truth.size, dtype=bool), "sensitivity": truth == k, "specificity": truth != k}[metric]
    if metric == "specificity":
        right_a, right_b = oa["y_pred"] != k, ob["y_pred"] != k
    elif metric == "sensitivity":
        right_a, right_b = oa["y_pred"] == k, ob["y_pred"] == k
    if not rows.any():
        return None
    ra, rb = right_a[rows], right_b[rows]
    counts = (np.sum(ra & rb), np.sum(ra & ~rb), np.sum(~ra & rb), np.sum(~ra & ~rb))
    _, low, high = newcombe_paired_difference(*counts, confidence_level=confidence_level)
    return float(low), float(high)


def original_arrays(p: Predictions) -> dict[str, np.ndarray | None]:
    """Arrays of ``p`` back in the order the user gave them."""
    inverse = np.empty_like(p.row_index)
    inverse[p.row_index] = np.arange(p.n_rows)
    return {
        "y_true": p.y_true[inverse] if p.y_true.size else None,
        "y_pred": p.y_pred[inverse],
        "y_score": None if p.y_score is None else p.y_score[inverse],
        "units": p.units[inverse],
    }


def check_paired(a: Predictions, b: Predictions) -> None:
    """Raise InputError unless ``a`` and ``b`` hold the same rows, labels and participants."""
    if a.task != b.task or a.n_rows != b.n_rows or a.n_classes != b.n_classes or a.pos_label != b.pos_label:
        raise InputError(
            f"The two models do not predict the same task on the same images ({a.task}, {a.n_rows} images "
            f"vs {b.task}, {b.n_rows} images)."
        )
    oa, ob = original_arrays(a), original_arrays(b)
    if not np.array_equal(oa["units"], ob["units"]):
        raise InputError("The two models' rows do not belong to the same participants in the same order.")
    if oa["y_true"] is not None and not np.array_equal(oa["y_true"], ob["y_true"]):
        raise InputError("The two models were given different true labels for the same images.")


def _units_of(p: Predictions, unit: str) -> np.ndarray:
    """Unit code of each stored row, consistent across models: participant, or original position."""
    return p.units if unit == "participant" and p.has_clusters else p.row_index


def paired_bootstrap(
    a: Predictions,
    b: Predictions,
    *,
    metrics: Sequence[str] | None = None,
    n_resamples: int = 10_000,
    confidence_level: float = 0.95,
    method: str = "bca",
    unit: str = "participant",
    stratify: bool = False,
    batch: int | None = None,
    rng=None,
) -> tuple[PairedBootstrapResult, ...]:
    """Paired (cluster) bootstrap of the difference of metrics between two models.

    Parameters
    ----------
    a, b : Predictions
        The two models on the same rows (same true labels and participants, same row order).
    metrics, n_resamples, confidence_level, method, unit, stratify, batch, rng :
        As in :func:`clinicadl.stats.bootstrap`.

    Returns
    -------
    tuple of PairedBootstrapResult

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats import make_predictions, paired_bootstrap
    >>> rng = np.random.default_rng(1)
    >>> y = rng.integers(0, 2, 300)
    >>> a = make_predictions(y, 1 / (1 + np.exp(-(2.0 * (2 * y - 1) + rng.normal(size=300)))))
    >>> b = make_predictions(y, 1 / (1 + np.exp(-(1.0 * (2 * y - 1) + rng.normal(size=300)))))
    >>> (res,) = paired_bootstrap(a, b, metrics=["AUC"], n_resamples=2000, rng=0)
    >>> res.difference > 0, res.confidence_interval.low > 0, res.pvalue < 0.05
    (True, True, True)
    """
    _check_options(n_resamples, confidence_level, method, unit)
    if method not in BOOTSTRAP_METHODS:
        raise InputError(f"The difference of two models is bootstrapped: method must be one of {BOOTSTRAP_METHODS}.")
    check_paired(a, b)
    generator, seed = make_rng(rng)
    requests_a, requests_b = resolve_metrics(metrics, a), resolve_metrics(metrics, b)
    plan = resampling_plan(a, unit=unit, stratify=stratify, paired=True)
    units_a, units_b = plan.units, _units_of(b, unit)
    estimate = point_estimates(a, requests_a) - point_estimates(b, requests_b)
    chunks = []
    for counts in bootstrap_counts(plan, n_resamples, generator, batch=batch):
        chunks.append(evaluate_metrics(a, requests_a, expand(counts, units_a))
                      - evaluate_metrics(b, requests_b, expand(counts, units_b)))
    replicates = np.concatenate(chunks, axis=0)
    jack = None
    if method == "bca":
        every_unit = np.arange(plan.n_units)
        jack = (evaluate_metrics(a, requests_a, LeaveOneOut(units_a, plan.n_units, every_unit))
                - evaluate_metrics(b, requests_b, LeaveOneOut(units_b, plan.n_units, every_unit)))
    low, high = bootstrap_interval(method, replicates, estimate, confidence_level, jack)
    valid = ~np.isnan(replicates)
    n_valid = valid.sum(axis=0)
    se = standard_error(replicates)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = (np.sum(replicates <= 0, axis=0) + 1) / (n_valid + 1)
        above = (np.sum(replicates >= 0, axis=0) + 1) / (n_valid + 1)
        better = (np.sum(replicates > 0, axis=0) + np.sum(replicates == 0, axis=0) / 2) / n_valid
    estimates_a, estimates_b = point_estimates(a, requests_a), point_estimates(b, requests_b)
    used, notes = _replace_degenerate(a, b, requests_a, method, estimate, (low, high, se), n_valid, confidence_level)
    return tuple(
        PairedBootstrapResult(
            metric=request.name,
            estimate_a=float(estimates_a[j]),
            estimate_b=float(estimates_b[j]),
            difference=float(estimate[j]),
            confidence_interval=ConfidenceInterval(float(low[j]), float(high[j])),
            standard_error=float(se[j]),
            pvalue=float(min(1.0, 2 * min(below[j], above[j]))),
            probability_a_better=float(better[j]),
            bootstrap_distribution=replicates[:, j].copy(),
            method=used[j],
            confidence_level=float(confidence_level),
            n_resamples=int(n_resamples),
            n_dropped=int(n_resamples - n_valid[j]),
            unit=unit,
            n_units=plan.n_units,
            n_rows=a.n_rows,
            seed=seed,
            note=notes[j],
        )
        for j, request in enumerate(requests_a)
    )


def _replace_degenerate(a: Predictions, b: Predictions, requests, method: str, estimate: np.ndarray,
                        bounds: tuple[np.ndarray, np.ndarray, np.ndarray], n_valid: np.ndarray,
                        confidence_level: float) -> tuple[list[str], list[str]]:
    """Replace, in place in ``bounds = (low, high, se)``, each degenerate bootstrap interval (no spread) by
    Newcombe's paired interval, or by NaN where none applies; returns the method used and the note of each metric."""
    low, high, se = bounds
    used, notes = [method] * len(requests), [""] * len(requests)
    z = ndtri(0.5 + confidence_level / 2)
    for j, request in enumerate(requests):
        if not np.isfinite(estimate[j]) or not (np.isfinite(low[j]) and np.isfinite(high[j])):
            continue
        if high[j] - low[j] > 1e-12 and se[j] > 0:
            continue
        why = f"every one of the {int(n_valid[j])} valid resamples gives a difference of {estimate[j]:.4g}"
        closed = _paired_proportion_interval(a, b, request.metric.name, request.class_code, confidence_level)
        if closed is None:
            notes[j] = f"not estimable: {why}, and no paired closed form applies to {request.name} here"
            low[j] = high[j] = se[j] = np.nan
        else:
            notes[j] = f"{method} interval degenerate ({why}); replaced by Newcombe's paired interval"
            low[j], high[j] = closed
            se[j] = (high[j] - low[j]) / (2 * z)
            used[j] = "newcombe-paired"
    return used, notes


def _rank_scores(arrays: dict, pos_label: int) -> dict:
    """The same arrays with the scores replaced by within-model midranks scaled to (0, 1) (binary)."""
    score = arrays["y_score"][:, pos_label]
    rank = midranks(score) / (score.size + 1)
    ranked = np.empty_like(arrays["y_score"])
    ranked[:, pos_label], ranked[:, 1 - pos_label] = rank, 1.0 - rank
    return {**arrays, "y_score": ranked}


def permutation_test(
    a: Predictions,
    b: Predictions,
    *,
    metric: str,
    n_permutations: int = 10_000,
    unit: str = "participant",
    batch: int | None = None,
    rng=None,
) -> TestResult:
    """Paired permutation test of "A and B perform equally" for any metric.

    Under the null hypothesis the two models' predictions are exchangeable within a participant:
    each permutation swaps them for a random half of the participants. The statistic is the
    difference of the metric (A - B); the p-value is two-sided, ``(1 + #{|d*| >= |d|}) / (1 + P)``.

    For the AUC of a binary task, what is swapped is each model's *within-model rank* of the image
    (its midrank among all images scored by that model, scaled to (0, 1)), not its raw score
    (Venkatraman & Begg 1996). The AUC depends on the ranks only, so the statistic is unchanged, but
    the null hypothesis becomes "the two models rank the images exchangeably", which does not depend
    on how each model scales its scores: swapping raw scores between a model that outputs
    probabilities near 0 and 1 and one whose scores are squeezed into a narrow range tests that the
    *scores* are exchangeable, a null that is false whatever the AUCs, and loses most of the power
    against a difference of AUCs. For a multiclass AUC no such test is offered (InputError): use
    the paired bootstrap.

    The swapped data sets are never built: the two models' rows are stacked once, and a
    permutation is a 0/1 weighting of the stacked rows, fed to the same weighted metrics as the
    bootstrap.

    Parameters
    ----------
    a, b : Predictions
        The two models on the same rows.
    metric : str
    n_permutations : int, default 10000
    unit : {"participant", "image"}
        What is swapped: all rows of a participant together, or single rows.
    batch : int, optional
    rng : int, Generator or None

    Returns
    -------
    TestResult
        ``statistic`` is the observed difference, ``method`` is ``"permutation"``.

    References
    ----------
    Good P. (2005). Permutation, Parametric and Bootstrap Tests of Hypotheses, section 3.
    Venkatraman E. S., Begg C. B. (1996). A distribution-free procedure for comparing receiver operating
    characteristic curves from a paired experiment. Biometrika 83(4), 835-848.
    """
    _check_options(n_permutations, 0.95, "percentile", unit)
    check_paired(a, b)
    if metric.partition("-")[0] == "AUC" and (a.task != "binary" or a.y_score is None):
        raise InputError("The permutation test of an AUC difference swaps within-model ranks, which is "
                         "defined for a binary AUC only; use the paired bootstrap (or DeLong's test).")
    (result,) = _permutations(a, b, [metric], n_permutations, unit, batch, make_rng(rng)[0])
    if result is None:
        raise InputError(f"{metric} is undefined on these data; the permutation test cannot be run.")
    return result


def permutation_tests(
    a: Predictions,
    b: Predictions,
    *,
    metrics: Sequence[str],
    n_permutations: int = 10_000,
    unit: str = "participant",
    batch: int | None = None,
    rng=None,
) -> tuple[TestResult | None, ...]:
    """:func:`permutation_test` of several metrics, sharing the permutations.

    With an integer seed each result is the one :func:`permutation_test` gives for that metric and seed
    (same permutations, same p-value), at the cost of one run for every metric but the AUC (whose
    permutations swap ranks, not scores) instead of one run per metric. None where the test does not apply:
    a multiclass AUC, or a metric undefined on these data.
    """
    _check_options(n_permutations, 0.95, "percentile", unit)
    check_paired(a, b)
    out: dict[str, TestResult | None] = {}
    auc = [m for m in metrics if m.partition("-")[0] == "AUC"]
    others = [m for m in metrics if m not in auc]
    if auc and (a.task != "binary" or a.y_score is None):
        out.update(dict.fromkeys(auc))
        auc = []
    for group in (others, auc):
        if group:
            out.update(zip(group, _permutations(a, b, group, n_permutations, unit, batch, make_rng(rng)[0])))
    return tuple(out[m] for m in metrics)


def _permutations(a: Predictions, b: Predictions, metrics: Sequence[str], n_permutations: int, unit: str,
                  batch: int | None, generator: np.random.Generator) -> list[TestResult | None]:
    """The permutation tests of ``metrics`` (all AUC or none) on the same permutations; None where undefined."""
    oa, ob = original_arrays(a), original_arrays(b)
    if metrics[0].partition("-")[0] == "AUC":
        oa, ob = _rank_scores(oa, a.pos_label), _rank_scores(ob, b.pos_label)
    n = a.n_rows
    units = np.arange(n) if unit == "image" else oa["units"]
    n_units = int(units.max()) + 1

    def stack(key):
        return None if oa[key] is None else np.concatenate([oa[key], ob[key]])

    stacked = make_predictions(
        stack("y_true"),
        stack("y_score") if a.y_score is not None else stack("y_pred"),
        y_pred=stack("y_pred") if a.task in ("binary", "multiclass") else None,
        task=a.task,
        groups=np.concatenate([np.arange(n), np.arange(n) + n]),
        pos_label=a.pos_label,
    )
    requests = resolve_metrics(metrics, stacked)
    position = stacked.row_index  # original stacked position of each stored row

    def difference(swap: np.ndarray) -> np.ndarray:
        first = np.concatenate([1.0 - swap, swap], axis=1)[:, position]
        return evaluate_metrics(stacked, requests, first) - evaluate_metrics(stacked, requests, 1.0 - first)

    observed = difference(np.zeros((1, n)))[0]
    step = batch or chunk_size(2 * n, n_permutations)
    exceed, valid = np.zeros(len(metrics), dtype=np.int64), np.zeros(len(metrics), dtype=np.int64)
    for start in range(0, n_permutations, step):
        size = min(step, n_permutations - start)
        swap = generator.integers(0, 2, size=(size, n_units)).astype(np.float64)[:, units]
        d = difference(swap)
        finite = ~np.isnan(d)
        valid += finite.sum(axis=0)
        with np.errstate(invalid="ignore"):
            exceed += np.sum(finite & (np.abs(d) >= np.abs(observed) - 1e-12), axis=0)
    return [None if np.isnan(observed[j]) else
            TestResult(statistic=float(observed[j]), pvalue=(1 + int(exceed[j])) / (1 + int(valid[j])),
                       method="permutation") for j in range(len(metrics))]
