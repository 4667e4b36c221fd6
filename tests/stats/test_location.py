"""Validation of clinicadl.stats.location.

Oracles: scipy.stats.t.interval (Student 1908); hand-checked order statistics and exact binomial coverage
(Conover 1999, section 3.2; Hahn & Meeker 1991, section 5.2); coverage by seeded simulation on skewed data.
"""

import numpy as np
import pytest
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.location import mean_ci, median_ci


@pytest.mark.parametrize("confidence_level", [0.8, 0.95, 0.99])
@pytest.mark.parametrize("n", [2, 5, 30, 500])
def test_mean_ci_equals_scipy_t_interval(n, confidence_level):
    x = np.random.default_rng(n).gamma(2.0, size=n)
    res = mean_ci(x, confidence_level=confidence_level)
    expected = stats.t.interval(confidence_level, n - 1, loc=x.mean(), scale=stats.sem(x))
    np.testing.assert_allclose(tuple(res.confidence_interval), expected, rtol=1e-13)
    assert res.estimate == pytest.approx(x.mean(), rel=1e-15)
    assert res.standard_error == pytest.approx(stats.sem(x), rel=1e-13)
    assert (res.method, res.confidence_level) == ("t", confidence_level)


def test_mean_ci_constant_data_is_degenerate():
    res = mean_ci([3.0, 3.0, 3.0])
    assert (res.standard_error, tuple(res.confidence_interval)) == (0.0, (3.0, 3.0))


def test_median_ci_hand_checked_small_case():
    # n = 10 at 95%: P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2) = 56/1024,
    # so [x_(2), x_(9)], coverage 1 - 22/1024.
    x = np.array([7.0, 1.0, 9.0, 3.0, 10.0, 2.0, 5.0, 8.0, 4.0, 6.0])
    res = median_ci(x)
    assert tuple(res.confidence_interval) == (2.0, 9.0)
    assert res.estimate == 5.5
    assert np.isnan(res.standard_error)
    assert (res.method, res.confidence_level) == ("order-statistic", 0.95)
    # At 90%: P(B <= 2) = 56/1024 > 0.05, so still [x_(2), x_(9)];
    # at 80%: P(B <= 2) <= 0.1 gives [x_(3), x_(8)].
    assert tuple(median_ci(x, confidence_level=0.9).confidence_interval) == (2.0, 9.0)
    assert tuple(median_ci(x, confidence_level=0.8).confidence_interval) == (3.0, 8.0)
    # n = 6 is the smallest sample with a 95% interval: [min, max] covers 1 - 2/64 = 0.969.
    assert tuple(median_ci([4, 1, 6, 2, 5, 3]).confidence_interval) == (1.0, 6.0)


def test_median_ci_is_the_narrowest_symmetric_interval_reaching_the_level():
    for n in (6, 11, 30, 73, 200):
        x = np.arange(1.0, n + 1)  # x_(i) = i, so the bounds are the ranks
        low, high = (int(v) for v in median_ci(x).confidence_interval)
        assert high == n + 1 - low
        coverage = 1 - 2 * stats.binom.cdf(low - 1, n, 0.5)
        assert coverage >= 0.95
        assert 1 - 2 * stats.binom.cdf(low, n, 0.5) < 0.95  # one rank narrower falls short


N_SIM = 2000


@pytest.mark.parametrize("n", [30, 200])
def test_median_ci_coverage_on_lognormal_data(n):
    rng = np.random.default_rng(n)
    samples = rng.lognormal(mean=0.0, sigma=1.0, size=(N_SIM, n))  # true median exp(0) = 1
    covered = 0
    for x in samples:
        low, high = median_ci(x).confidence_interval
        covered += low <= 1.0 <= high
    assert covered / N_SIM >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / N_SIM)


def test_mean_ci_coverage_on_normal_data():
    rng = np.random.default_rng(11)
    samples = rng.normal(2.0, 3.0, size=(N_SIM, 8))
    covered = sum(low <= 2.0 <= high for low, high in (mean_ci(x).confidence_interval for x in samples))
    assert abs(covered / N_SIM - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / N_SIM)


@pytest.mark.parametrize(
    ("function", "x", "kwargs", "match"),
    [
        (mean_ci, [1.0], {}, "at least 2"),
        (mean_ci, [1.0, np.nan], {}, "NaN"),
        (mean_ci, [[1.0, 2.0]], {}, "1-D"),
        (mean_ci, [1.0, 2.0], {"confidence_level": 0}, "between 0 and 1"),
        (median_ci, [], {}, "at least 1"),
        (median_ci, [1.0, np.inf], {}, "infinite"),
        (median_ci, [1.0, 2.0, 3.0, 4.0, 5.0], {}, "n=5 values are too few"),
        (median_ci, ["a", "b"], {}, "numbers"),
    ],
)
def test_invalid_input(function, x, kwargs, match):
    with pytest.raises(InputError, match=match):
        function(x, **kwargs)
