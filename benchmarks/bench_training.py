"""CPU cost of ``clinicadl train``: throughput of one replicate, peak memory, and R replicates in one command.

Workload: a cohort made by ``generate_cohort`` (60 participants with 1-2 sessions, about 95 images, at 4 mm:
43 x 52 x 45 voxels; ``--quick``: 40 participants, 1 session), ``prepare-data`` image mode, a 2-fold split
(``tsvtools kfold``) of which split 0 is trained (half the participants train, the baseline sessions of the other
half validate). Without ``--quick`` the same cohort is also made at 2 mm (85 x 104 x 90) for one more throughput
row per architecture. Data loading in the main process (``--n_proc 0``) unless said: the default ``--n_proc 2``
starts 2 persistent DataLoader workers for each of the 3 loaders of a split (train, train evaluation,
validation), 6 processes on a 2-core machine.

Measured:

(a) Training throughput of one replicate (library: ``train_procedure(..., replicates=None)`` in this process),
    TinyCNN and Conv5_FC3, 3 epochs (median of 3 runs; 1 with ``--quick``): images/s of the training pass of
    epoch 1 (tensor cache empty: every image read with ``torch.load``) and of epochs 2-3 (cached), the epoch
    including its evaluation of the train and validation groups, and the whole command (with the predictions and
    participant-level intervals written at the end of the split).
(b) Peak memory: VmHWM (``/proc/self/status``) of a fresh ``clinicadl train`` process (in-process CLI call), for
    both architectures, with ``--n_proc 0`` and (Conv5_FC3) the default ``--n_proc 2`` (then the largest
    DataLoader worker too, from ``RUSAGE_CHILDREN``); the VmHWM of a process that only imports torch and the
    trainer is the floor.
(c) R = 3 replicates (TinyCNN, 2 epochs, split 0): one command ``--replicates 3`` with ``--n_jobs 1`` and
    ``--n_jobs 2``, against 3 separate ``clinicadl train`` commands run one after the other (fresh processes:
    each imports torch and reads the images again). Wall times of each, and the ratio to the separate runs.

Threads: every training runs with 1 torch thread (``torch.set_num_threads`` here, ``OMP_NUM_THREADS=1`` for the
commands), except the rows of (a) marked "torch default": on a small machine shared with other work, torch's default
(one thread per core) is several times slower.

Run ``python benchmarks/bench_training.py [--quick]``; the tables are printed and written to
``benchmarks/results/training.md``. About 6 minutes on 2 shared cores (``--quick``: about 3).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import clinicadl  # noqa: E402
from clinicadl.data import datasets  # noqa: E402
from clinicadl.data.extraction import extraction_parameters, prepare_data  # noqa: E402
from clinicadl.data.generate import generate_cohort  # noqa: E402
from clinicadl.data.tsvtools import kfold_tsv  # noqa: E402
from clinicadl.training import loop  # noqa: E402
from clinicadl.training.config import load_config, resolve_parameters  # noqa: E402
from clinicadl.training.replicates import train_procedure  # noqa: E402

ARCHITECTURES = ("TinyCNN", "Conv5_FC3")
JSON = "image.json"
THREADS = 1
"""torch threads per training process. On 2 cores shared with other work, torch's default (one thread per core)
is several times slower than 1 thread (its threads wait for each other while another process holds a core): see
the rows of (a) with the default. ``--n_jobs 2`` sets 1 thread per worker itself."""

MEMORY_PROBE = r"""
import json, re, resource, sys
sys.argv = ["clinicadl", *sys.argv[1:]]
code = 0
if sys.argv[1:]:
    from clinicadl.cli.main import cli
    try:
        cli(sys.argv[1:], prog_name="clinicadl", standalone_mode=False)
    except SystemExit as error:
        code = error.code or 0
else:
    import torch, clinicadl.training.loop, clinicadl.training.trainer  # the floor: imports only
