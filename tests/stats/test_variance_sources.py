"""Statistics of a variance study: oracles (closed forms, scipy) and coverage on simulated studies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from clinicadl.errors import InputError
from clinicadl.stats.simulation.sources import SourceStudy
from clinicadl.stats.variance_sources import (
    SOURCES,
    decision_rate,
    detection_rate,
    estimator_variances,
    source_sd,
    split_seed_sd,
)


def _band(n_studies: int, level: float = 0.95) -> tuple[float, float]:
    se = np.sqrt(level * (1 - level) / n_studies)
    return level - 3 * se, level + 3 * se


def test_source_sd_is_the_chi_square_interval_without_excess_kurtosis():
    y = np.linspace(0.70, 0.80, 9)  # platykurtic: the kurtosis correction leaves R - 1 df
    result = source_sd(y, source="init")
    s2 = y.var(ddof=1)
    assert result.sd == pytest.approx(np.sqrt(s2), rel=1e-12)
    assert result.df == 8
    low = np.sqrt(8 * s2 / sps.chi2.ppf(0.975, 8))
    high = np.sqrt(8 * s2 / sps.chi2.ppf(0.025, 8))
    assert (result.low, result.high) == pytest.approx((low, high), rel=1e-12)


def test_source_sd_loses_degrees_of_freedom_to_an_outlier():
    y = np.r_[np.full(9, 0.75) + np.linspace(-0.01, 0.01, 9), 0.60]
    result = source_sd(y, source="order")
    assert result.df < 9
    assert result.high > np.sqrt(9 * y.var(ddof=1) / sps.chi2.ppf(0.025, 9))


@pytest.mark.parametrize("bad", [[0.7], [0.7, np.nan, 0.8]])
def test_source_sd_rejects_too_few_or_missing_scores(bad):
    with pytest.raises(InputError, match="at least 2 finite"):
        source_sd(bad, source="init")


def test_split_seed_sd_is_unbiased_and_covers_on_the_normal_nested_model():
    """Closed-form truth: y_sk = a_s + b_sk, a ~ N(0, 0.02^2), b ~ N(0, 0.015^2)."""
    rng = np.random.default_rng(7)
    n_studies, s, k = 1500, 6, 4
    a = 0.02 * rng.standard_normal((n_studies, s, 1))
    y = 0.75 + a + 0.015 * rng.standard_normal((n_studies, s, k))
    results = [split_seed_sd(table) for table in y]
    split_var = np.array([r.split.variance for r in results])
    seed_var = np.array([r.seed.variance for r in results])
    assert abs(split_var.mean() - 0.02**2) < 3 * split_var.std() / np.sqrt(n_studies)
    assert abs(seed_var.mean() - 0.015**2) < 3 * seed_var.std() / np.sqrt(n_studies)
    low, high = _band(n_studies)
    split_cover = np.mean([r.split.low <= 0.02 <= r.split.high for r in results])
    seed_cover = np.mean([r.seed.low <= 0.015 <= r.seed.high for r in results])
    assert low <= split_cover <= high and low <= seed_cover <= high


def test_split_seed_sd_needs_a_table():
    with pytest.raises(InputError, match="nested"):
        split_seed_sd(np.ones((1, 5)))


def test_estimator_variances_closed_forms():
    variances = {"init": 0.4, "order": 0.1, "hpo": 0.3}
    ideal, fix_all, fix_init = estimator_variances(variances, total=1.0, k=10)
    assert ideal.variance == pytest.approx(0.1) and ideal.fixed == 0
    assert fix_all.variance == pytest.approx(0.3 + 0.7 / 10) and fix_all.fixed == pytest.approx(0.3)
    assert fix_init.variance == pytest.approx(0.6 + 0.4 / 10) and fix_init.fixed == pytest.approx(0.6)
    assert fix_init.name == "FixHOptEst(10, Init)"


def test_detection_rate_is_a_coin_flip_at_no_difference_and_saturates_only_for_the_ideal_estimator():
    variances = {"init": 0.2}
    ideal, _, fix_init = estimator_variances(variances, total=1.0, k=1000)
    assert detection_rate(ideal, p_better=[0.5], total=1.0)[0] == pytest.approx(0.5)
    assert detection_rate(ideal, p_better=[0.75], total=1.0)[0] > 0.999
    cheap = detection_rate(fix_init, p_better=[0.75], total=1.0)[0]
    # fixed part 0.8: Phi(Phi^-1(0.75) sqrt(2) / sqrt(2 (0.8 + 0.2 / 1000)))
    assert cheap == pytest.approx(sps.norm.cdf(sps.norm.ppf(0.75) / np.sqrt(0.8 + 0.2 / 1000)), rel=1e-12)
    assert cheap < 0.8


def test_decision_rate_without_fixed_part_is_the_binomial_tail():
    """IdealEst: runs independent, wins ~ Binomial(k, Phi(delta / sqrt(2 v))) with v = total (one model each)."""
    ideal, _, _ = estimator_variances({"init": 0.3}, total=2.0, k=10)
    rate = decision_rate(ideal, p_better=[0.5, 0.75, 0.9], total=2.0)
    # 10 pairs: the interval lies above 0.5 and reaches 0.75 from 9 wins on (binomial quantiles at 95 %)
    expected = sps.binom.sf(8, 10, [0.5, 0.75, 0.9])
    np.testing.assert_allclose(rate, expected, rtol=1e-10)


def test_decision_rate_matches_the_p_a_better_rule_run_on_simulated_comparisons():
    """Oracle: the rule itself (probability_better, finite bootstrap) on Gaussian runs of two procedures."""
    from clinicadl.stats.probability_better import probability_better

    _, _, fix_init = estimator_variances({"init": 0.25}, total=1.0, k=10)
    rng = np.random.default_rng(11)
    n_comparisons, p = 300, 0.75
    delta = sps.norm.ppf(p) * np.sqrt(2.0)
    varying = 10 * (fix_init.variance - fix_init.fixed)
    detected = 0
    for _ in range(n_comparisons):
        fixed = rng.normal(0.0, np.sqrt(fix_init.fixed), size=2)
        a = delta + fixed[0] + rng.normal(0.0, np.sqrt(varying), 10)
        b = fixed[1] + rng.normal(0.0, np.sqrt(varying), 10)
        result = probability_better(a, b, n_resamples=2000, rng=rng)
        detected += result.significant and result.meaningful
    expected = decision_rate(fix_init, p_better=[p], total=1.0)[0]
    se = np.sqrt(expected * (1 - expected) / n_comparisons)
    assert abs(detected / n_comparisons - expected) < 3 * se


def test_a_cheap_estimator_detects_differences_that_are_not_there():
    ideal, _, fix_init = estimator_variances({"init": 0.1}, total=1.0, k=20)
    false_ideal, false_cheap = (decision_rate(e, p_better=[0.5], total=1.0)[0] for e in (ideal, fix_init))
    assert false_ideal < 0.025 < 0.3 < false_cheap
    assert np.isnan(decision_rate(ideal, p_better=[0.75], total=0.0)[0])
    with pytest.raises(InputError, match="p_better"):
        decision_rate(ideal, p_better=[1.0], total=1.0)


def test_single_source_intervals_cover_on_a_simulated_study():
    """Every effect of the real design (shared participants, interaction, sessions, unequal classes): reduced
    form of the validation (docs/validation.md has 1000 studies per cell)."""
    study = SourceStudy(n=60)
    rng = np.random.default_rng(20261203)
    n_studies, r = 200, 10
    hits = {"init": 0, "split": 0, "all": 0}
    for _ in range(n_studies):
        world = study.world(rng)
        for name in hits:
            varying = SOURCES if name == "all" else (name,)
            result = source_sd(study.scores(world, varying, r, rng), source=name)
            truth = study.truth(world, varying, rng, n_truth=2000)
            hits[name] += result.low**2 <= truth <= result.high**2
    low, high = _band(n_studies)
    for name, count in hits.items():
        assert low <= count / n_studies <= high, (name, count / n_studies)


def test_nested_intervals_cover_on_a_simulated_study():
    study = SourceStudy(n=60)
    rng = np.random.default_rng(20261204)
    n_studies = 200
    split_hits = seed_hits = 0
    for _ in range(n_studies):
        world = study.world(rng)
        result = split_seed_sd(study.nested_scores(world, 5, 4, rng))
        split_truth, seed_truth = study.nested_truth(world, rng, n_splits=200, n_seeds=10)
        split_hits += result.split.low**2 <= max(split_truth, 0.0) <= result.split.high**2
        seed_hits += result.seed.low**2 <= seed_truth <= result.seed.high**2
    low, high = _band(n_studies)
    assert low <= split_hits / n_studies <= high
    assert low <= seed_hits / n_studies <= high


def test_the_upper_bound_of_a_bounded_score_is_at_most_half_its_range():
    """Popoviciu: a value in [0, 1] has an SD of at most 0.5; two scores give a chi-square bound far above it."""
    scores = [0.55, 0.95]
    assert source_sd(scores, source="init").high > 0.5
    assert source_sd(scores, source="init", bounds=(0.0, 1.0)).high == 0.5
    table = np.array([[0.5, 0.9], [0.6, 0.95], [0.1, 0.7]])
    nested = split_seed_sd(table, bounds=(0.0, 1.0))
    assert nested.split.high <= 0.5 and nested.seed.high <= 0.5


def test_excess_kurtosis_is_scipys_unbiased_estimate_floored_at_zero():
    from clinicadl.stats.crossed_design import excess_kurtosis

    rng = np.random.default_rng(5)
    heavy, light = rng.standard_t(3, size=40), rng.uniform(size=40)
    assert excess_kurtosis(heavy) == pytest.approx(sps.kurtosis(heavy, fisher=True, bias=False), rel=1e-12)
    assert sps.kurtosis(light, fisher=True, bias=False) < 0 and excess_kurtosis(light) == 0
    assert excess_kurtosis(np.ones(10)) == 0 and excess_kurtosis(np.arange(3.0)) == 0
