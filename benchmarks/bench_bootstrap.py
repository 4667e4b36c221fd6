"""Speed and memory of ``clinicadl.stats.bootstrap`` against named peers, as ratios measured in one run.

Workloads (binary classification; metrics BA, accuracy, sensitivity, specificity and AUC; 10,000
resamples; percentile and BCa intervals):

- W1: 1,000 predictions, one per participant (row bootstrap).
- W2: 10,000 predictions, one per participant.
- W3: 500 participants with 1-4 sessions each (cluster bootstrap, ``unit="participant"``).

Peers:

- ``scipy.stats.bootstrap(..., paired=True, vectorized=True)`` with a vectorised statistic returning
  the 5 metrics at once (AUC from average ranks); W1 with scipy's default ``batch``, W2 with
  ``batch=SCIPY_BATCH_W2`` (without it scipy needs several GB). scipy cannot resample clusters, so
  W3 has no scipy peer.
- A plain Python loop over resamples with ``sklearn.metrics`` (W1, W2), or the naive cluster
  bootstrap (draw participants, concatenate their rows, metrics with numpy; W3). Only a subset of the
  resamples is timed and the time is extrapolated linearly to 10,000; for BCa the loop would also
  evaluate the statistic once per left-out unit, so its time is extrapolated to 10,000 + n_units
  evaluations.
- The floor: drawing the resample indices and gathering labels and scores once, in chunks of about
  2**17 indices (W3: participant indices, gathering the rows of a padded participant x session table).
- W2 also against scipy without ``batch`` (one call over all 10,000 resamples at once: about 7 GB; one run,
  skipped with ``--quick``), and clinicadl's memory at 100,000 resamples (flat in the number of resamples).

Run ``python benchmarks/bench_bootstrap.py [--quick]``; the table is printed and written to
``benchmarks/results/bootstrap.md``. Times are medians of 7 runs for clinicadl and the floor, 3 for scipy (3 and 1 with
``--quick``).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy
import scipy.stats
import sklearn
from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score, roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clinicadl.stats.bootstrap import bootstrap  # noqa: E402
from clinicadl.stats.predictions import make_predictions  # noqa: E402

METRICS = ("BA", "accuracy", "sensitivity", "specificity", "AUC")
N_RESAMPLES = 10_000
FLOOR_CHUNK = 1 << 17
SCIPY_BATCH_W2 = 500
SEED = 12345
RESULTS = Path(__file__).resolve().parent / "results" / "bootstrap.md"


# --------------------------------------------------------------------------------------------- data
def binary_data(n: int, seed: int = 0):
    """n binary predictions with an AUC of about 0.85 (scores in (0, 1))."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = 1 / (1 + np.exp(-(1.5 * (2 * y - 1) + rng.normal(size=n))))
    return y, score, None


def cluster_data(n_participants: int = 500, seed: int = 0):
    """Participants with 1-4 sessions; label per participant, score = participant effect + noise."""
    rng = np.random.default_rng(seed)
    sessions = rng.integers(1, 5, n_participants)
    groups = np.repeat(np.arange(n_participants), sessions)
    label = rng.integers(0, 2, n_participants)
    effect = 1.5 * (2 * label - 1) + rng.normal(size=n_participants)
    y = label[groups]
    score = 1 / (1 + np.exp(-(effect[groups] + 0.7 * rng.normal(size=groups.size))))
    return y, score, groups


# ------------------------------------------------------------------------------------- statistics
def five_metrics(y, score, axis=-1):
    """BA, accuracy, sensitivity, specificity and AUC along ``axis`` (vectorised; AUC from ranks).

    The prediction is ``score > 0.5`` (the arg-max of ``[1 - score, score]``, as in clinicadl).
    Returns an array of shape (5, ...).
    """
    y = np.moveaxis(np.asarray(y), axis, -1)
    score = np.moveaxis(np.asarray(score), axis, -1)
    positive = y == 1
    predicted = score > 0.5
    n = y.shape[-1]
    n1 = positive.sum(axis=-1)
    n0 = n - n1
    tp = (positive & predicted).sum(axis=-1)
    tn = (~positive & ~predicted).sum(axis=-1)
    ranks = scipy.stats.rankdata(score, axis=-1)  # average ranks: ties count one half
    with np.errstate(invalid="ignore", divide="ignore"):
        sensitivity = tp / n1
        specificity = tn / n0
        auc = ((ranks * positive).sum(axis=-1) - n1 * (n1 + 1) / 2) / (n1 * n0)
        return np.stack([(sensitivity + specificity) / 2, (tp + tn) / n, sensitivity, specificity, auc])


