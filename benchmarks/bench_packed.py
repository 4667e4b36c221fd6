"""Throughput of replicates trained together (``--pack_replicates K``) against K replicates trained one at a time, CPU.

Workload: the cohort of ``bench_training.py`` at 4 mm (60 participants with 1-2 sessions, about 95 images of
43 x 52 x 45 voxels; ``--quick``: 40 participants, 1 session), ``prepare-data`` image mode, a 2-fold split of which
split 0 is trained (batch 8, Adam, ``--n_proc 0``), torch with 2 threads (the 2 cores of the target machine).

Measured, for TinyCNN and Conv4_FC3 and K = 1, 2, 4:

(a) The training step alone (forward, backward, optimizer step of K networks on K batches of 8 images held in
    memory): K separate networks one after the other, as the unpacked trainer runs them, against one packed step
    (:func:`clinicadl.training.packed_network.packed_forward`); wall-clock images/s, median of 5 steps after two
    warm-ups (and one warm-up step and procedure before the first row), and images per CPU-second of this process
    as a second view. A third column runs the separate networks channels-last (weights and input), the memory
    layout the packed step uses on a CPU, to tell what packing gains from what the layout alone would. Freed
    memory is kept as the trainer keeps it (:func:`clinicadl.runtime.allocator.keep_freed_memory`).
(b) The whole procedure: ``train_procedure(..., replicates=K)`` with ``pack_replicates=1`` (one at a time, in this
    process) and ``pack_replicates=K``, 2 epochs (1 with ``--quick``): training, evaluation of each epoch, best
    models, predictions; the faster of 2 runs of each (alternated). Training images per second = K x training
    images x epochs / wall time, and per CPU-second of this process; the ratios.
(c) Where the time of a K = 4 training step goes (torch profiler, self CPU time by kind of operation, forward and
    backward): separate and packed.

Other sessions may share the machine: the load average (``uptime``) before and after is written with the results,
and the separate and packed runs alternate so that a change of load hits both. Run ``python
benchmarks/bench_packed.py [--quick] [--threads N]``; the tables are printed and written to
``benchmarks/results/packed.md`` (``packed_<N>thread.md`` for another thread count: with 1 thread, the figures
hold while another process occupies the other core, which slows every 2-thread figure several times).
About 5 minutes on 2 idle cores (``--quick``: about 2).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_training import make_data, parameters  # noqa: E402

from clinicadl.models.registry import build_model  # noqa: E402
from clinicadl.runtime.allocator import keep_freed_memory  # noqa: E402
from clinicadl.training.packed_network import packed_forward  # noqa: E402
from clinicadl.training.replicates import train_procedure  # noqa: E402

ARCHITECTURES = ("TinyCNN", "Conv4_FC3")
PACKS = (1, 2, 4)
BATCH = 8
SHAPE = (1, 43, 52, 45)
THREADS = 2
KINDS = {
    "convolution": ("convolution",),
    "batch normalisation": ("batch_norm",),
    "pooling and padding": ("pool", "pad"),
    "ReLU": ("clamp_min", "threshold_backward", "relu"),
    "memory (fill, copy, cat)": ("fill_", "copy_", "cat", "zero_", "empty"),
}
"""Kinds of operation of (c): an aten operator goes to the first kind one of whose words is in its name."""
READING = (
    "Reading (run of 2026-12-04 02:50 on an otherwise idle machine; the benchmark's own 2 threads make the load",
    "after it about 2). With K = 4 the whole procedure (training, packed end-of-epoch evaluation, packed",
    "predictions after the split) reaches 1.64x (TinyCNN) and 1.67x (Conv4_FC3) the throughput of 4 replicates",
    "trained one after the other, K = 2 1.72x and 1.69x: the 1.5x target is met. The training step alone reads",
    "1.41x and 1.57x at K = 4 (1.47x and 1.54x in the run of 02:04: the step's ratio varies by a few % between",
    "runs), 1.67x and 1.69x at K = 2. Before this work the packed step was 0.5-0.7x of separate on 2 threads and",
    "the procedure 0.86-0.88x. The per-operation overhead that a pack pays once is a few % of a step; the gain",
    "comes from: (1) freed memory kept for the next step (clinicadl.runtime.allocator): glibc gave every tensor",
    "above 32 MiB back to the system, and a packed step, whose K-times wider activations are above it, faulted in",
    "100,000 fresh pages (separate networks: 19,000); (2) on a CPU the packed batch is channels-last, a layout in",
    "which oneDNN runs the grouped convolutions and poolings of K x C channels much faster (in (c): convolution",
    "172 -> 81 ms per K = 4 step for TinyCNN, 204 -> 104 for Conv4_FC3, pooling 64 -> 17); (3) the end-of-epoch",
    "evaluation and the predictions after the split (about 30 % of a K = 4 packed procedure before they were",
    "packed) run as one packed pass per batch read once. What stays per replicate: its training data loading and",
    "its checkpoints. On 1 thread (packed_1thread.md, measured before the predictions were packed) the",
    "channels-last layout alone gives separate networks the speed of a pack; the unpacked trainer does not use",
    "it (its float rounding would change). On a GPU, see benchmarks/gpu_training.py --packed (no GPU was lent",
    "to this task).",
)
"""What the figures say, written under them (checked against each new run)."""


def _networks(architecture: str, k: int, channels_last: bool = False) -> list[torch.nn.Module]:
    networks = [build_model(architecture, input_size=SHAPE, output_size=2, task="classification", dropout=0.0,
                            normalization="batch", seed=s, options={}) for s in range(k)]
    if channels_last:
        networks = [network.to(memory_format=torch.channels_last_3d) for network in networks]
    return networks


def _step(architecture: str, k: int, how: str) -> Callable[[], None]:
    """One training step of K networks: ``separate``, ``separate-cl`` (channels-last) or ``packed``."""
    networks = _networks(architecture, k, channels_last=how == "separate-cl")
    optimizers = [torch.optim.Adam(network.parameters(), lr=1e-4) for network in networks]
    images = [torch.randn(BATCH, *SHAPE) for _ in range(k)]
    if how == "separate-cl":
        images = [x.contiguous(memory_format=torch.channels_last_3d) for x in images]
    labels = [torch.randint(0, 2, (BATCH,)) for _ in range(k)]
    criterion = torch.nn.CrossEntropyLoss()

    def step() -> None:
        for optimizer in optimizers:
            optimizer.zero_grad()
        if how == "packed":
            outputs = packed_forward(networks, images)
            sum(criterion(o, y) for o, y in zip(outputs, labels)).backward()
        else:
            for network, x, y in zip(networks, images, labels):
                criterion(network(x), y).backward()
        for optimizer in optimizers:
            optimizer.step()

    return step


def _step_rate(architecture: str, k: int, how: str, *, repeats: int = 5) -> tuple[float, float]:
    """(images/s, images per CPU-second) of one training step of K networks."""
    step = _step(architecture, k, how)
    step()
    step()
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return BATCH * k / statistics.median(walls), BATCH * k / statistics.median(cpus)


def _breakdown(architecture: str, how: str, k: int = 4, steps: int = 3) -> dict[str, float]:
    """Self CPU seconds per step by kind of operation (:data:`KINDS`, then ``other``) of a K-network step."""
    from torch.profiler import ProfilerActivity, profile

    step = _step(architecture, k, how)
    step()
    step()
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            step()
    seconds = dict.fromkeys([*KINDS, "other"], 0.0)
    for event in profiler.key_averages():
        if not event.key.startswith("aten::"):
            continue
        kind = next((kind for kind, words in KINDS.items() if any(w in event.key for w in words)), "other")
        seconds[kind] += event.self_cpu_time_total / 1e6 / steps
    return seconds


def _procedure_rate(caps: Path, tsv: Path, architecture: str, k: int, pack: int, folder: Path, epochs: int
                    ) -> tuple[float, float, float]:
    """(wall seconds, training images/s, training images per CPU-second) of K replicates, ``pack_replicates=pack``."""
    params = parameters(caps, tsv, architecture, epochs=epochs)
    out = folder / f"maps_{architecture}_{k}_{pack}_{time.monotonic_ns()}"
    start, cpu = time.perf_counter(), time.process_time()
    train_procedure(params, out, replicates=k, root_seed=0, vary=("init", "order", "augmentation", "dropout"),
                    pack_replicates=pack, progress=False)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    images = len((out / "replicate-0" / "groups" / "train" / "split-0" / "data.tsv").read_text().splitlines()) - 1
    shutil.rmtree(out)
    return wall, k * images * epochs / wall, k * images * epochs / cpu


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help=f"torch threads (default {THREADS}; another count writes packed_<n>thread.md)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    started, load_before = time.perf_counter(), _load()
    epochs = 1 if args.quick else 2
    rows_step, rows_proc, rows_kind = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        caps, tsv, _ = make_data(folder, n_participants=40 if args.quick else 60,
                                 sessions=1 if args.quick else (1, 2), resolution=4)
        _step_rate(ARCHITECTURES[0], 1, "separate", repeats=1)  # warm-up: oneDNN, allocator
        _procedure_rate(caps, tsv, ARCHITECTURES[0], 1, 1, folder, 1)
        for architecture in ARCHITECTURES:
            for k in PACKS:
                separate, layout, packed = (_step_rate(architecture, k, how)
                                            for how in ("separate", "separate-cl", "packed"))
                rows_step.append(f"| {architecture} | {k} | {separate[0]:.1f} | {layout[0]:.1f} | {packed[0]:.1f} | "
                                 f"{packed[0] / separate[0]:.2f} | {separate[1]:.1f} | {packed[1]:.1f} | "
                                 f"{packed[1] / separate[1]:.2f} |")
                print(rows_step[-1], flush=True)
        for architecture in ARCHITECTURES:
            for k in PACKS:
                runs = [_procedure_rate(caps, tsv, architecture, k, pack, folder, epochs)
                        for _ in range(2) for pack in (1, k)]
                wall_sep, rate_sep, cpu_sep = min(runs[0::2])
                wall_pack, rate_pack, cpu_pack = min(runs[1::2])
                rows_proc.append(f"| {architecture} | {k} | {wall_sep:.1f} | {wall_pack:.1f} | {rate_sep:.1f} | "
                                 f"{rate_pack:.1f} | {rate_pack / rate_sep:.2f} | {cpu_sep:.1f} | {cpu_pack:.1f} | "
                                 f"{cpu_pack / cpu_sep:.2f} |")
                print(rows_proc[-1], flush=True)
        for architecture in ARCHITECTURES:
            for how in ("separate", "packed"):
                seconds = _breakdown(architecture, how)
                total = sum(seconds.values())
                rows_kind.append(f"| {architecture} | {how} | {total * 1000:.0f} | " + " | ".join(
                    f"{value * 1000:.0f} ({100 * value / total:.0f} %)" for value in seconds.values()) + " |")
                print(rows_kind[-1], flush=True)
    load_after = _load()
    # the benchmark itself loads `threads` cores: busy when others load them before it, or beyond it after
    busy = float(load_before.split(", ")[0]) > 1.0 or float(load_after.split(", ")[0]) > args.threads + 1.0
    text = "\n".join([
        "# Packed replicates benchmark (CPU)", "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores; load average (1, 5, 15 min) before the run "
        f"{load_before}, after {load_after}"
        + (" (another session was using the cores during the run: every figure is slowed, unevenly)" if busy
           else ""),
        f"- torch {torch.__version__}, {args.threads} thread(s); batch {BATCH}; images {SHAPE[1:]} (4 mm); freed "
        "memory kept for the next step (clinicadl.runtime.allocator, as in training)",
        "- GPU: none lent to this task; benchmarks/gpu_training.py --packed measures packing on a GPU "
        "(not run here).",
        f"- script wall time {(time.perf_counter() - started) / 60:.1f} min{' (--quick)' if args.quick else ''}", "",
        "## (a) Training step of K replicates (forward, backward, optimizer step; images in memory)", "",
        "| architecture | K | separate (img/s) | separate, channels-last (img/s) | packed (img/s) | packed / separate "
        "| separate (img per CPU-s) | packed (img per CPU-s) | packed / separate (CPU) |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows_step, "",
        f"## (b) Whole procedure: K replicates, {epochs} epoch(s), split 0 (training, evaluation, predictions)", "",
        "| architecture | K | separate (s) | packed (s) | separate (train img/s) | packed (train img/s) | "
        "packed / separate | separate (img per CPU-s) | packed (img per CPU-s) | packed / separate (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|", *rows_proc, "",
        "## (c) Where the time of a K = 4 training step goes (self CPU ms per step, torch profiler, summed over "
        "threads)", "",
        "| architecture | step | total | " + " | ".join([*KINDS, "other"]) + " |",
        "|---|---|---|" + "---|" * (len(KINDS) + 1), *rows_kind, "",
        *READING, "",
    ])
    print(text)
    name = "packed.md" if args.threads == THREADS else f"packed_{args.threads}thread.md"
    (HERE / "results" / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
