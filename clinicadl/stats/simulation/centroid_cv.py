"""Scenario families ``centroid-cv`` and ``five-by-two``: two real learners under an exact null.

Two nearest-centroid classifiers of equal accuracy on repeated K-fold cross-validation (Nadeau & Bengio 2003;
Bouckaert & Frank 2004): ``centroid-cv`` runs 10 x 10-fold CV for the resampled t-tests
(:func:`clinicadl.stats.simulation.resampled_differences.ttest_procedure`), ``five-by-two`` 5 x 2-fold CV for
Dietterich's 5x2cv t-test and Alpaydin's combined F-test.

References
----------
Bouckaert R. R., Frank E. (2004). Evaluating the replicability of significance tests for comparing learning
algorithms. PAKDD, 3-12.
Dietterich T. G. (1998). Approximate statistical tests for comparing supervised classification learning
algorithms. Neural Computation 10(7), 1895-1923.
Alpaydin E. (1999). Combined 5 x 2 cv F test for comparing supervised classification learning algorithms.
Neural Computation 11(8), 1885-1892.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np

from clinicadl.errors import InputError
from clinicadl.stats.simulation.protocols import ProcedureUnderTest, TestOutcome, frozen_truth


@dataclass(frozen=True)
class CentroidCV:
    """Accuracy differences of two 1-D nearest-centroid classifiers over ``n_repeats`` x ``n_folds`` CV.

    ``n`` cases, two features with the same class-conditional law (means -/+ ``shift``): both procedures
    have the same expected accuracy at every training size, so the null holds exactly, while folds share
    training cases. Batch: ``differences`` (n_sim, n_repeats * n_folds).
    """

    n: int = 200
    n_folds: int = 10
    n_repeats: int = 10
    shift: float = 0.5

    @property
    def key(self) -> str:
        return f"centroid-cv(n={self.n},{self.n_repeats}x{self.n_folds}-fold,shift={self.shift:g})"

    @property
    def truth(self) -> Mapping[str, float]:
        return frozen_truth({"difference": 0.0, "null": 1.0})

    @property
    def description(self) -> str:
        return (f"two nearest-centroid classifiers of equal accuracy, {self.n_repeats} x {self.n_folds}-fold CV "
                f"on {self.n} cases")

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        n, k = self.n, self.n_folds
        y = rng.random((n_sim, n)) < 0.5
        x = rng.standard_normal((n_sim, 2, n)) + np.where(y, self.shift, -self.shift)[:, None, :]
        folds = rng.permuted(np.broadcast_to(np.arange(n) % k, (n_sim, self.n_repeats, n)).copy(), axis=2)
        test = (folds[:, :, None, :] == np.arange(k)[None, None, :, None]).reshape(n_sim, -1, n)
        train = ~test
        accuracy = []
        for feature in (x[:, 0], x[:, 1]):
            c1 = np.einsum("sjn,sn->sj", train & y[:, None], feature) / (train & y[:, None]).sum(axis=2)
            c0 = np.einsum("sjn,sn->sj", train & ~y[:, None], feature) / (train & ~y[:, None]).sum(axis=2)
            predicted = np.abs(feature[:, None] - c1[..., None]) < np.abs(feature[:, None] - c0[..., None])
            accuracy.append(((predicted == y[:, None]) & test).sum(axis=2) / test.sum(axis=2))
        return {"differences": accuracy[0] - accuracy[1], "n_train": np.asarray(n * (k - 1) / k),
                "n_test": np.asarray(n / k), "n_folds": np.asarray(k), "n_repeats": np.asarray(self.n_repeats)}


def _five_by_two(batch, rng, *, statistic):
    from clinicadl.stats.five_by_two import five_by_two_f, five_by_two_t

    test = five_by_two_t if statistic == "t" else five_by_two_f
    d = batch["differences"]
    if d.shape[1] != 10:
        raise InputError("The 5x2cv tests need 5 repetitions of 2-fold CV (CentroidCV(n_folds=2, n_repeats=5)).")
    return TestOutcome(np.array([test(x.reshape(5, 2)).pvalue for x in d]))


def five_by_two_procedure(statistic: str = "t", *, alpha: float = 0.05) -> ProcedureUnderTest:
    """Dietterich's 5x2cv paired t-test (``"t"``) or Alpaydin's combined F-test (``"F"``), of the package."""
    if statistic not in ("t", "F"):
        raise InputError(f"Unknown 5x2cv statistic {statistic!r}; choose t or F.")
    reference = ("Dietterich T. G. (1998). Neural Computation 10(7), 1895-1923." if statistic == "t"
                 else "Alpaydin E. (1999). Neural Computation 11(8), 1885-1892.")
    return ProcedureUnderTest(f"5x2cv {statistic}", "test", "difference", partial(_five_by_two, statistic=statistic),
                              alpha, reference)
