"""ClinicaDL 1.x architectures written here (no torchvision): upstream's state-dict keys and shapes, so that
upstream checkpoints of them load with ``load_state_dict(strict=True)``, and a forward pass of each."""

from __future__ import annotations

import torch

from clinicadl.models.registry import build_model

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def shapes(network: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in network.state_dict().items()}


def test_stride_conv5_fc3_has_upstreams_keys_and_runs():
    network = build_model("Stride_Conv5_FC3", input_size=[1, 64, 64, 64], output_size=2, seed=0)
    expected = set()
    for k in range(5):
        expected |= {f"convolutions.{3 * k}.weight", f"convolutions.{3 * k}.bias"}
        expected |= {f"convolutions.{3 * k + 1}.{name}" for name in BN}
    expected |= {f"fc.{i}.{name}" for i in (2, 4, 6) for name in ("weight", "bias")}
    found = shapes(network)
    assert set(found) == expected
    assert found["convolutions.12.weight"] == (128, 64, 3, 3, 3) and found["fc.2.weight"] == (1300, 128 * 2 * 2 * 2)
    assert found["fc.4.weight"] == (50, 1300) and found["fc.6.weight"] == (2, 50)
    assert network(torch.rand(2, 1, 64, 64, 64)).shape == (2, 2)


def test_resnet18_has_torchvisions_keys_inside_upstreams_wrapper_and_runs():
    network = build_model("resnet18", input_size=[3, 64, 64], output_size=2, seed=0)
    expected = {"convolutions.0.weight", *(f"convolutions.1.{name}" for name in BN)}
    for stage in range(4):
        for block in range(2):
            prefix = f"convolutions.{4 + stage}.{block}"
            expected |= {f"{prefix}.conv1.weight", f"{prefix}.conv2.weight"}
            expected |= {f"{prefix}.{bn}.{name}" for bn in ("bn1", "bn2") for name in BN}
            if stage > 0 and block == 0:
                expected |= {f"{prefix}.downsample.0.weight", *(f"{prefix}.downsample.1.{name}" for name in BN)}
    expected |= {f"fc.{layer}.{name}" for layer in ("1", "fc_out") for name in ("weight", "bias")}
    found = shapes(network)
    assert set(found) == expected
    assert found["convolutions.0.weight"] == (64, 3, 7, 7)
    assert found["convolutions.5.0.downsample.0.weight"] == (128, 64, 1, 1)
    assert found["convolutions.7.1.conv2.weight"] == (512, 512, 3, 3)
    assert found["fc.1.weight"] == (1000, 512) and found["fc.fc_out.weight"] == (2, 1000)
    # an upstream checkpoint is such a state dict: it loads strictly and gives the same outputs
    copy = build_model("resnet18", input_size=[3, 64, 64], output_size=2, seed=1).eval()
    copy.load_state_dict(network.state_dict(), strict=True)
    x = torch.rand(2, 3, 64, 64)
    assert torch.equal(copy(x), network.eval()(x))


def test_squeeze_excitation_cnn_has_upstreams_keys_and_runs():
    network = build_model("SqueezeExcitationCNN", input_size=[1, 63, 63, 63], output_size=2, seed=0)
    expected = set()
    in_channels = 1
    found = shapes(network)
    for k in range(5):
        channels, prefix = 8 * 2**k, f"convolutions.{k}.0"
        expected |= {f"{prefix}.conv1.weight", f"{prefix}.conv2.weight", f"{prefix}.shortcut.0.weight"}
        expected |= {f"{prefix}.{bn}.{name}" for bn in ("bn1", "bn2") for name in BN}
        expected |= {f"{prefix}.se_block.{fc}.{name}" for fc in ("fc1", "fc2") for name in ("weight", "bias")}
        assert found[f"{prefix}.conv1.weight"] == (channels, in_channels, 3, 3, 3)
        assert found[f"{prefix}.se_block.fc1.weight"] == (channels // 8, channels)
        in_channels = channels
    expected |= {f"fc.{i}.{name}" for i in (2, 4) for name in ("weight", "bias")}
    assert set(found) == expected
    assert found["fc.2.weight"] == (256, 128) and found["fc.4.weight"] == (2, 256)  # 63 -> 31 -> 15 -> 7 -> 3 -> 1
    out = network.eval()(torch.rand(1, 1, 63, 63, 63))
    assert out.shape == (1, 2) and torch.isfinite(out).all()
