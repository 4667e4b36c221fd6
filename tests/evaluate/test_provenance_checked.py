"""Provenance that is checked: every results file records its inputs (path, size, mtime, SHA-256) and the report
recomputes a result whose inputs changed (or, with --no-compute, refuses in one line naming the stale file and the
command to run). The report never shows a number computed from predictions that are no longer there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from evaluate.test_procedure_maps import write_procedure

from clinicadl.cli.main import cli
from clinicadl.errors import InputError
from clinicadl.evaluate.procedure import evaluate_procedure
from clinicadl.evaluate.provenance import stale_reasons
from clinicadl.evaluate.report import collect_report
from clinicadl.maps import read_results_tsv


def keep_first(maps: Path, n: int) -> None:
    """What ``predict MAPS test --participants_tsv other.tsv --overwrite`` does: every replicate's predictions
    replaced by those of fewer participants."""
    for tsv in maps.glob("**/test/test_image_level_prediction.tsv"):
        frame = pd.read_csv(tsv, sep="\t")
        keep = sorted(frame["participant_id"].unique())[:n]
        frame[frame["participant_id"].isin(keep)].to_csv(tsv, sep="\t", index=False)


def evaluated(tmp_path: Path, **kwargs) -> Path:
    maps = write_procedure(tmp_path / "maps", n_replicates=3, n_splits=1, n_participants=24, **kwargs)
    evaluate_procedure(maps, "test", plots=False)
    return maps


def test_sidecars_record_size_mtime_and_sha256_of_every_prediction_file(tmp_path):
    maps = evaluated(tmp_path)
    meta = json.loads((maps / "evaluation" / "test" / "procedure_expected.json").read_text())
    assert len(meta["inputs"]) == 3
    assert {"path", "size", "mtime_ns", "sha256"} <= set(meta["inputs"][0])
    assert stale_reasons(maps / "evaluation" / "test" / "procedure_expected.tsv") == ()


def test_report_after_predict_overwrite_shows_the_new_predictions_not_the_old(tmp_path):
    maps = evaluated(tmp_path)
    expected = maps / "evaluation" / "test" / "procedure_expected.tsv"
    assert set(read_results_tsv(expected)["n_subjects"]) == {24}
    keep_first(maps, 12)

    with pytest.raises(InputError, match=r"procedure_expected\.tsv is stale: its input .*changed") as error:
        collect_report([maps], compute=False)
    assert f"clinicadl evaluate procedure {maps} test" in str(error.value)
    result = CliRunner().invoke(cli, ["evaluate", "report", str(maps), "--no-compute", "-o",
                                      str(tmp_path / "r.html")])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "Traceback" not in result.output
    assert "is stale" in result.output and not (tmp_path / "r.html").exists()

    report = collect_report([maps])  # recomputed from the current predictions
    (section,) = report.maps
    assert section.computed and set(section.expected["n_subjects"]) == {12}
    assert set(section.models["n_subjects"]) == {12}
    assert set(read_results_tsv(expected)["n_subjects"]) == {12}
    assert stale_reasons(expected) == ()


def test_a_deleted_replicate_is_no_longer_reported(tmp_path):
    maps = evaluated(tmp_path)
    shutil.rmtree(maps / "replicate-2")
    with pytest.raises(InputError, match="no longer exists"):
        collect_report([maps], compute=False)
    report = collect_report([maps])
    (section,) = report.maps
    assert section.n_replicates == 2 and set(section.models["replicate"]) == {0, 1}


def test_a_new_replicate_makes_the_result_stale(tmp_path):
    maps = write_procedure(tmp_path / "maps", n_replicates=3, n_splits=1, n_participants=24,
                           statuses={2: "running"})
    evaluate_procedure(maps, "test", plots=False)
    tsv = maps / "replicates.tsv"
    tsv.write_text(tsv.read_text().replace("running", "done"))
    with pytest.raises(InputError, match="is a new input"):
        collect_report([maps], compute=False)
    assert collect_report([maps]).maps[0].n_replicates == 3


def test_an_interrupted_evaluation_without_its_sidecar_is_recomputed(tmp_path):
    maps = evaluated(tmp_path)
    (maps / "evaluation" / "test" / "procedure_models.json").unlink()  # killed between the TSV and its JSON
    with pytest.raises(InputError, match=r"procedure_models\.tsv is stale: its JSON sidecar"):
        collect_report([maps], compute=False)
    assert collect_report([maps]).maps[0].computed
    assert stale_reasons(maps / "evaluation" / "test" / "procedure_models.tsv") == ()


def test_recomputation_keeps_the_recorded_options(tmp_path):
    maps = write_procedure(tmp_path / "maps", n_replicates=3, n_splits=1, n_participants=24)
    from clinicadl.evaluate.model import EvaluationOptions

    evaluate_procedure(maps, "test", plots=False, options=EvaluationOptions(n_resamples=300, seed=4))
    keep_first(maps, 16)
    section = collect_report([maps]).maps[0]
    assert set(section.models["n_resamples"]) == {300} and set(section.models["seed"]) == {4}


def test_a_model_ci_whose_predictions_changed_is_recomputed(tmp_path):
    single = write_procedure(tmp_path / "single", n_replicates=1, n_participants=24, plain=True)
    first = collect_report([single]).maps[0]
    assert set(first.models["n_subjects"]) == {24}
    keep_first(single, 14)
    with pytest.raises(InputError, match=r"test_image_level_metrics_ci\.tsv is stale"):
        collect_report([single], compute=False)
    assert set(collect_report([single]).maps[0].models["n_subjects"]) == {14}


def test_a_stale_comparison_is_recomputed_or_left_out(tmp_path):
    a = write_procedure(tmp_path / "a", skill=1.6, n_replicates=3, n_participants=24)
    b = write_procedure(tmp_path / "b", skill=0.7, n_replicates=3, n_participants=24, salt=1)
    report = collect_report([a, b])
    assert len(report.comparisons) == 1
    keep_first(a, 12)
    keep_first(b, 12)
    for maps in (a, b):
        evaluate_procedure(maps, "test", plots=False)
    stale = collect_report([a, b], compute=False)
    assert stale.comparisons == () and any("Left out" in n and "is stale" in n for n in stale.notes)
    fresh = collect_report([a, b])
    (comparison,) = fresh.comparisons
    assert set(comparison.frame["n_subjects"]) == {12}
