"""Validation of clinicadl.stats.variance_components: textbook ANOVA estimators, degenerate designs, and
recovery of known components by simulation.

References: Searle, Casella & McCulloch (1992), chapter 3; Bouthillier et al. (2021).
"""

import numpy as np
import pytest

from clinicadl.errors import InputError
from clinicadl.stats.variance_components import FIXED_SPLIT_NOTE, ONE_PER_SPLIT_NOTE, variance_components

SPLIT_SD, SEED_SD, TEST_SD = 0.03, 0.015, 0.02


def _generate(rng, sizes, test_sd=None):
    """Scores of replicates nested in splits, their split ids and estimated sampling variances."""
    ids = np.repeat(np.arange(len(sizes)), sizes)
    n = ids.size
    test_var = (TEST_SD if test_sd is None else test_sd) ** 2 * np.ones(n)
    scores = (0.8 + SPLIT_SD * rng.standard_normal(len(sizes))[ids] + SEED_SD * rng.standard_normal(n)
              + np.sqrt(test_var) * rng.standard_normal(n))
    # each replicate's sampling variance is itself estimated (unbiased, like a bootstrap SE^2 with noise)
    estimated = test_var * rng.chisquare(50, n) / 50
    return scores, ids, estimated


def test_balanced_design_equals_textbook_anova_estimators():
    rng = np.random.default_rng(0)
    k, r = 12, 5
    scores, ids, _ = _generate(rng, [r] * k)
    v = np.full(k * r, TEST_SD**2)
    groups = scores.reshape(k, r)
    msb = r * groups.mean(axis=1).var(ddof=1)
    msw = groups.var(axis=1, ddof=1).mean()
    res = variance_components(scores, ids, v, n_resamples=200, rng=0)
    assert res.split == pytest.approx((msb - msw) / r, rel=1e-10)
    assert res.seed == pytest.approx(msw - TEST_SD**2, rel=1e-10)
    assert res.test_sampling == pytest.approx(TEST_SD**2)
    assert res.total == pytest.approx(res.split + res.seed + res.test_sampling)
    assert sum(res.fractions.values()) == pytest.approx(1.0)
    assert (res.n_replicates, res.n_splits, res.resampling_unit, res.note) == (60, 12, "split", "")


def test_unbalanced_design_equals_searle_n0_estimator_with_constant_sampling_variance():
    rng = np.random.default_rng(1)
    sizes = [2, 3, 7, 4, 1, 5, 6, 2]
    scores, ids, _ = _generate(rng, sizes)
    v = np.full(ids.size, 1e-4)
    n, big_n, k = np.array(sizes), ids.size, len(sizes)
    means = np.array([scores[ids == s].mean() for s in range(k)])
    msb = np.sum(n * (means - scores.mean()) ** 2) / (k - 1)
    msw = sum(((scores[ids == s] - means[s]) ** 2).sum() for s in range(k)) / (big_n - k)
    n0 = (big_n - np.sum(n**2) / big_n) / (k - 1)
    res = variance_components(scores, ids, v, n_resamples=200, rng=0)
    assert res.split == pytest.approx(max((msb - msw) / n0, 0), rel=1e-10, abs=1e-15)
    assert res.seed == pytest.approx(max(msw - 1e-4, 0), rel=1e-10, abs=1e-15)


def test_split_ids_may_be_any_labels():
    rng = np.random.default_rng(2)
    scores, ids, v = _generate(rng, [3] * 6)
    labels = np.array([f"split-{5 - i}" for i in ids])
    a = variance_components(scores, ids, v, n_resamples=100, rng=1)
    b = variance_components(scores, labels, v, n_resamples=100, rng=1)
    assert (a.split, a.seed) == pytest.approx((b.split, b.seed))


