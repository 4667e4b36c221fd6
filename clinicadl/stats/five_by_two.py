"""The 5x2 cross-validation paired t-test and combined F-test of two learning procedures.

The design: five replications of a 2-fold cross-validation. In replication ``i`` the data are split
at random into two halves; both procedures are trained on one half and tested on the other, then the
roles swap. ``differences[i, j]`` is the score of procedure A minus that of procedure B on fold ``j``
of replication ``i``. Training sets of one replication do not overlap, which keeps the variance
estimate of each replication honest.

References
----------
.. [1] Dietterich, T. G. (1998). Approximate statistical tests for comparing supervised
   classification learning algorithms. Neural Computation, 10(7), 1895-1923.
.. [2] Alpaydin, E. (1999). Combined 5 x 2 cv F test for comparing supervised classification learning
   algorithms. Neural Computation, 11(8), 1885-1892.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.corrected_ttest import ALTERNATIVES
from clinicadl.stats.results import TestResult

__all__ = ["five_by_two_f", "five_by_two_t"]



def _five_by_two_iv(differences):
    """Validate a 5x2 array of score differences; return it with the per-replication variances."""
    try:
        array = np.asarray(differences, dtype=float)
    except (TypeError, ValueError) as error:
        raise InputError(f"differences must be numbers (score of A minus score of B per fold): {error}") from None
    if array.shape != (5, 2):
        raise InputError(
            f"differences has shape {array.shape}; the 5x2cv tests need shape (5, 2): 5 replications (rows) of a "
            "2-fold cross-validation (columns). For other designs use corrected_repeated_kfold_ttest."
        )
    if not np.all(np.isfinite(array)):
        where = np.argwhere(~np.isfinite(array))[0]
        raise InputError(
            f"differences contains {array[tuple(where)]} at replication {int(where[0])}, fold {int(where[1])}; "
            "every fold needs a finite score difference."
        )
    mean = array.mean(axis=1, keepdims=True)
    variances = np.sum((array - mean) ** 2, axis=1)  # s_i**2 of Dietterich (1998)
    return array, variances


def _ratio(numerator, denominator):
    """``numerator / denominator`` with 0/0 read as 0 (no evidence) and x/0 as inf."""
    if denominator > 0:
        return numerator / denominator
    return 0.0 if numerator == 0 else math.copysign(math.inf, numerator)


def five_by_two_t(differences, *, alternative: str = "two-sided") -> TestResult:
    """Dietterich's 5x2cv paired t-test.

    ``t = p_1^(1) / sqrt(mean_i s_i**2)`` where ``p_1^(1) = differences[0, 0]`` is the difference on
    the first fold of the first replication and ``s_i**2 = sum_j (p_i^(j) - pbar_i)**2`` the variance
    estimate of replication ``i``; ``t`` is referred to Student's t with 5 degrees of freedom.

    Parameters
    ----------
    differences : array_like, shape (5, 2)
        Score of procedure A minus score of procedure B; row ``i`` is replication ``i``, column ``j``
        the fold (column 0: trained on the first half and tested on the second; column 1: swapped).
    alternative : {"two-sided", "less", "greater"}, default "two-sided"
        ``"greater"``: A scores higher than B.

    Returns
    -------
    TestResult
        ``statistic`` (t, 5 degrees of freedom), ``pvalue``, ``method = "5x2cv-t"``, ``alternative``.

    Raises
    ------
    InputError
        If ``differences`` is not of shape (5, 2), contains a non-finite value, or ``alternative`` is
        unknown.

    See Also
    --------
    five_by_two_f : Alpaydin's combined F-test, which uses all ten differences in the numerator.

    Notes
    -----
    Only the first difference enters the numerator, so the statistic depends on which replication
    comes first; Alpaydin (1999) removes this arbitrariness with :func:`five_by_two_f`. Identical to
    ``mlxtend.evaluate.paired_ttest_5x2cv`` given the same per-fold scores. When all ``s_i**2`` are 0
    the statistic is 0 if ``p_1^(1) == 0`` and +/-inf otherwise.

    References
    ----------
    .. [1] Dietterich, T. G. (1998). Approximate statistical tests for comparing supervised
       classification learning algorithms. Neural Computation, 10(7), 1895-1923.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.five_by_two import five_by_two_t
    >>> rng = np.random.default_rng(0)
    >>> differences = 0.03 + 0.02 * rng.standard_normal((5, 2))
    >>> res = five_by_two_t(differences)
    >>> print(res.method, f"{res.statistic:.3f}", f"{res.pvalue:.4f}")
    5x2cv-t 4.063 0.0097
    """
    if alternative not in ALTERNATIVES:
        raise InputError(f"alternative={alternative!r} is not one of {', '.join(ALTERNATIVES)}.")
    array, variances = _five_by_two_iv(differences)
    statistic = _ratio(float(array[0, 0]), math.sqrt(float(np.mean(variances))))
    if alternative == "two-sided":
        pvalue = 2 * stats.t.sf(abs(statistic), 5)
    elif alternative == "greater":
        pvalue = stats.t.sf(statistic, 5)
    else:
        pvalue = stats.t.cdf(statistic, 5)
    return TestResult(
        statistic=float(statistic), pvalue=float(min(pvalue, 1.0)), method="5x2cv-t", alternative=alternative
    )


def five_by_two_f(differences) -> TestResult:
    """Alpaydin's combined 5x2cv F-test.

    ``F = sum_ij (p_i^(j))**2 / (2 sum_i s_i**2)``, referred to the F distribution with (10, 5)
    degrees of freedom (upper tail). It uses all ten differences and does not depend on their order.

    Parameters
    ----------
    differences : array_like, shape (5, 2)
        Score of procedure A minus score of procedure B, one row per replication, one column per fold.

    Returns
    -------
    TestResult
        ``statistic`` (F with 10 and 5 degrees of freedom), ``pvalue``, ``method = "5x2cv-f"``,
        ``alternative = "two-sided"`` (the test detects a difference in either direction).

    Raises
    ------
    InputError
        If ``differences`` is not of shape (5, 2) or contains a non-finite value.

    Notes
    -----
    Alpaydin (1999) found it has a lower type I error and higher power than the 5x2cv t-test.
    Identical to ``mlxtend.evaluate.combined_ftest_5x2cv`` given the same per-fold scores. When all
    ``s_i**2`` are 0, the statistic is 0 (p-value 1) if all differences are 0 and inf (p-value 0)
    otherwise.

    References
    ----------
    .. [1] Alpaydin, E. (1999). Combined 5 x 2 cv F test for comparing supervised classification
       learning algorithms. Neural Computation, 11(8), 1885-1892.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.five_by_two import five_by_two_f
    >>> rng = np.random.default_rng(0)
    >>> differences = 0.03 + 0.02 * rng.standard_normal((5, 2))
    >>> res = five_by_two_f(differences)
    >>> print(res.method, f"{res.statistic:.3f}", f"{res.pvalue:.4f}")
    5x2cv-f 19.114 0.0023
    """
    array, variances = _five_by_two_iv(differences)
    statistic = _ratio(float(np.sum(array**2)), 2 * float(np.sum(variances)))
    pvalue = stats.f.sf(statistic, 10, 5)
    return TestResult(statistic=float(statistic), pvalue=float(pvalue), method="5x2cv-f")
