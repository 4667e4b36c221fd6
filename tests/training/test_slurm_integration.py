"""Replicates on a real single-node SLURM: a job array, one job cancelled mid-training, ``train resume``.

The cluster is started by ``../shared/tools/slurm-single-node.sh`` (root only; it installs the Debian
packages when they are missing) in a session fixture and stopped at the end; the tests are skipped when
the script is absent, when not root, or when the cluster does not start. A cluster that already runs is
used as it is and left running.

The MAPS trained on SLURM, with one job cancelled and resumed from its checkpoint, must equal an
uninterrupted local run with the same seeds (deterministic mode, one thread per job on both sides). A job
that receives SLURM's time-limit/preemption signal requeues itself, resumes from its checkpoint and ends
with the same MAPS too.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPT = ROOT.parent / "shared" / "tools" / "slurm-single-node.sh"
SLURM = {"cpus_per_task": 1, "mem_gb": 2, "time": 15}
SLOW_REPLICATE = 2

pytestmark = pytest.mark.slow


def _cluster_up() -> bool:
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and any(state in out.stdout for state in ("idle", "mix", "alloc"))


@pytest.fixture(scope="session")
def slurm_cluster():
    """A single-node SLURM for the session (skips when it cannot start)."""
    if not SCRIPT.is_file():
        pytest.skip(f"{SCRIPT} is not available (../shared beside the checkout)")
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("starting a single-node SLURM needs root")
    if _cluster_up():
        yield
        return
    try:
        # nproc, which sizes the node, obeys OMP_NUM_THREADS: an earlier test may have set it in this process
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_THREAD_LIMIT")}
        out = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=400, env=env)
    except subprocess.TimeoutExpired:
        pytest.skip("the single-node SLURM did not start within 400 s")
    deadline = time.monotonic() + 30
    while not _cluster_up() and time.monotonic() < deadline:
        time.sleep(0.5)
    if not _cluster_up():
        subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, timeout=60)
        pytest.skip(f"the single-node SLURM did not start: {(out.stdout + out.stderr)[-300:]}")
    try:
        yield
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, timeout=60)


def slow_train(parameters, maps_dir, seeds, **options):
    """The real trainer; replicate 2 sleeps after each epoch's checkpoint, so that it is still training when
    SLURM kills it, 30 s after ``scancel`` (a sleep changes no result)."""
    from clinicadl.training import loop
    from clinicadl.training.trainer import train_replicate

    if parameters["replicate"] == SLOW_REPLICATE:
        loop.EPOCH_END_HOOK = lambda split, epoch: time.sleep(20)
    train_replicate(parameters, maps_dir, seeds, **options)


def held_train(parameters, maps_dir, seeds, **options):
    """The real trainer, held after each epoch's checkpoint while a file ``hold`` lies beside the MAPS (a wait
    changes no result)."""
    from clinicadl.training import loop
    from clinicadl.training.trainer import train_replicate

    hold = Path(maps_dir).parent.parent / "hold"

    def wait(split, epoch):
        while hold.exists():
            time.sleep(0.2)

    loop.EPOCH_END_HOOK = wait
    train_replicate(parameters, maps_dir, seeds, **options)


def threads_in_job() -> tuple[int | None, str | None]:
    """Run in a SLURM job: the threads it limits itself to, and OMP_NUM_THREADS then."""
    from clinicadl.training.slurm import limit_threads_to_allocation

    return limit_threads_to_allocation(), os.environ.get("OMP_NUM_THREADS")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    import tiny_caps

    root = tmp_path_factory.mktemp("slurm")
    paths = tiny_caps.make_dataset(root)
    parameters = tiny_caps.resolved_parameters(paths, kfold=False, epochs=2, n_proc=0)
    return root, paths, parameters


def run_clinicadl(*args) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "clinicadl", *map(str, args)], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def same_training(a: Path, b: Path) -> None:
    """Same training files; same tables, weights and predictions (times, dates and archive names aside).

    The ``test`` group (predicted in the reference before this comparison) is compared separately."""
    import pandas as pd
    import torch

    def files(root):
        return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                      if p.is_file() and not {"tensorboard", ".jobs", "test"} & set(p.parts))

    assert files(a) == files(b)
    compared = 0
    for name in files(a):
        if name.endswith("training.tsv"):
            frames = [pd.read_csv(root / name, sep="\t").drop(columns="time") for root in (a, b)]
            pd.testing.assert_frame_equal(*frames)
        elif name.endswith(".tsv") or name.endswith("maps.json"):
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
        elif name.endswith(".pth.tar"):
            states = [torch.load(io.BytesIO((root / name).read_bytes()), weights_only=True) for root in (a, b)]
            assert states[0].keys() == states[1].keys(), name
            for key, value in states[0]["model"].items():
                assert torch.equal(value, states[1]["model"][key]), (name, key)
        else:
            continue
        compared += 1
    assert compared > 20


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_cancelled_array_job_resumes_to_the_uninterrupted_local_run(slurm_cluster, data, monkeypatch):
    from clinicadl.evaluate.model import EvaluationOptions
    from clinicadl.evaluate.prediction_intervals import ModelIntervals, intervals_step
    from clinicadl.predict.predict import predict
    from clinicadl.training.jobs import read_job_record
    from clinicadl.training.launcher import LocalExecutor, make_executor
    from clinicadl.training.replicate_predictions import predict_replicates
    from clinicadl.training.replicates import read_replicates_tsv, train_procedure
    from clinicadl.training.status import training_status

    root, paths, parameters = data
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), str(ROOT / "tests"), str(ROOT)]))
    train = __import__("test_slurm_integration").slow_train  # importable by name in the SLURM jobs

    maps = root / "slurm"
    submitted = train_procedure(parameters, maps, replicates=4, root_seed=3, n_jobs=4, launcher="slurm",
                                slurm=SLURM, train_fn=train, wait=False, progress=False,
                                after_split=ModelIntervals())
    assert submitted.trained == (0, 1, 2, 3)
    jobs = {r: read_job_record(maps, r) for r in range(4)}
    assert len({job.job_id.split("_")[0] for job in jobs.values()}) == 1  # one array
    assert sorted(job.job_id.split("_")[1] for job in jobs.values()) == ["0", "1", "2", "3"]

    checkpoint = maps / f"replicate-{SLOW_REPLICATE}" / "split-0" / "tmp" / "checkpoint.pth.tar"
    deadline = time.monotonic() + 240
    while not checkpoint.exists():
        assert time.monotonic() < deadline, "replicate 2 never wrote a checkpoint"
        time.sleep(0.05)
    # scancel: SIGTERM (which submitit ignores), then SIGKILL after SLURM's KillWait (30 s), mid-way in epoch 2
    subprocess.run(["scancel", jobs[SLOW_REPLICATE].job_id], check=True, timeout=30)

    # the reference, trained locally while the cluster finishes: same seeds, one thread per job
    reference = root / "local"
    train_procedure(parameters, reference, replicates=4, root_seed=3, executor=LocalExecutor(2, n_threads=1),
                    progress=False, after_split=ModelIntervals())
    options = dict(participants_tsv=paths["test"], gpu=False, n_proc=0,
                   after_predicting=intervals_step(EvaluationOptions(n_resamples=200)))
    predict(reference / "replicate-1", "test", progress=False, **options)

    def settled():
        rows = training_status(maps).replicates
        return all(r.status == "done" or r.interrupted for r in rows)

    deadline = time.monotonic() + 240
    while not settled():
        assert time.monotonic() < deadline, training_status(maps)
        time.sleep(0.5)
    out = run_clinicadl("train", "status", maps)
    row = next(line for line in out.stdout.splitlines() if line.startswith(str(SLOW_REPLICATE)))
    assert row.split()[1:4] == ["interrupted", jobs[SLOW_REPLICATE].job_id, "ended"], out.stdout
    assert "3 done, 1 interrupted" in out.stdout
    finished = {r: digests(maps / f"replicate-{r}") for r in (0, 1, 3)}
    assert checkpoint.exists() and json.loads((maps / ".jobs" / "launcher.json").read_text())["launcher"] == "slurm"

    out = run_clinicadl("train", "resume", maps)  # on SLURM, as recorded; only replicate 2 is submitted
    assert {record.status for record in read_replicates_tsv(maps).values()} == {"done"}, out.stdout
    assert read_job_record(maps, SLOW_REPLICATE).job_id != jobs[SLOW_REPLICATE].job_id
    assert all(read_job_record(maps, r) == jobs[r] for r in (0, 1, 3))
    assert {r: digests(maps / f"replicate-{r}") for r in (0, 1, 3)} == finished  # never touched
    assert not checkpoint.parent.exists()
    same_training(maps, reference)

    # predict: one SLURM job per replicate writes what a local predict writes
    results = predict_replicates(maps, "test", launcher="slurm", n_jobs=4, slurm=SLURM, **options)
    assert [Path(result.maps_dir).name for result in results] == [f"replicate-{r}" for r in range(4)]
    for r in range(4):
        name = f"replicate-{r}/split-0/best-loss/test/test_image_level_prediction.tsv"
        assert (maps / name).is_file() and (maps / ".jobs" / "predict-logs").is_dir()
    name = "replicate-1/split-0/best-loss/test/test_image_level_prediction.tsv"
    assert (maps / name).read_bytes() == (reference / name).read_bytes()

    # each job uses as many threads as CPUs it asked for
    node_cpus = int(subprocess.run(["sinfo", "-h", "-o", "%c"], capture_output=True, text=True,
                                   timeout=20).stdout.split()[0].rstrip("+"))
    cpus = min(2, node_cpus)  # a job asking for more CPUs than the node has would wait forever
    job = make_executor("slurm", root / "threads", {**SLURM, "cpus_per_task": cpus}).submit(
        __import__("test_slurm_integration").threads_in_job)
    assert job.result(timeout=300) == (cpus, str(cpus))


def test_a_preempted_job_requeues_itself_and_resumes_from_its_checkpoint(slurm_cluster, data, monkeypatch):
    import pandas as pd

    from clinicadl.evaluate.prediction_intervals import ModelIntervals
    from clinicadl.training.jobs import read_job_record
    from clinicadl.training.launcher import LocalExecutor
    from clinicadl.training.replicates import read_replicates_tsv, train_procedure
    from clinicadl.training.slurm import slurm_state

    root, _, parameters = data
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), str(ROOT / "tests"), str(ROOT)]))
    train = __import__("test_slurm_integration").held_train

    maps, hold = root / "preempted", root / "hold"
    hold.write_text("")
    train_procedure(parameters, maps, replicates=1, root_seed=3, launcher="slurm", slurm=SLURM, train_fn=train,
                    wait=False, progress=False, after_split=ModelIntervals())
    job = read_job_record(maps, 0)
    log = maps / "replicate-0" / "split-0" / "training_logs" / "training.tsv"
    deadline = time.monotonic() + 240
    while not (log.parent.parent / "tmp" / "checkpoint.pth.tar").exists():
        assert time.monotonic() < deadline, "no checkpoint"
        time.sleep(0.05)
    first_epoch = pd.read_csv(log, sep="\t").iloc[0]

    # the signal SLURM sends before a time limit or at preemption: submitit checkpoints and requeues the job
    subprocess.run(["scancel", "--signal=USR2", job.job_id], check=True, timeout=30)
    while slurm_state(job.job_id) not in ("PENDING", "REQUEUED"):
        assert time.monotonic() < deadline, slurm_state(job.job_id)
        time.sleep(0.2)
    hold.unlink()
    subprocess.run(["scontrol", "update", f"JobId={job.job_id}", "StartTime=now"], check=True, timeout=30)  # no delay
    while read_replicates_tsv(maps)[0].status != "done":
        assert time.monotonic() < deadline, read_replicates_tsv(maps)
        time.sleep(0.2)

    text = Path(job.log).read_text()
    assert "Calling checkpoint method" in text and f"Requeued job {job.job_id}" in text
    assert text.count("Starting with JobEnvironment") == 2 and read_job_record(maps, 0) == job  # same job id
    pd.testing.assert_series_equal(pd.read_csv(log, sep="\t").iloc[0], first_epoch)  # epoch 1 kept, not redone

    reference = root / "preempted_reference"
    train_procedure(parameters, reference, replicates=1, root_seed=3, executor=LocalExecutor(2, n_threads=1),
                    progress=False, after_split=ModelIntervals())
    same_training(maps, reference)


def test_simulations_as_a_slurm_job_array(slurm_cluster, tmp_path):
    from clinicadl.evaluate.simulate import run_simulation

    local = run_simulation("accuracy", n=100, n_sim=400, seed=5, chunk_size=100)
    array = run_simulation("accuracy", n=100, n_sim=400, seed=5, chunk_size=100, launcher="slurm",
                           slurm={"time": 5}, cache_dir=tmp_path)
    assert array.results == local.results
