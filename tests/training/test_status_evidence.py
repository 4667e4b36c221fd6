"""``train status`` and ``train resume`` read the state of each replicate and split from the files, not only from
replicates.tsv: a deleted replicate is *missing* and resume re-creates it; a training killed after its first epoch
(its ``tmp/`` checkpoint left) is *interrupted*, never *done*."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.maps.training_state import maps_disk_state, split_state
from clinicadl.training.replicates import read_replicates_tsv, resume_maps, train_procedure
from clinicadl.training.status import format_status, training_status


def trained_split(maps: Path, split: int = 0, metrics=("loss",)) -> None:
    """The files of a finished split, as the trainer leaves them."""
    folder = maps / f"split-{split}"
    (folder / "training_logs").mkdir(parents=True, exist_ok=True)
    (folder / "training_logs" / "training.tsv").write_text("epoch\n0\n")
    for metric in metrics:
        (folder / f"best-{metric}" / "validation").mkdir(parents=True, exist_ok=True)
        (folder / f"best-{metric}" / "model.pth.tar").write_bytes(b"w")
        (folder / f"best-{metric}" / "validation" / "validation_image_level_metrics_ci.tsv").write_text("m\n")


def plain_maps(tmp_path: Path, n_splits: int = 2) -> Path:
    maps = tmp_path / "plain"
    maps.mkdir()
    (maps / "maps.json").write_text(json.dumps({"n_splits": n_splits, "selection_metrics": ["loss", "BA"]}))
    return maps


def test_a_plain_maps_killed_after_epoch_0_is_interrupted_not_done(tmp_path):
    maps = plain_maps(tmp_path, n_splits=1)
    trained_split(maps, 0, ("loss", "BA"))
    (maps / "split-0" / "tmp").mkdir()  # the epoch checkpoint a kill -9 leaves behind
    (maps / "split-0" / "tmp" / "checkpoint.pth.tar").write_bytes(b"c")
    status = training_status(maps)
    assert status.replicates[0].status == "interrupted" and not status.complete
    result = CliRunner().invoke(cli, ["train", "status", str(maps)])
    assert result.exit_code == 0 and "interrupted" in result.output and "done" not in result.output
    assert "split-0 interrupted" in result.output and "train resume" in result.output
    shutil.rmtree(maps / "split-0" / "tmp")
    assert training_status(maps).replicates[0].status == "done"


def test_every_expected_split_and_selection_metric_must_be_there(tmp_path):
    maps = plain_maps(tmp_path, n_splits=2)
    trained_split(maps, 0, ("loss", "BA"))
    assert maps_disk_state(maps).splits == {0: "done", 1: "not started"}
    assert training_status(maps).replicates[0].status == "pending"
    trained_split(maps, 1, ("loss",))  # best-BA missing
    assert split_state(maps, 1, ["loss", "BA"]) == "incomplete"
    assert training_status(maps).replicates[0].status == "pending"
    trained_split(maps, 1, ("loss", "BA"))
    assert training_status(maps).complete


def test_a_deleted_replicate_is_missing_and_resume_recreates_it(tmp_path, fake):
    maps = tmp_path / "maps"
    train_procedure(fake.PARAMETERS, maps, replicates=3, root_seed=0, vary=None, train_fn=fake.fake_train,
                    progress=False)
    kept = fake.hashes(maps / "replicate-0")
    shutil.rmtree(maps / "replicate-1")
    status = training_status(maps)
    assert [r.status for r in status.replicates] == ["done", "missing", "done"] and not status.complete
    table = format_status(status)
    assert "recorded done in replicates.tsv" in table and table.splitlines()[-1] == \
        "3 replicates: 2 done, 1 missing"

    result = resume_maps(maps, train_fn=fake.fake_train)
    assert result.trained == (1,) and set(result.statuses.values()) == {"done"}
    assert (maps / "replicate-1" / "split-0" / "best-loss" / "model.pth.tar").is_file()
    assert fake.hashes(maps / "replicate-0") == kept
    assert training_status(maps).complete


def test_a_replicate_recorded_done_with_a_tmp_checkpoint_is_trained_again(tmp_path, fake):
    maps = tmp_path / "maps"
    train_procedure(fake.PARAMETERS, maps, replicates=2, root_seed=0, vary=None, train_fn=fake.fake_train,
                    progress=False)
    (maps / "replicate-0" / "split-0" / "tmp").mkdir()
    assert training_status(maps).replicates[0].status == "interrupted"
    calls = []

    def recording(parameters, maps_dir, seeds, **kwargs):
        calls.append(parameters["replicate"])
        shutil.rmtree(Path(maps_dir) / "split-0" / "tmp", ignore_errors=True)
        fake.fake_train(parameters, maps_dir, seeds, **kwargs)

    assert resume_maps(maps, train_fn=recording).trained == (0,) and calls == [0]
    assert read_replicates_tsv(maps)[0].status == "done" and training_status(maps).complete


def test_the_resume_command_retrains_a_deleted_replicate(tmp_path, fake, monkeypatch):
    maps = tmp_path / "maps"
    train_procedure(fake.PARAMETERS, maps, replicates=2, root_seed=0, vary=None, train_fn=fake.fake_train,
                    progress=False)
    shutil.rmtree(maps / "replicate-1")
    from clinicadl.training import resume as resume_module

    monkeypatch.setattr(resume_module, "resolve_train_fn", lambda train_fn, after_split=None: fake.fake_train)
    result = CliRunner().invoke(cli, ["train", "resume", str(maps)])
    assert result.exit_code == 0, result.output
    assert "Nothing to do" not in result.output and (maps / "replicate-1" / "maps.json").is_file()


KILLED_AFTER_EPOCH_0 = """
import sys, time
from clinicadl.training import loop
def hook(split, epoch):
    if epoch == 0:
        open({flag!r}, "w").close()
        time.sleep(120)  # killed here, after the checkpoint of epoch 0 was written
