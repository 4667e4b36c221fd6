"""Part 2 of the coverage study: small n and true values near the bound (the regime of neuroimaging papers).

Cells: n in {10, 20, 30, 50, 100, 200, 500} participants; binormal scores whose sensitivity and
specificity both equal ``level`` in {0.80, 0.90, 0.95, 0.99} (so accuracy = BA = level and AUC = 0.883,
0.965, 0.990, 0.9995); prevalence 0.5 and 0.3; one image per participant, or 1-4 sessions per participant
with ICC 0.6 (:class:`clinicadl.stats.simulation.BinormalScores`). Metrics: accuracy, BA, sensitivity,
specificity, PPV, NPV, AUC. Every candidate interval of the library is computed on the same data
sets: the raw bootstrap intervals (percentile, basic, BCa; participant resampling), the
``method="analytic"`` ones (Wilson, DeLong; independent rows only) and every near-bound closed form
(Clopper-Pearson, Wilson, Jeffreys of the effective counts; MOVER of the class-wise intervals;
Newcombe's score interval and the logit DeLong interval for the AUC).

From these the script derives the ``near_bound`` rule of ``method="auto"``
(:func:`clinicadl.stats.method_choice.near_bound_method`):

1. per metric, the closed form: among the candidates that cover at least ``0.95 - 3 MC SE`` in every
   cell (conditional on an interval being printed), the one with the smallest average width; for a
   proportion only the Clopper-Pearson and Wilson intervals compete (``auto`` is never shorter than
   Wilson); if none qualifies, the one with the highest minimum coverage;
2. ``max_n`` and ``min_distance``: the smallest values of a short grid (``max_n`` at least 30, so that at
   n <= 30 ``auto`` is never shorter than Wilson for a proportion) for which ``auto`` as a whole
   (the closed form near the bound, the bootstrap table's choice elsewhere, degenerate bootstrap
   intervals replaced as the library does) covers at least ``0.95 - 3 MC SE`` in every cell.

Then ``auto`` itself is evaluated in every cell, and a sample of data sets is passed through
``clinicadl.stats.bootstrap(method="auto")`` with the new table to check that the emulation here
is what the library does.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from clinicadl.stats import make_predictions
from clinicadl.stats.analytic import analytic_interval, closed_form_interval
from clinicadl.stats.bootstrap import bootstrap_distribution, jackknife_distribution, resampling_plan
from clinicadl.stats.intervals import bootstrap_interval
from clinicadl.stats.method_choice import choose_method
from clinicadl.stats.metrics import METRICS, point_estimates, resolve_metrics
from clinicadl.stats.simulation import BinormalScores, binormal_truth, mc_se

SIZES = (10, 20, 30, 50, 100, 200, 500)
LEVELS = (0.80, 0.90, 0.95, 0.99)
PREVALENCES = (0.5, 0.3)
METRICS_STUDIED = ("accuracy", "BA", "sensitivity", "specificity", "PPV", "NPV", "AUC")
BOOTSTRAP = ("percentile", "basic", "bca")
PROPORTIONS = ("accuracy", "sensitivity", "specificity", "PPV", "NPV")
MAX_N_GRID = (30, 50, 100)  # at n <= 30 the closed form always: auto is never shorter than Wilson there
DISTANCE_GRID = (0, 2, 5, 10, 20, 50, 100, 200)
ICC = 0.6
MAX_SESSIONS = 4


def candidates(metric: str) -> tuple[str, ...]:
    """Every interval method studied for ``metric``: bootstrap, legacy analytic, near-bound closed forms."""
    return (*BOOTSTRAP, "analytic", *METRICS[metric].closed_forms)


def scenario(n: int, level: float, prevalence: float, clustered: bool) -> BinormalScores:
    """Binormal scores with sensitivity = specificity = ``level`` (threshold 0 halfway between the means)."""
    half = float(ndtri(level))
    return BinormalScores(n=n, mu0=-half, mu1=half, prevalence=prevalence, clustered=clustered, icc=ICC,
                          max_sessions=MAX_SESSIONS)


def truth_of(level: float, prevalence: float) -> dict[str, float]:
    half = float(ndtri(level))
    return binormal_truth(-half, half, prevalence)


@dataclass(frozen=True)
class Cell:
    n: int
    level: float
    prevalence: float
    clustered: bool
    index: int


def all_cells(sizes=SIZES) -> list[Cell]:
    out = []
    for n in sizes:
        for level in LEVELS:
            for prevalence in PREVALENCES:
                for clustered in (False, True):
                    out.append(Cell(n, level, prevalence, clustered, len(out)))
    return out


def data_sets(cell: Cell, n_reps: int, root_seed: int):
    """Yield ``(predictions, bootstrap seed)`` for each replication of ``cell`` (seeded per cell)."""
    sequence = np.random.SeedSequence(root_seed, spawn_key=(1, cell.index))
    data_seq, boot_seq = sequence.spawn(2)
    batch = scenario(cell.n, cell.level, cell.prevalence, cell.clustered).draw(np.random.default_rng(data_seq),
                                                                              n_reps)
    seeds = np.random.default_rng(boot_seq).integers(0, 2**63 - 1, size=n_reps)
    for i in range(n_reps):  # one data set at a time; each bootstrap is vectorised over its resamples
        mask = batch["mask"][i]
        groups = np.broadcast_to(np.arange(mask.shape[0])[:, None], mask.shape)[mask]
        y, x = batch["y"][i][mask], batch["x"][i][mask]
        yield make_predictions(y, ndtr(x), groups=groups if cell.clustered else None), int(seeds[i])


def intervals(predictions, n_resamples: int, seed: int, confidence_level: float):
    """Estimates (metrics,) and bounds {method: (low, high)} of every candidate on one data set."""
    requests = resolve_metrics(list(METRICS_STUDIED), predictions)
    plan = resampling_plan(predictions)
    estimate = point_estimates(predictions, requests)
    replicates = bootstrap_distribution(predictions, requests, plan, n_resamples, np.random.default_rng(seed))
    jackknife = jackknife_distribution(predictions, requests, plan)
    bounds = {m: bootstrap_interval(m, replicates, estimate, confidence_level, jackknife) for m in BOOTSTRAP}
    out = {}
    independent = not predictions.has_clusters
    for j, request in enumerate(requests):
        row = {m: (bounds[m][0][j], bounds[m][1][j]) for m in BOOTSTRAP}
        row["analytic"] = (np.nan, np.nan)
        if independent and request.metric.analytic is not None:
            closed = analytic_interval(predictions, request, confidence_level)
            if closed is not None:
                row["analytic"] = closed[:2]
        for form in request.metric.closed_forms:
            res = closed_form_interval(predictions, request, confidence_level, form)
            row[form] = (np.nan, np.nan) if res is None else (res.low, res.high)
        out[request.name] = row
    return estimate, out


def run_cell(args) -> dict:
    """Bounds of every candidate for every replication of one cell: arrays (reps,) per metric and method."""
    cell, n_reps, n_resamples, root_seed, confidence_level = args
    started = time.perf_counter()
    est = np.full((n_reps, len(METRICS_STUDIED)), np.nan)
    low = {m: {c: np.full(n_reps, np.nan) for c in candidates(m)} for m in METRICS_STUDIED}
    high = {m: {c: np.full(n_reps, np.nan) for c in candidates(m)} for m in METRICS_STUDIED}
    n_units = np.zeros(n_reps, dtype=int)
    for i, (predictions, seed) in enumerate(data_sets(cell, n_reps, root_seed)):
        if predictions.n_classes < 2 or np.unique(predictions.y_true).size < 2:
            n_units[i] = predictions.n_units
            continue  # one class only: no BA, sensitivity/specificity or AUC; counted as "no interval"
        estimate, bounds = intervals(predictions, n_resamples, seed, confidence_level)
        est[i] = estimate
        n_units[i] = predictions.n_units
        for metric, row in bounds.items():
            for method, (lo, hi) in row.items():
                low[metric][method][i], high[metric][method][i] = lo, hi
    return {"cell": cell, "estimate": est, "low": low, "high": high, "n_units": n_units,
            "seconds": time.perf_counter() - started}


# --------------------------------------------------------------------------------------------------
# Coverage, the rule, and auto


def coverage(low, high, estimate, truth) -> dict:
    """Coverage among the data sets where an interval is printed (finite estimate and bounds)."""
    printed = np.isfinite(low) & np.isfinite(high) & np.isfinite(estimate)
    k = int(printed.sum())
    covered = printed & (low <= truth) & (truth <= high)
    rate = float(covered.sum() / k) if k else float("nan")
    return {"coverage": rate, "mc_se": mc_se(rate, k) if k else float("nan"), "printed": k,
            "width": float(np.mean((high - low)[printed])) if k else float("nan"),
            "zero_width": int(np.sum(printed & (high - low <= 1e-12))),
            "miss_low": int(np.sum(printed & (truth < low))), "miss_high": int(np.sum(printed & (truth > high)))}


def passes(record: dict, nominal: float) -> bool:
    """Coverage >= ``nominal - 3 MC SE``, the MC SE at the nominal level: ``sqrt(0.95 x 0.05 / printed)``."""
    k = record["printed"]
    return k == 0 or record["coverage"] >= nominal - 3 * math.sqrt(nominal * (1 - nominal) / k)


def auto_bounds(result: dict, metric: str, rule: dict, table_choice) -> tuple[np.ndarray, np.ndarray, list]:
    """Bounds of ``auto`` per replication, as the library computes them, and the method used in each."""
    cell = result["cell"]
    j = METRICS_STUDIED.index(metric)
    estimate = result["estimate"][:, j]
    lows, highs = result["low"][metric], result["high"][metric]
    n_reps = estimate.size
    low, high, used = np.full(n_reps, np.nan), np.full(n_reps, np.nan), []
    form = rule["methods"][metric]
    for i in range(n_reps):
        e = estimate[i]
        if not np.isfinite(e):
            used.append("none")
            continue
        n = int(result["n_units"][i])
        near = n <= rule["max_n"] or n * min(e, 1 - e) < rule["min_distance"]
        method = form if near else table_choice(metric, n, cell.clustered)
        lo, hi = lows[method][i], highs[method][i]
        if method == "analytic" and not (np.isfinite(lo) and np.isfinite(hi)):
            method = "bca"
            lo, hi = lows[method][i], highs[method][i]
        if np.isfinite(lo) and np.isfinite(hi) and hi - lo <= 1e-12:  # degenerate: the library falls back
            method = form
            lo, hi = lows[method][i], highs[method][i]
        if not (np.isfinite(lo) and np.isfinite(hi)) and method != form:
            method = form
            lo, hi = lows[method][i], highs[method][i]
        low[i], high[i] = lo, hi
        used.append(method)
    return low, high, used


def bootstrap_table_choice(metric: str, n: int, clustered: bool) -> str:
    """The bootstrap table's choice away from the bound (part 1 of the study), as the library reads it."""
    analytic = (not clustered) and METRICS[metric].analytic is not None
    return choose_method(metric, n, clustered=clustered, analytic_available=analytic)


