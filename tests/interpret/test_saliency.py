"""The attribution methods against oracles: autograd, closed forms (linear and CAM networks), a hand Grad-CAM."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from clinicadl.errors import InputError
from clinicadl.interpret.figure import peak_voxel, write_map_figure
from clinicadl.interpret.saliency import grad_cam, grad_cam_layer, gradients, saliency_maps
from clinicadl.models.tiny import TinyCNN


def _tiny(input_size, seed=0):
    torch.manual_seed(seed)
    network = TinyCNN(input_size, 3)
    network.eval()
    for module in network.modules():  # non-trivial running statistics, so that eval mode matters
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    return network


@pytest.mark.parametrize("target_node", [0, 2])
def test_gradients_equal_autograd_image_by_image(target_node):
    network = _tiny([1, 9, 10, 11])
    images = torch.randn(3, 1, 9, 10, 11, generator=torch.Generator().manual_seed(1))
    maps = gradients(network, images, target_node=target_node)
    assert maps.shape == images.shape and maps.dtype == torch.float32
    for image, ours in zip(images, maps):
        x = image[None].clone().requires_grad_(True)
        (expected,) = torch.autograd.grad(network(x)[0, target_node], x)
        torch.testing.assert_close(ours, expected[0], rtol=1e-5, atol=1e-7)


def test_gradients_of_a_linear_network_are_its_weights():
    """Closed form: for y = W vec(x) + b, dy_t/dx = W_t, whatever x (and no softmax is taken)."""
    torch.manual_seed(0)
    network = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 5, 3)).eval()
    images = torch.randn(2, 2, 4, 5)
    maps = gradients(network, images, target_node=1)
    expected = network[1].weight[1].detach().reshape(2, 4, 5)
    torch.testing.assert_close(maps, expected.expand(2, -1, -1, -1))


class _CamNet(nn.Module):
    """Conv -> global average pooling -> linear: Grad-CAM at the conv output is CAM (Zhou et al. 2016)."""

    def __init__(self):
        super().__init__()
        self.convolutions = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1))
        self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))

    def forward(self, x):
        return self.fc(self.convolutions(x))


def test_grad_cam_of_a_gap_network_is_the_class_activation_map():
    """Closed form: with global average pooling, w_k = W[t, k] / (H W) and the map is ReLU(sum_k w_k A_k)."""
    torch.manual_seed(3)
    network = _CamNet().eval()
    images = torch.randn(2, 1, 6, 7)
    with torch.no_grad():
        activation = network.convolutions(images)
    weights = network.fc[2].weight[1].detach() / (6 * 7)
    expected = torch.relu((weights[None, :, None, None] * activation).sum(1, keepdim=True))
    torch.testing.assert_close(grad_cam(network, images, target_node=1), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("level", [None, 4, 99])
def test_grad_cam_equals_a_hand_computation_on_a_tiny_cnn(level):
    """Weights = spatial mean of d y_t / d A over every axis, ReLU of the weighted sum, trilinear up-sampling."""
    network = _tiny([1, 12, 10, 9], seed=4)
    images = torch.randn(2, 1, 12, 10, 9, generator=torch.Generator().manual_seed(5))
    cut = len(network.convolutions) if level is None else min(level, len(network.convolutions))
    activation = network.convolutions[:cut](images).detach().requires_grad_(True)
    score = network.fc(network.convolutions[cut:](activation))[:, 2].sum()
    (grad,) = torch.autograd.grad(score, activation)
    weights = grad.mean(dim=(2, 3, 4), keepdim=True)
    cam = torch.relu((weights * activation.detach()).sum(dim=1, keepdim=True))
    expected = F.interpolate(cam, size=(12, 10, 9), mode="trilinear", align_corners=True)
    ours = saliency_maps(network, images, method="grad-cam", target_node=2, level=level)
    assert ours.shape == (2, 1, 12, 10, 9) and float(ours.min()) >= 0.0
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-7)


def test_grad_cam_layer_follows_upstream_levels():
    network = _tiny([1, 8, 8])
    assert grad_cam_layer(network, 1) is network.convolutions[0]
    assert grad_cam_layer(network, None) is network.convolutions[-1]
    assert grad_cam_layer(network, 100) is network.convolutions[-1]
    with pytest.raises(InputError, match="gradients method"):
        grad_cam_layer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))


def test_bad_target_node_and_method_are_named():
    network = _tiny([1, 8, 8])
    with pytest.raises(InputError, match=r"target_node 3 does not exist.*3 output"):
        gradients(network, torch.zeros(1, 1, 8, 8), target_node=3)
    with pytest.raises(InputError, match="gradients, grad-cam"):
        saliency_maps(network, torch.zeros(1, 1, 8, 8), method="occlusion")


def test_figure_is_a_png_through_the_peak(tmp_path):
    volume = np.zeros((1, 5, 6, 7))
    volume[0, 1, 4, 2] = -3.0
    assert peak_voxel(volume[0]) == (1, 4, 2)
    path = write_map_figure(tmp_path / "map.png", volume, title="gradients, group test", signed=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    flat = write_map_figure(tmp_path / "slice.png", np.ones((1, 4, 4)), title="grad-cam", signed=False)
    assert flat.stat().st_size > 1000 and not list(tmp_path.glob("*.tmp"))