def test_single_split_reports_fixhoptest_bias():
    rng = np.random.default_rng(3)
    scores, ids, v = _generate(rng, [40])
    res = variance_components(scores, ids, v, n_resamples=300, rng=0)
    assert np.isnan(res.split) and np.isnan(res.total) and np.isnan(res.split_and_seed)
    assert res.note == FIXED_SPLIT_NOTE and "FixHOptEst is biased" in res.note
    assert res.seed == pytest.approx(max(scores.var(ddof=1) - v.mean(), 0))
    assert res.resampling_unit == "replicate" and np.isnan(res.intervals["split"].low)
    assert res.intervals["seed"].low <= res.seed <= res.intervals["seed"].high


def test_one_replicate_per_split_gives_split_plus_seed_only():
    rng = np.random.default_rng(4)
    scores, ids, v = _generate(rng, [1] * 50)
    res = variance_components(scores, ids, v, n_resamples=300, rng=0)
    assert np.isnan(res.split) and np.isnan(res.seed) and res.note == ONE_PER_SPLIT_NOTE
    # E[SSB] = (k - 1)(split + seed) + (1 - 1/N) sum(v): split + seed = var(y) - mean(v)
    assert res.split_and_seed == pytest.approx(scores.var(ddof=1) - v.mean())
    assert res.total == pytest.approx(res.split_and_seed + v.mean())


def test_negative_estimate_is_truncated_and_reported():
    # no split effect at all, large within-split spread: the split estimate is negative
    scores = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    ids = np.repeat(np.arange(4), 2)
    res = variance_components(scores, ids, np.zeros(8), n_resamples=100, rng=0)
    assert res.split == 0.0 and "negative split estimate" in res.note and "truncated at 0" in res.note


def test_reproducible_and_intervals_bracket_estimates():
    rng = np.random.default_rng(5)
    scores, ids, v = _generate(rng, [4] * 25)
    a = variance_components(scores, ids, v, n_resamples=500, rng=7)
    b = variance_components(scores, ids, v, n_resamples=500, rng=7)
    assert a == b and a.seed_of_rng == 7
    for name in ("split", "seed", "test_sampling", "total"):
        interval = a.intervals[name]
        assert interval.low <= getattr(a, name) <= interval.high, name


def test_recovers_components_in_an_unbalanced_heteroscedastic_design():
    # 1000 studies of 20 splits with 2 to 6 replicates each and per-replicate test-sampling variances between
    # (0.015)^2 and (0.025)^2; the mean of the estimates is within 3 Monte-Carlo SE of the truth. (The
    # truncation at 0 is rare here: about 1 % of studies, for the seed part, a bias far below the tolerance.)
    rng = np.random.default_rng(6)
    sizes = np.tile([2, 3, 4, 5, 6], 4)
    estimates = []
    for _ in range(1000):
        ids = np.repeat(np.arange(sizes.size), sizes)
        n = ids.size
        test_var = rng.uniform(0.015, 0.025, n) ** 2
        scores = (SPLIT_SD * rng.standard_normal(sizes.size)[ids] + SEED_SD * rng.standard_normal(n)
                  + np.sqrt(test_var) * rng.standard_normal(n))
        v = test_var * rng.chisquare(50, n) / 50
        res = variance_components(scores, ids, v, n_resamples=20, rng=rng)
        estimates.append((res.split, res.seed, res.test_sampling - test_var.mean()))
    estimates = np.array(estimates)
    mean, se = estimates.mean(axis=0), estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    truth = np.array([SPLIT_SD**2, SEED_SD**2, 0.0])
    assert np.all(np.abs(mean - truth) <= 3 * se), (mean, truth, se)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([1.0, 2.0, 3.0], [0, 0], [0.1, 0.1, 0.1]), "same length"),
        (([1.0, np.nan, 3.0], [0, 0, 1], [0.1, 0.1, 0.1]), "finite"),
        (([1.0, 2.0, 3.0], [0, 0, 1], [0.1, -0.1, 0.1]), ">= 0"),
        (([1.0], [0], [0.1]), "at least 2"),
    ],
)
def test_invalid_input(args, match):
    with pytest.raises(InputError, match=match):
        variance_components(*args)
