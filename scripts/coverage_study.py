"""Coverage study of the bootstrap and analytic intervals: the evidence behind ``method="auto"``.

For each data-generating process with a known truth (binormal classification, Gaussian regression
errors, log-normal per-image values), each number of participants ``n`` and each layout (one image
per participant, or 1-4 sessions per participant with a participant random effect), the study draws
``n_reps`` data sets, computes the 95 % interval of every metric with every method, and records how
often the interval contains the truth (coverage), its Monte-Carlo standard error, the average width
and on which side the misses fall.

Every replication makes one call of :func:`clinicadl.stats.bootstrap` with ``method="bca"`` for all
metrics of its data set at once (shared resamples). The percentile and basic intervals are then
computed from the *same* replicates with the library's own ``clinicadl.stats.intervals`` functions
(the ones ``bootstrap`` itself applies; a check at start-up asserts the equality). Where rows are
independent, a second call with ``method="analytic"`` gives the closed-form intervals; when the
closed form does not apply to a data set the library falls back to BCa, and so does the study.

Outputs (written to a temporary file, then moved into place):

- ``clinicadl/stats/coverage_table.json``, read by :func:`clinicadl.stats.method_choice.choose_method`;
- ``docs/coverage.md``, the report (``--docs-only`` regenerates it from the JSON).

Run: ``python scripts/coverage_study.py`` (about 15 minutes on 2 cores); ``--n-reps 50`` for a smoke run
(then write elsewhere with ``--table`` / ``--docs``).

References
----------
Efron B. (1987). Better bootstrap confidence intervals. JASA 82(397), 171-185.
Morris T. P., White I. R., Crowther M. J. (2019). Using simulation studies to evaluate statistical
methods. Statistics in Medicine 38(11), 2074-2102 (Monte-Carlo standard errors, reporting).
Field C. A., Welsh A. H. (2007). Bootstrapping clustered data. JRSS B 69(3), 369-390.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread per worker process
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.special import ndtr  # noqa: E402
from scipy.stats import rankdata  # noqa: E402

from clinicadl.stats import bootstrap, make_predictions  # noqa: E402
from clinicadl.stats.intervals import BOOTSTRAP_METHODS, basic_interval, percentile_interval  # noqa: E402
from clinicadl.stats.simulation import binormal_truth, mc_se  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "clinicadl" / "stats" / "coverage_table.json"
DOCS = REPO / "docs" / "coverage.md"

ROOT_SEED = 20_260_611
CONFIDENCE_LEVEL = 0.95
N_RESAMPLES = 2000
N_REPS = 2000
SIZES = (30, 50, 100, 200, 500)
METHODS = ("percentile", "basic", "bca", "analytic")

# Binormal classification. Latent x = mu_y + u_i + e_ij with Var(u) + Var(e) = 1 in both layouts, so
# that the image-level truths are the same with and without clusters. AUC = Phi((mu1 - mu0) / sqrt(2)).
MU0, MU1 = -0.5, 0.69  # AUC = Phi(1.19 / sqrt 2) = 0.800; sensitivity 0.755, specificity 0.691
PREVALENCE = 0.5
ICC = 0.6  # Var(u) / (Var(u) + Var(e)) in the clustered layout
MAX_SESSIONS = 4  # sessions per participant uniform on 1..MAX_SESSIONS, independent of everything
MAE_SD = 5.0  # regression errors N(0, MAE_SD^2) (total variance), e.g. brain age in years
AGE_MEAN, AGE_SD = 70.0, 7.0
LOG_SD = 1.0  # per-image values log-normal: log v ~ N(0, LOG_SD^2) (total variance); skewness 6.2

CLASSIFICATION = ("AUC", "BA", "accuracy", "sensitivity", "specificity", "PPV", "F1_score")
PROCESSES = {
    # name: (task, metrics)
    "binormal": ("binary", CLASSIFICATION),
    "binormal-prevalence-0.3": ("binary", CLASSIFICATION),
    "gaussian-errors": ("regression", ("MAE",)),
    "lognormal-values": ("values", ("mean", "median")),
}
ANALYTIC = {"AUC", "accuracy", "sensitivity", "specificity", "PPV", "NPV", "MAE", "mean", "median"}
PREVALENCES = {"binormal": PREVALENCE, "binormal-prevalence-0.3": 0.3}
# The main grid decides method="auto"; the prevalence-0.3 cells are a sensitivity analysis, reported
# but not in the table's "cells" (the table is keyed by metric, n and layout only).
SENSITIVITY_SIZES = SIZES


# --------------------------------------------------------------------------------------------------
# Truths (closed forms)


def truths(process: str) -> dict[str, float]:
    if process in PREVALENCES:
        return binormal_truth(MU0, MU1, PREVALENCES[process])
    if process == "gaussian-errors":
        return {"MAE": MAE_SD * math.sqrt(2 / math.pi)}
    return {"mean": math.exp(LOG_SD**2 / 2), "median": 1.0}


# --------------------------------------------------------------------------------------------------
# Data-generating processes


def simulate(process: str, n: int, clustered: bool, rng: np.random.Generator):
    """One data set of ``n`` participants as :class:`~clinicadl.stats.Predictions`."""
    if clustered:
        sessions = rng.integers(1, MAX_SESSIONS + 1, size=n)
        groups = np.repeat(np.arange(n), sessions)
        shared = rng.normal(0.0, math.sqrt(ICC), size=n)[groups]
        own = rng.normal(0.0, math.sqrt(1 - ICC), size=groups.size)
    else:
        groups = None
        shared = 0.0
        own = rng.normal(0.0, 1.0, size=n)
    rows = np.arange(n) if groups is None else groups
    z = shared + own  # N(0, 1) per image, correlated within a participant
    if process in PREVALENCES:
        label = (rng.random(n) < PREVALENCES[process]).astype(np.int64)[rows]
        x = np.where(label == 1, MU1, MU0) + z
        return make_predictions(label, ndtr(x), groups=groups)
    if process == "gaussian-errors":
        age = rng.normal(AGE_MEAN, AGE_SD, size=n)[rows]
        return make_predictions(age, age + MAE_SD * z, task="regression", groups=groups)
    return make_predictions(None, np.exp(LOG_SD * z), task="values", groups=groups)


def check_truths(n_participants: int = 1_000_000, seed: int = ROOT_SEED) -> dict[str, dict[str, float]]:
    """Compare the closed-form truths with one huge clustered sample; raise AssertionError on a mismatch.

    Tolerances are 4 to 5 standard errors of the huge-sample estimate (clustered data, ~2.5 images per
    participant, design effect ~2.2): 0.003 for rates (SE ~0.0007), 0.002 for the AUC (SE ~0.0004), and
    relative 0.004 for MAE (SE ~0.0008), 0.006 for the median (SE ~0.0012) and 0.008 for the log-normal
    mean (SE ~0.0013 relative; its SD is 2.2).
    """
    rng = np.random.default_rng(seed)
    sessions = rng.integers(1, MAX_SESSIONS + 1, size=n_participants)
    groups = np.repeat(np.arange(n_participants), sessions)
    z = rng.normal(0.0, math.sqrt(ICC), n_participants)[groups] + rng.normal(0.0, math.sqrt(1 - ICC), groups.size)
    report = {}
    for process in PREVALENCES:
        label = (rng.random(n_participants) < PREVALENCES[process])[groups]
        x = np.where(label, MU1, MU0) + z
        pred = x > 0
        tp, fn = np.sum(label & pred), np.sum(label & ~pred)
        fp, tn = np.sum(~label & pred), np.sum(~label & ~pred)
        ranks = rankdata(x)
        n1, n0 = label.sum(), (~label).sum()
        empirical = {
            "AUC": (ranks[label].sum() - n1 * (n1 + 1) / 2) / (n1 * n0),
            "BA": (tp / (tp + fn) + tn / (tn + fp)) / 2,
            "accuracy": (tp + tn) / label.size,
            "sensitivity": tp / (tp + fn),
            "specificity": tn / (tn + fp),
            "PPV": tp / (tp + fp),
            "NPV": tn / (tn + fn),
            "F1_score": 2 * tp / (2 * tp + fp + fn),
        }
        truth = truths(process)
        for name, value in empirical.items():
            tolerance = 0.002 if name == "AUC" else 0.003
            assert abs(value - truth[name]) < tolerance, (process, name, value, truth[name])
        report[process] = {name: float(v) for name, v in empirical.items()}
    values = np.exp(LOG_SD * z)
    empirical = {"MAE": float(np.mean(np.abs(MAE_SD * z))), "mean": float(values.mean()),
                 "median": float(np.median(values))}
    for name, value in empirical.items():
        truth = {**truths("gaussian-errors"), **truths("lognormal-values")}[name]
        assert abs(value / truth - 1) < {"MAE": 0.004, "mean": 0.008, "median": 0.006}[name], (name, value, truth)
    report["continuous"] = empirical
    return report


# --------------------------------------------------------------------------------------------------
# One cell


@dataclass(frozen=True)
class Task:
    """A block of replications of one cell (process, n, layout); seeds do not depend on the blocking."""

    process: str
    n: int
    clustered: bool
    start: int
    stop: int
    n_reps: int
    cell_seed: tuple[int, ...]  # spawn key of the cell under the root SeedSequence
    n_resamples: int


def cell_sequences(task: Task) -> list[np.random.SeedSequence]:
    cell = np.random.SeedSequence(ROOT_SEED, spawn_key=task.cell_seed)
    return cell.spawn(task.n_reps)[task.start:task.stop]


def intervals_of_one_replication(predictions, metrics, *, clustered, n_resamples, seed):
    """``{method: (low, high) arrays over metrics}`` and the analytic methods' names.

    The BCa call gives the replicates from which percentile and basic intervals are computed, exactly
    as :func:`clinicadl.stats.bootstrap` computes them.
    """
    results = bootstrap(predictions, metrics=list(metrics), n_resamples=n_resamples, method="bca", rng=seed)
    estimate = np.array([r.estimate for r in results])
    replicates = np.column_stack([r.bootstrap_distribution for r in results])
    out = {
        "percentile": percentile_interval(replicates, CONFIDENCE_LEVEL),
        "basic": basic_interval(replicates, estimate, CONFIDENCE_LEVEL),
        "bca": (np.array([r.confidence_interval.low for r in results]),
                np.array([r.confidence_interval.high for r in results])),
    }
    used = {}
    if not clustered:
        closed = [m for m in metrics if m in ANALYTIC]
        analytic = bootstrap(predictions, metrics=closed, n_resamples=2, method="analytic", rng=seed)
        low, high = out["bca"][0].copy(), out["bca"][1].copy()
        for res in analytic:
            j = metrics.index(res.metric)
            used[res.metric] = res.method
            if res.method not in BOOTSTRAP_METHODS:  # closed form applied; otherwise the library uses BCa
                low[j], high[j] = res.confidence_interval.low, res.confidence_interval.high
        out["analytic"] = (np.where([m in ANALYTIC for m in metrics], low, np.nan),
                           np.where([m in ANALYTIC for m in metrics], high, np.nan))
    return out, used


def run_task(task: Task) -> dict:
    """Counts for one block: per method, arrays over metrics of covered / below / above / undefined, width."""
    _, metrics = PROCESSES[task.process]
    truth = np.array([truths(task.process)[m] for m in metrics])
    shape = (len(METHODS), len(metrics))
    counts = {key: np.zeros(shape) for key in ("covered", "miss_low", "miss_high", "undefined", "width")}
    fallback = np.zeros(len(metrics))
    analytic_names: dict[str, str] = {}
    started = time.perf_counter()
    for sequence in cell_sequences(task):
        data_seq, boot_seq = sequence.spawn(2)
        predictions = simulate(task.process, task.n, task.clustered, np.random.default_rng(data_seq))
        seed = int(boot_seq.generate_state(1, dtype=np.uint64)[0] % (2**63))
        out, used = intervals_of_one_replication(predictions, metrics, clustered=task.clustered,
                                                 n_resamples=task.n_resamples, seed=seed)
        for name, method in used.items():
            if method in BOOTSTRAP_METHODS:
                fallback[metrics.index(name)] += 1
            else:
                analytic_names[name] = method
        for i, method in enumerate(METHODS):
            if method not in out:
                continue
            low, high = out[method]
            defined = np.isfinite(low) & np.isfinite(high)
            counts["undefined"][i] += ~defined
            counts["covered"][i] += defined & (low <= truth) & (truth <= high)
            counts["miss_low"][i] += defined & (truth < low)  # interval entirely above the truth
            counts["miss_high"][i] += defined & (truth > high)
            counts["width"][i] += np.where(defined, high - low, 0.0)
    return {"task": task, "counts": counts, "fallback": fallback, "analytic_names": analytic_names,
            "seconds": time.perf_counter() - started}


# --------------------------------------------------------------------------------------------------
# The whole study


def cells(sizes=SIZES) -> list[tuple[str, int, bool]]:
    main = [(p, n, c) for p in ("binormal", "gaussian-errors", "lognormal-values") for n in sizes
            for c in (False, True)]
    extra = [("binormal-prevalence-0.3", n, c) for n in SENSITIVITY_SIZES if n in sizes for c in (False, True)]
    return main + extra


def make_tasks(n_reps: int, n_resamples: int, block: int, sizes=SIZES) -> list[Task]:
    tasks = []
    for index, (process, n, clustered) in enumerate(cells(sizes)):
        for start in range(0, n_reps, block):
            tasks.append(Task(process, n, clustered, start, min(start + block, n_reps), n_reps, (index,),
                              n_resamples))
    # largest cells first, so that the two workers finish together
    return sorted(tasks, key=lambda t: -t.n * (1 + 1.5 * t.clustered))


def summarise(results: list[dict], n_reps: int) -> dict[tuple, dict]:
    """Merge the blocks of each cell into per-metric records."""
    merged: dict[tuple, dict] = {}
    for res in results:
        t = res["task"]
        key = (t.process, t.n, t.clustered)
        if key not in merged:
            merged[key] = {"counts": {k: np.zeros_like(v) for k, v in res["counts"].items()},
                           "fallback": np.zeros_like(res["fallback"]), "analytic_names": {}, "seconds": 0.0}
        for k, v in res["counts"].items():
            merged[key]["counts"][k] += v
        merged[key]["fallback"] += res["fallback"]
        merged[key]["analytic_names"].update(res["analytic_names"])
        merged[key]["seconds"] += res["seconds"]
    records = {}
    for (process, n, clustered), m in merged.items():
        _, metrics = PROCESSES[process]
        truth = truths(process)
        for j, metric in enumerate(metrics):
            record = {"metric": metric, "n": n, "clustered": clustered, "process": process, "truth": truth[metric],
                      "n_reps": n_reps, "coverage": {}, "mc_se": {}, "width": {}, "miss_low": {},
                      "miss_high": {}, "undefined": {}}
            for i, method in enumerate(METHODS):
                if method == "analytic" and (clustered or metric not in ANALYTIC):
                    continue
                c = m["counts"]
                cov = c["covered"][i, j] / n_reps
                defined = n_reps - c["undefined"][i, j]
                record["coverage"][method] = round(float(cov), 4)
                record["mc_se"][method] = round(mc_se(cov, n_reps), 4)
                record["width"][method] = round(float(c["width"][i, j] / max(defined, 1)), 5)
                record["miss_low"][method] = int(c["miss_low"][i, j])
                record["miss_high"][method] = int(c["miss_high"][i, j])
                record["undefined"][method] = int(c["undefined"][i, j])
            if "analytic" in record["coverage"]:
                record["analytic_method"] = m["analytic_names"].get(metric, "")
                record["analytic_fell_back_to_bca"] = int(m["fallback"][j])
            record["cpu_seconds_cell"] = round(m["seconds"], 1)
            records[(process, n, clustered, metric)] = record
    return records


def best_method(coverage: dict[str, float], nominal: float) -> str:
    """Same rule as :func:`clinicadl.stats.method_choice.choose_method`: closest, ties to higher coverage."""
    return min(coverage, key=lambda m: (abs(coverage[m] - nominal), -coverage[m]))


def build_table(records: dict, settings: dict) -> dict:
    main = [r for k, r in sorted(records.items(), key=lambda kv: _order(kv[0])) if k[0] != "binormal-prevalence-0.3"]
    extra = [r for k, r in sorted(records.items(), key=lambda kv: _order(kv[0])) if k[0] == "binormal-prevalence-0.3"]
    # the fallback serves metrics and layouts outside the study: only methods that apply to every cell compete
    common = [m for m in METHODS if all(m in r["coverage"] for r in main)]
    error = {m: float(np.mean([abs(r["coverage"][m] - CONFIDENCE_LEVEL) for r in main])) for m in common}
    fallback = min(error, key=error.get)
    for r in main + extra:
        r["chosen"] = best_method(r["coverage"], CONFIDENCE_LEVEL)
        r["chosen_without_analytic"] = best_method(
            {m: v for m, v in r["coverage"].items() if m != "analytic"}, CONFIDENCE_LEVEL)
    settings = {**settings, "fallback_mean_abs_error": {m: round(v, 4) for m, v in error.items()}}
    return {"settings": settings, "fallback": fallback, "cells": main, "sensitivity_cells": extra}


def _order(key):
    process, n, clustered, metric = key
    _, metrics = PROCESSES[process]
    return (list(PROCESSES).index(process), metrics.index(metric), clustered, n)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(text)
    os.replace(handle.name, path)


def check_shortcut(seed: int = 7) -> None:
    """The percentile and basic intervals computed here equal those of ``bootstrap(method=...)``."""
    for process in ("binormal", "lognormal-values"):
        _, metrics = PROCESSES[process]
        p = simulate(process, 40, True, np.random.default_rng(seed))
        out, _ = intervals_of_one_replication(p, metrics, clustered=True, n_resamples=500, seed=seed)
        for method in ("percentile", "basic"):
            direct = bootstrap(p, metrics=list(metrics), n_resamples=500, method=method, rng=seed)
            assert np.allclose([r.confidence_interval.low for r in direct], out[method][0], equal_nan=True)
            assert np.allclose([r.confidence_interval.high for r in direct], out[method][1], equal_nan=True)


# --------------------------------------------------------------------------------------------------
# Report


def render_docs(table: dict) -> str:
    """``docs/coverage.md`` from the study's table: design, coverage per metric, widths, choices, implications."""
    lines = [*_design_section(table), *_coverage_section(table), *_width_and_sensitivity_sections(table),
             *_choice_sections(table)]
    return "\n".join(lines)


