"""``Conv5_FC3_SSDA``: ClinicaDL 1.x's network for semi-supervised domain adaptation (SSDA).

``Conv5_FC3``'s five convolution blocks shared by three heads of ``Conv5_FC3``'s fully connected layers
(flattened -> 1300 -> 50 -> outputs): ``fc_class_source`` classifies images of the source domain,
``fc_class_target`` those of the target domain, and ``fc_domain`` tells the domains apart through a gradient
reversal layer, so that training the domain head makes the shared features domain-invariant (Ganin and Lempitsky,
2015). Module names and shapes are upstream's, so that upstream checkpoints load with ``strict=True``.

Training it needs three data sources at each step (labelled source images, labelled and unlabelled target images:
upstream's ``caps_target``, ``tsv_target_lab``, ``tsv_target_unlab`` with ``ssda_network``), which ``clinicadl
train`` does not provide: ``clinicadl train`` refuses the architecture with a message saying so
(:func:`clinicadl.models.names.check_architecture`). The network can be built, listed and loaded; its forward pass
returns the target-domain classification (upstream evaluates SSDA models on the target domain with that head), and
:meth:`Conv5_FC3_SSDA.forward_domains` returns the three heads.

References
----------
Ganin Y. and Lempitsky V. (2015). Unsupervised domain adaptation by backpropagation. ICML.
https://arxiv.org/abs/1409.7495
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from clinicadl.models.conv_fc import CONV_CHANNELS
from clinicadl.models.layers import conv_stack, pooled_size


class GradientReversal(torch.autograd.Function):
    """Identity forward; multiplies the gradient by ``-alpha`` backward (upstream's ``ReverseLayerF``)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.alpha = float(alpha)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad_output.neg() * ctx.alpha, None


def _head(n_flat: int, output_size: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Dropout(p=dropout), nn.Linear(n_flat, 1300), nn.ReLU(), nn.Linear(1300, 50),
                         nn.ReLU(), nn.Linear(50, output_size))


class Conv5_FC3_SSDA(nn.Module):  # upstream name
    """Shared ``Conv5_FC3`` convolutions, source and target classifiers, and a gradient-reversed domain classifier.

    Parameters
    ----------
    input_size : sequence of int
        ``[C, H, W]`` or ``[C, D, H, W]``.
    output_size : int
        Number of classes, also the number of outputs of the domain head (upstream's layout; domain labels are 0
        for the source and 1 for the target).
    dropout : float
        Dropout before the first linear layer of each head.
    normalization : {"batch", "instance", "group"}
        Of the convolution blocks (``batch`` is upstream's).

    Examples
    --------
    >>> net = Conv5_FC3_SSDA([1, 32, 32], 2).eval()
    >>> net(torch.zeros(3, 1, 32, 32)).shape
    torch.Size([3, 2])
    >>> [out.shape[1] for out in net.forward_domains(torch.zeros(3, 1, 32, 32), alpha=0.5)]
    [2, 2, 2]
    """

    def __init__(self, input_size: Sequence[int], output_size: int = 2, *, dropout: float = 0.0,
                 normalization: str = "batch") -> None:
        super().__init__()
        spatial_dims = len(input_size) - 1
        self.convolutions = conv_stack(int(input_size[0]), CONV_CHANNELS, spatial_dims, normalization)
        n_flat = CONV_CHANNELS[-1] * math.prod(pooled_size(int(s), len(CONV_CHANNELS)) for s in input_size[1:])
        self.fc_class_source = _head(n_flat, int(output_size), dropout)
        self.fc_class_target = _head(n_flat, int(output_size), dropout)
        self.fc_domain = _head(n_flat, int(output_size), dropout)

    def forward_domains(self, x: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Source-class, target-class and domain outputs; the domain head's gradient is reversed and scaled by
        ``alpha`` (upstream's ``forward(x, alpha)``)."""
        features = self.convolutions(x)
        reversed_features = GradientReversal.apply(features, alpha)
        return self.fc_class_source(features), self.fc_class_target(features), self.fc_domain(reversed_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_class_target(self.convolutions(x))
