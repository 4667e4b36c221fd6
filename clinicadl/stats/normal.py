"""The standard normal distribution function and its inverse, and the logistic pair, without ``scipy.special``.

Importing ``scipy.special`` costs about 0.14 s (it clones numpy's namespace for the array API), a quarter of
what ``clinicadl evaluate model`` needs end to end on 10,000 predictions, while the evaluation needs only
Phi and its inverse at a few points (z of a confidence level, BCa's corrected levels per metric). Here:

- ``ndtr(x) = erfc(-x / sqrt(2)) / 2`` with the C library's ``erfc``;
- ``ndtri(p)``: Wichura's algorithm AS 241 (Applied Statistics 37(3), 477-484, 1988; 16 digits), as
  :class:`statistics.NormalDist` implements it; ``ndtri(0) = -inf``, ``ndtri(1) = inf``, NaN outside [0, 1];
- ``expit``, ``logit``: closed forms in numpy.

Against ``scipy.special.ndtr`` / ``ndtri`` (tests/stats/test_normal.py): ``ndtri`` within 5 ulp on
[1e-300, 1 - 1e-16], ``ndtr`` within 1e-15 relative on [-8, 8] and 1e-12 down to -38. Element by element in
Python (about 1 microsecond each): meant for the few values an interval needs, not for millions; the statistics
that need other special functions (the beta quantiles of Clopper-Pearson and Jeffreys) import scipy when they
run.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["expit", "logit", "ndtr", "ndtri"]

_SQRT_HALF = math.sqrt(0.5)
_INV_CDF = NormalDist().inv_cdf


def _scalar_ndtri(p: float) -> float:
    if 0.0 < p < 1.0:
        return _INV_CDF(p)
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    return math.nan


def _scalar_ndtr(x: float) -> float:
    return math.nan if math.isnan(x) else 0.5 * math.erfc(-x * _SQRT_HALF)


_NDTRI = np.frompyfunc(_scalar_ndtri, 1, 1)
_NDTR = np.frompyfunc(_scalar_ndtr, 1, 1)


def _apply(function, values):
    with np.errstate(invalid="ignore"):  # NaN in, NaN out, as scipy
        out = np.asarray(function(np.asarray(values, dtype=float)), dtype=float)
    return out[()] if out.ndim == 0 else out


def ndtri(p):
    """Quantile function of the standard normal distribution (``scipy.special.ndtri``).

    Examples
    --------
    >>> round(float(ndtri(0.975)), 15)  # scipy: 1.959963984540054, one ulp above
    1.959963984540054
    >>> ndtri([0.0, 0.5, 1.0]).tolist()
    [-inf, 0.0, inf]
    """
    return _apply(_NDTRI, p)


def ndtr(x):
    """Distribution function of the standard normal distribution (``scipy.special.ndtr``).

    Examples
    --------
    >>> round(float(ndtr(1.959963984540054)), 12)
    0.975
    """
    return _apply(_NDTR, x)


def expit(x):
    """Logistic function ``1 / (1 + exp(-x))`` (``scipy.special.expit``), without overflow warnings."""
    x = np.asarray(x, dtype=float)
    decay = np.exp(-np.abs(x))  # in (0, 1]: no overflow
    out = np.where(x >= 0, 1.0 / (1.0 + decay), decay / (1.0 + decay))
    return out[()] if out.ndim == 0 else out


def logit(p):
    """Log-odds ``log(p / (1 - p))`` (``scipy.special.logit``)."""
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(p) - np.log1p(-p)
    return out[()] if out.ndim == 0 else out
