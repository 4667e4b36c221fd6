"""Replicates of a learning procedure: layout, seeds, parallelism, failure isolation, resume (fake trainer).

The fake trainer lives in this module so that worker processes (``spawn``) and the subprocess of the
``kill -9`` test can import it: ``sys.path`` gets this folder and the module is imported as
``test_replicates``. Environment variables steer it (they reach spawned workers and subprocesses):
``FAKE_FAIL="1,2"`` makes those replicates raise, ``FAKE_SLOW=r`` makes replicate r sleep, and
``FAKE_CRASH=r`` kills the process training replicate r.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from clinicadl.cli.main import LazyGroup
from clinicadl.errors import ClinicaDLError, InputError, MAPSError
from clinicadl.maps.locks import maps_lock
from clinicadl.training import resume as resume_module
from clinicadl.training.replicates import (
    ERROR_LOG,
    REPLICATES_TSV,
    TSV_COLUMNS,
    ReplicatesFailedError,
    resume_maps,
    train_procedure,
)
from clinicadl.training.seeds import DEFAULT_VARIED, SOURCES, replicate_seeds

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PARAMETERS = {"architecture": "Conv5_FC3", "learning_rate": 1e-4, "n_splits": 1, "caps_directory": Path("caps")}


def _in(variable: str, replicate: int) -> bool:
    return str(replicate) in os.environ.get(variable, "").split(",")


def fake_train(parameters, maps_dir, seeds, *, resample_split=False, progress=True):
    """A deterministic stand-in for ``train_replicate``: writes a minimal 1.x MAPS into ``maps_dir``."""
    maps_dir = Path(maps_dir)
    replicate = parameters.get("replicate", 0)
    maps_dir.mkdir(parents=True, exist_ok=True)
    (maps_dir / "maps.json").write_text(json.dumps(parameters, indent=2, sort_keys=True, default=str))
    (maps_dir / "call.json").write_text(json.dumps({"seeds": seeds, "resample_split": resample_split}))
    if _in("FAKE_CRASH", replicate):
        os._exit(3)
    if _in("FAKE_SLOW", replicate):
        (maps_dir / "started").write_text("started")
        time.sleep(60)
    if _in("FAKE_FAIL", replicate):
        raise RuntimeError(f"boom in replicate {replicate}\nsecond line")
    model = maps_dir / "split-0" / "best-loss" / "model.pth.tar"
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(hashlib.sha256(json.dumps(seeds, sort_keys=True).encode()).digest())
    (maps_dir / "split-0" / "done").write_text("done")


def run_procedure(maps: str) -> None:
    """Entry point of the ``kill -9`` test's subprocess."""
    train_procedure(PARAMETERS, Path(maps), replicates=3, root_seed=0, vary=None, train_fn=fake_train,
                    progress=False)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for variable in ("FAKE_FAIL", "FAKE_SLOW", "FAKE_CRASH"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def importable(monkeypatch):
    """This module imported by name, so that its fake trainer can be sent to spawned workers."""
    monkeypatch.syspath_prepend(str(HERE))
    return importlib.import_module("test_replicates")


def read_tsv(maps: Path) -> list[dict[str, str]]:
    with open(maps / REPLICATES_TSV, newline="") as stream:
        return list(csv.DictReader(stream, delimiter="\t"))


def hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def train(maps, **kwargs):
    options = {"replicates": 3, "root_seed": 0, "vary": None, "train_fn": fake_train, "progress": False}
    return train_procedure(PARAMETERS, maps, **{**options, **kwargs})


# ------------------------------------------------------------------------------------------------- layout


def test_layout_maps_json_and_replicates_tsv(tmp_path):
    maps = tmp_path / "maps"
    result = train(maps, root_seed=7)
    assert result.statuses == {0: "done", 1: "done", 2: "done"} and result.failed == {}
    assert result.replicated and result.varied_sources == DEFAULT_VARIED and result.trained == (0, 1, 2)

    root = json.loads((maps / "maps.json").read_text())
    assert root["replicates"] == {"count": 3, "root_seed": 7, "varied_sources": list(DEFAULT_VARIED)}
    assert root["learning_rate"] == 1e-4 and root["caps_directory"] == "caps"
    assert "seed" not in root and "seeds" not in root

    with open(maps / REPLICATES_TSV, newline="") as stream:
        assert stream.readline().rstrip("\n").split("\t") == list(TSV_COLUMNS)
    assert TSV_COLUMNS == ("replicate", "status", *(f"seed_{s}" for s in SOURCES), "error")
    rows = read_tsv(maps)
    assert [row["replicate"] for row in rows] == ["0", "1", "2"]
    for r, row in enumerate(rows):
        expected = replicate_seeds(7, r, DEFAULT_VARIED)
        assert row["status"] == "done" and row["error"] == ""
        assert {s: int(row[f"seed_{s}"]) for s in SOURCES} == expected == result.seeds[r]
        folder = maps / f"replicate-{r}"
        assert (folder / "split-0" / "best-loss" / "model.pth.tar").is_file()
        assert not (folder / ERROR_LOG).exists()
        own = json.loads((folder / "maps.json").read_text())
        assert own["replicate"] == r and own["seeds"] == expected and own["seed"] == 7
        assert own["root_seed"] == 7 and own["varied_sources"] == list(DEFAULT_VARIED)
        assert own["learning_rate"] == 1e-4
    assert sorted(p.name for p in maps.iterdir() if not p.name.startswith(".")) == [
        "maps.json", "replicate-0", "replicate-1", "replicate-2", "replicates.tsv"]


def test_without_replicates_a_plain_maps_with_the_seeds_of_replicate_zero(tmp_path):
    maps = tmp_path / "maps"
    result = train(maps, replicates=None, root_seed=3, vary=["init"])
    assert not result.replicated and result.statuses == {0: "done"}
    assert not (maps / REPLICATES_TSV).exists() and not (maps / "replicate-0").exists()
    own = json.loads((maps / "maps.json").read_text())
    assert own["seeds"] == replicate_seeds(3, 0, SOURCES) and own["seed"] == 3  # as given
    assert "replicates" not in own
    assert json.loads((maps / "call.json").read_text())["resample_split"] is False
    assert (maps / "split-0" / "best-loss" / "model.pth.tar").is_file()


# ------------------------------------------------------------------------------------------------- seeds


def test_same_root_seed_gives_paired_seeds_whatever_the_hyper_parameters(tmp_path):
    train_procedure({**PARAMETERS, "learning_rate": 1e-3}, tmp_path / "a", replicates=3, root_seed=11,
                    vary=None, train_fn=fake_train)
    train_procedure({**PARAMETERS, "learning_rate": 1e-5}, tmp_path / "b", replicates=3, root_seed=11,
                    vary=None, train_fn=fake_train)
    columns = [f"seed_{s}" for s in SOURCES]
    a, b = read_tsv(tmp_path / "a"), read_tsv(tmp_path / "b")
    assert [[row[c] for c in columns] for row in a] == [[row[c] for c in columns] for row in b]
    assert json.loads((tmp_path / "a" / "replicate-1" / "maps.json").read_text())["learning_rate"] == 1e-3


def test_varying_only_init_keeps_the_split_and_does_not_resample_it(tmp_path):
    maps = tmp_path / "maps"
    train(maps, replicates=4, vary=["init"])
    rows = read_tsv(maps)
    assert len({row["seed_init"] for row in rows}) == 4
    for source in ("split", "order", "augmentation", "dropout", "hpo"):
        assert len({row[f"seed_{source}"] for row in rows}) == 1
    for r in range(4):
        assert json.loads((maps / f"replicate-{r}" / "call.json").read_text())["resample_split"] is False


def test_varying_split_redraws_it_and_asks_the_trainer_to_resample(tmp_path):
    maps = tmp_path / "maps"
    train(maps, replicates=3, vary="split")
    rows = read_tsv(maps)
    assert len({row["seed_split"] for row in rows}) == 3
    assert len({row["seed_init"] for row in rows}) == 1
    for r in range(3):
        call = json.loads((maps / f"replicate-{r}" / "call.json").read_text())
        assert call["resample_split"] is True and call["seeds"]["split"] == int(rows[r]["seed_split"])


# ------------------------------------------------------------------------------------------------- parallel


def test_two_workers_write_the_same_files_as_one(tmp_path, importable):
    one, two = tmp_path / "one", tmp_path / "two"
    train_procedure(PARAMETERS, one, replicates=3, root_seed=5, vary=None, train_fn=importable.fake_train)
    train_procedure(PARAMETERS, two, replicates=3, root_seed=5, vary=None, n_jobs=2,
                    train_fn=importable.fake_train)
    assert hashes(one) == hashes(two)
    assert {row["status"] for row in read_tsv(two)} == {"done"}


def test_a_dead_worker_fails_its_replicate_and_resume_completes_it(tmp_path, importable, monkeypatch):
    maps = tmp_path / "maps"
    monkeypatch.setenv("FAKE_CRASH", "1")
    with pytest.raises(ReplicatesFailedError) as caught:
        train_procedure(PARAMETERS, maps, replicates=2, root_seed=0, vary=None, n_jobs=2,
                        train_fn=importable.fake_train)
    assert "ended abruptly" in caught.value.result.failed[1]
    assert read_tsv(maps)[1]["status"] == "failed" and (maps / "replicate-1" / ERROR_LOG).is_file()
    monkeypatch.delenv("FAKE_CRASH")
    assert resume_maps(maps, n_jobs=2, train_fn=importable.fake_train).n_done == 2


# ------------------------------------------------------------------------------------------------- failures


def test_a_failing_replicate_is_isolated_and_reported(tmp_path, monkeypatch):
    maps = tmp_path / "maps"
    monkeypatch.setenv("FAKE_FAIL", "1")
    with pytest.raises(ClinicaDLError) as caught:
        train(maps)
    error = caught.value
    assert isinstance(error, ReplicatesFailedError)
    message = str(error)
    assert "\n" not in message and "1 of 3 replicates failed" in message
    assert f"clinicadl train resume {maps}" in message and "boom in replicate 1" in message
    assert error.result.statuses == {0: "done", 1: "failed", 2: "done"}

    rows = read_tsv(maps)
    assert [row["status"] for row in rows] == ["done", "failed", "done"]
    assert rows[1]["error"] == "RuntimeError: boom in replicate 1 second line"
    assert rows[0]["error"] == rows[2]["error"] == ""
    log = (maps / "replicate-1" / ERROR_LOG).read_text()
    assert "Traceback" in log and "boom in replicate 1\nsecond line" in log
    for r in (0, 2):
        assert (maps / f"replicate-{r}" / "split-0" / "done").is_file()


def test_resume_retrains_failed_replicates_and_never_touches_done_ones(tmp_path, monkeypatch):
    maps = tmp_path / "maps"
    monkeypatch.setenv("FAKE_FAIL", "1")
    with pytest.raises(ReplicatesFailedError):
        train(maps)
    before = {r: hashes(maps / f"replicate-{r}") for r in (0, 2)}

    with pytest.raises(ReplicatesFailedError):  # still failing; nothing else retrained
        resume_maps(maps, train_fn=fake_train)
    with pytest.raises(ReplicatesFailedError):
        resume_maps(maps, retry_failed=False, train_fn=fake_train)

    monkeypatch.delenv("FAKE_FAIL")
    result = resume_maps(maps, train_fn=fake_train)
    assert result.statuses == {0: "done", 1: "done", 2: "done"} and result.trained == (1,)
    assert {r: hashes(maps / f"replicate-{r}") for r in (0, 2)} == before
    assert not (maps / "replicate-1" / ERROR_LOG).exists()
    assert [row["error"] for row in read_tsv(maps)] == ["", "", ""]

    mtimes = {p: p.stat().st_mtime_ns for p in maps.rglob("*")}
    assert resume_maps(maps, train_fn=fake_train).trained == ()  # all done: nothing written
    assert {p: p.stat().st_mtime_ns for p in maps.rglob("*")} == mtimes


def test_resume_trains_running_and_pending_replicates_with_their_recorded_seeds(tmp_path):
    maps = tmp_path / "maps"
    train(maps, replicates=4, vary=["init"])
    rows = read_tsv(maps)
    rows[1]["status"], rows[3]["status"] = "running", "pending"
    with open(maps / REPLICATES_TSV, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=TSV_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    (maps / "replicate-1" / "split-0" / "done").unlink()  # interrupted
    before = {r: hashes(maps / f"replicate-{r}") for r in (0, 2)}
    calls = []

    def recording_train(parameters, maps_dir, seeds, **kwargs):
        calls.append((parameters["replicate"], seeds, kwargs["resample_split"], parameters["learning_rate"]))
        fake_train(parameters, maps_dir, seeds, **kwargs)

    result = resume_maps(maps, train_fn=recording_train)
    assert result.trained == (1, 3) and set(result.statuses.values()) == {"done"}
    assert calls == [(r, replicate_seeds(0, r, ["init"]), False, 1e-4) for r in (1, 3)]
    assert {r: hashes(maps / f"replicate-{r}") for r in (0, 2)} == before
    assert (maps / "replicate-1" / "split-0" / "done").is_file()


def test_kill_9_during_a_replicate_then_resume(tmp_path):
    maps = tmp_path / "maps"
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import test_replicates; " \
           f"test_replicates.run_procedure({str(maps)!r})"
    env = {**os.environ, "FAKE_SLOW": "2", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not (maps / "replicate-2" / "started").exists():
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "replicate 2 never started"
            time.sleep(0.05)
        assert [row["status"] for row in read_tsv(maps)] == ["done", "done", "running"]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    before = {r: hashes(maps / f"replicate-{r}") for r in (0, 1)}

    result = resume_maps(maps, train_fn=fake_train)
    assert result.trained == (2,) and set(result.statuses.values()) == {"done"}
    assert {r: hashes(maps / f"replicate-{r}") for r in (0, 1)} == before
    assert (maps / "replicate-2" / "split-0" / "best-loss" / "model.pth.tar").is_file()


def test_resume_a_plain_maps_as_one_replicate(tmp_path):
    maps = tmp_path / "maps"
    train(maps, replicates=None, root_seed=2)
    calls = []

    def recording_train(parameters, maps_dir, seeds, **kwargs):
        calls.append((Path(maps_dir), seeds, kwargs["resample_split"]))

    result = resume_maps(maps, train_fn=recording_train)
    assert not result.replicated and result.root_seed == 2
    assert calls == [(maps, replicate_seeds(2, 0, SOURCES), False)]

    (maps / "maps.json").write_text(json.dumps({"architecture": "Conv5_FC3", "seed": 0}))  # upstream MAPS
    with pytest.raises(MAPSError, match="seeds"):
        resume_maps(maps, train_fn=recording_train)
    with pytest.raises(MAPSError, match=r"maps\.json"):
        resume_maps(tmp_path, train_fn=recording_train)


def test_a_maps_being_trained_cannot_be_resumed_by_a_second_process(tmp_path):
    maps = tmp_path / "maps"
    train(maps)
    (maps / "replicate-0" / "split-0" / "done").unlink()
    with maps_lock(maps):
        with pytest.raises(MAPSError, match="another clinicadl process"):
            resume_maps(maps, train_fn=fake_train)
        with pytest.raises(MAPSError, match="another clinicadl process"):
            train(maps, overwrite=True)
    assert (maps / "replicate-1").is_dir()


def test_a_corrupt_replicates_tsv_is_a_maps_error(tmp_path):
    maps = tmp_path / "maps"
    train(maps)
    text = (maps / REPLICATES_TSV).read_text()
    (maps / REPLICATES_TSV).write_text(text.replace("\tdone\t", "\tfinished\t", 1))
    with pytest.raises(MAPSError, match="finished"):
        resume_maps(maps, train_fn=fake_train)
    (maps / REPLICATES_TSV).write_text("\n".join(text.splitlines()[:-1]) + "\n")  # a row missing
    with pytest.raises(MAPSError, match="there are 3"):
        resume_maps(maps, train_fn=fake_train)


# ------------------------------------------------------------------------------------------------- inputs


def test_an_existing_output_is_refused_without_overwrite(tmp_path):
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "precious.txt").write_text("keep me")
    with pytest.raises(MAPSError) as caught:
        train(maps)
    message = str(caught.value)
    assert "\n" not in message and "--overwrite" in message and "clinicadl train resume" in message
    assert (maps / "precious.txt").read_text() == "keep me"

    train(maps, overwrite=True)
    assert not (maps / "precious.txt").exists() and (maps / REPLICATES_TSV).is_file()
    (tmp_path / "empty").mkdir()
    train(tmp_path / "empty")  # an empty folder is fine


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"vary": ["init", "weather"]}, "weather"),
        ({"vary": "split,colour"}, "colour"),
        ({"replicates": 0}, "replicates"),
        ({"replicates": 2.5}, "replicates"),
        ({"root_seed": -1}, "root seed"),
        ({"n_jobs": 0}, "n_jobs"),
    ],
)
def test_invalid_inputs_raise_before_anything_is_written_or_removed(tmp_path, options, match):
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "precious.txt").write_text("keep me")
    with pytest.raises(InputError, match=match):
        train(maps, overwrite=True, **options)
    assert [p.name for p in maps.iterdir()] == ["precious.txt"]
    with pytest.raises(InputError, match=match):
        train(tmp_path / "new", **options)
    assert not (tmp_path / "new").exists()