def _design_section(table: dict) -> list[str]:
    """How the study was made, its data-generating processes and the check of their truths."""
    s = table["settings"]
    lines = [
        "# Coverage of the confidence intervals: the evidence behind `method=\"auto\"`",
        "",
        "`clinicadl.stats.bootstrap(..., method=\"auto\")` takes, for each metric, the interval method whose",
        "coverage was closest to the nominal 95 % in the simulation study below, for the nearest number of",
        "participants and the same layout (one image per participant, or several). The study is",
        "`scripts/coverage_study.py`; its output is `clinicadl/stats/coverage_table.json`, which",
        "`clinicadl.stats.method_choice.choose_method` reads. Nothing is tuned by hand.",
        "",
        "## How the study was made",
        "",
        f"- Root seed `{s['root_seed']}`; each cell (process, n, layout) gets its own `numpy.random.SeedSequence`"
        " (spawn key = cell index) and each replication a child of it (one for the data, one for the resamples):"
        " every figure is reproducible, and independent of how replications are split between processes.",
        f"- {s['n_reps']} replications per cell; {s['n_resamples']} bootstrap resamples per interval; nominal level"
        f" {s['confidence_level']}. Monte-Carlo standard error of a coverage near 0.95:"
        f" sqrt(0.95 x 0.05 / {s['n_reps']}) = {math.sqrt(0.95 * 0.05 / s['n_reps']):.4f}.",
        "- Resampling unit: the participant (cluster bootstrap, the library default), unstratified.",
        "- One `bootstrap(..., method=\"bca\")` call per replication for all the metrics of a data set (shared"
        " resamples); the percentile and basic intervals are computed from the same replicates with the library's"
        " `clinicadl.stats.intervals` functions (the study asserts that they equal `bootstrap(method=...)`)."
        " On data with one image per participant a second call, `method=\"analytic\"`, gives the closed forms"
        " (Wilson for proportions, DeLong for the AUC, Student t for the mean and MAE, order statistics for the"
        " median); when a closed form does not apply to a data set the library uses BCa, and so does the study"
        " (counted in the JSON as `analytic_fell_back_to_bca`).",
        "- An interval counts as covering when `low <= truth <= high`; an undefined (NaN) interval counts as not"
        " covering (none occurred unless stated in the JSON, field `undefined`).",
        f"- Run on {s['machine']} with {s['processes']} processes: {s['wall_seconds'] / 60:.1f} min wall time,"
        f" {_cpu_minutes(table):.1f} worker-minutes in the replications"
        " (summed wall time of the blocks; the machine was shared with other jobs, so this overstates the CPU time)."
        " The number of replications was set from a timing of single cells (2-20 ms per replication and data set"
        " on an idle core): 2000 rather than the 1000 that give an MC SE of 0.007 still fit in the 15-minute budget"
        " and separate methods whose coverages differ by 0.015.",
        "",
        "## Data-generating processes (known truth)",
        "",
        f"- **Binormal classification.** Each participant has a class y (class 1 with probability {PREVALENCE});"
        f" each image has a latent value x = mu_y + u + e with mu_0 = {MU0}, mu_1 = {MU1}, the score is"
        " Phi(x) (probability of class 1) and the predicted class is 1 iff x > 0. Truths: sensitivity = Phi(mu_1),"
        " specificity = Phi(-mu_0), accuracy = pi sens + (1 - pi) spec, BA = (sens + spec) / 2, PPV and NPV by"
        " Bayes, F1 = 2 TP / (2 TP + FP + FN) from the population rates, AUC = Phi((mu_1 - mu_0) / sqrt 2).",
        "- **Regression (MAE).** True ages N(70, 7^2); prediction = age + e with e ~ N(0, 5^2): MAE = 5 sqrt(2/pi).",
        f"- **Per-image values (mean, median).** Log-normal: log v ~ N(0, {LOG_SD}^2) (skewness 6.2): mean ="
        " exp(1/2), median = 1.",
        f"- **Clustered layout.** Each participant has 1 to {MAX_SESSIONS} sessions (uniform, independent of"
        f" everything); the standard-normal noise of an image is u_i + e_ij with Var(u) = {ICC},"
        f" Var(e) = {1 - ICC:.1f} (intra-class correlation {ICC}), and the class is that of the participant."
        " The total variance is 1 in both layouts, so the image-level truths are the same; the sampling"
        " unit is the participant (n counts participants, about 2.5 n images).",
        "- The truths were checked against one sample of 10^6 clustered participants (the script asserts"
        " agreement within 4 to 5 standard errors of that sample):",
        "",
        "| metric | closed form | 10^6 participants |",
        "|---|---|---|",
    ]
    huge = s["truth_check"]
    truth = truths("binormal")
    for name in (*CLASSIFICATION, "NPV"):
        lines.append(f"| {name} | {truth[name]:.4f} | {huge['binormal'][name]:.4f} |")
    continuous = {**truths("gaussian-errors"), **truths("lognormal-values")}
    for name, value in continuous.items():
        lines.append(f"| {name} | {value:.4f} | {huge['continuous'][name]:.4f} |")
    return lines


