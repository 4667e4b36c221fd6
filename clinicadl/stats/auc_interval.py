"""Intervals for the AUC that keep their coverage near 1, with participant clustering respected.

DeLong's Wald interval is degenerate at perfect separation (its standard error is 0) and
under-covers near AUC = 1 with few participants. Two forms behave better there:

- Newcombe's (2006) score-type interval for the Mann-Whitney AUC (his method 5): the bounds are the
  roots ``theta`` of ``(AUC - theta)**2 = z**2 V(theta)``, where ``V`` is the Hanley & McNeil (1982)
  variance at ``theta`` with both sample sizes replaced by their mean. Like Wilson's interval for a
  proportion it never collapses to a point and stays inside [0, 1];
- the DeLong interval on the logit scale, ``expit(logit(AUC) -/+ z se / (AUC (1 - AUC)))``, which is
  undefined at AUC = 1.

With several images per participant the AUC is a ratio estimator over participants; its variance
is DeLong's with the structural components summed per participant (Obuchowski 1997). Its ratio to
the row-level variance is a design effect, and the numbers of positive and negative images divided
by it are the effective sample sizes fed to Newcombe's interval (as :mod:`clinicadl.stats.effective_size`
does for proportions); at perfect separation, where no variance can be estimated, the design effect
of perfectly correlated rows is used (Kish's effective number of participants per class).

References
----------
DeLong E. R., DeLong D. M., Clarke-Pearson D. L. (1988). Comparing the areas under two or more
correlated receiver operating characteristic curves. Biometrics 44(3), 837-845.
Hanley J. A., McNeil B. J. (1982). The meaning and use of the area under a ROC curve. Radiology
143(1), 29-36.
Newcombe R. G. (2006). Confidence intervals for an effect size measure based on the Mann-Whitney
statistic. Part 2: asymptotic methods and evaluation. Statistics in Medicine 25(4), 559-573.
Obuchowski N. A. (1997). Nonparametric analysis of clustered ROC curve data. Biometrics 53(2), 567-578.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clinicadl.stats.normal import expit, logit, ndtri

__all__ = ["AucSampleSizes", "auc_sample_sizes", "logit_delong_interval", "newcombe_auc_interval"]

_BISECTIONS = 60


def _newcombe_variance(theta, n_pos, n_neg):
    """Hanley-McNeil variance at ``theta`` with both sample sizes replaced by their mean (Newcombe 2006)."""
    extra = (n_pos + n_neg) / 2 - 1
    return theta * (1 - theta) / (n_pos * n_neg) * (1 + extra * ((1 - theta) / (2 - theta) + theta / (1 + theta)))


def newcombe_auc_interval(auc, n_pos, n_neg, *, confidence_level: float = 0.95):
    """Newcombe's (2006, method 5) score-type interval for a Mann-Whitney AUC, vectorised.

    Parameters
    ----------
    auc : array_like
        Estimated AUCs (ties counted one half).
    n_pos, n_neg : array_like
        Numbers of positive and negative cases (or effective numbers, for clustered data).
    confidence_level : float, default 0.95

    Returns
    -------
    low, high : numpy.ndarray
        Roots of ``(auc - theta)**2 = z**2 V(theta)`` below and above ``auc`` with
        ``V(theta) = theta (1 - theta) / (m n) [1 + (N* - 1) ((1 - theta) / (2 - theta) + theta / (1 + theta))]``,
        ``N* = (m + n) / 2``; found by bisection (60 halvings: to machine precision). The upper bound
        is 1 when ``auc`` is 1 and the lower bound 0 when ``auc`` is 0.

    References
    ----------
    .. [1] Newcombe, R. G. (2006). Confidence intervals for an effect size measure based on the
       Mann-Whitney statistic. Part 2: asymptotic methods and evaluation. Statistics in Medicine,
       25(4), 559-573.
    .. [2] Hanley, J. A., & McNeil, B. J. (1982). The meaning and use of the area under a receiver
       operating characteristic (ROC) curve. Radiology, 143(1), 29-36.

    Examples
    --------
    >>> from clinicadl.stats.auc_interval import newcombe_auc_interval
    >>> low, high = newcombe_auc_interval(1.0, 5, 5)  # perfect separation of 5 + 5 participants
    >>> print(f"[{low:.3f}, {high:.3f}]")
    [0.643, 1.000]
    """
    theta = np.asarray(auc, dtype=float)
    m, n = np.broadcast_arrays(np.asarray(n_pos, dtype=float), np.asarray(n_neg, dtype=float))
    theta, m, n = np.broadcast_arrays(theta, m, n)
    z2 = ndtri(0.5 + confidence_level / 2) ** 2

    def excess(t):  # positive outside the interval, negative inside
        return (theta - t) ** 2 - z2 * _newcombe_variance(t, m, n)

    bounds = []
    for outer in (np.zeros_like(theta), np.ones_like(theta)):
        inside, outside = theta.copy(), outer.copy()
        for _ in range(_BISECTIONS):  # a loop over halvings, vectorised over intervals
            middle = (inside + outside) / 2
            out = excess(middle) > 0
            outside = np.where(out, middle, outside)
            inside = np.where(out, inside, middle)
        bound = (inside + outside) / 2
        bounds.append(np.where(theta == outer, outer, bound))
    low, high = bounds
    undefined = ~np.isfinite(theta) | ~(m > 0) | ~(n > 0)
    return np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)


def logit_delong_interval(auc, standard_error, *, confidence_level: float = 0.95):
    """DeLong's interval on the logit scale: ``expit(logit(auc) -/+ z se / (auc (1 - auc)))``.

    Undefined (NaN) at ``auc`` of 0 or 1 and where the standard error is 0 or NaN: the transformation
    cannot recover a spread that the data do not show.

    References
    ----------
    .. [1] DeLong, E. R., DeLong, D. M., & Clarke-Pearson, D. L. (1988). Biometrics, 44(3), 837-845.
    .. [2] Pepe, M. S. (2003). The Statistical Evaluation of Medical Tests for Classification and
       Prediction. Oxford University Press, section 5.2 (intervals on a transformed scale).

    Examples
    --------
    >>> from clinicadl.stats.auc_interval import logit_delong_interval
    >>> low, high = logit_delong_interval(0.95, 0.03)
    >>> print(f"[{low:.3f}, {high:.3f}]")
    [0.846, 0.985]
    """
    theta = np.asarray(auc, dtype=float)
    se = np.asarray(standard_error, dtype=float)
    z = ndtri(0.5 + confidence_level / 2)
    ok = (theta > 0) & (theta < 1) & (se > 0) & np.isfinite(se)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = logit(np.clip(theta, 1e-300, 1 - 1e-16))
        step = z * se / (theta * (1 - theta))
    return np.where(ok, expit(centre - step), np.nan), np.where(ok, expit(centre + step), np.nan)


@dataclass(frozen=True)
class AucSampleSizes:
    """AUC of clustered data, its variances and the effective numbers of positive and negative images.

    Attributes
    ----------
    auc : float
        Mann-Whitney AUC over images (ties one half).
    variance : float
        Participant-level (Obuchowski 1997) variance of the AUC; DeLong's when each participant has one image.
    row_variance : float
        The same computed as if every image were its own participant.
    design_effect : float
        ``variance / row_variance`` clipped to ``[1, largest possible]``; the largest possible (perfect
        correlation within participants) where ``row_variance`` is 0.
    n_pos, n_neg : float
        Numbers of positive and negative images divided by the design effect.
    """

    auc: float
    variance: float
    row_variance: float
    design_effect: float
    n_pos: float
    n_neg: float


def _linearised_variance(units, influence, n_units):
    """``c / (c - 1) * sum_u (sum of the influence of unit u)**2`` over the ``c`` units that have rows."""
    per_unit = np.bincount(units, weights=influence, minlength=n_units)
    present = np.bincount(units, minlength=n_units) > 0
    c = int(present.sum())
    return c / (c - 1) * float(np.sum(per_unit[present] ** 2)) if c > 1 else np.nan


def auc_sample_sizes(y_positive, score, units) -> AucSampleSizes:
    """The AUC with its participant-level variance and effective sample sizes.

    Parameters
    ----------
    y_positive : array_like of bool, shape (n,)
        True for the images of the positive class.
    score : array_like of shape (n,)
        Score of the positive class.
    units : array_like of int, shape (n,)
        Participant code (0 .. n_units - 1) of each image.

    Returns
    -------
    AucSampleSizes

    Notes
    -----
    With placement values ``V10`` (share of negatives below each positive image) and ``V01`` (share of
    positives above each negative image), ``AUC - theta`` is linearised as
    ``sum_pos (V10 - theta) / M + sum_neg (V01 - theta) / N``; summing this influence per participant
    and taking the empirical variance over participants gives Obuchowski's (1997) clustered
    variance, and over images DeLong's (1988), up to the factor ``c / (c - 1)``.

    References
    ----------
    .. [1] Obuchowski, N. A. (1997). Nonparametric analysis of clustered ROC curve data. Biometrics,
       53(2), 567-578.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.auc_interval import auc_sample_sizes
    >>> y = np.array([0, 0, 0, 1, 1, 1]); s = np.array([0.1, 0.2, 0.6, 0.5, 0.8, 0.9])
    >>> res = auc_sample_sizes(y == 1, s, np.array([0, 0, 1, 2, 2, 3]))  # participants 0 and 2: two images
    >>> print(f"{res.auc:.3f} {res.design_effect:.2f} {res.n_pos:.2f} {res.n_neg:.2f}")
    0.889 1.00 3.00 3.00
    """
    positive = np.asarray(y_positive, dtype=bool)
    s = np.asarray(score, dtype=float)
    u = np.asarray(units, dtype=np.int64)
    n_units = int(u.max()) + 1
    neg_sorted, pos_sorted = np.sort(s[~positive]), np.sort(s[positive])
    m, n = pos_sorted.size, neg_sorted.size
    pos_s, neg_s = s[positive], s[~positive]
    v10 = (np.searchsorted(neg_sorted, pos_s, "left") + np.searchsorted(neg_sorted, pos_s, "right")) / (2 * n)
    v01 = (2 * m - np.searchsorted(pos_sorted, neg_s, "left") - np.searchsorted(pos_sorted, neg_s, "right")) / (2 * m)
    auc = float(v10.mean())
    influence = np.empty(s.size)
    influence[positive] = (v10 - auc) / m
    influence[~positive] = (v01 - auc) / n
    variance = _linearised_variance(u, influence, n_units)
    row_variance = _linearised_variance(np.arange(s.size), influence, s.size)
    # largest design effect: every participant's images perfectly correlated (Kish), per class
    kish = max(float(np.sum(np.bincount(u[positive]) ** 2)) / m, float(np.sum(np.bincount(u[~positive]) ** 2)) / n)
    if row_variance > 0 and np.isfinite(variance):
        deff = float(np.clip(variance / row_variance, 1.0, max(kish, 1.0)))
    else:
        deff = max(kish, 1.0)
    return AucSampleSizes(auc=auc, variance=float(variance), row_variance=float(row_variance), design_effect=deff,
                          n_pos=m / deff, n_neg=n / deff)
