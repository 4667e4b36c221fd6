"""Validation of clinicadl.stats.rank_tests: scipy oracles, Demšar (2006), closed forms and simulations under H0.

References: Friedman (1937); Iman & Davenport (1980); Demšar (2006), JMLR 7, tables 5 and 6, section 3.2.4;
Holm (1979); Benavoli, Corani & Mangili (2016), JMLR 17(5).
"""

import numpy as np
import pytest
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats.rank_tests import (
    average_ranks,
    friedman_test,
    holm,
    nemenyi_critical_difference,
    pairwise_wilcoxon_holm,
)

ALPHA = 0.05

# Demšar (2006), table 6: AUC of C4.5, C4.5+m, C4.5+cf, C4.5+m+cf on 14 UCI data sets. The paper's ranks
# (section 3.2.4) rank C4.5+cf ahead of C4.5+m+cf on "voting", where the rounded table shows 0.975 for both.
DEMSAR_AUC = np.array(
    [
        [0.763, 0.768, 0.771, 0.798],
        [0.599, 0.591, 0.590, 0.569],
        [0.954, 0.971, 0.968, 0.967],
        [0.628, 0.661, 0.654, 0.657],
        [0.882, 0.888, 0.886, 0.898],
        [0.936, 0.931, 0.916, 0.931],
        [0.661, 0.668, 0.609, 0.685],
        [0.583, 0.583, 0.563, 0.625],
        [0.775, 0.838, 0.866, 0.875],
        [1.000, 1.000, 1.000, 1.000],
        [0.940, 0.962, 0.965, 0.962],
        [0.619, 0.666, 0.614, 0.669],
        [0.972, 0.981, 0.9751, 0.975],
        [0.957, 0.978, 0.946, 0.970],
    ]
)

# Demšar (2006), table 5: q_alpha of the Nemenyi test for k = 2..10.
DEMSAR_Q = {
    0.05: [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164],
    0.10: [1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920],
}


def test_demsar_example():
    res = friedman_test(DEMSAR_AUC)
    assert res.average_ranks == pytest.approx([3.143, 2.000, 2.893, 1.964], abs=5e-4)
    # Demšar's chi2_F = 9.28 has no tie correction; ours (as scipy's) divides by 1 - sum(t^3 - t) / (N (k^3 - k)),
    # with ties of 2 on three data sets and of 4 on one: sum(t^3 - t) = 3 * 6 + 60 = 78.
    assert res.statistic * (1 - 78 / (14 * 60)) == pytest.approx(9.28, abs=5e-3)
    uncorrected = 9.2786  # from the average ranks, the paper's formula
    assert (14 - 1) * uncorrected / (14 * 3 - uncorrected) == pytest.approx(3.69, abs=5e-3)  # F_F of the paper
    assert stats.f.ppf(0.95, 3, 39) == pytest.approx(2.85, abs=5e-3)  # the paper's critical value of F(3, 39)
    # CD = 2.569 * sqrt(4 * 5 / (6 * 14)) = 1.25 (section 3.2.4).
    assert nemenyi_critical_difference(4, 14) == pytest.approx(1.2536, abs=5e-5)


@pytest.mark.parametrize("alpha", [0.05, 0.10])
def test_nemenyi_q_matches_demsar_table(alpha):
    for k, tabulated in zip(range(2, 11), DEMSAR_Q[alpha]):
        q = nemenyi_critical_difference(k, 1, alpha=alpha) / np.sqrt(k * (k + 1) / 6)
        assert q == pytest.approx(tabulated, abs=1e-3)  # the table is printed to 3 decimals
    # k = 2: the range of two standard normals over sqrt(2) is |Z|: q is the two-sided normal quantile.
    assert nemenyi_critical_difference(2, 1, alpha=alpha) == pytest.approx(stats.norm.ppf(1 - alpha / 2), rel=1e-6)
    q4 = stats.studentized_range.ppf(1 - alpha, 4, np.inf) / np.sqrt(2)
    assert round(q4, 3) == {0.05: 2.569, 0.10: 2.291}[alpha]


