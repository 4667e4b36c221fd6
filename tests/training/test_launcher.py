"""Executor/Job pair: debug (in-process) and local (worker processes), without a cluster."""

from __future__ import annotations

import importlib
import math
import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from clinicadl.errors import InputError
from clinicadl.training.launcher import DebugExecutor, Job, LocalExecutor, threads_per_job, wait_first

HERE = Path(__file__).resolve().parent


def thread_settings() -> tuple[int, str | None, int]:
    """Run in a worker: its pid, OMP_NUM_THREADS and torch's intra-op threads (torch imported here)."""
    import torch

    return os.getpid(), os.environ.get("OMP_NUM_THREADS"), torch.get_num_threads()


def test_debug_executor_runs_at_once_and_keeps_exceptions():
    executor = DebugExecutor()
    job = executor.submit(divmod, 7, 2)
    assert isinstance(job, Job) and job.done() and job.result() == (3, 1) and job.exception() is None
    failing = executor.submit(math.sqrt, -1)
    assert failing.done() and isinstance(failing.exception(), ValueError)
    with pytest.raises(ValueError):
        failing.result()
    assert job.job_id != failing.job_id and "done" in repr(job)


def test_local_executor_with_one_job_runs_in_this_process():
    with LocalExecutor(1) as executor:
        job = executor.submit(os.getpid)
        assert job.done() and job.result() == os.getpid()
        assert isinstance(executor.submit(math.sqrt, -1).exception(), ValueError)


def test_local_executor_runs_jobs_in_worker_processes(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    module = importlib.import_module("test_launcher")  # importable by name: sent to spawned workers
    with LocalExecutor(2) as executor:
        assert executor.start_method == "spawn" and executor.n_threads == threads_per_job(2)
        jobs = [executor.submit(module.thread_settings) for _ in range(2)]
        failing = executor.submit(math.sqrt, -1)
        finished = wait_first(jobs)
        assert finished and finished <= set(jobs)
        results = [job.result(timeout=60) for job in jobs]
        assert isinstance(failing.exception(timeout=60), ValueError)
    expected = executor.n_threads
    assert all(pid != os.getpid() for pid, _, _ in results)
    assert all(variable == str(expected) and threads == expected for _, variable, threads in results)


def test_threads_per_job_share_the_cores():
    cores = threads_per_job(1)
    assert threads_per_job(2) == max(1, cores // 2) and threads_per_job(10 * cores) == 1


def test_a_dead_worker_breaks_its_job_and_the_executor_starts_a_fresh_pool():
    with LocalExecutor(2, n_threads=1) as executor:
        dead = executor.submit(os._exit, 1)
        assert isinstance(dead.exception(timeout=60), BrokenProcessPool)
        assert executor.submit(divmod, 9, 4).result(timeout=60) == (2, 1)


def test_invalid_executor_options():
    with pytest.raises(InputError, match="n_jobs"):
        LocalExecutor(0)
    with pytest.raises(InputError, match="start method"):
        LocalExecutor(2, start_method="thread")


class PolledJob:
    """A job without a future, like a cluster job whose state is polled."""

    def __init__(self, finish_at: float):
        self.finish_at = finish_at

    def done(self) -> bool:
        return time.monotonic() >= self.finish_at


def test_wait_first_polls_jobs_without_a_future():
    now = time.monotonic()
    early, late = PolledJob(now + 0.05), PolledJob(now + 60)
    assert wait_first([early, late], poll_interval=0.01) == {early}
    assert wait_first([late], timeout=0.05, poll_interval=0.01) == set()
    assert wait_first([]) == set()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie waiting for init to reap it is dead


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_die_with_a_killed_parent():
    code = (
        "import os, time\n"
        "from clinicadl.training.launcher import LocalExecutor\n"
        "executor = LocalExecutor(2, n_threads=1)\n"
        "executor.submit(os.getpid).result()\n"
        "executor.submit(time.sleep, 60)\n"
        "print(' '.join(str(pid) for pid in executor._pool._processes), flush=True)\n"
        "time.sleep(60)\n"
    )
    root = HERE.parents[1]
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(root)})
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        parent.stdout.close()
    assert workers
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
