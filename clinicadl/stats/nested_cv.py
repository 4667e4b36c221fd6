"""Nested cross-validation interval for the prediction error (Bates, Hastie & Tibshirani, 2023).

The naive interval of K-fold cross-validation, ``mean(e) +- z * sd(e) / sqrt(n)`` over the n
held-out losses ``e``, treats these losses as independent. They are not: every point serves to train
the models that score the other points, so the variance of the CV estimate is larger than
``sd(e)**2 / n`` and the naive interval under-covers (about 80 % instead of 90 % for ordinary least
squares with n = 100 and p = 20 in Bates et al.'s simulations, and in ours). Nested CV estimates the
mean squared error (MSE) of the CV estimate directly, from the data:

1. repeat ``R`` times: draw a random partition into K folds; for every outer fold k, run an inner
   K-1-fold CV on the other folds (error ``e_in``) and score the model fit on the other folds on
   fold k (error ``e_out``, the ordinary CV losses of fold k);
2. ``a = (mean(e_in) - mean(e_out))**2`` estimates ``MSE + var(e_out) / |I_k|``, so
   ``MSE_hat = mean(a) - mean(var(e_out) / |I_k|)`` (their holdout MSE identity);
3. the point estimate ``Err_NCV`` (mean inner error, models fit on ``(K-2)/K`` of the data) is
   shifted by the bias estimate ``(1 + (K-2)/K) * (Err_NCV - Err_CV)`` and the interval is
   ``estimate +- z * sqrt((K-1)/K) * sqrt(MSE_hat)``, its standard error kept between the naive one
   and ``sqrt(K)`` times it (their safeguards).

Every inner model of a partition is a model fit without two folds ``{a, b}``, and it scores both:
one partition costs ``K (K-1) / 2`` such fits plus the K ordinary CV fits. Learners here take all
the training masks of a run at once (``learner(X, y, train) -> losses`` with ``train`` of shape
``(n_models, n)``), so the linear and logistic learners fit every model in one batched linear-algebra
call; :class:`PerModelLearner` wraps any ``fit``/``predict`` estimator one model at a time.

What is covered is ``Err_XY``, the error of the model fit on the data at hand, not the average error
of the learning algorithm over training sets (which is what CV actually estimates best, Bates et al.
section 3). Its coverage is checked by simulation in ``tests/stats/test_nested_cv.py``, where
``Err_XY`` has a closed form.

References
----------
.. [1] Bates, S., Hastie, T., & Tibshirani, R. (2023). Cross-validation: what does it estimate and
   how well does it do it? Journal of the American Statistical Association, 119(546), 1434-1445.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((100, 5))
>>> y = X @ np.ones(5) + rng.standard_normal(100)
>>> result = nested_cv(X, y, LeastSquares(), n_folds=5, n_repeats=20, rng=1)
>>> result.ci.low < result.estimate < result.ci.high
True
>>> result.standard_error >= result.naive_standard_error
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy import special

from clinicadl.errors import InputError
from clinicadl.stats.results import ConfidenceInterval

__all__ = [
    "Learner",
    "LeastSquares",
    "LogisticRegression",
    "NestedCVResult",
    "PerModelLearner",
    "fold_assignment",
    "nested_cv",
]


class Learner(Protocol):
    """Fits one model per training mask and returns the loss of every point under every model.

    Parameters
    ----------
    X : numpy.ndarray
        Features, shape ``(n, p)``.
    y : numpy.ndarray
        Targets, shape ``(n,)``.
    train : numpy.ndarray
        Boolean training masks, shape ``(n_models, n)``: model m is fit on ``X[train[m]]``.

    Returns
    -------
    numpy.ndarray
        Losses, shape ``(n_models, n)``; only the entries of points outside ``train[m]`` are used.
    """

    def __call__(self, X: np.ndarray, y: np.ndarray, train: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class LeastSquares:
    """Ordinary least squares (with an optional ridge penalty) and the squared-error loss.

    All models are fit in one batched solve of their normal equations. ``ridge`` adds
    ``ridge * identity`` to every Gram matrix; no intercept is fit (append a column of ones to ``X``
    for one).
    """

    ridge: float = 0.0

    def __call__(self, X: np.ndarray, y: np.ndarray, train: np.ndarray) -> np.ndarray:
        weights = train.astype(float)
        gram = _weighted_gram(weights, X)
        gram += self.ridge * np.eye(X.shape[1])
        moment = (weights * y) @ X
        beta = np.linalg.solve(gram, moment[:, :, None])[:, :, 0]
        return (y - beta @ X.T) ** 2


@dataclass(frozen=True)
class LogisticRegression:
    """L2-penalised logistic regression fit by batched Newton steps, with the 0-1 or log loss.

    ``y`` holds 0/1 labels. ``penalty`` is the L2 penalty on the coefficients (the intercept, if
    any, is a column of ``X`` and is penalised too; a small penalty keeps separable training sets
    finite). ``loss`` is ``"zero_one"`` (misclassification) or ``"log"`` (cross-entropy).
    """

    penalty: float = 1e-2
    loss: str = "zero_one"
    n_iterations: int = 25

    def __call__(self, X: np.ndarray, y: np.ndarray, train: np.ndarray) -> np.ndarray:
        if self.loss not in ("zero_one", "log"):
            raise InputError(f"Unknown logistic loss {self.loss!r}: use 'zero_one' or 'log'.")
        logits = self.coefficients(X, y, train) @ X.T
        if self.loss == "zero_one":
            return ((logits > 0) != (y > 0.5)).astype(float)
        return np.logaddexp(0.0, logits) - y * logits

    def coefficients(self, X: np.ndarray, y: np.ndarray, train: np.ndarray) -> np.ndarray:
        """Coefficients of the model fit on each training mask, shape ``(n_models, p)`` (Newton's method).

        Parameters
        ----------
        X : numpy.ndarray
            Features, shape ``(n, p)`` (a column of ones for an intercept).
        y : numpy.ndarray
            0/1 labels, shape ``(n,)``.
        train : numpy.ndarray
            Boolean training masks, shape ``(n_models, n)``.
        """
        weights = train.astype(float)
        n_models, p = train.shape[0], X.shape[1]
        beta = np.zeros((n_models, p))
        identity = self.penalty * np.eye(p)
        for _ in range(self.n_iterations):  # Newton iterations, not resamples: every model at once
            prob = _sigmoid(beta @ X.T)
            gradient = ((prob - y) * weights) @ X + beta * self.penalty
            curvature = prob * (1.0 - prob) * weights
            hessian = _weighted_gram(curvature, X) + identity
            step = np.linalg.solve(hessian, gradient[:, :, None])[:, :, 0]
            beta -= step
            if np.max(np.abs(step)) < 1e-10:
                break
        return beta


@dataclass(frozen=True)
class PerModelLearner:
    """Any estimator with ``fit(X, y)`` and ``predict(X)``, fit once per mask (no batching).

    Parameters
    ----------
    make_estimator : callable
        Returns a fresh, unfitted estimator (e.g. ``lambda: sklearn.linear_model.Ridge(1.0)``).
    loss : callable
        ``loss(y_true, y_pred) -> per-point losses``.
    """

    make_estimator: Callable[[], Any]
    loss: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __call__(self, X: np.ndarray, y: np.ndarray, train: np.ndarray) -> np.ndarray:
        losses = np.empty(train.shape)
        for m, mask in enumerate(train):  # one fit per model: the learner is opaque
            estimator = self.make_estimator()
            estimator.fit(X[mask], y[mask])
            losses[m] = self.loss(y, np.asarray(estimator.predict(X)))
        return losses


@dataclass(frozen=True)
class NestedCVResult:
    """Nested-CV estimate of the prediction error and its interval, with the naive CV interval.

    Attributes
    ----------
    estimate : float
        Bias-corrected nested-CV estimate of the prediction error.
    ci : ConfidenceInterval
        Nested-CV interval at ``confidence_level``.
    standard_error : float
        Standard error of the nested-CV interval: ``sqrt((K-1)/K * MSE_hat)``, kept within
        ``[naive_standard_error, sqrt(K) * naive_standard_error]``.
    mse : float
        Raw nested-CV estimate of the MSE of the inner CV estimate (may be negative by chance).
    cv_estimate : float
        Ordinary K-fold CV estimate (mean held-out loss, averaged over the repetitions).
    naive_ci : ConfidenceInterval
        Naive CV interval ``cv_estimate +- z * sd(e) / sqrt(n)``.
    naive_standard_error : float
        ``sd(e) / sqrt(n)`` of the ordinary CV losses.
    ncv_estimate : float
        Mean inner-CV loss before bias correction.
    bias : float
        The bias correction subtracted from ``ncv_estimate``.
    n_folds, n_repeats, n : int
        The design.
    confidence_level : float
        Nominal coverage.
    seed : int or None
        Seed of the fold assignments (None when a Generator or nothing was given).
    """

    estimate: float
    ci: ConfidenceInterval
    standard_error: float
    mse: float
    cv_estimate: float
    naive_ci: ConfidenceInterval
    naive_standard_error: float
    ncv_estimate: float
    bias: float
    n_folds: int
    n_repeats: int
    n: int
    confidence_level: float
    seed: int | None

    @property
    def inflation(self) -> float:
        """Width of the nested-CV interval over the naive one."""
        return self.standard_error / self.naive_standard_error if self.naive_standard_error > 0 else math.nan


def _weighted_gram(weights: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``X.T @ diag(w_m) @ X`` for every row ``w_m`` of ``weights``: shape ``(n_models, p, p)``."""
    n, p = X.shape
    if p <= 64:  # one matrix product against the per-point outer products
        outer = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)
        return (weights @ outer).reshape(-1, p, p)
    return np.matmul((weights[:, :, None] * X).transpose(0, 2, 1), X)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


