"""The registry of tests comparing two learning procedures: each says whether the design allows it and runs it.

A :class:`ProcedureTest` has ``applicable(design) -> str`` (empty when the test applies, else why not) and
``run(pair) -> (rows, warnings)`` on one :class:`PairInputs` (one metric, procedures A and B). Adding a test is
one entry of :data:`PROCEDURE_TESTS`. Pairwise tests run in the order of the registry; those on paired
differences (``uses_differences``) only on paired replicates. Friedman's test ranks all procedures at once
(:mod:`clinicadl.evaluate.procedure_ranks`): its entry has no pairwise ``run``.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Nadeau C., Bengio Y. (2003). Inference for the generalization error. Machine Learning 52, 239-281.
Bouckaert R. R., Frank E. (2004). Evaluating the replicability of significance tests. PAKDD.
Dietterich T. G. (1998). Neural Computation 10(7). Alpaydin E. (1999). Neural Computation 11(8).
Corani G., Benavoli A. (2015). Machine Learning 100(2-3), 285-304.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from clinicadl.errors import InputError
from clinicadl.evaluate.comparison_design import SCOPE_FOLDS, SCOPE_POPULATION, SHARED_TEST_REASON, ComparisonDesign
from clinicadl.evaluate.results import ResultRow
from clinicadl.stats.crossed_design import CrossedValues
from clinicadl.stats.metrics import higher_is_better

if TYPE_CHECKING:
    from clinicadl.evaluate.compare_procedures import CompareOptions

__all__ = ["NAIVE_WARNING", "PROCEDURE_TESTS", "PairInputs", "ProcedureTest", "run_pair_tests", "verdict"]

NAIVE_WARNING = (
    "The uncorrected resampled t-test ignores the overlap of the training sets of different splits and "
    "rejects a true null hypothesis far more often than its nominal level (Nadeau and Bengio 2003); "
    "it is reported only for comparison with published analyses: do not base a conclusion on it."
)


@dataclass(frozen=True)
class PairInputs:
    """What a pairwise test needs: one metric of procedures A and B.

    Attributes
    ----------
    metric : str
    grid_a, grid_b : numpy.ndarray
        R x S values of every trained model of A and B.
    crossed : (CrossedValues, CrossedValues) or None
        Per-participant values of both procedures on a shared test group (None on validation folds).
    options : CompareOptions
    design : ComparisonDesign
    base : ResultRow
        The columns shared by every row of this pair and metric.
    """

    metric: str
    grid_a: np.ndarray
    grid_b: np.ndarray
    crossed: tuple[CrossedValues, CrossedValues] | None
    options: CompareOptions
    design: ComparisonDesign
    base: ResultRow

    @property
    def differences(self) -> np.ndarray:
        return self.grid_a - self.grid_b

    @property
    def alpha(self) -> float:
        return 1 - self.options.confidence_level


Rows = tuple[list[ResultRow], list[str]]


@dataclass(frozen=True)
class ProcedureTest:
    """One test of the registry.

    Attributes
    ----------
    name : str
        Its name in ``--tests``.
    applicable : callable
        ``applicable(design) -> str``: empty when the design allows the test, else the reason.
    run : callable or None
        ``run(pair) -> (rows, warnings)``; None for a test over all procedures at once (Friedman).
    uses_differences : bool
        Runs on the paired differences A - B of the trained models (paired replicates only).
    """

    name: str
    applicable: Callable[[ComparisonDesign], str]
    run: Callable[[PairInputs], Rows] | None
    uses_differences: bool = True


def verdict(significant: bool, meaningful: bool, b_better: bool) -> str:
    """Words for the decision rule of P(A>B) (Bouthillier et al. 2021)."""
    if meaningful:
        return "significant and meaningful"
    if significant:
        return "significant but not meaningful"
    if b_better:
        return "significant in favour of B"
    return "not significant"


# ------------------------------------------------------------------------------------------ applicability


def _needs_pairs(design: ComparisonDesign) -> str:
    if design.shared_test:
        return SHARED_TEST_REASON
    return "" if design.paired else "the t-tests need paired replicates (inputs compared with --unpaired)"


def _probability_applies(design: ComparisonDesign) -> str:
    if design.n_replicates >= 2:
        return ""
    return f"P(A>B) needs at least 2 replicates of each procedure, found {design.n_replicates}"


def _corrected_applies(design: ComparisonDesign) -> str:
    if _needs_pairs(design):
        return _needs_pairs(design)
    if design.units < 2:
        return f"the t-tests need at least 2 trained models per procedure, found {design.units}"
    if not design.resampled:
        return ("the data split was the same in every replicate (only seeds varied): the corrected "
                "resampled t-tests assume resampled training sets")
    if design.n_splits == 1 and (design.n_train is None or design.n_test is None):
        return "the train/validation sizes are not listed in groups/ of the MAPS"
    return ""


def _naive_applies(design: ComparisonDesign) -> str:
    if _needs_pairs(design):
        return _needs_pairs(design)
    return "" if design.units >= 2 else _corrected_applies(design)


def _five_by_two_applies(design: ComparisonDesign) -> str:
    if _needs_pairs(design) or design.is_5x2:
        return _needs_pairs(design)
    return (f"the 5x2cv tests need 5 replicates of a 2-fold cross-validation with the split re-drawn per replicate "
            f"(train --replicates 5 --n_splits 2); this design is {design.n_replicates} replicate(s) x "
            f"{design.n_splits} split(s)" + ("" if design.split_varied else " with a fixed split"))


def _friedman_applies(design: ComparisonDesign) -> str:
    if design.n_procedures < 3:
        return "Friedman's test compares three procedures or more"
    if not design.paired:
        return "Friedman's test needs paired replicates (blocks)"
    if design.n_replicates < 2:
        return f"Friedman's test needs at least 2 replicates, found {design.n_replicates}"
    return ""


# ------------------------------------------------------------------------------------------------- runs


def _crossed_rows(pair: PairInputs) -> list[ResultRow]:
    """The crossed-design comparison on a shared test group: the difference and P(A>B) in the population."""
    from clinicadl.stats.crossed_inference import compare_values

    options, paired = pair.options, pair.design.paired
    res = compare_values(pair.crossed[0], pair.crossed[1], paired=paired, gamma=options.gamma,
                         n_resamples=options.n_resamples, confidence_level=options.confidence_level,
                         rng=options.seed, higher_is_better=higher_is_better(pair.metric))
    comp = res.components
    difference = pair.base.with_values(
        test="expected difference", estimate=res.difference, ci_low=res.confidence_interval.low,
        ci_high=res.confidence_interval.high, se=res.standard_error,
        method="crossed-design variance of the difference, per-component t (replicate df "
               f"{comp.df_replicate:g}, participant df {comp.df_participant:g})",
        pvalue=res.pvalue, significant=bool(res.pvalue < pair.alpha), scope=SCOPE_POPULATION,
        conclusion=(f"Expected performance A - B = {res.difference:.4g}, {options.confidence_level:.0%} CI "
                    f"[{res.confidence_interval.low:.4g}, {res.confidence_interval.high:.4g}], p = "
                    f"{res.pvalue:.3g} (participant population, replicates and test set accounted for)."),
    )
    b_better = res.p_a_better_interval.high < 0.5
    probability = pair.base.with_values(
        test="P(A>B)", estimate=res.p_a_better, ci_low=res.p_a_better_interval.low,
        ci_high=res.p_a_better_interval.high, se=float(np.std(res.bootstrap_distribution, ddof=1)),
        method=f"bootstrap of {'paired ' if paired else ''}replicates and participants jointly (percentile)",
        n_resamples=res.n_resamples, significant=res.significant, meaningful=res.meaningful,
        gamma=res.gamma, verdict=verdict(res.significant, res.meaningful, b_better),
        conclusion=res.conclusion, scope=SCOPE_POPULATION,
    )
    return [difference, probability]


def _run_probability(pair: PairInputs) -> Rows:
    """P(A>B): crossed design on a shared test group, else a bootstrap over the replicates' mean scores."""
    from clinicadl.stats.probability_better import probability_better

    if pair.crossed is not None:
        return _crossed_rows(pair), []
    options, paired = pair.options, pair.design.paired
    res = probability_better(np.nanmean(pair.grid_a, axis=1), np.nanmean(pair.grid_b, axis=1), gamma=options.gamma,
                             confidence_level=options.confidence_level, n_resamples=options.n_resamples,
                             paired=paired, higher_is_better=higher_is_better(pair.metric), rng=options.seed)
    b_better = res.confidence_interval.high < 0.5
    return [pair.base.with_values(
        test="P(A>B)", estimate=res.estimate, ci_low=res.confidence_interval.low,
        ci_high=res.confidence_interval.high, se=res.standard_error,
        method=f"percentile bootstrap over {'paired ' if paired else ''}replicates", n_resamples=res.n_resamples,
        significant=res.significant, meaningful=res.meaningful, gamma=res.gamma,
        verdict=verdict(res.significant, res.meaningful, b_better), conclusion=res.conclusion, scope=SCOPE_FOLDS,
    )], []


