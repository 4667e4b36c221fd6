"""``Stride_Conv5_FC3``: ClinicaDL 1.x's CNN of five stride-2 convolutions and three fully connected layers.

Module names follow upstream's, so that its ``model.pth.tar`` state dictionaries load: ``convolutions.<3k>`` is the
k-th convolution (3x3, stride 2, padding 1; 8, 16, 32, 64, 128 channels), ``convolutions.<3k+1>`` its normalisation,
``fc.2``, ``fc.4``, ``fc.6`` the linear layers (flattened -> 1300 -> 50 -> outputs, dropout before the first).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from clinicadl.models.layers import conv_layer, norm_layer, pooled_size

CHANNELS = (8, 16, 32, 64, 128)


class Stride_Conv5_FC3(nn.Module):  # upstream's name
    """Five stride-2 convolution blocks (conv, normalisation, ReLU), then FC 1300-50-outputs.

    Parameters
    ----------
    input_size : sequence of int
        ``[C, H, W]`` or ``[C, D, H, W]``; each convolution halves the spatial sizes (rounding up).
    output_size : int
    dropout : float
        Dropout before the first linear layer.
    normalization : {"batch", "instance", "group"}
        ``batch`` is upstream's.

    Examples
    --------
    >>> import torch
    >>> Stride_Conv5_FC3([1, 32, 32], 3)(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 3])
    """

    def __init__(self, input_size: Sequence[int], output_size: int, *, dropout: float = 0.0,
                 normalization: str = "batch") -> None:
        super().__init__()
        spatial_dims = len(input_size) - 1
        conv = conv_layer(spatial_dims)
        layers: list[nn.Module] = []
        channels = int(input_size[0])
        for width in CHANNELS:
            layers += [conv(channels, width, 3, padding=1, stride=2), norm_layer(normalization, width, spatial_dims),
                       nn.ReLU()]
            channels = width
        self.convolutions = nn.Sequential(*layers)
        flattened = channels
        for size in input_size[1:]:
            flattened *= pooled_size(int(size), len(CHANNELS))
        self.fc = nn.Sequential(nn.Flatten(), nn.Dropout(p=float(dropout)), nn.Linear(flattened, 1300), nn.ReLU(),
                                nn.Linear(1300, 50), nn.ReLU(), nn.Linear(50, int(output_size)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convolutions(x))
