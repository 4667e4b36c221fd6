"""Scenario families ``auc`` and ``clustered``: binormal classifier scores, the AUC known in closed form.

Optionally clustered sessions: 1 to 4 images per participant sharing a participant random effect. The
procedures under test are the package's bootstrap intervals of a metric (participant or image unit; Efron 1987)
and DeLong's interval of the AUC.

References
----------
DeLong E. R., DeLong D. M., Clarke-Pearson D. L. (1988). Comparing the areas under two or more correlated ROC
curves. Biometrics 44(3), 837-845.
Efron B. (1987). Better bootstrap confidence intervals. JASA 82(397), 171-185.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.special import ndtr

from clinicadl.stats.simulation.protocols import IntervalOutcome, ProcedureUnderTest, frozen_truth
from clinicadl.stats.simulation.references import DELONG, EFRON


def binormal_truth(mu0: float, mu1: float, prevalence: float) -> dict[str, float]:
    """Image-level truths of the binormal model (latent ``x ~ N(mu_y, 1)``, predicted class 1 iff ``x > 0``).

    ``AUC = Phi((mu1 - mu0) / sqrt(2))``, sensitivity ``Phi(mu1)``, specificity ``Phi(-mu0)``.
    """
    sens, spec = float(ndtr(mu1)), float(ndtr(-mu0))
    tp, fn = prevalence * sens, prevalence * (1 - sens)
    tn, fp = (1 - prevalence) * spec, (1 - prevalence) * (1 - spec)
    return {"AUC": float(ndtr((mu1 - mu0) / math.sqrt(2))), "BA": (sens + spec) / 2, "accuracy": tp + tn,
            "sensitivity": sens, "specificity": spec, "PPV": tp / (tp + fp), "NPV": tn / (tn + fn),
            "F1_score": 2 * tp / (2 * tp + fp + fn)}


@dataclass(frozen=True)
class BinormalScores:
    """Binary classification scores of ``n`` participants under the binormal model.

    Each participant has a class (1 with probability ``prevalence``); each of its images a latent value
    ``x = mu_y + u + e`` with ``Var(u) + Var(e) = 1``; score ``Phi(x)``. With ``clustered=True`` a participant
    has 1 to ``max_sessions`` images (uniform) and ``Var(u) = icc``; otherwise one image and ``u = 0``.
    The image-level truths (:func:`binormal_truth`) are the same in both layouts.

    Batch: ``y`` and ``x`` of shape (n_sim, n, max_sessions) (``max_sessions = 1`` unclustered) and ``mask``
    (which images exist).
    """

    n: int = 100
    mu0: float = -0.5
    mu1: float = 0.69
    prevalence: float = 0.5
    clustered: bool = False
    icc: float = 0.6
    max_sessions: int = 4

    @property
    def key(self) -> str:
        layout = f",clustered(icc={self.icc:g},sessions=1-{self.max_sessions})" if self.clustered else ""
        return f"binormal(n={self.n},mu0={self.mu0:g},mu1={self.mu1:g},prevalence={self.prevalence:g}{layout})"

    @property
    def truth(self) -> Mapping[str, float]:
        return frozen_truth(binormal_truth(self.mu0, self.mu1, self.prevalence))

    @property
    def description(self) -> str:
        layout = (f"1-{self.max_sessions} sessions per participant, ICC {self.icc:g}" if self.clustered
                  else "one image per participant")
        return f"binormal scores of {self.n} participants (AUC {self.truth['AUC']:.3f}), {layout}"

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        m = self.max_sessions if self.clustered else 1
        shape = (n_sim, self.n, m)
        if self.clustered:
            sessions = rng.integers(1, m + 1, size=(n_sim, self.n))
            mask = np.arange(m) < sessions[..., None]
            noise = (math.sqrt(self.icc) * rng.standard_normal((n_sim, self.n, 1))
                     + math.sqrt(1 - self.icc) * rng.standard_normal(shape))
        else:
            mask = np.ones(shape, dtype=bool)
            noise = rng.standard_normal(shape)
        y = np.broadcast_to((rng.random((n_sim, self.n, 1)) < self.prevalence), shape).astype(np.int64)
        x = np.where(y == 1, self.mu1, self.mu0) + noise
        return {"y": y, "x": x, "mask": mask}


def _images(batch, i):
    mask = batch["mask"][i]
    groups = np.broadcast_to(np.arange(mask.shape[0])[:, None], mask.shape)[mask]
    return batch["y"][i][mask], batch["x"][i][mask], groups


def _bootstrap_metric(batch, rng, *, metric, method, unit, n_resamples, level):
    from clinicadl.stats.bootstrap import bootstrap
    from clinicadl.stats.predictions import make_predictions

    n_sim = batch["y"].shape[0]
    out = np.full((3, n_sim), np.nan)
    for i in range(n_sim):  # one vectorised bootstrap per simulated data set
        y, x, groups = _images(batch, i)
        if y.min() == y.max():
            continue  # one class only: no AUC (undefined, counted)
        result, = bootstrap(make_predictions(y, ndtr(x), groups=groups), metrics=[metric],
                            n_resamples=n_resamples, confidence_level=level, method=method, unit=unit, rng=rng)
        out[:, i] = result.estimate, result.confidence_interval.low, result.confidence_interval.high
    return IntervalOutcome(*out)


def _delong(batch, rng, *, level):
    from clinicadl.stats.delong import delong_ci

    n_sim = batch["y"].shape[0]
    out = np.full((3, n_sim), np.nan)
    for i in range(n_sim):
        y, x, _ = _images(batch, i)
        if y.min() == y.max():
            continue
        result = delong_ci(y, x, confidence_level=level)
        out[:, i] = result.estimate, result.confidence_interval.low, result.confidence_interval.high
    return IntervalOutcome(*out)


def bootstrap_procedure(metric: str = "AUC", method: str = "bca", *, unit: str = "participant",
                        n_resamples: int = 1000, confidence_level: float = 0.95) -> ProcedureUnderTest:
    """:func:`clinicadl.stats.bootstrap` interval of a classification metric (``method="auto"`` included)."""
    name = f"{method} bootstrap ({unit})" if unit != "participant" else f"{method} bootstrap"
    return ProcedureUnderTest(name, "interval", metric,
                              partial(_bootstrap_metric, metric=metric, method=method, unit=unit,
                                      n_resamples=n_resamples, level=confidence_level),
                              confidence_level, EFRON)


def delong_procedure(*, confidence_level: float = 0.95) -> ProcedureUnderTest:
    """DeLong interval of the AUC (:func:`clinicadl.stats.delong_ci`), for one image per participant."""
    return ProcedureUnderTest("delong", "interval", "AUC", partial(_delong, level=confidence_level), confidence_level,
                              DELONG)
