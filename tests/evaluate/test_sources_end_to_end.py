"""A variance study end to end on a generated cohort: train --study sources, predict, evaluate sources, report."""

from __future__ import annotations

import pandas as pd
import pytest
from generated_cohort import prepared_cohort, run_clinicadl

pytestmark = pytest.mark.slow

TRAIN = ["-a", "TinyCNN", "--n_splits", "2", "--no-gpu", "--deterministic", "-b", "4", "--root_seed", "3",
         "-np", "0", "--epochs", "2"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    cohort = prepared_cohort(tmp_path_factory.mktemp("study"), n_participants=30, effect_size=2.5, n_test=12, seed=4,
                             n_proc=1)
    maps = cohort["root"] / "study"
    run_clinicadl("train", "classification", cohort["caps"], "image.json", cohort["tsv"], maps, *TRAIN,
                  "--study", "sources", "--sources", "init,order", "--replicates", 3)
    run_clinicadl("predict", maps, "test", "--participants_tsv", cohort["test"], "--no-gpu", "--n_resamples", 200)
    return maps


def test_evaluate_sources_reports_each_source_with_an_interval_and_draws_the_figure(study):
    result = run_clinicadl("evaluate", "sources", study, "test", "-m", "BA", "-m", "AUC")
    assert "standard deviation of one model's score due to each source" in result.stdout
    folder = study / "evaluation" / "test"
    table = pd.read_csv(folder / "sources.tsv", sep="\t")
    assert set(table["source"]) == {"init", "order", "all", "test sampling"}
    assert set(table["metric"]) == {"BA", "AUC"}
    designs = table[table["source"] != "test sampling"]
    assert (designs["n_models"] == 3).all()
    assert ((designs["ci_low"] <= designs["estimate"]) & (designs["estimate"] <= designs["ci_high"])).all()
    estimators = pd.read_csv(folder / "estimators.tsv", sep="\t")
    assert set(estimators["estimator"]) == {"IdealEst(3)", "FixHOptEst(3, All)", "FixHOptEst(3, Init)"}
    assert (folder / "sources.png").stat().st_size > 10_000


def test_the_report_has_a_sources_section_with_its_figure(study):
    run_clinicadl("evaluate", "sources", study, "test", "-m", "BA")
    output = study.parent / "report.md"
    run_clinicadl("evaluate", "report", study, "--data_group", "test", "--output", output)
    text = output.read_text()
    assert "Variance study of study" in text and "In a variance study (Bouthillier et al. 2021)" in text
    assert "sources.png" in text or "_sources.png" in text
    figures = list((study.parent / "report_figures").glob("*sources.png"))
    assert figures and figures[0].stat().st_size > 10_000


def test_the_report_never_shows_a_variance_study_of_replaced_predictions(study):
    """A prediction file replaced after `evaluate sources` makes its results stale: an error with --no-compute
    (naming the file and the command), recomputed otherwise."""
    from clinicadl.evaluate.procedure_inputs import load_procedure

    run_clinicadl("evaluate", "sources", study, "test", "-m", "BA")
    folder = study / "evaluation" / "test"
    before = (folder / "sources.json").read_text()
    source = load_procedure(study, "test").models[-1].predictions.source
    frame = pd.read_csv(source, sep="\t")
    frame.loc[0, "true_label"] = 1 - frame.loc[0, "true_label"]  # as if predicted again on relabelled data
    frame.to_csv(source, sep="\t", index=False)
    run_clinicadl("evaluate", "procedure", study, "test")  # the procedure's own results are recomputed
    output = study.parent / "report_stale.md"
    refused = run_clinicadl("evaluate", "report", study, "--data_group", "test", "--output", output, "--no-compute",
                            check=False)
    assert refused.returncode != 0
    assert "sources.tsv is stale" in refused.stderr and "clinicadl evaluate sources" in refused.stderr
    run_clinicadl("evaluate", "report", study, "--data_group", "test", "--output", output)
    assert (folder / "sources.json").read_text() != before
    assert str(source.resolve()) in (folder / "sources.json").read_text()
