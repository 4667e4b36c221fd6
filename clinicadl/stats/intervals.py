"""Bootstrap confidence intervals from a distribution of replicates: percentile, basic and BCa.

All functions are vectorised over metrics: ``replicates`` has shape (B, p) and NaN marks a
replicate on which the metric was undefined (it is left out of that metric's interval).

References
----------
Efron B. (1987). Better bootstrap confidence intervals. JASA 82(397), 171-185.
Efron B., Tibshirani R. J. (1993). An Introduction to the Bootstrap, chapters 13-14.
Davison A. C., Hinkley D. V. (1997). Bootstrap Methods and their Application, section 5.2-5.3.
"""

from __future__ import annotations

import numpy as np

from clinicadl.stats.normal import ndtr, ndtri

BOOTSTRAP_METHODS = ("percentile", "basic", "bca")


def _quantiles(replicates: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Per-column quantile at a per-column probability, ignoring NaN; shape (p,)."""
    out = np.full(replicates.shape[1], np.nan)
    for j in range(replicates.shape[1]):  # loop over metrics, not over resamples
        column = replicates[:, j]
        column = column[~np.isnan(column)]
        if column.size and np.isfinite(probabilities[j]):
            out[j] = np.quantile(column, probabilities[j])
    return out


def standard_error(replicates: np.ndarray) -> np.ndarray:
    """Standard deviation (ddof=1) of the valid replicates of each metric; NaN with fewer than two."""
    valid = ~np.isnan(replicates)
    count = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, replicates, 0).sum(axis=0) / count
        squares = np.where(valid, (replicates - mean) ** 2, 0).sum(axis=0)
        return np.where(count > 1, np.sqrt(squares / (count - 1)), np.nan)


def percentile_interval(replicates: np.ndarray, confidence_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Efron's percentile interval: the alpha/2 and 1-alpha/2 quantiles of the replicates."""
    alpha = (1 - confidence_level) / 2
    p = replicates.shape[1]
    return _quantiles(replicates, np.full(p, alpha)), _quantiles(replicates, np.full(p, 1 - alpha))


def basic_interval(
    replicates: np.ndarray, estimate: np.ndarray, confidence_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Basic (reverse percentile) interval: ``2 * estimate - q(1-alpha/2), 2 * estimate - q(alpha/2)``."""
    low, high = percentile_interval(replicates, confidence_level)
    return 2 * estimate - high, 2 * estimate - low


def bias_correction(replicates: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """z0 of BCa, with ties to the estimate counted one half (mid-p; avoids an infinite z0 for
    discrete metrics whose replicates often equal the estimate)."""
    valid = ~np.isnan(replicates)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = np.sum((replicates < estimate) & valid, axis=0)
        ties = np.sum((replicates == estimate) & valid, axis=0)
        proportion = (below + ties / 2) / valid.sum(axis=0)
        return ndtri(proportion)


def acceleration(jackknife: np.ndarray) -> np.ndarray:
    """Acceleration of BCa from jackknife values (units x metrics), NaN values left out."""
    valid = ~np.isnan(jackknife)
    count = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(jackknife, axis=0) / count
        d = np.where(valid, mean - jackknife, 0.0)
        numerator = np.sum(d**3, axis=0)
        denominator = 6 * np.sum(d**2, axis=0) ** 1.5
        return np.where(denominator > 0, numerator / denominator, 0.0)


def bca_interval(
    replicates: np.ndarray, estimate: np.ndarray, jackknife: np.ndarray, confidence_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected and accelerated interval (Efron 1987).

    ``jackknife`` holds the statistic with each resampling unit left out in turn, shape (m, p):
    with the participant-level bootstrap, participants are left out.
    """
    z0 = bias_correction(replicates, estimate)
    a = acceleration(jackknife)
    alpha = (1 - confidence_level) / 2
    bounds = []
    for z_alpha in (ndtri(alpha), ndtri(1 - alpha)):
        with np.errstate(invalid="ignore", divide="ignore"):
            shifted = z0 + z_alpha
            bounds.append(_quantiles(replicates, ndtr(z0 + shifted / (1 - a * shifted))))
    return bounds[0], bounds[1]


def bootstrap_interval(
    method: str,
    replicates: np.ndarray,
    estimate: np.ndarray,
    confidence_level: float,
    jackknife: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of each metric by ``method`` (one of :data:`BOOTSTRAP_METHODS`; BCa needs ``jackknife``)."""
    if method == "percentile":
        return percentile_interval(replicates, confidence_level)
    if method == "basic":
        return basic_interval(replicates, estimate, confidence_level)
    if jackknife is None:
        raise ValueError("the BCa interval needs the jackknife values")
    return bca_interval(replicates, estimate, jackknife, confidence_level)