def derive_rule(results: list[dict], nominal: float) -> dict:
    """The near-bound closed form per metric, then the smallest thresholds that make ``auto`` pass everywhere."""
    methods, evidence = {}, {}
    for metric in METRICS_STUDIED:
        forms = METRICS[metric].closed_forms
        if metric in PROPORTIONS:
            forms = tuple(f for f in forms if f in ("clopper-pearson", "wilson"))
        scores = {}
        for form in forms:
            records = [coverage(r["low"][metric][form], r["high"][metric][form],
                                r["estimate"][:, METRICS_STUDIED.index(metric)],
                                truth_of(r["cell"].level, r["cell"].prevalence)[metric]) for r in results]
            ok = all(passes(rec, nominal) for rec in records)
            worst = min(rec["coverage"] for rec in records if rec["printed"])
            width = float(np.nanmean([rec["width"] for rec in records]))
            scores[form] = (ok, worst, width)
        qualified = [f for f, (ok, _, _) in scores.items() if ok]
        methods[metric] = (min(qualified, key=lambda f: scores[f][2]) if qualified
                           else max(scores, key=lambda f: scores[f][1]))
        evidence[metric] = {f: {"passes_everywhere": ok, "worst_coverage": round(w, 4), "mean_width": round(wd, 5)}
                            for f, (ok, w, wd) in scores.items()}
    chosen = None
    for max_n in MAX_N_GRID:
        for distance in DISTANCE_GRID:
            rule = {"max_n": max_n, "min_distance": distance, "methods": methods}
            if all(passes(auto_record(r, m, rule), nominal) for r in results for m in METRICS_STUDIED):
                chosen = rule
                break
        if chosen:
            break
    if chosen is None:  # nothing passes everywhere: the closed forms always (the most conservative rule)
        chosen = {"max_n": max(SIZES), "min_distance": math.inf, "methods": methods}
    chosen["evidence"] = evidence
    return chosen