def _t_row(pair: PairInputs, res, name: str) -> ResultRow:
    low, high = res.confidence_interval(pair.options.confidence_level)
    return pair.base.with_values(test=name, estimate=res.mean_difference, ci_low=low, ci_high=high,
                                 se=res.standard_error, method=res.method, statistic=res.statistic,
                                 pvalue=res.pvalue, significant=bool(res.pvalue < pair.alpha))


def _run_corrected(pair: PairInputs) -> Rows:
    from clinicadl.stats.corrected_ttest import corrected_repeated_kfold_ttest, corrected_resampled_ttest

    design = pair.design
    if design.n_splits >= 2:
        res = corrected_repeated_kfold_ttest(pair.differences, n_folds=design.n_splits,
                                             n_repeats=design.n_replicates, n_train=design.n_train,
                                             n_test=design.n_test)
        return [_t_row(pair, res, "corrected repeated k-fold t")], []
    res = corrected_resampled_ttest(pair.differences[:, 0], n_train=design.n_train, n_test=design.n_test)
    return [_t_row(pair, res, "corrected resampled t")], []


def _run_naive(pair: PairInputs) -> Rows:
    from clinicadl.stats.corrected_ttest import naive_resampled_ttest

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        res = naive_resampled_ttest(pair.differences.ravel())
    return [_t_row(pair, res, "UNCORRECTED resampled t (over-rejects)")], [NAIVE_WARNING]


