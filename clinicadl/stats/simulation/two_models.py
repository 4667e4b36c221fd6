"""Scenario family ``two-models``: two trained models scored on the same participants.

The procedures under test are McNemar's test (accuracy), DeLong's and the permutation test (AUC), and the
paired bootstrap interval of the AUC difference.

References
----------
DeLong E. R., DeLong D. M., Clarke-Pearson D. L. (1988). Comparing the areas under two or more correlated ROC
curves. Biometrics 44(3), 837-845.
McNemar Q. (1947). Note on the sampling error of the difference between correlated proportions or percentages.
Psychometrika 12(2), 153-157.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.special import ndtr

from clinicadl.errors import InputError
from clinicadl.stats.simulation.binormal import binormal_truth
from clinicadl.stats.simulation.protocols import IntervalOutcome, ProcedureUnderTest, TestOutcome, frozen_truth
from clinicadl.stats.simulation.references import DELONG, EFRON


@dataclass(frozen=True)
class TwoModels:
    """Two trained models scored on the same ``n`` test participants (binormal, as :class:`BinormalScores`).

    The latent values of the two models share the participant's class mean and a part ``rho`` of their noise;
    model A's positive mean is ``mu1 + shift``. With ``shift = 0`` the two models are exchangeable: equal AUC,
    accuracy and every other metric (the null of McNemar, DeLong and permutation tests). Batch: ``y``, ``xa``,
    ``xb`` (n_sim, n) and ``mask``-free layout (one image per participant). Truth: ``difference`` (AUC of A minus
    AUC of B), ``null``.
    """

    n: int = 100
    mu0: float = -0.5
    mu1: float = 0.69
    rho: float = 0.5
    shift: float = 0.0

    @property
    def key(self) -> str:
        return f"two-models(n={self.n},mu0={self.mu0:g},mu1={self.mu1:g},rho={self.rho:g},shift={self.shift:g})"

    @property
    def truth(self) -> Mapping[str, float]:
        auc_a = binormal_truth(self.mu0, self.mu1 + self.shift, 0.5)["AUC"]
        auc_b = binormal_truth(self.mu0, self.mu1, 0.5)["AUC"]
        return frozen_truth({"difference": auc_a - auc_b, "null": float(self.shift == 0)})

    @property
    def description(self) -> str:
        return (f"two models on the same {self.n} participants, noise correlation {self.rho:g}, AUC difference "
                f"{self.truth['difference']:.3f}")

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        shape = (n_sim, self.n)
        y = (rng.random(shape) < 0.5).astype(np.int64)
        shared = math.sqrt(self.rho) * rng.standard_normal(shape)
        own = math.sqrt(1 - self.rho) * rng.standard_normal((2, *shape))
        xb = np.where(y == 1, self.mu1, self.mu0) + shared + own[1]
        xa = np.where(y == 1, self.mu1 + self.shift, self.mu0) + shared + own[0]
        return {"y": y, "xa": xa, "xb": xb}


def _two_model_test(batch, rng, *, test, n_resamples):
    from clinicadl.stats.delong import delong_test
    from clinicadl.stats.mcnemar import mcnemar_test
    from clinicadl.stats.paired import permutation_test
    from clinicadl.stats.predictions import make_predictions

    y, xa, xb = batch["y"], batch["xa"], batch["xb"]
    p = np.full(y.shape[0], np.nan)
    for i in range(y.shape[0]):  # one call of the package's test per simulated data set
        if y[i].min() == y[i].max():
            continue
        if test == "mcnemar":
            p[i] = mcnemar_test((xa[i] > 0) == (y[i] == 1), (xb[i] > 0) == (y[i] == 1)).pvalue
        elif test == "delong":
            p[i] = delong_test(y[i], xa[i], xb[i]).test.pvalue
        else:
            p[i] = permutation_test(make_predictions(y[i], ndtr(xa[i])), make_predictions(y[i], ndtr(xb[i])),
                                    metric="AUC", n_permutations=n_resamples, rng=rng).pvalue
    return TestOutcome(p)


def _paired_bootstrap(batch, rng, *, n_resamples, level):
    from clinicadl.stats.paired import paired_bootstrap
    from clinicadl.stats.predictions import make_predictions

    y, xa, xb = batch["y"], batch["xa"], batch["xb"]
    out = np.full((3, y.shape[0]), np.nan)
    for i in range(y.shape[0]):
        if y[i].min() == y[i].max():
            continue
        result, = paired_bootstrap(make_predictions(y[i], ndtr(xa[i])), make_predictions(y[i], ndtr(xb[i])),
                                   metrics=["AUC"], n_resamples=n_resamples, confidence_level=level, rng=rng)
        out[:, i] = result.difference, result.confidence_interval.low, result.confidence_interval.high
    return IntervalOutcome(*out)


def comparison_procedure(method: str = "delong", *, alpha: float = 0.05, n_resamples: int = 1000) -> ProcedureUnderTest:
    """Comparison of two trained models on the same participants: tests ``"mcnemar"`` (accuracy),
    ``"delong"`` (AUC), ``"permutation"`` (AUC, :func:`clinicadl.stats.permutation_test`), or the
    ``"paired bootstrap"`` interval of the AUC difference (:func:`clinicadl.stats.paired_bootstrap`, BCa)."""
    if method == "paired bootstrap":
        return ProcedureUnderTest("paired bootstrap (AUC difference)", "interval", "difference",
                                  partial(_paired_bootstrap, n_resamples=n_resamples, level=1 - alpha), 1 - alpha,
                                  EFRON)
    references = {"mcnemar": "McNemar Q. (1947). Psychometrika 12(2), 153-157.", "delong": DELONG,
                  "permutation": "Good P. (2005). Permutation, Parametric and Bootstrap Tests of Hypotheses."}
    if method not in references:
        raise InputError(f"Unknown comparison {method!r}; choose mcnemar, delong, permutation or "
                         "'paired bootstrap'.")
    name = {"mcnemar": "McNemar (accuracy)", "delong": "DeLong (AUC)", "permutation": "permutation (AUC)"}[method]
    return ProcedureUnderTest(name, "test", "difference",
                              partial(_two_model_test, test=method, n_resamples=n_resamples), alpha, references[method])
