"""Probability that learning procedure A outperforms procedure B, with the decision rule of Bouthillier et al.

Each procedure is run several times with every source of variance randomised (data split, weight init,
data order, ...). ``P(A>B)`` is estimated by the proportion of runs in which A beats B, its uncertainty by
a percentile bootstrap over runs, and the comparison is read against two thresholds: 0.5 (is A better at
all?) and ``gamma`` (is it better often enough to matter?).

References
----------
Bouthillier X., Delaunay P., Bronzi M., et al. (2021). Accounting for variance in machine learning
benchmarks. Proceedings of Machine Learning and Systems (MLSys) 3, 747-769. arXiv:2103.03098.
Mann H. B., Whitney D. R. (1947). On a test of whether one of two random variables is stochastically
larger than the other. Annals of Mathematical Statistics 18(1), 50-60.
Efron B., Tibshirani R. J. (1993). An Introduction to the Bootstrap, chapter 13 (percentile interval).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clinicadl.errors import InputError, plain
from clinicadl.stats.bootstrap import make_rng
from clinicadl.stats.intervals import percentile_interval, standard_error
from clinicadl.stats.resampling import CHUNK_ELEMENTS, bootstrap_counts, make_plan
from clinicadl.stats.results import ConfidenceInterval


@dataclass(frozen=True)
class ProbabilityBetterResult:
    """Estimate and bootstrap interval of ``P(A>B)`` with the decision of Bouthillier et al. (2021).

    Attributes
    ----------
    estimate : float
        Proportion of paired runs (``paired=True``) or of all (run of A, run of B) pairs
        (``paired=False``, the Mann-Whitney statistic divided by ``n_a * n_b``) in which A beats B;
        ties count one half.
    confidence_interval : ConfidenceInterval
        Percentile bootstrap interval over runs at ``confidence_level``.
    standard_error : float
        Standard deviation of the bootstrap replicates.
    gamma : float
        Threshold of a meaningful improvement.
    significant : bool
        ``confidence_interval.low > 0.5``.
    meaningful : bool
        ``significant`` and ``confidence_interval.high >= gamma``: the improvement is significant and not
        shown to be smaller than ``gamma``.
    conclusion : str
        The decision in one sentence.
    confidence_level : float
    paired : bool
    n_a, n_b : int
        Number of runs of each procedure.
    n_pairs : int
        Number of comparisons behind the estimate: ``n_a`` when paired, ``n_a * n_b`` otherwise.
    n_ties : int
        Comparisons with equal scores (each counted one half).
    n_resamples : int
    seed : int or None
        Seed of the random generator (None when a Generator was passed).
    bootstrap_distribution : numpy.ndarray
        The ``n_resamples`` bootstrap replicates of the estimate.
    """

    estimate: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    gamma: float
    significant: bool
    meaningful: bool
    conclusion: str
    confidence_level: float
    paired: bool
    n_a: int
    n_b: int
    n_pairs: int
    n_ties: int
    n_resamples: int
    seed: int | None
    bootstrap_distribution: np.ndarray = field(repr=False)


def _check_scores(scores, name: str) -> np.ndarray:
    try:
        array = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"{name} must be a 1-D array of numbers: {error}") from None
    if array.ndim != 1 or array.size < 2:
        raise InputError(f"{name} must be a 1-D array of at least 2 run scores, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name} holds NaN or infinite scores at runs {np.flatnonzero(~np.isfinite(array))[:10]}; "
                         "remove or fix those runs.")
    return array


def _validate(scores_a, scores_b, gamma, confidence_level, n_resamples, paired):
    a, b = _check_scores(scores_a, "scores_a"), _check_scores(scores_b, "scores_b")
    if paired and a.size != b.size:
        raise InputError(f"Paired runs need as many scores for A as for B, got {a.size} and {b.size}; "
                         "pass paired=False for independent runs.")
    if not 0.5 <= gamma < 1:
        raise InputError(f"gamma must lie in [0.5, 1), got {plain(gamma)} (Bouthillier et al. recommend 0.75).")
    if not 0 < confidence_level < 1:
        raise InputError(f"confidence_level must lie strictly between 0 and 1, got {plain(confidence_level)}.")
    if not isinstance(n_resamples, (int, np.integer)) or isinstance(n_resamples, bool) or n_resamples < 2:
        raise InputError(f"n_resamples must be an integer >= 2, got {plain(n_resamples)}.")
    return a, b


def _wins(difference: np.ndarray) -> np.ndarray:
    """1 where A wins, 1/2 on a tie, 0 where B wins."""
    return (difference > 0) + 0.5 * (difference == 0)


def _replicates(wins: np.ndarray, paired: bool, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of the win proportion; runs are resampled through count matrices."""
    if paired:
        n = wins.size
        return np.concatenate([c @ wins for c in bootstrap_counts(make_plan(None, n), n_resamples, rng)]) / n
    n_a, n_b = wins.shape
    step = max(1, min(n_resamples, CHUNK_ELEMENTS // (n_a + n_b)))
    counts_a = bootstrap_counts(make_plan(None, n_a), n_resamples, rng, batch=step)
    counts_b = bootstrap_counts(make_plan(None, n_b), n_resamples, rng, batch=step)
    # mean over the resampled pairs: sum_ij ca_i W_ij cb_j / (n_a n_b), resample by resample
    return np.concatenate([np.einsum("bj,bj->b", ca @ wins, cb) for ca, cb in zip(counts_a, counts_b)]) / (n_a * n_b)


def _conclusion(estimate, low, high, gamma, confidence_level) -> str:
    shown = f"P(A>B) = {estimate:.2f}, {confidence_level:.0%} CI [{low:.2f}, {high:.2f}]"
    if low > gamma:
        return (f"A is significantly and meaningfully better than B: {shown}; even the lower bound is above "
                f"gamma = {gamma:g}.")
    if low > 0.5 and high >= gamma:
        return (f"A is significantly and meaningfully better than B: {shown}; the lower bound is above 0.5 and "
                f"the interval reaches gamma = {gamma:g}.")
    if low > 0.5:
        return (f"A is significantly but not meaningfully better than B: {shown}; the lower bound is above 0.5 "
                f"but the whole interval lies below gamma = {gamma:g}.")
    if high < 0.5:
        return f"B is significantly better than A: {shown}; the upper bound is below 0.5."
    return f"No significant difference between A and B: {shown}; the interval contains 0.5."


def probability_better(
    scores_a,
    scores_b,
    *,
    gamma: float = 0.75,
    confidence_level: float = 0.95,
    n_resamples: int = 10_000,
    paired: bool = True,
    higher_is_better: bool = True,
    rng=None,
) -> ProbabilityBetterResult:
    """Probability that procedure A outperforms procedure B, with a percentile bootstrap interval.

    Parameters
    ----------
    scores_a, scores_b : array_like of shape (n_a,) and (n_b,)
        One performance score per run of each procedure. With ``paired=True``, run ``i`` of A and run
        ``i`` of B share their random draws (same data split, same seeds), so ``n_a == n_b``.
    gamma : float, default 0.75
        Threshold of a meaningful improvement, in [0.5, 1).
    confidence_level : float, default 0.95
        Two-sided level of the interval. The "significant" decision is a one-sided test at level
        ``(1 - confidence_level) / 2``: use 0.90 for the one-sided alpha = 0.05 of
        :func:`clinicadl.stats.sample_size.noether_sample_size`.
    n_resamples : int, default 10000
    paired : bool, default True
        Paired runs: the estimate is the proportion of pairs in which A beats B and the bootstrap
        resamples pairs. Independent runs: the estimate is the Mann-Whitney probability over all
        ``n_a * n_b`` pairs and the bootstrap resamples the runs of A and of B independently.
    higher_is_better : bool, default True
        False for a loss (MAE, error rate): A beats B when its score is lower.
    rng : int, numpy.random.Generator or None
        Seed; recorded in the result.

    Returns
    -------
    ProbabilityBetterResult
        ``estimate``, ``confidence_interval``, ``significant``, ``meaningful``, ``conclusion``, ...

    Notes
    -----
    Decision rule of Bouthillier et al. (2021, section 4): the comparison is *significant* when the
    lower bound of the interval of ``P(A>B)`` is above 0.5 (strictly), and *meaningful* when, in
    addition, the upper bound reaches ``gamma`` (they recommend ``gamma = 0.75``): a significant
    improvement whose whole interval lies in ``(0.5, gamma)`` is shown to be real but small. The
    conclusion also says when even the lower bound exceeds ``gamma``, and when the upper bound is below
    0.5 (B better), which their one-sided rule does not look at; neither flag is set then.

    Ties count one half, so that ``P(A>B) + P(B>A) = 1``. Each bootstrap resample is a vector of counts
    (how many times each run is drawn); the replicate is a matrix product of counts and wins, so no
    Python loop runs over resamples. The interval is only as good as the runs are representative: runs
    that vary the seeds but keep one data split estimate ``P(A>B)`` for that split only (see
    :func:`clinicadl.stats.variance_components.variance_components`).

    References
    ----------
    Bouthillier X., et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
    Mann H. B., Whitney D. R. (1947). Ann. Math. Statist. 18(1), 50-60.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.probability_better import probability_better
    >>> rng = np.random.default_rng(0)
    >>> b = 0.80 + 0.02 * rng.standard_normal(30)
    >>> a = b + 0.02 + 0.02 * rng.standard_normal(30)
    >>> res = probability_better(a, b, n_resamples=2000, rng=1)
    >>> round(res.estimate, 3), res.significant, res.n_pairs
    (0.833, True, 30)
    >>> res.confidence_interval.low < res.estimate < res.confidence_interval.high
    True
    """
    a, b = _validate(scores_a, scores_b, gamma, confidence_level, n_resamples, paired)
    generator, seed = make_rng(rng)
    sign = 1.0 if higher_is_better else -1.0
    difference = sign * (a - b if paired else a[:, None] - b[None, :])
    wins = _wins(difference)
    estimate = float(wins.mean())
    replicates = _replicates(wins, paired, int(n_resamples), generator)
    low, high = (float(x[0]) for x in percentile_interval(replicates[:, None], confidence_level))
    return ProbabilityBetterResult(
        estimate=estimate,
        confidence_interval=ConfidenceInterval(low, high),
        standard_error=float(standard_error(replicates[:, None])[0]),
        gamma=float(gamma),
        significant=bool(low > 0.5),
        meaningful=bool(low > 0.5 and high >= gamma),
        conclusion=_conclusion(estimate, low, high, gamma, confidence_level),
        confidence_level=float(confidence_level),
        paired=bool(paired),
        n_a=int(a.size),
        n_b=int(b.size),
        n_pairs=int(wins.size),
        n_ties=int(np.count_nonzero(difference == 0)),
        n_resamples=int(n_resamples),
        seed=seed,
        bootstrap_distribution=replicates,
    )
