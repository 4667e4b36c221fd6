"""Overhead of the SLURM launcher against local execution, for small jobs, measured in one run.

Workloads:

- **no-op array**: ``map_array(executor, abs, range(8))`` then ``gather`` (8 jobs that do nothing): the
  cost of the launcher alone, from submission to the last result.
- **one no-op job**: submission to result of a single job (the latency a user waits for one job).
- **tiny training**: 4 replicates of a TinyCNN on a 20-participant CAPS of 16x20x16 images (one split,
  2 epochs, deterministic; a few seconds of work each), trained by ``train_procedure``: the overhead on
  real, if small, training jobs.

Executors, in the same run: the current process (``debug``; the floor), 2 local worker processes
(``local``, spawned), submitit's local processes (``submitit_local``: SLURM's life cycle without a
scheduler) and SLURM (``slurm``: one job array on the single-node cluster of
``../shared/tools/slurm-single-node.sh``, started by this script when root and not running). Local and
SLURM both run 2 jobs at once, one CPU and one thread each.

Run ``python benchmarks/bench_launcher.py [--quick]``; the table is printed and written to
``benchmarks/results/launcher.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from clinicadl.training.launcher import LocalExecutor, gather, make_executor, map_array  # noqa: E402

SCRIPT = ROOT.parent / "shared" / "tools" / "slurm-single-node.sh"
SLURM = {"cpus_per_task": 1, "mem_gb": 2, "time": 30}
N_NOOP = 8


def cluster_up() -> bool:
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and any(state in out.stdout for state in ("idle", "mix", "alloc"))


def start_cluster() -> tuple[bool, bool]:
    """(available, started here)."""
    if cluster_up():
        return True, False
    if not SCRIPT.is_file() or os.geteuid() != 0:
        return False, False
    subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, timeout=400)
    deadline = time.monotonic() + 30
    while not cluster_up() and time.monotonic() < deadline:
        time.sleep(0.5)
    return cluster_up(), True


def executor(kind: str, folder: Path):
    if kind == "debug":
        return make_executor("debug")
    if kind == "local":
        return LocalExecutor(2, n_threads=1)
    return make_executor(kind, folder, SLURM if kind == "slurm" else None, n_jobs=2)


def time_noop(kind: str, root: Path, repeats: int) -> tuple[float, float]:
    """Median seconds of an 8-job array, and of one job, from submission to results (fresh executor each)."""
    arrays, singles = [], []
    for i in range(repeats):
        start = time.perf_counter()
        with executor(kind, root / f"{kind}-array-{i}") as ex:
            assert gather(map_array(ex, abs, range(-N_NOOP, 0)), poll_interval=0.05) == list(range(N_NOOP, 0, -1))
        arrays.append(time.perf_counter() - start)
        start = time.perf_counter()
        with executor(kind, root / f"{kind}-one-{i}") as ex:
            assert ex.submit(abs, -1).result() == 1
        singles.append(time.perf_counter() - start)
    return statistics.median(arrays), statistics.median(singles)


def time_training(kind: str, root: Path, parameters: dict) -> float:
    from clinicadl.training.replicates import train_procedure

    start = time.perf_counter()
    ex = LocalExecutor(2, n_threads=1) if kind == "local" else None
    result = train_procedure(parameters, root / f"maps-{kind}", replicates=4, root_seed=0, n_jobs=2,
                             executor=ex, launcher="local" if kind == "local" else kind,
                             slurm=SLURM if kind == "slurm" else None, progress=False)
    assert set(result.statuses.values()) == {"done"}
    return time.perf_counter() - start


def versions() -> str:
    import submitit
    import torch

    slurm = subprocess.run(["sinfo", "--version"], capture_output=True, text=True).stdout.strip() if cluster_up() \
        else "not available"
    return (f"Python {platform.python_version()}, torch {torch.__version__}, submitit {submitit.__version__}, "
            f"{slurm}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat of the no-op workloads instead of 3")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    available, started = start_cluster()
    kinds = ["debug", "local", "submitit_local"] + (["slurm"] if available else [])
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            noop = {kind: time_noop(kind, root, repeats) for kind in kinds}
            import tiny_caps

            paths = tiny_caps.make_dataset(root / "data")
            parameters = tiny_caps.resolved_parameters(paths, kfold=False, epochs=2, n_proc=0)
            training = {kind: time_training(kind, root, parameters) for kind in ("local", "slurm")
                        if kind in kinds}
            for kind in kinds:
                array, single = noop[kind]
                train = training.get(kind)
                rows.append((kind, array, array / N_NOOP, single, train))
            info = versions()
    finally:
        if started:
            subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, timeout=60)

    local_train = training.get("local")
    lines = [
        "# Launcher overhead: SLURM against local execution",
        "",
        f"{datetime.date.today()}, {os.cpu_count()} cores, {info}. "
        f"`python benchmarks/bench_launcher.py{' --quick' if args.quick else ''}`; medians of {repeats} "
        "(no-op) and 1 run (training). Jobs run 2 at a time, 1 CPU each; the SLURM cluster is the "
        "single-node one of the tests, on the same machine.",
        "",
        f"| executor | {N_NOOP} no-op jobs (s) | per job (s) | one no-op job (s) | 4 tiny replicates (s) |"
        " training overhead vs local |",
        "|---|---|---|---|---|---|",
    ]
    for kind, array, per_job, single, train in rows:
        overhead = "" if train is None or local_train is None else "baseline" if kind == "local" else (
            f"{train - local_train:+.1f} s ({train / local_train:.2f}x)")
        lines.append(f"| {kind} | {array:.2f} | {per_job:.2f} | {single:.2f} | "
                     f"{'' if train is None else f'{train:.1f}'} | {overhead} |")
    if "slurm" not in kinds:
        lines += ["", "SLURM was not available (not root, or ../shared/tools/slurm-single-node.sh missing)."]
    lines += [
        "",
        "Reading: the SLURM path costs an `sbatch` per array, the scheduler's start of each job (a new Python",
        "process that imports clinicadl and unpickles the call) and the polling of results (every 0.2 s for the",
        "result file, every 2 s for `squeue`; `gather` polls jobs every 0.05 s here). For jobs of a few seconds",
        "local workers are faster; for trainings of minutes to hours the overhead is negligible, and SLURM gives",
        "more nodes, requeue on time limits and jobs that outlive the submitting shell.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "benchmarks" / "results" / "launcher.md"
    out.write_text(text)
    print(f"Written: {out}")


if __name__ == "__main__":
    main()
