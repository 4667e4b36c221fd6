"""Scenario family ``replicates``: the performance of replicates of a learning procedure (two-stage model).

``R_j = mu + b_j + e_j + t`` (Bouthillier et al. 2021): split / hyper-parameter effect ``b_j``, seed noise
``e_j``, test-set sampling error ``t`` shared by all replicates evaluated on the same test set. The procedures
under test are intervals over replicates of the expected performance and of the variance between replicates.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.simulation.protocols import IntervalOutcome, ProcedureUnderTest, frozen_truth, t_interval
from clinicadl.stats.simulation.references import BOUTHILLIER


@dataclass(frozen=True)
class TwoStageReplicates:
    """Performance of ``n_replicates`` runs of a learning procedure on one shared test set.

    ``R_j = mu + b_j + e_j + t`` (Bouthillier et al. 2021): ``b_j ~ N(0, sd_split^2)`` the data split and
    hyper-parameter choice, ``e_j ~ N(0, sd_seed^2)`` the seeds (init, order, augmentation), ``t ~ N(0,
    sd_test^2)`` the sampling error of the test set, drawn once per study because every replicate is
    evaluated on the same test participants. With ``fixed_split=True`` the split / hyper-parameters are
    chosen once and only the seeds vary (``b_j = b`` for all j: FixHOptEst), otherwise they are redrawn for
    every replicate (IdealEst).

    Batch: ``scores`` (n_sim, n_replicates) and ``test_variance`` (the known sd_test^2, as
    ``evaluate procedure`` estimates it by bootstrap). Truth: ``mean`` mu, ``variance`` the variance of one
    replicate around mu over new test sets (``sd_split^2 + sd_seed^2 + sd_test^2``) and ``replicate_variance``
    ``sd_split^2 + sd_seed^2`` (between replicates sharing a test set).
    """

    n_replicates: int = 10
    mu: float = 0.8
    sd_split: float = 0.02
    sd_seed: float = 0.01
    sd_test: float = 0.02
    fixed_split: bool = False

    @property
    def key(self) -> str:
        design = "FixHOptEst" if self.fixed_split else "IdealEst"
        return (f"two-stage(R={self.n_replicates},mu={self.mu:g},sd_split={self.sd_split:g},"
                f"sd_seed={self.sd_seed:g},sd_test={self.sd_test:g},{design})")

    @property
    def truth(self) -> Mapping[str, float]:
        between = self.sd_split**2 + self.sd_seed**2
        return frozen_truth({"mean": self.mu, "variance": between + self.sd_test**2, "replicate_variance": between})

    @property
    def description(self) -> str:
        design = ("split and hyper-parameters fixed once (FixHOptEst)" if self.fixed_split
                  else "split redrawn per replicate (IdealEst)")
        return (f"{self.n_replicates} replicates, SD split {self.sd_split:g}, seed {self.sd_seed:g}, "
                f"test set {self.sd_test:g}; {design}")

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        r = self.n_replicates
        split = rng.standard_normal((n_sim, 1 if self.fixed_split else r))
        scores = (self.mu + self.sd_split * split + self.sd_seed * rng.standard_normal((n_sim, r))
                  + self.sd_test * rng.standard_normal((n_sim, 1)))
        return {"scores": scores, "test_variance": np.asarray(self.sd_test**2)}


def _replicate_t(batch, rng, *, level, shared_test):
    scores = batch["scores"]
    r = scores.shape[1]
    se2 = scores.var(axis=1, ddof=1) / r
    if not shared_test:
        return t_interval(scores.mean(axis=1), np.sqrt(se2), r - 1, level)
    # as `clinicadl evaluate procedure` does: SE over replicates widened by the shared test-set variance,
    # normal quantile
    return t_interval(scores.mean(axis=1), np.sqrt(se2 + batch["test_variance"]), math.inf, level)


def _replicate_variance(batch, rng, *, level):
    scores = batch["scores"]
    df = scores.shape[1] - 1
    s2 = scores.var(axis=1, ddof=1)
    low = df * s2 / stats.chi2.ppf((1 + level) / 2, df)
    high = df * s2 / stats.chi2.ppf((1 - level) / 2, df)
    return IntervalOutcome(s2, low, high)


def replicate_procedure(method: str = "t + test variance", *, confidence_level: float = 0.95) -> ProcedureUnderTest:
    """Intervals over replicates: of the expected performance, ``"t"`` (t interval over replicates only) or
    ``"t + test variance"`` (normal interval whose variance adds the shared test-set sampling variance, as
    ``clinicadl evaluate procedure`` does); of the variance between replicates, ``"variance"`` (chi-square
    interval of the sample variance)."""
    if method == "variance":
        return ProcedureUnderTest("replicate variance: chi-square", "interval", "replicate_variance",
                                  partial(_replicate_variance, level=confidence_level), confidence_level, BOUTHILLIER)
    if method not in ("t", "t + test variance"):
        raise InputError(f"Unknown replicate method {method!r}; choose t, 't + test variance' or variance.")
    return ProcedureUnderTest(f"replicates: {method}", "interval", "mean",
                              partial(_replicate_t, level=confidence_level, shared_test=method != "t"),
                              confidence_level, BOUTHILLIER)
