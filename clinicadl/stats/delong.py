"""DeLong's nonparametric variance of the area under the ROC curve, and the paired comparison of AUCs.

The structural components of DeLong, DeLong & Clarke-Pearson (1988) are computed with the midrank
algorithm of Sun & Xu (2014) in O(n log n) per model, for several models scored on the same cases.

References
----------
.. [1] DeLong, E. R., DeLong, D. M., & Clarke-Pearson, D. L. (1988). Comparing the areas under two or
   more correlated receiver operating characteristic curves: a nonparametric approach. Biometrics,
   44(3), 837-845.
.. [2] Sun, X., & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the areas
   under correlated receiver operating characteristic curves. IEEE Signal Processing Letters,
   21(11), 1389-1393.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from clinicadl.errors import InputError, UndefinedMetricWarning
from clinicadl.stats.midranks import midranks
from clinicadl.stats.normal import ndtr, ndtri
from clinicadl.stats.results import ConfidenceInterval, IntervalResult, TestResult

__all__ = ["DeLongComparison", "DeLongComponents", "delong_ci", "delong_components", "delong_test"]


@dataclass(frozen=True)
class DeLongComponents:
    """AUCs of ``k`` models scored on the same cases, with DeLong's structural components.

    Unpacks as ``auc, v10, v01, covariance = delong_components(...)``.

    Attributes
    ----------
    auc : numpy.ndarray of shape (k,)
        Area under the ROC curve of each model (ties between a positive and a negative count 1/2).
    v10 : numpy.ndarray of shape (k, n1)
        Structural components of the positives: ``V10[r, i]`` is the fraction of negatives that
        positive ``i`` outscores under model ``r``.
    v01 : numpy.ndarray of shape (k, n0)
        Structural components of the negatives: ``V01[r, j]`` is the fraction of positives that
        outscore negative ``j`` under model ``r``.
    covariance : numpy.ndarray of shape (k, k)
        DeLong's covariance matrix of the AUCs, ``S10 / n1 + S01 / n0``, where ``S10`` and ``S01``
        are the sample covariance matrices (ddof=1) of the rows of ``v10`` and ``v01``. NaN when a
        class has a single case.
    """

    auc: np.ndarray
    v10: np.ndarray = field(repr=False)
    v01: np.ndarray = field(repr=False)
    covariance: np.ndarray

    def __iter__(self):
        yield self.auc
        yield self.v10
        yield self.v01
        yield self.covariance


@dataclass(frozen=True)
class DeLongComparison:
    """Paired comparison of the AUCs of two models scored on the same cases.

    Attributes
    ----------
    auc_a, auc_b : float
        AUC of each model.
    difference : float
        ``auc_a - auc_b``.
    confidence_interval : ConfidenceInterval
        Wald interval for the difference at ``confidence_level`` (not clipped; the difference lies
        in [-1, 1]).
    standard_error : float
        DeLong standard error of the difference, ``sqrt(S_aa + S_bb - 2 S_ab)``.
    confidence_level : float
        Nominal coverage of ``confidence_interval``.
    test : TestResult
        Two-sided test of equal AUCs: ``statistic`` is ``difference / standard_error`` (a z score),
        ``pvalue`` from the standard normal, ``method`` ``"delong"``.
    """

    auc_a: float
    auc_b: float
    difference: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    confidence_level: float
    test: TestResult


def _delong_iv(y_true, scores, confidence_level=0.95):
    """Validate the inputs of this module; return ``(positive mask, scores as a (k, n) float array)``."""
    if isinstance(confidence_level, bool) or not isinstance(confidence_level, (int, float, np.floating)):
        raise InputError(f"confidence_level={confidence_level!r} must be a number in (0, 1), e.g. 0.95.")
    if not 0 < confidence_level < 1:
        raise InputError(
            f"confidence_level={confidence_level!r} must lie strictly between 0 and 1, e.g. 0.95."
        )
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise InputError(f"y_true has shape {y.shape}; pass a 1-D array of 0/1 labels (1 = positive).")
    if y.dtype.kind not in "biuf" or not np.all(np.isin(y, (0, 1))):
        bad = y[~np.isin(y, (0, 1))] if y.dtype.kind in "biuf" else y
        raise InputError(
            f"y_true contains {bad.ravel()[0].item()!r}; labels must be 0 (negative) or 1 (positive). "
            "Binarise multi-class labels first (one class against the rest)."
        )
    try:
        s = np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        raise InputError("scores must be numbers (probabilities, logits or any monotone score).") from None
    if s.ndim == 1:
        s = s[np.newaxis, :]
    if s.ndim != 2 or s.shape[1] != y.shape[0]:
        raise InputError(
            f"scores have shape {np.shape(scores)} but y_true has {y.shape[0]} cases; pass shape (n,) "
            "or (k, n) with one row per model."
        )
    if not np.all(np.isfinite(s)):
        raise InputError("scores contain NaN or infinite values; remove or impute those cases first.")
    positive = y == 1
    n1 = int(positive.sum())
    n0 = y.shape[0] - n1
    if n1 == 0 or n0 == 0:
        present = "positive (1)" if n0 == 0 else "negative (0)"
        raise InputError(
            f"AUC is undefined with a single class: all {y.shape[0]} cases are {present}; "
            "evaluate on data holding both classes."
        )
    return positive, s


def _components(positive, s):
    """Sun & Xu (2014) midrank computation of DeLong's components for validated inputs."""
    x, y = s[:, positive], s[:, ~positive]
    n1, n0 = x.shape[1], y.shape[1]
    # Midranks (ties share the average rank) within each class and in the pooled sample.
    tx = midranks(x, axis=1)
    ty = midranks(y, axis=1)
    tz = midranks(np.concatenate([x, y], axis=1), axis=1)
    # A positive's pooled midrank minus its within-class midrank counts the negatives below it,
    # ties counted 1/2; likewise for the negatives.
    v10 = (tz[:, :n1] - tx) / n0
    v01 = 1.0 - (tz[:, n1:] - ty) / n1
    auc = v10.mean(axis=1)
    if n1 < 2 or n0 < 2:
        warnings.warn(
            f"DeLong's variance needs at least 2 cases of each class (got {n1} positive, {n0} negative); "
            "the covariance is NaN.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        covariance = np.full((s.shape[0], s.shape[0]), np.nan)
    else:
        covariance = np.atleast_2d(np.cov(v10)) / n1 + np.atleast_2d(np.cov(v01)) / n0
    return DeLongComponents(auc=auc, v10=v10, v01=v01, covariance=covariance)


def delong_components(y_true, scores) -> DeLongComponents:
    """AUCs of one or several models and DeLong's structural components and covariance matrix.

    Parameters
    ----------
    y_true : array_like of shape (n,)
        Labels, 1 for a positive case and 0 for a negative one.
    scores : array_like of shape (n,) or (k, n)
        Scores of ``k`` models on the same ``n`` cases, higher meaning more likely positive. A 1-D
        array is one model (``k = 1``); the result's arrays are 2-D all the same.

    Returns
    -------
    DeLongComponents
        ``auc`` (k,), ``v10`` (k, n1), ``v01`` (k, n0) and ``covariance`` (k, k).

    Raises
    ------
    InputError
        If the labels are not 0/1, a class is absent (the AUC is then undefined), the shapes do not
        match, or a score is NaN or infinite.

    Warns
    -----
    UndefinedMetricWarning
        If a class has a single case: the AUC is defined but its variance is not (NaN covariance).

    Notes
    -----
    With positives ``X_i`` (``i < n1``) and negatives ``Y_j`` (``j < n0``), and
    ``psi(X, Y) = 1`` if ``X > Y``, ``1/2`` if ``X == Y``, 0 otherwise, DeLong et al. (1988) define
    ``V10(X_i) = mean_j psi(X_i, Y_j)`` and ``V01(Y_j) = mean_i psi(X_i, Y_j)``; the AUC is the mean of
    either, and its covariance matrix is estimated by ``S10 / n1 + S01 / n0``. Sun & Xu (2014) obtain
    the components from midranks: ``V10(X_i) = (T_Z(X_i) - T_X(X_i)) / n0`` and
    ``V01(Y_j) = 1 - (T_Z(Y_j) - T_Y(Y_j)) / n1``, where ``T_X``, ``T_Y`` and ``T_Z`` are midranks
    within the positives, within the negatives and in the pooled sample; cost O(k n log n).

    References
    ----------
    .. [1] DeLong, E. R., DeLong, D. M., & Clarke-Pearson, D. L. (1988). Comparing the areas under two
       or more correlated receiver operating characteristic curves: a nonparametric approach.
       Biometrics, 44(3), 837-845.
    .. [2] Sun, X., & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the areas
       under correlated receiver operating characteristic curves. IEEE Signal Processing Letters,
       21(11), 1389-1393.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.delong import delong_components
    >>> rng = np.random.default_rng(0)
    >>> y_true = np.repeat([0, 1], 50)
    >>> scores = np.stack([rng.normal(y_true), rng.normal(0.5 * y_true)])  # two models
    >>> auc, v10, v01, covariance = delong_components(y_true, scores)
    >>> print(np.round(auc, 3), v10.shape, v01.shape, covariance.shape)
    [0.741 0.584] (2, 50) (2, 50) (2, 2)
    """
    positive, s = _delong_iv(y_true, scores)
    return _components(positive, s)


def delong_ci(y_true, y_score, *, confidence_level: float = 0.95) -> IntervalResult:
    """Confidence interval for the AUC of one model with DeLong's standard error.

    Parameters
    ----------
    y_true : array_like of shape (n,)
        Labels, 1 for a positive case and 0 for a negative one.
    y_score : array_like of shape (n,)
        Scores, higher meaning more likely positive.
    confidence_level : float, default 0.95
        Nominal coverage, in (0, 1).

    Returns
    -------
    IntervalResult
        ``estimate`` the AUC; ``confidence_interval`` the Wald interval
        ``AUC -/+ z * standard_error`` clipped to [0, 1]; ``standard_error`` DeLong's;
        ``method`` ``"delong"``.

    Raises
    ------
    InputError
        As :func:`delong_components`; also if ``y_score`` is not 1-D.

    Warns
    -----
    UndefinedMetricWarning
        If a class has a single case: the standard error and interval are NaN.

    Notes
    -----
    The interval is the plain Wald interval on the AUC scale, as in DeLong et al. (1988) and the
    ``pROC`` package, clipped to [0, 1] where it would leave the range of the AUC. The clipping
    does not repair its known weakness: near AUC = 1 with few cases the standard error is
    underestimated (it is 0 at perfect separation, giving the degenerate interval [1, 1]), and the
    coverage falls below nominal; a bootstrap interval is preferable there.

    References
    ----------
    .. [1] DeLong, E. R., DeLong, D. M., & Clarke-Pearson, D. L. (1988). Comparing the areas under two
       or more correlated receiver operating characteristic curves: a nonparametric approach.
       Biometrics, 44(3), 837-845.
    .. [2] Sun, X., & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the areas
       under correlated receiver operating characteristic curves. IEEE Signal Processing Letters,
       21(11), 1389-1393.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.delong import delong_ci
    >>> rng = np.random.default_rng(0)
    >>> y_true = rng.integers(0, 2, size=200)
    >>> y_score = rng.normal(1.2 * y_true)
    >>> res = delong_ci(y_true, y_score)
    >>> low, high = res.confidence_interval
    >>> print(f"AUC {res.estimate:.3f} [{low:.3f}, {high:.3f}]")
    AUC 0.796 [0.733, 0.859]
    """
    if np.ndim(y_score) != 1:
        raise InputError(
            f"y_score has shape {np.shape(y_score)}; delong_ci takes one model's scores of shape (n,). "
            "Use delong_components for several models."
        )
    positive, s = _delong_iv(y_true, y_score, confidence_level)
    comp = _components(positive, s)
    auc = float(comp.auc[0])
    se = float(np.sqrt(comp.covariance[0, 0]))
    z = ndtri(0.5 + 0.5 * confidence_level)
    low, high = np.clip([auc - z * se, auc + z * se], 0.0, 1.0)
    return IntervalResult(
        estimate=auc,
        confidence_interval=ConfidenceInterval(float(low), float(high)),
        standard_error=se,
        method="delong",
        confidence_level=float(confidence_level),
    )


def delong_test(y_true, score_a, score_b, *, confidence_level: float = 0.95) -> DeLongComparison:
    """DeLong's test of equal AUCs for two models scored on the same cases, with the difference's interval.

    Parameters
    ----------
    y_true : array_like of shape (n,)
        Labels, 1 for a positive case and 0 for a negative one.
    score_a, score_b : array_like of shape (n,)
        Scores of the two models on the same cases, in the same order.
    confidence_level : float, default 0.95
        Nominal coverage of the interval for the difference, in (0, 1).

    Returns
    -------
    DeLongComparison
        ``auc_a``, ``auc_b``, ``difference`` (a - b), its Wald ``confidence_interval`` and
        ``standard_error``, and ``test``: a :class:`TestResult` whose ``statistic`` is the z score
        of the difference and ``pvalue`` is two-sided.

    Raises
    ------
    InputError
        As :func:`delong_components`; also if a score array is not 1-D or they differ in length.

    Warns
    -----
    UndefinedMetricWarning
        If a class has a single case: the standard error, interval, statistic and p-value are NaN.

    Notes
    -----
    The variance of the difference, ``S_aa + S_bb - 2 S_ab``, accounts for the correlation of the
    two AUCs induced by the shared cases (DeLong et al. 1988). When it is 0 (e.g. identical
    scores) the statistic is 0 with p-value 1 if the AUCs are equal, and +/-inf with p-value 0
    otherwise.

    References
    ----------
    .. [1] DeLong, E. R., DeLong, D. M., & Clarke-Pearson, D. L. (1988). Comparing the areas under two
       or more correlated receiver operating characteristic curves: a nonparametric approach.
       Biometrics, 44(3), 837-845.
    .. [2] Sun, X., & Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing the areas
       under correlated receiver operating characteristic curves. IEEE Signal Processing Letters,
       21(11), 1389-1393.

    Examples
    --------
    >>> import numpy as np
    >>> from clinicadl.stats.delong import delong_test
    >>> rng = np.random.default_rng(0)
    >>> y_true = rng.integers(0, 2, size=300)
    >>> signal = rng.normal(y_true)
    >>> score_a = signal + rng.normal(scale=0.8, size=300)  # less noise
    >>> score_b = signal + rng.normal(scale=1.2, size=300)
    >>> res = delong_test(y_true, score_a, score_b)
    >>> print(f"{res.auc_a:.3f} - {res.auc_b:.3f} = {res.difference:.3f}, p = {res.test.pvalue:.4f}")
    0.783 - 0.697 = 0.085, p = 0.0023
    """
    for name, value in (("score_a", score_a), ("score_b", score_b)):
        if np.ndim(value) != 1:
            raise InputError(f"{name} has shape {np.shape(value)}; pass one model's scores of shape (n,).")
    if np.shape(score_a) != np.shape(score_b):
        raise InputError(
            f"score_a has {np.shape(score_a)[0]} cases and score_b {np.shape(score_b)[0]}; "
            "both models must be scored on the same cases."
        )
    positive, s = _delong_iv(y_true, np.stack([np.asarray(score_a), np.asarray(score_b)]), confidence_level)
    comp = _components(positive, s)
    auc_a, auc_b = (float(a) for a in comp.auc)
    difference = auc_a - auc_b
    cov = comp.covariance
    variance = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    if np.isnan(variance):
        se = statistic = pvalue = np.nan
    elif variance <= 0:  # exact cancellation, or rounding just below 0
        se = 0.0
        statistic = 0.0 if difference == 0 else float(np.copysign(np.inf, difference))
        pvalue = 1.0 if difference == 0 else 0.0
    else:
        se = float(np.sqrt(variance))
        statistic = difference / se
        pvalue = float(2 * ndtr(-abs(statistic)))
    z = ndtri(0.5 + 0.5 * confidence_level)
    return DeLongComparison(
        auc_a=auc_a,
        auc_b=auc_b,
        difference=difference,
        confidence_interval=ConfidenceInterval(float(difference - z * se), float(difference + z * se)),
        standard_error=float(se),
        confidence_level=float(confidence_level),
        test=TestResult(statistic=float(statistic), pvalue=float(pvalue), method="delong"),
    )