def _run_five_by_two(pair: PairInputs) -> Rows:
    from clinicadl.stats.five_by_two import five_by_two_f, five_by_two_t

    differences = pair.differences
    return [pair.base.with_values(test=name, estimate=float(differences.mean()), ci_low=np.nan, ci_high=np.nan,
                                  method=res.method, statistic=res.statistic, pvalue=res.pvalue,
                                  significant=bool(res.pvalue < pair.alpha))
            for res, name in ((five_by_two_t(differences), "5x2cv t"), (five_by_two_f(differences), "5x2cv F"))], []


def _bayes_words(a_better: float, rope: float, b_better: float, width: float, level: float) -> str:
    probability = {
        "A is practically better": a_better,
        "A and B are practically equivalent": rope,
        "B is practically better": b_better,
    }
    best = max(probability, key=probability.get)
    if probability[best] >= level:
        return f"{best} (posterior probability {probability[best]:.2f}, ROPE +/-{width:g})."
    return (
        f"No decision at {level:.0%}: P(A better) = {a_better:.2f}, P(equivalent, ROPE +/-{width:g}) = "
        f"{rope:.2f}, P(B better) = {b_better:.2f}."
    )


def _run_bayesian(pair: PairInputs) -> Rows:
    from scipy import stats as sps

    from clinicadl.stats.bayesian_ttest import correlated_bayesian_ttest

    design, options = pair.design, pair.options
    rho = design.n_test / (design.n_train + design.n_test) if design.n_train and design.n_test else 1 / design.n_splits
    res = correlated_bayesian_ttest(pair.differences, rho=rho, rope=options.rope)
    level = options.confidence_level
    if res.posterior_scale > 0:
        low, high = sps.t.interval(level, res.df, loc=res.posterior_mean, scale=res.posterior_scale)
    else:
        low = high = res.posterior_mean
    better = higher_is_better(pair.metric)
    a_better, b_better = (res.p_right, res.p_left) if better else (res.p_left, res.p_right)
    return [pair.base.with_values(
        test="Bayesian correlated t", estimate=res.posterior_mean, ci_low=low, ci_high=high,
        se=res.posterior_scale, method=f"posterior, rho = {rho:.3f}", p_left=res.p_left, p_rope=res.p_rope,
        p_right=res.p_right, rope=res.rope,
        conclusion=_bayes_words(a_better, res.p_rope, b_better, options.rope, level),
    )], []


PROCEDURE_TESTS: dict[str, ProcedureTest] = {t.name: t for t in (
    ProcedureTest("probability", _probability_applies, _run_probability, uses_differences=False),
    ProcedureTest("corrected_t", _corrected_applies, _run_corrected),
    ProcedureTest("naive_t", _naive_applies, _run_naive),
    ProcedureTest("5x2cv", _five_by_two_applies, _run_five_by_two),
    ProcedureTest("bayesian", _corrected_applies, _run_bayesian),
    ProcedureTest("friedman", _friedman_applies, None, uses_differences=False),
)}
"""Every test, in the order its rows are written."""


def run_pair_tests(pair: PairInputs, chosen: list[str]) -> Rows:
    """Rows and warnings of the chosen pairwise tests on one pair and metric.

    Raises
    ------
    InputError
        Paired replicates with a model whose metric is undefined (the paired tests need a value for each).
    """
    rows, warns = [], []
    pairwise = [t for t in PROCEDURE_TESTS.values() if t.run is not None]
    for test in (t for t in pairwise if not t.uses_differences and t.name in chosen):
        found, found_warns = test.run(pair)
        rows, warns = rows + found, warns + found_warns
    if not pair.design.paired:
        return rows, warns
    if np.isnan(pair.differences).any():
        raise InputError(f"{pair.metric} is undefined for some trained model: the paired tests need a value for "
                         "each.")
    for test in (t for t in pairwise if t.uses_differences and t.name in chosen):
        found, found_warns = test.run(pair)
        rows, warns = rows + found, warns + found_warns
    return rows, warns
