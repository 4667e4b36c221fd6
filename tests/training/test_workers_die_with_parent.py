"""Worker processes die with their parent: a ``kill -9`` of the process that drives a pool (prepare-data's
extraction, generate, local replicate workers, simulations) leaves no orphan worker running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; prctl is Linux only")

# each driver runs two tasks that would take a minute (time.sleep, picklable by reference) in the real pool
DRIVERS = {
    "prepare-data extraction": "import time, clinicadl.data.extraction as e\n"
                               "e._extract_image = time.sleep\nlist(e._run([60, 60], 2))",
    "generate": "import time\nfrom clinicadl.data.generate._parallel import run_tasks\n"
                "run_tasks(time.sleep, [60, 60], n_proc=2, progress=False, desc='x')",
    "local replicate workers": "import time\nfrom clinicadl.training.launcher import LocalExecutor\n"
                               "with LocalExecutor(2) as pool:\n"
                               "    jobs = [pool.submit(time.sleep, 60) for _ in range(2)]\n"
                               "    [job.result() for job in jobs]",
    "simulations": "import time, clinicadl.stats.simulation.harness as s\ns._work = time.sleep\n"
                   "list(s._execute([60, 60], 2))",
}


def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has ended; it waits to be reaped


def sleeping_workers(pid: int) -> set[int]:
    """Children of ``pid`` that run the sleeping tasks (the resource tracker of spawn pools is not one)."""
    return {c for c in children(pid) if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()}


@pytest.mark.parametrize("pool", list(DRIVERS))
def test_kill_9_of_the_parent_ends_its_workers(pool):
    if not Path("/proc/self/task").is_dir() or not any(Path("/proc/self/task").glob("*/children")):
        pytest.skip("/proc/<pid>/task/<tid>/children is not available")
    process = subprocess.Popen([sys.executable, "-c", DRIVERS[pool]], env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the pool never started two workers"
            time.sleep(0.1)
            workers = sleeping_workers(process.pid)
        time.sleep(0.5)  # let the initialisers run
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
    deadline = time.monotonic() + 20
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [w for w in workers if alive(w)]
    for w in survivors:  # clean up before failing
        os.kill(w, signal.SIGKILL)
    assert not survivors, f"orphan workers of {pool} still running after kill -9 of their parent"
