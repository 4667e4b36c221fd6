"""Scenario family ``resampled-t``: differences between two procedures over resampled splits.

The differences are equicorrelated with the correlation Nadeau & Bengio (2003) derive, under the null or an
alternative. The procedures under test are the corrected and the naive resampled t-tests, also applied to
the real learners of :mod:`clinicadl.stats.simulation.centroid_cv`.

References
----------
Nadeau C., Bengio Y. (2003). Inference for the generalization error. Machine Learning 52(3), 239-281.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.simulation.protocols import ProcedureUnderTest, TestOutcome, frozen_truth
from clinicadl.stats.simulation.references import NADEAU


@dataclass(frozen=True)
class ResampledDifferences:
    """Differences of two procedures' scores over ``n_splits`` random train/test splits (Nadeau & Bengio 2003).

    The differences are equicorrelated normals with correlation ``rho = n_test / (n_train + n_test)`` and
    mean ``delta`` (in SD units): the null holds when ``delta == 0``. Batch: ``differences`` (n_sim, n_splits).
    """

    n_splits: int = 15
    n_train: int = 160
    n_test: int = 40
    delta: float = 0.0

    @property
    def key(self) -> str:
        return (f"resampled-differences(J={self.n_splits},n_train={self.n_train},n_test={self.n_test},"
                f"delta={self.delta:g})")

    @property
    def truth(self) -> Mapping[str, float]:
        return frozen_truth({"difference": self.delta, "null": float(self.delta == 0)})

    @property
    def description(self) -> str:
        return (f"{self.n_splits} resampled splits ({self.n_train} train / {self.n_test} test), "
                f"true difference {self.delta:g} SD")

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        rho = self.n_test / (self.n_train + self.n_test)
        d = (self.delta + math.sqrt(rho) * rng.standard_normal((n_sim, 1))
             + math.sqrt(1 - rho) * rng.standard_normal((n_sim, self.n_splits)))
        return {"differences": d, "n_train": np.asarray(self.n_train), "n_test": np.asarray(self.n_test)}


def _resampled_t(batch, rng, *, corrected, repeated_kfold=False):
    d = batch["differences"]
    j = d.shape[1]
    factor = 1 / j + (batch["n_test"] / batch["n_train"] if corrected else 0.0)
    sd = d.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = d.mean(axis=1) / np.sqrt(factor * sd**2)
    return TestOutcome(np.where(sd > 0, 2 * stats.t.sf(np.abs(t), j - 1), np.nan))


def ttest_procedure(method: str = "corrected", *, alpha: float = 0.05) -> ProcedureUnderTest:
    """Two-sided resampled t-test of a zero mean difference: ``"corrected"`` (Nadeau & Bengio 2003, the
    package's :func:`clinicadl.stats.corrected_resampled_ttest`) or ``"naive"`` (the uncorrected paired t)."""
    if method not in ("corrected", "naive"):
        raise InputError(f"Unknown t-test {method!r}; choose corrected or naive.")
    name = "corrected resampled t" if method == "corrected" else "naive resampled t"
    return ProcedureUnderTest(name, "test", "difference", partial(_resampled_t, corrected=method == "corrected"), alpha,
                              NADEAU)
