"""Scenario family ``nested-cv``: logistic regression on ``n`` cases with ``p`` Gaussian features.

The target is the conditional prediction error ``Err_XY`` of the model fitted on the data at hand (Bates et al.
2023), exact by quadrature. The procedures under test are the naive cross-validation interval and nested
cross-validation (:func:`clinicadl.stats.nested_cv`); every logistic model is fitted by
:class:`clinicadl.stats.nested_cv.LogisticRegression`, the package's one logistic fitter.

References
----------
Bates S., Hastie T., Tibshirani R. (2023). Cross-validation: what does it estimate and how well does it do
it? JASA 119(546), 1434-1445.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import stats
from scipy.special import expit, ndtr

from clinicadl.errors import InputError
from clinicadl.stats.nested_cv import LogisticRegression
from clinicadl.stats.simulation.protocols import IntervalOutcome, ProcedureUnderTest, frozen_truth
from clinicadl.stats.simulation.references import BATES


def fit_logistic(x: np.ndarray, y: np.ndarray, *, n_iter: int = 25, ridge: float = 1e-2) -> np.ndarray:
    """Logistic regression (with intercept) fitted on each data set of a batch by
    :class:`clinicadl.stats.nested_cv.LogisticRegression`, so that the truth ``Err_XY`` is that of the model nested
    CV assesses.

    Parameters
    ----------
    x : array of shape (..., n, p)
    y : array of shape (..., n) of 0/1
    n_iter : int
        Newton steps at most (``LogisticRegression.n_iterations``).
    ridge : float
        L2 penalty on all coefficients, intercept included (``LogisticRegression.penalty``).

    Returns
    -------
    coef : array of shape (..., p + 1)
        Intercept first.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    learner = LogisticRegression(penalty=ridge, n_iterations=n_iter)
    xs, ys = x.reshape(-1, *x.shape[-2:]), y.reshape(-1, y.shape[-1])
    coef = np.empty((xs.shape[0], x.shape[-1] + 1))
    everyone = np.ones((1, x.shape[-2]), dtype=bool)
    for i, (xi, yi) in enumerate(zip(xs, ys, strict=True)):  # data sets, each one Newton fit
        coef[i] = learner.coefficients(np.column_stack([np.ones(yi.size), xi]), yi, everyone)[0]
    return coef.reshape(*x.shape[:-2], -1)


def logistic_loss(x_train, y_train, x_test, y_test) -> np.ndarray:
    """Misclassification (0/1) loss of each test case for logistic regression fitted on the training cases,
    over leading axes (a batch of data sets)."""
    coef = fit_logistic(np.asarray(x_train, float), np.asarray(y_train, float))
    predicted = (coef[..., 0, None] + np.einsum("...np,...p->...n", x_test, coef[..., 1:])) > 0
    return (predicted != (np.asarray(y_test) > 0.5)).astype(float)


def _conditional_error(coef: np.ndarray, beta: np.ndarray, nodes: int = 48) -> np.ndarray:
    """Exact misclassification error of ``x -> 1{a + x.c > 0}`` when ``x ~ N(0, I)`` and ``P(y=1|x) = expit(x.beta)``.

    ``u = x.beta`` and ``v = a + x.c`` are jointly normal; ``E[expit(u) 1{v <= 0} + (1 - expit(u)) 1{v > 0}]`` is
    integrated over ``u`` by Gauss-Hermite quadrature, the indicator in closed form given ``u``.
    """
    a, c = coef[:, 0], coef[:, 1:]
    s_u = np.linalg.norm(beta)
    cov = c @ beta
    s_v2 = np.einsum("ij,ij->i", c, c)
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    u = s_u * z  # (nodes,)
    mean_v = a[:, None] + (cov / s_u**2)[:, None] * u[None, :]
    sd_v = np.sqrt(np.maximum(s_v2 - cov**2 / s_u**2, 1e-15))[:, None]
    p_pos = ndtr(mean_v / sd_v)  # P(v > 0 | u)
    p1 = expit(u)[None, :]
    return (w[None, :] * (p1 * (1 - p_pos) + (1 - p1) * p_pos)).sum(axis=1)


