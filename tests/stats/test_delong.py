"""Validation of clinicadl.stats.delong.

Oracles: scikit-learn's AUC; the O(n^2) definition of DeLong, DeLong & Clarke-Pearson (1988) for the
structural components and covariance (checked against the midrank algorithm of Sun & Xu 2014); coverage
and type I error by seeded simulation, judged within 3 Monte-Carlo standard errors.
"""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from clinicadl.errors import InputError, UndefinedMetricWarning
from clinicadl.stats.delong import DeLongComparison, delong_ci, delong_components, delong_test


def _direct(y_true, scores):
    """O(n^2) DeLong components from psi(X, Y) = 1 if X > Y, 1/2 if X == Y, 0 otherwise."""
    scores = np.atleast_2d(scores)
    x, y = scores[:, y_true == 1], scores[:, y_true == 0]
    psi = (x[:, :, None] > y[:, None, :]) + 0.5 * (x[:, :, None] == y[:, None, :])
    v10, v01 = psi.mean(axis=2), psi.mean(axis=1)
    n1, n0 = x.shape[1], y.shape[1]
    s10 = np.array([[np.sum((a - a.mean()) * (b - b.mean())) / (n1 - 1) for b in v10] for a in v10])
    s01 = np.array([[np.sum((a - a.mean()) * (b - b.mean())) / (n0 - 1) for b in v01] for a in v01])
    return psi.mean(axis=(1, 2)), v10, v01, s10 / n1 + s01 / n0


def _tied_data(seed, n=40, k=3):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, size=n)
    y_true[:2] = [0, 1]
    # Scores on a coarse grid: many ties within and across classes.
    scores = np.round(rng.normal(y_true, 1.0, size=(k, n)) * 2) / 2
    return y_true, scores


@pytest.mark.parametrize("seed", range(5))
def test_components_equal_direct_computation_with_ties(seed):
    y_true, scores = _tied_data(seed)
    comp = delong_components(y_true, scores)
    auc, v10, v01, covariance = _direct(y_true, scores)
    np.testing.assert_allclose(comp.auc, auc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(comp.v10, v10, rtol=0, atol=1e-12)
    np.testing.assert_allclose(comp.v01, v01, rtol=0, atol=1e-12)
    np.testing.assert_allclose(comp.covariance, covariance, rtol=0, atol=1e-12)  # paired covariances too
    assert comp.covariance.shape == (3, 3)
    assert np.all(np.linalg.eigvalsh(comp.covariance) >= -1e-15)


@pytest.mark.parametrize("seed", range(5))
def test_auc_equals_sklearn(seed):
    y_true, scores = _tied_data(seed, n=101, k=2)
    comp = delong_components(y_true, scores)
    for row in range(2):
        assert comp.auc[row] == pytest.approx(roc_auc_score(y_true, scores[row]), abs=1e-12)
    assert delong_ci(y_true, scores[0]).estimate == pytest.approx(roc_auc_score(y_true, scores[0]), abs=1e-12)


def test_one_dimensional_scores_and_unpacking():
    y_true, scores = _tied_data(0)
    auc, v10, v01, covariance = delong_components(y_true, scores[0])
    n1 = int(y_true.sum())
    assert auc.shape == (1,) and v10.shape == (1, n1) and v01.shape == (1, y_true.size - n1)
    assert covariance.shape == (1, 1)
    res = delong_ci(y_true, scores[0])
    assert res.standard_error == pytest.approx(np.sqrt(covariance[0, 0]), rel=1e-15)
    assert res.method == "delong" and res.confidence_level == 0.95


def test_invariances():
    # The AUC and its variance depend on ranks only; reversing the labels and the scores maps AUC to itself,
    # reversing the scores alone maps it to 1 - AUC with the same variance.
    y_true, scores = _tied_data(1, n=60, k=1)
    base = delong_ci(y_true, scores[0])
    monotone = delong_ci(y_true, np.exp(3 * scores[0]) + 7)
    flipped = delong_ci(y_true, -scores[0])
    swapped = delong_ci(1 - y_true, -scores[0])
    assert (monotone.estimate, monotone.standard_error) == pytest.approx((base.estimate, base.standard_error))
    assert flipped.estimate == pytest.approx(1 - base.estimate)
    assert flipped.standard_error == pytest.approx(base.standard_error)
    assert (swapped.estimate, swapped.standard_error) == pytest.approx((base.estimate, base.standard_error))


def test_ci_is_wald_interval_clipped_to_unit_range():
    rng = np.random.default_rng(3)
    y_true = np.repeat([0, 1], 15)
    y_score = rng.normal(3.0 * y_true)
    res = delong_ci(y_true, y_score, confidence_level=0.9)
    z = stats.norm.ppf(0.95)
    assert res.confidence_interval.low == pytest.approx(res.estimate - z * res.standard_error)
    assert res.confidence_interval.high == min(1.0, res.estimate + z * res.standard_error)
    # Perfect separation: standard error 0 and the degenerate interval [1, 1].
    perfect = delong_ci(y_true, y_true + rng.random(30) * 0.5)
    assert (perfect.estimate, perfect.standard_error) == (1.0, 0.0)
    assert tuple(perfect.confidence_interval) == (1.0, 1.0)


def test_comparison_fields_and_closed_form():
    y_true, scores = _tied_data(4, n=80, k=2)
    res = delong_test(y_true, scores[0], scores[1], confidence_level=0.9)
    assert isinstance(res, DeLongComparison)
    auc, _, _, cov = _direct(y_true, scores)
    se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    z = (auc[0] - auc[1]) / se
    assert (res.auc_a, res.auc_b, res.difference) == pytest.approx(
        (auc[0], auc[1], auc[0] - auc[1]), abs=1e-12
    )
    assert res.standard_error == pytest.approx(se, rel=1e-12)
    assert res.test.statistic == pytest.approx(z, rel=1e-12)
    assert res.test.pvalue == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)
    assert (res.test.method, res.test.alternative) == ("delong", "two-sided")
    half = stats.norm.ppf(0.95) * se
    assert tuple(res.confidence_interval) == pytest.approx((res.difference - half, res.difference + half))
    # Swapping the models negates the difference and keeps the p-value.
    swapped = delong_test(y_true, scores[1], scores[0])
    assert swapped.difference == pytest.approx(-res.difference)
    assert swapped.test.pvalue == pytest.approx(res.test.pvalue)


