"""``make demo``: the main job end to end on built-in data, in a few minutes on 2 CPU cores.

1. generate a synthetic longitudinal cohort (MNI152-based, 4 mm, known achievable AUC);
2. split it at the participant level (test set) and in 2 folds (training / validation);
3. extract the image tensors;
4. train a learning procedure 3 times (replicates; split, init and data order re-drawn per replicate);
5. predict the test group with every trained model;
6. report each model's test performance with participant-level 95 % confidence intervals;
7. assess the learning procedure: expected performance over replicates and participants, variance components;
8. write a self-contained HTML report (plots, tables, methods paragraph, LaTeX table).

Everything is written to ``clinicadl_demo/`` in the current folder (removed first if it exists).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from clinicadl.cli.main import cli

STEPS = (
    ("Generate a cohort of 60 participants (1-3 sessions) at 4 mm",
     ["generate", "cohort", "{o}/caps", "--n_participants", "60", "--sessions", "1", "3", "--resolution", "4",
      "--effect_size", "3", "--seed", "0", "--n_proc", "2"]),
    ("Split: 20 test participants, then 2 folds of the others",
     ["tsvtools", "split", "{o}/caps/data.tsv", "--subset_name", "test", "--n_test", "20", "--seed", "0"]),
    (None, ["tsvtools", "kfold", "{o}/caps/split/train.tsv", "--n_splits", "2", "--stratification", "diagnosis",
            "--seed", "0"]),
    ("Extract image tensors", ["prepare-data", "image", "{o}/caps", "t1-linear", "--n_proc", "2",
                               "--extract_json", "image.json"]),
    ("Train 3 replicates of a procedure (Conv4_FC3, 2 folds, 15 epochs)",
     ["train", "classification", "{o}/caps", "image.json", "{o}/caps/split/2_fold", "{o}/maps", "-a", "Conv4_FC3",
      "--n_splits", "2", "--epochs", "15", "-lr", "0.0001", "-b", "4", "--no-gpu", "-np", "0", "-sm", "loss",
      "--replicates", "3", "--root_seed", "0", "--vary", "split,init,order"]),
    ("Predict the test group with every model", ["predict", "{o}/maps", "test", "--participants_tsv",
                                                 "{o}/caps/split/test_baseline.tsv", "--no-gpu", "-np", "0"]),
    ("Test performance of replicate 0's models, participant-level 95 % CIs",
     ["evaluate", "model", "{o}/maps/replicate-0", "test", "-m", "BA", "-m", "AUC", "-m", "sensitivity",
      "-m", "specificity", "-o", "{o}/replicate-0_test_metrics_ci.tsv"]),
    ("How good is the learning procedure? (3 replicates x 2 folds: expected performance, variance components)",
     ["evaluate", "procedure", "{o}/maps", "test", "-m", "BA", "-m", "AUC", "--n_resamples", "2000"]),
    ("A report to open in a browser: results, plots, seeds, a methods paragraph and a LaTeX table",
     ["evaluate", "report", "{o}/maps", "--data_group", "test", "--output", "{o}/report.html"]),
)


def _run(args: list[str]) -> None:
    try:
        cli.main(args, prog_name="clinicadl", standalone_mode=False)
    except SystemExit as exit_:
        if exit_.code:
            sys.exit(exit_.code)


def main(output: Path = Path("clinicadl_demo")) -> None:
    if output.exists():
        shutil.rmtree(output)
    output.mkdir()
    start = time.perf_counter()
    for title, template in STEPS:
        args = [a.format(o=output) for a in template]
        if title:
            print(f"\n=== {title}\n$ clinicadl {' '.join(args)}", flush=True)
        _run(args)
    print(f"\nAll models and their intervals: {output}/maps/replicate-*/split-*/best-loss/test/")
    print(f"Demo finished in {time.perf_counter() - start:.0f} s.")


if __name__ == "__main__":
    main()
