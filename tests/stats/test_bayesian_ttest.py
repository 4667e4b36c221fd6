"""Validation of clinicadl.stats.bayesian_ttest against baycomp and closed forms.

References: Corani & Benavoli (2015), Machine Learning 100; Benavoli, Corani, Demšar & Zaffalon (2017), JMLR 18(77).
baycomp (the authors' package) takes ``diff = y - x`` and the correlation ``rho = runs / n`` (1 / k for k folds).
"""

import numpy as np
import pytest
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.bayesian_ttest import correlated_bayesian_ttest
from clinicadl.stats.corrected_ttest import corrected_repeated_kfold_ttest

baycomp = pytest.importorskip("baycomp")


@pytest.mark.parametrize(
    ("n_repeats", "n_folds", "rope", "shift"),
    [(10, 10, 0.01, 0.01), (1, 10, 0.01, 0.0), (5, 5, 0.02, -0.015), (3, 10, 0.005, 0.03), (10, 10, 0.05, 0.01)],
)
def test_equals_baycomp(n_repeats, n_folds, rope, shift):
    rng = np.random.default_rng(n_repeats * n_folds)
    scores_b = rng.uniform(0.7, 0.8, size=n_repeats * n_folds)
    scores_a = scores_b + shift + 0.02 * rng.standard_normal(scores_b.size)
    res = correlated_bayesian_ttest((scores_a - scores_b).reshape(n_repeats, n_folds), rho=1 / n_folds, rope=rope)
    expected = baycomp.two_on_single(scores_b, scores_a, rope=rope, runs=n_repeats)
    assert res.probabilities == pytest.approx(expected, abs=1e-9, rel=0)
    posterior = baycomp.CorrelatedTTest(scores_b, scores_a, rope=rope, runs=n_repeats)
    assert res.posterior_mean == pytest.approx(posterior.mean, rel=1e-12)
    assert res.posterior_scale == pytest.approx(np.sqrt(posterior.var), rel=1e-12)
    assert res.df == posterior.df == scores_a.size - 1
    assert (res.rope, res.rho) == (rope, 1 / n_folds)


def test_rope_zero_equals_baycomp_two_probabilities():
    rng = np.random.default_rng(9)
    x, y = rng.uniform(0.7, 0.8, 50), rng.uniform(0.7, 0.8, 50)
    res = correlated_bayesian_ttest(y - x, rho=0.1, rope=0)
    p_left, p_right = baycomp.two_on_single(x, y, rope=0, runs=5)
    assert (res.p_left, res.p_right) == pytest.approx((p_left, p_right), abs=1e-9, rel=0)
    assert res.p_rope == pytest.approx(0.0, abs=1e-15)


def test_left_probability_equals_the_corrected_one_sided_pvalue():
    # With the improper prior, P(mu < 0 | data) equals the corrected t-test's p-value for "greater".
    differences = np.random.default_rng(10).normal(0.005, 0.02, size=(10, 10))
    res = correlated_bayesian_ttest(differences, rho=1 / 10, rope=0)
    test = corrected_repeated_kfold_ttest(differences, n_folds=10, n_repeats=10, alternative="greater")
    assert res.p_left == pytest.approx(test.pvalue, rel=1e-10)
    assert res.posterior_scale == pytest.approx(test.standard_error, rel=1e-12)


def test_closed_form_and_symmetry():
    differences = np.random.default_rng(12).normal(0.0, 0.02, size=30)
    res = correlated_bayesian_ttest(differences, rho=0.2, rope=0.01)
    scale = np.sqrt((1 / 30 + 0.2 / 0.8) * differences.var(ddof=1))
    posterior = stats.t(29, loc=differences.mean(), scale=scale)
    assert res.p_left == pytest.approx(posterior.cdf(-0.01), rel=1e-12)
    assert res.p_right == pytest.approx(posterior.sf(0.01), rel=1e-12)
    assert res.p_left + res.p_rope + res.p_right == pytest.approx(1.0, abs=1e-15)
    mirrored = correlated_bayesian_ttest(-differences, rho=0.2, rope=0.01)
    assert (mirrored.p_left, mirrored.p_rope, mirrored.p_right) == pytest.approx(
        (res.p_right, res.p_rope, res.p_left), rel=1e-12
    )
    wider = correlated_bayesian_ttest(differences, rho=0.2, rope=0.02)
    assert wider.p_rope > res.p_rope
    # rho = 0: the scale is the ordinary standard error of the mean.
    assert correlated_bayesian_ttest(differences, rho=0, rope=0.01).posterior_scale == pytest.approx(
        differences.std(ddof=1) / np.sqrt(30), rel=1e-12
    )


@pytest.mark.parametrize(
    ("value", "expected"), [(0.0, (0.0, 1.0, 0.0)), (0.03, (0.0, 0.0, 1.0)), (-0.03, (1.0, 0.0, 0.0))]
)
def test_constant_differences_give_a_point_mass(value, expected):
    res = correlated_bayesian_ttest(np.full(20, value), rho=0.1, rope=0.01)
    assert res.probabilities == expected and res.posterior_scale == 0.0
    assert baycomp.two_on_single(np.zeros(20), np.full(20, value), rope=0.01, runs=2) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("differences", "kwargs", "match"),
    [
        ([0.1], {}, "at least 2"),
        ([0.1, np.inf], {}, "inf at index"),
        (np.zeros((2, 2, 2)), {}, "shape"),
        ([0.1, 0.2], {"rho": 1.0}, "rho=1.0"),
        ([0.1, 0.2], {"rho": -0.1}, "rho=-0.1"),
        ([0.1, 0.2], {"rope": -0.01}, "rope=-0.01"),
        ([0.1, 0.2], {"rope": "0.01"}, "must be a number"),
    ],
)
def test_invalid_input(differences, kwargs, match):
    options = {"rho": 0.1, **kwargs}
    with pytest.raises(InputError, match=match):
        correlated_bayesian_ttest(differences, **options)
