"""Training parameters: defaults per task, precedence defaults < TOML < command line, TOML keys checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinicadl.errors import InputError
from clinicadl.training.config import SECTIONS, default_parameters, load_config, read_toml, task_metrics

UPSTREAM_MAPS_JSON = (Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "upstream" / "v1_clinicadl_1.6.1"
                      / "maps" / "maps.json")
DERIVED = {"network_task", "caps_directory", "tsv_path", "preprocessing_dict", "mode", "label_code", "validation",
           "num_networks", "output_size", "input_size"}


def _command_options(task: str) -> set[str]:
    import click

    from clinicadl.cli.train import train

    command = train.commands[task]
    return {p.name for p in command.params if isinstance(p, click.Option)} - {"config_file"}


def test_defaults_per_task():
    assert default_parameters("classification")["label"] == "diagnosis"
    assert default_parameters("regression")["label"] == "age"
    assert "label" not in default_parameters("reconstruction")
    assert default_parameters("reconstruction")["architecture"] == "AE_Conv5_FC3"
    assert "selection_threshold" not in default_parameters("regression")
    segmentation = default_parameters("segmentation")
    assert segmentation["architecture"] == "UNet3D" and segmentation["diagnoses"] == []
    assert segmentation["loss"] == "DiceCELoss" and segmentation["mask_pattern"] == "*_dseg.nii.gz"
    assert "label" not in segmentation
    with pytest.raises(InputError, match="Unknown network task"):
        default_parameters("detection")


def test_upstream_maps_json_keys_are_parameters():
    if not UPSTREAM_MAPS_JSON.is_file():
        pytest.skip("upstream fixture not available")
    upstream = set(json.loads(UPSTREAM_MAPS_JSON.read_text()))
    ours = set(default_parameters("classification")) | DERIVED
    assert upstream - ours == set()


@pytest.mark.parametrize("task", ["classification", "regression", "reconstruction"])
def test_every_parameter_is_an_option_of_the_command(task):
    # the TOML is checked against the command's options: every parameter must therefore be an option
    assert set(default_parameters(task)) <= _command_options(task)


def test_precedence_defaults_toml_command_line(tmp_path):
    toml = tmp_path / "config.toml"
    toml.write_text('[Computational]\nbatch_size = 4\nn_proc = 3\n[Optimization]\nepochs = 7\nlearning_rate = 1\n'
                    '[Data]\ndiagnoses = ["AD", "MCI"]\n')
    options = dict.fromkeys(_command_options("classification"))
    options.update(epochs=2)
    parameters = load_config("classification", options, toml)
    assert parameters["batch_size"] == 4  # TOML over default
    assert parameters["epochs"] == 2  # command line over TOML
    assert parameters["learning_rate"] == 1.0 and isinstance(parameters["learning_rate"], float)
    assert parameters["diagnoses"] == ["AD", "MCI"]
    assert parameters["patience"] == 0  # default


def test_unknown_toml_keys_are_named(tmp_path):
    toml = tmp_path / "config.toml"
    toml.write_text("[Optimization]\nepoch = 3\n[Model]\narchitekture = 'x'\n")
    with pytest.raises(InputError, match="architekture, epoch"):
        load_config("classification", dict.fromkeys(_command_options("classification")), toml)


def test_toml_type_and_unsupported_values(tmp_path):
    toml = tmp_path / "config.toml"
    toml.write_text("[Computational]\nbatch_size = 'eight'\n")
    with pytest.raises(InputError, match="batch_size"):
        load_config("classification", dict.fromkeys(_command_options("classification")), toml)
    with pytest.raises(InputError, match="multi_network"):
        load_config("classification", {"multi_network": True})
    with pytest.raises(InputError, match="Unknown selection metric"):
        load_config("regression", {"selection_metrics": ("BA",)})


def test_toml_duplicate_key_and_bad_file(tmp_path):
    toml = tmp_path / "config.toml"
    toml.write_text("[Optimization]\nepochs = 3\n[Computational]\nepochs = 2\n")
    with pytest.raises(InputError, match="twice"):
        read_toml(toml)
    toml.write_text("epochs = = 3")
    with pytest.raises(InputError, match="not valid TOML"):
        read_toml(toml)


def test_upstream_sections_are_known():
    assert {"Model", "Architecture", "Classification", "Regression", "Reconstruction", "Computational",
            "Reproducibility", "Transfer_learning", "Mode", "Data", "Cross_validation", "Optimization"} <= set(SECTIONS)


def test_task_metrics_order():
    assert task_metrics("classification")[:2] == ("BA", "accuracy")
    assert task_metrics("classification")[-1] == "loss"
    assert "sensitivity-2" in task_metrics("classification", 3)
    assert task_metrics("reconstruction") == ("MAE", "RMSE", "PSNR", "SSIM", "loss")