@pytest.mark.parametrize(("n", "k", "ties"), [(20, 3, False), (14, 4, False), (10, 5, True), (30, 3, True)])
def test_friedman_equals_scipy(n, k, ties):
    rng = np.random.default_rng(n * k)
    scores = rng.integers(0, 4, size=(n, k)).astype(float) if ties else rng.standard_normal((n, k))
    res = friedman_test(scores)
    oracle = stats.friedmanchisquare(*scores.T)
    assert res.statistic == pytest.approx(oracle.statistic, rel=1e-12)
    assert res.pvalue == pytest.approx(oracle.pvalue, rel=1e-12)
    assert (res.method, res.n_blocks, res.n_procedures) == ("friedman-chi2", n, k)
    # Iman-Davenport from the same chi-square.
    f = friedman_test(scores, method="iman-davenport")
    expected = (n - 1) * oracle.statistic / (n * (k - 1) - oracle.statistic)
    assert f.statistic == pytest.approx(expected, rel=1e-12)
    assert f.pvalue == pytest.approx(stats.f.sf(expected, k - 1, (k - 1) * (n - 1)), rel=1e-12)
    assert f.method == "iman-davenport-f"


def test_average_ranks():
    scores = np.array([[0.9, 0.8, 0.7], [0.6, 0.6, 0.5], [0.1, 0.3, 0.2]])
    assert average_ranks(scores) == pytest.approx([(1 + 1.5 + 3) / 3, (2 + 1.5 + 1) / 3, (3 + 3 + 2) / 3])
    assert average_ranks(scores, higher_is_better=False) == pytest.approx(4 - average_ranks(scores))
    assert average_ranks(scores).sum() == pytest.approx(3 * 4 / 2)
    assert friedman_test(scores).average_ranks == pytest.approx(average_ranks(scores))
    # The test itself does not depend on the orientation.
    assert friedman_test(-scores).statistic == pytest.approx(friedman_test(scores).statistic, rel=1e-12)


def test_friedman_degenerate():
    tied = friedman_test(np.ones((5, 3)))
    assert (tied.statistic, tied.pvalue) == (0.0, 1.0)
    agreeing = np.tile([0.9, 0.8, 0.7], (6, 1))  # every block ranks identically
    assert friedman_test(agreeing).statistic == pytest.approx(6 * 2)  # N (k - 1), the maximum
    id_f = friedman_test(agreeing, method="iman-davenport")
    assert (id_f.statistic, id_f.pvalue) == (np.inf, 0.0)


def test_friedman_size_under_h0():
    # k = 3 procedures, N = 20 independent blocks, exchangeable scores: rejection rate about 5 % (3 MC SE).
    n_sim = 3000
    draws = np.random.default_rng(13).standard_normal((n_sim, 20, 3))
    rate = np.mean([friedman_test(d).pvalue <= ALPHA for d in draws])
    assert abs(rate - ALPHA) <= 3 * np.sqrt(ALPHA * (1 - ALPHA) / n_sim)


def test_holm_hand_example():
    # Sorted p: 0.005, 0.01, 0.03, 0.04 -> 4 * 0.005, 3 * 0.01, 2 * 0.03, max(1 * 0.04, 0.06).
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02], rel=1e-12)
    assert holm([0.5]) == pytest.approx([0.5])
    assert holm([0.2, 0.6, 0.9]) == pytest.approx([0.6, 1.0, 1.0])  # capped at 1
    assert holm([[0.01, 0.02], [0.03, 0.04]]).shape == (2, 2)


def test_holm_properties():
    rng = np.random.default_rng(14)
    for _ in range(50):
        p = rng.uniform(size=rng.integers(1, 12)) ** 2
        adjusted = holm(p)
        order = np.argsort(p)
        assert np.all(adjusted >= p) and np.all(adjusted <= 1)
        assert np.all(np.diff(adjusted[order]) >= 0)  # monotone in the unadjusted p-values
        assert np.all(adjusted <= np.minimum(1, p.size * p) + 1e-15)  # never worse than Bonferroni
        # Rejections at alpha equal the sequential procedure of Holm (1979).
        sorted_p = p[order]
        k = np.argmax(np.append(sorted_p > ALPHA / (p.size - np.arange(p.size)), True))
        assert np.sum(adjusted <= ALPHA) == k


