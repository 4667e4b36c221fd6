"""The variance study on three tasks of generated data, end to end -> docs/variance-study.md.

Which sources of variance (data split, weight init, data order, augmentation, dropout) move a result, on:
1. classification AD vs CN on ``generate cohort``;
2. regression of age on the same cohort;
3. lesion segmentation on ``generate lesions``.

Each task: ``train --study sources --replicates R --nested S K``, ``predict`` the test group, ``evaluate sources``.
Every step is a ``clinicadl`` command line (printed as it runs), so the study can be re-run by hand or on a GPU
cluster at full size (``--replicates 30 --resolution 2``, see the page).

Usage::

    python scripts/variance_study.py [--replicates 5] [--workdir build/variance-study] [--n_jobs 2]
    python scripts/variance_study.py --evaluate_only   # evaluate sources again on the trained studies

It writes docs/variance-study.md and its figures (docs/variance_study/*.png) with the run time (of the trainings:
``--evaluate_only`` keeps the recorded times).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIGURES = DOCS / "variance_study"
SOURCES = "split,init,order,augmentation,dropout"


def run(*args) -> None:
    command = [sys.executable, "-m", "clinicadl", *map(str, args)]
    print("$ clinicadl " + " ".join(map(str, args)), flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def cohort(work: Path) -> dict[str, Path]:
    caps = work / "cohort"
    run("generate", "cohort", caps, "--n_participants", 100, "--sessions", 1, 2, "--resolution", 4,
        "--effect_size", 1.5, "--seed", 0, "--n_proc", 2)
    run("tsvtools", "split", caps / "data.tsv", "--subset_name", "test", "--n_test", 40, "--seed", 0)
    run("tsvtools", "split", caps / "split" / "train.tsv", "--subset_name", "validation", "--n_test", 15,
        "--seed", 0)
    run("prepare-data", "image", caps, "t1-linear", "--n_proc", 2, "--extract_json", "image.json")
    return {"caps": caps, "tsv": caps / "split" / "split", "test": caps / "split" / "test_baseline.tsv"}


def lesions(work: Path) -> dict[str, Path]:
    caps = work / "lesions"
    run("generate", "lesions", caps, "--n_subjects", 40, "--resolution", 8, "--lesion_radius", 5, 9,
        "--lesion_load", 10, 30, "--contrast", 0.6, "--seed", 0)
    run("tsvtools", "split", caps / "data.tsv", "--subset_name", "test", "--n_test", 16, "--seed", 0,
        "--ignore_demographics")
    run("tsvtools", "split", caps / "split" / "train.tsv", "--subset_name", "validation", "--n_test", 6,
        "--seed", 0, "--ignore_demographics")
    run("prepare-data", "image", caps, "t1-linear", "--extract_json", "image.json")
    return {"caps": caps, "tsv": caps / "split" / "split", "test": caps / "split" / "test_baseline.tsv"}


TASKS = {
    "classification": {"data": "cohort", "args": ["-a", "Conv4_FC3", "--epochs", 8, "-lr", 1e-4, "-b", 8,
                                                 "--dropout", 0.3, "-da", "Noise"],
                       "metrics": ["BA", "AUC"], "selection": "loss"},
    "regression": {"data": "cohort", "args": ["-a", "Conv4_FC3", "--epochs", 8, "-lr", 1e-4, "-b", 8,
                                             "--dropout", 0.3, "-da", "Noise", "--label", "age"],
                   "metrics": ["MAE", "R2_score"], "selection": "loss"},
    "segmentation": {"data": "lesions", "args": ["-a", "TinyUNet3D", "--epochs", 6, "-lr", 0.03, "-b", 2,
                                                "--dropout", 0.2, "-da", "Noise"],
                     "metrics": ["Dice"], "selection": "loss"},
}


def study(task: str, data: dict[str, Path], work: Path, replicates: int, nested: tuple[int, int], n_jobs: int):
    spec = TASKS[task]
    maps = work / f"study_{task}"
    run("train", task, data["caps"], "image.json", data["tsv"], maps, *spec["args"], "--no-gpu", "-np", 0,
        "--deterministic", "--study", "sources", "--sources", SOURCES, "--replicates", replicates,
        "--nested", *nested, "--root_seed", 0, "--n_jobs", n_jobs, "--overwrite")
    run("predict", maps, "test", "--participants_tsv", data["test"], "--no-gpu", "-np", 0, "--n_resamples", 200)
    evaluate(task, work)


def evaluate(task: str, work: Path) -> None:
    """``evaluate sources`` on a trained and predicted study; its figure copied into the docs."""
    spec = TASKS[task]
    maps = work / f"study_{task}"
    metrics = [a for m in spec["metrics"] for a in ("-m", m)]
    run("evaluate", "sources", maps, "test", *metrics, "-sm", spec["selection"])
    folder = maps / "evaluation" / "test"
    FIGURES.mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / "sources.png", FIGURES / f"{task}.png")


def _sources_table(table: pd.DataFrame) -> str:
    lines = ["| metric | source | SD | 95 % CI | models |", "|---|---|---|---|---|"]
    for r in table.sort_values(["metric", "estimate"], ascending=[True, False]).itertuples():
        interval = f"[{r.ci_low:.4f}, {r.ci_high:.4f}]" if pd.notna(r.ci_low) else "no interval"
        lines.append(f"| {r.metric} | {r.source} | {r.estimate:.4f} | {interval} | {r.n_models} |")
    return "\n".join(lines)


def _estimators_table(table: pd.DataFrame) -> str:
    if table.empty:
        return "(no estimator: the study needs init and all)"
    lines = ["| metric | estimator | SD | fixed part of the variance | P(ranks A first) at P(A>B) = 0.6 / 0.75 / 0.9 "
             "| P(A>B) test: false detections | P(A>B) test: detections at 0.6 / 0.75 / 0.9 |",
             "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.metric} | {r.estimator} | {r.estimate:.4f} | {r.fixed_variance:.2e} | "
                     f"{r.detection_at_60:.2f} / {r.detection_at_75:.2f} / {r.detection_at_90:.2f} | "
                     f"{r.decision_at_50:.2f} | {r.decision_at_60:.2f} / {r.decision_at_75:.2f} / "
                     f"{r.decision_at_90:.2f} |")
    return "\n".join(lines)


def _dominant(table: pd.DataFrame) -> str:
    out = []
    for metric, rows in table.groupby("metric"):
        single = rows[~rows["source"].isin(["all", "test sampling", "split (nested)", "seeds (nested)"])]
        single = single.sort_values("estimate", ascending=False)
        sampling = rows[rows["source"] == "test sampling"]["estimate"]
        if single.empty:
            continue
        top = single.iloc[0]
        yardstick = float(sampling.iloc[0]) if len(sampling) else float("nan")
        ratio = top["estimate"] / yardstick if yardstick > 0 else float("nan")
        mean = rows[rows["source"] == "test sampling"]["mean_score"]
        level = f", mean {metric} of the models {float(mean.iloc[0]):.3g}" if len(mean) else ""
        out.append(f"{metric}: {top['source']} ({top['estimate']:.4f}, {ratio:.2f} x the test-sampling SD{level})")
    return "; ".join(out)


def _additivity(table: pd.DataFrame) -> str:
    """Sum of the single-source variances against the variance of the models that re-draw them all."""
    out = []
    for metric, rows in table.groupby("metric"):
        single = rows[~rows["source"].isin(["all", "test sampling", "split (nested)", "seeds (nested)"])]
        together = rows[rows["source"] == "all"]["variance"]
        if len(together) and float(together.iloc[0]) > 0:
            out.append(f"{metric} {single['variance'].clip(lower=0).sum() / float(together.iloc[0]):.1f}")
    return ", ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=5)
    parser.add_argument("--nested", type=int, nargs=2, default=(3, 3))
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "variance-study")
    parser.add_argument("--n_jobs", type=int, default=2)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--evaluate_only", action="store_true",
                        help="Re-run `evaluate sources` on the studies of --workdir and rewrite the page.")
    args = parser.parse_args()
    start = time.perf_counter()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    record = work / "runs.json"
    runs = json.loads(record.read_text()) if record.is_file() else {}
    if args.evaluate_only:
        for task in (t for t in args.tasks if t in runs):
            evaluate(task, work)
        write_page(work, runs, time.perf_counter() - start)
        return
    data = {}
    for task in args.tasks:
        kind = TASKS[task]["data"]
        t0 = time.perf_counter()
        if kind not in data:
            data[kind] = cohort(work) if kind == "cohort" else lesions(work)
        study(task, data[kind], work, args.replicates, tuple(args.nested), args.n_jobs)
        runs[task] = {"minutes": (time.perf_counter() - t0) / 60, "replicates": args.replicates,
                      "nested": list(args.nested)}
        record.write_text(json.dumps(runs, indent=1))
    write_page(work, runs, time.perf_counter() - start)


def write_page(work: Path, runs: dict, total: float) -> None:
    """docs/variance-study.md from every task studied in ``work`` (runs.json: each task's run time and design)."""
    sections = []
    for task in (t for t in TASKS if t in runs):
        folder = work / f"study_{task}" / "evaluation" / "test"
        sources = pd.read_csv(folder / "sources.tsv", sep="\t")
        estimators = pd.read_csv(folder / "estimators.tsv", sep="\t")
        run = runs[task]
        sections.append(f"### {task.capitalize()}\n\n![{task}](variance_study/{task}.png)\n\n"
                        f"R = {run['replicates']} models per source, nested design {run['nested'][0]} x "
                        f"{run['nested'][1]}; run time {run['minutes']:.1f} min (data generation included). "
                        f"Largest single source: {_dominant(sources)}. Sum of the single-source variances over the "
                        f"variance when all are re-drawn (1 if the sources add up): {_additivity(sources)}.\n\n"
                        f"{_sources_table(sources)}\n\n"
                        f"Estimators (k = {run['replicates']} models each):\n\n{_estimators_table(estimators)}\n")
    template = (Path(__file__).resolve().parent / "variance_study_page.md").read_text()
    minutes = sum(run["minutes"] for run in runs.values())
    command = " ".join(sys.argv[1:]) or "(defaults)"
    if "--evaluate_only" in sys.argv:  # the trainings' command, from what runs.json recorded, then this one
        first = next(iter(runs.values()))
        command = (f"--replicates {first['replicates']} --nested {first['nested'][0]} {first['nested'][1]}` "
                   "then `python scripts/variance_study.py --evaluate_only")
    page = template.format(results="\n".join(sections), minutes=f"{minutes:.0f}", command=command)
    (DOCS / "variance-study.md").write_text(page)
    print(f"docs/variance-study.md written (this run {total / 60:.1f} min; all tasks {minutes:.0f} min)")


if __name__ == "__main__":
    main()
