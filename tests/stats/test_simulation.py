"""The simulation harness (seeding, chunks, workers, cache, Monte-Carlo SE) and its scenarios' truths.

Also the published values the validation report reproduces: Wilson (1927) intervals of an accuracy of 0.8
and El Jurdi et al.'s (2023) Dice interval half-width.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, ndtr

from clinicadl.errors import InputError
from clinicadl.stats import corrected_resampled_ttest, mean_ci, median_ci, proportion_ci
from clinicadl.stats import simulation as sc
from clinicadl.stats.corrected_ttest import OverconfidentTestWarning, naive_resampled_ttest
from clinicadl.stats.simulation import (
    ChunkCounts,
    IntervalOutcome,
    ProcedureUnderTest,
    TestOutcome,
    cache_path,
    chunk_sizes,
    count_outcome,
    mc_se,
    run_chunk,
    simulate,
)

CALLS: list[int] = []


def _counting_wilson(batch, rng):
    CALLS.append(batch["k"].size)
    return sc.proportion_procedure("wilson").function(batch, rng)


def _uniform_noise_interval(batch, rng):
    """An interval whose bounds use the procedure's own random stream: exposes the stream in the result."""
    p = batch["k"] / batch["n"]
    u = rng.random(p.size)
    return IntervalOutcome(p, p - 0.1 * u, p + 0.1 * u)


COUNTING = ProcedureUnderTest("counting wilson", "interval", "accuracy", _counting_wilson, 0.95)
NOISY = ProcedureUnderTest("noisy", "interval", "accuracy", _uniform_noise_interval, 0.95)
SCENARIO = sc.BernoulliAccuracy(n=50, p=0.7)


# ---------------------------------------------------------------------------------------- Monte-Carlo SE


def test_mc_se_formula_and_summary():
    assert mc_se(0.95, 2000) == pytest.approx(math.sqrt(0.95 * 0.05 / 2000))
    assert mc_se(0.0, 100) == 0.0 and math.isnan(mc_se(0.5, 0))
    result, = simulate(SCENARIO, [sc.proportion_procedure("wilson")], n_sim=1000, rng=3)
    assert result.rate_se == pytest.approx(math.sqrt(result.rate * (1 - result.rate) / 1000))
    assert result.n_sim == 1000 and result.n_undefined == 0 and result.measure == "coverage"


def test_mc_se_matches_the_spread_of_simulated_rates():
    # 200 independent studies of R = 400 each: the SD of their coverages is the MC SE (within sampling error
    # of an SD from 200 values, about 5 % -> 20 % is > 3 SE)
    rates = [simulate(SCENARIO, [sc.proportion_procedure("wald")], n_sim=400, rng=s)[0].rate for s in range(200)]
    p = float(np.mean(rates))
    assert np.std(rates, ddof=1) == pytest.approx(mc_se(p, 400), rel=0.2)


# ------------------------------------------------------------------------------------ seeding and chunks


def test_same_seed_same_numbers_other_seed_other_numbers():
    a = simulate(SCENARIO, [NOISY], n_sim=600, rng=1)
    b = simulate(SCENARIO, [NOISY], n_sim=600, rng=1)
    c = simulate(SCENARIO, [NOISY], n_sim=600, rng=2)
    assert a == b
    assert a[0].mean_width != c[0].mean_width


def test_results_do_not_depend_on_the_number_of_workers():
    # procedures sent to worker processes must be importable there: the package's own (the percentile
    # bootstrap uses the procedure's random stream)
    procedures = [sc.proportion_procedure("percentile", n_resamples=200), sc.proportion_procedure("wilson")]
    one = simulate(SCENARIO, procedures, n_sim=700, rng=5, chunk_size=100)
    two = simulate(SCENARIO, procedures, n_sim=700, rng=5, chunk_size=100, n_jobs=2)
    assert one == two


def test_procedures_see_the_same_data_and_own_streams():
    # the data of a chunk do not depend on which procedures run, and a procedure's stream depends on its name,
    # not on its position in the list
    alone = simulate(SCENARIO, [NOISY], n_sim=500, rng=9)
    together = simulate(SCENARIO, [sc.proportion_procedure("wald"), NOISY], n_sim=500, rng=9)
    assert alone[0] == together[1]
    wilson, jeffreys = simulate(SCENARIO, [sc.proportion_procedure("wilson"), sc.proportion_procedure("jeffreys")],
                                n_sim=500, rng=9)
    assert wilson.bias == jeffreys.bias  # same point estimates: same data sets


