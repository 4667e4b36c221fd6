"""MOVER: confidence intervals for sums and differences of parameters from their own intervals.

The method of variance estimates recovery (MOVER) builds the interval of a linear combination
``sum_j c_j theta_j`` of independently estimated parameters from the intervals ``(l_j, u_j)`` of
each: the variance of each estimate is recovered from the distance between its estimate and the
relevant bound, so the asymmetry of good single-parameter intervals (Wilson's near 0 or 1) carries
over to the combination (Zou & Donner 2008). Newcombe's (1998b) "method 10" for the difference of
two independent proportions is the MOVER of two Wilson intervals; for paired proportions (two
models on the same participants) Newcombe (1998a, method 10) adds a correlation term.

The balanced accuracy is the mean of the class-wise recalls, which are estimated on disjoint sets
of participants: its MOVER interval is the one ``clinicadl`` prints near the bound.

References
----------
Newcombe R. G. (1998a). Improved confidence intervals for the difference between binomial
proportions based on paired data. Statistics in Medicine 17(22), 2635-2650.
Newcombe R. G. (1998b). Interval estimation for the difference between independent proportions:
comparison of eleven methods. Statistics in Medicine 17(8), 873-890.
Zou G. Y., Donner A. (2008). Construction of confidence intervals for a function of parameters
using MOVER. Statistical Methods in Medical Research 17(5), 527-540 (the linear case is Zou G. Y.,
Donner A. 2008, and Zou G. Y. 2008, American Journal of Epidemiology 168(2), 212-224).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mover_linear", "newcombe_difference", "newcombe_paired_difference"]


def mover_linear(estimates, lows, highs, coefficients):
    """MOVER interval of ``sum_j c_j theta_j`` for independent estimates (Zou & Donner 2008).

    Parameters
    ----------
    estimates, lows, highs : array_like of shape (..., J)
        Estimates ``theta_j`` and their confidence bounds, along the last axis.
    coefficients : array_like of shape (J,)
        Coefficients ``c_j`` of the linear combination.

    Returns
    -------
    estimate, low, high : numpy.ndarray of shape (...)
        ``L = t - sqrt(sum_j (c_j theta_j - min(c_j l_j, c_j u_j))**2)`` and
        ``U = t + sqrt(sum_j (max(c_j l_j, c_j u_j) - c_j theta_j)**2)`` with ``t = sum_j c_j theta_j``.

    References
    ----------
    .. [1] Zou, G. Y., & Donner, A. (2008). Construction of confidence intervals for a function of
       parameters using MOVER. Statistical Methods in Medical Research, 17(5), 527-540.

    Examples
    --------
    >>> from clinicadl.stats.mover import mover_linear
    >>> from clinicadl.stats.proportion import proportion_interval
    >>> # balanced accuracy of 10/10 positives and 9/10 negatives recalled, from Wilson intervals
    >>> low, high = proportion_interval([10, 9], [10, 10])
    >>> t, lo, hi = mover_linear([1.0, 0.9], low, high, [0.5, 0.5])
    >>> print(f"{t:.3f} [{lo:.3f}, {hi:.3f}]")
    0.950 [0.744, 0.991]
    """
    theta = np.asarray(estimates, dtype=float)
    c = np.asarray(coefficients, dtype=float)
    a, b = c * np.asarray(lows, dtype=float), c * np.asarray(highs, dtype=float)
    point = c * theta
    total = point.sum(axis=-1)
    low = total - np.sqrt(np.sum((point - np.minimum(a, b)) ** 2, axis=-1))
    high = total + np.sqrt(np.sum((np.maximum(a, b) - point) ** 2, axis=-1))
    return total, low, high


def newcombe_difference(p1, l1, u1, p2, l2, u2):
    """Interval of ``p1 - p2`` for independent proportions from their own intervals (Newcombe 1998b, method 10).

    Parameters
    ----------
    p1, l1, u1, p2, l2, u2 : array_like
        The two estimates and their (Wilson, for Newcombe's method 10) bounds.

    Returns
    -------
    low, high : numpy.ndarray
        ``d - sqrt((p1 - l1)**2 + (u2 - p2)**2)`` and ``d + sqrt((u1 - p1)**2 + (p2 - l2)**2)``.

    References
    ----------
    .. [1] Newcombe, R. G. (1998). Interval estimation for the difference between independent
       proportions: comparison of eleven methods. Statistics in Medicine, 17(8), 873-890.

    Examples
    --------
    >>> from clinicadl.stats.mover import newcombe_difference
    >>> from clinicadl.stats.proportion import proportion_interval
    >>> (l1, l2), (u1, u2) = proportion_interval([56, 48], [70, 80])  # Newcombe's example (a)
    >>> low, high = newcombe_difference(56 / 70, l1, u1, 48 / 80, l2, u2)
    >>> print(f"[{low:.4f}, {high:.4f}]")
    [0.0524, 0.3339]
    """
    _, low, high = mover_linear(np.stack(np.broadcast_arrays(p1, p2), axis=-1),
                                np.stack(np.broadcast_arrays(l1, l2), axis=-1),
                                np.stack(np.broadcast_arrays(u1, u2), axis=-1), [1.0, -1.0])
    return low, high


def newcombe_paired_difference(both, only_first, only_second, neither, *, confidence_level: float = 0.95):
    """Interval of ``p1 - p2`` for paired proportions (Newcombe 1998a, method 10).

    Two models scored on the same cases: ``p1 = (both + only_first) / n`` and
    ``p2 = (both + only_second) / n`` with ``n`` the total. The Wilson intervals of ``p1`` and ``p2``
    are combined with the correlation between the two success indicators, estimated by the phi
    coefficient with Newcombe's continuity correction.

    Parameters
    ----------
    both, only_first, only_second, neither : array_like of int
        Counts of the 2x2 table: cases both models get right, only the first, only the second, neither.
    confidence_level : float, default 0.95

    Returns
    -------
    difference, low, high : numpy.ndarray

    Notes
    -----
    With ``A, B, C, D`` the four counts, ``phi = (A D - B C) / sqrt((A + B)(C + D)(A + C)(B + D))``,
    0 when the denominator is 0; when ``A D > B C`` the numerator is ``max(A D - B C - n / 2, 0)``.
    ``L = d - sqrt(dl1**2 - 2 phi dl1 du2 + du2**2)`` and ``U = d + sqrt(du1**2 - 2 phi du1 dl2 + dl2**2)``
    with ``dl = p - l`` and ``du = u - p`` from the Wilson intervals (Newcombe 1998a, method 10).

    References
    ----------
    .. [1] Newcombe, R. G. (1998). Improved confidence intervals for the difference between binomial
       proportions based on paired data. Statistics in Medicine, 17(22), 2635-2650.

    Examples
    --------
    >>> from clinicadl.stats.mover import newcombe_paired_difference
    >>> d, low, high = newcombe_paired_difference(40, 8, 2, 10)
    >>> print(f"{d:.3f} [{low:.3f}, {high:.3f}]")
    0.100 [-0.006, 0.207]
    """
    from clinicadl.stats.proportion import proportion_interval

    a, b, c, d = (np.asarray(x, dtype=float) for x in (both, only_first, only_second, neither))
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    (l1, l2), (u1, u2) = proportion_interval(np.stack([a + b, a + c]), np.stack([n, n]),
                                             confidence_level=confidence_level)
    cross = a * d - b * c
    numerator = np.where(cross > 0, np.maximum(cross - n / 2, 0.0), cross)
    denominator = np.sqrt((a + b) * (c + d) * (a + c) * (b + d))
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(denominator > 0, numerator / denominator, 0.0)
    dl1, du1, dl2, du2 = p1 - l1, u1 - p1, p2 - l2, u2 - p2
    diff = p1 - p2
    low = diff - np.sqrt(np.maximum(dl1**2 - 2 * phi * dl1 * du2 + du2**2, 0.0))
    high = diff + np.sqrt(np.maximum(du1**2 - 2 * phi * du1 * dl2 + dl2**2, 0.0))
    return diff, low, high
