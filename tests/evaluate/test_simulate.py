"""``clinicadl evaluate simulate`` and its library function: tables, warnings, --from_maps."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner
from evaluate.test_procedure_maps import write_procedure

from clinicadl.cli.main import cli
from clinicadl.errors import InputError
from clinicadl.evaluate.simulate import format_simulation_table, run_simulation, truth_from_maps
from clinicadl.stats.simulation import SCENARIOS


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_help_names_every_scenario_and_imports_neither_torch_nor_pandas():
    code = ("import sys; from clinicadl.cli.main import cli\n"
            "try: cli.main(['evaluate', 'simulate', '--help'], prog_name='clinicadl')\n"
            "except SystemExit: pass\n"
            "assert 'torch' not in sys.modules and 'pandas' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for name in SCENARIOS:
        assert name in out.stdout
    assert "Do the intervals and tests keep their nominal rates?" in out.stdout


def test_table_and_warning_where_a_procedure_fails():
    result = run("evaluate", "simulate", "--scenario", "resampled-t", "--n_sim", 1000, "--seed", 3)
    assert result.exit_code == 0, result.output
    assert "corrected resampled t" in result.output and "MC SE" in result.output
    assert "Warning: naive resampled t over-rejects" in result.output
    assert "Warning: corrected" not in result.output


def test_no_warning_where_the_procedures_hold():
    report = run_simulation("accuracy", n=1000, n_sim=1000, procedures=["wilson", "jeffreys"], seed=1)
    assert [r.procedure for r in report.results] == ["wilson", "jeffreys"]
    assert report.warnings == ()
    table = format_simulation_table(report)
    assert "bernoulli-accuracy(n=1000,p=0.8)" in table and "wilson" in table and "!" not in table.splitlines()[5]


def test_same_numbers_with_cache_and_workers(tmp_path):
    a = run_simulation("replicates", n=5, n_sim=600, seed=2, chunk_size=200)
    b = run_simulation("replicates", n=5, n_sim=600, seed=2, chunk_size=200, n_jobs=2, cache_dir=tmp_path)
    c = run_simulation("replicates", n=5, n_sim=600, seed=2, chunk_size=200, cache_dir=tmp_path)
    assert a.results == b.results == c.results
    assert len(list(tmp_path.rglob("chunk-*.json"))) == 3 * 3


def test_from_maps_takes_the_truth_from_the_replicates(tmp_path):
    maps = write_procedure(tmp_path / "maps", n_replicates=6, n_participants=60)
    parameters, note = truth_from_maps(maps, "test", metric="BA", seed=1)
    assert parameters["n_replicates"] == 6 and 0.5 < parameters["mu"] < 1
    assert parameters["sd_test"] > 0 and parameters["fixed_split"] is False
    assert "Truth from" in note and "BA" in note
    report = run_simulation("replicates", n_sim=500, from_maps=maps, data_group="test", metric="BA", seed=1)
    assert report.notes[0] == note
    assert "R=6" in report.key and f"sd_test={parameters['sd_test']:g}" in report.key
    result = run("evaluate", "simulate", "--scenario", "replicates", "--from_maps", maps, "--data_group", "test",
                 "--n_sim", 300)
    assert result.exit_code == 0, result.output
    assert "Note: Truth from" in result.output and "replicates: t + test variance" in result.output


def test_user_errors():
    with pytest.raises(InputError, match="Unknown scenario 'nope'; choose one of accuracy"):
        run_simulation("nope")
    with pytest.raises(InputError, match="Unknown procedure"):
        run_simulation("accuracy", procedures=["exact"], n_sim=10)
    with pytest.raises(InputError, match="--scenario replicates"):
        run_simulation("accuracy", from_maps=".", data_group="test")
    result = run("evaluate", "simulate", "--scenario", "nope")
    assert result.exit_code == 1 and "Unknown scenario" in result.output and "Traceback" not in result.output


def test_chunks_as_a_job_array_give_the_same_numbers(tmp_path):
    # submitit's local executor runs the chunks as jobs with SLURM's life cycle (tests/training/
    # test_slurm_integration.py does the same on a real cluster)
    local = run_simulation("accuracy", n=100, n_sim=600, seed=3, chunk_size=200)
    array = run_simulation("accuracy", n=100, n_sim=600, seed=3, chunk_size=200, launcher="submitit_local",
                           cache_dir=tmp_path)
    assert array.results == local.results
    assert list((tmp_path / ".jobs").rglob("*_log.out"))  # the jobs' logs
    with pytest.raises(InputError, match="--output_dir"):
        run_simulation("accuracy", n=100, n_sim=200, launcher="slurm")
    with pytest.raises(InputError, match="need --launcher slurm"):
        run_simulation("accuracy", n=100, n_sim=200, slurm={"partition": "cpu"})
