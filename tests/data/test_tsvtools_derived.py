"""``tsvtools split --overwrite`` removes the folders made from the files it replaces (a ``<k>_fold/`` of the old
``train.tsv``), which would otherwise put new test participants into training folds."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from clinicadl.cli.main import cli


class _Result:
    def __init__(self, result):
        self.returncode, self.stdout, self.stderr = result.exit_code, result.output, result.output


def run_clinicadl(*arguments):
    """The command in this process (what matters here is the files, not the process)."""
    return _Result(CliRunner().invoke(cli, [str(a) for a in arguments]))


def write_data(path):
    rows = [{"participant_id": f"sub-{i:03d}", "session_id": "ses-M000", "diagnosis": "AD" if i % 2 else "CN",
             "age": 60 + i % 17, "sex": "F" if i % 3 else "M"} for i in range(40)]
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return path


def split(data, seed, *extra):
    return run_clinicadl("tsvtools", "split", data, "--n_test", "0.25", "--subset_name", "test",
                         "--ignore_demographics", "--seed", seed, *extra)


def participants(path) -> set[str]:
    return set(pd.read_csv(path, sep="\t")["participant_id"])


def test_split_overwrite_removes_the_kfold_of_the_old_train_set(tmp_path):
    data = write_data(tmp_path / "data.tsv")
    folder = tmp_path / "split"
    assert split(data, 1).returncode == 0
    made = run_clinicadl("tsvtools", "kfold", folder / "train.tsv", "--n_splits", "2", "--seed", "1")
    assert made.returncode == 0, made.stderr
    assert (folder / "2_fold" / "kfold.json").is_file()

    result = split(data, 2, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert f"Removed: {folder / '2_fold'}" in result.stdout
    assert not (folder / "2_fold").exists()
    test = participants(folder / "test_baseline.tsv")
    assert run_clinicadl("tsvtools", "kfold", folder / "train.tsv", "--n_splits", "2", "--seed", "1").returncode == 0
    for fold in (0, 1):  # no new test participant sits in a training fold
        assert not test & participants(folder / "2_fold" / f"split-{fold}" / "train.tsv")


def test_without_overwrite_nothing_is_removed(tmp_path):
    data = write_data(tmp_path / "data.tsv")
    assert split(data, 1).returncode == 0
    assert run_clinicadl("tsvtools", "kfold", tmp_path / "split" / "train.tsv", "--n_splits", "2").returncode == 0
    refused = split(data, 2)
    assert refused.returncode == 1 and "--overwrite" in refused.stderr
    assert (tmp_path / "split" / "2_fold" / "kfold.json").is_file()
