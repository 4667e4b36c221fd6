"""Convolutional autoencoders for the ``reconstruction`` task (output of the same size as the input).

``AE_Conv5_FC3`` and ``AE_Conv4_FC3`` keep ClinicaDL 1.x's names and idea: the encoder is the convolutional trunk of
the classifier of the same name, the decoder mirrors it (transposed convolutions, max-unpooling with the pooling
indices, cropping of the padding added by :class:`~clinicadl.models.layers.PadMaxPool`). The fully-connected layers
of the classifier are not used. As upstream's ``Conv4_FC3`` has the same five convolution blocks as ``Conv5_FC3``,
the two autoencoders have the same structure.

``encoder.*`` keys are exactly the ``convolutions.*`` keys of ``Conv5_FC3`` / ``Conv4_FC3``: to initialise a
classifier from a trained autoencoder (transfer learning), rename the prefix ``encoder.`` to ``convolutions.`` and
load with ``strict=False``. The decoder is our own design, so weights of upstream autoencoders do not load.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from clinicadl.models.conv_fc import CONV_CHANNELS
from clinicadl.models.layers import CropMaxUnpool, PadMaxPool, conv_stack, conv_transpose_layer, norm_layer


class ConvAutoEncoder(nn.Module):
    """Encoder ``[Conv, Norm, ReLU, PadMaxPool] x len(channels)`` and its mirror image as decoder.

    The decoder block of width ``c_i`` is ``[CropMaxUnpool, ConvTranspose(c_i -> c_{i-1}), Norm, ReLU]``; the last
    one maps to the input channels and has neither normalisation nor activation (linear output, suited to a
    mean-squared-error loss). A dropout layer (rate ``dropout``) sits between encoder and decoder.

    Parameters
    ----------
    input_size : sequence of int
        ``[C, H, W]`` or ``[C, D, H, W]``.
    channels : sequence of int
        Widths of the encoder blocks.
    dropout : float
        Rate of the bottleneck dropout.
    normalization : {"batch", "instance", "group"}
        Normalisation of encoder and decoder blocks.
    """

    def __init__(
        self,
        input_size: Sequence[int],
        channels: Sequence[int],
        *,
        dropout: float = 0.0,
        normalization: str = "batch",
    ) -> None:
        super().__init__()
        spatial_dims = len(input_size) - 1
        in_channels = int(input_size[0])
        self.encoder = conv_stack(in_channels, channels, spatial_dims, normalization)
        self.dropout = nn.Dropout(p=dropout)
        transpose = conv_transpose_layer(spatial_dims)
        layers: list[nn.Module] = []
        targets = [in_channels, *channels[:-1]]
        for i in reversed(range(len(channels))):
            layers += [CropMaxUnpool(spatial_dims), transpose(channels[i], targets[i], 3, padding=1)]
            if i > 0:
                layers += [norm_layer(normalization, targets[i], spatial_dims), nn.ReLU()]
        self.decoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pools = []
        for layer in self.encoder:
            if isinstance(layer, PadMaxPool):
                x, indices, shape = layer.forward_with_indices(x)
                pools.append((indices, shape))
            else:
                x = layer(x)
        x = self.dropout(x)
        for layer in self.decoder:
            if isinstance(layer, CropMaxUnpool):
                indices, shape = pools.pop()
                x = layer(x, indices, shape)
            else:
                x = layer(x)
        return x


class AE_Conv5_FC3(ConvAutoEncoder):  # upstream name
    """Autoencoder whose encoder is the convolutional trunk of ``Conv5_FC3`` (8 to 128 channels).

    ``output_size`` is accepted for a uniform signature and must be None (the output has the input's size).

    Examples
    --------
    >>> import torch
    >>> AE_Conv5_FC3([1, 15, 17, 19]).eval()(torch.zeros(2, 1, 15, 17, 19)).shape
    torch.Size([2, 1, 15, 17, 19])
    """

    def __init__(
        self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0, normalization: str = "batch"
    ) -> None:
        super().__init__(input_size, CONV_CHANNELS, dropout=dropout, normalization=normalization)


class AE_Conv4_FC3(ConvAutoEncoder):  # upstream name
    """Autoencoder whose encoder is the convolutional trunk of ``Conv4_FC3`` (the same as ``AE_Conv5_FC3``)."""

    def __init__(
        self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0, normalization: str = "batch"
    ) -> None:
        super().__init__(input_size, CONV_CHANNELS, dropout=dropout, normalization=normalization)