def test_run_chunk_is_a_pure_function_of_its_arguments():
    first = run_chunk(SCENARIO, [NOISY], 4, 3, 120)
    assert first == run_chunk(SCENARIO, [NOISY], 4, 3, 120)
    assert first != run_chunk(SCENARIO, [NOISY], 4, 2, 120)
    assert first != run_chunk(sc.BernoulliAccuracy(n=51, p=0.7), [NOISY], 4, 3, 120)  # the key enters the seed
    total = sum((run_chunk(SCENARIO, [NOISY], 4, c, s)[0] for c, s in enumerate(chunk_sizes(330, 100))),
                ChunkCounts(0, 0, 0))
    result, = simulate(SCENARIO, [NOISY], n_sim=330, rng=4, chunk_size=100)
    assert total.n == 330 and result.rate == total.hits / 330


def test_chunk_sizes():
    assert chunk_sizes(1000, 250) == [250] * 4
    assert chunk_sizes(7, 3) == [3, 3, 1]
    with pytest.raises(InputError, match="positive"):
        chunk_sizes(0, 3)


# ----------------------------------------------------------------------------------------------- resume


def test_cache_resumes_and_never_recomputes_finished_chunks(tmp_path):
    CALLS.clear()
    first = simulate(SCENARIO, [COUNTING], n_sim=500, rng=0, chunk_size=100, cache_dir=tmp_path)
    assert sum(CALLS) == 500
    files = sorted(tmp_path.rglob("chunk-*.json"))
    assert len(files) == 5 and files[2] == cache_path(tmp_path, SCENARIO, COUNTING, 0, 2, 100)
    CALLS.clear()
    assert simulate(SCENARIO, [COUNTING], n_sim=500, rng=0, chunk_size=100, cache_dir=tmp_path) == first
    assert CALLS == []
    # an interrupted run: two chunks missing, one corrupt (a crash while writing leaves no partial file,
    # but a damaged disk might): exactly those are recomputed, with the same numbers
    files[1].unlink()
    files[3].unlink()
    files[4].write_text("{not json")
    CALLS.clear()
    assert simulate(SCENARIO, [COUNTING], n_sim=500, rng=0, chunk_size=100, cache_dir=tmp_path) == first
    assert CALLS == [100, 100, 100]
    assert not list(tmp_path.rglob("*.tmp"))
    # another seed is another cache entry
    CALLS.clear()
    simulate(SCENARIO, [COUNTING], n_sim=100, rng=1, chunk_size=100, cache_dir=tmp_path)
    assert CALLS == [100]


# ------------------------------------------------------------------------------------------ counting


def test_count_outcome_intervals_and_tests():
    procedure = ProcedureUnderTest("x", "interval", "accuracy", _uniform_noise_interval)
    outcome = IntervalOutcome(np.array([0.7, 0.6, 0.9, np.nan]), np.array([0.6, 0.4, 0.8, np.nan]),
                              np.array([0.8, 0.65, 0.95, np.nan]))
    counts = count_outcome(outcome, {}, SCENARIO, procedure)  # truth 0.7
    assert (counts.n, counts.undefined, counts.hits, counts.miss_low, counts.miss_high) == (4, 1, 1, 1, 1)
    assert counts.width_sum == pytest.approx(0.2 + 0.25 + 0.15)
    assert counts.error_sum == pytest.approx(0.0 - 0.1 + 0.2)
    test = ProcedureUnderTest("t", "test", "difference", _uniform_noise_interval, nominal=0.05)
    counts = count_outcome(TestOutcome(np.array([0.01, 0.05, 0.2, np.nan])), {}, SCENARIO, test)
    assert (counts.n, counts.undefined, counts.hits) == (4, 1, 2)
    with pytest.raises(TypeError, match="TestOutcome"):
        count_outcome(outcome, {}, SCENARIO, test)


