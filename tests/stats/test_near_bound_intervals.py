"""Closed forms near the bound, against oracles: scipy, published values and closed forms.

References: Wilson (1927); Clopper & Pearson (1934); Brown, Cai & DasGupta (2001) (Jeffreys);
Newcombe (1998a, 1998b); Zou & Donner (2008); Newcombe (2006); DeLong et al. (1988); Obuchowski (1997);
Kish (1965).
"""

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, logit

from clinicadl.stats import delong_ci, make_predictions
from clinicadl.stats.analytic import closed_form_interval
from clinicadl.stats.auc_interval import auc_sample_sizes, logit_delong_interval, newcombe_auc_interval
from clinicadl.stats.effective_size import effective_counts
from clinicadl.stats.metrics import resolve_metrics
from clinicadl.stats.mover import mover_linear, newcombe_difference, newcombe_paired_difference
from clinicadl.stats.proportion import proportion_interval

Z = stats.norm.ppf(0.975)


# --------------------------------------------------------------------------------------------------
# Effective counts (design effect of a ratio estimator)


def test_one_image_per_participant_leaves_the_counts_unchanged():
    rng = np.random.default_rng(0)
    k = rng.integers(0, 2, size=(50, 30))
    res = effective_counts(k, np.ones_like(k))
    assert np.all(res.design_effect == 1.0)
    assert np.allclose(res.trials, 30) and np.allclose(res.successes, k.sum(axis=1))


def test_design_effect_is_the_ratio_estimator_variance_over_the_binomial_one():
    k, m = np.array([3, 1, 0, 2, 4]), np.array([3, 2, 1, 2, 4])
    total, p, c = m.sum(), k.sum() / m.sum(), m.size
    ratio_var = c / (c - 1) * np.sum((k - p * m) ** 2) / total**2  # Cochran (1977), eq. 6.13
    res = effective_counts(k, m)
    expected = np.clip(ratio_var / (p * (1 - p) / total), 1, np.sum(m**2) / total)
    assert res.design_effect == pytest.approx(expected)
    assert res.trials == pytest.approx(total / expected) and res.successes / res.trials == pytest.approx(p)


def test_at_the_bound_the_design_effect_of_perfect_correlation_is_used():
    m = np.array([1, 2, 3, 4])
    res = effective_counts(m, m)  # every image correct: no information on the correlation
    assert res.design_effect == pytest.approx(np.sum(m**2) / m.sum())  # Kish: n_eff = (sum m)^2 / sum m^2
    assert res.trials == pytest.approx(m.sum() ** 2 / np.sum(m**2)) and res.successes == res.trials
    # participants without a row in the denominator do not count
    assert effective_counts([0, 2, 0], [0, 2, 1]).n_clusters == 2


# --------------------------------------------------------------------------------------------------
# Proportions: scipy's binomtest for Wilson and Clopper-Pearson, Beta quantiles for Jeffreys


@pytest.mark.parametrize("n", [1, 7, 10, 20, 30, 57])
def test_proportion_bounds_equal_scipy(n):
    for k in range(n + 1):
        low, high = proportion_interval(k, n, method="wilson")
        ref = stats.binomtest(k, n).proportion_ci(method="wilson")
        assert (low, high) == pytest.approx((ref.low, ref.high), abs=1e-12)
        low, high = proportion_interval(k, n, method="clopper-pearson")
        ref = stats.binomtest(k, n).proportion_ci(method="exact")
        assert (low, high) == pytest.approx((ref.low, ref.high), abs=1e-12)
        low, high = proportion_interval(k, n, method="jeffreys")
        jl = 0.0 if k == 0 else stats.beta.ppf(0.025, k + 0.5, n - k + 0.5)
        jh = 1.0 if k == n else stats.beta.ppf(0.975, k + 0.5, n - k + 0.5)
        assert (low, high) == pytest.approx((jl, jh), abs=1e-12)


def test_clopper_pearson_contains_wilson_up_to_30_trials():
    """Why ``auto`` takes Clopper-Pearson at n <= 30: it is never shorter than Wilson there."""
    for n in range(1, 31):
        k = np.arange(n + 1)
        lw, hw = proportion_interval(k, n, method="wilson")
        lc, hc = proportion_interval(k, n, method="clopper-pearson")
        assert np.all(lc <= lw + 1e-12) and np.all(hc >= hw - 1e-12)


def test_closed_form_of_a_metric_uses_its_denominator_and_the_implied_se():
    y = np.array([0] * 6 + [1] * 4)
    pred = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 0])  # tp 3, fn 1, tn 5, fp 1
    p = make_predictions(y, y_pred=pred, pos_label=1)
    expected = {"sensitivity": (3, 4), "specificity": (5, 6), "PPV": (3, 4), "NPV": (5, 6), "accuracy": (8, 10)}
    for request in resolve_metrics(list(expected), p):
        k, n = expected[request.name]
        for method, scipy_name in (("wilson", "wilson"), ("clopper-pearson", "exact")):
            res = closed_form_interval(p, request, 0.95, method)
            ref = stats.binomtest(k, n).proportion_ci(method=scipy_name)
            assert (res.low, res.high) == pytest.approx((ref.low, ref.high), abs=1e-12)
            assert res.standard_error == pytest.approx((ref.high - ref.low) / (2 * Z))
            assert res.method == method and res.design_effect == 1.0


# --------------------------------------------------------------------------------------------------
# MOVER and Newcombe's differences


