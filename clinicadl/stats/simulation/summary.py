"""The summary of a simulation study: counts per chunk, then coverage, type I error or power with Monte-Carlo SE.

Each chunk of simulated data sets is reduced to sums (:class:`ChunkCounts`, what the cache stores); the sums
of all chunks give a :class:`SimulationResult`: coverage, type I error or power, mean interval width and the
bias of the point estimate, each with its Monte-Carlo standard error (Morris et al. 2019, table 6).

References
----------
Morris T. P., White I. R., Crowther M. J. (2019). Using simulation studies to evaluate statistical methods.
Statistics in Medicine 38(11), 2074-2102.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass

import numpy as np

from clinicadl.stats.simulation.protocols import IntervalOutcome, ProcedureUnderTest, Scenario, TestOutcome

DEPARTURE_SE = 3.0  # a rate further than 3 Monte-Carlo SE from its nominal value is reported as a departure


@dataclass(frozen=True)
class ChunkCounts:
    """Sums over the simulated data sets of one chunk (what the cache stores).

    ``hits`` counts covering intervals (intervals) or rejections at ``nominal`` (tests); ``miss_low`` intervals
    entirely above the truth, ``miss_high`` entirely below; sums of widths and of estimate errors (and their
    squares) give the means and their Monte-Carlo standard errors.
    """

    n: int
    undefined: int
    hits: int
    miss_low: int = 0
    miss_high: int = 0
    width_sum: float = 0.0
    width_sq_sum: float = 0.0
    error_sum: float = 0.0
    error_sq_sum: float = 0.0

    def __add__(self, other: ChunkCounts) -> ChunkCounts:
        return ChunkCounts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def mc_se(rate: float, n_sim: int) -> float:
    """Monte-Carlo standard error ``sqrt(p (1 - p) / R)`` of a rate ``p`` estimated from ``R`` simulations.

    Examples
    --------
    >>> round(mc_se(0.95, 2000), 4)
    0.0049
    """
    if n_sim <= 0:
        return math.nan
    return math.sqrt(max(rate * (1 - rate), 0.0) / n_sim)


@dataclass(frozen=True)
class SimulationResult:
    """Operating characteristics of one procedure in one scenario.

    Attributes
    ----------
    scenario, procedure : str
        Scenario key and procedure name.
    kind : {"interval", "test"}
    measure : {"coverage", "type I error", "power"}
        What ``rate`` is: the proportion of intervals containing the truth, or of rejections at level
        ``nominal`` when the null holds (type I error) or does not (power).
    rate, rate_se : float
        The rate over the defined outcomes and its Monte-Carlo SE ``sqrt(rate (1 - rate) / n_defined)``.
    nominal_rate : float
        What ``rate`` should be: the confidence level, alpha, or NaN for power.
    mean_width, width_se : float
        Mean interval width and its MC SE (NaN for tests).
    bias, bias_se : float
        Mean of ``estimate - truth`` and its MC SE (NaN for tests).
    miss_low, miss_high : int
        Intervals entirely above / below the truth.
    truth : float
        Truth of the target (NaN when it varies with the data set).
    n_sim, n_undefined : int
        Simulated data sets, and those where the procedure gave no result (not counted in ``rate``).
    seed, chunk_size : int
    target, reference : str
    """

    scenario: str
    procedure: str
    kind: str
    measure: str
    rate: float
    rate_se: float
    nominal_rate: float
    mean_width: float
    width_se: float
    bias: float
    bias_se: float
    miss_low: int
    miss_high: int
    truth: float
    n_sim: int
    n_undefined: int
    seed: int
    chunk_size: int
    target: str
    reference: str

    @property
    def departure(self) -> float:
        """``(rate - nominal_rate) / rate_se``: NaN for power; infinite when the SE is 0 and rates differ."""
        if math.isnan(self.nominal_rate):
            return math.nan
        gap = self.rate - self.nominal_rate
        se = self.rate_se if self.rate_se > 0 else mc_se(self.nominal_rate, self.n_sim - self.n_undefined)
        return gap / se if se > 0 else math.copysign(math.inf, gap) if gap else 0.0

    @property
    def misses_nominal(self) -> bool:
        """True when the rate is more than 3 Monte-Carlo SE from its nominal value."""
        return abs(self.departure) > DEPARTURE_SE

    def warning(self) -> str | None:
        """A sentence when the procedure misses its nominal rate (None otherwise)."""
        if not self.misses_nominal:
            return None
        if self.kind == "interval":
            side = "under-covers" if self.rate < self.nominal_rate else "over-covers (wider than needed)"
            return (f"{self.procedure} {side} in {self.scenario}: coverage {self.rate:.3f} (MC SE "
                    f"{self.rate_se:.3f}) for a nominal {self.nominal_rate:.2f}.")
        side = "over-rejects" if self.rate > self.nominal_rate else "is conservative"
        return (f"{self.procedure} {side} in {self.scenario}: type I error {self.rate:.3f} (MC SE "
                f"{self.rate_se:.3f}) for a nominal {self.nominal_rate:.2f}.")


def summarise(counts: ChunkCounts, scenario: Scenario, procedure: ProcedureUnderTest, *, seed: int,
              chunk_size: int) -> SimulationResult:
    """Turn summed chunk counts into a :class:`SimulationResult`."""
    defined = counts.n - counts.undefined
    rate = counts.hits / defined if defined else math.nan
    truth = float(scenario.truth.get(procedure.target, math.nan))
    if procedure.kind == "interval":
        measure, nominal = "coverage", procedure.nominal
        width, width_se = _mean_and_se(counts.width_sum, counts.width_sq_sum, defined)
        bias, bias_se = _mean_and_se(counts.error_sum, counts.error_sq_sum, defined)
    else:
        null = bool(scenario.truth.get("null", 1.0))
        measure, nominal = ("type I error", procedure.nominal) if null else ("power", math.nan)
        width = width_se = bias = bias_se = math.nan
    return SimulationResult(
        scenario=scenario.key, procedure=procedure.name, kind=procedure.kind, measure=measure, rate=rate,
        rate_se=mc_se(rate, defined) if defined else math.nan, nominal_rate=nominal, mean_width=width,
        width_se=width_se, bias=bias, bias_se=bias_se, miss_low=counts.miss_low, miss_high=counts.miss_high,
        truth=truth, n_sim=counts.n, n_undefined=counts.undefined, seed=seed, chunk_size=chunk_size,
        target=procedure.target, reference=procedure.reference)


def _mean_and_se(total: float, total_sq: float, n: int) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    mean = total / n
    variance = max(total_sq / n - mean**2, 0.0) * n / max(n - 1, 1)
    return mean, math.sqrt(variance / n)


def count_outcome(outcome: IntervalOutcome | TestOutcome, batch: dict[str, np.ndarray], scenario: Scenario,
                  procedure: ProcedureUnderTest) -> ChunkCounts:
    """Sum one procedure's outcome on one batch into :class:`ChunkCounts`."""
    if procedure.kind == "test":
        if not isinstance(outcome, TestOutcome):
            raise TypeError(f"Procedure {procedure.name!r} is a test and must return a TestOutcome.")
        p = np.asarray(outcome.pvalue, dtype=float)
        defined = np.isfinite(p)
        return ChunkCounts(n=p.size, undefined=int((~defined).sum()),
                           hits=int((defined & (p <= procedure.nominal)).sum()))
    if not isinstance(outcome, IntervalOutcome):
        raise TypeError(f"Procedure {procedure.name!r} is an interval and must return an IntervalOutcome.")
    low, high = np.asarray(outcome.low, dtype=float), np.asarray(outcome.high, dtype=float)
    estimate = np.asarray(outcome.estimate, dtype=float)
    truth = batch.get(f"truth:{procedure.target}")
    if truth is None:
        truth = np.full(low.shape, float(scenario.truth[procedure.target]))
    defined = np.isfinite(low) & np.isfinite(high)
    width = np.where(defined, high - low, 0.0)
    error = np.where(defined & np.isfinite(estimate), estimate - truth, 0.0)
    return ChunkCounts(
        n=low.size, undefined=int((~defined).sum()), hits=int((defined & (low <= truth) & (truth <= high)).sum()),
        miss_low=int((defined & (truth < low)).sum()), miss_high=int((defined & (truth > high)).sum()),
        width_sum=float(width.sum()), width_sq_sum=float((width**2).sum()), error_sum=float(error.sum()),
        error_sq_sum=float((error**2).sum()))

