"""The U-Nets (segmentation) and the MONAI DenseNet / SE-ResNet networks of the registry."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from clinicadl.errors import InputError
from clinicadl.models.registry import build_model, list_models

NEW = {"UNet3D": ("segmentation",), "TinyUNet3D": ("segmentation",),
       "DenseNet121": ("classification", "regression"), "DenseNet3D": ("classification", "regression"),
       "SEResNet50": ("classification", "regression"), "SEResNet3D": ("classification", "regression")}


def test_registry_lists_the_new_networks_with_their_tasks():
    infos = {m.name: m for m in list_models()}
    for name, tasks in NEW.items():
        assert infos[name].tasks == tasks
        assert infos[name].n_parameters > 0
    assert [m.name for m in list_models("segmentation")] == ["UNet3D", "TinyUNet3D"]


def test_list_models_command_shows_segmentation():
    from clinicadl.cli.main import cli

    result = CliRunner().invoke(cli, ["train", "list_models", "--task", "segmentation"])
    assert result.exit_code == 0, result.output
    assert "UNet3D" in result.output and "segmentation" in result.output
    result = CliRunner().invoke(cli, ["train", "list_models", "--task", "classification"])
    assert "DenseNet121" in result.output and "SEResNet50" in result.output


@pytest.mark.parametrize("shape", [(16, 16, 16), (13, 10, 9), (22, 26, 23)])
def test_unet_keeps_the_spatial_shape_of_any_input(shape):
    net = build_model("TinyUNet3D", input_size=[1, *shape], output_size=3, task="segmentation", seed=0).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 1, *shape))
    assert out.shape == (2, 3, *shape)


def test_unet_weights_follow_the_seed():
    a = build_model("TinyUNet3D", input_size=[1, 8, 8, 8], output_size=2, task="segmentation", seed=3)
    b = build_model("TinyUNet3D", input_size=[1, 8, 8, 8], output_size=2, task="segmentation", seed=3)
    c = build_model("TinyUNet3D", input_size=[1, 8, 8, 8], output_size=2, task="segmentation", seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


@pytest.mark.parametrize("name", ["DenseNet3D", "SEResNet3D"])
def test_monai_classifiers_give_one_output_per_class(name):
    net = build_model(name, input_size=[1, 32, 32, 32], output_size=3, seed=0).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 1, 32, 32, 32)).shape == (2, 3)
    regressor = build_model(name, input_size=[1, 32, 32], output_size=1, task="regression", seed=0).eval()
    with torch.no_grad():
        assert regressor(torch.randn(2, 1, 32, 32)).shape == (2, 1)


@pytest.mark.parametrize("name", ["DenseNet3D", "SEResNet3D"])
def test_small_inputs_are_padded_and_normalizations_replaced(name):
    net = build_model(name, input_size=[1, 17, 16, 15], output_size=2, normalization="group", seed=0).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 1, 17, 16, 15)).shape == (2, 2)
    assert not any(isinstance(m, torch.nn.BatchNorm3d) for m in net.modules())


def test_bad_uses_give_clear_errors():
    with pytest.raises(InputError, match="does not support the task 'segmentation'"):
        build_model("ResNet3D", input_size=[1, 16, 16, 16], output_size=2, task="segmentation")
    with pytest.raises(InputError, match="output_size >= 2"):
        build_model("TinyUNet3D", input_size=[1, 16, 16, 16], output_size=1, task="segmentation")
    with pytest.raises(InputError, match="3D inputs"):
        build_model("UNet3D", input_size=[1, 16, 16], output_size=2, task="segmentation")