def _coverage_section(table: dict) -> list[str]:
    """Coverage of every method per metric, n and layout, the chosen one in bold."""
    lines = [
        "",
        "## Coverage per metric",
        "",
        "Coverage of the 95 % intervals (Monte-Carlo SE in brackets); **bold**: the method `auto` takes.",
        "\"miss lo/hi\": replications whose interval lies entirely above / below the truth, for the chosen method.",
        "Width: average interval width of the chosen method (all widths are in the JSON).",
        "",
    ]
    for metric in (*CLASSIFICATION, "MAE", "mean", "median"):
        rows = [c for c in table["cells"] if c["metric"] == metric]
        lines += [f"### {metric}", "", f"Truth {rows[0]['truth']:.4f}.", ""]
        header = "| n | clustered | " + " | ".join(METHODS) + " | chosen | width | miss lo/hi |"
        lines += [header, "|" + "---|" * (len(METHODS) + 5)]
        for c in sorted(rows, key=lambda c: (c["clustered"], c["n"])):
            cols = []
            for method in METHODS:
                if method not in c["coverage"]:
                    cols.append("-")
                    continue
                text = f"{c['coverage'][method]:.3f} ({c['mc_se'][method]:.3f})"
                cols.append(f"**{text}**" if method == c["chosen"] else text)
            ch = c["chosen"]
            lines.append(f"| {c['n']} | {'yes' if c['clustered'] else 'no'} | " + " | ".join(cols)
                         + f" | {ch} | {c['width'][ch]:.4f} | {c['miss_low'][ch]}/{c['miss_high'][ch]} |")
        lines.append("")
    return lines


