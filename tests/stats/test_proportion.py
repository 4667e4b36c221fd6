"""Validation of clinicadl.stats.proportion against scipy, closed forms and exact coverage.

References: Wilson (1927); Clopper & Pearson (1934); Brown, Cai & DasGupta (2001).
"""

import numpy as np
import pytest
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.proportion import PROPORTION_METHODS, proportion_ci, proportion_interval

CASES = [(k, n) for n in (1, 2, 5, 13, 40, 100, 1000) for k in sorted({0, 1, n // 3, n // 2, n - 1, n})]


@pytest.mark.parametrize("confidence_level", [0.8, 0.95, 0.99])
@pytest.mark.parametrize(("method", "scipy_method"), [("wilson", "wilson"), ("clopper-pearson", "exact")])
def test_equals_scipy_binomtest(method, scipy_method, confidence_level):
    for k, n in CASES:
        res = proportion_ci(k, n, confidence_level=confidence_level, method=method)
        expected = stats.binomtest(k, n).proportion_ci(confidence_level=confidence_level, method=scipy_method)
        np.testing.assert_allclose(
            tuple(res.confidence_interval),
            (expected.low, expected.high),
            rtol=0,
            atol=1e-12,
            err_msg=f"{k}/{n}",
        )


def test_jeffreys_beta_quantiles_with_boundary_convention():
    for k, n in CASES:
        low, high = proportion_ci(k, n, method="jeffreys").confidence_interval
        beta = stats.beta(k + 0.5, n - k + 0.5)
        assert low == (0.0 if k == 0 else pytest.approx(beta.ppf(0.025), abs=1e-14))
        assert high == (1.0 if k == n else pytest.approx(beta.ppf(0.975), abs=1e-14))


def test_closed_forms():
    # Clopper & Pearson (1934) at the boundary: 0 / n has upper bound 1 - (alpha/2)^(1/n),
    # and n / n has lower bound (alpha/2)^(1/n).
    for n in (1, 7, 30, 500):
        assert proportion_ci(0, n, method="clopper-pearson").confidence_interval.high == pytest.approx(
            1 - 0.025 ** (1 / n), rel=1e-12
        )
        assert proportion_ci(n, n, method="clopper-pearson").confidence_interval.low == pytest.approx(
            0.025 ** (1 / n), rel=1e-12
        )
    # Jeffreys for 0 / n (Brown, Cai & DasGupta 2001): Beta(1/2, n + 1/2) upper quantile, lower bound 0.
    low, high = proportion_ci(0, 30, method="jeffreys").confidence_interval
    assert (low, high) == (0.0, pytest.approx(stats.beta.ppf(0.975, 0.5, 30.5), rel=1e-12))
    # Wilson (1927) interval for 8 / 10 by the closed form
    # (p + z^2/2n +- z sqrt(pq/n + z^2/4n^2)) / (1 + z^2/n).
    z, p, n = stats.norm.ppf(0.975), 0.8, 10
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    center = p + z**2 / (2 * n)
    expected = ((center - half) / (1 + z**2 / n), (center + half) / (1 + z**2 / n))
    np.testing.assert_allclose(tuple(proportion_ci(8, 10).confidence_interval), expected, rtol=1e-13)


@pytest.mark.parametrize("method", PROPORTION_METHODS)
def test_symmetry_and_result_fields(method):
    for k, n in CASES:
        res = proportion_ci(k, n, method=method, confidence_level=0.9)
        mirror = proportion_ci(n - k, n, method=method, confidence_level=0.9)
        np.testing.assert_allclose(
            tuple(res.confidence_interval),
            (1 - mirror.confidence_interval.high, 1 - mirror.confidence_interval.low),
            atol=1e-12,
        )
        assert 0 <= res.confidence_interval.low <= k / n <= res.confidence_interval.high <= 1
        assert res.estimate == k / n
        assert res.standard_error == pytest.approx(np.sqrt(k / n * (1 - k / n) / n), abs=1e-15)
        assert res.method == method
        assert res.confidence_level == 0.9


@pytest.mark.parametrize("method", PROPORTION_METHODS)
def test_vectorised_equals_scalar(method):
    k = np.array([[0, 3, 7], [10, 25, 40]])
    n = np.array([10, 30, 40])  # broadcast along the rows
    low, high = proportion_interval(k, n, confidence_level=0.9, method=method)
    assert low.shape == high.shape == (2, 3)
    for index in np.ndindex(k.shape):
        expected = proportion_ci(int(k[index]), int(n[index[1]]), confidence_level=0.9, method=method)
        assert (low[index], high[index]) == tuple(expected.confidence_interval)


def _exact_coverage(method, n, p_grid):
    """Exact coverage probability sum_k P(K = k) 1[low_k <= p <= high_k] for each p."""
    k = np.arange(n + 1)
    low, high = proportion_interval(k, n, method=method)
    covered = (low[:, None] <= p_grid) & (p_grid <= high[:, None])
    return (stats.binom.pmf(k[:, None], n, p_grid) * covered).sum(axis=0)


def test_exact_coverage():
    # Brown, Cai & DasGupta (2001), figures 5 and 11: Clopper-Pearson never under-covers; Wilson and
    # Jeffreys oscillate around the nominal level with a mean coverage close to it.
    p_grid = np.linspace(0.01, 0.99, 981)
    for n in (20, 50):
        assert _exact_coverage("clopper-pearson", n, p_grid).min() >= 0.95 - 1e-12
        for method in ("wilson", "jeffreys"):
            assert abs(_exact_coverage(method, n, p_grid).mean() - 0.95) < 0.01
    # The boundary convention keeps Jeffreys from collapsing near p = 0 (Brown et al., section 4.1.1).
    assert _exact_coverage("jeffreys", 50, np.array([0.001, 0.005])).min() > 0.95


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 11, "n": 10}, "exceed"),
        ({"k": -1, "n": 10}, "non-negative integer"),
        ({"k": 2.5, "n": 10}, "non-negative integer"),
        ({"k": np.nan, "n": 10}, "non-negative integer"),
        ({"k": 0, "n": 0}, "at least one trial"),
        ({"k": 1, "n": 10, "method": "wald"}, "wald"),
        ({"k": 1, "n": 10, "confidence_level": 95}, "between 0 and 1"),
        ({"k": [1, 2], "n": 10}, "proportion_interval"),
    ],
)
def test_invalid_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        proportion_ci(**kwargs)


def test_invalid_shapes_in_vectorised_form():
    with pytest.raises(InputError, match="broadcast"):
        proportion_interval([1, 2, 3], [10, 20])
