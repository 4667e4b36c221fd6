"""Upstream's own template ``train_config.toml`` (ClinicaDL 1.6.1, shipped unchanged in ./upstream/) is read as
upstream reads it: the section of the task being trained wins, the other tasks' sections are ignored."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from clinicadl.cli.main import cli
from clinicadl.cli.train import train
from clinicadl.errors import InputError
from clinicadl.training.config import load_config, read_toml
from tests.tiny_caps import make_dataset

TEMPLATE = Path(__file__).resolve().parent / "upstream" / "train_config.toml"


def known(task: str) -> set[str]:
    return {p.name for p in train.commands[task].params if isinstance(p, click.Option)} - {"config_file"}


@pytest.mark.parametrize(("task", "label", "loss", "architecture"), [
    ("classification", "diagnosis", "CrossEntropyLoss", "Conv5_FC3"),
    ("regression", "age", "MSELoss", "Conv5_FC3"),
    ("reconstruction", None, "MSELoss", "AE_Conv5_FC3"),
])
def test_the_template_gives_each_task_its_own_section(task, label, loss, architecture):
    parameters = load_config(task, {}, TEMPLATE, known=known(task))
    assert parameters.get("label") == label and parameters["loss"] == loss
    assert parameters["architecture"] == architecture  # architecture = "default"
    assert parameters["selection_metrics"] == ["loss"] and parameters["data_augmentation"] == []
    assert parameters["transfer_path"] == "" and "label_code" not in parameters
    assert parameters["batch_size"] == 8 and parameters["diagnoses"] == ["AD", "CN"]


def test_the_task_section_wins_and_the_command_line_wins_over_it(tmp_path):
    text = TEMPLATE.read_text().replace('[Regression]\nselection_metrics = ["loss"]',
                                        '[Regression]\nselection_metrics = ["MAE", "loss"]')
    path = tmp_path / "train.toml"
    path.write_text(text)
    assert load_config("regression", {}, path, known=known("regression"))["selection_metrics"] == ["MAE", "loss"]
    assert load_config("classification", {}, path, known=known("classification"))["selection_metrics"] == ["loss"]
    given = {"selection_metrics": ("RMSE",)}
    assert load_config("regression", given, path, known=known("regression"))["selection_metrics"] == ["RMSE"]


def test_keys_repeated_outside_the_task_sections_and_label_codes_are_refused(tmp_path):
    with pytest.raises(InputError, match="given twice"):
        read_toml(TEMPLATE)  # without a task, [Classification] and [Regression] both give selection_metrics
    path = tmp_path / "twice.toml"
    path.write_text('[Computational]\nbatch_size = 4\n[Data]\nbatch_size = 2\n')
    with pytest.raises(InputError, match=r"batch_size.*\[Computational\] and \[Data\]"):
        read_toml(path, task="classification")
    path.write_text('[Classification]\nlabel_code = {AD = 1, CN = 0}\n')
    with pytest.raises(InputError, match="label_code"):
        read_toml(path, task="classification")


def test_train_runs_with_the_template_unchanged(tmp_path):
    paths = make_dataset(tmp_path)
    maps = tmp_path / "maps"
    result = CliRunner().invoke(cli, ["train", "classification", str(paths["caps"]), "image.json",
                                      str(paths["split"]), str(maps), "-c", str(TEMPLATE), "-a", "TinyCNN",
                                      "--no-gpu", "-np", "0", "--epochs", "1", "-b", "4"])
    assert result.exit_code == 0, result.output
    recorded = json.loads((maps / "maps.json").read_text())
    assert recorded["label"] == "diagnosis" and recorded["loss"] == "CrossEntropyLoss"
    assert recorded["architecture"] == "TinyCNN" and recorded["epochs"] == 1
    assert (maps / "split-0" / "best-loss" / "model.pth.tar").is_file()
