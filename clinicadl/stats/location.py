"""Confidence intervals for a location: the mean (Student t) and the median (order statistics).

These summarise a sample of values such as per-replicate accuracies of a learning procedure or
per-participant errors.

References
----------
.. [1] Student (1908). The probable error of a mean. Biometrika, 6(1), 1-25.
.. [2] Conover, W. J. (1999). Practical Nonparametric Statistics (3rd ed.), section 3.2. Wiley.
.. [3] Hahn, G. J., & Meeker, W. Q. (1991). Statistical Intervals: A Guide for Practitioners,
   section 5.2. Wiley.
"""

from __future__ import annotations

import numpy as np

from clinicadl.errors import InputError
from clinicadl.stats.results import ConfidenceInterval, IntervalResult

__all__ = ["mean_ci", "median_ci"]


def _location_iv(x, confidence_level, min_size):
    """Validate the inputs of this module; return ``x`` as a 1-D float array."""
    if isinstance(confidence_level, bool) or not isinstance(confidence_level, (int, float, np.floating)):
        raise InputError(f"confidence_level={confidence_level!r} must be a number in (0, 1), e.g. 0.95.")
    if not 0 < confidence_level < 1:
        raise InputError(
            f"confidence_level={confidence_level!r} must lie strictly between 0 and 1, e.g. 0.95."
        )
    try:
        array = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError("x must be a 1-D array of numbers.") from None
    if array.ndim != 1:
        raise InputError(f"x has shape {array.shape}; pass a 1-D array of values (one per unit).")
    if not np.all(np.isfinite(array)):
        raise InputError("x contains NaN or infinite values; remove them (and say so) before the interval.")
    if array.size < min_size:
        raise InputError(f"x has {array.size} value(s); this interval needs at least {min_size}.")
    return array


def median_ranks(n: int, confidence_level: float) -> tuple[int, int, float]:
    """1-based ranks ``(l, u)`` of the symmetric order-statistic interval of the median and its exact coverage.

    Raises InputError when ``n`` is too small for any such interval at ``confidence_level``.
    """
    from scipy import stats  # here, not at the top: scipy.stats takes longer to import than most evaluations

    tail = (1 - confidence_level) / 2
    # Largest j with P(B <= j) <= tail, B ~ Binomial(n, 1/2); then l = j + 1 and u = n + 1 - l.
    j = int(stats.binom.ppf(tail, n, 0.5))
    while j >= 0 and stats.binom.cdf(j, n, 0.5) > tail:
        j -= 1
    if j < 0:
        widest = 1 - 2 * 0.5**n
        raise InputError(
            f"n={n} values are too few for a distribution-free {confidence_level:.0%} median interval: "
            f"even [min(x), max(x)] covers only {widest:.2%}; collect more values or lower confidence_level."
        )
    coverage = 1 - 2 * float(stats.binom.cdf(j, n, 0.5))
    return j + 1, n - j, coverage


def mean_ci(x, *, confidence_level: float = 0.95) -> IntervalResult:
    """Student t confidence interval for the mean.

    Parameters
    ----------
    x : array_like of shape (n,)
        Independent values, ``n >= 2``.
    confidence_level : float, default 0.95
        Nominal coverage, in (0, 1).

    Returns
    -------
    IntervalResult
        ``estimate`` the sample mean; ``standard_error`` ``s / sqrt(n)`` with ``s`` the standard
        deviation (ddof=1); ``confidence_interval`` ``mean -/+ t_{n-1, (1+level)/2} * standard_error``,
        as ``scipy.stats.t.interval(confidence_level, n - 1, loc=mean, scale=sem)``; ``method`` ``"t"``.

    Raises
    ------
    InputError
        If ``x`` is not 1-D, has fewer than 2 values, holds NaN or infinite values, or
        ``confidence_level`` is not in (0, 1).

    Notes
    -----
    Exact for normal data, and asymptotically valid otherwise (central limit theorem); with few,
    skewed values prefer :func:`median_ci` or a bootstrap. Constant data give standard error 0 and
    the degenerate interval [mean, mean].

    References
    ----------
    .. [1] Student (1908). The probable error of a mean. Biometrika, 6(1), 1-25.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.location import mean_ci
    >>> rng = np.random.default_rng(0)
    >>> accuracies = rng.normal(0.80, 0.02, size=10)  # e.g. 10 training replicates
    >>> res = mean_ci(accuracies)
    >>> print(f"{res.estimate:.4f} [{res.confidence_interval.low:.4f}, {res.confidence_interval.high:.4f}]")
    0.8017 [0.7905, 0.8129]
    """
    array = _location_iv(x, confidence_level, min_size=2)
    n = array.size
    mean = float(array.mean())
    se = float(array.std(ddof=1) / np.sqrt(n))
    from scipy import stats  # here, not at the top: scipy.stats takes longer to import than most evaluations

    # Same operations as scipy.stats.t.interval, which however rejects scale 0.
    q_low, q_high = stats.t.ppf([(1 - confidence_level) / 2, (1 + confidence_level) / 2], n - 1)
    return IntervalResult(
        estimate=mean,
        confidence_interval=ConfidenceInterval(float(q_low * se + mean), float(q_high * se + mean)),
        standard_error=se,
        method="t",
        confidence_level=float(confidence_level),
    )


