"""Effective sample size of a proportion estimated from clustered rows (several images per participant).

A proportion such as accuracy is a ratio estimator ``p = sum_i k_i / sum_i m_i`` over participants
``i`` with ``m_i`` rows of which ``k_i`` are successes. When the rows of a participant are correlated,
its variance exceeds the binomial ``p (1 - p) / M`` (``M = sum_i m_i``) by the design effect
``deff`` (Kish 1965). Dividing the counts by ``deff`` gives an *effective* number of trials and of
successes with the same estimate and the cluster-robust variance, which the binomial intervals
(Wilson, Clopper-Pearson, Jeffreys) then accept unchanged (Korn & Graubard 1998).

The design effect is estimated with the participant-level (linearisation) variance of the ratio
estimator and kept within its possible range: at least 1 (clustering is not assumed to help) and at
most ``M sum_i m_i**2 / M**2``, the design effect of perfectly correlated rows (Kish's effective
number of clusters). Where it cannot be estimated (``p`` is 0 or 1, a single participant) the
upper end is used: an estimate at the bound gives no information about the correlation, so the
conservative value is taken.

References
----------
Kish L. (1965). Survey Sampling. Wiley, section 8.2 (design effect, ratio estimators).
Korn E. L., Graubard B. I. (1998). Confidence intervals for proportions with small expected number
of positive counts estimated from survey data. Survey Methodology 24(2), 193-201.
Cochran W. G. (1977). Sampling Techniques, 3rd ed., section 6.4 (variance of a ratio estimator).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EffectiveCounts", "effective_counts"]


@dataclass(frozen=True)
class EffectiveCounts:
    """Counts of a proportion divided by its design effect (arrays over the leading axes).

    Attributes
    ----------
    successes : numpy.ndarray
        Effective number of successes ``p * trials`` (not an integer in general).
    trials : numpy.ndarray
        Effective number of trials ``M / design_effect``.
    design_effect : numpy.ndarray
        The design effect used, in ``[1, M sum m_i**2 / M**2]``.
    n_clusters : numpy.ndarray
        Number of participants with at least one row in the denominator.
    """

    successes: np.ndarray
    trials: np.ndarray
    design_effect: np.ndarray
    n_clusters: np.ndarray


def effective_counts(successes, trials) -> EffectiveCounts:
    """Effective counts of a proportion from per-participant counts, vectorised over leading axes.

    Parameters
    ----------
    successes : array_like of shape (..., m)
        Successes ``k_i`` of each participant (0 where the participant has no row in the denominator).
    trials : array_like of shape (..., m)
        Rows ``m_i`` of each participant in the denominator (0: the participant does not count).

    Returns
    -------
    EffectiveCounts
        With one row per participant the design effect is exactly 1 and the counts are unchanged.

    Notes
    -----
    ``var = c / (c - 1) * sum_i (k_i - p m_i)**2 / M**2`` over the ``c`` participants with ``m_i > 0``
    (Cochran 1977, eq. 6.13) and ``deff = var / (p (1 - p) / M)``, clipped to
    ``[1, M sum_i m_i**2 / M**2]``; where ``p (1 - p) = 0`` or ``c < 2`` the upper end is used.

    References
    ----------
    .. [1] Kish, L. (1965). Survey Sampling. Wiley.
    .. [2] Korn, E. L., & Graubard, B. I. (1998). Confidence intervals for proportions with small
       expected number of positive counts estimated from survey data. Survey Methodology, 24(2), 193-201.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.effective_size import effective_counts
    >>> res = effective_counts([3, 2, 0, 1], [3, 2, 1, 1])  # 4 participants, 7 images, 6 correct
    >>> print(np.round(res.trials, 2), np.round(res.design_effect, 2))
    4.41 1.59
    >>> float(effective_counts([1, 1, 0], [1, 1, 1]).design_effect)  # one image each: no adjustment
    1.0
    """
    k = np.asarray(successes, dtype=float)
    m = np.asarray(trials, dtype=float)
    total = m.sum(axis=-1)
    hits = k.sum(axis=-1)
    clusters = np.sum(m > 0, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = hits / total
        residual = k - p[..., None] * m
        ratio_var = clusters / (clusters - 1) * np.sum(residual**2, axis=-1) / total**2
        binomial_var = p * (1 - p) / total
        deff_max = np.sum(m**2, axis=-1) / total
        estimated = ratio_var / binomial_var
    usable = (binomial_var > 0) & (clusters > 1) & np.isfinite(estimated)
    deff = np.where(usable, np.clip(np.where(usable, estimated, 1.0), 1.0, np.maximum(deff_max, 1.0)), deff_max)
    deff = np.maximum(deff, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = total / deff
    return EffectiveCounts(successes=p * n_eff, trials=n_eff, design_effect=deff, n_clusters=clusters)
