"""Metrics: sklearn oracles and the generic weight properties every registered metric must satisfy."""

import numpy as np
import pytest
from sklearn import metrics as skm

from clinicadl.errors import InputError
from clinicadl.stats import make_predictions
from clinicadl.stats.metrics import available_metrics, evaluate_metrics, point_estimates, resolve_metrics


def _binary(n=120, seed=0, pos_label=1):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.round(1 / (1 + np.exp(-(1.5 * (2 * y - 1) + rng.normal(size=n)))), 2)  # ties on purpose
    return y, s, make_predictions(y, s, pos_label=pos_label, groups=np.arange(n) // 2)


def _multiclass(n=150, seed=1):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    s = rng.dirichlet([1, 1, 1], n)
    s[np.arange(n), y] += 0.6
    s /= s.sum(axis=1, keepdims=True)
    return y, s, make_predictions(y, s)


def _regression(n=80, seed=2):
    rng = np.random.default_rng(seed)
    y = rng.normal(70, 8, n)
    return y, y + rng.normal(0, 4, n), make_predictions(y, y + rng.normal(0, 4, n), task="regression")


def _values(n=31, seed=3):
    v = np.random.default_rng(seed).gamma(2.0, size=n)
    return make_predictions(None, v, groups=np.arange(n) // 3)


ALL = [_binary()[2], _binary(pos_label=0)[2], _multiclass()[2], _regression()[2], _values()]


def _estimates(y, s, pos_label):
    p = make_predictions(y, s, pos_label=pos_label)
    return dict(zip(available_metrics(p), point_estimates(p, resolve_metrics(available_metrics(p), p))))


@pytest.mark.parametrize("pos_label", [0, 1])
def test_binary_metrics_equal_sklearn(pos_label):
    y, s, _ = _binary()
    e = _estimates(y, s, pos_label)
    pred = (s > 0.5).astype(int)
    score = s if pos_label == 1 else 1 - s
    neg = 1 - pos_label
    assert e["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert e["BA"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert e["AUC"] == pytest.approx(skm.roc_auc_score(y == pos_label, score))
    assert e["sensitivity"] == pytest.approx(skm.recall_score(y, pred, pos_label=pos_label))
    assert e["specificity"] == pytest.approx(skm.recall_score(y, pred, pos_label=neg))
    assert e["PPV"] == pytest.approx(skm.precision_score(y, pred, pos_label=pos_label))
    assert e["NPV"] == pytest.approx(skm.precision_score(y, pred, pos_label=neg))
    assert e["F1_score"] == pytest.approx(skm.f1_score(y, pred, pos_label=pos_label))
    assert e["MCC"] == pytest.approx(skm.matthews_corrcoef(y, pred))
    assert e["MK"] == pytest.approx(e["PPV"] + e["NPV"] - 1)
    assert e["LR_plus"] == pytest.approx(e["sensitivity"] / (1 - e["specificity"]))
    assert e["LR_minus"] == pytest.approx((1 - e["sensitivity"]) / e["specificity"])


def test_multiclass_metrics_equal_sklearn():
    y, s, p = _multiclass()
    names = available_metrics(p)
    e = dict(zip(names, point_estimates(p, resolve_metrics(names, p))))
    pred = s.argmax(axis=1)
    assert e["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert e["BA"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert e["AUC"] == pytest.approx(skm.roc_auc_score(y, s, multi_class="ovr"))
    for k in range(3):
        assert e[f"sensitivity-{k}"] == pytest.approx(skm.recall_score(y, pred, average=None)[k])
        assert e[f"PPV-{k}"] == pytest.approx(skm.precision_score(y, pred, average=None)[k])
        assert e[f"F1_score-{k}"] == pytest.approx(skm.f1_score(y, pred, average=None)[k])
        assert e[f"MCC-{k}"] == pytest.approx(skm.matthews_corrcoef(y == k, pred == k))
    assert "sensitivity" not in names and "BA-1" in names


def test_regression_and_values_metrics():
    rng = np.random.default_rng(5)
    y = rng.normal(size=60)
    q = y + rng.normal(size=60)
    p = make_predictions(y, q, task="regression")
    e = dict(zip(available_metrics(p), point_estimates(p, resolve_metrics(None, p))))
    assert e["MAE"] == pytest.approx(skm.mean_absolute_error(y, q))
    assert e["RMSE"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, q)))
    assert e["R2_score"] == pytest.approx(skm.r2_score(y, q))
    assert e["r"] == pytest.approx(np.corrcoef(y, q)[0, 1])
    for n in (10, 11):
        v = rng.normal(size=n)
        pv = make_predictions(None, v)
        assert point_estimates(pv, resolve_metrics(None, pv)) == pytest.approx([v.mean(), np.median(v)])


@pytest.mark.parametrize("p", ALL, ids=lambda p: p.task)
def test_unit_weights_equal_no_weights_and_scale_invariance(p):
    requests = resolve_metrics(available_metrics(p), p)
    ones = evaluate_metrics(p, requests, np.ones((1, p.n_rows)))
    # a constant weight multiplies every count: ratios of counts (all metrics) do not change
    assert np.allclose(evaluate_metrics(p, requests, 3 * np.ones((1, p.n_rows))), ones, equal_nan=True)


@pytest.mark.parametrize("p", ALL, ids=lambda p: p.task)
def test_integer_weights_equal_repeated_rows_and_zero_weight_removes_rows(p):
    rng = np.random.default_rng(7)
    requests = resolve_metrics(available_metrics(p), p)
    counts = rng.integers(0, 4, p.n_rows)
    counts[0] = 1  # keep the data non-empty
    weighted = evaluate_metrics(p, requests, counts[None, :].astype(float))[0]
    rows = np.repeat(np.arange(p.n_rows), counts)
    if p.task == "values":
        rep = make_predictions(None, p.y_pred[rows])
    elif p.task == "regression":
        rep = make_predictions(p.y_true[rows], p.y_pred[rows], task="regression")
    else:
        rep = make_predictions(p.y_true[rows], p.y_score[rows], y_pred=p.y_pred[rows], pos_label=p.pos_label)
    expected = point_estimates(rep, resolve_metrics(available_metrics(p), rep))
    assert np.allclose(weighted, expected, equal_nan=True)


def test_undefined_metrics_are_nan_not_zero():
    y = np.array([1, 1, 1, 1])
    p = make_predictions(y, np.array([0.9, 0.8, 0.3, 0.6]), task="binary")
    e = dict(zip(available_metrics(p), point_estimates(p, resolve_metrics(available_metrics(p), p))))
    assert np.isnan(e["AUC"]) and np.isnan(e["specificity"]) and np.isnan(e["MCC"])
    assert e["sensitivity"] == pytest.approx(0.75) and e["accuracy"] == pytest.approx(0.75)


def test_unknown_metric_lists_available_ones():
    with pytest.raises(InputError, match="available: BA, accuracy"):
        resolve_metrics(["Dice"], _binary()[2])
    with pytest.raises(InputError, match="Unknown metric 'sensitivity'"):
        resolve_metrics(["sensitivity"], _multiclass()[2])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_true": [0, 1, 1], "y_score": [0.2, np.nan, 0.7]}, "NaN"),
        ({"y_true": [0, 1, 1], "y_score": [0.2, 1.4, 0.7]}, "outside \\[0, 1\\]"),
        ({"y_true": [0, 1], "y_score": [[0.2, 0.3], [0.5, 0.5]]}, "sum to 1"),
        ({"y_true": [], "y_score": []}, "non-empty"),
        ({"y_true": [0, 1, 2], "y_score": [[0.2, 0.8], [0.5, 0.5], [0.1, 0.9]]}, "only 2 columns"),
    ],
)
def test_bad_predictions_raise_clear_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        make_predictions(**kwargs)
