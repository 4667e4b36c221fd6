"""Confidence intervals for a binomial proportion (accuracy, sensitivity, specificity, ...).

Three intervals are offered, following the recommendations of Brown, Cai & DasGupta (2001):
``"wilson"`` (score interval, the default), ``"jeffreys"`` (equal-tailed Bayesian interval with the
Jeffreys prior, which has good frequentist coverage) and ``"clopper-pearson"`` (the "exact" interval,
conservative). The Wald interval is deliberately absent: its coverage is erratic and poor for the
sample sizes of neuroimaging studies.

References
----------
.. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
   Journal of the American Statistical Association, 22(158), 209-212.
.. [2] Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated
   in the case of the binomial. Biometrika, 26(4), 404-413.
.. [3] Brown, L. D., Cai, T. T., & DasGupta, A. (2001). Interval estimation for a binomial proportion.
   Statistical Science, 16(2), 101-133.
"""

from __future__ import annotations

import numpy as np

from clinicadl.errors import InputError, plain
from clinicadl.stats.normal import ndtri
from clinicadl.stats.results import ConfidenceInterval, IntervalResult

__all__ = ["PROPORTION_METHODS", "proportion_ci", "proportion_interval"]

#: Interval methods accepted by :func:`proportion_ci` and :func:`proportion_interval`.
PROPORTION_METHODS = ("wilson", "clopper-pearson", "jeffreys")


def _proportion_iv(k, n, confidence_level, method, *, scalar):
    """Validate and normalise the inputs of this module; return ``k, n`` as float arrays."""
    if method not in PROPORTION_METHODS:
        raise InputError(
            f"method={method!r} is not a proportion interval method; use one of {PROPORTION_METHODS}."
        )
    if isinstance(confidence_level, bool) or not isinstance(confidence_level, (int, float, np.floating)):
        raise InputError(f"confidence_level={confidence_level!r} must be a number in (0, 1), e.g. 0.95.")
    if not 0 < confidence_level < 1:
        raise InputError(
            f"confidence_level={confidence_level!r} must lie strictly between 0 and 1, e.g. 0.95."
        )
    arrays = []
    for name, value in (("k", k), ("n", n)):
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise InputError(
                f"{name}={plain(value)} must be a non-negative integer count (or an array of them)."
            ) from None
        if scalar and array.ndim != 0:
            raise InputError(
                f"{name} has shape {array.shape} but proportion_ci takes one count; "
                "use proportion_interval for arrays of counts."
            )
        bad = ~np.isfinite(array) | (array < 0) | (array != np.floor(array))
        if np.any(bad):
            raise InputError(
                f"{name}={np.asarray(value)[bad].ravel()[0].item()!r} is not a non-negative integer count; "
                "pass the number of successes k and of trials n."
            )
        arrays.append(array)
    k_arr, n_arr = arrays
    try:
        k_arr, n_arr = np.broadcast_arrays(k_arr, n_arr)
    except ValueError:
        raise InputError(
            f"k of shape {k_arr.shape} and n of shape {n_arr.shape} do not broadcast together."
        ) from None
    if np.any(n_arr == 0):
        raise InputError("n=0 trials: a proportion needs at least one trial; drop the empty group.")
    if np.any(k_arr > n_arr):
        index = np.flatnonzero(k_arr > n_arr)[0]
        raise InputError(
            f"k={k_arr.ravel()[index]:g} successes exceed n={n_arr.ravel()[index]:g} trials; "
            "k must satisfy 0 <= k <= n."
        )
    return k_arr, n_arr


def _interval(k, n, confidence_level, method):
    """The interval for validated float arrays ``k``, ``n`` of equal shape."""
    alpha = (1 - confidence_level) / 2
    at_zero, at_n = k == 0, k == n
    if method == "wilson":
        # Same algebra as scipy.stats.binomtest(...).proportion_ci(method="wilson") (Newcombe 1998).
        z = ndtri(0.5 + 0.5 * confidence_level)
        p = k / n
        denom = 2 * (n + z**2)
        center = (2 * n * p + z**2) / denom
        delta = z / denom * np.sqrt(4 * n * p * (1 - p) + z**2)
        low, high = center - delta, center + delta
    else:
        if method == "clopper-pearson":
            a_low, b_low = k, n - k + 1  # lower: Beta(k, n - k + 1) quantile alpha
            a_high, b_high = k + 1, n - k  # upper: Beta(k + 1, n - k) quantile 1 - alpha
        else:  # jeffreys: Beta(k + 1/2, n - k + 1/2) quantiles
            a_low, b_low = k + 0.5, n - k + 0.5
            a_high, b_high = a_low, b_low
        # Placeholder shape parameters where the bound is fixed at 0 or 1 keep scipy away from Beta(0, .).
        # Beta quantiles: the values of scipy.stats.beta.ppf / isf (both Boost's ibeta_inv), without importing
        # scipy.stats, which takes longer than most evaluations (scipy.special only when these methods run).
        from scipy import special

        low = special.betaincinv(np.where(at_zero, 1.0, a_low), b_low, alpha)
        high = special.betainccinv(a_high, np.where(at_n, 1.0, b_high), alpha)
    low = np.where(at_zero, 0.0, low)
    high = np.where(at_n, 1.0, high)
    return low, high


