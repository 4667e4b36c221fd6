"""Speed of the crossed-design engine (procedure-level inference), against named peers, in one run.

Workload (issue: "30 replicates x 1,000 participants x 2,000 resamples for BA and AUC"): 30 trained models
scored on the same 1,000 participants (40 % positives, 1-3 sessions each: about 2,000 images), metrics BA and
AUC. What ``evaluate procedure`` and ``evaluate compare`` compute per metric:

- ``expected_performance``: values, jackknife pseudo-values of every model, components, interval (closed form);
- ``component_intervals``: the modified large-sample intervals of the components;
- ``compare_expected_performance`` with 2,000 resamples: the crossed difference test and the P(A>B) bootstrap
  over replicate pairs and participants.

Peers, measured in the same run:

- **two-way bootstrap, re-scored**: the candidate the engine was chosen against (Owen 2007): 2,000 resamples of
  replicates and participants, every resampled model re-scored with clinicadl's vectorised metric engine
  (bootstrap weights, no Python loop over resamples) -- the cost of an interval by resampling instead of by
  the closed form;
- **scikit-learn loop**: the same two-way bootstrap written as most analysis scripts would, one
  ``balanced_accuracy_score`` / ``roc_auc_score`` call per (resample, model), timed on 20 resamples and
  scaled to 2,000.

Run ``python benchmarks/bench_crossed.py [--quick]``; the table goes to ``benchmarks/results/crossed.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clinicadl.stats import compare_expected_performance, expected_performance  # noqa: E402
from clinicadl.stats.crossed_design import component_intervals, crossed_values  # noqa: E402
from clinicadl.stats.metrics import evaluate_metrics, resolve_metrics  # noqa: E402
from clinicadl.stats.predictions import make_predictions  # noqa: E402
from clinicadl.stats.resampling import expand  # noqa: E402
from clinicadl.stats.simulation.crossed import CrossedReplicates  # noqa: E402


def best_of(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def engine(labels, scores, other, groups, metric, n_resamples):
    res = expected_performance(labels, scores, metric=metric, groups=groups)
    component_intervals(crossed_values(labels, scores, metric=metric, groups=groups))
    compare_expected_performance(labels, scores, other, metric=metric, groups=groups, n_resamples=n_resamples, rng=0)
    return res


def two_way_rescored(labels, scores, groups, metric, n_resamples, rng):
    """Two-way bootstrap with every resampled model re-scored (vectorised over resamples, loop over models)."""
    models = [make_predictions(labels, np.column_stack([1 - s, s]), groups=groups) for s in scores]
    requests = resolve_metrics([metric], models[0])
    n_units = models[0].n_units
    counts = rng.multinomial(n_units, np.full(n_units, 1 / n_units), size=n_resamples).astype(float)
    rows = rng.integers(0, len(models), size=(n_resamples, len(models)))
    values = np.column_stack([evaluate_metrics(m, requests, expand(counts, m.units))[:, 0] for m in models])
    return np.take_along_axis(values, rows, axis=1).mean(axis=1)


def sklearn_loop(labels, scores, groups, metric, n_resamples, rng):
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    participants = np.unique(groups)
    index = {p: np.flatnonzero(groups == p) for p in participants}
    out = []
    for _ in range(n_resamples):
        drawn = rng.choice(participants, participants.size)
        rows = np.concatenate([index[p] for p in drawn])
        replicates = rng.integers(0, scores.shape[0], scores.shape[0])
        values = []
        for r in replicates:
            if metric == "AUC":
                values.append(roc_auc_score(labels[rows], scores[r, rows]))
            else:
                values.append(balanced_accuracy_score(labels[rows], scores[r, rows] > 0.5))
        out.append(np.mean(values))
    return np.asarray(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 participants, 500 resamples")
    args = parser.parse_args(argv)
    n, r, b = (200, 30, 500) if args.quick else (1000, 30, 2000)
    scenario = CrossedReplicates(n=n, n_replicates=r, sd_replicate=0.3)
    batch = scenario.draw(np.random.default_rng(0), 2)
    labels, groups = batch["labels"][0], batch["groups"][0]
    scores, other = batch["scores"][0], batch["scores"][1]
    lines = [f"# Crossed-design engine: {r} replicates x {n} participants ({labels.size} images), {b} resamples",
             "", f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPU cores, Python "
             f"{platform.python_version()}, numpy {np.__version__}; best of 3 runs (peers: 1).", "",
             "| metric | clinicadl engine (s) | two-way bootstrap, re-scored (s) | ratio | scikit-learn loop (s, "
             "extrapolated from 20 resamples) | ratio |", "|---|---|---|---|---|---|"]
    for metric in ("BA", "AUC"):
        ours = best_of(lambda: engine(labels, scores, other, groups, metric, b), 3)  # noqa: B023
        rescored = best_of(lambda: two_way_rescored(labels, scores, groups, metric, b,  # noqa: B023
                                                    np.random.default_rng(1)), 1)
        loop = best_of(lambda: sklearn_loop(labels, scores, groups, metric, 20,  # noqa: B023
                                            np.random.default_rng(2)), 1) * b / 20
        lines.append(f"| {metric} | {ours:.2f} | {rescored:.2f} | {rescored / ours:.1f}x | {loop:.1f} | "
                     f"{loop / ours:.0f}x |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        (Path(__file__).resolve().parent / "results" / "crossed.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
