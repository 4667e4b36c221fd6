"""Bootstrap engine: R `boot` oracle, exactness of the cluster bootstrap, seeds, degenerate cases, memory."""

import tracemalloc

import numpy as np
import pytest

from clinicadl.errors import InputError
from clinicadl.stats import bootstrap, bootstrap_ci, make_predictions

# Example of Efron & Tibshirani; intervals of the mean from R: boot(x, mean), boot.ci(type=c("bca","perc","basic"))
X = np.array([10, 12, 12.5, 12.5, 13.9, 15, 21, 22, 23, 34, 50, 81, 89, 121, 134, 213])
R_BOOT = {"bca": (32.31, 91.43), "percentile": (28.86, 84.21), "basic": (23.77, 79.12)}


@pytest.mark.parametrize("method", sorted(R_BOOT))
def test_intervals_of_the_mean_agree_with_r_boot(method):
    res = bootstrap_ci(None, X, metric="mean", method=method, n_resamples=100_000, rng=20261127)
    assert res.estimate == pytest.approx(X.mean())
    assert res.confidence_interval.low == pytest.approx(R_BOOT[method][0], rel=0.02)
    assert res.confidence_interval.high == pytest.approx(R_BOOT[method][1], rel=0.02)
    # the bootstrap SE of a mean is sqrt((n-1)/n) * sd / sqrt(n) up to Monte-Carlo error (~0.3 %)
    assert res.standard_error == pytest.approx(X.std(ddof=0) / np.sqrt(X.size), rel=0.01)


def test_same_seed_same_result_and_seed_is_recorded():
    y = np.tile([0, 1], 50)
    s = np.linspace(0.01, 0.99, 100)
    a = bootstrap_ci(y, s, metric="AUC", n_resamples=500, rng=3)
    b = bootstrap_ci(y, s, metric="AUC", n_resamples=500, rng=3)
    assert a.seed == 3 and np.array_equal(a.bootstrap_distribution, b.bootstrap_distribution)
    c = bootstrap_ci(y, s, metric="AUC", n_resamples=500, rng=None)
    d = bootstrap_ci(y, s, metric="AUC", n_resamples=500, rng=c.seed)
    assert np.array_equal(c.bootstrap_distribution, d.bootstrap_distribution)


def test_cluster_bootstrap_of_duplicated_rows_equals_row_bootstrap_of_participants():
    values = np.sort(np.random.default_rng(0).gamma(2.0, size=40))
    once = bootstrap_ci(None, values, metric="mean", n_resamples=3000, rng=11)
    twice = bootstrap_ci(None, np.repeat(values, 2), groups=np.repeat(np.arange(40), 2), metric="mean",
                         n_resamples=3000, rng=11)
    assert twice.n_units == 40 and twice.n_rows == 80 and twice.unit == "participant"
    assert np.allclose(once.bootstrap_distribution, twice.bootstrap_distribution)
    assert twice.confidence_interval.low == pytest.approx(once.confidence_interval.low)
    # resampling images instead treats the 80 rows as independent: the interval is too narrow
    rows = bootstrap(make_predictions(None, np.repeat(values, 2), groups=np.repeat(np.arange(40), 2)),
                     metrics=["mean"], unit="image", n_resamples=3000, rng=11)[0]
    assert rows.standard_error < 0.8 * twice.standard_error


def test_resamples_with_a_missing_class_are_counted_and_stratification_removes_them():
    y = np.array([1, 1] + [0] * 18)
    s = np.linspace(0.05, 0.95, 20)
    res = bootstrap_ci(y, s, metric="AUC", n_resamples=2000, rng=0)
    expected = 2000 * (18 / 20) ** 20  # P(no positive drawn)
    assert abs(res.n_dropped - expected) < 3 * np.sqrt(expected) + 3
    assert "class absent" in res.drop_reason
    assert np.isnan(res.bootstrap_distribution).sum() == res.n_dropped
    strat = bootstrap_ci(y, s, metric="AUC", n_resamples=2000, rng=0, stratify=True)
    assert strat.n_dropped == 0 and strat.drop_reason == ""


def test_metric_undefined_on_the_data_gives_nan_interval():
    res = bootstrap(make_predictions(np.ones(10, dtype=int), np.linspace(0.1, 0.9, 10), task="binary"),
                    metrics=["AUC", "sensitivity"], n_resamples=200, rng=0)
    assert np.isnan(res[0].estimate) and np.isnan(res[0].confidence_interval.low)
    assert res[1].estimate == pytest.approx(0.5) and res[1].n_dropped == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_resamples": 1}, "n_resamples"),
        ({"confidence_level": 95}, "confidence_level"),
        ({"method": "studentized"}, "Unknown interval method"),
        ({"rng": -1}, "seed"),
    ],
)
def test_bad_options_raise_input_error(options, message):
    with pytest.raises(InputError, match=message):
        bootstrap_ci(np.tile([0, 1], 10), np.linspace(0, 1, 20), metric="AUC", **options)


def test_memory_is_bounded_whatever_the_number_of_resamples():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 10_000)
    p = make_predictions(y, rng.random(10_000))
    peaks = []
    for b in (500, 2000):
        tracemalloc.start()
        bootstrap(p, metrics=["AUC", "BA"], n_resamples=b, method="percentile", rng=0)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # the only O(B) memory is the replicates themselves (B x metrics floats)
    assert max(peaks) < 60e6
    assert peaks[1] - peaks[0] < 1500 * 8 * 2 * 4


def test_analytic_without_a_closed_form_on_the_data_falls_back_to_bca_whatever_else_is_asked():
    p = make_predictions(None, [1.0, 2, 3, 4, 5])  # too few values for an order-statistic 95 % interval
    alone = bootstrap(p, metrics=["median"], method="analytic", n_resamples=200, rng=0)
    both = bootstrap(p, metrics=["mean", "median"], method="analytic", n_resamples=200, rng=0)
    assert alone[0].method == both[1].method == "bca"
    assert both[0].method == "t"
