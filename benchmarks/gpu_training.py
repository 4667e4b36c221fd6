"""GPU throughput of ``clinicadl train`` at full t1-linear size (169 x 208 x 179), one command, under 8 minutes.

Usage (on a machine with one CUDA GPU; the data are made in a temporary folder, never under ``--out``)::

    python benchmarks/gpu_training.py --out DIR            # the benchmark (H100: about 5-6 minutes)
    python benchmarks/gpu_training.py --out DIR --dry-run  # the same code path on CPU with tiny images (< 1 min)
    python benchmarks/gpu_training.py --out DIR --packed   # packed replicates (--pack_replicates), < 8 minutes
    python benchmarks/gpu_training.py --out DIR --packed --dry-run   # its CPU path, tiny images (< 1 min)

Steps: ``generate cohort --resolution 1`` (64 participants x 1 session, ``n_proc`` = min(16, cores)),
``prepare-data`` image, ``tsvtools split`` (8 participants validate, 56 train), then Conv5_FC3 trained for 2 epochs
(batch 8, Adam, ``--gpu``) in these configurations, in order of priority (a configuration that would start after
``--budget`` seconds is skipped and said so):

- R = 1, 2, 4 replicates sharing the GPU, each a separate process running ``train_procedure`` (the library) with
  its own root seed, started together; AMP off and on; ``--n_proc 2`` (the default: 2 persistent DataLoader
  workers per loader);
- R = 1 with data loading in the main process (``--n_proc 0``);
- one ``clinicadl train ... --replicates 2 --n_jobs 2 --gpu`` command (the product's own way of sharing a GPU):
  wall time, and its epochs' times from ``training.tsv``.

Reported per configuration: images/s of the training pass (forward, backward, step over the training group) in
epoch 1 (tensor cache empty, every image read from disk) and epoch 2 (cached), per process and summed over the R
processes; the epoch with its evaluation (train + validation groups); the whole training of each process; the
peak GPU memory of each process (``torch.cuda.max_memory_allocated``, and ``max_memory_reserved``); the GPU
(``torch.cuda.get_device_name``). Written to ``DIR/gpu_training.md`` (after every configuration, so a timeout
still leaves a table), ``DIR/gpu_training.json`` and ``DIR/logs/``.

``--packed``: the training step (forward, backward, Adam step; batch 8 of images held in GPU memory, fp32) of K =
1, 2, 4, 8, 16 replicates of Conv5_FC3 at full size and at 2 mm (85 x 104 x 90): K separate networks one after
the other against one packed network (:func:`clinicadl.training.packed_network.packed_forward`, what
``--pack_replicates K`` runs); images/s (median of 3 steps after a warm-up) and peak GPU memory
(``max_memory_allocated``); a K that does not fit is reported "out of memory" and the larger ones skipped. Written
to ``DIR/gpu_packed.md`` after every row.

Without CUDA (and without ``--dry-run``) it prints one line saying so and exits with status 1 (no traceback).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

JSON = "image.json"
ARCHITECTURE = "Conv5_FC3"


# ------------------------------------------------------------------------------------------------------ worker

def worker(config_path: str) -> int:
    """Train one replicate in this process, timing each epoch; write the result JSON next to the config."""
    config = json.loads(Path(config_path).read_text())
    import torch

    from clinicadl.data import datasets
    from clinicadl.training import loop
    from clinicadl.training.config import load_config, resolve_parameters
    from clinicadl.training.replicates import train_procedure

    cuda = bool(config["gpu"])
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    given = {"architecture": ARCHITECTURE, "epochs": config["epochs"], "n_splits": 0, "gpu": cuda,
             "n_proc": config["n_proc"], "batch_size": config["batch_size"], "amp": config["amp"]}
    parameters = resolve_parameters(load_config("classification", given), network_task="classification",
                                    caps_directory=config["caps"], preprocessing_json=JSON,
                                    tsv_directory=config["tsv"])
    datasets.set_cache_size(8 * 2**30)  # every image of the run fits (64 x 25 MB)
    epochs: list[dict] = []
    set_epoch, evaluate = datasets.CapsDataset.set_epoch, loop._evaluate

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def timed_set_epoch(dataset, epoch):
        sync()
        epochs.append({"start": time.time(), "n": len(dataset), "eval_start": None, "eval_end": None})
        return set_epoch(dataset, epoch)

    def timed_evaluate(*args, **kwargs):
        sync()
        epochs[-1]["eval_start"] = epochs[-1]["eval_start"] or time.time()
        out = evaluate(*args, **kwargs)
        sync()
        epochs[-1]["eval_end"] = time.time()
        return out

    datasets.CapsDataset.set_epoch, loop._evaluate = timed_set_epoch, timed_evaluate
    start = time.time()
    train_procedure(parameters, config["maps"], replicates=None, root_seed=config["seed"], progress=False)
    end = time.time()
    result = {
        "epochs": epochs, "start": start, "end": end,
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or platform.machine(),
        "max_allocated": torch.cuda.max_memory_allocated() if cuda else 0,
        "max_reserved": torch.cuda.max_memory_reserved() if cuda else 0,
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
    }
    Path(config["result"]).write_text(json.dumps(result))
    return 0


# ------------------------------------------------------------------------------------------------------ packed

PACKED_SIZES = {"full size": (1, 169, 208, 179), "2 mm": (1, 85, 104, 90)}
PACKED_K = (1, 2, 4, 8, 16)


def packed_step(shape: tuple[int, ...], k: int, packed: bool, device, *, batch_size: int = 8,
                repeats: int = 3) -> tuple[float, int]:
    """(images/s, peak bytes) of the training step of K Conv5_FC3 replicates, separate or packed."""
    import statistics

    import torch

    from clinicadl.models.registry import build_model
    from clinicadl.training.packed_network import packed_forward

    cuda = device.type == "cuda"
    networks = [build_model(ARCHITECTURE, input_size=shape, output_size=2, task="classification", dropout=0.0,
                            normalization="batch", seed=s, options={}).to(device) for s in range(k)]
    optimizers = [torch.optim.Adam(network.parameters(), lr=1e-4) for network in networks]
    images = [torch.randn(batch_size, *shape, device=device) for _ in range(k)]
    labels = [torch.randint(0, 2, (batch_size,), device=device) for _ in range(k)]
    criterion = torch.nn.CrossEntropyLoss()

    def step() -> None:
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        if packed:
            outputs = packed_forward(networks, images)
            torch.stack([criterion(o, y) for o, y in zip(outputs, labels)]).sum().backward()
        else:
            for network, x, y in zip(networks, images, labels):
                criterion(network(x), y).backward()
        for optimizer in optimizers:
            optimizer.step()
        if cuda:
            torch.cuda.synchronize()

    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() if cuda else 0
    return batch_size * k / statistics.median(times), peak


def run_packed(out: Path, *, dry: bool, budget: float) -> int:
    """``--packed``: the table of packed against separate training steps, written after every row."""
    import torch

    device = torch.device("cpu" if dry else "cuda")
    sizes = {"dry run": (1, 16, 20, 16)} if dry else PACKED_SIZES
    ks = (1, 2, 4) if dry else PACKED_K
    name = "CPU (dry run: no figure here means anything)" if dry else torch.cuda.get_device_name()
    lines = [f"# Packed replicates on a GPU ({name})", "",
             f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}; torch {torch.__version__}, CUDA "
             f"{torch.version.cuda}", f"- {ARCHITECTURE}, batch 8 per replicate, fp32, Adam; images in GPU memory; "
             "img/s of the training step summed over the K replicates; memory: peak allocated", "",
             "| image | K | separate img/s | packed img/s | packed / separate | separate GiB | packed GiB |",
             "|---|---|---|---|---|---|---|"]
    begin, start_rows = time.perf_counter(), len(lines)
    for label, shape in sizes.items():
        for k in ks:
            if time.perf_counter() - begin > budget:
                lines.append(f"| {label} | {k} | skipped (time budget) | | | | |")
                continue
            try:
                separate, mem_separate = packed_step(shape, k, False, device)
                packed, mem_packed = packed_step(shape, k, True, device)
            except torch.OutOfMemoryError:
                lines.append(f"| {label} | {k} | out of memory | | | | |")
                torch.cuda.empty_cache()
                break
            lines.append(f"| {label} | {k} | {separate:.1f} | {packed:.1f} | {packed / separate:.2f} | "
                         f"{mem_separate / 2**30:.2f} | {mem_packed / 2**30:.2f} |")
            print(lines[-1], flush=True)
            (out / "gpu_packed.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "gpu_packed.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0 if len(lines) > start_rows else 1


# ------------------------------------------------------------------------------------------------------ driver

def make_data(folder: Path, *, n_participants: int, n_validation: int, resolution: int, n_proc: int) -> dict:
    from clinicadl.data.extraction import extraction_parameters, prepare_data
    from clinicadl.data.generate import generate_cohort
    from clinicadl.data.tsvtools import split_tsv

    start = time.perf_counter()
    cohort = generate_cohort(folder / "caps", n_participants=n_participants, sessions=1, resolution=resolution,
                             effect_size=1.5, seed=0, n_proc=n_proc)
    generated = time.perf_counter()
    prepare_data(cohort.caps_directory, extraction_parameters("image", "t1-linear", extract_json=JSON),
                 n_proc=n_proc, progress=False)
    prepared = time.perf_counter()
    labels = folder / "labels"
    labels.mkdir()
    shutil.copy(cohort.data_tsv, labels / "data.tsv")
    split = split_tsv(labels / "data.tsv", n_test=n_validation, subset_name="validation", ignore_demographics=True)
    import torch

    shape = tuple(torch.load(next(cohort.caps_directory.rglob("*.pt")), weights_only=True).shape[1:])
    return {"caps": str(cohort.caps_directory), "tsv": str(split.folder), "n_images": cohort.n_images,
            "shape": shape, "generate_s": generated - start, "prepare_s": prepared - generated}


def summarise(name: str, results: list[dict]) -> dict:
    """Per-process and summed images/s of the training pass, epoch 1 and later epochs."""
    row = {"name": name, "R": len(results), "processes": []}
    for r in results:
        e = r["epochs"]
        ends = [x["start"] for x in e[1:]] + [e[-1]["eval_end"]]
        later = range(1, len(e))
        n = e[0]["n"]
        row["processes"].append({
            "n_train": n,
            "first": n / (e[0]["eval_start"] - e[0]["start"]),
            "later": n * len(later) / sum(e[i]["eval_start"] - e[i]["start"] for i in later) if later else None,
            "later_epoch": n * len(later) / sum(ends[i] - e[i]["start"] for i in later) if later else None,
            "total_s": r["end"] - r["start"],
            "max_allocated": r["max_allocated"], "max_reserved": r["max_reserved"],
        })
    processes = row["processes"]
    row["first_sum"] = sum(p["first"] for p in processes)
    row["later_sum"] = sum(p["later"] or 0 for p in processes)
    row["later_epoch_sum"] = sum(p["later_epoch"] or 0 for p in processes)
    first = min(r["epochs"][0]["start"] for r in results)
    last = max(r["epochs"][-1]["eval_end"] for r in results)
    row["window_rate"] = sum(p["n_train"] * len(r["epochs"]) for p, r in zip(processes, results)) / (last - first)
    row["total_s"] = max(r["end"] for r in results) - min(r["start"] for r in results)
    row["max_allocated"] = max(p["max_allocated"] for p in processes)
    row["max_reserved"] = max(p["max_reserved"] for p in processes)
    row["device"] = results[0]["device"]
    row["versions"] = {k: results[0][k] for k in ("torch", "cuda", "cudnn")}
    return row


def run_processes(name: str, data: dict, folder: Path, logs: Path, *, replicates: int, amp: bool, n_proc: int,
                  gpu: bool, epochs: int, batch_size: int) -> dict:
    tag = name.replace(" ", "_").replace(",", "").replace("=", "")
    configs, procs = [], []
    for k in range(replicates):
        config = {"caps": data["caps"], "tsv": data["tsv"], "maps": str(folder / f"maps_{tag}_{k}"), "seed": k,
                  "gpu": gpu, "amp": amp, "n_proc": n_proc, "epochs": epochs, "batch_size": batch_size,
                  "result": str(folder / f"result_{tag}_{k}.json")}
        path = folder / f"config_{tag}_{k}.json"
        path.write_text(json.dumps(config))
        configs.append(config)
        log = open(logs / f"{tag}_{k}.log", "w")
        procs.append((subprocess.Popen([sys.executable, __file__, "--worker", str(path)], stdout=log,
                                       stderr=subprocess.STDOUT, cwd=ROOT, env=_env()), log))
    codes = []
    for proc, log in procs:
        codes.append(proc.wait())
        log.close()
    for config in configs:
        shutil.rmtree(config["maps"], ignore_errors=True)
    if any(codes):
        raise RuntimeError(f"{name}: worker exit codes {codes}; see {logs}/{tag}_*.log")
    return summarise(name, [json.loads(Path(c["result"]).read_text()) for c in configs])


def run_cli(data: dict, folder: Path, logs: Path, *, replicates: int, gpu: bool, epochs: int,
            batch_size: int) -> dict:
    import pandas as pd

    maps = folder / "maps_cli"
    args = [sys.executable, "-m", "clinicadl", "train", "classification", data["caps"], JSON, data["tsv"], str(maps),
            "-a", ARCHITECTURE, "--epochs", str(epochs), "--batch_size", str(batch_size),
            "--gpu" if gpu else "--no-gpu", "--replicates", str(replicates), "--n_jobs", str(replicates)]
    start = time.perf_counter()
    with open(logs / "cli.log", "w") as log:
        code = subprocess.call(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=_env())
    wall = time.perf_counter() - start
    if code:
        raise RuntimeError(f"clinicadl train --replicates {replicates} exited {code}; see {logs}/cli.log")
    epoch_s = []
    for tsv in sorted(maps.glob("replicate-*/split-0/training_logs/training.tsv")):
        times = pd.read_csv(tsv, sep="\t")["time"].tolist()
        epoch_s.append([round(b - a, 2) for a, b in zip([0.0, *times[:-1]], times)])
    shutil.rmtree(maps, ignore_errors=True)
    return {"name": f"clinicadl train --replicates {replicates} --n_jobs {replicates}", "wall_s": wall,
            "epoch_s": epoch_s}


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def write_report(out: Path, meta: dict, rows: list[dict], cli: list[dict], skipped: list[str], errors: list[str]):
    gb = lambda b: f"{b / 2**30:.2f}"  # noqa: E731
    lines = [
        "# Training benchmark (GPU)" + (" -- DRY RUN on CPU, tiny images: no figure here means anything"
                                        if meta["dry_run"] else ""),
        "",
        f"- date: {meta['date']}; script wall time so far {meta['elapsed']:.0f} s",
        f"- device: {meta.get('device', '?')}; host {platform.machine()}, {os.cpu_count()} cores",
        f"- versions: python {platform.python_version()}, {meta.get('versions', '')}, clinicadl {meta['clinicadl']}",
        f"- data: generate cohort --resolution {meta['resolution']} ({meta['n_images']} images of "
        f"{'x'.join(map(str, meta['shape']))}, {meta['generate_s']:.0f} s with n_proc {meta['n_proc']}), prepare-data"
        f" image ({meta['prepare_s']:.0f} s), tsvtools split ({meta['n_validation']} participants validate)",
        f"- training: {ARCHITECTURE}, {meta['epochs']} epochs, batch {meta['batch_size']}, Adam; each process "
        "trains one replicate (its own root seed); R processes start together and share the GPU; --n_proc "
        f"{meta['n_proc_loaders']} unless said (/dev/shm: {meta['shm_gib']} GiB; below 4 GiB the DataLoader workers, "
        "which pass batches through it, are not used)",
        "- img/s = training images / seconds of the training pass (forward + backward + step, GPU synchronised); "
        "'sum' adds the R processes' rates; 'window' = all training images of all epochs / (last epoch end - first "
        "epoch start), evaluation included; epoch 1 reads the tensor files (OS page cache warm), epoch 2+ the "
        "in-memory cache",
        "",
        "| configuration | R | train img/process | epoch 1 img/s (sum) | epoch 2+ img/s (sum) | epoch 2+ img/s per "
        "process | epoch 2+ with evaluation img/s (sum) | window img/s | wall (s) | GPU mem peak allocated / reserved "
        "per process (GiB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        per = ", ".join(f"{p['later']:.1f}" for p in row["processes"] if p["later"] is not None)
        lines.append(f"| {row['name']} | {row['R']} | {row['processes'][0]['n_train']} | {row['first_sum']:.1f} | "
                     f"{row['later_sum']:.1f} | {per} | {row['later_epoch_sum']:.1f} | {row['window_rate']:.1f} | "
                     f"{row['total_s']:.0f} | {gb(row['max_allocated'])} / {gb(row['max_reserved'])} |")
    for entry in cli:
        lines += ["", f"- `{entry['name']}`: wall {entry['wall_s']:.0f} s (processes, data loading, training, "
                      f"predictions); seconds per epoch (with evaluation) of each replicate: {entry['epoch_s']}"]
    if skipped:
        lines += ["", "Skipped (time budget): " + "; ".join(skipped)]
    if errors:
        lines += ["", "Errors:", *[f"- {e}" for e in errors]]
    text = "\n".join(lines) + "\n"
    (out / "gpu_training.md").write_text(text, encoding="utf-8")
    (out / "gpu_training.json").write_text(json.dumps({"meta": meta, "rows": rows, "cli": cli, "skipped": skipped,
                                                       "errors": errors}, indent=1, default=str))
    return text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder for the report (created)")
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny images (resolution 8), few processes")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds after which no new configuration starts (default 400; dry run 50)")
    parser.add_argument("--participants", type=int, default=None, help="default 64 (dry run 12)")
    parser.add_argument("--workdir", default=None, help="where the data are made (default: a temporary folder)")
    parser.add_argument("--packed", action="store_true",
                        help="packed replicates: training step of K = 1..16 Conv5_FC3 replicates, packed vs separate")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    if not args.out:
        parser.error("--out DIR is required")
    begin = time.perf_counter()
    import torch

    import clinicadl

    if not args.dry_run and not torch.cuda.is_available():
        print("gpu_training.py: no CUDA device (torch.cuda.is_available() is False, torch "
              f"{torch.__version__}, CUDA build {torch.version.cuda}); this benchmark needs a GPU. "
              "Use --dry-run to check the script on CPU.", file=sys.stderr)
        return 1
    dry = args.dry_run
    out = Path(args.out)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if args.packed:
        return run_packed(out, dry=dry, budget=args.budget if args.budget is not None else (45 if dry else 420))
    budget = args.budget if args.budget is not None else (45 if dry else 400)
    cores = os.cpu_count() or 1
    n_participants = args.participants or (12 if dry else 64)
    n_validation = 4 if dry else 8
    resolution, epochs, batch_size, n_proc = (8 if dry else 1), 2, (4 if dry else 8), min(16, cores)
    gpu = not dry
    # (name, R, amp, n_proc) in order of priority
    shm = shutil.disk_usage("/dev/shm").total if Path("/dev/shm").is_dir() else 0
    workers = 2 if shm >= 4 * 2**30 or dry else 0  # DataLoader workers pass batches through /dev/shm
    plan = [("R=1, AMP off", 1, False, workers), ("R=1, AMP off, n_proc 0", 1, False, 0),
            ("R=1, AMP on", 1, True, workers), ("R=2, AMP off", 2, False, workers),
            ("R=4, AMP off", 4, False, workers), ("R=2, AMP on", 2, True, workers), ("R=4, AMP on", 4, True, workers)]
    if dry:  # every code path once: DataLoader workers, AMP, concurrent processes, the CLI
        plan = [("R=1, AMP on", 1, True, 2), ("R=2, AMP off", 2, False, 0)]
    rows, cli, skipped, errors = [], [], [], []
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="gpu_training_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        data = make_data(work, n_participants=n_participants, n_validation=n_validation, resolution=resolution,
                         n_proc=n_proc)
        meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "dry_run": dry,
                "clinicadl": clinicadl.__version__, "resolution": resolution, "n_images": data["n_images"],
                "shape": data["shape"], "generate_s": data["generate_s"], "prepare_s": data["prepare_s"],
                "n_proc": n_proc, "n_validation": n_validation, "epochs": epochs, "batch_size": batch_size,
                "elapsed": time.perf_counter() - begin,
                "device": torch.cuda.get_device_name() if gpu else f"CPU ({platform.machine()})",
                "versions": f"torch {torch.__version__}, CUDA {torch.version.cuda}",
                "shm_gib": round(shm / 2**30, 1), "n_proc_loaders": workers}
        print(f"data: {data['n_images']} images {data['shape']} (generate {data['generate_s']:.0f} s, prepare "
              f"{data['prepare_s']:.0f} s)", flush=True)
        write_report(out, meta, rows, cli, skipped, errors)
        for name, replicates, amp, loaders in plan:
            if time.perf_counter() - begin > budget:
                skipped.append(name)
                continue
            try:
                row = run_processes(name, data, work, logs, replicates=replicates, amp=amp, n_proc=loaders,
                                    gpu=gpu, epochs=epochs, batch_size=batch_size)
                rows.append(row)
                meta["versions"] = ", ".join(f"{k} {v}" for k, v in row["versions"].items())
                print(f"{name}: epoch 2+ {row['later_sum']:.1f} img/s (sum), peak {row['max_allocated'] / 2**30:.2f}"
                      f" GiB, {row['total_s']:.0f} s", flush=True)
            except Exception as error:  # keep going: the other configurations still say something
                errors.append(f"{name}: {type(error).__name__}: {error}")
                print(errors[-1], flush=True)
            meta["elapsed"] = time.perf_counter() - begin
            write_report(out, meta, rows, cli, skipped, errors)
        if time.perf_counter() - begin > budget:
            skipped.append("clinicadl train --replicates 2 --n_jobs 2")
        else:
            try:
                cli.append(run_cli(data, work, logs, replicates=2, gpu=gpu, epochs=epochs, batch_size=batch_size))
            except Exception as error:
                errors.append(f"CLI --replicates 2: {type(error).__name__}: {error}")
        meta["elapsed"] = time.perf_counter() - begin
        print(write_report(out, meta, rows, cli, skipped, errors))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
