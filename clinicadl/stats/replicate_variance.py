"""Difference of the between-replicate variances of two procedures, with a bootstrap interval over replicates.

The variance that re-optimising the hyper-parameters adds to a learning procedure is the between-replicate
variance of the procedure with the hyper-parameters re-drawn per replicate minus that of the same procedure with
them fixed (Bouthillier et al. 2021). Each procedure's replicates are resampled independently (a percentile
bootstrap; conservative when the replicates are paired through their seeds), in one vectorised draw per
procedure.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Efron B., Tibshirani R. J. (1993). An Introduction to the Bootstrap, chapter 13 (percentile interval).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clinicadl.errors import InputError
from clinicadl.stats.results import ConfidenceInterval

__all__ = ["VarianceDifference", "variance_difference"]


@dataclass(frozen=True)
class VarianceDifference:
    """Between-replicate variance of A minus that of B.

    Attributes
    ----------
    estimate : float
        ``variance_a - variance_b``.
    variance_a, variance_b : float
        Sample variances (ddof 1) of each procedure's per-replicate values.
    confidence_interval : ConfidenceInterval
        Percentile bootstrap interval of the difference.
    standard_error : float
        Standard deviation of the bootstrap differences.
    n_resamples : int
    confidence_level : float
    method : str
    """

    estimate: float
    variance_a: float
    variance_b: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    n_resamples: int
    confidence_level: float
    method: str = "difference of between-replicate variances, bootstrap over replicates"


def variance_difference(values_a, values_b, *, n_resamples: int = 10_000, confidence_level: float = 0.95,
                        rng: np.random.Generator | int | None = None) -> VarianceDifference:
    """Difference of the variances of two sets of replicate values, with a percentile bootstrap interval.

    Parameters
    ----------
    values_a, values_b : array_like of float
        One value per replicate of each procedure (at least 2 each).
    n_resamples : int, default 10000
    confidence_level : float, default 0.95
    rng : numpy.random.Generator or int or None
        Seed or generator of the resamples; a generator is advanced (``values_a``'s draw first), so that several
        metrics drawn from one generator in turn are reproducible from its seed.

    Returns
    -------
    VarianceDifference

    Raises
    ------
    InputError
        Fewer than two replicates in one of the procedures.

    Examples
    --------
    >>> res = variance_difference([0.70, 0.80, 0.75], [0.74, 0.76, 0.75], n_resamples=200, rng=0)
    >>> round(res.estimate, 5), res.confidence_interval.low <= res.estimate
    (0.0024, True)
    """
    arrays = [np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)]
    if min(len(v) for v in arrays) < 2:
        raise InputError("The variance between replicates needs at least 2 replicates of each procedure.")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    observed = [float(np.var(v, ddof=1)) for v in arrays]
    boot = []
    for v in arrays:  # two procedures, not resamples: each bootstrap is one vectorised draw
        index = generator.integers(0, len(v), size=(n_resamples, len(v)))
        boot.append(np.var(v[index], axis=1, ddof=1))
    difference = boot[0] - boot[1]
    low, high = np.quantile(difference, [(1 - confidence_level) / 2, (1 + confidence_level) / 2])
    return VarianceDifference(observed[0] - observed[1], observed[0], observed[1],
                              ConfidenceInterval(float(low), float(high)), float(np.std(difference, ddof=1)),
                              n_resamples, confidence_level)
