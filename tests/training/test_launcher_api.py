"""The launcher API that every scale-out uses: make_executor, map_array, gather, SLURM options and sbatch text."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clinicadl.errors import InputError
from clinicadl.training.launcher import (
    DebugExecutor,
    LocalExecutor,
    check_launcher,
    gather,
    make_executor,
    map_array,
)
from clinicadl.training.slurm import SlurmOptions, SubmititExecutor

HERE = Path(__file__).resolve().parent
FULL_OPTIONS = {"partition": "gpu", "account": "proj", "qos": "normal", "time": "1:30:00", "gpus_per_task": 1,
                "cpus_per_task": 4, "mem_gb": 16, "sbatch": ["--constraint=v100", "--exclusive"],
                "setup": ["module load cuda"]}


NEEDS_SRUN = pytest.mark.skipif(shutil.which("srun") is None,
                                reason="submitit's SLURM executor needs srun (a machine with SLURM installed)")


@NEEDS_SRUN
def test_make_executor_by_name():
    assert isinstance(make_executor("debug"), DebugExecutor)
    local = make_executor("local", n_jobs=3)
    assert isinstance(local, LocalExecutor) and local.n_jobs == 3 and not local.records_jobs
    slurm = make_executor("slurm", "/maps/.jobs/logs", {"partition": "gpu"}, n_jobs=2)
    assert isinstance(slurm, SubmititExecutor) and slurm.records_jobs and slurm.launcher == "slurm"
    assert slurm.options == SlurmOptions(partition="gpu")


@pytest.mark.parametrize(("kind", "folder", "options", "n_jobs", "match"), [
    ("cluster", None, None, 1, "Unknown launcher 'cluster'; choose among local, slurm"),
    ("local", None, {"partition": "gpu", "time": None}, 1, r"partition need --launcher slurm"),
    ("slurm", None, None, 1, "needs a folder"),
    ("local", None, None, 0, "n_jobs must be a positive integer"),
    ("slurm", "f", {"partitions": "gpu"}, 1, "Unknown SLURM option.*partitions.*the options are partition"),
    ("slurm", "f", {"time": "ninety"}, 1, r"Invalid SLURM time 'ninety'"),
    ("slurm", "f", {"time": 0}, 1, "at least one minute"),
    ("slurm", "f", {"cpus_per_task": 0}, 1, "cpus_per_task must be an integer >= 1"),
    ("slurm", "f", {"mem_gb": -2}, 1, "mem_gb must be a positive number"),
    ("slurm", "f", {"partition": " "}, 1, "partition must be a non-empty name"),
    ("slurm", "f", {"sbatch": ["--=x"]}, 1, "Invalid extra sbatch line"),
])
def test_invalid_launchers_and_options_are_one_clear_error(kind, folder, options, n_jobs, match):
    with pytest.raises(InputError, match=match):
        make_executor(kind, folder, options, n_jobs=n_jobs)


@pytest.mark.parametrize(("value", "minutes"), [
    (90, 90), ("90", 90), ("1:30:00", 90), ("1:30:01", 91), ("2-00:00:00", 2880), ("1-2", 1560), ("5:30", 6),
    ("1-01:30", 1530),
])
def test_slurm_time_formats(value, minutes):
    assert SlurmOptions.from_mapping({"time": value}).time == minutes


def test_slurm_options_round_trip_and_sbatch_lines():
    options = SlurmOptions.from_mapping(FULL_OPTIONS)
    assert options.time == 90 and options.mem_gb == 16.0 and options.sbatch == ("--constraint=v100", "--exclusive")
    assert options.additional_parameters() == {"constraint": "v100", "exclusive": True}
    assert SlurmOptions.from_mapping(options.to_dict()) == options
    assert SlurmOptions.from_mapping({"sbatch": "#SBATCH --mail-type=END"}).additional_parameters() == {
        "mail-type": "END"}
    assert SlurmOptions.from_mapping({"gpus_per_task": 0}).gpus_per_task is None
    assert check_launcher("local", SlurmOptions()) is None


@NEEDS_SRUN
def test_the_sbatch_script_of_a_replicate_array_matches_the_stored_one():
    executor = SubmititExecutor("/maps/.jobs/logs", FULL_OPTIONS, n_jobs=3)
    expected = (HERE / "test_slurm_expected_sbatch.txt").read_text().strip()
    assert executor.sbatch_text(4).strip() == expected
    assert "#SBATCH --array=0-3%3" in expected and "#SBATCH --time=90" in expected  # 3 of the 4 jobs at once
    assert "#SBATCH --array" not in executor.sbatch_text()


def test_map_array_keeps_the_order_of_items_and_gather_raises_the_first_error():
    for executor in (DebugExecutor(), LocalExecutor(1)):
        jobs = map_array(executor, abs, [-3, 2, -1])
        assert gather(jobs) == [3, 2, 1]
    jobs = map_array(DebugExecutor(), math.sqrt, [4, -1, -4])
    with pytest.raises(ValueError, match="math domain error"):
        gather(jobs)
    assert map_array(DebugExecutor(), abs, []) == []


def test_map_array_runs_a_real_job_array_with_submitits_local_executor(tmp_path):
    executor = make_executor("submitit_local", tmp_path / "logs")
    jobs = map_array(executor, math.factorial, [3, 4, 5])
    assert gather(jobs, poll_interval=0.1) == [6, 24, 120]
    assert len({job.job_id for job in jobs}) == 3 and all(job.log.is_file() for job in jobs)
    failing = executor.submit(math.sqrt, -1)
    assert isinstance(failing.exception(timeout=60), Exception) and "math domain error" in str(failing.exception())


def test_help_imports_neither_submitit_nor_torch():
    code = (
        "import sys; from clinicadl.cli.main import cli\n"
        "for args in (['train', 'classification', '--help'], ['train', 'resume', '--help'],\n"
        "             ['train', 'status', '--help'], ['predict', '--help']):\n"
        "    try: cli.main(args, prog_name='clinicadl')\n"
        "    except SystemExit: pass\n"
        "assert not {'torch', 'pandas', 'submitit'} & set(sys.modules), 'heavy module imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "--launcher [local|slurm]" in out.stdout and "--gpus_per_task" in out.stdout
    assert "interrupted" in out.stdout  # the help of train status


def run_cli(*args):
    from click.testing import CliRunner

    from clinicadl.cli.main import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize(("options", "toml", "match"), [
    (["--partition", "gpu"], "", "partition need --launcher slurm"),
    (["--launcher", "slurm", "--time", "soon"], "", "Invalid SLURM time 'soon'"),
    (["--detach"], "", "--detach needs --launcher slurm"),
    ([], '[Launcher]\nlauncher = "slurm"\ntime = "soon"\n', "Invalid SLURM time 'soon'"),
    ([], '[Launcher]\nlauncher = "cloud"\n', "Unknown launcher 'cloud'"),
    ([], '[Launcher]\npartitionn = "gpu"\n', "unknown key.*partitionn"),
    (["--launcher", "local"], '[Launcher]\nlauncher = "slurm"\nqos = "high"\n', "qos need --launcher slurm"),
])
def test_train_refuses_bad_launcher_options_in_one_line_before_reading_inputs(tmp_path, options, toml, match):
    extra = []
    if toml:
        (tmp_path / "c.toml").write_text(toml)
        extra = ["-c", tmp_path / "c.toml"]
    result = run_cli("train", "classification", tmp_path / "no_caps", "image.json", tmp_path / "no_tsv",
                     tmp_path / "maps", *options, *extra)
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("Error: ") and re.search(match, result.output), result.output
    assert not (tmp_path / "maps").exists()


def test_a_cluster_launcher_needs_replicates(tmp_path):
    from clinicadl.training.replicates import train_procedure

    with pytest.raises(InputError, match="add --replicates R"):
        train_procedure({}, tmp_path / "maps", replicates=None, root_seed=0, launcher="slurm")
    assert not (tmp_path / "maps").exists()


def _replicated_maps(tmp_path, statuses):
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "maps.json").write_text("{}")
    rows = "".join(f"{r}\t{status}\n" for r, status in enumerate(statuses))
    (maps / "replicates.tsv").write_text("replicate\tstatus\n" + rows)
    return maps


def test_predict_replicates_runs_one_job_per_finished_replicate_and_reports_failures(tmp_path, monkeypatch):
    from clinicadl.errors import ClinicaDLError, MAPSError
    from clinicadl.predict import predict as predict_module
    from clinicadl.training.replicate_predictions import predict_replicates

    maps = _replicated_maps(tmp_path, ["done", "failed", "done", "done"])
    calls = []

    def fake_predict(folder, group, *, progress, **options):
        calls.append((Path(folder).name, group, progress, options))
        if Path(folder).name == "replicate-3" and options.get("fail"):
            raise MAPSError("group test exists\nin replicate-3")
        return [Path(folder).name]

    monkeypatch.setattr(predict_module, "predict", fake_predict)
    assert predict_replicates(maps, "test", executor=DebugExecutor(), overwrite=True) == [
        "replicate-0", "replicate-2", "replicate-3"]
    assert calls[0] == ("replicate-0", "test", False, {"overwrite": True, "skip_complete": True})
    with pytest.raises(ClinicaDLError, match=r"failed for 1 of 3 MAPS: replicate-3: group test exists in replicate-3$"):
        predict_replicates(maps, "test", executor=DebugExecutor(), fail=True)
    with pytest.raises(InputError, match="Invalid data group"):
        predict_replicates(maps, "../test", executor=DebugExecutor())
    with pytest.raises(InputError, match="need --launcher slurm"):
        predict_replicates(maps, "test", launcher="local", slurm={"partition": "gpu"})


def test_predict_replicates_finishes_a_run_that_failed_in_some_replicates(tmp_path, monkeypatch):
    from clinicadl.errors import MAPSError
    from clinicadl.predict import predict as predict_module
    from clinicadl.training.replicate_predictions import predict_replicates

    maps = _replicated_maps(tmp_path, ["done", "done"])
    complete = {"replicate-0"}  # what an earlier run, failed in replicate 1, left

    def fake_predict(folder, group, *, progress, skip_complete, **options):
        if Path(folder).name in complete:
            assert skip_complete  # a complete replicate is kept, not refused
            return []
        complete.add(Path(folder).name)
        return [Path(folder).name]

    monkeypatch.setattr(predict_module, "predict", fake_predict)
    assert predict_replicates(maps, "test", executor=DebugExecutor()) == ["replicate-1"]
    with pytest.raises(MAPSError, match="already exists"):  # nothing left to do: refused as without --n_jobs
        predict_replicates(maps, "test", executor=DebugExecutor())


def test_predict_command_sends_replicates_to_the_launcher(tmp_path, monkeypatch):
    from clinicadl.training import replicate_predictions

    maps = _replicated_maps(tmp_path, ["done"])
    seen = {}

    def fake(maps_dir, group, **options):
        seen.update(options, maps_dir=maps_dir, group=group)
        return []

    monkeypatch.setattr(replicate_predictions, "predict_replicates", fake)
    result = run_cli("predict", maps, "test", "--n_jobs", 2, "--no-gpu")
    assert result.exit_code == 0, result.output
    assert seen["launcher"] == "local" and seen["n_jobs"] == 2 and seen["slurm"] == {} and seen["gpu"] is False
    result = run_cli("predict", maps, "test", "--launcher", "slurm", "--partition", "gpu", "--time", "30")
    assert result.exit_code == 0, result.output
    assert seen["launcher"] == "slurm" and seen["n_jobs"] is None and seen["slurm"] == {
        "partition": "gpu", "time": "30"}


def test_threads_follow_the_slurm_allocation_only_in_submitit_slurm_jobs(monkeypatch):
    from clinicadl.training.slurm import limit_threads_to_allocation

    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("SUBMITIT_EXECUTOR", raising=False)
    assert limit_threads_to_allocation() is None and os.environ["OMP_NUM_THREADS"] == "7"  # e.g. inside salloc
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch else None
    try:
        assert limit_threads_to_allocation() == 3 and os.environ["OMP_NUM_THREADS"] == "3"
        assert torch is None or torch.get_num_threads() == 3
    finally:
        if torch is not None:
            torch.set_num_threads(before)
