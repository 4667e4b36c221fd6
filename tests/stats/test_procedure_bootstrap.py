"""Validation of clinicadl.stats.procedure_bootstrap: exact reductions, Owen's variance formula, and the
coverage of the two-level (pigeonhole) bootstrap against the participants-only bootstrap by simulation.

References: Owen (2007), The pigeonhole bootstrap, Ann. Appl. Stat. 1(2).
"""

import numpy as np
import pytest
from scipy import stats

from clinicadl.errors import InputError
from clinicadl.stats import bootstrap_ci
from clinicadl.stats.procedure_bootstrap import two_level_bootstrap


def _crossed(rng, n_rows, n_cols, s_a, s_b, s_e):
    """v_rj = a_r + b_j + e_rj: replicate effect, participant effect, interaction/noise; grand mean 0."""
    return (s_a * rng.standard_normal((n_rows, 1)) + s_b * rng.standard_normal((1, n_cols))
            + s_e * rng.standard_normal((n_rows, n_cols)))


def test_one_level_equals_the_ordinary_bootstrap_of_means():
    rng = np.random.default_rng(0)
    values = rng.random((6, 40))
    participants = two_level_bootstrap(values, resample="participants", n_resamples=40_000, rng=1)
    column_means = values.mean(axis=0)
    # the bootstrap SE of a mean of m values is sd(ddof=0) / sqrt(m)
    assert participants.estimate == pytest.approx(values.mean())
    assert participants.standard_error == pytest.approx(column_means.std() / np.sqrt(40), rel=0.02)
    replicates = two_level_bootstrap(values, resample="replicates", n_resamples=40_000, rng=1)
    assert replicates.standard_error == pytest.approx(values.mean(axis=1).std() / np.sqrt(6), rel=0.02)
    # the participants-only bootstrap of one replicate is bootstrap_ci's percentile interval of the mean
    one = two_level_bootstrap(values[:1], resample="participants", n_resamples=20_000, rng=2)
    reference = bootstrap_ci(None, values[0], metric="mean", method="percentile", n_resamples=20_000, rng=2)
    assert tuple(one.confidence_interval) == pytest.approx(tuple(reference.confidence_interval), abs=0.01)


def test_pigeonhole_variance_matches_owen_formula():
    # Owen (2007): for a fixed matrix the pigeonhole bootstrap variance of the mean is close to
    # var_rows/R + var_cols/m + var_interaction/(R m) with plug-in (ddof=0) components, up to O(1/(Rm))
    rng = np.random.default_rng(3)
    values = _crossed(rng, 15, 60, 0.3, 0.5, 0.4)
    row, col = values.mean(axis=1), values.mean(axis=0)
    interaction = values - row[:, None] - col[None, :] + values.mean()
    expected = row.var() / 15 + col.var() / 60 + (interaction**2).mean() / (15 * 60)
    res = two_level_bootstrap(values, n_resamples=40_000, rng=4)
    assert res.standard_error**2 == pytest.approx(expected, rel=0.04)


def test_denominators_give_the_pooled_ratio():
    rng = np.random.default_rng(5)
    images = rng.integers(1, 4, size=(5, 30)).astype(float)  # images per participant (same for all replicates)
    correct = rng.binomial(images.astype(int), 0.7).astype(float)
    res = two_level_bootstrap(correct, denominators=images, n_resamples=2000, rng=0)
    assert res.estimate == pytest.approx(correct.sum() / images.sum())
    assert res.confidence_interval.low < res.estimate < res.confidence_interval.high
    # unit denominators are the grand mean, resample for resample
    plain = two_level_bootstrap(correct, n_resamples=500, rng=9)
    ones = two_level_bootstrap(correct, denominators=np.ones_like(correct), n_resamples=500, rng=9)
    np.testing.assert_allclose(plain.bootstrap_distribution, ones.bootstrap_distribution, rtol=1e-12)


def test_seed_recorded_and_reproducible():
    values = np.random.default_rng(6).random((4, 25))
    a = two_level_bootstrap(values, n_resamples=300, rng=11)
    b = two_level_bootstrap(values, n_resamples=300, rng=11)
    assert a.seed == 11 and np.array_equal(a.bootstrap_distribution, b.bootstrap_distribution)
    c = two_level_bootstrap(values, n_resamples=300)
    assert np.array_equal(c.bootstrap_distribution,
                          two_level_bootstrap(values, n_resamples=300, rng=c.seed).bootstrap_distribution)


N_SIM = 2000