def auto_record(result: dict, metric: str, rule: dict) -> dict:
    low, high, _ = auto_bounds(result, metric, rule, bootstrap_table_choice)
    truth = truth_of(result["cell"].level, result["cell"].prevalence)[metric]
    return coverage(low, high, result["estimate"][:, METRICS_STUDIED.index(metric)], truth)


def cell_records(results: list[dict], rule: dict, nominal: float) -> list[dict]:
    """One record per (cell, metric): coverage of every candidate and of ``auto``, widths, methods used."""
    out = []
    for r in results:
        c = r["cell"]
        truth = truth_of(c.level, c.prevalence)
        for metric in METRICS_STUDIED:
            j = METRICS_STUDIED.index(metric)
            record = {"metric": metric, "n": c.n, "level": c.level, "prevalence": c.prevalence,
                      "clustered": c.clustered, "truth": round(truth[metric], 6), "n_reps": int(r["estimate"].shape[0]),
                      "methods": {}}
            for method in candidates(metric):
                rec = coverage(r["low"][metric][method], r["high"][metric][method], r["estimate"][:, j], truth[metric])
                if rec["printed"]:
                    record["methods"][method] = _rounded(rec)
            low, high, used = auto_bounds(r, metric, rule, bootstrap_table_choice)
            record["auto"] = _rounded(coverage(low, high, r["estimate"][:, j], truth[metric]))
            record["auto"]["passes"] = passes(record["auto"], nominal)
            names, counts = np.unique(used, return_counts=True)
            record["auto_used"] = {str(k): int(v) for k, v in zip(names, counts)}
            wilson = "wilson" if metric in PROPORTIONS else None
            if wilson and c.n <= 30:
                lw, hw = r["low"][metric][wilson], r["high"][metric][wilson]
                both = np.isfinite(low) & np.isfinite(lw)
                record["auto_shorter_than_wilson"] = int(np.sum(both & ((high - low) < (hw - lw) - 1e-9)))
            record["cpu_seconds_cell"] = round(r["seconds"], 1)
            out.append(record)
    return out


