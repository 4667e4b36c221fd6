"""``clinicadl train status``: statuses, job ids, logs, and interrupted jobs told apart from running ones."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.errors import MAPSError
from clinicadl.maps.locks import maps_lock
from clinicadl.training import slurm as slurm_module
from clinicadl.training.jobs import JobRecord, write_job_record
from clinicadl.training.replicate_table import write_replicates_tsv
from clinicadl.training.replicates import ReplicateRecord
from clinicadl.training.seeds import DEFAULT_VARIED, replicate_seeds
from clinicadl.training.status import format_status, training_status


def make_maps(tmp_path, statuses, errors=None):
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "maps.json").write_text(json.dumps({"replicates": {"count": len(statuses), "root_seed": 0}}))
    errors = errors or {}
    for r, s in enumerate(statuses):  # a finished replicate has its files (status is read from them too)
        if s == "done":
            model = maps / f"replicate-{r}" / "split-0" / "best-loss" / "model.pth.tar"
            model.parent.mkdir(parents=True)
            model.write_bytes(b"weights")
            (maps / f"replicate-{r}" / "maps.json").write_text("{}")
    write_replicates_tsv(maps, {r: ReplicateRecord(r, s, replicate_seeds(0, r, DEFAULT_VARIED), errors.get(r, ""))
                      for r, s in enumerate(statuses)})
    return maps


def test_slurm_jobs_are_asked_to_squeue(tmp_path, monkeypatch):
    maps = make_maps(tmp_path, ["done", "running", "running", "pending", "failed"], {4: "RuntimeError: boom"})
    for r in range(5):
        write_job_record(maps, JobRecord(r, "slurm", f"41_{r}", f"/logs/41_{r}_0_log.out"))
    queue = {"41_1": "RUNNING", "41_3": "PENDING", "41_2": "CANCELLED"}
    monkeypatch.setattr(slurm_module, "slurm_state", lambda job_id: queue.get(job_id))
    status = training_status(maps)
    assert [(r.status, r.job_id, r.job_state) for r in status.replicates] == [
        ("done", "41_0", ""), ("running", "41_1", "RUNNING"), ("running", "41_2", "ended"),
        ("pending", "41_3", "PENDING"), ("failed", "41_4", "")]
    assert [r.interrupted for r in status.replicates] == [False, False, True, False, False]
    assert status.counts == {"done": 1, "running": 1, "interrupted": 1, "pending": 1, "failed": 1}
    lines = format_status(status).splitlines()
    assert lines[0].split() == ["replicate", "status", "job", "state", "log", "/", "error"]
    assert lines[3].split()[:4] == ["2", "interrupted", "41_2", "ended"] and "train resume" in lines[3]
    assert "/logs/41_4_0_log.out  RuntimeError: boom" in lines[5]
    assert lines[-1] == "5 replicates: 1 done, 1 failed, 1 interrupted, 1 pending, 1 running"


def test_without_squeue_the_state_is_unknown_not_interrupted(tmp_path, monkeypatch):
    maps = make_maps(tmp_path, ["running"])
    write_job_record(maps, JobRecord(0, "slurm", "7", "/logs/7_0_log.out"))

    def missing(job_id):
        raise FileNotFoundError("squeue")

    monkeypatch.setattr(slurm_module, "slurm_state", missing)
    row = training_status(maps).replicates[0]
    assert row.job_state == "unknown" and not row.interrupted


def test_a_local_run_is_alive_while_a_process_holds_the_maps(tmp_path):
    maps = make_maps(tmp_path, ["done", "running"])
    with maps_lock(maps):
        assert training_status(maps).replicates[1].job_state == "alive"
    row = training_status(maps).replicates[1]
    assert row.job_state == "ended" and row.interrupted and row.job_id == ""


def test_status_of_a_plain_maps_and_of_a_folder_that_is_not_a_maps(tmp_path):
    plain = tmp_path / "plain"
    (plain / "split-0" / "best-loss").mkdir(parents=True)
    (plain / "maps.json").write_text("{}")
    assert training_status(plain).replicates[0].status == "pending"
    (plain / "split-0" / "best-loss" / "model.pth.tar").write_bytes(b"weights")
    status = training_status(plain)
    assert not status.replicated and status.complete and status.replicates[0].status == "done"
    with pytest.raises(MAPSError, match="not a MAPS"):
        training_status(tmp_path)


def test_the_status_command_prints_the_table_and_errors_in_one_line(tmp_path):
    maps = make_maps(tmp_path, ["done", "failed"], {1: "ValueError: bad"})
    result = CliRunner().invoke(cli, ["train", "status", str(maps)])
    assert result.exit_code == 0, result.output
    assert "ValueError: bad" in result.output and "2 replicates: 1 done, 1 failed" in result.output
    (maps / "replicates.tsv").write_text("nonsense\n")
    result = CliRunner().invoke(cli, ["train", "status", str(maps)])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "replicates.tsv" in result.output
