"""Throughput of ``prepare-data`` and of :class:`clinicadl.data.datasets.CapsDataset`, measured in one run.

Workload: a t1-linear CAPS of N synthetic images of 85 x 104 x 90 voxels (about a 2 mm cropped MNI image,
3.2 MB as float32), written by this script in a temporary folder; N = 100 (30 with ``--quick``).

Measured:

- ``prepare-data image`` with 1 and 2 worker processes (images/s), then a rerun that finds everything
  extracted (the resumability check alone).
- Iterating a ``DataLoader`` (batch 8, main process) over the image-mode dataset: the first epoch (cache
  empty: every tensor read from the file, which the OS may still hold in its page cache), later epochs (the
  in-memory cache), the peer without cache (``cache=False``: ``torch.load`` of every file every epoch, as
  ClinicaDL 1.x does), and cached epochs with augmentation (Noise, Flip, Affine; BiasField).
- Slice mode without saved features (axial slices cut on the fly from the cached image), items/s.
- Two persistent DataLoader workers (each process has its own cache: the first epoch fills both).

Run ``python benchmarks/bench_dataset.py [--quick]``; the table is printed and written to
``benchmarks/results/dataset.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import monai  # noqa: E402

from clinicadl.data.datasets import CapsDataset, cache_info, clear_cache  # noqa: E402
from clinicadl.data.extraction import extraction_parameters, prepare_data  # noqa: E402

SHAPE = (85, 104, 90)
NAME = "{p}_ses-M000_space-MNI152NLin2009cSym_desc-Crop_res-2x2x2_T1w.nii.gz"


def make_caps(root: Path, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, dim) for dim in SHAPE], indexing="ij"))
    brain = np.exp(-(grid**2).sum(axis=0) * 2).astype(np.float32) * 1000
    participants = []
    for index in range(n):
        participant = f"sub-{index:03d}"
        path = root / "subjects" / participant / "ses-M000" / "t1_linear" / NAME.format(p=participant)
        path.parent.mkdir(parents=True)
        noise = rng.normal(0, 20, size=SHAPE).astype(np.float32)
        nib.save(nib.Nifti1Image(brain + noise, np.diag([2.0, 2.0, 2.0, 1.0])), path)
        participants.append(participant)
    return pd.DataFrame({"participant_id": participants, "session_id": "ses-M000",
                         "diagnosis": ["AD", "CN"] * (n // 2) + ["AD"] * (n % 2)})


def epoch_rate(dataset, *, epochs: int = 1, workers: int = 0, loader=None) -> float:
    """Items per second over ``epochs`` epochs of a DataLoader (batch 8)."""
    loader = loader or DataLoader(dataset, batch_size=8, shuffle=True, num_workers=workers,
                                  generator=torch.Generator().manual_seed(0))
    start, count = time.perf_counter(), 0
    for epoch in range(epochs):
        dataset.set_epoch(epoch)
        for batch in loader:
            count += len(batch["image"])
    return count / (time.perf_counter() - start)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 images instead of 100")
    args = parser.parse_args(argv)
    n = 30 if args.quick else 100
    torch.set_num_threads(1)  # as in a DataLoader worker; more threads only add contention for 3 MB tensors
    rows = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        caps = Path(folder) / "caps"
        start = time.perf_counter()
        data = make_caps(caps, n)
        print(f"CAPS of {n} images {SHAPE} written in {time.perf_counter() - start:.1f} s", flush=True)

        for n_proc in (1, 2):
            parameters = extraction_parameters("image", "t1-linear", extract_json=f"image{n_proc}.json")
            for tensor in caps.rglob("*.pt"):
                tensor.unlink()
            start = time.perf_counter()
            prepare_data(caps, parameters, n_proc=n_proc, progress=False)
            rows.append((f"prepare-data image, n_proc={n_proc}", n / (time.perf_counter() - start), "images/s"))
        start = time.perf_counter()
        result = prepare_data(caps, parameters, n_proc=1, progress=False)
        assert result.n_written == 0
        rows.append(("prepare-data rerun (all valid: checks only)", n / (time.perf_counter() - start), "images/s"))

        clear_cache()
        dataset = CapsDataset(caps, data, "image1.json", label="diagnosis", label_code={"AD": 0, "CN": 1})
        rows.append(("image dataset, epoch 1 (cache empty)", epoch_rate(dataset), "images/s"))
        assert cache_info().misses == n
        rows.append(("image dataset, epochs 2-4 (cached)", epoch_rate(dataset, epochs=3), "images/s"))
        assert cache_info().misses == n
        uncached = CapsDataset(caps, data, "image1.json", label="diagnosis", label_code={"AD": 0, "CN": 1},
                               cache=False)
        rows.append(("peer: no cache (torch.load every epoch), 3 epochs", epoch_rate(uncached, epochs=3),
                     "images/s"))
        for names in (["Noise", "Flip"], ["Noise", "Flip", "Affine"], ["BiasField"]):
            augmented = CapsDataset(caps, data, "image1.json", label="diagnosis", label_code={"AD": 0, "CN": 1},
                                    augmentation=names, seed=1)
            rows.append((f"image dataset cached + augmentation {'+'.join(names)}", epoch_rate(augmented),
                         "images/s"))

        slices = extraction_parameters("slice", "t1-linear", slice_direction=2, slice_mode="single",
                                       extract_json="slice.json")
        prepare_data(caps, slices, n_proc=1, progress=False)
        slice_dataset = CapsDataset(caps, data, "slice.json", label="diagnosis", label_code={"AD": 0, "CN": 1})
        rows.append(("slice dataset (cut on the fly from cached images)", epoch_rate(slice_dataset), "slices/s"))

        workers = DataLoader(dataset, batch_size=8, shuffle=True, num_workers=2, persistent_workers=True,
                             generator=torch.Generator().manual_seed(0))
        rows.append(("2 persistent workers, epoch 1 (caches empty)", epoch_rate(dataset, loader=workers),
                     "images/s"))
        rows.append(("2 persistent workers, epochs 2-4 (cached)", epoch_rate(dataset, epochs=3, loader=workers),
                     "images/s"))
        del workers

    peer = next(rate for what, rate, _ in rows if what.startswith("peer"))
    extraction, iteration = rows[:3], rows[3:]
    lines = [
        "# Dataset benchmark",
        "",
        f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores ({platform.platform()}); load average before "
        f"the run {load[0]:.1f}, after {os.getloadavg()[0]:.1f} (other processes slow every figure)",
        "- torch threads: 1 in the main process (as in DataLoader workers)",
        f"- python {platform.python_version()}, torch {torch.__version__}, monai {monai.__version__}, "
        f"nibabel {nib.__version__}",
        f"- workload: {n} synthetic t1-linear images of {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} voxels (float32, "
        f"{4 * np.prod(SHAPE) / 1e6:.1f} MB each, .nii.gz); DataLoader batch 8, shuffled, main process unless said.",
        "- 'cache empty' reads every tensor with torch.load; the files were written shortly before, so the OS page "
        "cache may serve part of them (a real cold disk is slower).",
        "- n_proc > 1 forks worker processes; on a machine whose cores are busy with other work it cannot help.",
        "",
        "## prepare-data",
        "",
        "| what | images/s |",
        "|---|---|",
        *[f"| {what} | {rate:,.1f} |" for what, rate, _ in extraction],
        "",
        "## Dataset iteration",
        "",
        "| what | rate | unit | vs peer without cache |",
        "|---|---|---|---|",
        *[f"| {what} | {rate:,.1f} | {unit} | {rate / peer:.2f}x |" for what, rate, unit in iteration],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "benchmarks" / "results" / "dataset.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
