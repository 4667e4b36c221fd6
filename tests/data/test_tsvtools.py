"""``clinicadl tsvtools``: upstream layout, byte-identical reproducibility, leakage checks, one-line errors."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from clinicadl.cli.main import LazyGroup
from clinicadl.data.demographics import ANALYSIS_COLUMNS
from clinicadl.data.labels import baseline_sessions, get_labels, read_participants_tsv
from clinicadl.data.tsvtools import analysis_tsv, kfold_tsv, split_tsv
from clinicadl.errors import InputError

ROOT = LazyGroup(name="clinicadl", lazy={"tsvtools": "clinicadl.cli.tsvtools:tsvtools"})


def run(*args):
    return CliRunner().invoke(ROOT, ["tsvtools", *map(str, args)])


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def longitudinal(path: Path, n=40, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        diagnosis = ["AD", "CN", "MCI"][i % 3]
        for month in sorted(rng.choice([0, 6, 12, 24, 36], size=rng.integers(1, 4), replace=False)):
            rows.append([f"sub-{i:03d}", f"ses-M{month:03d}", diagnosis, f"{60 + rng.normal(10, 6):.1f}",
                         "FM"[int(rng.integers(2))], "x"])
    frame = pd.DataFrame(rows, columns=["participant_id", "session_id", "diagnosis", "age", "sex", "extra"])
    frame.iloc[rng.permutation(len(frame))].to_csv(path, sep="\t", index=False)
    return path


@pytest.fixture
def labels_dir(upstream):
    return upstream / "v1_clinicadl_1.6.1" / "labels"


def test_split_layout_matches_upstream_fixture(labels_dir, tmp_path):
    shutil.copy(labels_dir / "data.tsv", tmp_path / "data.tsv")
    # the commands upstream ran to make the fixture (run_v1.sh)
    assert run("split", tmp_path / "data.tsv", "--n_test", 4, "--subset_name", "test",
               "--ignore_demographics").exit_code == 0
    assert run("split", tmp_path / "split" / "train_baseline.tsv", "--n_test", 4, "--subset_name", "validation",
               "--ignore_demographics").exit_code == 0
    ours, theirs = tmp_path / "split", labels_dir / "split"
    assert set(files_of(ours)) == set(files_of(theirs))
    for name in files_of(theirs):
        if name.endswith(".tsv"):
            mine, upstream = pd.read_csv(ours / name, sep="\t"), pd.read_csv(theirs / name, sep="\t")
            assert list(mine.columns) == list(upstream.columns), name
            assert len(mine) == len(upstream), name
            assert mine["participant_id"].is_monotonic_increasing
        else:
            mine, upstream = json.loads((ours / name).read_text()), json.loads((theirs / name).read_text())
            assert {k: mine[k] for k in upstream} == upstream  # upstream's keys, upstream's values
            assert mine["seed"] == 0 and mine["n_tries"] == 1
    # cells are copied byte for byte (70.0 stays 70.0)
    assert (ours / "train.tsv").read_text().splitlines()[1].endswith("\t70.0\tF")


def test_upstream_outputs_read_back(labels_dir, tmp_path):
    for path in sorted((labels_dir / "split").rglob("*.tsv")):
        frame = read_participants_tsv(path)
        assert {"participant_id", "session_id", "diagnosis"} <= set(frame.columns)
    train = read_participants_tsv(labels_dir / "split" / "train.tsv")
    pd.testing.assert_frame_equal(baseline_sessions(train),
                                  read_participants_tsv(labels_dir / "split" / "train_baseline.tsv"))
    test = read_participants_tsv(labels_dir / "split" / "test_baseline.tsv")
    assert set(train["participant_id"]).isdisjoint(test["participant_id"])
    # our kfold on upstream's train.tsv (copied: the fixture folder is read-only)
    shutil.copy(labels_dir / "split" / "train.tsv", tmp_path / "train.tsv")
    result = kfold_tsv(tmp_path / "train.tsv", n_splits=2, seed=0)
    assert (tmp_path / "2_fold" / "split-1" / "validation_baseline.tsv").is_file()
    assert len(result.draw.partitions) == 2


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    outputs = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        folder = tmp_path / name
        folder.mkdir()
        data = longitudinal(folder / "labels.tsv")
        split_tsv(data, n_test=0.25, seed=seed, p_age_threshold=0.5, p_sex_threshold=0.5,
                  not_only_keep_baseline=True, subset_name="test")
        kfold_tsv(folder / "split" / "train.tsv", n_splits=3, seed=seed, valid_longitudinal=True,
                  stratification="diagnosis")
        outputs[name] = files_of(folder)
    assert outputs["a"] == outputs["b"]
    assert "split/3_fold/split-2/validation.tsv" in outputs["a"] and "split/3_fold/kfold.json" in outputs["a"]
    differing = [k for k in outputs["a"] if k.endswith(".tsv") and outputs["a"][k] != outputs["c"][k]]
    assert "split/test_baseline.tsv" in differing and "split/3_fold/split-0/train.tsv" in differing


def test_written_splits_never_share_a_participant(tmp_path):
    data = longitudinal(tmp_path / "labels.tsv", n=45, seed=4)
    source = read_participants_tsv(data)
    result = split_tsv(data, n_test=9, seed=3, ignore_demographics=True, not_only_keep_baseline=True,
                       subset_name="test")
    folder = result.folder
    train = read_participants_tsv(folder / "train.tsv")
    test = read_participants_tsv(folder / "test.tsv")
    assert set(train["participant_id"]).isdisjoint(test["participant_id"])
    assert len(train) + len(test) == len(source)  # every session on exactly one side
    assert test["participant_id"].nunique() == 9
    assert sorted(test["diagnosis"].groupby(test["participant_id"]).first().value_counts()) == [3, 3, 3]
    pd.testing.assert_frame_equal(read_participants_tsv(folder / "test_baseline.tsv"), baseline_sessions(test))
    summary = json.loads((folder / "split.json").read_text())
    assert summary["n_participants"] == {"train": 36, "test": 9} and summary["seed"] == 3

    kfold_tsv(folder / "train.tsv", n_splits=4, seed=8, stratification="diagnosis")
    validated = []
    for i in range(4):
        fold = folder / "4_fold" / f"split-{i}"
        fold_train = read_participants_tsv(fold / "train.tsv")
        fold_valid = read_participants_tsv(fold / "validation_baseline.tsv")
        assert set(fold_train["participant_id"]).isdisjoint(fold_valid["participant_id"])
        assert set(fold_train["participant_id"]) | set(fold_valid["participant_id"]) == set(train["participant_id"])
        validated += fold_valid["participant_id"].tolist()
    assert sorted(validated) == sorted(set(train["participant_id"]))
    kfold = json.loads((folder / "4_fold" / "kfold.json").read_text())
    assert kfold["seed"] == 8 and kfold["n_splits"] == 4 and len(kfold["folds"]) == 4


def test_demographic_check_is_recorded(tmp_path):
    data = longitudinal(tmp_path / "labels.tsv", n=60, seed=1)
    result = split_tsv(data, n_test=15, seed=0, p_age_threshold=0.7, p_sex_threshold=0.7)
    summary = json.loads((result.folder / "split.json").read_text())
    assert summary["p_age"] >= 0.7 and summary["p_sex"] >= 0.7
    assert summary["n_tries"] == result.draw.n_tries and summary["draw_seed"] == result.draw.draw_seed
    assert summary["ignore_demographics"] is False
    with pytest.raises(InputError, match="in 2 draws"):
        split_tsv(data, n_test=15, seed=0, p_age_threshold=1.0, p_sex_threshold=1.0, max_tries=2, overwrite=True)
    no_sex = tmp_path / "other" / "labels.tsv"
    no_sex.parent.mkdir()
    read_participants_tsv(data).drop(columns="sex").to_csv(no_sex, sep="\t", index=False)
    with pytest.raises(InputError, match="--ignore_demographics"):
        split_tsv(no_sex, n_test=15)
    assert split_tsv(no_sex, n_test=15, ignore_demographics=True).draw.n_tries == 1
    # unchecked, a bad age value does not block the split (its p-value is reported as null)
    bad_age = tmp_path / "bad_age" / "labels.tsv"
    bad_age.parent.mkdir()
    read_participants_tsv(data).assign(age="old").to_csv(bad_age, sep="\t", index=False)
    split_tsv(bad_age, n_test=15, ignore_demographics=True)
    assert json.loads((bad_age.parent / "split" / "split.json").read_text())["p_age"] is None
    with pytest.raises(InputError, match="column age holds 'old', not a number"):
        split_tsv(bad_age, n_test=15, overwrite=True)


def test_kfold_without_stratification(tmp_path):
    path = tmp_path / "regression.tsv"
    pd.DataFrame({"participant_id": [f"sub-{i}" for i in range(7)], "session_id": "ses-M000",
                  "age": [str(60 + i) for i in range(7)]}).to_csv(path, sep="\t", index=False)
    result = run("kfold", path, "--n_splits", 3, "--stratification", "none", "--seed", 4)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "3_fold" / "kfold.json").read_text())
    assert summary["stratification"] is None and summary["seed"] == 4
    assert sorted(f["n_participants"]["validation"] for f in summary["folds"]) == [2, 2, 3]


def test_existing_output_folder_is_refused_unless_overwrite(tmp_path):
    data = longitudinal(tmp_path / "labels.tsv")
    split_tsv(data, n_test=10, ignore_demographics=True, subset_name="validation", not_only_keep_baseline=True)
    (tmp_path / "split" / "split").mkdir()  # a nested second-level split is kept
    result = run("split", data, "--n_test", 10, "--ignore_demographics", "--subset_name", "test")
    assert result.exit_code == 1 and "already exists" in result.output and "--overwrite" in result.output
    result = run("split", data, "--n_test", 10, "--ignore_demographics", "--overwrite", "--subset_name", "test")
    assert result.exit_code == 0, result.output
    names = set(files_of(tmp_path / "split"))
    assert names == {"train.tsv", "train_baseline.tsv", "test_baseline.tsv", "split.json"}
    assert (tmp_path / "split" / "split").is_dir()


@pytest.mark.parametrize(("content", "args", "message"), [
    ("session_id\tdiagnosis\nses-M000\tAD\n", ("split",), "lacks the required columns participant_id"),
    ("participant_id\tsession_id\tage\tsex\na\tb\t1\tF\n", ("split", "--ignore_demographics"),
     "lacks the column diagnosis needed to stratify (found: participant_id, session_id, age, sex)"),
    ("participant_id\tsession_id\tdiagnosis\na\tb\tAD\n", ("kfold", "--stratification", "site"),
     "lacks the column site"),
    ("participant_id\tsession_id\tdiagnosis\na\ts\tAD\nb\ts\tCN\n", ("split", "--n_test", 5, "--ignore_demographics"),
     "has only 2"),
    ("participant_id\tsession_id\tdiagnosis\na\ts\tAD\nb\ts\tAD\nc\ts\tCN\n",
     ("kfold", "--n_splits", 2, "--stratification", "diagnosis"),
     "class CN has 1 participant(s), fewer than n_splits=2"),
    ("participant_id\tsession_id\tdiagnosis\na\ts\tAD\na\ts\tAD\n", ("kfold",), "repeated sessions"),
    ("", ("split",), "is empty"),
    ("participant_id\tsession_id\tdiagnosis\n\t\t\n", ("kfold",), "empty participant_id"),
])
def test_bad_inputs_end_in_one_line_naming_the_file(tmp_path, content, args, message):
    path = tmp_path / "bad.tsv"
    path.write_text(content)
    command, *options = args
    result = run(command, path, *options)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert message in lines[0]
    assert "bad.tsv" in lines[0]
    assert not (tmp_path / "split").exists() and not any(tmp_path.glob("*_fold"))


def test_unreadable_file_is_one_line(tmp_path):
    path = tmp_path / "binary.tsv"
    path.write_bytes(b"\xff\xfe\x00\x81participant_id\n\x80\x81")
    result = run("split", path)
    assert result.exit_code == 1 and "binary.tsv" in result.output and len(result.output.strip().splitlines()) == 1


def test_get_labels_from_a_clinica_merged_tsv(tmp_path):
    merged = pd.DataFrame({
        "participant_id": ["sub-1", "sub-1", "sub-2", "sub-3", "sub-3", "sub-4", "sub-5"],
        "session_id": ["ses-M012", "ses-M000", "ses-M000", "ses-M000", "ses-M006", "ses-M000", "ses-M000"],
        "diagnosis": ["AD", "MCI", "CN", "CN", "CN", "", "CN"],
        "diagnosis_bl": ["MCI", "MCI", "CN", "CN", "CN", "AD", "SMC"],
        "age_bl": ["70.5", "70.5", "65", "80", "80", "77", "60"],
        "sex": ["F", "F", "M", "M", "M", "F", "F"],
        "MMS": ["25", "28", "30", "29", "29", "20", "30"],
    })
    merged.to_csv(tmp_path / "merged.tsv", sep="\t", index=False)
    mods = tmp_path / "missing_mods"
    mods.mkdir()
    pd.DataFrame({"participant_id": ["sub-1", "sub-2", "sub-3"], "t1w": [1, 1, 1]}).to_csv(
        mods / "missing_mods_ses-M000.tsv", sep="\t", index=False)
    pd.DataFrame({"participant_id": ["sub-1", "sub-3"], "t1w": [1, 0]}).to_csv(
        mods / "missing_mods_ses-M006.tsv", sep="\t", index=False)
    pd.DataFrame({"participant_id": ["sub-1"], "t1w": [1]}).to_csv(
        mods / "missing_mods_ses-M012.tsv", sep="\t", index=False)

    result = run("get-labels", tmp_path / "merged.tsv", tmp_path / "out", "-d", "AD", "-d", "CN", "-d", "MCI",
                 "--missing_mods", mods, "-voi", "MMS")
    assert result.exit_code == 0, result.output
    labels = pd.read_csv(tmp_path / "out" / "labels.tsv", sep="\t", dtype=str)
    assert list(labels.columns) == ["participant_id", "session_id", "diagnosis", "age", "sex", "MMS"]
    # sub-3 ses-M006 lacks t1w, sub-4 has no diagnosis, sub-5 is SMC; rows sorted by participant then session
    assert labels[["participant_id", "session_id"]].values.tolist() == [
        ["sub-1", "ses-M000"], ["sub-1", "ses-M012"], ["sub-2", "ses-M000"], ["sub-3", "ses-M000"]]
    assert labels["age"].tolist() == ["70.5", "70.5", "65", "80"]
    summary = json.loads((tmp_path / "out" / "labels.json").read_text())
    assert summary["columns"] == {"diagnosis": "diagnosis", "age": "age_bl", "sex": "sex"}

    kept = get_labels(tmp_path / "merged.tsv", tmp_path / "out2", diagnoses=["CN"], keep_smc=True,
                      remove_unique_session=True)
    assert kept.labels["participant_id"].tolist() == ["sub-3", "sub-3"]
    with pytest.raises(InputError, match=r"no session of .*merged\.tsv is left"):
        get_labels(tmp_path / "merged.tsv", tmp_path / "out3", diagnoses=["FTD"])
    with pytest.raises(InputError, match="lacks the variables of interest cdr"):
        get_labels(tmp_path / "merged.tsv", tmp_path / "out3", variables_of_interest=["cdr"])
    bids = tmp_path / "bids"
    bids.mkdir()
    result = run("get-labels", bids, tmp_path / "out4")
    assert result.exit_code == 1 and "clinica iotools merge-tsv" in result.output


def test_get_labels_from_a_generator_data_tsv_feeds_split(labels_dir, tmp_path):
    result = get_labels(labels_dir / "data.tsv", tmp_path, variables_of_interest=["subtype"])
    assert list(result.labels.columns) == ["participant_id", "session_id", "diagnosis", "age", "sex", "subtype"]
    assert len(result.labels) == 16
    assert split_tsv(result.tsv_path, n_test=4, seed=0).draw.partitions[0].test["participant_id"].nunique() == 4


def test_analysis_table(tmp_path):
    data = pd.DataFrame({
        "participant_id": ["sub-1", "sub-1", "sub-2", "sub-3", "sub-4"],
        "session_id": ["ses-M000", "ses-M012", "ses-M000", "ses-M000", "ses-M000"],
        "diagnosis": ["AD", "AD", "AD", "CN", "CN"],
        "age": ["70", "71", "80", "60", ""],
        "sex": ["F", "F", "M", "F", "F"],
        "MMSE": ["20", "18", "24", "30", "29"],
        "cdr_global": ["1", "1", "0.5", "0", "0"],
    })
    data.to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    analysis_tsv(tmp_path / "labels.tsv", tmp_path / "labels.tsv", tmp_path / "analysis.tsv")
    table = pd.read_csv(tmp_path / "analysis.tsv", sep="\t")
    assert list(table.columns) == ["group", *ANALYSIS_COLUMNS]
    ad = table.set_index("group").loc["AD"]
    assert ad["n_subjects"] == 2 and ad["n_scans"] == 3 and ad["mean_age"] == 75.0
    assert ad["std_age"] == pytest.approx(7.07, abs=0.01) and ad["sexF"] == 1 and ad["sexM"] == 1
    assert ad["mean_MMSE"] == 22.0 and ad["CDR_1"] == 1 and ad["CDR_0.5"] == 1 and ad["mean_scans"] == 1.5
    cn = table.set_index("group").loc["CN"]
    assert cn["mean_age"] == 60.0 and np.isnan(cn["std_age"]) and cn["CDR_0"] == 2

    split_tsv(tmp_path / "labels.tsv", n_test=2, seed=0, ignore_demographics=True, subset_name="test")
    result = run("analysis", tmp_path / "labels.tsv", tmp_path / "split", tmp_path / "per_split.tsv", "-d", "AD",
                 "-d", "CN")
    assert result.exit_code == 0, result.output
    per_split = pd.read_csv(tmp_path / "per_split.tsv", sep="\t")
    assert list(per_split.columns[:2]) == ["file", "group"]
    assert sorted(set(per_split["file"])) == ["test_baseline.tsv", "train.tsv", "train_baseline.tsv"]
    assert per_split.groupby("file")["n_subjects"].sum().to_dict() == {
        "test_baseline.tsv": 2, "train.tsv": 2, "train_baseline.tsv": 2}


def test_cli_help_is_light_and_has_examples():
    code = (
        "import sys; from clinicadl.cli.tsvtools import tsvtools\n"
        "for args in (['--help'], ['split', '--help'], ['kfold', '--help'], ['get-labels', '--help'],"
        " ['analysis', '--help']):\n"
        "    try: tsvtools.main(args, prog_name='clinicadl tsvtools')\n"
        "    except SystemExit: pass\n"
        "assert 'pandas' not in sys.modules and 'torch' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("Example:") == 4 and "--n_test" in out.stdout and "--n_splits" in out.stdout