def fold_assignment(n: int, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Random balanced fold labels: fold sizes differ by at most one.

    >>> np.bincount(fold_assignment(11, 3, np.random.default_rng(0))).tolist()
    [4, 4, 3]
    """
    return rng.permutation(np.arange(n) % n_folds)


def _check(X: np.ndarray, y: np.ndarray, n_folds: int, n_repeats: int, confidence: float) -> None:
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise InputError(f"X must be (n, p) and y (n,) with the same n; got {X.shape} and {y.shape}.")
    if not np.all(np.isfinite(X)) or not np.all(np.isfinite(y)):
        raise InputError("X and y must be finite: remove or impute the missing values first.")
    if n_folds < 3:
        raise InputError(f"Nested CV needs at least 3 folds (an inner CV on K-1 >= 2 folds); got {n_folds}.")
    if X.shape[0] < 2 * n_folds:
        raise InputError(f"{X.shape[0]} points are too few for {n_folds} folds: need at least 2 per fold.")
    if n_repeats < 1:
        raise InputError(f"n_repeats must be at least 1; got {n_repeats}.")
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1); got {confidence}.")


def _masks(member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training masks without each pair of folds (a < b), then without each single fold."""
    a, b = np.triu_indices(member.shape[0], k=1)
    return ~(member[a] | member[b]), ~member


def _statistics(losses_pairs: np.ndarray, losses_cv: np.ndarray, member: np.ndarray):
    """Per-partition pieces of Algorithm 1: inner errors, outer errors, a and b terms.

    ``member[k, i]`` says whether point ``i`` is in fold ``k``.
    """
    n_folds, n = member.shape
    a, b = np.triu_indices(n_folds, k=1)
    # held_out[k, j] = mean loss on fold j of the model fit without folds {j, k} (j != k), and its sum
    sums = np.zeros((n_folds, n_folds))
    sums[a, b] = (losses_pairs * member[b]).sum(axis=1)  # model without {a, b}, scored on fold b
    sums[b, a] = (losses_pairs * member[a]).sum(axis=1)  # ... scored on fold a
    sizes = member.sum(axis=1).astype(float)
    inner_total = sums.sum(axis=1)  # outer fold k: inner CV over every other fold
    inner_mean = inner_total / (n - sizes)
    outer = (losses_cv * member).sum(axis=1) / sizes  # ordinary CV loss of each fold
    cv_losses = (losses_cv * member).sum(axis=0)  # held-out loss of each point
    outer_var = np.array([cv_losses[m].var(ddof=1) for m in member])  # K folds, not resamples
    a_terms = (inner_mean - outer) ** 2
    b_terms = outer_var / sizes
    return inner_total.sum(), (n - sizes).sum(), a_terms, b_terms, cv_losses


def nested_cv(
    X: np.ndarray,
    y: np.ndarray,
    learner: Learner,
    *,
    n_folds: int = 10,
    n_repeats: int = 50,
    confidence: float = 0.90,
    rng: int | np.random.Generator | None = None,
    seed: int | None = None,
) -> NestedCVResult:
    """Nested cross-validation estimate and interval of the prediction error (Bates et al. 2023).

    Parameters
    ----------
    X, y : numpy.ndarray
        Data, shapes ``(n, p)`` and ``(n,)``.
    learner : Learner
        Fits all models of one partition at once (see :class:`Learner`); :class:`LeastSquares`,
        :class:`LogisticRegression` or :class:`PerModelLearner` around any estimator.
    n_folds : int
        Number of folds K (at least 3).
    n_repeats : int
        Number of random partitions R. The MSE estimate is noisy: Bates et al. use R = 200 or more
        in their experiments; 50 is a floor.
    confidence : float
        Nominal coverage (Bates et al. report 90 % intervals).
    rng : int, numpy.random.Generator or None
        Seed of the random partitions (the only randomness of this function); an int is recorded in the result.
    seed : int, optional
        Deprecated alias of ``rng`` (DeprecationWarning); removed in the next release.

    Returns
    -------
    NestedCVResult
        Point estimate, nested-CV interval, and the naive CV interval for comparison.

    Notes
    -----
    Each repetition fits ``K (K - 1) / 2 + K`` models (55 for K = 10). The bias correction
    ``(1 + (K-2)/K) * (Err_NCV - Err_CV)`` and the safeguards on the standard error follow the
    paper's section 4.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    _check(X, y, n_folds, n_repeats, confidence)
    n = y.size
    if seed is not None:
        warnings.warn("nested_cv(seed=...) is deprecated: pass rng=... (an int seed or a numpy Generator).",
                      DeprecationWarning, stacklevel=2)
        rng = seed
    recorded = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    rng = np.random.default_rng(rng)
    inner_sum = inner_count = 0.0
    a_terms, b_terms, cv_means, cv_sds = [], [], [], []
    for _ in range(n_repeats):  # repetitions of the design, each one batched fit of all its models
        folds = fold_assignment(n, n_folds, rng)
        member = folds[None, :] == np.arange(n_folds)[:, None]  # (K, n): point i in fold k
        pairs, singles = _masks(member)
        losses = np.asarray(learner(X, y, np.vstack([pairs, singles])), dtype=float)
        if losses.shape != (pairs.shape[0] + n_folds, n):
            raise InputError(f"The learner returned losses of shape {losses.shape}; expected "
                             f"{(pairs.shape[0] + n_folds, n)} (one row per training mask).")
        total, count, a_k, b_k, cv_losses = _statistics(losses[: pairs.shape[0]], losses[pairs.shape[0]:], member)
        inner_sum += total
        inner_count += count
        a_terms.append(a_k)
        b_terms.append(b_k)
        cv_means.append(cv_losses.mean())
        cv_sds.append(cv_losses.std(ddof=1))

    z = special.ndtri(0.5 + confidence / 2)  # scipy.stats.norm.ppf, without scipy.stats
    ncv = inner_sum / inner_count
    cv = float(np.mean(cv_means))
    naive_se = float(np.mean(cv_sds)) / math.sqrt(n)
    mse = float(np.mean(np.concatenate(a_terms)) - np.mean(np.concatenate(b_terms)))
    se = math.sqrt(max(mse, 0.0) * (n_folds - 1) / n_folds)
    se = min(max(se, naive_se), math.sqrt(n_folds) * naive_se)
    bias = (1 + (n_folds - 2) / n_folds) * (ncv - cv)
    estimate = ncv - bias
    return NestedCVResult(
        estimate=float(estimate),
        ci=ConfidenceInterval(float(estimate - z * se), float(estimate + z * se)),
        standard_error=se,
        mse=mse,
        cv_estimate=cv,
        naive_ci=ConfidenceInterval(cv - z * naive_se, cv + z * naive_se),
        naive_standard_error=naive_se,
        ncv_estimate=float(ncv),
        bias=float(bias),
        n_folds=n_folds,
        n_repeats=n_repeats,
        n=n,
        confidence_level=confidence,
        seed=recorded,
    )
