"""Blocks of rows for the i.i.d. bootstrap of binary confusion-matrix metrics and AUC (clinicadl.stats.row_groups).

Oracles: the statistics of a row weighting equal those of its block sums (exactly), for any weights; the block
counts are the block sums of the row counts of the same draws; the bootstrap replicates computed on blocks are
those computed on rows, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from clinicadl.stats.bootstrap import bootstrap, bootstrap_distribution, resampling_plan
from clinicadl.stats.metrics import evaluate_metrics, resolve_metrics
from clinicadl.stats.predictions import make_predictions
from clinicadl.stats.resampling import bootstrap_counts, bootstrap_weights
from clinicadl.stats.row_groups import row_groups

BINARY = ("BA", "accuracy", "AUC", "sensitivity", "specificity", "PPV", "NPV", "F1_score", "MCC", "MK",
          "LR_plus", "LR_minus")


def _data(n=400, seed=0, ties=True, pos_label=1):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = 1 / (1 + np.exp(-(1.2 * (2 * y - 1) + rng.normal(size=n))))
    if ties:
        score = np.round(score, 2)  # scores tied across classes: the AUC counts them one half
    return make_predictions(y, score, pos_label=pos_label)


def _block_sums(weights, groups):
    starts = groups.predictions.row_index
    return np.add.reduceat(weights, starts, axis=1)


@pytest.mark.parametrize("ties", [True, False])
@pytest.mark.parametrize("pos_label", [0, 1])
def test_block_sums_give_the_same_statistics_as_rows(ties, pos_label):
    predictions = _data(ties=ties, pos_label=pos_label)
    requests = resolve_metrics(BINARY, predictions)
    groups = row_groups(predictions, requests, resampling_plan(predictions))
    assert groups is not None and groups.n_groups < predictions.n_rows / 4
    rng = np.random.default_rng(1)
    weights = rng.integers(0, 4, size=(50, predictions.n_rows))
    np.testing.assert_array_equal(evaluate_metrics(groups.predictions, requests, _block_sums(weights, groups)),
                                  evaluate_metrics(predictions, requests, weights))


def test_blocks_apply_only_where_rows_are_exchangeable_within_blocks():
    predictions = _data()
    plan = resampling_plan(predictions)
    assert row_groups(predictions, resolve_metrics(["BA", "AUC"], predictions), plan) is not None
    rng = np.random.default_rng(2)
    clustered = make_predictions(rng.integers(0, 2, 300), rng.random(300), groups=rng.integers(0, 100, 300))
    requests = resolve_metrics(["BA"], clustered)
    assert row_groups(clustered, requests, resampling_plan(clustered)) is None  # participants: rows
    assert row_groups(clustered, requests, resampling_plan(clustered, unit="image")) is not None
    regression = make_predictions(rng.normal(size=50), rng.normal(size=50), task="regression")
    assert row_groups(regression, resolve_metrics(["MAE"], regression), resampling_plan(regression)) is None
    few = make_predictions(rng.integers(0, 2, 12), rng.random(12))  # as many blocks as rows: rows are cheaper
    assert row_groups(few, resolve_metrics(["AUC"], few), resampling_plan(few)) is None


@pytest.mark.parametrize("stratify", [False, True])
def test_block_counts_are_the_block_sums_of_the_row_counts_of_the_same_draws(stratify):
    predictions = _data(n=600, seed=3)
    requests = resolve_metrics(BINARY, predictions)
    plan = resampling_plan(predictions, stratify=stratify)
    groups = row_groups(predictions, requests, plan)
    rows = np.concatenate(list(bootstrap_counts(plan, 700, np.random.default_rng(4))))
    blocks = np.concatenate([c.copy() for c in bootstrap_counts(plan, 700, np.random.default_rng(4), dtype=np.int64,
                                                                blocks=groups.block_of_row)])
    np.testing.assert_array_equal(blocks, _block_sums(rows, groups))
    assert np.all(blocks.sum(axis=1) == predictions.n_rows)


@pytest.mark.parametrize("stratify", [False, True])
def test_block_bootstrap_gives_the_replicates_of_the_row_bootstrap(stratify):
    predictions = _data(n=500, seed=5)
    requests = resolve_metrics(BINARY, predictions)
    plan = resampling_plan(predictions, stratify=stratify)
    assert row_groups(predictions, requests, plan) is not None
    blocks = bootstrap_distribution(predictions, requests, plan, 2000, np.random.default_rng(6))
    rows = np.concatenate([evaluate_metrics(predictions, requests, w)
                           for w in bootstrap_weights(plan, 2000, np.random.default_rng(6))])
    np.testing.assert_array_equal(blocks, rows)


def test_block_bootstrap_is_reproducible_from_its_seed():
    predictions = _data()
    first = bootstrap(predictions, metrics=["BA", "AUC"], n_resamples=300, method="percentile", rng=7)
    again = bootstrap(predictions, metrics=["BA", "AUC"], n_resamples=300, method="percentile", rng=7)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.bootstrap_distribution, b.bootstrap_distribution)