def test_parameters_that_json_cannot_hold_are_refused(tmp_path):
    with pytest.raises(InputError, match="'callback'"):
        train_procedure({**PARAMETERS, "callback": object()}, tmp_path / "m", replicates=2, root_seed=0,
                        vary=None, train_fn=fake_train)
    with pytest.raises(InputError, match="mapping"):
        train_procedure([1, 2], tmp_path / "m", replicates=2, root_seed=0, vary=None, train_fn=fake_train)
    assert not (tmp_path / "m").exists()


# ------------------------------------------------------------------------------------------------- command line


def test_cli_resume_prints_statuses_and_exits_1_while_replicates_fail(tmp_path, monkeypatch):
    maps = tmp_path / "maps"
    monkeypatch.setenv("FAKE_FAIL", "2")
    with pytest.raises(ReplicatesFailedError):
        train(maps)
    monkeypatch.setattr(resume_module, "resolve_train_fn", lambda train_fn, after_split=None: fake_train)
    group = LazyGroup(name="train", lazy={"resume": "clinicadl.cli.train_resume:resume"})
    runner = CliRunner()

    failing = runner.invoke(group, ["resume", str(maps)])
    assert failing.exit_code == 1
    assert "failed" in failing.output and "Error: 1 of 3 replicates failed" in failing.output
    assert "Traceback (most recent call last)" not in failing.output

    monkeypatch.delenv("FAKE_FAIL")
    done = runner.invoke(group, ["resume", str(maps), "--n_jobs", "1"])
    assert done.exit_code == 0, done.output
    assert done.output.count("done") == 3
    again = runner.invoke(group, ["resume", str(maps)])
    assert again.exit_code == 0 and "Nothing to do" in again.output

    missing = runner.invoke(group, ["resume", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert runner.invoke(group, ["resume", "--help"]).exit_code == 0