@dataclass(frozen=True)
class LogisticCV:
    """Logistic regression on ``n`` cases with ``p`` standard-normal features (Bates et al. 2023).

    ``P(y = 1 | x) = expit(x . beta)`` with ``beta_j = signal`` for the first ``n_signal`` features, 0 after.
    Batch: ``x`` (n_sim, n, p), ``y`` (n_sim, n), and ``truth:error_xy``, the exact misclassification error of the
    model fitted on all ``n`` cases of each data set (the conditional error ``Err_XY`` of Bates et al.).
    """

    n: int = 100
    p: int = 10
    signal: float = 1.0
    n_signal: int = 4

    @property
    def beta(self) -> np.ndarray:
        return np.where(np.arange(self.p) < self.n_signal, self.signal, 0.0)

    @property
    def key(self) -> str:
        return f"logistic-cv(n={self.n},p={self.p},signal={self.signal:g}x{self.n_signal})"

    @property
    def truth(self) -> Mapping[str, float]:
        return frozen_truth({"error_xy": math.nan})  # varies with the data set: see draw

    @property
    def description(self) -> str:
        return (f"logistic regression, n = {self.n}, p = {self.p} Gaussian features ({self.n_signal} with "
                f"coefficient {self.signal:g}); target Err_XY")

    def draw(self, rng: np.random.Generator, n_sim: int) -> dict[str, np.ndarray]:
        x = rng.standard_normal((n_sim, self.n, self.p))
        y = (rng.random((n_sim, self.n)) < expit(x @ self.beta)).astype(float)
        coef = fit_logistic(x, y)
        return {"x": x, "y": y, "truth:error_xy": _conditional_error(coef, self.beta)}


def _cv_folds(rng, n_sim, n, k):
    return rng.permuted(np.broadcast_to(np.arange(n) % k, (n_sim, n)).copy(), axis=1)


def _naive_cv(batch, rng, *, n_folds, level):
    x, y = batch["x"], batch["y"]
    n_sim, n, _ = x.shape
    folds = _cv_folds(rng, n_sim, n, n_folds)
    learner = LogisticRegression(penalty=1e-2, loss="zero_one")  # intercept: a column of ones
    losses = np.empty((n_sim, n))
    for i in range(n_sim):  # one batched fit of the K fold models per simulated data set
        train = folds[i][None, :] != np.arange(n_folds)[:, None]
        fold_losses = learner(np.column_stack([np.ones(n), x[i]]), y[i], train)
        losses[i] = fold_losses[folds[i], np.arange(n)]  # each case scored by the model that did not see it
    mean = losses.mean(axis=1)
    se = losses.std(axis=1, ddof=1) / math.sqrt(n)
    z = stats.norm.ppf((1 + level) / 2)
    return IntervalOutcome(mean, mean - z * se, mean + z * se)


def _nested_cv(batch, rng, *, n_folds, n_repeats, level):
    from clinicadl.stats.nested_cv import nested_cv

    x, y = batch["x"], batch["y"]
    learner = LogisticRegression(penalty=1e-2, loss="zero_one")  # intercept: a column of ones
    out = np.full((3, x.shape[0]), np.nan)
    for i in range(x.shape[0]):  # one nested CV per simulated data set (each batched over its models)
        seed = int(rng.integers(2**63 - 1))
        design = np.column_stack([np.ones(x.shape[1]), x[i]])
        result = nested_cv(design, y[i], learner, n_folds=n_folds, n_repeats=n_repeats, rng=seed,
                           confidence=level)
        out[:, i] = result.estimate, result.ci.low, result.ci.high
    return IntervalOutcome(*out)


def nested_cv_available() -> bool:
    """True when :mod:`clinicadl.stats.nested_cv` (Bates et al. 2023) is installed in this version."""
    import importlib.util

    return importlib.util.find_spec("clinicadl.stats.nested_cv") is not None


def cv_procedure(method: str = "nested", *, n_folds: int = 10, n_repeats: int = 50,
                 confidence_level: float = 0.90) -> ProcedureUnderTest:
    """Interval of the prediction error: ``"naive"`` CV (mean loss +/- z SE of the per-case losses) or
    ``"nested"`` CV (:func:`clinicadl.stats.nested_cv`, Bates et al. 2023). Default level 0.90 as in the paper."""
    if method == "naive":
        return ProcedureUnderTest("naive CV", "interval", "error_xy",
                                  partial(_naive_cv, n_folds=n_folds, level=confidence_level), confidence_level, BATES)
    if method == "nested":
        return ProcedureUnderTest(f"nested CV (R={n_repeats})", "interval", "error_xy",
                                  partial(_nested_cv, n_folds=n_folds, n_repeats=n_repeats, level=confidence_level),
                                  confidence_level, BATES)
    raise InputError(f"Unknown CV interval {method!r}; choose naive or nested.")