@pytest.mark.parametrize(
    ("a", "b", "published"),
    [  # Newcombe (1998b), Table II, method 10
        ((56, 70), (48, 80), (0.0524, 0.3339)),
        ((9, 10), (3, 10), (0.1705, 0.8090)),
        ((5, 56), (0, 29), (-0.0381, 0.1926)),
        ((0, 10), (0, 20), (-0.1611, 0.2775)),
        ((0, 10), (0, 10), (-0.2775, 0.2775)),
    ],
)
def test_newcombe_difference_published_values(a, b, published):
    (l1, l2), (u1, u2) = proportion_interval([a[0], b[0]], [a[1], b[1]])
    low, high = newcombe_difference(a[0] / a[1], l1, u1, b[0] / b[1], l2, u2)
    assert (low, high) == pytest.approx(published, abs=5e-5)


def test_mover_balanced_accuracy_closed_form_and_metric():
    # BA = (sens + spec) / 2 with sens 10/10, spec 9/10 (Zou & Donner 2008, MOVER of two Wilson intervals)
    (ls, lt), (us, ut) = proportion_interval([10, 9], [10, 10])
    t, low, high = mover_linear([1.0, 0.9], [ls, lt], [us, ut], [0.5, 0.5])
    assert t == pytest.approx(0.95)
    assert low == pytest.approx(0.95 - np.sqrt((0.5 * (1 - ls)) ** 2 + (0.5 * (0.9 - lt)) ** 2))
    assert high == pytest.approx(0.95 + np.sqrt((0.5 * (us - 1)) ** 2 + (0.5 * (ut - 0.9)) ** 2))
    y = np.repeat([1, 0], 10)
    pred = np.r_[np.ones(10), np.zeros(9), 1].astype(int)
    (request,) = resolve_metrics(["BA"], p := make_predictions(y, y_pred=pred))
    res = closed_form_interval(p, request, 0.95, "mover-wilson")
    assert (res.low, res.high) == pytest.approx((low, high))


def test_paired_difference_reduces_to_the_independent_one_without_correlation():
    # A D = B C makes phi = 0: Newcombe (1998a) method 10 is then the MOVER of the two Wilson intervals
    d, low, high = newcombe_paired_difference(10, 10, 5, 5)
    (l1, l2), (u1, u2) = proportion_interval([20, 15], [30, 30])
    ind_low, ind_high = newcombe_difference(20 / 30, l1, u1, 15 / 30, l2, u2)
    assert d == pytest.approx(5 / 30) and (low, high) == pytest.approx((ind_low, ind_high))
    # positive correlation between the two models' successes narrows the interval
    d, low2, high2 = newcombe_paired_difference(18, 2, 0, 10)
    (l1, l2), (u1, u2) = proportion_interval([20, 18], [30, 30])
    ind_low, ind_high = newcombe_difference(20 / 30, l1, u1, 18 / 30, l2, u2)
    assert ind_low < low2 < d < high2 < ind_high


# --------------------------------------------------------------------------------------------------
# AUC: Newcombe (2006) score interval, logit DeLong, clustered variance


def test_newcombe_auc_bounds_solve_the_score_equation():
    auc = np.array([0.6, 0.8, 0.95, 0.99, 1.0])
    m, n = np.array([5, 10, 20, 40, 7]), np.array([5, 15, 20, 30, 9])
    low, high = newcombe_auc_interval(auc, m, n)

    def variance(t):
        extra = (m + n) / 2 - 1
        return t * (1 - t) / (m * n) * (1 + extra * ((1 - t) / (2 - t) + t / (1 + t)))

    assert np.allclose((auc - low) ** 2, Z**2 * variance(low), atol=1e-12)
    inner = auc < 1
    assert np.allclose(((auc - high) ** 2)[inner], (Z**2 * variance(high))[inner], atol=1e-12)
    assert high[~inner] == 1.0 and np.all(low < auc) and np.all((0 < low) & (high <= 1))
    # symmetric: the interval of 1 - AUC is the mirror image
    mirror_low, mirror_high = newcombe_auc_interval(1 - auc, m, n)
    assert np.allclose(mirror_low, 1 - high) and np.allclose(mirror_high, 1 - low)


def test_logit_delong_interval_closed_form_and_undefined_at_one():
    low, high = logit_delong_interval(0.9, 0.05)
    step = Z * 0.05 / (0.9 * 0.1)
    assert (low, high) == pytest.approx((expit(logit(0.9) - step), expit(logit(0.9) + step)))
    assert np.isnan(logit_delong_interval(1.0, 0.0)).all()


def test_auc_variance_with_one_image_per_participant_is_delong_and_grows_with_sessions():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    s = rng.normal(y)
    res = auc_sample_sizes(y == 1, s, np.arange(60))
    ref = delong_ci(y, s)
    assert res.auc == pytest.approx(ref.estimate) and res.design_effect == 1.0
    m, n = y.sum(), 60 - y.sum()
    # the linearised variance is DeLong's with 1/m and 1/n in place of 1/(m-1) and 1/(n-1), times c/(c-1)
    assert res.variance == pytest.approx(ref.standard_error**2, rel=0.05)
    assert (res.n_pos, res.n_neg) == (m, n)
    # the same images duplicated per participant: Obuchowski's variance, design effect 2, half the information
    twice = auc_sample_sizes(np.r_[y, y] == 1, np.r_[s, s], np.r_[np.arange(60), np.arange(60)])
    assert twice.design_effect == pytest.approx(2.0, rel=0.05)
    assert twice.n_pos == pytest.approx(2 * m / twice.design_effect)