def test_per_data_set_truth_is_used_when_the_batch_has_one():
    procedure = ProcedureUnderTest("x", "interval", "error_xy", _uniform_noise_interval)
    outcome = IntervalOutcome(np.zeros(2), np.array([0.0, 0.0]), np.array([1.0, 1.0]))
    counts = count_outcome(outcome, {"truth:error_xy": np.array([0.5, 2.0])}, sc.LogisticCV(), procedure)
    assert counts.hits == 1 and counts.miss_high == 1


def test_warnings_name_the_failure_and_power_has_no_nominal_rate():
    naive, = simulate(sc.ResampledDifferences(), [sc.ttest_procedure("naive")], n_sim=2000, rng=1)
    assert naive.measure == "type I error" and naive.misses_nominal
    assert "over-rejects" in naive.warning() and "0.05" in naive.warning()
    corrected, = simulate(sc.ResampledDifferences(), [sc.ttest_procedure("corrected")], n_sim=2000, rng=1)
    assert corrected.warning() is None
    power, = simulate(sc.ResampledDifferences(delta=0.5), [sc.ttest_procedure("corrected")], n_sim=500, rng=1)
    assert power.measure == "power" and math.isnan(power.nominal_rate) and power.warning() is None
    assert power.rate > 0.05 + 3 * mc_se(0.05, 500)


def test_invalid_input():
    with pytest.raises(InputError, match="unique"):
        simulate(SCENARIO, [NOISY, NOISY], n_sim=10)
    with pytest.raises(InputError, match="kind"):
        ProcedureUnderTest("x", "estimate", "accuracy", _uniform_noise_interval)
    with pytest.raises(InputError, match="Scenario"):
        simulate(object(), [NOISY], n_sim=10)
    with pytest.raises(InputError, match="Unknown scenario"):
        sc.make_scenario("nope")
    with pytest.raises(InputError, match="Beta"):
        sc.BetaValues(mean=0.5, sd=0.6)


# ---------------------------------------------------------------- procedures equal the package's functions


def test_vectorised_procedures_equal_the_package_functions():
    rng = np.random.default_rng(0)
    batch = sc.BetaValues(n=30).draw(rng, 5)
    t = sc.values_procedure("mean", "t").function(batch, rng)
    order = sc.values_procedure("median", "order-statistic").function(batch, rng)
    for i, x in enumerate(batch["values"]):
        assert (t.low[i], t.high[i]) == pytest.approx(tuple(mean_ci(x).confidence_interval))
        assert (order.low[i], order.high[i]) == pytest.approx(tuple(median_ci(x).confidence_interval))
    acc = sc.BernoulliAccuracy(n=40).draw(rng, 5)
    wilson = sc.proportion_procedure("wilson").function(acc, rng)
    for i, k in enumerate(acc["k"]):
        assert (wilson.low[i], wilson.high[i]) == pytest.approx(tuple(proportion_ci(int(k), 40).confidence_interval))
    diffs = sc.ResampledDifferences().draw(rng, 4)
    corrected = sc.ttest_procedure("corrected").function(diffs, rng)
    naive = sc.ttest_procedure("naive").function(diffs, rng)
    for i, d in enumerate(diffs["differences"]):
        assert corrected.pvalue[i] == pytest.approx(corrected_resampled_ttest(d, n_train=160, n_test=40).pvalue)
        with pytest.warns(OverconfidentTestWarning):
            assert naive.pvalue[i] == pytest.approx(naive_resampled_ttest(d).pvalue)


def test_logistic_fit_matches_the_nested_cv_learner():
    pytest.importorskip("clinicadl.stats.nested_cv")
    from clinicadl.stats.nested_cv import LogisticRegression

    batch = sc.LogisticCV().draw(np.random.default_rng(1), 2)
    x, y = batch["x"][0], batch["y"][0]
    design = np.column_stack([np.ones(len(y)), x])
    train = np.arange(len(y)) < 80
    theirs = LogisticRegression(penalty=1e-2)(design, y, train[None])[0][~train]
    ours = sc.logistic_loss(x[train], y[train], x[~train], y[~train])
    np.testing.assert_array_equal(ours, theirs)


# ------------------------------------------------------------------------------------ scenario truths