def _width_and_sensitivity_sections(table: dict) -> list[str]:
    """Average width per method, and the coverages at prevalence 0.3."""
    lines = ["### Average width per method", "",
              "Average interval width over the replications, per metric and n (unclustered | clustered).", "",
              "| metric | n | " + " | ".join(METHODS) + " |", "|" + "---|" * (len(METHODS) + 2)]
    for metric in (*CLASSIFICATION, "MAE", "mean", "median"):
        for n in sorted({c["n"] for c in table["cells"]}):
            pair = [c for c in table["cells"] if c["metric"] == metric and c["n"] == n]
            pair.sort(key=lambda c: c["clustered"])
            cols = [" / ".join(f"{c['width'][m]:.4f}" if m in c["width"] else "-" for c in pair) for m in METHODS]
            lines.append(f"| {metric} | {n} | " + " | ".join(cols) + " |")
    lines += ["", "## Sensitivity analysis: prevalence 0.3", "",
              "Same binormal model with class 1 in 30 % of participants (not used by `auto`; it checks that the"
              " choice is not an artefact of balanced classes).", "",
              "| metric | n | clustered | " + " | ".join(METHODS) + " | best |", "|" + "---|" * (len(METHODS) + 4)]
    for c in table.get("sensitivity_cells", []):
        cols = [f"{c['coverage'][m]:.3f}" if m in c["coverage"] else "-" for m in METHODS]
        lines.append(f"| {c['metric']} | {c['n']} | {'yes' if c['clustered'] else 'no'} | " + " | ".join(cols)
                     + f" | {c['chosen']} |")
    return lines


