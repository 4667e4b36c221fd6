"""Scenario families ``dice`` and ``skewed``: per-case values (a Dice score per image; skewed values).

:class:`BetaValues` draws Beta-distributed values such as Dice (El Jurdi et al. 2023); :class:`LognormalValues`
skewed values, for the median. The procedures under test are the intervals of the mean (t, percentile
bootstrap) and of the median (order statistics, percentile bootstrap).

References
----------
El Jurdi R., Varoquaux G., Colliot O. (2023). Confidence intervals for performance estimates in 3D medical
image segmentation. arXiv:2307.10926.
Conover W. J. (1999). Practical Nonparametric Statistics, section 3.2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.location import median_ranks
from clinicadl.stats.simulation.protocols import IntervalOutcome, ProcedureUnderTest, frozen_truth, t_interval
from clinicadl.stats.simulation.references import CONOVER, EFRON, STUDENT


@dataclass(frozen=True)
class BetaValues:
    """``n`` per-case values (e.g. Dice) drawn from a Beta law of the given ``mean`` and ``sd``.

    El Jurdi et al. (2023) report Dice scores of mean 0.897 and SD 0.0278 on a segmentation task; the
    parameters follow by moments: ``a = mean * v``, ``b = (1 - mean) * v``, ``v = mean (1 - mean) / sd^2 - 1``.
    Batch: ``values`` (n_sim, n). Truth: ``mean`` and ``median`` of the Beta law.
    """

    n: int = 100
    mean: float = 0.897
    sd: float = 0.0278

    def __post_init__(self):
        if not 0 < self.mean < 1 or not 0 < self.sd**2 < self.mean * (1 - self.mean):
            raise InputError(f"No Beta law has mean {self.mean} and SD {self.sd}; need sd^2 < mean (1 - mean).")

    @property
    def shape(self) -> tuple[float, float]:
        v = self.mean * (1 - self.mean) / self.sd**2 - 1
        return self.mean * v, (1 - self.mean) * v

    @property
    def key(self) -> str:
        return f"beta-values(n={self.n},mean={self.mean:g},sd={self.sd:g})"

    @property
    def truth(self) -> Mapping[str, float]:
        a, b = self.shape
        return frozen_truth({"mean": self.mean, "median": stats.beta.median(a, b)})

    @property
    def description(self) -> str:
        return f"{self.n} per-case values, Beta with mean {self.mean:g} and SD {self.sd:g}"

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        a, b = self.shape
        return {"values": rng.beta(a, b, size=(n_sim, self.n))}


@dataclass(frozen=True)
class LognormalValues:
    """``n`` skewed per-case values ``exp(N(0, log_sd^2))``: truth median 1, mean ``exp(log_sd^2 / 2)``."""

    n: int = 20
    log_sd: float = 1.0

    @property
    def key(self) -> str:
        return f"lognormal-values(n={self.n},log_sd={self.log_sd:g})"

    @property
    def truth(self) -> Mapping[str, float]:
        return frozen_truth({"mean": math.exp(self.log_sd**2 / 2), "median": 1.0})

    @property
    def description(self) -> str:
        return f"{self.n} per-case log-normal values (log SD {self.log_sd:g})"

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        return {"values": np.exp(self.log_sd * rng.standard_normal((n_sim, self.n)))}


def _mean_t(batch, rng, *, level):
    values = batch["values"]
    n = values.shape[1]
    return t_interval(values.mean(axis=1), values.std(axis=1, ddof=1) / math.sqrt(n), n - 1, level)


def _resampled_statistic(values, rng, n_resamples, statistic):
    # vectorised over resamples: (n_resamples, n) indices per simulated data set; loop over data sets only
    n_sim, n = values.shape
    out = np.empty((n_sim, n_resamples))
    for i in range(n_sim):
        out[i] = statistic(values[i][rng.integers(0, n, size=(n_resamples, n))], axis=1)
    return out


def _values_percentile(batch, rng, *, statistic, n_resamples, level):
    values = batch["values"]
    function = np.mean if statistic == "mean" else np.median
    replicates = _resampled_statistic(values, rng, n_resamples, function)
    low, high = np.quantile(replicates, [(1 - level) / 2, (1 + level) / 2], axis=1)
    return IntervalOutcome(function(values, axis=1), low, high)


def _median_order(batch, rng, *, level):
    values = np.sort(batch["values"], axis=1)
    low_rank, high_rank, _ = median_ranks(values.shape[1], level)
    return IntervalOutcome(np.median(values, axis=1), values[:, low_rank - 1], values[:, high_rank - 1])


def values_procedure(statistic: str = "mean", method: str = "t", *, n_resamples: int = 2000,
                     confidence_level: float = 0.95) -> ProcedureUnderTest:
    """Interval of the mean (``"t"``, as :func:`clinicadl.stats.mean_ci`, or ``"percentile"`` bootstrap) or of
    the median (``"order-statistic"``, as :func:`clinicadl.stats.median_ci`, or ``"percentile"`` bootstrap)."""
    if method == "percentile":
        return ProcedureUnderTest(f"{statistic}: percentile bootstrap", "interval", statistic,
                                  partial(_values_percentile, statistic=statistic, n_resamples=n_resamples,
                                          level=confidence_level),
                                  confidence_level, EFRON)
    if (statistic, method) == ("mean", "t"):
        return ProcedureUnderTest("mean: t", "interval", "mean", partial(_mean_t, level=confidence_level),
                                  confidence_level, STUDENT)
    if (statistic, method) == ("median", "order-statistic"):
        return ProcedureUnderTest("median: order-statistic", "interval", "median",
                                  partial(_median_order, level=confidence_level), confidence_level, CONOVER)
    raise InputError(f"No {method!r} interval for the {statistic!r}; mean: t or percentile; median: "
                     "order-statistic or percentile.")