def proportion_interval(k, n, *, confidence_level: float = 0.95, method: str = "wilson"):
    """Vectorised confidence bounds for binomial proportions ``k / n``.

    The array form of :func:`proportion_ci` (both share one kernel), for many proportions at once
    (per class, per bootstrap resample, per simulated data set).

    Parameters
    ----------
    k : int or array_like of int
        Numbers of successes, ``0 <= k <= n``.
    n : int or array_like of int
        Numbers of trials, ``n >= 1``; broadcast against ``k``.
    confidence_level : float, default 0.95
        Nominal coverage, in (0, 1).
    method : {"wilson", "clopper-pearson", "jeffreys"}, default "wilson"
        Interval method; see :func:`proportion_ci`.

    Returns
    -------
    low, high : numpy.ndarray
        Lower and upper bounds, of the broadcast shape of ``k`` and ``n`` (0-d arrays for scalars).

    Raises
    ------
    InputError
        If a count is negative, not an integer, ``k > n``, ``n == 0``, or an option is invalid.

    References
    ----------
    .. [1] Brown, L. D., Cai, T. T., & DasGupta, A. (2001). Interval estimation for a binomial
       proportion. Statistical Science, 16(2), 101-133.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.proportion import proportion_interval
    >>> rng = np.random.default_rng(0)
    >>> n = np.array([20, 50, 100])
    >>> k = rng.binomial(n, 0.8)
    >>> low, high = proportion_interval(k, n, method="jeffreys")
    >>> bool(np.all((low <= k / n) & (k / n <= high)))
    True
    >>> bool(np.all(np.diff(high - low) < 0))  # more trials, narrower intervals
    True
    """
    k_arr, n_arr = _proportion_iv(k, n, confidence_level, method, scalar=False)
    return _interval(k_arr, n_arr, confidence_level, method)


def proportion_ci(k, n, *, confidence_level: float = 0.95, method: str = "wilson") -> IntervalResult:
    """Confidence interval for a binomial proportion ``k / n``.

    Parameters
    ----------
    k : int
        Number of successes (e.g. correctly classified cases), ``0 <= k <= n``.
    n : int
        Number of trials (cases), ``n >= 1``.
    confidence_level : float, default 0.95
        Nominal coverage, in (0, 1).
    method : {"wilson", "clopper-pearson", "jeffreys"}, default "wilson"
        ``"wilson"``: score interval of Wilson (1927), equal to
        ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``.
        ``"clopper-pearson"``: the "exact" interval of Clopper & Pearson (1934), from Beta quantiles,
        equal to ``scipy.stats.binomtest(k, n).proportion_ci(method="exact")``; its coverage is at
        least nominal for every true proportion, at the price of width.
        ``"jeffreys"``: equal-tailed quantiles of the Beta(k + 1/2, n - k + 1/2) posterior.

    Returns
    -------
    IntervalResult
        ``estimate`` is ``k / n``; ``confidence_interval`` the bounds; ``standard_error`` the
        plug-in ``sqrt(p (1 - p) / n)`` (0 when ``k`` is 0 or ``n``, although the interval is not
        degenerate); ``method`` and ``confidence_level`` as given.

    Raises
    ------
    InputError
        If a count is negative, not an integer, not a scalar, ``k > n``, ``n == 0``, or an option
        is invalid.

    Notes
    -----
    Following Brown, Cai & DasGupta (2001, section 4.1.1), every method sets the lower bound to 0
    when ``k == 0`` and the upper bound to 1 when ``k == n``; for the Jeffreys interval this
    boundary modification is what keeps the coverage from dropping near p = 0 and p = 1, and for
    Wilson and Clopper-Pearson it agrees with the limit of the formula. Brown, Cai & DasGupta
    recommend Wilson or Jeffreys for ``n <= 40`` and any of them beyond; Clopper-Pearson is
    conservative throughout.

    References
    ----------
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
       inference. Journal of the American Statistical Association, 22(158), 209-212.
    .. [2] Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial limits
       illustrated in the case of the binomial. Biometrika, 26(4), 404-413.
    .. [3] Brown, L. D., Cai, T. T., & DasGupta, A. (2001). Interval estimation for a binomial
       proportion. Statistical Science, 16(2), 101-133.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.proportion import proportion_ci
    >>> rng = np.random.default_rng(0)
    >>> correct = rng.random(40) < 0.85  # per-case correctness of a classifier
    >>> res = proportion_ci(int(correct.sum()), correct.size)
    >>> print(f"{res.estimate:.3f} [{res.confidence_interval.low:.3f}, {res.confidence_interval.high:.3f}]")
    0.800 [0.652, 0.895]
    >>> res = proportion_ci(0, 30, method="jeffreys")
    >>> print(f"[{res.confidence_interval.low:.3f}, {res.confidence_interval.high:.3f}]")
    [0.000, 0.080]
    """
    k_arr, n_arr = _proportion_iv(k, n, confidence_level, method, scalar=True)
    low, high = _interval(k_arr, n_arr, confidence_level, method)
    k_f, n_f = float(k_arr), float(n_arr)
    p = k_f / n_f
    return IntervalResult(
        estimate=p,
        confidence_interval=ConfidenceInterval(float(low), float(high)),
        standard_error=float(np.sqrt(p * (1 - p) / n_f)),
        method=method,
        confidence_level=float(confidence_level),
    )