def _choice_sections(table: dict) -> list[str]:
    """The method chosen per cell, the fallback, what it implies and the near-bound part of the study."""
    err = table["settings"]["fallback_mean_abs_error"]
    lines = ["", "## Method chosen per cell", "",
             "| metric | " + " | ".join(f"n={n} {'cl' if c else 'ind'}" for c in (False, True)
                                      for n in sorted({c['n'] for c in table['cells']})) + " |",
             "|---|" + "---|" * (2 * len({c['n'] for c in table['cells']}))]
    for metric in (*CLASSIFICATION, "MAE", "mean", "median"):
        rows = sorted([c for c in table["cells"] if c["metric"] == metric], key=lambda c: (c["clustered"], c["n"]))
        lines.append(f"| {metric} | " + " | ".join(c["chosen"] for c in rows) + " |")
    lines += ["", f"Fallback (metrics and layouts outside the study): **{table['fallback']}**, the method"
              " with the smallest mean |coverage - 0.95| over all cells among the methods that apply to every cell"
              " (" + ", ".join(f"{m} {v:.4f}" for m, v in err.items()) + ").", ""]
    lines += ["## What it implies", "", *summary_text(table), ""]
    if "near_bound" in table:
        import coverage_near_bound as part2

        lines += [*part2.render(table["near_bound"], table["settings"]["confidence_level"], table), ""]
    return lines