def test_holm_controls_the_family_wise_error_rate():
    # m = 10 true null hypotheses with independent uniform p-values: Holm rejects some iff min p <= alpha / m,
    # so the family-wise error rate is exactly 1 - (1 - alpha / m)^m = 0.0489.
    n_sim, m = 4000, 10
    draws = np.random.default_rng(15).uniform(size=(n_sim, m))
    rate = np.mean([np.any(holm(p) <= ALPHA) for p in draws])
    exact = 1 - (1 - ALPHA / m) ** m
    assert abs(rate - exact) <= 3 * np.sqrt(exact * (1 - exact) / n_sim)


def test_pairwise_wilcoxon_holm_equals_scipy():
    rng = np.random.default_rng(16)
    scores = 0.8 + np.array([0.0, 0.01, 0.02, 0.02]) + 0.02 * rng.standard_normal((15, 4))
    res = pairwise_wilcoxon_holm(scores)
    rows, cols = np.triu_indices(4, 1)
    raw = [stats.wilcoxon(scores[:, i] - scores[:, j]) for i, j in zip(rows, cols)]
    assert res.pvalue[rows, cols] == pytest.approx([r.pvalue for r in raw], rel=1e-12)
    assert res.statistic[rows, cols] == pytest.approx([r.statistic for r in raw], rel=1e-12)
    assert res.adjusted_pvalue[rows, cols] == pytest.approx(holm([r.pvalue for r in raw]), rel=1e-12)
    for matrix in (res.statistic, res.pvalue, res.adjusted_pvalue):
        assert np.all(np.isnan(np.diag(matrix))) and np.array_equal(matrix, matrix.T, equal_nan=True)
    assert res.method == "wilcoxon-holm"


def test_pairwise_identical_procedures():
    scores = np.random.default_rng(17).standard_normal((8, 3))
    scores[:, 2] = scores[:, 0]
    res = pairwise_wilcoxon_holm(scores)
    assert (res.statistic[0, 2], res.pvalue[0, 2], res.adjusted_pvalue[0, 2]) == (0.0, 1.0, 1.0)


def test_pairwise_wilcoxon_holm_family_wise_error_under_h0():
    # k = 4 exchangeable procedures, N = 20 blocks: 6 correlated pairwise tests, FWER at most 5 % (3 MC SE).
    n_sim = 600
    draws = np.random.default_rng(18).standard_normal((n_sim, 20, 4))
    rate = np.mean([np.nanmin(pairwise_wilcoxon_holm(d).adjusted_pvalue) <= ALPHA for d in draws])
    assert rate <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / n_sim)


@pytest.mark.parametrize(
    ("function", "scores", "match"),
    [
        (friedman_test, np.zeros((5, 2)), "2 column.*at least 3"),
        (friedman_test, np.zeros((1, 3)), "1 row.*at least 2"),
        (friedman_test, np.zeros(6), "2-D"),
        (friedman_test, [[0.1, np.nan, 0.2], [0.1, 0.2, 0.3]], "nan at row 0, column 1"),
        (pairwise_wilcoxon_holm, np.zeros((5, 1)), "at least 2"),
        (pairwise_wilcoxon_holm, [["a", "b"], ["c", "d"]], "must be numbers"),
        (average_ranks, np.zeros((3, 1)), "at least 2"),
    ],
)
def test_invalid_scores(function, scores, match):
    with pytest.raises(InputError, match=match):
        function(scores)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: friedman_test(np.zeros((4, 3)), method="f"), "method='f'"),
        (lambda: average_ranks(np.zeros((4, 3)), higher_is_better="yes"), "higher_is_better='yes'"),
        (lambda: nemenyi_critical_difference(1, 10), "k=1"),
        (lambda: nemenyi_critical_difference(3, 0), "n=0"),
        (lambda: nemenyi_critical_difference(3, 10, alpha=1.5), "alpha=1.5"),
        (lambda: nemenyi_critical_difference(3.0, 10), "k=3.0"),
        (lambda: holm([]), "empty"),
        (lambda: holm([0.1, np.nan]), "nan"),
        (lambda: holm([0.1, 1.2]), "1.2"),
    ],
)
def test_invalid_options(call, match):
    with pytest.raises(InputError, match=match):
        call()
