"""Replicates as cluster jobs, with submitit's local executor (real job processes, no cluster).

The fake trainer lives in this module, imported by name in the job processes (``PYTHONPATH`` gets this
folder). Environment variables steer it: ``FAKE_SLOW=r`` makes replicate r write its pid to ``started``
and sleep; ``FAKE_RESUMABLE=r`` makes replicate r sleep on its first attempt only (a "checkpoint" file
records attempts), as a preempted training that resumes would.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import signal
import time
from pathlib import Path

import pytest

from clinicadl.training.jobs import read_job_record, read_launcher
from clinicadl.training.replicates import read_replicates_tsv, resume_maps, train_procedure
from clinicadl.training.slurm import SubmititExecutor
from clinicadl.training.status import format_status, training_status

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PARAMETERS = {"architecture": "Conv5_FC3", "learning_rate": 1e-4, "n_splits": 1}


def _in(variable: str, replicate: int) -> bool:
    return str(replicate) in os.environ.get(variable, "").split(",")


def fake_train(parameters, maps_dir, seeds, *, resample_split=False, progress=True):
    """Writes a minimal MAPS whose content depends on the seeds only."""
    maps_dir = Path(maps_dir)
    replicate = parameters["replicate"]
    maps_dir.mkdir(parents=True, exist_ok=True)
    (maps_dir / "maps.json").write_text(json.dumps(parameters, indent=2, sort_keys=True, default=str))
    if _in("FAKE_SLOW", replicate):
        (maps_dir / "started").write_text(str(os.getpid()))
        time.sleep(120)
    if _in("FAKE_RESUMABLE", replicate):
        attempts = maps_dir / "attempts"
        attempts.write_text(attempts.read_text() + "x" if attempts.exists() else "x")
        if attempts.read_text() == "x":  # first attempt: "preempted" while it trains
            time.sleep(120)
    model = maps_dir / "split-0" / "best-loss" / "model.pth.tar"
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(hashlib.sha256(json.dumps(seeds, sort_keys=True).encode()).digest())


@pytest.fixture
def trainer(monkeypatch):
    """The fake trainer, importable by name here and in job processes."""
    for variable in ("FAKE_SLOW", "FAKE_RESUMABLE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return importlib.import_module("test_launcher_submitit").fake_train


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def wait_for(condition, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_job_array_trains_what_local_workers_train_and_records_its_jobs(tmp_path, trainer):
    local, jobs = tmp_path / "local", tmp_path / "jobs"
    train_procedure(PARAMETERS, local, replicates=3, root_seed=4, train_fn=trainer, progress=False)
    result = train_procedure(PARAMETERS, jobs, replicates=3, root_seed=4, train_fn=trainer, n_jobs=2,
                             launcher="submitit_local", slurm={"time": 5})
    assert result.statuses == {0: "done", 1: "done", 2: "done"}
    for r in range(3):
        assert hashes(jobs / f"replicate-{r}") == hashes(local / f"replicate-{r}")
    assert (jobs / "replicates.tsv").read_bytes() == (local / "replicates.tsv").read_bytes()

    assert read_launcher(jobs) == {"launcher": "submitit_local", "n_jobs": 2, "slurm": {
        **read_launcher(jobs)["slurm"], "time": 5}}
    assert read_launcher(local) is None
    records = [read_job_record(jobs, r) for r in range(3)]
    assert len({record.job_id for record in records}) == 3 and all(Path(rec.log).is_file() for rec in records)
    assert "Job completed successfully" in Path(records[0].log).read_text()
    table = format_status(training_status(jobs))
    assert all(record.job_id in table and record.log in table for record in records)
    assert table.splitlines()[-1] == "3 replicates: 3 done"


def test_a_killed_job_shows_interrupted_and_resume_resubmits_only_it(tmp_path, trainer, monkeypatch):
    maps = tmp_path / "maps"
    monkeypatch.setenv("FAKE_SLOW", "1")
    submitted = train_procedure(PARAMETERS, maps, replicates=3, root_seed=0, train_fn=trainer,
                                launcher="submitit_local", wait=False)
    assert submitted.trained == (0, 1, 2) and submitted.failed == {}  # returned at submission
    started = maps / "replicate-1" / "started"
    wait_for(started.exists, what="replicate 1 to start")
    wait_for(lambda: [read_replicates_tsv(maps)[r].status for r in (0, 2)] == ["done", "done"],
             what="replicates 0 and 2")
    status = training_status(maps)
    assert status.replicates[1].status == "running" and status.replicates[1].job_state == "alive"
    assert resume_maps(maps, train_fn=trainer).trained == ()  # its job still runs: not submitted twice

    finished = {r: hashes(maps / f"replicate-{r}") for r in (0, 2)}
    os.kill(int(started.read_text()), signal.SIGKILL)  # the job dies without reporting
    job = read_job_record(maps, 1)
    wait_for(lambda: training_status(maps).replicates[1].interrupted, what="replicate 1 interrupted")
    assert "interrupted" in format_status(training_status(maps))

    monkeypatch.delenv("FAKE_SLOW")
    result = resume_maps(maps, train_fn=trainer, slurm={"time": 9})  # the recorded launcher, a new time limit
    assert result.trained == (1,) and set(result.statuses.values()) == {"done"}
    recorded = read_launcher(maps)
    assert recorded["launcher"] == "submitit_local" and recorded["slurm"]["time"] == 9
    assert read_job_record(maps, 1).job_id != job.job_id
    assert {r: hashes(maps / f"replicate-{r}") for r in (0, 2)} == finished


def test_a_timed_out_job_requeues_itself_and_resumes(tmp_path, trainer, monkeypatch):
    maps = tmp_path / "maps"
    monkeypatch.setenv("FAKE_RESUMABLE", "0")
    executor = SubmititExecutor(tmp_path / "logs", cluster="local")
    executor._executor.update_parameters(timeout_min=0.1, signal_delay_s=4)  # "time limit" signal after 2 s
    result = train_procedure(PARAMETERS, maps, replicates=1, root_seed=0, train_fn=trainer, executor=executor)
    assert result.statuses == {0: "done"}
    assert (maps / "replicate-0" / "attempts").read_text() == "xx"  # requeued once, then finished
    log = next((tmp_path / "logs").rglob("*_log.out")).read_text()
    assert "Calling checkpoint method" in log and "Requeued" in log