def test_binormal_truths_against_a_large_sample():
    batch = sc.BinormalScores(n=200_000, clustered=True).draw(np.random.default_rng(2), 1)
    y, x = batch["y"][batch["mask"]], batch["x"][batch["mask"]]
    truth = sc.BinormalScores().truth
    auc = stats.mannwhitneyu(x[y == 1], x[y == 0]).statistic / ((y == 1).sum() * (y == 0).sum())
    assert auc == pytest.approx(truth["AUC"], abs=0.003)  # SE about 0.0007 with clusters
    assert np.mean(x[y == 1] > 0) == pytest.approx(truth["sensitivity"], abs=0.005)
    assert truth["AUC"] == pytest.approx(float(ndtr(1.19 / math.sqrt(2))))


def test_beta_values_have_the_stated_mean_and_sd():
    values = sc.BetaValues().draw(np.random.default_rng(3), 1000)["values"]
    assert values.mean() == pytest.approx(0.897, abs=3 * 0.0278 / math.sqrt(values.size))
    assert values.std() == pytest.approx(0.0278, rel=0.01)


def test_two_stage_variances():
    ideal = sc.TwoStageReplicates(n_replicates=4).draw(np.random.default_rng(4), 50_000)["scores"]
    truth = sc.TwoStageReplicates().truth
    assert ideal.var(axis=1, ddof=1).mean() == pytest.approx(truth["replicate_variance"], rel=0.02)
    assert ideal[:, 0].var() == pytest.approx(truth["variance"], rel=0.03)
    fixed = sc.TwoStageReplicates(n_replicates=4, fixed_split=True).draw(np.random.default_rng(4), 50_000)["scores"]
    assert fixed.var(axis=1, ddof=1).mean() == pytest.approx(0.01**2, rel=0.02)  # only the seed varies


def test_conditional_error_quadrature_against_a_large_test_set():
    scenario = sc.LogisticCV()
    batch = scenario.draw(np.random.default_rng(5), 3)
    coef = sc.fit_logistic(batch["x"], batch["y"])
    rng = np.random.default_rng(6)
    x = rng.standard_normal((400_000, scenario.p))
    y = rng.random(x.shape[0]) < expit(x @ scenario.beta)
    for i in range(3):
        error = np.mean(((coef[i, 0] + x @ coef[i, 1:]) > 0) != y)
        assert batch["truth:error_xy"][i] == pytest.approx(error, abs=0.003)  # SE about 0.0007


# ---------------------------------------------------------------------------------- published values


@pytest.mark.parametrize(("n", "low", "high"), [(100, 0.711, 0.867), (1000, 0.774, 0.824)])
def test_wilson_interval_of_an_accuracy_of_80_percent(n, low, high):
    ci = proportion_ci(int(0.8 * n), n).confidence_interval
    assert (round(ci.low, 3), round(ci.high, 3)) == (low, high)


def test_el_jurdi_dice_half_width_at_n_100():
    # El Jurdi et al. (2023): Dice of mean 89.7 and SD 2.78 points, n = 100: half-width about 0.55 points
    assert stats.t.ppf(0.975, 99) * 2.78 / 10 == pytest.approx(0.5516, abs=5e-5)
    results = simulate(sc.BetaValues(n=100), [sc.values_procedure("mean", "t"),
                                               sc.values_procedure("mean", "percentile", n_resamples=1000)],
                       n_sim=500, rng=7)
    for result in results:
        half_width = 100 * result.mean_width / 2
        assert half_width == pytest.approx(0.55, abs=0.02)  # bootstrap slightly narrower (n - 1 vs n, z vs t)
        assert abs(result.rate - 0.95) <= 3 * mc_se(0.95, 500)
    t_result = results[0]
    assert 100 * t_result.mean_width / 2 == pytest.approx(0.5516, abs=3 * 100 * t_result.width_se / 2 + 1e-3)


def test_partial_procedures_pickle_for_workers():
    import pickle

    for procedure in [*sc.default_procedures("nested-cv", sc.LogisticCV()), sc.bootstrap_procedure()]:
        assert isinstance(pickle.loads(pickle.dumps(procedure)).function, partial)


@pytest.mark.parametrize("scenario", [sc.BernoulliAccuracy(n=100, p=0.8), sc.BernoulliAccuracy(n=30, p=0.8),
                                      sc.BernoulliAccuracy(n=100, p=0.8, p_spread=0.1)])
