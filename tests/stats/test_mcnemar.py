"""Validation of clinicadl.stats.mcnemar against scipy oracles and a published example.

References: McNemar (1947); Edwards (1948); Dietterich (1998); Agresti (2002), Categorical Data Analysis,
section 10.1.1 (presidential approval ratings).
"""

import numpy as np
import pytest
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.mcnemar import EXACT_THRESHOLD, mcnemar_test


def _correctness(both, a_only, b_only, neither):
    """Per-case correctness arrays with the given 2x2 counts, shuffled (the order must not matter)."""
    a = np.repeat([True, True, False, False], [both, a_only, b_only, neither])
    b = np.repeat([True, False, True, False], [both, a_only, b_only, neither])
    order = np.random.default_rng(0).permutation(a.size)
    return a[order], b[order]


def test_agresti_presidential_approval():
    # Agresti (2002), table 10.1: [[794, 150], [86, 570]]; chi2 = 17.36 without and 16.82 with the correction.
    a, b = _correctness(794, 150, 86, 570)
    res = mcnemar_test(a, b)
    assert res.method == "mcnemar-chi2-cc"
    assert res.statistic == pytest.approx(16.82, rel=5e-4)
    assert res.statistic == pytest.approx(63**2 / 236, rel=1e-12)
    assert res.pvalue == pytest.approx(stats.chi2.sf(63**2 / 236, 1), rel=1e-12)
    assert res.pvalue < 1e-4 and res.alternative == "two-sided"
    uncorrected = (150 - 86) ** 2 / 236
    assert uncorrected == pytest.approx(17.36, rel=5e-4)  # the published uncorrected value, for the record


@pytest.mark.parametrize(("b", "c"), [(0, 1), (1, 6), (3, 3), (10, 2), (0, 24), (12, 12)])
def test_exact_equals_scipy_binomtest(b, c):
    a, bb = _correctness(30, b, c, 5)
    res = mcnemar_test(a, bb)
    assert b + c < EXACT_THRESHOLD and res.method == "mcnemar-exact"
    assert res.pvalue == stats.binomtest(b, b + c, p=0.5).pvalue
    assert res.statistic == min(b, c)
    # Closed form of the two-sided exact p-value for p = 1/2: min(1, 2 P(B <= min(b, c))).
    assert res.pvalue == pytest.approx(min(1.0, 2 * stats.binom.cdf(min(b, c), b + c, 0.5)), rel=1e-12)


@pytest.mark.parametrize(("b", "c"), [(15, 10), (40, 20), (7, 30), (100, 99)])
def test_chi2_equals_closed_form(b, c):
    a, bb = _correctness(50, b, c, 10)
    res = mcnemar_test(a, bb)
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    assert res.method == "mcnemar-chi2-cc"
    assert res.statistic == pytest.approx(statistic, rel=1e-12)
    assert res.pvalue == pytest.approx(stats.chi2.sf(statistic, 1), rel=1e-12)


def test_forced_methods_and_threshold():
    a, b = _correctness(10, 13, 12, 0)  # b + c = 25: chi-square by default
    assert mcnemar_test(a, b).method == "mcnemar-chi2-cc"
    assert mcnemar_test(a, b, exact=True).pvalue == stats.binomtest(13, 25).pvalue
    a, b = _correctness(10, 12, 12, 0)  # b + c = 24: exact by default
    assert mcnemar_test(a, b).method == "mcnemar-exact"
    forced = mcnemar_test(a, b, exact=False)
    # b == c: the continuity correction is clipped at 0 rather than giving 1 / (b + c).
    assert (forced.method, forced.statistic, forced.pvalue) == ("mcnemar-chi2-cc", 0.0, 1.0)


def test_no_discordant_case():
    a, b = _correctness(20, 0, 0, 5)
    for exact, method in ((None, "mcnemar-exact"), (False, "mcnemar-chi2-cc")):
        res = mcnemar_test(a, b, exact=exact)
        assert (res.statistic, res.pvalue, res.method) == (0.0, 1.0, method)


def test_symmetric_in_the_classifiers_and_accepts_0_1():
    a, b = _correctness(40, 30, 12, 8)
    forward, backward = mcnemar_test(a, b), mcnemar_test(b, a)
    assert (forward.statistic, forward.pvalue) == (backward.statistic, backward.pvalue)
    integers = mcnemar_test(a.astype(int), b.astype(float))
    assert (integers.statistic, integers.pvalue) == (forward.statistic, forward.pvalue)


def test_type_one_error_is_at_most_nominal():
    # Under H0, b | b + c ~ Binomial(b + c, 1/2): the exact test's rejection rate is computed, not simulated.
    for m in range(1, EXACT_THRESHOLD):
        b = np.arange(m + 1)
        pvalues = np.array([stats.binomtest(int(k), m).pvalue for k in b])
        assert np.sum(stats.binom.pmf(b, m, 0.5)[pvalues <= 0.05]) <= 0.05


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "match"),
    [
        ([True, False], [True], {}, "same cases"),
        ([], [], {}, "non-empty"),
        ([[True]], [[True]], {}, "1-D"),
        ([True, 2], [True, False], {}, "contains 2"),
        (["yes", "no"], [True, False], {}, "booleans"),
        ([True, False], [True, False], {"exact": "auto"}, "exact='auto'"),
    ],
)
def test_invalid_input(a, b, kwargs, match):
    with pytest.raises(InputError, match=match):
        mcnemar_test(a, b, **kwargs)
