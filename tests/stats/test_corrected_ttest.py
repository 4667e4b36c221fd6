"""Validation of clinicadl.stats.corrected_ttest: closed forms, scipy oracles and simulations under H0.

References: Nadeau & Bengio (2003), Machine Learning 52(3); Bouckaert & Frank (2004), PAKDD, LNCS 3056.
"""

import warnings

import numpy as np
import pytest
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.corrected_ttest import (
    OverconfidentTestWarning,
    corrected_repeated_kfold_ttest,
    corrected_resampled_ttest,
    naive_resampled_ttest,
)
from clinicadl.stats.simulation import CentroidCV, ResampledDifferences

ALPHA = 0.05


def _naive(differences, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverconfidentTestWarning)
        return naive_resampled_ttest(differences, **kwargs)


def _three_se(rate, n):
    return 3 * np.sqrt(rate * (1 - rate) / n)


def test_ten_by_ten_fold_factor_is_12_1():
    # Bouckaert & Frank (2004): (1/100 + 1/9) / (1/100) = 109/9 = 12.1 for 10 x 10-fold cross-validation.
    differences = np.random.default_rng(3).normal(0.01, 0.02, size=(10, 10))
    corrected = corrected_repeated_kfold_ttest(differences, n_folds=10, n_repeats=10)
    naive = _naive(differences.ravel())
    assert corrected.correction_factor == pytest.approx(109 / 9, rel=1e-12)
    assert round(corrected.correction_factor, 1) == 12.1
    assert corrected.df == 99 and corrected.method == "corrected-repeated-kfold-t"
    assert corrected.statistic == pytest.approx(naive.statistic / np.sqrt(109 / 9), rel=1e-12)
    assert corrected.standard_error == pytest.approx(naive.standard_error * np.sqrt(109 / 9), rel=1e-12)
    # Explicit sizes n_train = 9 n_test give the same test; 2-D and flat input agree.
    explicit = corrected_repeated_kfold_ttest(differences.ravel(), n_folds=10, n_repeats=10, n_train=180, n_test=20)
    assert (explicit.statistic, explicit.pvalue) == pytest.approx((corrected.statistic, corrected.pvalue), rel=1e-12)
    resampled = corrected_resampled_ttest(differences.ravel(), n_train=180, n_test=20)
    assert resampled.pvalue == pytest.approx(corrected.pvalue, rel=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_naive_equals_scipy_ttest_1samp(alternative):
    differences = np.random.default_rng(4).normal(0.005, 0.02, size=15)
    with pytest.warns(OverconfidentTestWarning, match="Nadeau & Bengio"):
        res = naive_resampled_ttest(differences, alternative=alternative)
    oracle = stats.ttest_1samp(differences, 0.0, alternative=alternative)
    assert res.statistic == pytest.approx(oracle.statistic, rel=1e-12)
    assert res.pvalue == pytest.approx(oracle.pvalue, rel=1e-12)
    assert (res.df, res.correction_factor, res.method) == (14, 1.0, "naive-resampled-t")
    expected = oracle.confidence_interval(0.9)
    assert tuple(res.confidence_interval(0.9)) == pytest.approx((expected.low, expected.high), rel=1e-12)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_corrected_resampled_closed_form(alternative):
    differences = np.random.default_rng(5).normal(0.01, 0.03, size=15)
    res = corrected_resampled_ttest(differences, n_train=160, n_test=40, alternative=alternative)
    j = differences.size
    se = np.sqrt((1 / j + 40 / 160) * differences.var(ddof=1))
    t = differences.mean() / se
    pvalue = {
        "two-sided": 2 * stats.t.sf(abs(t), j - 1),
        "less": stats.t.cdf(t, j - 1),
        "greater": stats.t.sf(t, j - 1),
    }
    assert res.correction_factor == pytest.approx(1 + j * 40 / 160, rel=1e-12)  # 4.75
    assert res.standard_error == pytest.approx(se, rel=1e-12)
    assert res.statistic == pytest.approx(t, rel=1e-12)
    assert res.pvalue == pytest.approx(pvalue[alternative], rel=1e-12)
    assert res.mean_difference == pytest.approx(differences.mean(), rel=1e-12)
    assert (res.df, res.alternative, res.method) == (14, alternative, "corrected-resampled-t")


def test_confidence_interval_is_dual_to_the_test():
    rng = np.random.default_rng(6)
    for _ in range(20):
        differences = rng.normal(0.02, 0.03, size=20)
        res = corrected_resampled_ttest(differences, n_train=90, n_test=10)
        low, high = res.confidence_interval(0.95)
        assert (low <= 0 <= high) == (res.pvalue >= ALPHA)
        greater = corrected_resampled_ttest(differences, n_train=90, n_test=10, alternative="greater")
        low, high = greater.confidence_interval(0.95)
        assert high == np.inf and (low <= 0) == (greater.pvalue >= ALPHA)


def test_constant_differences():
    zero = corrected_resampled_ttest(np.zeros(10), n_train=90, n_test=10)
    assert (zero.statistic, zero.pvalue, zero.standard_error) == (0.0, 1.0, 0.0)
    positive = corrected_resampled_ttest(np.full(10, 0.01), n_train=90, n_test=10, alternative="greater")
    assert (positive.statistic, positive.pvalue) == (np.inf, 0.0)


@pytest.mark.parametrize(("j", "n_train", "n_test"), [(15, 160, 40), (100, 180, 20)])
def test_size_under_the_nadeau_bengio_model(j, n_train, n_test):
    # Under equicorrelated normal differences with rho = n_test / (n_train + n_test), the corrected statistic
    # is exactly Student t with j - 1 degrees of freedom: it rejects 5 % of the time; the naive test does not.
    n_sim = 4000
    draws = ResampledDifferences(j, n_train, n_test).draw(np.random.default_rng(7), n_sim)["differences"]
    corrected = np.array([corrected_resampled_ttest(d, n_train=n_train, n_test=n_test).pvalue for d in draws])
    naive = np.array([_naive(d).pvalue for d in draws])
    assert abs(np.mean(corrected <= ALPHA) - ALPHA) <= _three_se(ALPHA, n_sim)
    assert np.mean(naive <= ALPHA) > ALPHA + _three_se(ALPHA, n_sim)


def test_size_with_a_real_learner_on_10x10_fold_cv():
    # Nadeau & Bengio's correction is a heuristic; with a real learner it is slightly conservative (about 3.9 %
    # in 20,000 runs), while the naive test rejects about 55 % of the time (Bouckaert & Frank 2004 report the
    # same order of magnitude).
    n_sim = 2000
    rng = np.random.default_rng(8)
    # two nearest-centroid classifiers of equal accuracy (the harness's scenario), drawn 250 studies at a time
    draws = np.concatenate([CentroidCV().draw(rng, 250)["differences"] for _ in range(n_sim // 250)])
    draws = draws.reshape(n_sim, 10, 10)
    corrected = np.array([corrected_repeated_kfold_ttest(d, n_folds=10, n_repeats=10).pvalue for d in draws])
    naive = np.array([_naive(d.ravel()).pvalue for d in draws])
    assert np.mean(corrected <= ALPHA) <= ALPHA + _three_se(ALPHA, n_sim)
    assert np.mean(naive <= ALPHA) > ALPHA + _three_se(ALPHA, n_sim)
    assert np.mean(naive <= ALPHA) > 0.4


def test_naive_always_warns():
    for _ in range(2):  # every call, not only the first
        with pytest.warns(OverconfidentTestWarning):
            naive_resampled_ttest([0.1, 0.2, 0.15])


@pytest.mark.parametrize(
    ("differences", "kwargs", "match"),
    [
        ([0.1], {}, "at least 2"),
        ([0.1, np.nan, 0.2], {}, "nan at index"),
        ([[0.1, 0.2], [0.3, 0.4]], {}, "1-D"),
        (["a", "b"], {}, "must be numbers"),
        ([0.1, 0.2], {"n_train": 0}, "n_train=0"),
        ([0.1, 0.2], {"n_test": -1.0}, "n_test=-1.0"),
        ([0.1, 0.2], {"n_test": True}, "n_test=True"),
        ([0.1, 0.2], {"alternative": "two_sided"}, "two_sided"),
    ],
)
def test_invalid_input_resampled(differences, kwargs, match):
    options = {"n_train": 90, "n_test": 10, **kwargs}
    with pytest.raises(InputError, match=match):
        corrected_resampled_ttest(differences, **options)


@pytest.mark.parametrize(
    ("shape", "kwargs", "match"),
    [
        ((10, 5), {}, r"shape \(10, 5\).*\(5, 10\)"),
        ((49,), {}, "49 values.*needs 50"),
        ((5, 10), {"n_train": 90}, "both n_train and n_test"),
        ((5, 10), {"n_folds": 1}, "n_folds=1"),
        ((5, 10), {"n_repeats": 0}, "n_repeats=0"),
        ((5, 10, 1), {}, "shape"),
    ],
)
def test_invalid_input_repeated_kfold(shape, kwargs, match):
    options = {"n_folds": 10, "n_repeats": 5, **kwargs}
    with pytest.raises(InputError, match=match):
        corrected_repeated_kfold_ttest(np.zeros(shape), **options)


def test_naive_rejects_bad_input_before_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", OverconfidentTestWarning)
        with pytest.raises(InputError, match="at least 2"):
            naive_resampled_ttest([0.1])