status = open("/proc/self/status").read()
hwm = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("MEMORY " + json.dumps({"vmhwm_kb": hwm, "children_maxrss_kb": children, "code": code}))
"""


def make_data(folder: Path, *, n_participants: int, sessions, resolution: int) -> tuple[Path, Path, float]:
    """Cohort -> prepare-data image -> 2-fold split; returns (caps, tsv_directory, seconds)."""
    start = time.perf_counter()
    result = generate_cohort(folder / "caps", n_participants=n_participants, sessions=sessions,
                             resolution=resolution, effect_size=1.5, seed=0, n_proc=2)
    prepare_data(result.caps_directory, extraction_parameters("image", "t1-linear", extract_json=JSON), n_proc=2,
                 progress=False)
    labels = folder / "labels"
    labels.mkdir()
    shutil.copy(result.data_tsv, labels / "data.tsv")
    kfold = kfold_tsv(labels / "data.tsv", n_splits=2, stratification="diagnosis")
    return result.caps_directory, kfold.folder, time.perf_counter() - start


def parameters(caps: Path, tsv: Path, architecture: str, *, epochs: int, n_proc: int = 0) -> dict:
    given = {"architecture": architecture, "epochs": epochs, "n_splits": 2, "split": [0], "gpu": False,
             "n_proc": n_proc, "batch_size": 8}
    return resolve_parameters(load_config("classification", given), network_task="classification",
                              caps_directory=caps, preprocessing_json=JSON, tsv_directory=tsv)


class EpochClock:
    """Times the training pass and the evaluation of every epoch by wrapping the loop's hooks (no library edit)."""

    def __init__(self):
        self.epochs: list[dict] = []
        self._set_epoch = datasets.CapsDataset.set_epoch
        self._evaluate = loop._evaluate

    def __enter__(self):
        clock = self

        def set_epoch(dataset, epoch):
            clock.epochs.append({"start": time.perf_counter(), "n": len(dataset), "eval_start": None,
                                 "eval_end": None})
            return clock._set_epoch(dataset, epoch)

        def evaluate(*args, **kwargs):
            epoch = clock.epochs[-1]
            epoch["eval_start"] = epoch["eval_start"] or time.perf_counter()
            out = clock._evaluate(*args, **kwargs)
            epoch["eval_end"] = time.perf_counter()
            return out

        datasets.CapsDataset.set_epoch = set_epoch
        loop._evaluate = evaluate
        return self

    def __exit__(self, *exc):
        datasets.CapsDataset.set_epoch = self._set_epoch
        loop._evaluate = self._evaluate


def throughput(caps: Path, tsv: Path, architecture: str, folder: Path, *, epochs: int) -> dict:
    """One replicate in this process; images/s of epoch 1 and of the later epochs."""
    params = parameters(caps, tsv, architecture, epochs=epochs)
    datasets.clear_cache()
    out = folder / f"maps_{architecture}_{time.monotonic_ns()}"
    with EpochClock() as clock:
        start = time.perf_counter()
        train_procedure(params, out, replicates=None, root_seed=0, progress=False)
        total = time.perf_counter() - start
    shutil.rmtree(out)
    e = clock.epochs
    ends = [x["start"] for x in e[1:]] + [e[-1]["eval_end"]]  # an epoch ends when the next starts
    n, later = e[0]["n"], range(1, len(e))
    return {
        "n_train": n,
        "first": n / (e[0]["eval_start"] - e[0]["start"]),
        "later": n * len(later) / sum(e[i]["eval_start"] - e[i]["start"] for i in later),
        "first_epoch": n / (ends[0] - e[0]["start"]),
        "later_epoch": n * len(later) / sum(ends[i] - e[i]["start"] for i in later),
        "eval_s": statistics.median(x["eval_end"] - x["eval_start"] for x in e),
        "total_s": total,
        "misses": datasets.cache_info().misses,
    }


def cli_args(caps: Path, tsv: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "classification", str(caps), JSON, str(tsv), str(out), "--n_splits", "2", "-s", "0",
            "--no-gpu", "--batch_size", "8", *extra]


def env() -> dict:
    """Subprocesses: this checkout first, one thread per process (see THREADS)."""
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "OMP_NUM_THREADS": str(THREADS), "MKL_NUM_THREADS": str(THREADS)}


