"""The crossed-design engine (R models x one shared test set): oracles, invariances, edge cases.

References: Searle, Casella & McCulloch (1992) chapter 4 (ANOVA components of the two-way crossed model);
DeLong et al. (1988) for the one-model participant variance of the AUC; Owen (2007) for the two-way bootstrap.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import special
from scipy.stats import chi2

from clinicadl.errors import InputError
from clinicadl.stats import compare_expected_performance, crossed_components, crossed_values, expected_performance
from clinicadl.stats.crossed_comparison import compare_values, componentwise_pvalue
from clinicadl.stats.crossed_design import (
    CrossedValues,
    component_intervals,
    components_from_arrays,
    kurtosis_df,
    mls_interval,
)
from clinicadl.stats.crossed_interval import interval_from_values
from clinicadl.stats.delong import delong_components
from clinicadl.stats.simulation.crossed import CrossedComparison, CrossedReplicates


def study(seed=0, r=10, n=60, sd_replicate=0.3):
    scenario = CrossedReplicates(n=n, n_replicates=r, sd_replicate=sd_replicate)
    batch = scenario.draw(np.random.default_rng(seed), 1)
    return batch["labels"][0], batch["scores"][0], batch["groups"][0]


def test_one_model_auc_participant_variance_is_delongs():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 80)
    score = special.expit(1.2 * (2 * y - 1) + rng.normal(size=80))
    values = crossed_values(y, score[None, :], metric="AUC")
    comp = crossed_components(values)
    delong = delong_components(y, score[None, :])
    assert values.values[0] == pytest.approx(delong.auc[0])
    assert comp.participant_part == pytest.approx(delong.covariance[0, 0], rel=1e-12)
    # the pseudo-values of the positives are DeLong's placement values
    assert np.sort(values.pseudo[0, values.strata == 1]) == pytest.approx(np.sort(delong.v10[0]))


def test_variance_of_the_mean_is_unbiased_by_exhaustive_enumeration():
    """Every sample of 2 replicates (of 3) x 3 participants (of 4), drawn with replacement: E[V] = Var(mean)."""
    population = np.array([[0.9, 0.2, 0.7, 1.0], [0.4, 0.1, 0.8, 0.6], [1.0, 0.5, 0.3, 0.9]])
    estimates, variances = [], []
    for rows in itertools.product(range(3), repeat=2):
        for columns in itertools.product(range(4), repeat=3):
            table = population[np.ix_(rows, columns)]
            parts = components_from_arrays(table.mean(axis=1), table, np.zeros(3, dtype=int))
            estimates.append(table.mean())
            variances.append(float(parts["variance_of_mean"]))
    assert np.mean(variances) == pytest.approx(np.var(estimates), rel=1e-12)


def test_components_match_the_closed_form_of_a_balanced_table():
    rng = np.random.default_rng(1)
    table = rng.normal(size=(5, 7))
    parts = components_from_arrays(table.mean(axis=1), table, np.zeros(7, dtype=int))
    row, column, grand = table.mean(1, keepdims=True), table.mean(0, keepdims=True), table.mean()
    ms_e = ((table - row - column + grand) ** 2).sum() / (4 * 6)
    ms_p = 5 * ((column - grand) ** 2).sum() / 6
    assert parts["interaction"] == pytest.approx(ms_e / 7)
    assert parts["participant"] == pytest.approx((ms_p - ms_e) / (5 * 7))
    assert parts["replicate"] == pytest.approx(table.mean(1).var(ddof=1) - ms_e / 7)


def test_modified_large_sample_interval():
    # one mean square: the exact chi-square interval of a variance
    low, high = mls_interval([(2.0, 9.0)], [], 0.95)
    assert (low, high) == pytest.approx((9 * 2 / chi2.isf(0.025, 9), 9 * 2 / chi2.ppf(0.025, 9)))
    # a difference: Graybill & Wang's bounds, lower one truncated at 0
    low, high = mls_interval([(1.0, 4.0)], [(0.9, 40.0)], 0.95)
    assert low == 0.0 and high > 0.1
    y, p, groups = study()
    intervals = component_intervals(crossed_values(y, p, metric="BA", groups=groups))
    comp = crossed_components(crossed_values(y, p, metric="BA", groups=groups))
    for name in ("replicate", "participant", "interaction", "one_model"):
        assert intervals[name][0] <= max(getattr(comp, name), 0) <= intervals[name][1]


def test_kurtosis_degrees_of_freedom():
    normal = np.random.default_rng(0).normal(size=(2000, 30))
    assert np.median(kurtosis_df(normal)) == pytest.approx(29, abs=3)  # no excess kurtosis: m - 1
    skewed = np.r_[np.ones(27), 0.1, 0.2, 0.0]  # most participants always right, three often wrong
    assert kurtosis_df(skewed) < 8
    assert kurtosis_df(np.ones(10)) == 9  # no variance: nothing to correct


def test_expected_performance_covers_in_one_fixed_study_and_names_its_parts():
    y, p, groups = study()
    res = expected_performance(y, p, metric="BA", groups=groups)
    assert res.estimable and res.scale == "logit" and res.method.startswith("crossed-design")
    assert res.confidence_interval.low < res.estimate < res.confidence_interval.high
    assert res.conditional_interval.low > res.confidence_interval.low  # the replicates widen it
    c = res.components
    assert c.variance_of_mean == pytest.approx(c.replicate / 10 + c.participant + c.interaction / 10)
    assert c.one_model == pytest.approx(c.replicate + c.participant + c.interaction)


def test_splits_nest_inside_replicates():
    y, p, groups = study(r=6)
    averaged = crossed_values(y, p, metric="AUC", groups=groups, replicates=[0, 0, 1, 1, 2, 2])
    whole = crossed_values(y, p, metric="AUC", groups=groups)
    assert averaged.values == pytest.approx(whole.values.reshape(3, 2).mean(axis=1))
    assert averaged.pseudo == pytest.approx(whole.pseudo.reshape(3, 2, -1).mean(axis=1))


def test_too_few_replicates_and_perfect_models():
    y, p, groups = study(r=2)
    res = expected_performance(y, p, metric="BA", groups=groups)
    assert not res.estimable and np.isnan(res.confidence_interval.low) and "degree(s) of freedom" in res.reason
    assert res.conditional_interval.low < res.estimate < res.conditional_interval.high
    y = np.repeat([0, 1], 4)
    perfect = np.tile(np.where(y == 1, 0.9, 0.1), (5, 1))
    res = expected_performance(y, perfect, metric="BA")
    low, high = res.confidence_interval
    assert res.estimate == 1.0 and high == 1.0 and low == pytest.approx(0.025 ** (1 / 4))  # Clopper-Pearson, m = 4
    assert "bound" in res.reason


def test_other_tasks_and_metrics():
    rng = np.random.default_rng(2)
    truth = rng.normal(70, 8, 40)
    predictions = truth + rng.normal(0, 4, (5, 40)) + rng.normal(0, 1, (5, 1))
    mae = expected_performance(truth, predictions, metric="MAE")
    assert mae.scale == "identity" and mae.confidence_interval.low < mae.estimate < mae.confidence_interval.high
    dice = np.clip(0.8 + rng.normal(0, 0.05, (4, 30)), 0, 1)
    res = expected_performance(None, dice, metric="mean", bounds=(0.0, 1.0))
    assert res.scale == "logit" and res.estimate == pytest.approx(dice.mean())
    y = np.repeat([0, 1, 2], 20)
    logits = rng.normal(size=(6, 60, 3)) + 2 * np.eye(3)[y]
    proba = special.softmax(logits, axis=2)
    multi = expected_performance(y, proba, metric="BA")
    assert 0.33 < multi.estimate < 1 and multi.estimable
    mcc = expected_performance(*study()[:2], metric="MCC", groups=study()[2])
    assert mcc.scale == "fisher-z"


def test_bad_inputs():
    y, p, groups = study()
    with pytest.raises(InputError, match="shape"):
        expected_performance(y, p[:, :-1], metric="BA", groups=groups)
    with pytest.raises(InputError, match="replicate of each"):
        crossed_values(y, p, metric="BA", groups=groups, replicates=[0, 1])
    with pytest.raises(InputError, match="Unknown metric"):
        expected_performance(y, p, metric="Dice", groups=groups)
    with pytest.raises(InputError, match="at least two test participants"):
        expected_performance(np.r_[0, 1, 1, 1], np.full((3, 4), 0.6), metric="BA")


def test_pvalue_inverts_the_interval():
    assert componentwise_pvalue(0.0, 1e-4, 1e-4, 9, 40) == 1.0
    for d in (0.01, 0.03, 0.08):
        p = componentwise_pvalue(d, 2e-4, 1e-4, 9, 40)
        from clinicadl.stats.crossed_comparison import _half_width

        assert _half_width(p, 2e-4, 1e-4, 9, 40) == pytest.approx(d, rel=1e-8)


def test_comparison_of_identical_procedures_and_batch_invariance():
    y, p, groups = study()
    same = compare_expected_performance(y, p, p, metric="BA", groups=groups, rng=0)
    assert same.difference == 0 and same.pvalue == 1.0 and same.p_a_better == 0.5
    assert same.decision == "no significant difference"
    other = np.clip(p + 0.05 * np.random.default_rng(5).normal(size=p.shape), 0, 1)
    one = compare_expected_performance(y, p, other, metric="AUC", groups=groups, n_resamples=500, rng=1)
    chunked = compare_expected_performance(y, p, other, metric="AUC", groups=groups, n_resamples=500, rng=1,
                                           batch=7)
    assert np.array_equal(one.bootstrap_distribution, chunked.bootstrap_distribution)
    assert "population" in one.scope


def test_comparison_direction_and_losses():
    scenario = CrossedComparison(n=80, n_replicates=10, shift=1.0, sd_procedure=0.3)
    batch = scenario.draw(np.random.default_rng(0), 1)
    strata = batch["strata"][0]
    ids = np.arange(strata.size)
    a = CrossedValues("BA", batch["values_a"][0], batch["pseudo_a"][0], strata, ids)
    b = CrossedValues("BA", batch["values_b"][0], batch["pseudo_b"][0], strata, ids)
    res = compare_values(a, b, n_resamples=500, rng=0)
    assert res.difference > 0 and res.pvalue < 0.05 and res.significant and res.decision.startswith("A better")
    assert res.confidence_interval.low > 0
    reverse = compare_values(b, a, n_resamples=500, rng=0)
    assert reverse.decision == "B better" and reverse.p_a_better == pytest.approx(1 - res.p_a_better)
    as_loss = compare_values(a, b, n_resamples=500, rng=0, higher_is_better=False)
    assert as_loss.p_a_better == pytest.approx(1 - res.p_a_better)
    unpaired = compare_values(a, b, paired=False, n_resamples=500, rng=0)
    assert unpaired.difference == pytest.approx(res.difference) and unpaired.pvalue < 0.05


def test_scenario_truth_by_quadrature_matches_a_large_simulation():
    scenario = CrossedReplicates(n=400, n_replicates=400, sd_replicate=0.3)
    batch = scenario.draw(np.random.default_rng(9), 1)
    values = crossed_values(batch["labels"][0], batch["scores"][0], metric="BA", groups=batch["groups"][0])
    se = np.sqrt(crossed_components(values).variance_of_mean)
    assert abs(values.values.mean() - scenario.truth["BA"]) < 4 * se
    res = interval_from_values(values)
    assert res.confidence_interval.low < scenario.truth["BA"] < res.confidence_interval.high


def test_a_metric_resting_on_fewer_than_10_participants_gets_no_interval():
    y, p, groups = study(n=20)  # 8 positives, 12 negatives
    sensitivity = expected_performance(y, p, metric="sensitivity", groups=groups)
    assert not sensitivity.estimable and "rests on 8 test participants" in sensitivity.reason
    assert np.isfinite(sensitivity.conditional_interval.low)
    assert expected_performance(y, p, metric="specificity", groups=groups).estimable  # 12 negatives
    assert expected_performance(y, p, metric="BA", groups=groups).estimable  # both classes: 20
