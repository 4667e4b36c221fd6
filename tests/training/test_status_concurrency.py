"""Stress test: jobs that finish at the same moment never corrupt replicates.tsv nor lose an update."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from clinicadl.training.replicate_table import update_replicates_tsv, write_replicates_tsv
from clinicadl.training.replicates import ReplicateRecord, ReplicateRunner, read_replicates_tsv
from clinicadl.training.seeds import DEFAULT_VARIED, replicate_seeds

N_JOBS = 4
ROUNDS = 60

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")


def _maps(tmp_path: Path, count: int = N_JOBS) -> Path:
    maps = tmp_path / "maps"
    maps.mkdir()
    write_replicates_tsv(maps, {r: ReplicateRecord(r, "pending", replicate_seeds(0, r, DEFAULT_VARIED))
                                for r in range(count)})
    return maps


def _hammer(maps: Path, replicate: int, barrier, errors) -> None:
    """Update one row ROUNDS times, every process released at the same moment each round."""
    try:
        for i in range(ROUNDS):
            barrier.wait(timeout=60)
            update_replicates_tsv(maps, {replicate: ("running" if i % 2 else "failed", f"round {i} of {replicate}")})
    except Exception as error:  # reported to the test
        errors.put(repr(error))


def _read_while_written(maps: Path, stop, errors) -> None:
    """Read the file continuously: every read must parse and list every replicate."""
    try:
        reads = 0
        while not stop.is_set() or reads == 0:
            assert sorted(read_replicates_tsv(maps, count=N_JOBS)) == list(range(N_JOBS))
            reads += 1
    except Exception as error:
        errors.put(repr(error))


def test_concurrent_status_updates_are_never_lost_nor_torn(tmp_path):
    maps = _maps(tmp_path)
    context = multiprocessing.get_context("fork")
    barrier, stop, errors = context.Barrier(N_JOBS), context.Event(), context.Queue()
    reader = context.Process(target=_read_while_written, args=(maps, stop, errors))
    writers = [context.Process(target=_hammer, args=(maps, r, barrier, errors)) for r in range(N_JOBS)]
    reader.start()
    for process in writers:
        process.start()
    for process in writers:
        process.join(120)
    stop.set()
    reader.join(60)
    failure = None if errors.empty() else errors.get()
    errors.close()
    assert failure is None, failure
    assert all(process.exitcode == 0 for process in [*writers, reader])
    records = read_replicates_tsv(maps, count=N_JOBS)
    last = ROUNDS - 1
    assert {r: (records[r].status, records[r].error) for r in records} == {
        r: ("running" if last % 2 else "failed", f"round {last} of {r}") for r in range(N_JOBS)}
    assert [p.name for p in maps.iterdir() if p.name.endswith(".tmp")] == []  # no temporary file left


def _train_at_the_same_moment(parameters, maps_dir, seeds, *, resample_split, progress):
    Path(maps_dir).mkdir(parents=True, exist_ok=True)
    _BARRIER.wait(timeout=60)  # every replicate finishes at once


_BARRIER = None


def _run_replicate(runner: ReplicateRunner, replicate: int, results) -> None:
    results.put((replicate, runner(replicate)))


def test_four_replicate_jobs_finishing_together_all_end_done(tmp_path):
    global _BARRIER
    maps = _maps(tmp_path)
    context = multiprocessing.get_context("fork")
    _BARRIER = context.Barrier(N_JOBS)  # inherited by the forked jobs
    seeds = {r: replicate_seeds(0, r, DEFAULT_VARIED) for r in range(N_JOBS)}
    runner = ReplicateRunner(maps, _train_at_the_same_moment, {}, seeds, 0, DEFAULT_VARIED)
    results = context.Queue()
    jobs = [context.Process(target=_run_replicate, args=(runner, r, results)) for r in range(N_JOBS)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(120)
    try:
        assert sorted(results.get(timeout=10) for _ in range(N_JOBS)) == [(r, ("done", "")) for r in range(N_JOBS)]
        assert {record.status for record in read_replicates_tsv(maps, count=N_JOBS).values()} == {"done"}
    finally:
        _BARRIER = None
        results.close()
