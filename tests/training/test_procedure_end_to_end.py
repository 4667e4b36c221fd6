"""A learning procedure end to end on a generated cohort: replicates, kill -9, resume, predict, evaluate.

Runs the real command line in subprocesses (a kill -9 must hit a real process).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from generated_cohort import prepared_cohort, run_clinicadl

pytestmark = pytest.mark.slow

TRAIN = ["-a", "TinyCNN", "--n_splits", "2", "--no-gpu", "--deterministic", "-b", "4", "--root_seed", "5",
         "-np", "0"]


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "tensorboard" not in p.parts}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    return prepared_cohort(tmp_path_factory.mktemp("procedure"), n_participants=24, effect_size=2.5, n_test=6, seed=2,
                           n_proc=1)


def train_command(cohort, maps, *extra):
    return ["train", "classification", cohort["caps"], "image.json", cohort["tsv"], maps, *TRAIN, *extra]


def test_killed_replicate_resumes_to_the_uninterrupted_result(cohort):
    root = cohort["root"]
    reference = root / "reference"
    run_clinicadl(*train_command(cohort, reference, "--replicates", 3, "--epochs", 3))

    maps = root / "killed"
    process = subprocess.Popen([sys.executable, "-m", "clinicadl", *map(str, train_command(
        cohort, maps, "--replicates", 3, "--epochs", 3))], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    checkpoint = maps / "replicate-2" / "split-0" / "tmp"
    deadline = time.time() + 120
    while not checkpoint.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "replicate 2 finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    statuses = pd.read_csv(maps / "replicates.tsv", sep="\t").set_index("replicate")["status"]
    assert list(statuses) == ["done", "done", "running"]
    finished = {r: digests(maps / f"replicate-{r}") for r in (0, 1)}

    out = run_clinicadl("train", "resume", maps)
    assert "done" in out.stdout
    statuses = pd.read_csv(maps / "replicates.tsv", sep="\t")["status"]
    assert set(statuses) == {"done"}
    for r in (0, 1):
        assert digests(maps / f"replicate-{r}") == finished[r]  # finished replicates never touched
    for r in range(3):
        for split in (0, 1):
            name = f"replicate-{r}/split-{split}/best-loss/validation/validation_image_level_prediction.tsv"
            assert (maps / name).read_bytes() == (reference / name).read_bytes(), name
    assert not (maps / "replicate-2" / "split-0" / "tmp").exists()

    # predict the test group with every replicate; each replicate is a 1.x MAPS for evaluate model
    run_clinicadl("predict", maps, "test", "--participants_tsv", cohort["test"], "--no-gpu", "--n_resamples", 200)
    for r in range(3):
        assert (maps / f"replicate-{r}" / "split-1" / "best-loss" / "test" /
                "test_image_level_metrics_ci.tsv").is_file()
    out = run_clinicadl("evaluate", "model", maps / "replicate-1", "test", "--n_resamples", 200, "-o",
                    root / "r1.tsv")
    assert "split 0" in out.stdout and "split 1" in out.stdout


def test_same_root_seed_pairs_procedures_and_init_only_keeps_partitions(cohort):
    root = cohort["root"]
    a, b, c = root / "lr_a", root / "lr_b", root / "init_only"
    run_clinicadl(*train_command(cohort, a, "--replicates", 2, "--epochs", 1, "-s", 0, "-lr", "1e-3"))
    run_clinicadl(*train_command(cohort, b, "--replicates", 2, "--epochs", 1, "-s", 0, "-lr", "1e-4"))
    seeds = [c for c in pd.read_csv(a / "replicates.tsv", sep="\t").columns if c.startswith("seed_")]
    table_a = pd.read_csv(a / "replicates.tsv", sep="\t")[seeds]
    pd.testing.assert_frame_equal(table_a, pd.read_csv(b / "replicates.tsv", sep="\t")[seeds])
    # varying split re-draws the partitions; varying only init keeps them
    def validation(maps, r):
        return (maps / f"replicate-{r}" / "groups" / "validation" / "split-0" / "data.tsv").read_text()
    assert validation(a, 0) != validation(a, 1)
    run_clinicadl(*train_command(cohort, c, "--replicates", 2, "--epochs", 1, "-s", 0, "--vary", "init"))
    table_c = pd.read_csv(c / "replicates.tsv", sep="\t")
    assert table_c["seed_split"].nunique() == 1 and table_c["seed_init"].nunique() == 2
    assert validation(c, 0) == validation(c, 1)