def _cpu_minutes(table: dict) -> float:
    seen = {(c["process"], c["n"], c["clustered"]): c["cpu_seconds_cell"]
            for c in table["cells"] + table.get("sensitivity_cells", [])}
    return sum(seen.values()) / 60


def summary_text(table: dict) -> list[str]:
    """Reading of the table: average coverage and under-coverage per method and n, and how firm each choice is."""
    nominal = table["settings"]["confidence_level"]
    cells = table["cells"]
    sizes = sorted({c["n"] for c in cells})
    out = ["Average coverage over the 10 metrics and both layouts (analytic: independent rows only), and in"
           " brackets the number of cells that under-cover by more than 3 MC SE:", "",
           "| method | " + " | ".join(f"n={n}" for n in sizes) + " | all |", "|" + "---|" * (len(sizes) + 2)]
    for method in METHODS:
        row = []
        for group in [[c for c in cells if c["n"] == n] for n in sizes] + [cells]:
            have = [c for c in group if method in c["coverage"]]
            bad = sum(c["coverage"][method] < nominal - 3 * c["mc_se"][method] for c in have)
            row.append(f"{np.mean([c['coverage'][method] for c in have]):.3f} ({bad}/{len(have)})")
        out.append(f"| {method} | " + " | ".join(row) + " |")
    firm = []
    for c in cells:
        errors = sorted((abs(v - nominal), m) for m, v in c["coverage"].items())
        # difference of two |coverage - nominal| estimated from the same replications: SE at most sqrt(2) * SE
        margin = 2 * math.sqrt(2) * max(c["mc_se"][errors[0][1]], c["mc_se"][errors[1][1]])
        firm.append((c, errors[1][0] - errors[0][0] > margin))
    by_n = {n: sum(f for c, f in firm if c["n"] == n) for n in sizes}
    total = {n: sum(c["n"] == n for c in cells) for n in sizes}
    worst_mean = next(c for c in cells if c["metric"] == "mean" and c["n"] == max(sizes) and not c["clustered"])
    near = sum(abs(c["coverage"][c["chosen"]] - nominal) <= 3 * c["mc_se"][c["chosen"]] for c in cells)
    out += [
        "",
        "- **BCa** is the best method on average and the fallback; it rarely under-covers, and at n = 30 it tends to"
        " over-cover bounded metrics (wider intervals, see the width table). **Basic** intervals are the worst:"
        " they reflect the skewness of the bootstrap distribution the wrong way, which matters for bounded"
        " metrics near 1 (AUC, sensitivity) and for the median; they are never a good default.",
        "- At small n (30-50 participants) the **percentile** interval and the closed forms of the AUC (DeLong) and"
        " of a skewed mean (Student t) under-cover: a \"95 %\" interval is then a 88-93 % one. For proportions"
        " on independent rows, the **Wilson** interval (analytic) is the closest to nominal and the narrowest.",
        "- With clusters (1-4 sessions per participant, ICC 0.6) the participant bootstrap keeps its coverage:"
        " the clustered rows of the tables are as close to 0.95 as the independent ones (BCa wins most of them)."
        " Resampling images instead would under-cover badly (tested in `tests/stats/test_coverage.py`).",
        "- The mean of strongly skewed per-image values (log-normal, skewness 6) under-covers with every method,"
        f" even at n = {max(sizes)} with one image per participant (best {max(worst_mean['coverage'].values()):.3f};"
        " averaging correlated sessions within participants makes the clustered case less skewed): report the"
        " median (all methods but basic are close to nominal) or summarise a transformed value."
        ,
        "- How firm each choice is: the chosen method beats the runner-up by more than 2 MC SE of a difference in"
        " " + ", ".join(f"{by_n[n]}/{total[n]} cells at n={n}" for n in sizes) + ". Elsewhere the two best"
        " methods are within Monte-Carlo noise of each other (at n >= 200 all methods but basic agree within"
        " about 0.01) and it matters little which is taken. What the study establishes firmly is what to avoid"
        " (basic everywhere, percentile and DeLong at small n). The chosen method covers within 3 MC SE of 0.95"
        f" in {near}/{len(cells)} cells; the exceptions are the skewed mean and a few n = 30 cells.",
        "- The prevalence-0.3 sensitivity analysis gives the same picture (BCa or Wilson at small n, basic worst).",
    ]
    return out