def median_ci(x, *, confidence_level: float = 0.95) -> IntervalResult:
    """Distribution-free confidence interval for the median from order statistics.

    Parameters
    ----------
    x : array_like of shape (n,)
        Independent values from a continuous distribution.
    confidence_level : float, default 0.95
        Minimum coverage, in (0, 1).

    Returns
    -------
    IntervalResult
        ``estimate`` the sample median (``numpy.median``); ``confidence_interval``
        ``[x_(l), x_(u)]``; ``standard_error`` NaN (the method defines none); ``method``
        ``"order-statistic"``; ``confidence_level`` the nominal level asked for (the achieved
        coverage is higher, see Notes).

    Raises
    ------
    InputError
        If ``x`` is not 1-D, empty, holds NaN or infinite values, ``confidence_level`` is not in
        (0, 1), or ``n`` is too small for any interval to reach ``confidence_level`` (at 95%,
        ``n < 6``).

    Notes
    -----
    The number ``B`` of values below the true median is Binomial(n, 1/2) whatever the continuous
    distribution, so ``[x_(l), x_(u)]`` with ``u = n + 1 - l`` covers the median with probability
    exactly ``1 - 2 P(B <= l - 1)`` (Conover 1999, section 3.2; Hahn & Meeker 1991, section 5.2).
    The interval is the narrowest symmetric one whose coverage is at least ``confidence_level``.
    Because ``B`` is discrete, the achieved coverage exceeds the nominal level; at 95%:

    ====  =======  =======  ========
    n     l        u        coverage
    ====  =======  =======  ========
    6     1        6        0.9688
    10    2        9        0.9785
    20    6        15       0.9586
    30    10       21       0.9572
    50    18       33       0.9672
    100   40       61       0.9648
    200   86       115      0.9600
    ====  =======  =======  ========

    With ties the coverage is at least as large. No standard error is reported: the
    Maritz-Jarrett estimate would be an addition, not needed for the interval.

    References
    ----------
    .. [1] Conover, W. J. (1999). Practical Nonparametric Statistics (3rd ed.), section 3.2. Wiley.
    .. [2] Hahn, G. J., & Meeker, W. Q. (1991). Statistical Intervals: A Guide for Practitioners,
       section 5.2. Wiley.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.location import median_ci
    >>> rng = np.random.default_rng(0)
    >>> errors = rng.lognormal(size=30)  # skewed, e.g. per-participant absolute errors
    >>> res = median_ci(errors)  # [x_(10), x_(21)], coverage 0.9572
    >>> print(f"{res.estimate:.3f} [{res.confidence_interval.low:.3f}, {res.confidence_interval.high:.3f}]")
    0.878 [0.580, 1.246]
    """
    array = _location_iv(x, confidence_level, min_size=1)
    low_rank, high_rank, _ = median_ranks(array.size, confidence_level)
    ordered = np.sort(array)
    return IntervalResult(
        estimate=float(np.median(ordered)),
        confidence_interval=ConfidenceInterval(float(ordered[low_rank - 1]), float(ordered[high_rank - 1])),
        standard_error=float("nan"),
        method="order-statistic",
        confidence_level=float(confidence_level),
    )