def sklearn_metrics(y, score):
    pred = (score > 0.5).astype(int)
    return (
        balanced_accuracy_score(y, pred),
        accuracy_score(y, pred),
        recall_score(y, pred, pos_label=1, zero_division=np.nan),
        recall_score(y, pred, pos_label=0, zero_division=np.nan),
        roc_auc_score(y, score),
    )


# ------------------------------------------------------------------------------------------ runners
def run_ours(y, score, groups, method):
    predictions = make_predictions(y, score, groups=groups)
    return bootstrap(predictions, metrics=METRICS, n_resamples=N_RESAMPLES, method=method,
                     unit="participant", rng=SEED)


def run_scipy(y, score, method, batch):
    return scipy.stats.bootstrap(
        (y.astype(np.float64), score), five_metrics, paired=True, vectorized=True, n_resamples=N_RESAMPLES,
        method={"percentile": "percentile", "bca": "BCa"}[method], batch=batch, rng=np.random.default_rng(SEED),
    )


def loop_sklearn(y, score, n_loop):
    """Time of ``n_loop`` resamples of a plain loop with sklearn.metrics."""
    rng = np.random.default_rng(SEED)
    n = y.size
    start = time.perf_counter()
    for _ in range(n_loop):
        idx = rng.integers(0, n, n)
        sklearn_metrics(y[idx], score[idx])
    return time.perf_counter() - start


def loop_clusters(y, score, groups, n_loop):
    """Time of ``n_loop`` resamples of the naive cluster bootstrap (concatenate drawn participants' rows)."""
    rng = np.random.default_rng(SEED)
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    rows = np.split(order, bounds)
    m = len(rows)
    start = time.perf_counter()
    for _ in range(n_loop):
        idx = np.concatenate([rows[k] for k in rng.integers(0, m, m)])
        five_metrics(y[idx], score[idx])
    return time.perf_counter() - start