def _rounded(rec: dict) -> dict:
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in rec.items()}


# --------------------------------------------------------------------------------------------------
# The whole of part 2


def run_study(*, n_reps: int, n_resamples: int, processes: int, root_seed: int, confidence_level: float,
              sizes=SIZES, log=print, raw=None) -> dict:
    """Run every cell, derive the rule, and return the table's ``near_bound`` section.

    ``raw``: a file that keeps the per-replication bounds (pickle); when it exists they are read from it
    instead of simulated again (to re-derive the rule or the report without re-running).
    """
    import multiprocessing
    import pickle

    started = time.perf_counter()
    if raw is not None and raw.exists():
        with raw.open("rb") as handle:
            results, wall = pickle.load(handle)
    else:
        cells = sorted(all_cells(sizes), key=lambda c: -c.n * (1 + 1.5 * c.clustered))
        jobs = [(c, n_reps, n_resamples, root_seed, confidence_level) for c in cells]
        results = []
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            for done, res in enumerate(pool.imap_unordered(run_cell, jobs), 1):
                results.append(res)
                c = res["cell"]
                log(f"[{time.perf_counter() - started:7.1f}s] {done}/{len(jobs)} n={c.n} level={c.level} "
                    f"prevalence={c.prevalence} clustered={c.clustered} ({res['seconds']:.1f}s)")
        wall = time.perf_counter() - started
        if raw is not None:
            with raw.open("wb") as handle:
                pickle.dump((results, wall), handle)
    results.sort(key=lambda r: r["cell"].index)
    rule = derive_rule(results, confidence_level)
    records = cell_records(results, rule, confidence_level)
    section = {
        "max_n": rule["max_n"], "min_distance": rule["min_distance"], "methods": rule["methods"],
        "evidence": rule["evidence"],
        "settings": {"n_reps": n_reps, "n_resamples": n_resamples, "root_seed": root_seed, "sizes": list(sizes),
                     "levels": list(LEVELS), "prevalences": list(PREVALENCES), "icc": ICC,
                     "sessions": f"uniform 1..{MAX_SESSIONS}", "max_n_grid": list(MAX_N_GRID),
                     "distance_grid": list(DISTANCE_GRID), "wall_seconds": round(wall, 1),
                     "processes": processes},
        "cells": records,
    }
    return section, results


