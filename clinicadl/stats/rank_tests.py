"""Rank tests comparing three or more learning procedures over data sets or replicates.

``scores`` has one row per block (a data set, or an independent replicate of the whole experiment)
and one column per procedure. The Friedman test asks whether any procedure ranks differently from
the others; the Nemenyi critical difference and Holm-adjusted pairwise Wilcoxon tests say which.

References
----------
.. [1] Friedman, M. (1937). The use of ranks to avoid the assumption of normality implicit in the
   analysis of variance. Journal of the American Statistical Association, 32(200), 675-701.
.. [2] Iman, R. L., & Davenport, J. M. (1980). Approximations of the critical region of the Friedman
   statistic. Communications in Statistics - Theory and Methods, 9(6), 571-595.
.. [3] Nemenyi, P. B. (1963). Distribution-free multiple comparisons. PhD thesis, Princeton University.
.. [4] Demšar, J. (2006). Statistical comparisons of classifiers over multiple data sets. Journal of
   Machine Learning Research, 7, 1-30.
.. [5] Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian Journal
   of Statistics, 6(2), 65-70.
.. [6] Benavoli, A., Corani, G., & Mangili, F. (2016). Should we really use post-hoc tests based on
   mean-ranks? Journal of Machine Learning Research, 17(5), 1-10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from clinicadl.errors import InputError, plain

__all__ = [
    "FRIEDMAN_METHODS",
    "FriedmanResult",
    "PairwiseTestResult",
    "average_ranks",
    "friedman_test",
    "holm",
    "nemenyi_critical_difference",
    "pairwise_wilcoxon_holm",
]

#: Accepted values of ``method`` in :func:`friedman_test`.
FRIEDMAN_METHODS = ("chi2", "iman-davenport")


@dataclass(frozen=True)
class FriedmanResult:
    """Result of the Friedman test.

    Attributes
    ----------
    statistic : float
        Friedman's chi-square (corrected for ties), or the Iman-Davenport F.
    pvalue : float
        Upper-tail p-value: chi-square with ``k - 1`` degrees of freedom, or F with ``k - 1`` and
        ``(k - 1)(N - 1)``.
    method : str
        ``"friedman-chi2"`` or ``"iman-davenport-f"``.
    average_ranks : numpy.ndarray, shape (k,)
        Average rank of each procedure over the blocks, 1 for the best (see ``higher_is_better``).
    n_blocks : int
        Number of blocks ``N`` (data sets or replicates).
    n_procedures : int
        Number of procedures ``k``.
    """

    statistic: float
    pvalue: float
    method: str
    average_ranks: np.ndarray
    n_blocks: int
    n_procedures: int


@dataclass(frozen=True)
class PairwiseTestResult:
    """Pairwise tests between ``k`` procedures, with p-values adjusted for multiplicity.

    Entry ``[i, j]`` compares procedure ``i`` with procedure ``j``; the matrices are symmetric, with
    NaN on the diagonal.

    Attributes
    ----------
    statistic : numpy.ndarray, shape (k, k)
        Test statistic of each pair (for Wilcoxon, the smaller of the signed-rank sums).
    pvalue : numpy.ndarray, shape (k, k)
        Unadjusted two-sided p-values.
    adjusted_pvalue : numpy.ndarray, shape (k, k)
        Holm-adjusted p-values over the ``k (k - 1) / 2`` pairs: reject pair ``(i, j)`` when
        ``adjusted_pvalue[i, j] <= alpha``, with family-wise error rate at most ``alpha``.
    method : str
        ``"wilcoxon-holm"``.
    """

    statistic: np.ndarray
    pvalue: np.ndarray
    adjusted_pvalue: np.ndarray
    method: str


def _scores_iv(scores, *, min_blocks, min_procedures):
    """Validate a (N blocks, k procedures) score matrix; return it as floats."""
    try:
        array = np.asarray(scores, dtype=float)
    except (TypeError, ValueError) as error:
        raise InputError(f"scores must be numbers (one row per data set or replicate): {error}") from None
    if array.ndim != 2:
        raise InputError(
            f"scores has shape {array.shape}; pass a 2-D array of shape (N data sets or replicates, k procedures)."
        )
    n, k = array.shape
    if k < min_procedures:
        raise InputError(
            f"scores has {k} column(s) (procedures); this needs at least {min_procedures}"
            + (" (for two procedures use a paired test such as scipy.stats.wilcoxon)." if min_procedures > 2 else ".")
        )
    if n < min_blocks:
        raise InputError(f"scores has {n} row(s) (data sets or replicates); this needs at least {min_blocks}.")
    if not np.all(np.isfinite(array)):
        where = np.argwhere(~np.isfinite(array))[0]
        raise InputError(
            f"scores contains {array[tuple(where)]} at row {int(where[0])}, column {int(where[1])}; every "
            "procedure needs a finite score on every data set or replicate."
        )
    return array


def _ranks(array, higher_is_better):
    """Ranks within each row, 1 for the best, ties given their average rank."""
    return stats.rankdata(-array if higher_is_better else array, axis=1, method="average")


def average_ranks(scores, *, higher_is_better: bool = True) -> np.ndarray:
    """Average rank of each procedure over data sets or replicates (1 = best, ties averaged).

    Parameters
    ----------
    scores : array_like, shape (N, k)
        Score of procedure ``j`` on data set (or replicate) ``i``.
    higher_is_better : bool, default True
        False for losses (error rate, MAE): the lowest score then gets rank 1.

    Returns
    -------
    numpy.ndarray, shape (k,)
        Mean over rows of the within-row ranks; they sum to ``k (k + 1) / 2``.

    Raises
    ------
    InputError
        If ``scores`` is not 2-D with at least 1 row and 2 columns, or has a non-finite value.

    References
    ----------
    .. [1] Demšar, J. (2006). Statistical comparisons of classifiers over multiple data sets. JMLR, 7,
       1-30 (section 3.2.2).

    Examples
    --------
    >>> from clinicadl.stats.rank_tests import average_ranks
    >>> average_ranks([[0.90, 0.85, 0.80], [0.70, 0.75, 0.70], [0.60, 0.50, 0.55]])
    array([1.5, 2. , 2.5])
    """
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise InputError(f"higher_is_better={higher_is_better!r} must be True or False.")
    array = _scores_iv(scores, min_blocks=1, min_procedures=2)
    return _ranks(array, higher_is_better).mean(axis=0)


def friedman_test(scores, *, method: str = "chi2", higher_is_better: bool = True) -> FriedmanResult:
    """Friedman's rank test that ``k`` procedures perform equally well over ``N`` blocks.

    Within each block (row) the procedures are ranked, ties getting their average rank. With ``R_j``
    the average rank of procedure ``j``, ``chi2 = 12 N / (k (k + 1)) * (sum_j R_j**2 - k (k + 1)**2 / 4)``,
    divided by the tie correction ``1 - sum(t**3 - t) / (N (k**3 - k))``, on ``k - 1`` degrees of
    freedom. ``method="iman-davenport"`` uses ``F = (N - 1) chi2 / (N (k - 1) - chi2)`` on ``k - 1``
    and ``(k - 1)(N - 1)`` degrees of freedom instead, which Demšar (2006) recommends as less
    conservative.

    Parameters
    ----------
    scores : array_like, shape (N, k)
        Score of procedure ``j`` on data set (or independent replicate) ``i``; ``N >= 2``, ``k >= 3``.
    method : {"chi2", "iman-davenport"}, default "chi2"
        The reference distribution (see above).
    higher_is_better : bool, default True
        Only orients ``average_ranks`` (rank 1 = best); the test itself does not depend on it.

    Returns
    -------
    FriedmanResult
        ``statistic``, ``pvalue``, ``method`` (``"friedman-chi2"`` or ``"iman-davenport-f"``),
        ``average_ranks``, ``n_blocks``, ``n_procedures``.

    Raises
    ------
    InputError
        If ``scores`` is not 2-D with ``N >= 2`` rows and ``k >= 3`` columns, has a non-finite value,
        or ``method`` is unknown.

    See Also
    --------
    nemenyi_critical_difference, pairwise_wilcoxon_holm : which procedures differ, after a rejection.

    Notes
    -----
    The chi-square statistic and p-value equal ``scipy.stats.friedmanchisquare(*scores.T)``. The
    blocks must be independent: the rows are data sets, or replicates of the whole experiment with
    independent data (not folds of one cross-validation, which share training cases). When every
    block is entirely tied the statistic is 0 and the p-value 1; when the rankings agree perfectly the
    Iman-Davenport F is infinite (p-value 0).

    References
    ----------
    .. [1] Friedman, M. (1937). The use of ranks to avoid the assumption of normality implicit in the
       analysis of variance. JASA, 32(200), 675-701.
    .. [2] Iman, R. L., & Davenport, J. M. (1980). Approximations of the critical region of the
       Friedman statistic. Communications in Statistics - Theory and Methods, 9(6), 571-595.
    .. [3] Demšar, J. (2006). Statistical comparisons of classifiers over multiple data sets. JMLR, 7,
       1-30.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.rank_tests import friedman_test
    >>> rng = np.random.default_rng(0)
    >>> scores = 0.8 + np.array([0.00, 0.01, 0.03]) + 0.02 * rng.standard_normal((12, 3))
    >>> res = friedman_test(scores)
    >>> print(res.method, f"{res.statistic:.3f}", f"{res.pvalue:.4f}", np.round(res.average_ranks, 2))
    friedman-chi2 8.167 0.0169 [2.58 2.   1.42]
    """
    if method not in FRIEDMAN_METHODS:
        raise InputError(f"method={method!r} is not one of {', '.join(FRIEDMAN_METHODS)}.")
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise InputError(f"higher_is_better={higher_is_better!r} must be True or False.")
    array = _scores_iv(scores, min_blocks=2, min_procedures=3)
    n, k = array.shape
    ranks = _ranks(array, higher_is_better)
    mean_ranks = ranks.mean(axis=0)
    # Sum over tie groups of t**3 - t, as the sum over entries of (size of the entry's tie group)**2 - 1.
    group_sizes = np.sum(array[:, :, None] == array[:, None, :], axis=2)
    tie_correction = 1 - np.sum(group_sizes**2 - 1) / (n * (k**3 - k))
    uncorrected = 12 * n / (k * (k + 1)) * float(np.sum((mean_ranks - (k + 1) / 2) ** 2))
    chi2 = uncorrected / tie_correction if tie_correction > 0 else 0.0
    if method == "chi2":
        statistic, pvalue, name = chi2, stats.chi2.sf(chi2, k - 1), "friedman-chi2"
    else:
        denominator = n * (k - 1) - chi2
        statistic = (n - 1) * chi2 / denominator if denominator > 1e-12 * n * k else math.inf
        pvalue, name = stats.f.sf(statistic, k - 1, (k - 1) * (n - 1)), "iman-davenport-f"
    return FriedmanResult(
        statistic=float(statistic),
        pvalue=float(pvalue),
        method=name,
        average_ranks=mean_ranks,
        n_blocks=n,
        n_procedures=k,
    )


def nemenyi_critical_difference(k: int, n: int, *, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks between ``k`` procedures over ``n`` blocks.

    ``CD = q_alpha * sqrt(k (k + 1) / (6 n))`` with ``q_alpha`` the ``1 - alpha`` quantile of the
    studentized range of ``k`` standard normals (infinite degrees of freedom) divided by ``sqrt(2)``.
    Two procedures whose average ranks differ by at least ``CD`` differ significantly (all pairs
    compared, family-wise error rate ``alpha``).

    Parameters
    ----------
    k : int
        Number of procedures, ``k >= 2``.
    n : int
        Number of blocks (data sets or replicates), ``n >= 1``.
    alpha : float, default 0.05
        Family-wise significance level, strictly between 0 and 1.

    Returns
    -------
    float
        The critical difference, in units of average rank.

    Raises
    ------
    InputError
        If ``k`` or ``n`` is not a positive integer (``k >= 2``) or ``alpha`` is not in (0, 1).

    Notes
    -----
    ``q_alpha = scipy.stats.studentized_range.ppf(1 - alpha, k, inf) / sqrt(2)`` reproduces Demšar's
    table 5 (e.g. 2.569 for k = 4 at alpha = 0.05; for k = 2 it is the normal quantile 1.960). Benavoli
    et al. (2016) show that mean-rank post-hoc tests can make the comparison of A and B depend on the
    other procedures in the study; :func:`pairwise_wilcoxon_holm` does not.

    References
    ----------
    .. [1] Nemenyi, P. B. (1963). Distribution-free multiple comparisons. PhD thesis, Princeton
       University.
    .. [2] Demšar, J. (2006). Statistical comparisons of classifiers over multiple data sets. JMLR, 7,
       1-30 (section 3.2.2 and table 5).

    Examples
    --------
    >>> from clinicadl.stats.rank_tests import nemenyi_critical_difference
    >>> print(f"{nemenyi_critical_difference(4, 14):.4f}")  # Demšar (2006), section 3.2.4
    1.2536
    """
    for name, value, low in (("k", k, 2), ("n", n, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"{name}={plain(value)} must be an integer >= {low}.")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
        raise InputError(f"alpha={alpha!r} must be a number strictly between 0 and 1.")
    q_alpha = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q_alpha * math.sqrt(k * (k + 1) / (6 * n)))


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values.

    With the ``m`` p-values sorted increasingly, ``p_(1) <= ... <= p_(m)``, the adjusted value of
    ``p_(i)`` is ``max_{j <= i} min(1, (m - j + 1) p_(j))``. Rejecting every hypothesis whose adjusted
    p-value is at most ``alpha`` controls the family-wise error rate at ``alpha`` under any
    dependence between the tests.

    Parameters
    ----------
    pvalues : array_like
        P-values in [0, 1], any shape (the family is all entries).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape as ``pvalues``; never smaller than the unadjusted ones, in the
        same order as them, and at most 1.

    Raises
    ------
    InputError
        If ``pvalues`` is empty or has a value outside [0, 1] (NaN included).

    References
    ----------
    .. [1] Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
       Journal of Statistics, 6(2), 65-70.

    Examples
    --------
    >>> from clinicadl.stats.rank_tests import holm
    >>> holm([0.01, 0.04, 0.03, 0.005])
    array([0.03, 0.06, 0.06, 0.02])
    """
    try:
        array = np.asarray(pvalues, dtype=float)
    except (TypeError, ValueError) as error:
        raise InputError(f"pvalues must be numbers in [0, 1]: {error}") from None
    if array.size == 0:
        raise InputError("pvalues is empty; pass at least one p-value.")
    bad = ~((array >= 0) & (array <= 1))
    if np.any(bad):
        raise InputError(f"pvalues contains {array[bad][0]}; every p-value must be in [0, 1] (NaN is not allowed).")
    flat = array.ravel()
    m = flat.size
    order = np.argsort(flat, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * flat[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return adjusted.reshape(array.shape)


def pairwise_wilcoxon_holm(scores) -> PairwiseTestResult:
    """Wilcoxon signed-rank tests between every pair of procedures, Holm-adjusted.

    For each pair ``(i, j)``, ``scipy.stats.wilcoxon(scores[:, i] - scores[:, j])`` (two-sided, zero
    differences dropped, exact distribution for small samples without ties) gives the p-value; the
    ``k (k - 1) / 2`` p-values are then adjusted with :func:`holm`.

    Parameters
    ----------
    scores : array_like, shape (N, k)
        Score of procedure ``j`` on data set (or independent replicate) ``i``; ``N >= 2``, ``k >= 2``.

    Returns
    -------
    PairwiseTestResult
        ``statistic``, ``pvalue``, ``adjusted_pvalue`` as symmetric (k, k) matrices with NaN on the
        diagonal, ``method = "wilcoxon-holm"``.

    Raises
    ------
    InputError
        If ``scores`` is not 2-D with ``N >= 2`` rows and ``k >= 2`` columns, or has a non-finite
        value.

    Notes
    -----
    Benavoli, Corani and Mangili (2016) recommend pairwise tests such as this one, whose result for
    ``(i, j)`` depends only on the scores of ``i`` and ``j``, over post-hoc tests on mean ranks
    (Nemenyi), whose result depends on the other procedures compared. With ``N`` blocks the smallest
    exact two-sided Wilcoxon p-value is ``2 / 2**N`` (0.0625 for N = 5): use enough blocks. A pair
    whose differences are all 0 gets statistic 0 and p-value 1.

    References
    ----------
    .. [1] Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics Bulletin, 1(6),
       80-83.
    .. [2] Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
       Journal of Statistics, 6(2), 65-70.
    .. [3] Benavoli, A., Corani, G., & Mangili, F. (2016). Should we really use post-hoc tests based
       on mean-ranks? JMLR, 17(5), 1-10.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.rank_tests import pairwise_wilcoxon_holm
    >>> rng = np.random.default_rng(0)
    >>> scores = 0.8 + np.array([0.00, 0.01, 0.03]) + 0.02 * rng.standard_normal((12, 3))
    >>> res = pairwise_wilcoxon_holm(scores)
    >>> print(np.round(res.adjusted_pvalue, 4))
    [[   nan 0.0923 0.0103]
     [0.0923    nan 0.0244]
     [0.0103 0.0244    nan]]
    """
    array = _scores_iv(scores, min_blocks=2, min_procedures=2)
    k = array.shape[1]
    statistic = np.full((k, k), np.nan)
    pvalue = np.full((k, k), np.nan)
    rows, cols = np.triu_indices(k, 1)
    for i, j in zip(rows, cols):
        difference = array[:, i] - array[:, j]
        if np.all(difference == 0):
            statistic[i, j], pvalue[i, j] = 0.0, 1.0
        else:
            result = stats.wilcoxon(difference)
            statistic[i, j], pvalue[i, j] = result.statistic, result.pvalue
    adjusted = np.full((k, k), np.nan)
    adjusted[rows, cols] = holm(pvalue[rows, cols])
    for matrix in (statistic, pvalue, adjusted):
        matrix[cols, rows] = matrix[rows, cols]
    return PairwiseTestResult(statistic=statistic, pvalue=pvalue, adjusted_pvalue=adjusted, method="wilcoxon-holm")