def test_simulated_coverage_agrees_with_the_exact_binomial_coverage(scenario):
    # the harness against a closed form: sum_k P(K = k) 1{p in CI(k)} (averaged over p with a spread)
    methods = ("wilson", "clopper-pearson", "jeffreys", "wald")
    results = simulate(scenario, [sc.proportion_procedure(m) for m in methods], n_sim=4000, rng=11)
    for method, result in zip(methods, results, strict=True):
        exact = scenario.exact_coverage(method)
        assert abs(result.rate - exact) <= 3 * mc_se(exact, 4000), (method, result.rate, exact)
    assert sc.BernoulliAccuracy(n=100, p=0.8).exact_coverage("wilson") == pytest.approx(0.9405, abs=1e-4)


def test_a_job_array_task_fills_the_cache_that_simulate_reads(tmp_path):
    from clinicadl.stats.simulation import run_and_store_chunk

    CALLS.clear()
    for chunk, size in enumerate(chunk_sizes(250, 100)):  # what each task of an array would run
        run_and_store_chunk(SCENARIO, [COUNTING], 6, chunk, size, tmp_path)
    assert sum(CALLS) == 250
    CALLS.clear()
    from_cache = simulate(SCENARIO, [COUNTING], n_sim=250, rng=6, chunk_size=100, cache_dir=tmp_path)
    assert CALLS == [] and from_cache == simulate(SCENARIO, [COUNTING], n_sim=250, rng=6, chunk_size=100)


def test_two_models_and_five_by_two_procedures_equal_the_package_tests():
    from clinicadl.stats import delong_test, five_by_two_f, five_by_two_t, mcnemar_test

    rng = np.random.default_rng(12)
    batch = sc.TwoModels(n=60).draw(rng, 3)
    mcnemar = sc.comparison_procedure("mcnemar").function(batch, rng)
    delong = sc.comparison_procedure("delong").function(batch, rng)
    for i in range(3):
        y, xa, xb = batch["y"][i], batch["xa"][i], batch["xb"][i]
        assert delong.pvalue[i] == delong_test(y, xa, xb).test.pvalue
        assert mcnemar.pvalue[i] == mcnemar_test((xa > 0) == (y == 1), (xb > 0) == (y == 1)).pvalue
    cv = sc.CentroidCV(n_folds=2, n_repeats=5).draw(rng, 2)
    t = sc.five_by_two_procedure("t").function(cv, rng)
    f = sc.five_by_two_procedure("F").function(cv, rng)
    for i in range(2):
        assert t.pvalue[i] == five_by_two_t(cv["differences"][i].reshape(5, 2)).pvalue
        assert f.pvalue[i] == five_by_two_f(cv["differences"][i].reshape(5, 2)).pvalue
    assert sc.TwoModels(shift=0.5).truth["difference"] == pytest.approx(
        float(ndtr(1.69 / math.sqrt(2)) - ndtr(1.19 / math.sqrt(2))))


# ------------------------------------------------------------------------------- former names (one release)


def test_seed_keyword_and_procedure_name_still_work_with_a_deprecation_warning():
    expected = simulate(SCENARIO, [NOISY], n_sim=200, rng=4)
    with pytest.warns(DeprecationWarning, match="rng"):
        assert simulate(SCENARIO, [NOISY], n_sim=200, seed=4) == expected
    generator = simulate(SCENARIO, [NOISY], n_sim=200, rng=np.random.default_rng(0))
    assert generator[0].seed == np.random.default_rng(0).integers(2**63 - 1)  # the root seed drawn is recorded
    import clinicadl.stats

    with pytest.warns(DeprecationWarning, match="ProcedureUnderTest"):
        assert clinicadl.stats.Procedure is ProcedureUnderTest
    with pytest.warns(DeprecationWarning, match="moved to clinicadl.stats.simulation"):
        from clinicadl.stats.scenarios import BernoulliAccuracy
    assert BernoulliAccuracy is sc.BernoulliAccuracy
    with pytest.warns(DeprecationWarning, match="crossed_comparison_procedure"):
        from clinicadl.stats.crossed_scenarios import comparison_procedure
    assert comparison_procedure is sc.crossed_comparison_procedure
    with pytest.raises(InputError, match="root seed"):
        simulate(SCENARIO, [NOISY], n_sim=10, rng=-1)