loop.EPOCH_END_HOOK = hook
from clinicadl.cli.main import cli
cli.main({arguments!r}, prog_name="clinicadl")
"""


@pytest.mark.slow
def test_a_real_training_killed_after_epoch_0_is_interrupted_then_resumed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    import tiny_caps as helpers
    from faults import ROOT, run_clinicadl

    paths = helpers.make_dataset(tmp_path)
    maps, flag = tmp_path / "maps", tmp_path / "epoch0"
    arguments = ["train", "classification", *map(str, helpers.train_arguments(paths, maps, kfold=False))]
    code = KILLED_AFTER_EPOCH_0.format(flag=str(flag), arguments=arguments)
    process = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert process.poll() is None and time.monotonic() < deadline, "epoch 0 never ended"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert (maps / "split-0" / "tmp" / "checkpoint.pth.tar").is_file()
    assert (maps / "split-0" / "best-loss" / "model.pth.tar").is_file()  # what made the old status say "done"

    status = run_clinicadl("train", "status", maps)
    assert status.returncode == 0 and "interrupted" in status.stdout and " done" not in status.stdout
    resumed = run_clinicadl("train", "resume", maps)
    assert resumed.returncode == 0, resumed.stderr
    status = run_clinicadl("train", "status", maps)
    assert "1 replicate: 1 done" in status.stdout and not (maps / "split-0" / "tmp").exists()


def test_an_upstream_maps_with_fold_folders_and_no_intervals_is_done(tmp_path):
    maps = plain_maps(tmp_path, n_splits=2)
    for split in (0, 1):
        trained_split(maps, split, ("loss", "BA"))
        for ci in (maps / f"split-{split}").glob("best-*/validation/*_ci.tsv"):
            ci.unlink()  # ClinicaDL 1.x writes no intervals
        (maps / f"split-{split}").rename(maps / f"fold-{split}")
    assert training_status(maps).replicates[0].status == "done"
