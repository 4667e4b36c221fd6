"""ClinicaDL 1.6.1's other tsvtools: adapt, get-metadata, get-progression, prepare-experiment, getlabels,
get-labels -c, split --multi-diagnoses, kfold --merged-tsv; run as upstream's command lines."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.data.covariate_balance import most_balanced_split
from clinicadl.data.progression import progression_labels
from clinicadl.errors import InputError


def run(*arguments):
    result = CliRunner().invoke(cli, [str(a) for a in arguments])
    return result


def write_cohort(path, n=40, sessions=("ses-M000",)):
    rows = [{"participant_id": f"sub-{i:03d}", "session_id": session, "diagnosis": "AD" if i % 2 else "CN",
             "age": str(60 + i % 17), "sex": "F" if i % 3 else "M", "MMSE": str(20 + i % 9)}
            for i in range(n) for session in sessions]
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def test_get_metadata_adds_the_asked_columns_in_place(tmp_path):
    merged = write_cohort(tmp_path / "merged.tsv")
    data = tmp_path / "data.tsv"
    pd.read_csv(merged, sep="\t")[["participant_id", "session_id"]].iloc[:5].to_csv(data, sep="\t", index=False)
    result = run("tsvtools", "get-metadata", data, merged, "-voi", "MMSE", "-voi", "age")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(data, sep="\t")
    assert list(table.columns) == ["participant_id", "session_id", "MMSE", "age"]
    assert table["MMSE"].tolist() == [20, 21, 22, 23, 24]
    assert run("tsvtools", "get-metadata", data, merged).exit_code == 0  # default: every column it lacks
    assert {"diagnosis", "sex"} <= set(pd.read_csv(data, sep="\t").columns)


def test_get_metadata_names_the_unknown_column_and_the_missing_session(tmp_path):
    merged = write_cohort(tmp_path / "merged.tsv", n=4)
    data = tmp_path / "data.tsv"
    pd.DataFrame({"participant_id": ["sub-999"], "session_id": ["ses-M000"]}).to_csv(data, sep="\t", index=False)
    unknown = run("tsvtools", "get-metadata", data, merged, "-voi", "CDR")
    assert unknown.exit_code == 1 and "no column CDR" in unknown.output and str(merged) in unknown.output
    absent = run("tsvtools", "get-metadata", data, merged)
    assert absent.exit_code == 1 and "sub-999" in absent.output


def test_progression_follows_upstream_rules():
    frame = pd.DataFrame({
        "participant_id": ["sub-1"] * 4 + ["sub-2"] * 3 + ["sub-3"] * 3,
        "session_id": ["ses-M000", "ses-M012", "ses-M024", "ses-M060", *["ses-M000", "ses-M036", "ses-M072"] * 2],
        "diagnosis": ["CN", "CN", "MCI", "AD", "MCI", "AD", "MCI", "MCI", "MCI", "MCI"],
    })
    labels = progression_labels(frame, horizon=36)
    # sub-1: M000 -> M036 absent, before is M024 (MCI > CN): p; M012 -> M048: before M024 MCI: p; M024 -> M060 AD: p
    assert labels.tolist()[:4] == ["p", "p", "p", "uk"]
    assert labels.tolist()[4:7] == ["us"] * 3  # progresses then regresses
    assert labels.tolist()[7:] == ["s", "s", "uk"]


def test_get_progression_command_and_its_errors(tmp_path):
    data = write_cohort(tmp_path / "data.tsv", n=4, sessions=("ses-M000", "ses-M036"))
    result = run("tsvtools", "get-progression", data, "--time_horizon", "36")
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(data, sep="\t")["progression"]) == {"s", "uk"}
    pd.DataFrame({"participant_id": ["sub-1"], "session_id": ["ses-M000"], "diagnosis": ["SMC"]}).to_csv(
        data, sep="\t", index=False)
    bad = run("tsvtools", "get-progression", data)
    assert bad.exit_code == 1 and "SMC" in bad.output
    with pytest.raises(InputError, match="ses-M<months>"):
        progression_labels(pd.DataFrame({"participant_id": ["s"], "session_id": ["ses-V01"], "diagnosis": ["CN"]}))


def test_adapt_converts_an_old_split_and_kfold_folder(tmp_path):
    old = tmp_path / "old"
    cohort = pd.read_csv(write_cohort(tmp_path / "all.tsv", n=8), sep="\t")
    for folder in (old, old / "train", old / "test", *(old / f"{side}_splits-2" / f"split-{i}"
                                                         for side in ("train", "validation") for i in (0, 1))):
        folder.mkdir(parents=True, exist_ok=True)
        for label in ("AD", "CN"):
            part = cohort[cohort["diagnosis"] == label]
            part.to_csv(folder / f"{label}.tsv", sep="\t", index=False)
            part.to_csv(folder / f"{label}_baseline.tsv", sep="\t", index=False)
    (old / "split.json").write_text(json.dumps({"subset_name": "test"}))
    (old / "kfold.json").write_text(json.dumps({"subset_name": "validation", "n_splits": 2}))
    result = run("tsvtools", "adapt", old, tmp_path / "new", "-lb", "AD", "-lb", "CN")
    assert result.exit_code == 0, result.output
    new = tmp_path / "new"
    for path in ("labels.tsv", "labels_baseline.tsv", "split/train.tsv", "split/test_baseline.tsv",
                 "2_fold/split-1/validation_baseline.tsv", "2_fold/split-0/train.tsv", "2_fold/kfold.json"):
        assert (new / path).is_file(), path
    assert len(pd.read_csv(new / "labels.tsv", sep="\t")) == 8
    assert len(pd.read_csv(new / "2_fold/split-0/train.tsv", sep="\t")) == 8
    only_ad = run("tsvtools", "adapt", old, tmp_path / "ad", "-lb", "AD")
    assert only_ad.exit_code == 0 and set(pd.read_csv(tmp_path / "ad/labels.tsv", sep="\t")["diagnosis"]) == {"AD"}
    again = run("tsvtools", "adapt", old, new)
    assert again.exit_code == 1 and "already exists" in again.output


def test_prepare_experiment_writes_a_test_split_then_the_folds(tmp_path):
    data = write_cohort(tmp_path / "labels.tsv", n=60)
    result = run("tsvtools", "prepare-experiment", data, "--n_test", "0.2", "-vt", "kfold", "--n_validation", "3")
    assert result.exit_code == 0, result.output
    test = set(pd.read_csv(tmp_path / "split" / "test_baseline.tsv", sep="\t")["participant_id"])
    assert len(test) == 12
    for fold in range(3):
        train = set(pd.read_csv(tmp_path / "split" / "3_fold" / f"split-{fold}" / "train.tsv", sep="\t")
                    ["participant_id"])
        assert train and not train & test
    single = run("tsvtools", "prepare-experiment", data, "--n_test", "0.2", "-vt", "split", "--n_validation", "12",
                 "--overwrite")
    assert single.exit_code == 0, single.output
    assert len(pd.read_csv(tmp_path / "split" / "split" / "validation_baseline.tsv", sep="\t")) == 12


def test_getlabels_writes_next_to_the_merged_tsv_and_get_labels_c_keeps_caps_sessions(tmp_path):
    merged = write_cohort(tmp_path / "merged.tsv", n=6)
    result = run("tsvtools", "getlabels", merged, "-d", "AD", "-d", "CN")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "labels.tsv", sep="\t")) == 6
    caps = tmp_path / "caps"
    for participant in ("sub-000", "sub-001"):
        (caps / "subjects" / participant / "ses-M000").mkdir(parents=True)
    kept = run("tsvtools", "get-labels", merged, tmp_path / "out", "-c", caps)
    assert kept.exit_code == 0, kept.output
    assert pd.read_csv(tmp_path / "out" / "labels.tsv", sep="\t")["participant_id"].tolist() == ["sub-000", "sub-001"]
    assert "4 session(s) absent from the CAPS" in kept.output
    folder = run("tsvtools", "getlabels", tmp_path)
    assert folder.exit_code == 1 and "--merged_tsv" in folder.output


def test_split_multi_diagnoses_balances_every_column(tmp_path):
    data = write_cohort(tmp_path / "data.tsv", n=40)
    result = run("tsvtools", "split", data, "--multi-diagnoses", "--n_test", "10", "--max_tries", "50")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "split" / "split.json").read_text())
    assert summary["mullti_diagnoses"] is True and summary["least_balanced_column"] in ("age", "sex", "MMSE")
    frame = pd.read_csv(data, sep="\t", dtype=str)
    one = most_balanced_split(frame, 10, seed=0, n_draws=1)[1]
    assert summary["p_min_covariates"] >= round(one.p_min, 6)  # the best of 50 draws beats the first
    again = most_balanced_split(frame, 10, seed=0, n_draws=50)
    assert round(again[1].p_min, 6) == summary["p_min_covariates"]  # reproducible from the seed


def test_kfold_merged_tsv_adds_the_missing_columns(tmp_path):
    merged = write_cohort(tmp_path / "merged.tsv", n=20)
    data = tmp_path / "data" / "train.tsv"
    data.parent.mkdir()
    pd.read_csv(merged, sep="\t")[["participant_id", "session_id"]].to_csv(data, sep="\t", index=False)
    refused = run("tsvtools", "kfold", data, "--n_splits", "2", "--stratification", "diagnosis")
    assert refused.exit_code == 1 and "diagnosis" in refused.output
    result = run("tsvtools", "kfold", data, "--n_splits", "2", "--stratification", "diagnosis", "--merged-tsv", merged,
                 "--valid_baseline")
    assert result.exit_code == 0, result.output
    fold = pd.read_csv(tmp_path / "data" / "2_fold" / "split-0" / "validation_baseline.tsv", sep="\t")
    assert {"diagnosis", "age", "sex"} <= set(fold.columns)
    assert json.loads((tmp_path / "data" / "2_fold" / "kfold.json").read_text())["merged_tsv"] == "merged.tsv"


def test_covariate_balance_matches_scipy():
    from scipy import stats

    from clinicadl.data.covariate_balance import covariate_balance

    train = pd.DataFrame({"participant_id": list("abcdef"), "session_id": "ses-M000",
                          "age": ["60", "61", "n/a", "70", "72", "64"], "sex": list("FFMMFF"), "note": list("uvwxyz")})
    test = pd.DataFrame({"participant_id": list("ghij"), "session_id": "ses-M000", "age": ["80", "78", "75", "66"],
                         "sex": list("MMMF"), "note": list("klmn")})
    ks = stats.ks_2samp([60, 61, 70, 72, 64], [80, 78, 75, 66]).pvalue
    chi = stats.chi2_contingency([[4, 2], [1, 3]], correction=False)[1]
    balance = covariate_balance(train, test)
    assert balance.p_min == pytest.approx(min(ks, chi))  # "note" has a value per row: free text, skipped
    assert balance.column == ("age" if ks < chi else "sex")
    assert covariate_balance(train, test, skip=("age",)).p_min == pytest.approx(chi)
