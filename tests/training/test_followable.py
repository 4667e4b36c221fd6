"""Training that can be followed: a line per epoch with the replicate, split, train loss and the validation value of
each selection metric; a summary table per replicate x split at the end; a warning for a model that predicts a
single class on validation."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import tiny_caps as helpers
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.maps import read_metrics_tsv
from clinicadl.training.summary import format_training_summary, single_class_warnings, training_summary


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("followable")
    paths = helpers.make_dataset(root)
    maps = root / "maps"
    arguments = helpers.train_arguments(paths, maps, kfold=False)
    result = CliRunner().invoke(cli, ["train", "classification", *map(str, arguments), "--replicates", "2", "--vary",
                                      "init", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    return maps, result


def test_one_line_per_epoch_with_replicate_split_and_validation_metrics(trained):
    _, result = trained
    lines = [line for line in result.stdout.splitlines() if " epoch " in line and "validation" in line]
    assert len(lines) == 2  # 2 replicates x 1 split x 1 epoch
    assert lines[0].startswith("replicate-0 split-0 epoch 1/1: train loss ")
    assert "; validation loss " in lines[0] and ", BA " in lines[0]
    assert lines[-1].startswith("replicate-1 split-0 epoch 1/1")


def test_the_end_summary_has_one_row_per_replicate_split_and_selection_metric(trained):
    maps, result = trained
    table = result.stdout.split("Written:")[0].strip().splitlines()
    start = next(i for i, line in enumerate(table) if line.startswith("replicate  split"))
    header, rows = table[start].split(), [line.split() for line in table[start + 1:start + 5]]
    assert header[:5] == ["replicate", "split", "selection", "best", "epoch"] and "BA" in header
    assert sorted((r[0], r[1], r[2].rstrip("*")) for r in rows) == [
        ("0", "0", "BA"), ("0", "0", "loss"), ("1", "0", "BA"), ("1", "0", "loss")]
    validation = read_metrics_tsv(maps / "replicate-1" / "split-0" / "best-BA" / "validation" /
                                  "validation_image_level_metrics.tsv")
    ba = next(r for r in rows if r[:3] == ["1", "0", "BA"])
    assert f"{validation['BA']:.4g}" in ba


def test_a_model_that_predicts_one_class_is_flagged(trained, tmp_path):
    maps, _ = trained
    copy = tmp_path / "maps"
    shutil.copytree(maps, copy)
    tsv = copy / "replicate-0" / "split-0" / "best-loss" / "validation" / "validation_image_level_prediction.tsv"
    frame = pd.read_csv(tsv, sep="\t")
    frame["predicted_label"] = 1
    frame.to_csv(tsv, sep="\t", index=False)
    rows = training_summary(copy)
    single = sorted((int(p.parts[-5].split("-")[1]), p.parts[-3]) for p in
                    copy.glob("replicate-*/split-0/best-*/validation/validation_image_level_prediction.tsv")
                    if pd.read_csv(p, sep="\t")["predicted_label"].nunique() == 1)
    assert (0, "best-loss") in single  # forced above; after one epoch other models may predict one class too
    warnings = single_class_warnings(rows)
    assert sorted(w.split(" predicts")[0] for w in warnings) == [f"replicate {r} split 0 {b}" for r, b in single]
    assert "replicate 0 split 0 best-loss predicts a single class on validation" in "\n".join(warnings)
    table = format_training_summary(rows)
    assert "loss *" in table and "* replicate 0 split 0 best-loss" in table
