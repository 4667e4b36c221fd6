"""The command line in a subprocess, and a generated cohort made ready for training (``import generated_cohort``).

Shared by the end-to-end tests of training and of procedure assessment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_clinicadl(*args, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m clinicadl ARGS``; with ``check``, fail with its output unless it exits 0."""
    result = subprocess.run([sys.executable, "-m", "clinicadl", *map(str, args)], capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def prepared_cohort(root: Path, *, n_participants: int, effect_size: float, n_test: int, seed: int,
                    n_proc: int) -> dict[str, Path]:
    """generate cohort (1-2 sessions, 4 mm) -> tsvtools split and 2-fold kfold -> prepare-data image (image.json).

    Returns the paths ``caps``, ``tsv`` (the 2-fold folder), ``test`` (test_baseline.tsv) and ``root``.
    """
    caps = root / "caps"
    run_clinicadl("generate", "cohort", caps, "--n_participants", n_participants, "--sessions", 1, 2,
                  "--resolution", 4, "--effect_size", effect_size, "--seed", seed, "--n_proc", n_proc)
    run_clinicadl("tsvtools", "split", caps / "data.tsv", "--subset_name", "test", "--n_test", n_test, "--seed", 0,
                  "--ignore_demographics")
    run_clinicadl("tsvtools", "kfold", caps / "split" / "train.tsv", "--n_splits", 2, "--stratification",
                  "diagnosis", "--seed", 0)
    run_clinicadl("prepare-data", "image", caps, "t1-linear", "--n_proc", n_proc, "--extract_json", "image.json")
    return {"caps": caps, "tsv": caps / "split" / "2_fold", "test": caps / "split" / "test_baseline.tsv",
            "root": root}