def check_library(results: list[dict], rule: dict, *, n_resamples: int, root_seed: int, confidence_level: float,
                  per_cell: int = 3) -> int:
    """``bootstrap(method="auto")`` with the new table gives the emulated ``auto`` bounds; returns the count."""
    from clinicadl.stats import bootstrap

    checked = 0
    for r in results:
        cell = r["cell"]
        if cell.n > 100:
            continue
        for i, (predictions, seed) in enumerate(data_sets(cell, r["estimate"].shape[0], root_seed)):
            if i >= per_cell:
                break
            if not np.all(np.isfinite(r["estimate"][i])):
                continue
            library = bootstrap(predictions, metrics=list(METRICS_STUDIED), n_resamples=n_resamples,
                                confidence_level=confidence_level, method="auto", rng=seed)
            for res in library:
                one = {**r, "estimate": r["estimate"][i:i + 1], "n_units": r["n_units"][i:i + 1],
                       "low": {m: {k: v[i:i + 1] for k, v in d.items()} for m, d in r["low"].items()},
                       "high": {m: {k: v[i:i + 1] for k, v in d.items()} for m, d in r["high"].items()}}
                low, high, _ = auto_bounds(one, res.metric, rule, bootstrap_table_choice)
                ok = np.allclose([low[0], high[0]], list(res.confidence_interval), equal_nan=True, atol=1e-9)
                assert ok, (cell, i, res.metric, res.method, (low[0], high[0]), res.confidence_interval)
                checked += 1
    return checked


def picks(section: dict, table: dict) -> list[str]:
    """Markdown table of what ``auto`` picks per metric: the closed form near the bound, the part-1 choice elsewhere."""
    part1 = {(c["metric"], c["n"], c["clustered"]): c["chosen"] for c in table["cells"]}
    sizes = sorted({c["n"] for c in table["cells"]})
    lines = ["| metric | n <= " + f"{section['max_n']} or n min(est, 1 - est) < {section['min_distance']} | "
             + " | ".join(f"otherwise, n ~ {n} (one image / sessions)" for n in sizes) + " |",
             "|---|---|" + "---|" * len(sizes)]
    for metric in METRICS_STUDIED:
        cols = []
        for n in sizes:
            both = [part1.get((metric, n, c), table["fallback"]) for c in (False, True)]
            names = ["wilson" if b == "analytic" and metric != "AUC" else "delong" if b == "analytic" else b
                     for b in both]
            cols.append(" / ".join(names))
        lines.append(f"| {metric} | {section['methods'][metric]} | " + " | ".join(cols) + " |")
    return lines


