"""Attribution maps of a network's output node with respect to its input image (imports torch).

Two methods, named as in ClinicaDL 1.x (``clinicadl interpret ... METHOD``):

``gradients``
    The gradient of the target output node (the network output before any softmax: a logit) with respect to the
    input, one value per input voxel and channel, signed (Simonyan et al. 2014, "image-specific class saliency";
    as upstream, neither the absolute value nor the maximum over channels is taken).
``grad-cam``
    Grad-CAM (Selvaraju et al. 2017) on the feature map ``A`` after the first ``level`` layers of the network's
    ``convolutions`` part (all of them by default, as upstream's ``--level_grad_cam``): the weight of channel
    ``k`` is the mean over every spatial position of ``d y / d A_k``, the map is ``ReLU(sum_k w_k A_k)``,
    up-sampled (bilinear in 2D, trilinear in 3D, corners aligned as upstream) to the input size.

References
----------
Simonyan K., Vedaldi A., Zisserman A. (2014). Deep inside convolutional networks: visualising image
classification models and saliency maps. ICLR workshop, arXiv:1312.6034.
Selvaraju R. R., Cogswell M., Das A., Vedantam R., Parikh D., Batra D. (2017). Grad-CAM: visual explanations from
deep networks via gradient-based localization. ICCV, 618-626, arXiv:1610.02391.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from clinicadl.errors import InputError
from clinicadl.runtime.device import autocast

__all__ = ["METHODS", "grad_cam", "grad_cam_layer", "gradients", "saliency_maps"]

METHODS = ("gradients", "grad-cam")
"""Attribution methods, upstream's names."""


def _target_score(output: torch.Tensor, target_node: int) -> torch.Tensor:
    """The sum over the batch of output node ``target_node`` (dimension 1 of the output)."""
    if not torch.is_tensor(output):
        raise InputError("This network returns several outputs; interpret needs a network with one output tensor "
                         "(classification, regression, or an autoencoder).")
    output = output.reshape(len(output), -1) if output.dim() == 1 else output
    if not 0 <= target_node < output.shape[1]:
        raise InputError(f"--target_node {target_node} does not exist: the network has {output.shape[1]} output "
                         f"node(s); give one of 0..{output.shape[1] - 1}.")
    return output[:, target_node].float().sum()


def gradients(network: nn.Module, images: torch.Tensor, *, target_node: int = 0, amp: bool = False) -> torch.Tensor:
    """Gradient of output node ``target_node`` with respect to each input, shape of ``images`` (float32).

    The network is used as it is (put it in evaluation mode first); images of a batch do not interact in
    evaluation mode, so the gradient of the batch sum is each image's own gradient.
    """
    inputs = images.detach().clone().requires_grad_(True)
    with autocast(inputs.device, amp):
        output = network(inputs)
    (grad,) = torch.autograd.grad(_target_score(output, target_node), inputs)
    return grad.detach().float()


def grad_cam_layer(network: nn.Module, level: int | None = None) -> nn.Module:
    """The layer whose output Grad-CAM explains: layer ``level`` (1-based) of ``network.convolutions``.

    ``level`` None, or larger than the number of layers, is the last layer (upstream's default).
    """
    layers = getattr(network, "convolutions", None)
    if not isinstance(layers, nn.Sequential) or len(layers) == 0:
        raise InputError(f"grad-cam needs a convolutional network with a 'convolutions' part (Conv5_FC3, Conv4_FC3, "
                         f"TinyCNN, ...); {type(network).__name__} has none: use the gradients method.")
    if level is not None and level < 1:
        raise InputError(f"--level_grad_cam {level}: give a layer number of 1 or more.")
    index = len(layers) if level is None else min(int(level), len(layers))
    return layers[index - 1]


def grad_cam(network: nn.Module, images: torch.Tensor, *, target_node: int = 0, level: int | None = None,
             amp: bool = False) -> torch.Tensor:
    """Grad-CAM maps ``(N, 1, *spatial)`` of output node ``target_node`` after layer ``level`` (float32)."""
    layer = grad_cam_layer(network, level)
    captured: list[torch.Tensor] = []
    hook = layer.register_forward_hook(lambda _module, _inputs, output: captured.append(output))
    inputs = images.detach().clone().requires_grad_(True)  # a graph even when the weights are frozen
    try:
        with autocast(inputs.device, amp):
            output = network(inputs)
    finally:
        hook.remove()
    activation = captured[-1]
    (grad,) = torch.autograd.grad(_target_score(output, target_node), activation)
    activation, grad = activation.detach().float(), grad.detach().float()
    spatial = tuple(range(2, activation.dim()))
    weights = grad.mean(dim=spatial, keepdim=True)
    cam = torch.relu((weights * activation).sum(dim=1, keepdim=True))
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[images.dim() - 2]
    return F.interpolate(cam, size=tuple(images.shape[2:]), mode=mode, align_corners=True)


def saliency_maps(network: nn.Module, images: torch.Tensor, *, method: str, target_node: int = 0,
                  level: int | None = None, amp: bool = False) -> torch.Tensor:
    """The maps of ``method`` (one of :data:`METHODS`) for a batch, on the images' device, float32."""
    if method == "gradients":
        return gradients(network, images, target_node=target_node, amp=amp)
    if method == "grad-cam":
        return grad_cam(network, images, target_node=target_node, level=level, amp=amp)
    raise InputError(f"Unknown interpretation method {method!r}; choose one of {', '.join(METHODS)}.")
