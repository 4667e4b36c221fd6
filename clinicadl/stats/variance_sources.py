"""How much each source of variance moves a result: the statistics of a variance study.

A variance study (``clinicadl train --study sources``) trains, for each source ``s`` (``split``, ``init``, ``order``,
``augmentation``, ``dropout``, ``hpo``), R models that differ only by ``s`` (every other source at the reference
draw), plus R models that differ by all of them, and scores every model on one shared test set. The standard
deviation of the R scores of source ``s`` is what Bouthillier et al. (2021, Figure 1) call the variance due to
``s``: how far the result of one training moves when only ``s`` is re-drawn, on this test set. The test-set
sampling variance (their "data sampling") comes from each model's participant bootstrap instead.

With the split re-drawn per replicate, the split and the seeds are confounded. A nested design (S splits, K seed
draws per split) separates them by the one-way random-effects ANOVA: the within-split mean square estimates the
seed variance, ``(MS_between - MS_within) / K`` the split variance.

The cheap estimators of Bouthillier et al. are then judged with these variances, assuming the sources add up
(checked by comparing the sum of the per-source variances with the variance of the models that vary all of them):
the mean of ``k`` models with every source fixed but ``Init`` (``FixHOptEst(k, Init)``) keeps the other sources'
draw, ``Var = total - init + init / k``; varying every source but the hyper-parameters (``FixHOptEst(k, All)``)
keeps the hyper-parameter draw, ``Var = hpo + (total - hpo) / k``; ``IdealEst(k)`` re-draws everything,
``Var = total / k``.

References
----------
Bouthillier X., Delaunay P., Bronzi M., et al. (2021). Accounting for variance in machine learning benchmarks.
MLSys 3, 747-769 (sections 2-4; Figure 1 and the estimators IdealEst and FixHOptEst).
Searle S. R., Casella G., McCulloch C. E. (1992). Variance Components. Wiley, section 3.5 (balanced one-way model).
Graybill F. A., Wang C.-M. (1980). Confidence intervals on nonnegative linear combinations of variances. JASA 75,
869-873; Burdick R. K., Graybill F. A. (1992). Confidence Intervals on Variance Components, section 3.4.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from clinicadl.errors import InputError
from clinicadl.stats.crossed_design import excess_kurtosis, kurtosis_df, mls_interval

SOURCES = ("split", "init", "order", "augmentation", "dropout", "hpo")
"""Named sources of variance (DESIGN.md, "Sources of variance and seeds")."""

ALL = "all"
"""Name of the design in which every studied source is re-drawn."""


@dataclass(frozen=True)
class SourceSD:
    """Standard deviation of one model's score due to one source, with its confidence interval.

    Attributes
    ----------
    source : str
        Source name, ``"all"`` for every studied source at once, or ``"seed"`` (every seed, within a split).
    sd : float
        Estimated standard deviation (the square root of the unbiased variance, truncated at 0).
    low, high : float
        Confidence interval of the standard deviation.
    variance : float
        Unbiased variance estimate (may be negative for a split component: then ``sd`` is 0).
    df : float
        Degrees of freedom of the estimate.
    n_models : int
        Models behind it.
    confidence_level : float
    method : str
        How the interval was built.
    """

    source: str
    sd: float
    low: float
    high: float
    variance: float
    df: float
    n_models: int
    confidence_level: float
    method: str


def _check_level(confidence_level: float) -> None:
    if not 0.0 < confidence_level < 1.0:
        raise InputError(f"confidence_level={confidence_level!r} must lie strictly between 0 and 1.")


def _chi2_sd(variance: float, df: float, confidence_level: float) -> tuple[float, float]:
    alpha = 1.0 - confidence_level
    low = df * variance / sps.chi2.isf(alpha / 2, df)
    high = df * variance / sps.chi2.ppf(alpha / 2, df)
    return float(np.sqrt(low)), float(np.sqrt(high))


def max_sd(bounds: tuple[float, float] | None) -> float:
    """Largest standard deviation of a value in ``bounds``: half the range (Popoviciu 1935); inf when unbounded."""
    return np.inf if bounds is None else (bounds[1] - bounds[0]) / 2.0


def source_sd(values, *, source: str, confidence_level: float = 0.95,
              bounds: tuple[float, float] | None = None) -> SourceSD:
    """Standard deviation of the scores of R models that differ only by ``source``, on one test set.

    Parameters
    ----------
    values : array_like of shape (R,)
        One score per model (finite), R >= 2.
    source : str
        The source re-drawn between these models (``"all"`` when every studied source was).
    confidence_level : float, default 0.95
    bounds : (float, float), optional
        Range of the score (a bounded metric): the upper bound of the interval is at most half of it.

    Returns
    -------
    SourceSD
        The sample standard deviation with the chi-square interval on ``R - 1`` degrees of freedom, fewer when the
        scores are heavy-tailed (:func:`clinicadl.stats.crossed_design.kurtosis_df`); Bouthillier et al. (2021)
        report the standard deviation over such seeds.
    """
    _check_level(confidence_level)
    y = np.asarray(values, dtype=float).ravel()
    if y.size < 2 or not np.all(np.isfinite(y)):
        raise InputError(f"source {source!r}: need at least 2 finite scores, got {y.size} ({y.tolist()[:5]}...).")
    variance = float(y.var(ddof=1))
    df = float(kurtosis_df(y))
    low, high = _chi2_sd(variance, df, confidence_level)
    high = min(high, max_sd(bounds))
    return SourceSD(source, float(np.sqrt(variance)), low, high, variance, df, int(y.size), confidence_level,
                    f"chi-square interval on {df:.3g} df (kurtosis-corrected)")


@dataclass(frozen=True)
class SplitSeedSD:
    """The split and seed standard deviations separated by a nested design (S splits x K seed draws).

    Attributes
    ----------
    split : SourceSD
        Between-split standard deviation (modified large-sample interval of Graybill & Wang 1980).
    seed : SourceSD
        Within-split standard deviation (every seeded source re-drawn; chi-square on ``S (K - 1)`` df).
    n_splits, n_seeds : int
    """

    split: SourceSD
    seed: SourceSD
    n_splits: int
    n_seeds: int


def _within_df(residuals: np.ndarray, df: float) -> float:
    """Degrees of freedom of a pooled within-group variance, corrected for the kurtosis of the residuals.

    ``Var(MS_within) = sigma^4 (2 / df + kappa / N)`` for ``N`` residuals of excess kurtosis ``kappa``: Satterthwaite's
    moment matching as in :func:`clinicadl.stats.crossed_design.kurtosis_df`, with the same ``kappa`` estimate
    (Joanes & Gill's G2, floored at 0).
    """
    flat = residuals.ravel()
    kappa = float(excess_kurtosis(flat))
    return float(min(2.0 / (2.0 / df + kappa / flat.size), df))


def split_seed_sd(values, *, confidence_level: float = 0.95, bounds: tuple[float, float] | None = None
                  ) -> SplitSeedSD:
    """Separate the split and seed components from a balanced nested design.

    Parameters
    ----------
    values : array_like of shape (S, K)
        Score of the model trained on split ``s`` with seed draw ``k``; S >= 2 splits, K >= 2 draws each.
    confidence_level : float, default 0.95
    bounds : (float, float), optional
        Range of the score: upper bounds of the intervals at most half of it.

    Returns
    -------
    SplitSeedSD
    """
    _check_level(confidence_level)
    y = np.asarray(values, dtype=float)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 2 or not np.all(np.isfinite(y)):
        raise InputError(f"a nested split x seed design needs an (S, K) table of finite scores with S, K >= 2; "
                         f"got shape {y.shape}.")
    s, k = y.shape
    means = y.mean(axis=1)
    ms_between = k * float(means.var(ddof=1))
    ms_within = float(((y - means[:, None]) ** 2).sum() / (s * (k - 1)))
    df_within = _within_df(y - means[:, None], s * (k - 1.0))
    low, high = _chi2_sd(ms_within, df_within, confidence_level)
    cap = max_sd(bounds)
    seed = SourceSD("seed", float(np.sqrt(ms_within)), low, min(high, cap), ms_within, df_within, s * k,
                    confidence_level, f"chi-square interval on {df_within:.3g} df (kurtosis-corrected)")
    split_variance = (ms_between - ms_within) / k
    v_low, v_high = mls_interval([(ms_between / k, s - 1.0)], [(ms_within / k, df_within)], confidence_level)
    split = SourceSD("split", float(np.sqrt(max(split_variance, 0.0))), float(np.sqrt(v_low)),
                     float(min(np.sqrt(v_high), cap)),
                     float(split_variance), float(s - 1), s * k, confidence_level,
                     "modified large-sample interval (Graybill & Wang 1980)")
    return SplitSeedSD(split, seed, s, k)


@dataclass(frozen=True)
class EstimatorVariance:
    """Variance of an estimator of a procedure's expected score (Bouthillier et al. 2021, section 4).

    Attributes
    ----------
    name : str
        ``"IdealEst(k)"``, ``"FixHOptEst(k, Init)"`` or ``"FixHOptEst(k, All)"`` with ``k`` spelled out.
    k : int
        Models averaged.
    variance : float
        Variance of the average around the procedure's expected score on this test set.
    sd : float
    fixed : float
        Part of ``variance`` that does not shrink with ``k`` (sources drawn once and kept).
    """

    name: str
    k: int
    variance: float
    sd: float
    fixed: float


def estimator_variances(variances: Mapping[str, float], *, total: float, k: int) -> tuple[EstimatorVariance, ...]:
    """Variances of IdealEst(k), FixHOptEst(k, Init) and FixHOptEst(k, All) from a variance study.

    Parameters
    ----------
    variances : mapping of str to float
        Variance due to each studied source (``init`` must be there; ``hpo`` when it was studied; negative
        estimates are taken as 0).
    total : float
        Variance of the models that re-draw every studied source.
    k : int
        Models averaged by each estimator.

    Returns
    -------
    tuple of EstimatorVariance
        In the order IdealEst, FixHOptEst(k, All), FixHOptEst(k, Init). Without ``hpo`` in ``variances``,
        FixHOptEst(k, All) equals IdealEst(k) for the sources studied.
    """
    if k < 1:
        raise InputError(f"k={k!r} must be a positive number of models.")
    if "init" not in variances:
        raise InputError("the variance due to 'init' is needed for FixHOptEst(k, Init); study --sources init.")
    total = max(float(total), 0.0)
    init = min(max(float(variances["init"]), 0.0), total)
    hpo = min(max(float(variances.get("hpo", 0.0)), 0.0), total)

    def make(name: str, fixed: float, varying: float) -> EstimatorVariance:
        variance = fixed + varying / k
        return EstimatorVariance(name, k, variance, float(np.sqrt(variance)), fixed)

    return (make(f"IdealEst({k})", 0.0, total),
            make(f"FixHOptEst({k}, All)", hpo, total - hpo),
            make(f"FixHOptEst({k}, Init)", total - init, init))


def detection_rate(estimator: EstimatorVariance, *, p_better: np.ndarray, total: float) -> np.ndarray:
    """Probability that an estimator ranks A above B when one model of A beats one of B with ``p_better``.

    Two procedures with the same variance structure, whose single models differ by ``delta`` in expectation;
    ``P(A>B) = Phi(delta / sqrt(2 total))`` for one model each (Bouthillier et al. 2021, section 3). Averaging ``k``
    models with the estimator's variance ``V``, A is ranked first with probability ``Phi(delta / sqrt(2 V))``.
    A cheap estimator with a large fixed part stays near a coin flip however large ``k``: Bouthillier's Figure 5.

    Parameters
    ----------
    estimator : EstimatorVariance
    p_better : array_like
        True probabilities that a model of A beats a model of B, in (0, 1).
    total : float
        Variance of one model's score with every source re-drawn.
    """
    p = np.asarray(p_better, dtype=float)
    if np.any((p <= 0) | (p >= 1)):
        raise InputError("p_better must lie strictly between 0 and 1.")
    delta = sps.norm.ppf(p) * np.sqrt(2.0 * max(total, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(estimator.variance > 0, delta / np.sqrt(2.0 * estimator.variance), np.sign(delta) * np.inf)
    return sps.norm.cdf(z)


def _smallest_detecting_wins(k: int, gamma: float, confidence_level: float) -> int:
    """Fewest wins out of ``k`` paired runs for which the rule of Bouthillier et al. concludes "A better".

    The rule (:func:`clinicadl.stats.probability_better.probability_better`): the percentile bootstrap interval of
    ``P(A>B)`` has its lower bound above 0.5 and its upper bound at ``gamma`` or above. With ``w`` wins out of ``k``
    paired runs (continuous scores: no ties), the bootstrap proportion is ``Binomial(k, w/k) / k``, so the interval
    has, as the number of resamples grows, the binomial quantiles as bounds. ``k + 1`` when no ``w`` detects.
    """
    alpha = 1.0 - confidence_level
    for wins in range(k + 1):
        low = sps.binom.ppf(alpha / 2, k, wins / k) / k
        high = sps.binom.ppf(1 - alpha / 2, k, wins / k) / k
        if low > 0.5 and high >= gamma:
            return wins
    return k + 1


def decision_rate(estimator: EstimatorVariance, *, p_better, total: float, gamma: float = 0.75,
                  confidence_level: float = 0.95, n_nodes: int = 96) -> np.ndarray:
    """How often the P(A>B) rule, fed an estimator's ``k`` runs of A and of B, concludes that A is better.

    Two procedures with the variance structure measured by a variance study; one model of A beats one model of B
    with probability ``p_better`` (``delta = Phi^-1(p) sqrt(2 total)`` between their expected scores). The
    estimator trains ``k`` models of each, keeping the draws of its fixed sources (variance ``fixed``, one draw per
    procedure) and re-drawing the others (variance ``v = k (variance - fixed)`` per model), pairs run ``i`` of A
    with run ``i`` of B and applies the rule of Bouthillier et al. (2021, section 4): A is better when the
    percentile bootstrap interval of ``P(A>B)`` lies above 0.5 and reaches ``gamma``. Given the difference of the
    fixed draws ``d ~ N(0, 2 fixed)``, the wins are ``Binomial(k, Phi((delta + d) / sqrt(2 v)))``; the rate is their
    upper tail at the fewest detecting wins, averaged over ``d`` by Gauss-Hermite quadrature (exact to quadrature
    error, no simulation). At ``p_better = 0.5`` it is the rate of false detections: a cheap estimator whose fixed
    part dominates "detects" differences that are not there, because its runs share one draw of those sources.

    Parameters
    ----------
    estimator : EstimatorVariance
        From :func:`estimator_variances`.
    p_better : array_like
        True probabilities that one model of A beats one of B, in (0, 1).
    total : float
        Variance of one model's score with every source re-drawn.
    gamma : float, default 0.75
        Threshold of a meaningful improvement.
    confidence_level : float, default 0.95
        Level of the interval of ``P(A>B)``.
    n_nodes : int, default 96
        Quadrature nodes over the difference of the fixed draws.

    Returns
    -------
    numpy.ndarray
        One rate per ``p_better``; NaN when ``total`` is 0 (no variance: nothing to decide).

    References
    ----------
    Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3, sections 4-5.
    """
    p = np.asarray(p_better, dtype=float)
    if np.any((p <= 0) | (p >= 1)):
        raise InputError("p_better must lie strictly between 0 and 1.")
    if not 0.5 <= gamma < 1:
        raise InputError(f"gamma={gamma!r} must lie in [0.5, 1).")
    _check_level(confidence_level)
    if not total > 0:
        return np.full(p.shape, np.nan)
    k = estimator.k
    needed = _smallest_detecting_wins(k, gamma, confidence_level)
    if needed > k:
        return np.zeros(p.shape)
    delta = sps.norm.ppf(p) * np.sqrt(2.0 * total)
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)  # weight exp(-x^2 / 2)
    weights = weights / weights.sum()
    fixed = max(estimator.fixed, 0.0)
    varying = max(k * (estimator.variance - fixed), 0.0)
    shift = delta[..., None] + np.sqrt(2.0 * fixed) * nodes  # delta + d at each node
    if varying > 0:
        q = sps.norm.cdf(shift / np.sqrt(2.0 * varying))
    else:
        q = (shift > 0).astype(float)
    return (sps.binom.sf(needed - 1, k, q) * weights).sum(axis=-1)
