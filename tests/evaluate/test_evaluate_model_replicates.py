"""``evaluate model`` on the root of a MAPS with replicates evaluates every replicate, and names the groups its
replicates have when the one asked for is missing (not "available data groups: none")."""

from __future__ import annotations

import shutil

from click.testing import CliRunner
from evaluate.test_procedure_maps import write_procedure

from clinicadl.cli.main import cli
from clinicadl.evaluate.model import EvaluationOptions, evaluate_model
from clinicadl.maps import read_results_tsv


def test_every_replicate_is_evaluated(tmp_path):
    maps = write_procedure(tmp_path / "maps", n_replicates=3, n_splits=2, n_participants=20)
    result = CliRunner().invoke(cli, ["evaluate", "model", str(maps), "test", "--n_resamples", "100"])
    assert result.exit_code == 0, result.output
    assert "3 replicates" in result.output and "evaluate procedure" in result.output
    for r in range(3):
        for split in range(2):
            ci = maps / f"replicate-{r}" / f"split-{split}" / "best-loss" / "test" / "test_image_level_metrics_ci.tsv"
            assert set(read_results_tsv(ci)["n_subjects"]) == {20}
    table = evaluate_model(maps, "test", splits=[1]).table
    assert sorted(set(table["replicate"])) == [0, 1, 2] and set(table["split"]) == {1}


def test_output_file_gathers_every_replicate_and_nothing_is_written_in_the_maps(tmp_path):
    maps = write_procedure(tmp_path / "maps", n_replicates=2, n_participants=20)
    output = tmp_path / "all.tsv"
    result = evaluate_model(maps, "test", output=output)
    assert result.written == (output,) and sorted(set(read_results_tsv(output)["replicate"])) == [0, 1]
    assert not list(maps.rglob("*_metrics_ci.tsv"))


def test_a_missing_group_lists_the_groups_of_the_replicates(tmp_path):
    maps = write_procedure(tmp_path / "maps", n_replicates=2, n_participants=20)
    result = CliRunner().invoke(cli, ["evaluate", "model", str(maps), "other"])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "available data groups: test" in result.output and "none" not in result.output


def test_a_replicate_without_the_group_is_named(tmp_path):
    maps = write_procedure(tmp_path / "maps", n_replicates=2, n_participants=20)
    shutil.rmtree(maps / "replicate-1" / "groups" / "test")
    shutil.rmtree(maps / "replicate-1" / "split-0" / "best-loss" / "test")
    result = evaluate_model(maps, "test", options=EvaluationOptions(n_resamples=100))
    assert set(result.table["replicate"]) == {0}
    assert any("replicates 1 have no predictions on 'test'" in note for note in result.notes)
