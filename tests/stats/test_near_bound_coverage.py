"""``method="auto"`` at small n and near the bound: coverage >= 0.95 - 3 MC SE, never shorter than Wilson.

A reduced form of part 2 of the coverage study (``scripts/coverage_near_bound.py``, 1000 data sets per
cell, results in ``docs/coverage.md``): n = 10, 20, 30 participants; sensitivity = specificity = 0.90,
0.95, 0.99 (accuracy = BA = that value, AUC = 0.965, 0.990, 0.9995); prevalence 0.5 and 0.3; one image
per participant or 1-4 sessions (ICC 0.6). At n <= 30 ``auto`` takes the table's near-bound closed form
for every data set, so its intervals are computed here for all data sets of a cell at once with the
library's kernels (effective counts, Clopper-Pearson / Wilson / Jeffreys bounds, MOVER, Newcombe's AUC
interval); a few data sets per cell go through ``bootstrap(method="auto")`` to check that this is what
the library prints. Coverage is counted where an interval is printed (a metric undefined on a data
set, e.g. PPV without positive prediction, prints none).

References: Clopper & Pearson (1934); Wilson (1927); Brown, Cai & DasGupta (2001); Zou & Donner (2008);
Newcombe (2006); Kish (1965); Morris, White & Crowther (2019) for the Monte-Carlo standard errors.
"""

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from clinicadl.stats import bootstrap, make_predictions
from clinicadl.stats.auc_interval import auc_sample_sizes, newcombe_auc_interval
from clinicadl.stats.effective_size import effective_counts
from clinicadl.stats.method_choice import coverage_table
from clinicadl.stats.mover import mover_linear
from clinicadl.stats.proportion import _interval as proportion_bounds
from clinicadl.stats.simulation import BinormalScores, binormal_truth

R = 300
METRICS = ("accuracy", "BA", "sensitivity", "specificity", "PPV", "NPV", "AUC")
PROPORTIONS = ("accuracy", "sensitivity", "specificity", "PPV", "NPV")
RULE = coverage_table()["near_bound"]
CELLS = [(n, level, prevalence, clustered) for n in (10, 20, 30) for level in (0.90, 0.95, 0.99)
         for prevalence in (0.5, 0.3) for clustered in (False, True)]


def _bounds(k, t, method):
    """Bounds of a proportion from per-participant counts (R, n); NaN where the denominator is empty."""
    eff = effective_counts(k, t)
    empty = eff.trials == 0
    trials = np.where(empty, 1.0, eff.trials)
    low, high = proportion_bounds(np.where(empty, 0.0, eff.successes), trials, 0.95, method)
    estimate = np.where(empty, np.nan, eff.successes / trials)
    return estimate, np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def _cell(n, level, prevalence, clustered, seed):
    half = float(ndtri(level))
    batch = BinormalScores(n=n, mu0=-half, mu1=half, prevalence=prevalence, clustered=clustered).draw(
        np.random.default_rng(seed), R)
    y, x, mask = batch["y"], batch["x"], batch["mask"]
    positive = y[..., 0] == 1  # (R, n): the class of each participant
    said = (x > 0) & mask  # predicted class 1
    said_not = ~(x > 0) & mask
    m = mask.sum(axis=-1)
    n_said, n_not = said.sum(axis=-1), said_not.sum(axis=-1)
    counts = {  # (successes, trials) per participant
        "accuracy": (np.where(positive, n_said, n_not), m),
        "sensitivity": (np.where(positive, n_said, 0), np.where(positive, m, 0)),
        "specificity": (np.where(positive, 0, n_not), np.where(positive, 0, m)),
        "PPV": (np.where(positive, n_said, 0), n_said),
        "NPV": (np.where(positive, 0, n_not), n_not),
    }
    return batch, counts


def _auto_intervals(batch, counts):
    """{metric: (estimate, low, high)} of ``auto`` at n <= 30, and Wilson's for the proportions."""
    out, wilson = {}, {}
    for metric in PROPORTIONS:
        out[metric] = _bounds(*counts[metric], RULE["methods"][metric])
        wilson[metric] = _bounds(*counts[metric], "wilson")
    base = RULE["methods"]["BA"].removeprefix("mover-")
    sens, spec = _bounds(*counts["sensitivity"], base), _bounds(*counts["specificity"], base)
    estimates, lows, highs = (np.stack([s, t], axis=-1) for s, t in zip(sens, spec))
    out["BA"] = mover_linear(estimates, lows, highs, [0.5, 0.5])
    assert RULE["methods"]["AUC"] == "newcombe"
    auc, m_eff, n_eff = np.full(R, np.nan), np.full(R, np.nan), np.full(R, np.nan)
    for i in range(R):  # one O(n log n) rank pass per data set
        mask = batch["mask"][i]
        y = batch["y"][i][mask]
        if y.min() == y.max():
            continue
        units = np.broadcast_to(np.arange(mask.shape[0])[:, None], mask.shape)[mask]
        sizes = auc_sample_sizes(y == 1, batch["x"][i][mask], units)
        auc[i], m_eff[i], n_eff[i] = sizes.auc, sizes.n_pos, sizes.n_neg
    out["AUC"] = (auc, *newcombe_auc_interval(auc, m_eff, n_eff))
    return out, wilson


def test_the_rule_takes_the_closed_forms_at_30_participants_or_fewer():
    assert RULE["max_n"] >= 30
    assert set(RULE["methods"]) == set(METRICS)
    assert all(RULE["methods"][m] in ("clopper-pearson", "wilson") for m in PROPORTIONS)  # never below Wilson


def test_auto_covers_near_the_bound_at_small_n():
    failures, shorter, checked = [], 0, 0
    for index, (n, level, prevalence, clustered) in enumerate(CELLS):
        batch, counts = _cell(n, level, prevalence, clustered, seed=1000 + index)
        half = float(ndtri(level))
        truth = binormal_truth(-half, half, prevalence)
        auto, wilson = _auto_intervals(batch, counts)
        for metric in METRICS:
            estimate, low, high = auto[metric]
            printed = np.isfinite(estimate) & np.isfinite(low) & np.isfinite(high)
            k = printed.sum()
            coverage = np.mean((low <= truth[metric]) & (truth[metric] <= high), where=printed)
            assert np.all(high[printed] - low[printed] > 0), (n, level, metric)  # never a zero-width interval
            if coverage < 0.95 - 3 * np.sqrt(0.95 * 0.05 / k):
                failures.append((n, level, prevalence, clustered, metric, round(float(coverage), 3), int(k)))
            if metric in PROPORTIONS:
                _, wl, wh = wilson[metric]
                shorter += int(np.sum(printed & ((high - low) < (wh - wl) - 1e-9)))
        # what the library prints is what was computed here
        for i in range(2):
            mask = batch["mask"][i]
            y = batch["y"][i][mask]
            if y.min() == y.max():
                continue
            groups = np.broadcast_to(np.arange(n)[:, None], mask.shape)[mask]
            p = make_predictions(y, ndtr(batch["x"][i][mask]), groups=groups if clustered else None)
            for res in bootstrap(p, metrics=list(METRICS), n_resamples=200, rng=i):
                estimate, low, high = (a[i] for a in auto[res.metric])
                if np.isfinite(low):
                    assert res.estimate == pytest.approx(estimate)
                    assert tuple(res.confidence_interval) == pytest.approx((low, high), abs=1e-9), res.metric
                    checked += 1
    assert not failures, failures
    assert shorter == 0
    assert checked > 100