def near_bound_part(args) -> None:
    """Part 2 (scripts/coverage_near_bound.py): run, derive ``auto``'s near-bound rule, check the library, write."""
    import coverage_near_bound as part2

    from clinicadl.stats import method_choice

    table = json.loads(args.table.read_text())
    sizes = tuple(args.sizes) if args.sizes != list(SIZES) else part2.SIZES
    section, results = part2.run_study(n_reps=args.n_reps, n_resamples=args.n_resamples, processes=args.processes,
                                       root_seed=ROOT_SEED, confidence_level=CONFIDENCE_LEVEL, sizes=sizes,
                                       raw=args.raw)
    table["near_bound"] = section
    write_atomic(args.table, json.dumps(table, indent=1) + "\n")
    # the library with the new table (whatever file it was written to) does what the study emulated
    method_choice.coverage_table = lambda: table
    checked = part2.check_library(results, section, n_resamples=args.n_resamples, root_seed=ROOT_SEED,
                                  confidence_level=CONFIDENCE_LEVEL)
    table["near_bound"]["settings"]["library_checked_pairs"] = checked
    write_atomic(args.table, json.dumps(table, indent=1) + "\n")
    print(f"bootstrap(method='auto') equals the emulated auto on {checked} (data set, metric) pairs")
    write_atomic(args.docs, render_docs(table))
    print(f"near-bound rule: max_n {section['max_n']}, min_distance {section['min_distance']}, {section['methods']}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-reps", type=int, default=N_REPS)
    parser.add_argument("--n-resamples", type=int, default=N_RESAMPLES)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--block", type=int, default=100, help="replications per task sent to a worker")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--docs-only", action="store_true", help="regenerate the report from the table")
    parser.add_argument("--raw", type=Path, default=None,
                        help="near-bound part: keep the per-replication bounds in this file, or read them from it")
    parser.add_argument("--part", choices=("bootstrap", "near-bound"), default="bootstrap",
                        help="bootstrap: part 1 (n >= 30, moderate values); near-bound: part 2 (small n, values"
                             " near the bound; keeps part 1 of the table and adds its near_bound section)")
    args = parser.parse_args(argv)
    if args.docs_only:
        write_atomic(args.docs, render_docs(json.loads(args.table.read_text())))
        return
    if args.part == "near-bound":
        near_bound_part(args)
        return
    started = time.perf_counter()
    truth_check = check_truths()
    check_shortcut()
    tasks = make_tasks(args.n_reps, args.n_resamples, args.block, tuple(args.sizes))
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        results = []
        for done, res in enumerate(pool.imap_unordered(run_task, tasks), 1):
            results.append(res)
            t = res["task"]
            print(f"[{time.perf_counter() - started:7.1f}s] {done}/{len(tasks)} {t.process} n={t.n} "
                  f"clustered={t.clustered} reps {t.start}-{t.stop} ({res['seconds']:.1f}s)", flush=True)
    wall = time.perf_counter() - started
    settings = {
        "confidence_level": CONFIDENCE_LEVEL,
        "root_seed": ROOT_SEED,
        "n_reps": args.n_reps,
        "n_resamples": args.n_resamples,
        "unit": "participant",
        "stratify": False,
        "processes": args.processes,
        "wall_seconds": round(wall, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        "data": {
            "binormal": {"mu0": MU0, "mu1": MU1, "prevalence": PREVALENCE, "score": "Phi(x)",
                         "predicted_class_1": "x > 0"},
            "binormal-prevalence-0.3": {"mu0": MU0, "mu1": MU1, "prevalence": 0.3, "sizes": list(SENSITIVITY_SIZES)},
            "gaussian-errors": {"age_mean": AGE_MEAN, "age_sd": AGE_SD, "error_sd": MAE_SD},
            "lognormal-values": {"log_sd": LOG_SD},
            "clustered": {"sessions": f"uniform 1..{MAX_SESSIONS}", "icc": ICC, "total_variance": 1.0},
        },
        "truth_check": truth_check,
    }
    table = build_table(summarise(results, args.n_reps), settings)
    if args.table.exists() and "near_bound" in json.loads(args.table.read_text()):
        table["near_bound"] = json.loads(args.table.read_text())["near_bound"]
    write_atomic(args.table, json.dumps(table, indent=1) + "\n")
    write_atomic(args.docs, render_docs(table))
    print(f"done in {wall / 60:.1f} min; fallback {table['fallback']}; wrote {args.table} and {args.docs}")


if __name__ == "__main__":
    main()
