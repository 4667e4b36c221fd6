"""OS errors are user errors: a read-only folder, a full disk, a missing permission end in one line naming the
path and the fix, a non-zero exit, no traceback and nothing half-written; a replicate that meets one is recorded
``failed``, never left ``running``. Real subprocesses, a read-only tmpfs and a full tmpfs (root only)."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest
from faults import full_disk, read_only_folder, run_clinicadl

from clinicadl.errors import os_error_message
from clinicadl.training.replicates import ReplicatesFailedError, read_replicates_tsv, train_procedure

EXAMPLE = Path(__file__).resolve().parents[2] / "clinicadl" / "examples" / "predictions.tsv"


def one_line_error(result) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_the_message_names_the_path_the_cause_and_the_fix():
    full = os_error_message(OSError(errno.ENOSPC, "No space left on device", "/x/model.pth.tar"))
    assert full.startswith("cannot write /x/model.pth.tar: No space left on device; free some space")
    assert "run the same command again" in full
    denied = os_error_message(PermissionError(errno.EACCES, "Permission denied", "/x"))
    assert "chmod" in denied and "/x" in denied


def test_evaluate_into_a_read_only_folder(tmp_path):
    with read_only_folder(tmp_path / "ro") as folder:
        result = run_clinicadl("evaluate", "model", EXAMPLE, "--n_resamples", "50", "-o", folder / "out.tsv")
        line = one_line_error(result)
        assert str(folder) in line and ("read-only" in line or "Permission denied" in line)
        assert sorted(p.name for p in folder.iterdir()) == []


def test_tsvtools_split_next_to_a_read_only_tsv(tmp_path):
    rows = "participant_id\tsession_id\tdiagnosis\n" + "".join(
        f"sub-{i:02d}\tses-M000\t{'AD' if i % 2 else 'CN'}\n" for i in range(20))
    with read_only_folder(tmp_path / "ro", {"data.tsv": rows}) as folder:
        line = one_line_error(run_clinicadl("tsvtools", "split", folder / "data.tsv", "--seed", "1",
                                            "--ignore_demographics", "--n_test", "0.2"))
        assert str(folder) in line and "choose" in line
        assert sorted(p.name for p in folder.iterdir()) == ["data.tsv"]


def test_evaluate_on_a_full_disk_writes_all_three_files_or_none(tmp_path):
    with full_disk(tmp_path / "disk", size_kb=256, free_kb=12) as disk:
        result = run_clinicadl("evaluate", "model", EXAMPLE, "--n_resamples", "50", "-o", disk / "out.tsv")
        line = one_line_error(result)
        assert "No space left on device" in line and "free some space" in line
        assert sorted(p.name for p in disk.iterdir()) == [".filler"]  # no TSV without its JSON and plot
        (disk / ".filler").unlink()  # space freed: the same command now works
        again = run_clinicadl("evaluate", "model", EXAMPLE, "--n_resamples", "50", "-o", disk / "out.tsv")
        assert again.returncode == 0, again.stderr
        assert sorted(p.name for p in disk.iterdir()) == ["out.json", "out.png", "out.tsv"]


def big_train(parameters, maps_dir, seeds, *, resample_split=False, progress=True):
    """A trainer whose checkpoint does not fit on the disk."""
    from clinicadl.atomic import atomic_write_bytes

    maps_dir = Path(maps_dir)
    maps_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(maps_dir / "split-0" / "tmp" / "checkpoint.pth.tar", b"\0" * 400_000)


def test_a_replicate_that_fills_the_disk_is_failed_not_running(tmp_path):
    with full_disk(tmp_path / "disk", size_kb=256, free_kb=200) as disk:
        with pytest.raises(ReplicatesFailedError) as error:
            train_procedure({"learning_rate": 1e-4}, disk / "maps", replicates=2, root_seed=0, vary=None,
                            train_fn=big_train, progress=False)
        message = str(error.value)
        assert "\n" not in message and "No space left on device" in message and "checkpoint.pth.tar" in message
        records = read_replicates_tsv(disk / "maps")
        assert [r.status for r in records.values()] == ["failed", "failed"]
        assert not list((disk / "maps").rglob("*.tmp")) and not list((disk / "maps").rglob("checkpoint.pth.tar"))


def test_a_permission_error_while_training_is_one_line(tmp_path):
    def denied(parameters, maps_dir, seeds, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "caps"))

    with pytest.raises(ReplicatesFailedError, match=r"cannot write .*caps: Permission denied"):
        train_procedure({}, tmp_path / "maps", replicates=1, root_seed=0, vary=None, train_fn=denied,
                        progress=False)
    assert read_replicates_tsv(tmp_path / "maps")[0].status == "failed"
    shutil.rmtree(tmp_path / "maps")


@pytest.mark.slow
def test_train_into_a_read_only_folder(tmp_path):
    import tiny_caps as helpers

    paths = helpers.make_dataset(tmp_path)
    with read_only_folder(tmp_path / "ro") as folder:
        arguments = helpers.train_arguments(paths, folder / "maps", kfold=False)
        line = one_line_error(run_clinicadl("train", "classification", *arguments, "--epochs", "1"))
        assert str(folder / "maps") in line and ("read-only" in line or "Permission denied" in line)
        assert list(folder.iterdir()) == []


def test_an_os_error_wrapped_by_a_library_is_still_one_line(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from clinicadl.cli.main import cli
    from clinicadl.evaluate import model as model_module

    def wrapped(*args, **kwargs):
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out.png"))
        except OSError as error:
            raise RuntimeError("Caught OSError in DataLoader worker process 0") from error

    monkeypatch.setattr(model_module, "evaluate_model", wrapped)
    result = CliRunner().invoke(cli, ["evaluate", "model", str(EXAMPLE)])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert f"cannot write {tmp_path / 'out.png'}: No space left on device" in result.output

    def bug(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(model_module, "evaluate_model", bug)
    result = CliRunner().invoke(cli, ["evaluate", "model", str(EXAMPLE)])
    assert isinstance(result.exception, RuntimeError)  # a bug keeps its traceback
