"""Upstream's QC networks: state-dict keys and parameter counts derived from torchvision's published networks."""

from __future__ import annotations

import pytest
import torch

from clinicadl.models.qc_networks import build_qc_network

# torchvision's ResNet-18 has 11,689,512 parameters (3 input channels, 1000 classes) and 122 state-dict entries;
# SqueezeNet 1.1 has 1,235,496 parameters and 52 entries. Upstream's QC networks take 1 channel and output 2 classes.
RESNET18_BACKBONE = 11_689_512 - 64 * 2 * 49 - (512 * 1000 + 1000) + (512 * 2 + 2)
ADDON = (1536 * 512 + 512) + 2 * 512 + (512 * 32 + 32) + 2 * 32 + (32 * 32 * 49 + 32) + 2 * 32 \
    + (32 * 32 + 32) + 2 * 32 + (32 * 2 + 2)
SQUEEZENET = 1_235_496 - 64 * 2 * 9 - (512 * 1000 + 1000) + (1536 * 2 + 2)


@pytest.mark.parametrize(("name", "n_parameters", "n_entries"), [
    ("darq", RESNET18_BACKBONE + ADDON, 122 + 30),
    ("deep_qc", RESNET18_BACKBONE - (512 * 2 + 2) + ADDON, 120 + 30),
    ("sq101", SQUEEZENET, 52),
])
def test_parameter_counts_and_entries(name, n_parameters, n_entries):
    network = build_qc_network(name)
    assert sum(parameter.numel() for parameter in network.parameters()) == n_parameters
    assert len(network.state_dict()) == n_entries


def test_upstream_key_names():
    darq = build_qc_network("darq").state_dict()
    for key, shape in [("conv1.weight", (64, 1, 7, 7)), ("layer2.0.downsample.0.weight", (128, 64, 1, 1)),
                       ("layer4.1.bn2.running_var", (512,)), ("fc.weight", (2, 512)),
                       ("addon.0.weight", (512, 1536, 1, 1)), ("addon.6.weight", (32, 32, 7, 7)),
                       ("addon.13.weight", (2, 32, 1, 1))]:
        assert tuple(darq[key].shape) == shape, key
    assert "fc.weight" not in build_qc_network("deep_qc").state_dict()
    sq101 = build_qc_network("sq101").state_dict()
    for key, shape in [("features.0.weight", (64, 1, 3, 3)), ("features.3.squeeze.weight", (16, 64, 1, 1)),
                       ("features.12.expand3x3.weight", (256, 64, 3, 3)), ("classifier.1.weight", (2, 1536, 1, 1))]:
        assert tuple(sq101[key].shape) == shape, key


def test_three_views_per_image():
    torch.manual_seed(0)
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert build_qc_network("darq").eval()(images[:1]).shape == (1, 2)
        network = build_qc_network("sq101").eval()
        both, first = network(images), network(images[:1])
    assert both.shape == (2, 2)
    torch.testing.assert_close(both[:1], first, rtol=1e-4, atol=1e-5)  # images do not mix within a batch