def test_identical_scores_give_pvalue_one():
    y_true, scores = _tied_data(2)
    res = delong_test(y_true, scores[0], scores[0])
    assert (res.difference, res.standard_error, res.test.statistic, res.test.pvalue) == (0.0, 0.0, 0.0, 1.0)


def test_single_case_of_a_class_warns_and_gives_nan():
    y_true = np.array([0, 0, 0, 1])
    with pytest.warns(UndefinedMetricWarning, match="at least 2 cases"):
        res = delong_ci(y_true, [0.1, 0.2, 0.5, 0.4])
    assert res.estimate == pytest.approx(2 / 3)
    assert np.isnan(res.standard_error) and np.isnan(res.confidence_interval.low)


@pytest.mark.parametrize(
    ("y_true", "scores", "match"),
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], "AUC is undefined with a single class"),
        ([0, 0, 0], [0.1, 0.2, 0.3], "AUC is undefined with a single class"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "labels must be 0"),
        (["a", "b", "a"], [0.1, 0.2, 0.3], "labels must be 0"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "NaN"),
        ([0, 1, 1], [0.1, 0.3], "3 cases"),
        ([[0, 1], [1, 0]], [0.1, 0.3], "1-D"),
    ],
)
def test_invalid_input(y_true, scores, match):
    with pytest.raises(InputError, match=match):
        delong_components(y_true, scores)


def test_invalid_options_and_shapes():
    y_true = [0, 1, 0, 1]
    with pytest.raises(InputError, match="confidence_level"):
        delong_ci(y_true, [0.1, 0.2, 0.3, 0.4], confidence_level=1.0)
    with pytest.raises(InputError, match="delong_components"):
        delong_ci(y_true, [[0.1, 0.2, 0.3, 0.4]])
    with pytest.raises(InputError, match="same cases"):
        delong_test(y_true, [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3])


def _binormal(rng, n1, n0, d, rho):
    """Positives N(d, 1), negatives N(0, 1), for two models whose scores correlate with rho within a class."""
    cov = [[1.0, rho], [rho, 1.0]]
    x = rng.multivariate_normal([d, d], cov, size=n1).T
    y = rng.multivariate_normal([0.0, 0.0], cov, size=n0).T
    return np.concatenate([x, y], axis=1)


N_SIM = 2000


def _mc_tolerance(p):
    return 3 * np.sqrt(p * (1 - p) / N_SIM)


def test_coverage_simulation_binormal():
    # Binormal AUC = Phi(d / sqrt(2)) = 0.8; n = 200 (100 positives, 100 negatives).
    d = np.sqrt(2) * stats.norm.ppf(0.8)
    y_true = np.repeat([1, 0], 100)
    rng = np.random.default_rng(20240601)
    covered = 0
    for _ in range(N_SIM):
        score = np.concatenate([rng.normal(d, 1, 100), rng.normal(0, 1, 100)])
        low, high = delong_ci(y_true, score).confidence_interval
        covered += low <= 0.8 <= high
    assert abs(covered / N_SIM - 0.95) <= _mc_tolerance(0.95)


def test_type_one_error_simulation_correlated_models():
    # Two models with the same binormal distribution (AUC 0.8), correlated 0.5: H0 holds.
    d = np.sqrt(2) * stats.norm.ppf(0.8)
    y_true = np.repeat([1, 0], 100)
    rng = np.random.default_rng(7)
    rejected = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(N_SIM):
            scores = _binormal(rng, 100, 100, d, rho=0.5)
            rejected += delong_test(y_true, scores[0], scores[1]).test.pvalue < 0.05
    assert abs(rejected / N_SIM - 0.05) <= _mc_tolerance(0.05)