def floor_rows(y, score):
    """Draw the B x n resample indices and gather labels and scores, in chunks of ~FLOOR_CHUNK indices."""
    rng = np.random.default_rng(SEED)
    n = y.size
    step = max(1, FLOOR_CHUNK // n)
    for start in range(0, N_RESAMPLES, step):
        idx = rng.integers(0, n, size=(min(step, N_RESAMPLES - start), n))
        y.take(idx)
        score.take(idx)


def floor_clusters(y, score, groups):
    """Draw the B x m participant indices and gather their rows from a padded participant x session table."""
    rng = np.random.default_rng(SEED)
    _, codes, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    m, width = sizes.size, int(sizes.max())
    order = np.argsort(codes, kind="stable")
    slot = np.arange(codes.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    table_y = np.full((m, width), -1, dtype=y.dtype)
    table_s = np.full((m, width), np.nan)
    table_y[codes[order], slot] = y[order]
    table_s[codes[order], slot] = score[order]
    step = max(1, FLOOR_CHUNK // (m * width))
    for start in range(0, N_RESAMPLES, step):
        idx = rng.integers(0, m, size=(min(step, N_RESAMPLES - start), m))
        table_y[idx]
        table_s[idx]


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def timed_rounds(fns: dict, repeats):
    """Median time of each function, calling them in turn in ``repeats`` rounds."""
    times = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {key: float(np.median(t)) for key, t in times.items()}


# ------------------------------------------------------------------------------------------- memory
def traced_peak(fn) -> float:
    """Peak of traced allocations (numpy arrays included) during ``fn()``, in MB."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def _peak_rss_mb() -> float:
    """Peak resident memory of this process: VmHWM (ru_maxrss would include the parent's peak, which a
    child inherits across fork and exec on Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _memory_child(which: str, method: str) -> None:
    """Entry point of the subprocess measuring the peak-RSS increase of one call (W2 data)."""
    y, score, groups = binary_data(10_000)
    # warm up the code paths on small data so that lazy imports do not count
    ys, ss, _ = binary_data(200, seed=1)
    if which == "ours":
        fn = lambda: run_ours(y, score, groups, method)  # noqa: E731
        bootstrap(make_predictions(ys, ss), metrics=METRICS, n_resamples=50, method=method, rng=0)
    else:
        fn = lambda: run_scipy(y, score, method, SCIPY_BATCH_W2)  # noqa: E731
        scipy.stats.bootstrap((ys.astype(float), ss), five_metrics, paired=True, vectorized=True, n_resamples=50,
                              method={"percentile": "percentile", "bca": "BCa"}[method], rng=0)
    before = _peak_rss_mb()
    fn()
    print(json.dumps({"delta_mb": _peak_rss_mb() - before}))


def rss_delta(which: str, method: str) -> float:
    out = subprocess.run([sys.executable, __file__, "--memory-child", which, method], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["delta_mb"]


# -------------------------------------------------------------------------------------------- main
def check_agreement():
    """Our point estimates equal the peers' on the observed data (the peers compute the same thing)."""
    for y, score, groups in (binary_data(1000), cluster_data()):
        predictions = make_predictions(y, score, groups=groups)
        ours = np.array([r.estimate for r in bootstrap(predictions, metrics=METRICS, n_resamples=2,
                                                       method="percentile", rng=0)])
        np.testing.assert_allclose(ours, five_metrics(y, score), rtol=0, atol=1e-12)
        np.testing.assert_allclose(ours, sklearn_metrics(y, score), rtol=0, atol=1e-12)


def fmt_time(t: float) -> str:
    return f"{t:.3f} s" if t < 10 else f"{t:.1f} s"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 run per timing, smaller loop subsets")
    parser.add_argument("--memory-child", nargs=2, metavar=("WHICH", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        _memory_child(*args.memory_child)
        return
    repeats = 1 if args.quick else 3  # scipy and loop peers
    fast_repeats = 3 if args.quick else 7  # clinicadl and the floor: cheap, and noisy on a loaded machine
    check_agreement()

    workloads = {
        "W1": ("1,000 predictions", binary_data(1000)),
        "W2": ("10,000 predictions", binary_data(10_000)),
        "W3": ("500 participants, 1-4 sessions (cluster)", cluster_data()),
    }
    loop_subset = {"W1": 100 if args.quick else 300, "W2": 50 if args.quick else 200, "W3": 100 if args.quick else 300}
    # clinicadl and the floor first, in interleaved rounds, so that load from other processes hits them
    # alike. Every module is imported at the top: importing a large package (sklearn, joblib, pandas)
    # after numpy has run made later large allocations ~40% slower here (malloc heap state).
    ours, floor = {}, {}
    for name, (_, (y, score, groups)) in workloads.items():
        floor_fn = functools.partial(floor_rows, y, score) if groups is None else \
            functools.partial(floor_clusters, y, score, groups)
        times = timed_rounds({"floor": floor_fn, **{method: functools.partial(run_ours, y, score, groups, method)
                                                    for method in ("percentile", "bca")}}, fast_repeats)
        floor[name] = times.pop("floor")
        ours.update({(name, method): t for method, t in times.items()})
    rows = []
    for name, (label, (y, score, groups)) in workloads.items():
        n_units = y.size if groups is None else np.unique(groups).size
        if groups is None:
            per_resample = loop_sklearn(y, score, loop_subset[name]) / loop_subset[name]
            loop_name = f"sklearn loop ({loop_subset[name]} resamples, extrapolated)"
        else:
            per_resample = loop_clusters(y, score, groups, loop_subset[name]) / loop_subset[name]
            loop_name = f"naive cluster loop ({loop_subset[name]} resamples, extrapolated)"
        for method in ("percentile", "bca"):
            if groups is None:
                batch = SCIPY_BATCH_W2 if name == "W2" else None
                sp = timed(functools.partial(run_scipy, y, score, method, batch), repeats)
                sp_note = f"batch={batch}"
            else:
                sp, sp_note = float("nan"), "cannot resample clusters"
            loop = per_resample * (N_RESAMPLES + (n_units if method == "bca" else 0))
            t = ours[name, method]
            rows.append(dict(workload=name, label=label, n=y.size, method=method, ours=t, scipy=sp,
                             scipy_note=sp_note, loop=loop, loop_name=loop_name, floor=floor[name]))
            print(f"{name} {method:10s} ours {t:.4f} s  scipy {sp:.3f} s  loop {loop:.1f} s  "
                  f"floor {floor[name]:.4f} s", flush=True)

    y, score, groups = workloads["W2"][1]
    unbatched = {}
    if not args.quick:  # scipy over all resamples at once: about 7 GB, one run
        for method in ("percentile", "bca"):
            unbatched[method] = timed(functools.partial(run_scipy, y, score, method, None), 1)
            print(f"W2 {method:10s} scipy unbatched {unbatched[method]:.1f} s", flush=True)
    # memory at n = 10,000, B = 10,000 (and 100,000 for clinicadl)
    memory = []
    for method in ("percentile", "bca"):
        peak = traced_peak(functools.partial(run_ours, y, score, groups, method))
        memory.append(("clinicadl bootstrap", method, peak, rss_delta("ours", method)))
    peak = traced_peak(lambda: bootstrap(make_predictions(y, score), metrics=METRICS, n_resamples=10 * N_RESAMPLES,
                                         method="bca", rng=SEED))
    memory.append((f"clinicadl bootstrap, {10 * N_RESAMPLES:,} resamples", "bca", peak, float("nan")))
    for method in ("percentile", "bca"):
        peak = traced_peak(functools.partial(run_scipy, y, score, method, SCIPY_BATCH_W2))
        memory.append((f"scipy.stats.bootstrap batch={SCIPY_BATCH_W2}", method, peak, rss_delta("scipy", method)))

    report = render(rows, memory, (fast_repeats, repeats), args.quick, unbatched)
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    print(f"written to {RESULTS.relative_to(ROOT)}")


def render(rows, memory, repeats, quick, unbatched) -> str:
    lines = [
        "# Bootstrap benchmark",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores ({platform.processor() or platform.platform()})",
        f"- python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}",
        f"- metrics: {', '.join(METRICS)}; {N_RESAMPLES:,} resamples; times are medians of {repeats[0]} runs "
        f"(clinicadl, floor) and {repeats[1]} run(s) (scipy)"
        + (" (--quick)" if quick else ""),
        "- scipy: `scipy.stats.bootstrap(paired=True, vectorized=True)`, one call for the 5 metrics "
        "(multi-output statistic, AUC from ranks); W1 default batch, W2 "
        f"`batch={SCIPY_BATCH_W2}`; no scipy peer for the cluster bootstrap (W3).",
        "- loop: only a subset of resamples is timed and the time is extrapolated linearly to 10,000 "
        "resamples (BCa: 10,000 + n_units statistic evaluations, for the jackknife).",
        f"- floor: drawing the resample indices and gathering labels and scores, in chunks of {FLOOR_CHUNK:,} "
        "indices (W3: participant indices into a padded participant x session table).",
        "",
        "| workload | method | clinicadl | scipy | loop | floor | scipy / ours | loop / ours | ours / floor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sp = "n/a" if np.isnan(r["scipy"]) else fmt_time(r["scipy"])
        ratio_sp = "n/a" if np.isnan(r["scipy"]) else f"{r['scipy'] / r['ours']:.0f}x"
        lines.append(
            f"| {r['workload']}: {r['label']} | {r['method']} | {fmt_time(r['ours'])} | {sp} | "
            f"{fmt_time(r['loop'])} | {fmt_time(r['floor'])} | {ratio_sp} | {r['loop'] / r['ours']:.0f}x | "
            f"{r['ours'] / r['floor']:.1f} |"
        )
    lines += ["", "Loop peers: " + "; ".join(sorted({f"{r['workload']}: {r['loop_name']}" for r in rows})) + ".", ""]
    lines += [
        "Memory at n = 10,000 predictions and 10,000 resamples (target for clinicadl: < 500 MB). "
        "tracemalloc peak in this process; increase of the peak resident memory (VmHWM) over the call in a "
        "fresh subprocess.",
        "",
        "| what | method | tracemalloc peak | peak RSS increase |",
        "|---|---|---|---|",
    ]
    lines += [f"| {who} | {method} | {peak:.0f} MB | " + ("-" if np.isnan(rss) else f"{rss:.0f} MB") + " |"
              for who, method, peak, rss in memory]
    w1 = {r["method"]: r for r in rows if r["workload"] == "W1"}
    w2 = {r["method"]: r for r in rows if r["workload"] == "W2"}
    lines += [
        "",
        "Targets on W1: scipy / ours >= 30 (percentile): "
        f"{w1['percentile']['scipy'] / w1['percentile']['ours']:.0f}; >= 15 (BCa): "
        f"{w1['bca']['scipy'] / w1['bca']['ours']:.0f}; ours / floor <= 2: "
        f"{w1['percentile']['ours'] / w1['percentile']['floor']:.1f} (percentile), "
        f"{w1['bca']['ours'] / w1['bca']['floor']:.1f} (BCa).",
    ]
    if unbatched:
        lines.append("W2 against scipy without `batch` (one run; target >= 40): " + "; ".join(
            f"{m} {t:.1f} s, {t / w2[m]['ours']:.0f}x" for m, t in unbatched.items()) + ".")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