def peak_memory(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE, *args], capture_output=True, text=True, env=env(),
                          cwd=ROOT)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("MEMORY ")), None)
    if proc.returncode or line is None:
        raise RuntimeError(f"memory probe failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result = json.loads(line[len("MEMORY "):])
    if result["code"]:
        raise RuntimeError(f"clinicadl {' '.join(args)} exited {result['code']}: {proc.stderr[-2000:]}")
    return result


def timed_cli(*commands: list[str]) -> float:
    """Wall time of ``clinicadl`` commands run at the same time (each its own process)."""
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "clinicadl", *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT) for args in commands]
    for proc, args in zip(procs, commands):
        _, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"clinicadl {' '.join(args)} failed: {err[-2000:]}")
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 participants x 1 session, 1 run, no 2 mm cohort")
    args = parser.parse_args(argv)
    repeats, epochs = (1, 3) if args.quick else (3, 3)
    n_participants, sessions = (40, 1) if args.quick else (60, (1, 2))
    resolutions = (4,) if args.quick else (4, 2)
    load = os.getloadavg()
    begin = time.perf_counter()
    speed, memory, procedure, setup = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = {}
        for resolution in resolutions:
            caps, tsv, seconds = make_data(folder / f"r{resolution}", n_participants=n_participants,
                                           sessions=sessions, resolution=resolution)
            shape = tuple(torch.load(next(caps.rglob("*.pt")), weights_only=True).shape[1:])
            n_images = sum(1 for _ in caps.rglob("*.pt"))
            data[resolution] = (caps, tsv)
            setup.append((resolution, shape, n_images, seconds))
            print(f"{resolution} mm: {n_images} images {shape}, cohort + prepare-data + kfold in {seconds:.1f} s",
                  flush=True)

        # (a) throughput, runs interleaved between architectures so that load changes hit both alike
        torch.set_num_threads(os.cpu_count() or 1)
        for architecture in ARCHITECTURES:  # torch's default number of threads, one run
            result = throughput(*data[4], architecture, folder, epochs=epochs)
            speed.append((4, f"{architecture}, {torch.get_num_threads()} threads (torch default)", 1, result))
            print(f"  4 mm {architecture} default threads: {result}", flush=True)
        torch.set_num_threads(THREADS)
        for resolution in resolutions:
            caps, tsv = data[resolution]
            runs = {a: [] for a in ARCHITECTURES}
            for _ in range(repeats if resolution == 4 else 1):
                for architecture in ARCHITECTURES:
                    runs[architecture].append(throughput(caps, tsv, architecture, folder, epochs=epochs))
                    print(f"  {resolution} mm {architecture}: {runs[architecture][-1]}", flush=True)
            for architecture, results in runs.items():
                median = {key: statistics.median(r[key] for r in results) for key in results[0]}
                speed.append((resolution, architecture, len(results), median))

        # (b) peak memory of a fresh process
        caps, tsv = data[4]
        floor = peak_memory([])
        memory.append(("import torch + trainer only (floor)", floor))
        for architecture, n_proc in (("TinyCNN", 0), ("Conv5_FC3", 0), ("Conv5_FC3", 2)):
            out = folder / f"mem_{architecture}_{n_proc}"
            result = peak_memory(cli_args(caps, tsv, out, "-a", architecture, "--epochs", "2", "-np", str(n_proc)))
            memory.append((f"{architecture}, 2 epochs, --n_proc {n_proc}", result))
            print(f"  memory {architecture} n_proc={n_proc}: {result}", flush=True)

        # (c) R replicates in one command against R separate commands
        common = ("-a", "TinyCNN", "--epochs", "2", "-np", "0")
        r = 3
        commands = [cli_args(caps, tsv, folder / f"sep{k}", *common, "--seed", str(k)) for k in range(r)]
        separate = sum(timed_cli(command) for command in commands)
        procedure.append((f"{r} separate `clinicadl train` commands, one after the other", separate))
        print(f"  separate: {separate:.1f} s", flush=True)
        for k in range(r):
            shutil.rmtree(folder / f"sep{k}")
        seconds = timed_cli(*commands[:2]) + timed_cli(*commands[2:])
        procedure.append((f"{r} separate commands, 2 at a time", seconds))
        print(f"  separate, 2 at a time: {seconds:.1f} s", flush=True)
        for n_jobs in (1, 2):
            seconds = timed_cli(cli_args(caps, tsv, folder / f"rep{n_jobs}", *common, "--replicates", str(r),
                                         "--n_jobs", str(n_jobs)))
            procedure.append((f"one command `--replicates {r} --n_jobs {n_jobs}`", seconds))
            print(f"  replicates n_jobs={n_jobs}: {seconds:.1f} s", flush=True)
        single = timed_cli(cli_args(caps, tsv, folder / "single", *common))
        procedure.append(("(reference) one plain `clinicadl train` command", single))

    elapsed = time.perf_counter() - begin
    mb = lambda kb: f"{kb / 1024:,.0f}"  # noqa: E731
    lines = [
        "# Training benchmark (CPU)",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores ({platform.platform()}); load average before "
        f"the run {load[0]:.1f}, after {os.getloadavg()[0]:.1f} (other processes slow every figure)",
        f"- python {platform.python_version()}, torch {torch.__version__} ({THREADS} thread per training process "
        "unless said: OMP_NUM_THREADS for the commands, torch.set_num_threads in this process), "
        f"clinicadl {clinicadl.__version__}",
        f"- workload: generate cohort ({n_participants} participants, sessions {sessions}, seed 0), prepare-data "
        "image, tsvtools kfold --n_splits 2; split 0 trained (batch 8, Adam, --no-gpu); "
        + "; ".join(f"{res} mm: {n} images of {'x'.join(map(str, shape))} ({s:.0f} s to make)"
                    for res, shape, n, s in setup),
        f"- {'--quick, ' if args.quick else ''}script wall time {elapsed / 60:.1f} min",
        "",
        f"## (a) Throughput of one replicate ({epochs} epochs, --n_proc 0, median of the runs; in this process)",
        "",
        "Training pass: the batches of the training group only (forward, backward, step). Epoch: the training pass,"
        " the evaluation of the train and validation groups, best-model and checkpoint writes. Epoch 1 reads every"
        " tensor file (cache empty; the OS page cache holds them, the files being fresh); later epochs read the"
        " in-memory cache. Whole command: everything, including the predictions and intervals at the end.",
        "",
        "| image | architecture | runs | train images | training pass, epoch 1 (img/s) | training pass, epochs 2+ "
        "(img/s) | epoch 1 (img/s) | epochs 2+ (img/s) | evaluation per epoch (s) | whole command (s) | files read |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *[f"| {res} mm | {arch} | {k} | {m['n_train']:.0f} | {m['first']:,.1f} | {m['later']:,.1f} | "
          f"{m['first_epoch']:,.1f} | {m['later_epoch']:,.1f} | {m['eval_s']:.2f} | {m['total_s']:.1f} | "
          f"{m['misses']:.0f} |" for res, arch, k, m in speed],
        "",
        "## (b) Peak memory of one training (fresh process, 4 mm)",
        "",
        "| what | VmHWM (MB) | above the floor (MB) | largest child process (MB) |",
        "|---|---|---|---|",
        *[f"| {what} | {mb(m['vmhwm_kb'])} | {mb(m['vmhwm_kb'] - floor['vmhwm_kb'])} | "
          f"{mb(m['children_maxrss_kb']) if m['children_maxrss_kb'] else '-'} |" for what, m in memory],
        "",
        f"## (c) {r} replicates (TinyCNN, 4 mm, 2 epochs, split 0, --n_proc 0, OMP_NUM_THREADS={THREADS}; one run "
        "each)",
        "",
        "Each command is a fresh process (imports torch, reads the images). `--n_jobs 1` trains the replicates one "
        "after the other in the command's process; `--n_jobs 2` in 2 spawned worker processes.",
        "",
        "| what | wall time (s) | vs separate commands |",
        "|---|---|---|",
        *[f"| {what} | {s:.1f} | {s / separate:.2f}x |" for what, s in procedure],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "benchmarks" / "results" / "training.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