def _coverage(n_rows, n_cols, s_a, s_b, s_e, seed):
    rng = np.random.default_rng(seed)
    hits = {"both": 0, "participants": 0}
    for _ in range(N_SIM):
        values = _crossed(rng, n_rows, n_cols, s_a, s_b, s_e)
        for resample in hits:
            ci = two_level_bootstrap(values, resample=resample, n_resamples=400, rng=rng).confidence_interval
            hits[resample] += ci.low <= 0.0 <= ci.high
    return {key: value / N_SIM for key, value in hits.items()}


def _satterthwaite_coverage(n_rows, n_cols, s_a, s_b, s_e):
    """Coverage of a z interval whose variance is estimated: the replicate part on R - 1 df, the rest on
    m - 1 df (Satterthwaite's effective df), i.e. P(|t_df| < z_0.975)."""
    rows = s_a**2 / n_rows
    rest = s_b**2 / n_cols + s_e**2 / (n_rows * n_cols)
    df = (rows + rest) ** 2 / (rows**2 / (n_rows - 1) + rest**2 / (n_cols - 1))
    return 2 * stats.t.cdf(stats.norm.ppf(0.975), df) - 1


def test_coverage_two_level_vs_participants_only():
    # R = 20 replicates (replicate sd 0.04) on the same m = 100 participants (participant sd 0.1, noise 0.1).
    # Var(grand mean) = 0.04^2/20 + 0.1^2/100 + 0.1^2/2000 = 1.85e-4; the mean two-level bootstrap variance
    # is within 2 % of it. Its interval nevertheless covers a little less than 0.95: the replicate part of
    # the variance is estimated from 20 replicates only, so the interval behaves as a z interval with a
    # variance on ~76 Satterthwaite df, whose coverage is P(|t_76| < 1.96) = 0.946.
    # The participants-only bootstrap sees about (m-1)/m (0.1^2/100 + 0.1^2/2000) = 1.04e-4, hence a
    # coverage of 2 Phi(1.96 sqrt(1.04/1.85)) - 1 = 0.857.
    # Observed (seeded, 2000 studies): two-level 0.935, participants only 0.83.
    n_rows, n_cols, s_a, s_b, s_e = 20, 100, 0.04, 0.1, 0.1
    coverage = _coverage(n_rows, n_cols, s_a, s_b, s_e, seed=7)
    se = np.sqrt(0.95 * 0.05 / N_SIM)
    expected = _satterthwaite_coverage(n_rows, n_cols, s_a, s_b, s_e)
    assert 0.94 < expected < 0.95
    assert coverage["both"] >= expected - 3 * se, coverage
    true_var = s_a**2 / n_rows + s_b**2 / n_cols + s_e**2 / (n_rows * n_cols)
    naive_var = (n_cols - 1) / n_cols * (s_b**2 / n_cols + s_e**2 / (n_rows * n_cols))
    predicted = 2 * stats.norm.cdf(stats.norm.ppf(0.975) * np.sqrt(naive_var / true_var)) - 1
    naive_se = np.sqrt(predicted * (1 - predicted) / N_SIM)
    assert coverage["participants"] < 0.95 - 3 * se
    assert abs(coverage["participants"] - predicted) <= 3 * naive_se + 0.01, (coverage, predicted)


def test_coverage_is_conservative_when_the_interaction_dominates():
    # Owen (2007): the pigeonhole bootstrap counts the interaction term about three times: with a large
    # noise (sd 0.3) the coverage exceeds the nominal level (observed 0.97).
    coverage = _coverage(20, 100, 0.04, 0.1, 0.3, seed=8)
    se = np.sqrt(0.95 * 0.05 / N_SIM)
    assert coverage["both"] >= 0.95 + 3 * se - 0.01, coverage


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([1.0, 2.0],), {}, "matrix"),
        (([[1.0, np.nan], [1.0, 2.0]],), {}, "NaN"),
        (([[1.0, 2.0]],), {}, "at least 2 replicates"),
        (([[1.0], [2.0]],), {"resample": "replicates"}, None),
        (([[1.0], [2.0]],), {}, "at least 2 participants"),
        (([[1.0, 2.0], [1.0, 2.0]],), {"resample": "rows"}, "Unknown resample"),
        (([[1.0, 2.0], [1.0, 2.0]],), {"denominators": [[1.0, 1.0]]}, "shape"),
        (([[1.0, 2.0], [1.0, 2.0]],), {"n_resamples": 1}, "n_resamples"),
    ],
)
def test_invalid_input(args, kwargs, match):
    if match is None:  # valid
        two_level_bootstrap(*args, n_resamples=10, rng=0, **kwargs)
        return
    with pytest.raises(InputError, match=match):
        two_level_bootstrap(*args, **kwargs)