def render(section: dict, nominal: float, table: dict | None = None) -> list[str]:
    """The docs' part 2: the rule, ``auto``'s coverage per cell, and the candidates' coverage."""
    s = section["settings"]
    cells = section["cells"]
    se = math.sqrt(nominal * (1 - nominal) / s["n_reps"])
    lines = [
        "## Part 2: small n and values near the bound",
        "",
        f"Cells: n in {s['sizes']} participants; sensitivity = specificity = level in {s['levels']} (so accuracy"
        " = BA = level and AUC = Phi(sqrt(2) Phi^-1(level)) = 0.883, 0.965, 0.990, 0.9995); prevalence"
        f" {s['prevalences']}; one image per participant, or {s['sessions']} sessions per participant with ICC"
        f" {s['icc']}. {s['n_reps']} data sets per cell (MC SE of a coverage of 0.95: {se:.4f}), {s['n_resamples']}"
        f" bootstrap resamples, root seed {s['root_seed']}; {s['wall_seconds'] / 60:.1f} min on {s['processes']}"
        " processes. Coverage is counted among the data sets where an interval is printed (a metric"
        " undefined on a data set, e.g. PPV without positive prediction, prints none: see `printed`).",
        "",
        "### The rule `auto` follows",
        "",
        "- Criterion: coverage at least 0.95 - 3 MC SE, the MC SE taken at the nominal level,"
        " sqrt(0.95 x 0.05 / printed) (0.929 for 1000 printed intervals).",
        f"- At most **{section['max_n']}** participants, or fewer than **{section['min_distance']}** participants"
        " on the short side of the bound (`n min(estimate, 1 - estimate)`), `auto` takes the closed form below;"
        " elsewhere the part-1 table decides. A bootstrap interval of zero width is never printed: the closed form"
        " replaces it.",
        "- The closed form of each metric is, among the candidates that cover at least 0.95 - 3 MC SE in every"
        " cell, the one with the smallest average width (for a proportion only Clopper-Pearson and Wilson compete,"
        " so that `auto` is never shorter than Wilson); the thresholds are the smallest of the grids"
        f" max_n in {s['max_n_grid']} and distance in {s['distance_grid']} for which `auto` covers at least"
        " 0.95 - 3 MC SE in every cell.",
        "",
        "| metric | closed form `auto` takes | candidates: passes everywhere / worst coverage / mean width |",
        "|---|---|---|",
    ]
    for metric, form in section["methods"].items():
        ev = section["evidence"][metric]
        text = "; ".join(f"{f}: {'yes' if e['passes_everywhere'] else 'no'} / {e['worst_coverage']:.3f} /"
                         f" {e['mean_width']:.3f}" for f, e in ev.items())
        lines.append(f"| {metric} | {form} | {text} |")
    if table is not None:
        lines += ["", "What `auto` picks (the `method` column adds `-clustered` when participants have several images;"
                  " a bootstrap interval of zero width is replaced by the closed form):", "", *picks(section, table)]
    failing = [c for c in cells if not c["auto"]["passes"]]
    shorter = sum(c.get("auto_shorter_than_wilson", 0) for c in cells)
    lines += ["", f"`auto` covers at least 0.95 - 3 MC SE in {len(cells) - len(failing)} of {len(cells)}"
              f" (cell, metric) pairs; at n <= 30 it is shorter than Wilson's interval in {shorter} data sets.", ""]
    lines += ["### Coverage of `auto` and of the bootstrap at n = 10, 20, 30 (one image per participant, prevalence"
              " 0.5)", "",
              "| metric | level | n | auto | width | percentile | BCa | Wilson (width) | Clopper-Pearson (width) |"
              " zero-width BCa |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        if c["n"] > 30 or c["clustered"] or c["prevalence"] != 0.5:
            continue
        m = c["methods"]
        wil = m.get("wilson") or m.get("mover-wilson") or m.get("newcombe")
        cp = m.get("clopper-pearson") or m.get("mover-clopper-pearson") or m.get("delong-logit")
        cp_text = "-" if cp is None else f"{cp['coverage']:.3f} ({cp['width']:.3f})"
        lines.append(f"| {c['metric']} | {c['level']} | {c['n']} | {c['auto']['coverage']:.3f} |"
                     f" {c['auto']['width']:.3f} | {m['percentile']['coverage']:.3f} | {m['bca']['coverage']:.3f} |"
                     f" {wil['coverage']:.3f} ({wil['width']:.3f}) | {cp_text} | {m['bca']['zero_width']} |")
    lines += ["", "For BA the Wilson and Clopper-Pearson columns are the MOVER intervals built on them; for the AUC"
              " they show Newcombe's interval and the logit DeLong interval (undefined, hence not printed, at AUC = 1)."
              " Coverage of a bootstrap column counts its zero-width intervals (the library never prints them).", "",
              "### `auto` in every cell", "",
              "Coverage of `auto` (MC SE), its average width, and the methods it used (data sets).", "",
              "| metric | n | level | prevalence | clustered | printed | coverage | width | methods used |",
              "|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        a = c["auto"]
        used = ", ".join(f"{k} {v}" for k, v in c["auto_used"].items())
        flag = "" if a["passes"] else " **below**"
        layout = "yes" if c["clustered"] else "no"
        lines.append(f"| {c['metric']} | {c['n']} | {c['level']} | {c['prevalence']} | {layout}"
                     f" | {a['printed']} | {a['coverage']:.3f} ({a['mc_se']:.3f}){flag} | {a['width']:.3f} | {used} |")
    return lines
