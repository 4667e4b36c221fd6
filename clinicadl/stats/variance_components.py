"""Variance of a performance metric across replicates: data split, seeds, and test-set sampling.

Model, for replicate ``r`` trained on data split ``s``::

    score_sr = mu + a_s + b_sr + e_sr,    a_s ~ (0, split),  b_sr ~ (0, seed),  e_sr ~ (0, v_sr)

``a_s`` is the effect of the data split, ``b_sr`` that of everything else drawn per replicate (weight
init, data order, augmentation, dropout), and ``e_sr`` the test-set sampling error of replicate ``r``,
whose variance ``v_sr`` is known from its participant-level bootstrap (``standard_error ** 2``).

References
----------
Searle S. R., Casella G., McCulloch C. E. (1992). Variance Components. Wiley, sections 3.5-3.6 and 4.7
(ANOVA estimators of the one-way classification, unbalanced data).
Bouthillier X., et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Field C. A., Welsh A. H. (2007). Bootstrapping clustered data. JRSS B 69(3), 369-390.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from clinicadl.errors import InputError, plain
from clinicadl.stats.bootstrap import make_rng
from clinicadl.stats.intervals import percentile_interval
from clinicadl.stats.resampling import bootstrap_counts, make_plan
from clinicadl.stats.results import ConfidenceInterval

COMPONENTS = ("split", "seed", "test_sampling")

FIXED_SPLIT_NOTE = (
    "split variance not estimable (a single split id: only seeds varied); Bouthillier's FixHOptEst is biased: "
    "it ignores the split variance."
)
ONE_PER_SPLIT_NOTE = (
    "split and seed variances not separable (one replicate per split id); split_and_seed holds their sum."
)


@dataclass(frozen=True)
class VarianceComponents:
    """Decomposition of the variance of one replicate's score.

    Attributes
    ----------
    split : float
        Between-split variance (NaN when not estimable).
    seed : float
        Between-replicate variance within a split, beyond test-set sampling (NaN when not estimable).
    test_sampling : float
        Mean test-set sampling variance of one replicate (mean of ``sampling_variances``).
    split_and_seed : float
        ``split + seed``; estimable even with one replicate per split.
    total : float
        ``split_and_seed + test_sampling``: the variance of the score of one replicate with every
        source randomised.
    fractions : Mapping[str, float]
        Each of ``split``, ``seed``, ``test_sampling`` divided by ``total``.
    intervals : Mapping[str, ConfidenceInterval]
        Percentile bootstrap interval of each of ``split``, ``seed``, ``test_sampling``,
        ``split_and_seed`` and ``total`` (NaN bounds where not estimable).
    confidence_level : float
    n_replicates, n_splits : int
    n_resamples : int
    resampling_unit : str
        ``"split"`` (splits resampled with their replicates) or ``"replicate"`` (a single split).
    seed_of_rng : int or None
        Seed of the random generator of the bootstrap.
    note : str
        What could not be estimated and which estimates were truncated at 0 (empty when nothing).
    """

    split: float
    seed: float
    test_sampling: float
    split_and_seed: float
    total: float
    fractions: MappingProxyType
    intervals: MappingProxyType
    confidence_level: float
    n_replicates: int
    n_splits: int
    n_resamples: int
    resampling_unit: str
    seed_of_rng: int | None
    note: str


def _validate(scores, split_ids, sampling_variances, confidence_level, n_resamples):
    try:
        y = np.asarray(scores, dtype=np.float64)
        v = np.asarray(sampling_variances, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"scores and sampling_variances must be arrays of numbers: {error}") from None
    ids = np.asarray(split_ids)
    if y.ndim != 1 or y.size < 2:
        raise InputError(f"scores must be a 1-D array of at least 2 replicates, got shape {y.shape}.")
    if ids.shape != y.shape or v.shape != y.shape:
        raise InputError(f"scores, split_ids and sampling_variances must have the same length, got {y.shape}, "
                         f"{ids.shape} and {v.shape}.")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v))):
        raise InputError("scores and sampling_variances must be finite; remove the replicates with NaN.")
    if np.any(v < 0):
        raise InputError("sampling_variances must be >= 0 (squared bootstrap standard errors).")
    if not 0 < confidence_level < 1:
        raise InputError(f"confidence_level must lie strictly between 0 and 1, got {plain(confidence_level)}.")
    if not isinstance(n_resamples, (int, np.integer)) or isinstance(n_resamples, bool) or n_resamples < 2:
        raise InputError(f"n_resamples must be an integer >= 2, got {plain(n_resamples)}.")
    _, codes = np.unique(ids, return_inverse=True)
    return y, codes.ravel(), v


def _moments(counts, n, total, within, v_sum, v_within):
    """Method-of-moments estimates from per-split sufficient statistics, for each row of ``counts``.

    ``counts`` (b, k) says how many times each split is taken (a row of ones: the data). Returns the
    untruncated split, seed, test-sampling and split + seed estimates, each of shape (b,).
    """
    k = counts.shape[1]  # splits drawn in a resample (counts sum to k)
    big_n = counts @ n
    mean = (counts @ total) / big_n
    ssb = counts @ (total**2 / n) - big_n * mean**2
    ssw = counts @ within
    test = (counts @ v_sum) / big_n
    # E[SSW] = (N - k) seed + sum_s (1 - 1/n_s) sum_r v_sr
    with np.errstate(invalid="ignore", divide="ignore"):
        seed = (ssw - counts @ v_within) / (big_n - k)
        seed = np.where(big_n > k, seed, np.nan)
        # E[SSB] = n0 (k-1) split + (k-1) seed + sum_s (1 - n_s/N) mean_s(v)
        v_between = counts @ (v_sum / n) - (counts @ v_sum) / big_n
        n0_k1 = big_n - (counts @ n**2) / big_n
        split = (ssb - (k - 1) * np.where(big_n > k, seed, 0.0) - v_between) / n0_k1
        split = np.where((k > 1) & (big_n > k), split, np.nan)
        # one replicate per split (N = k, n0 = 1): E[SSB] = (k-1)(split + seed) + sum_s (1 - 1/N) v_s
        split_and_seed = np.where(big_n > k, split + seed, (ssb - v_between) / (k - 1) if k > 1 else np.nan)
    return split, seed, test, split_and_seed


def _split_statistics(y, codes, v):
    k = int(codes.max()) + 1
    n = np.bincount(codes, minlength=k).astype(np.float64)
    total = np.bincount(codes, weights=y, minlength=k)
    within = np.bincount(codes, weights=(y - (total / n)[codes]) ** 2, minlength=k)
    v_sum = np.bincount(codes, weights=v, minlength=k)
    v_within = (1 - 1 / n) * v_sum
    return n, total, within, v_sum, v_within


def variance_components(
    scores,
    split_ids,
    sampling_variances,
    *,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng=None,
) -> VarianceComponents:
    """Split, seed and test-sampling components of the variance of a metric across replicates.

    Parameters
    ----------
    scores : array_like of shape (R,)
        The metric of each replicate on its test set.
    split_ids : array_like of shape (R,)
        Data split of each replicate: replicates trained on the same split share an id. With one split
        for all, only seeds varied; with a different split per replicate, split and seed are confounded.
    sampling_variances : array_like of shape (R,)
        Test-set sampling variance of each replicate's metric: the square of its participant-level
        bootstrap standard error (:func:`clinicadl.stats.bootstrap_ci`).
    confidence_level : float, default 0.95
    n_resamples : int, default 2000
        Bootstrap resamples of the intervals; splits are resampled with all their replicates (replicates
        themselves when there is a single split).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    VarianceComponents
        ``split``, ``seed``, ``test_sampling``, ``split_and_seed``, ``total``, ``fractions``,
        ``intervals``, ``note``, ...

    Notes
    -----
    ANOVA (method-of-moments) estimators of the unbalanced one-way random model (Searle, Casella &
    McCulloch 1992, section 3.6), in which the residual variance of replicate ``r`` of split ``s`` is
    ``seed + v_sr`` with ``v_sr`` known. Equating the within- and between-split sums of squares to their
    expectations::

        E[SSW] = (N - k) seed + sum_s (1 - 1/n_s) sum_r v_sr
        E[SSB] = n0 (k - 1) split + (k - 1) seed + sum_s (1 - n_s/N) mean_r(v_sr),
        n0 = (N - sum_s n_s**2 / N) / (k - 1)

    gives unbiased estimates; with a constant ``v`` they are the textbook ``seed = MSW - v`` and
    ``split = (MSB - MSW) / n0``. Negative estimates are truncated at 0 and the note says so (the
    truncated estimators are biased upwards by a little). ``test_sampling`` is the mean of
    ``sampling_variances``.

    The model treats the test-set sampling errors of replicates as independent. When replicates of one
    split are evaluated on the same test participants, their errors are correlated: the shared part
    then goes into ``split`` and ``seed`` is underestimated by that amount. Variance components from
    few splits (fewer than about 10) are very uncertain; the bootstrap intervals, over splits, are
    then too short (percentile intervals of a variance with a handful of clusters).

    References
    ----------
    Searle S. R., Casella G., McCulloch C. E. (1992). Variance Components. Wiley, chapter 3.
    Bouthillier X., et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.variance_components import variance_components
    >>> rng = np.random.default_rng(2)
    >>> split_ids = np.repeat(np.arange(30), 4)
    >>> scores = (0.8 + 0.03 * rng.standard_normal(30)[split_ids] + 0.015 * rng.standard_normal(120)
    ...           + 0.02 * rng.standard_normal(120))
    >>> res = variance_components(scores, split_ids, np.full(120, 0.02**2), n_resamples=500, rng=0)
    >>> [round(float(np.sqrt(x)), 3) for x in (res.split, res.seed, res.test_sampling)]
    [0.036, 0.014, 0.02]
    >>> res.note
    ''
    """
    y, codes, v = _validate(scores, split_ids, sampling_variances, confidence_level, n_resamples)
    generator, rng_seed = make_rng(rng)
    n, total, within, v_sum, v_within = _split_statistics(y, codes, v)
    k = n.size
    stats = (n, total, within, v_sum, v_within)
    raw = [float(x[0]) for x in _moments(np.ones((1, k)), *stats)]
    if k == 1:  # resample replicates within the single split
        unit = "replicate"
        plan = make_plan(None, y.size)
        distribution = np.concatenate([
            np.column_stack(_moments_single(c, y, v)) for c in bootstrap_counts(plan, n_resamples, generator)
        ])
    else:
        unit = "split"
        distribution = np.concatenate([
            np.column_stack(_moments(c, *stats)) for c in bootstrap_counts(make_plan(None, k), n_resamples, generator)
        ])
    notes = []
    if k == 1:
        notes.append(FIXED_SPLIT_NOTE)
    elif n.max() == 1:
        notes.append(ONE_PER_SPLIT_NOTE)
    names = ("split", "seed", "test_sampling", "split_and_seed")
    for name, value in zip(names, raw):
        if value < 0:
            notes.append(f"negative {name} estimate ({value:.3g}) truncated at 0.")
    split, seed, test, split_and_seed = (max(x, 0.0) if not np.isnan(x) else x for x in raw)
    if not np.isnan(split) and not np.isnan(seed):
        split_and_seed = split + seed
    total_var = split_and_seed + test if not np.isnan(split_and_seed) else np.nan
    distribution = np.where(distribution < 0, 0.0, distribution)  # NaN stays NaN
    both = ~np.isnan(distribution[:, 0]) & ~np.isnan(distribution[:, 1])
    distribution[both, 3] = distribution[both, 0] + distribution[both, 1]
    distribution = np.column_stack([distribution, distribution[:, 3] + distribution[:, 2]])
    low, high = percentile_interval(distribution, confidence_level)
    estimates = {"split": split, "seed": seed, "test_sampling": test, "split_and_seed": split_and_seed,
                 "total": total_var}
    intervals = {}
    for j, name in enumerate((*names, "total")):
        bounds = (float(low[j]), float(high[j])) if not np.isnan(estimates[name]) else (np.nan, np.nan)
        intervals[name] = ConfidenceInterval(*bounds)
    with np.errstate(invalid="ignore", divide="ignore"):
        fractions = {name: float(estimates[name] / total_var) if total_var > 0 else np.nan for name in COMPONENTS}
    return VarianceComponents(
        split=float(split),
        seed=float(seed),
        test_sampling=float(test),
        split_and_seed=float(split_and_seed),
        total=float(total_var),
        fractions=MappingProxyType(fractions),
        intervals=MappingProxyType(intervals),
        confidence_level=float(confidence_level),
        n_replicates=int(y.size),
        n_splits=int(k),
        n_resamples=int(n_resamples),
        resampling_unit=unit,
        seed_of_rng=rng_seed,
        note=" ".join(notes),
    )


def _moments_single(counts, y, v):
    """Estimates for resamples of the replicates of a single split: split is NaN, seed = s2 - mean(v)."""
    size = counts.sum(axis=1)
    mean = (counts @ y) / size
    s2 = (counts @ y**2 - size * mean**2) / (size - 1)
    test = (counts @ v) / size
    nan = np.full(counts.shape[0], np.nan)
    return nan, s2 - test, test, nan
