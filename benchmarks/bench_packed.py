"""CPU throughput of replicates trained together (``--pack_replicates K``) against K replicates trained one at a time.

Workload: the cohort of ``bench_training.py`` at 4 mm (60 participants with 1-2 sessions, about 95 images of
43 x 52 x 45 voxels; ``--quick``: 40 participants, 1 session), ``prepare-data`` image mode, a 2-fold split of which
split 0 is trained (batch 8, Adam, ``--n_proc 0``, 1 torch thread).

Measured, for TinyCNN and Conv4_FC3 and K = 1, 2, 4:

(a) The training step alone (forward, backward, optimizer step of K networks on K batches of 8 images held in
    memory): K separate networks one after the other, against one packed step
    (:func:`clinicadl.training.packed_network.packed_forward`); images per CPU-second of this (1-thread) process,
    median of 5 steps after one warm-up: CPU time is what a quiet machine's wall time would be, and is far less
    disturbed than wall time by the other processes of a shared machine.
(b) The whole procedure: ``train_procedure(..., replicates=K)`` with ``pack_replicates=1`` (one at a time, in this
    process) and ``pack_replicates=K``, 2 epochs (1 with ``--quick``): training, evaluation of each epoch, best
    models, predictions. Training images per second = K x training images x epochs / wall time, and per
    CPU-second of this process; the ratios.

Other sessions share the machine: the load average (``uptime``) before and after is written with the results; the
packed and separate runs alternate so that a change of load hits both. Run ``python benchmarks/bench_packed.py
[--quick]``; the tables are printed and written to ``benchmarks/results/packed.md``. About 4 minutes on 2 quiet
cores (``--quick``: about 2).
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
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_training import make_data, parameters  # noqa: E402

from clinicadl.models.registry import build_model  # noqa: E402
from clinicadl.training.packed_network import packed_forward  # noqa: E402
from clinicadl.training.replicates import train_procedure  # noqa: E402

ARCHITECTURES = ("TinyCNN", "Conv4_FC3")
PACKS = (1, 2, 4)
BATCH = 8
SHAPE = (1, 43, 52, 45)
READING = (
    "Reading: on a CPU, packing saves only the per-operation overhead (paid once instead of K times), small next",
    "to the convolutions of a 3D image at 4 mm, while K-times larger tensors leave the cache; the packed step is",
    "not faster than K separate ones (the target of 1.5x for K = 4 on 2 cores is not reached). Packing is meant",
    "for GPUs, where one small network leaves the device idle (gpu_training.py --packed).",
)
"""What the figures say, written under them (checked against each new run)."""


def _step_rate(architecture: str, k: int, packed: bool, *, repeats: int = 5) -> float:
    """Images/s of one training step of K networks (separately, or packed)."""
    networks = [build_model(architecture, input_size=SHAPE, output_size=2, task="classification", dropout=0.0,
                            normalization="batch", seed=s, options={}) for s in range(k)]
    optimizers = [torch.optim.Adam(network.parameters(), lr=1e-4) for network in networks]
    images = [torch.randn(BATCH, *SHAPE) for _ in range(k)]
    labels = [torch.randint(0, 2, (BATCH,)) for _ in range(k)]
    criterion = torch.nn.CrossEntropyLoss()

    def step() -> None:
        for optimizer in optimizers:
            optimizer.zero_grad()
        if packed:
            outputs = packed_forward(networks, images)
            sum(criterion(o, y) for o, y in zip(outputs, labels)).backward()
        else:
            for network, x, y in zip(networks, images, labels):
                criterion(network(x), y).backward()
        for optimizer in optimizers:
            optimizer.step()

    step()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
    return BATCH * k / statistics.median(times)


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
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    started, load_before = time.perf_counter(), _load()
    epochs = 1 if args.quick else 2
    rows_step, rows_proc = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        caps, tsv, _ = make_data(folder, n_participants=40 if args.quick else 60,
                                 sessions=1 if args.quick else (1, 2), resolution=4)
        for architecture in ARCHITECTURES:
            for k in PACKS:
                separate, packed = _step_rate(architecture, k, False), _step_rate(architecture, k, True)
                rows_step.append(f"| {architecture} | {k} | {separate:.1f} | {packed:.1f} | {packed / separate:.2f} |")
                print(rows_step[-1], flush=True)
        for architecture in ARCHITECTURES:
            for k in PACKS:
                wall_sep, rate_sep, cpu_sep = _procedure_rate(caps, tsv, architecture, k, 1, folder, epochs)
                wall_pack, rate_pack, cpu_pack = _procedure_rate(caps, tsv, architecture, k, k, folder, epochs)
                rows_proc.append(f"| {architecture} | {k} | {wall_sep:.1f} | {wall_pack:.1f} | {rate_sep:.1f} | "
                                 f"{rate_pack:.1f} | {rate_pack / rate_sep:.2f} | {cpu_sep:.1f} | {cpu_pack:.1f} | "
                                 f"{cpu_pack / cpu_sep:.2f} |")
                print(rows_proc[-1], flush=True)
    text = "\n".join([
        "# Packed replicates benchmark (CPU)", "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores; load average (1, 5, 15 min) before the run "
        f"{load_before}, after {_load()} (other sessions share the cores: every figure is slowed, unevenly)",
        f"- torch {torch.__version__}, 1 thread; batch {BATCH}; images {SHAPE[1:]} (4 mm)",
        "- GPU: none lent to this task; benchmarks/gpu_training.py --packed measures packing on a GPU "
        "(not run here).",
        f"- script wall time {(time.perf_counter() - started) / 60:.1f} min{' (--quick)' if args.quick else ''}", "",
        "## (a) Training step of K replicates (forward, backward, optimizer step; images in memory)", "",
        "| architecture | K | separate (img per CPU-s) | packed (img per CPU-s) | packed / separate |",
        "|---|---|---|---|---|",
        *rows_step, "",
        f"## (b) Whole procedure: K replicates, {epochs} epoch(s), split 0 (training, evaluation, predictions)", "",
        "| architecture | K | separate (s) | packed (s) | separate (train img/s) | packed (train img/s) | "
        "packed / separate | separate (img per CPU-s) | packed (img per CPU-s) | packed / separate (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|", *rows_proc, "",
        *READING, "",
    ])
    print(text)
    (HERE / "results" / "packed.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
