"""Scenario family ``accuracy``: the accuracy of ``n`` independent predictions, each correct with probability ``p``.

The procedures under test are the package's intervals of a proportion (Wilson 1927; Clopper & Pearson 1934;
Jeffreys, Brown, Cai & DasGupta 2001), the textbook Wald interval and the percentile bootstrap (Efron 1987).

References
----------
Wilson E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22, 209-212.
Brown L. D., Cai T. T., DasGupta A. (2001). Interval estimation for a binomial proportion. Statistical Science
16(2), 101-133.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.simulation.protocols import IntervalOutcome, ProcedureUnderTest, frozen_truth
from clinicadl.stats.simulation.references import CLOPPER, EFRON, JEFFREYS, WILSON


@dataclass(frozen=True)
class BernoulliAccuracy:
    """Number of correct predictions among ``n`` independent cases, each correct with probability ``p``.

    With ``p_spread > 0`` every simulated study draws its own ``p`` uniformly in ``[p - p_spread, p + p_spread]``
    (the truth then varies with the study): the coverage is averaged over ``p``, which smooths the oscillation
    of the coverage of a binomial interval with ``n`` and ``p`` (Brown, Cai & DasGupta 2001).
    Batch: ``k`` (n_sim,) correct predictions, ``n`` (scalar) and, with a spread, ``truth:accuracy``.
    """

    n: int = 100
    p: float = 0.8
    p_spread: float = 0.0

    def __post_init__(self):
        if self.p_spread < 0 or self.p - self.p_spread < 0 or self.p + self.p_spread > 1:
            raise InputError(f"p = {self.p} +/- {self.p_spread} must lie in [0, 1] (and the spread be >= 0).")

    @property
    def key(self) -> str:
        spread = f"+/-{self.p_spread:g}" if self.p_spread else ""
        return f"bernoulli-accuracy(n={self.n},p={self.p:g}{spread})"

    @property
    def truth(self) -> Mapping[str, float]:
        return frozen_truth({"accuracy": self.p})

    @property
    def description(self) -> str:
        p = f"uniform in [{self.p - self.p_spread:g}, {self.p + self.p_spread:g}]" if self.p_spread else f"{self.p:g}"
        return f"{self.n} independent predictions, each correct with probability {p}"

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        if not self.p_spread:
            return {"k": rng.binomial(self.n, self.p, size=n_sim), "n": np.asarray(self.n)}
        p = rng.uniform(self.p - self.p_spread, self.p + self.p_spread, size=n_sim)
        return {"k": rng.binomial(self.n, p), "n": np.asarray(self.n), "truth:accuracy": p}

    def exact_coverage(self, method: str, *, confidence_level: float = 0.95, grid: int = 2001) -> float:
        """Exact coverage of a closed-form interval (``wilson``, ``clopper-pearson``, ``jeffreys``, ``wald``):
        ``sum_k P(K = k) 1{p in CI(k)}``, averaged over a fine grid of ``p`` when ``p_spread > 0``.

        The oracle of the simulated coverage of this scenario.
        """
        k = np.arange(self.n + 1)
        if method == "wald":
            half = stats.norm.ppf((1 + confidence_level) / 2) * np.sqrt(k / self.n * (1 - k / self.n) / self.n)
            low, high = k / self.n - half, k / self.n + half
        else:
            from clinicadl.stats.proportion import proportion_interval

            low, high = proportion_interval(k, self.n, confidence_level=confidence_level, method=method)
        ps = (np.linspace(self.p - self.p_spread, self.p + self.p_spread, grid) if self.p_spread
              else np.array([self.p]))
        pmf = stats.binom.pmf(k[None, :], self.n, ps[:, None])
        covered = (low[None, :] <= ps[:, None]) & (ps[:, None] <= high[None, :])
        return float((pmf * covered).sum(axis=1).mean())


def _proportion(batch, rng, *, method, level):
    from clinicadl.stats.proportion import proportion_interval

    k, n = batch["k"], batch["n"]
    low, high = proportion_interval(k, n, confidence_level=level, method=method)
    return IntervalOutcome(k / n, low, high)


def _wald(batch, rng, *, level):
    k, n = batch["k"], batch["n"]
    p = k / n
    half = stats.norm.ppf((1 + level) / 2) * np.sqrt(p * (1 - p) / n)
    return IntervalOutcome(p, p - half, p + half)


def _proportion_bootstrap(batch, rng, *, n_resamples, level):
    # The bootstrap distribution of a proportion of n i.i.d. 0/1 values is Binomial(n, k/n) / n:
    # drawn exactly, vectorised over resamples and simulations.
    k, n = batch["k"], int(batch["n"])
    p = k / n
    draws = rng.binomial(n, p, size=(n_resamples, p.size)) / n
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return IntervalOutcome(p, low, high)


def proportion_procedure(method: str = "wilson", *, confidence_level: float = 0.95,
                         n_resamples: int = 2000) -> ProcedureUnderTest:
    """Interval of an accuracy: ``"wilson"`` (default of the package), ``"clopper-pearson"``, ``"jeffreys"``
    (:func:`clinicadl.stats.proportion_interval`), the textbook ``"wald"`` or the ``"percentile"`` bootstrap."""
    if method == "wald":
        return ProcedureUnderTest("wald", "interval", "accuracy", partial(_wald, level=confidence_level),
                                  confidence_level, "Wald interval p +/- z sqrt(p(1-p)/n)")
    if method == "percentile":
        return ProcedureUnderTest("percentile bootstrap", "interval", "accuracy",
                                  partial(_proportion_bootstrap, n_resamples=n_resamples, level=confidence_level),
                                  confidence_level, EFRON)
    reference = {"wilson": WILSON, "clopper-pearson": CLOPPER, "jeffreys": JEFFREYS}.get(method)
    if reference is None:
        raise InputError(f"Unknown proportion method {method!r}; choose wilson, clopper-pearson, jeffreys, wald "
                         "or percentile.")
    return ProcedureUnderTest(method, "interval", "accuracy",
                              partial(_proportion, method=method, level=confidence_level), confidence_level, reference)
