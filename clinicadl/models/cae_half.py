"""``CAE_half``: ClinicaDL 1.x's 3D convolutional autoencoder "derived from CVAE", with a dense code.

Three :class:`~clinicadl.models.vae_blocks.DownBlock` of kernel 3 (32-64-128 channels, leaky ReLU), a linear layer
to ``latent_space_size``, a linear layer back to 256 maps of the encoder's last size, and three
:class:`~clinicadl.models.vae_blocks.UpBlock` of kernel 3 (128-64-C channels, the last one with its normalisation
and ReLU, as upstream). Module names and shapes are upstream's (``encoder.0.layer.0.weight`` ... ``encoder.4``,
``decoder.0``, ``decoder.2.layer.0.weight`` ...).

Upstream hard-codes the linear layers for an 80x96x80 image and its decoder, without output padding, returns
73x89x73; in ClinicaDL 1.6.1 the class cannot even be constructed (it assigns modules before
``nn.Module.__init__``). Here the sizes follow the input and the output paddings give back the input's size; an
80x96x80 input gives upstream's layers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from clinicadl.models.vae_blocks import DownBlock, UpBlock, down_sizes, output_paddings

WIDTHS = (32, 64, 128)


class CAE_half(nn.Module):  # upstream name
    """3D convolutional autoencoder with a dense code of ``latent_space_size`` (ClinicaDL 1.x).

    Parameters
    ----------
    input_size : sequence of int
        ``[C, D, H, W]``; upstream's is ``1@80x96x80`` (``size_reduction_factor`` 2).
    output_size : None
    dropout : float
        Unused (no dropout layer, as upstream).
    normalization : {"batch", "instance", "group"}
        Of the blocks (``batch`` is upstream's).
    latent_space_size : int
        Size of the code (upstream's option).

    Examples
    --------
    >>> CAE_half([1, 12, 10, 9], latent_space_size=8).eval()(torch.rand(2, 1, 12, 10, 9)).shape
    torch.Size([2, 1, 12, 10, 9])
    """

    def __init__(self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0,
                 normalization: str = "batch", latent_space_size: int = 128) -> None:
        super().__init__()
        channels, spatial = int(input_size[0]), [int(s) for s in input_size[1:]]
        deep = down_sizes(spatial, len(WIDTHS), kernel_size=3)[-1]
        paddings = output_paddings(spatial, len(WIDTHS), kernel_size=3)
        widths = (channels, *WIDTHS)
        down = [DownBlock(widths[i], widths[i + 1], 3, kernel_size=3, normalization=normalization) for i in range(3)]
        self.encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(WIDTHS[-1] * math.prod(deep), latent_space_size))
        ups = [UpBlock(256, 128, 3, kernel_size=3, output_padding=paddings[2], normalization=normalization),
               UpBlock(128, 64, 3, kernel_size=3, output_padding=paddings[1], normalization=normalization),
               UpBlock(64, channels, 3, kernel_size=3, output_padding=paddings[0], normalization=normalization)]
        self.decoder = nn.Sequential(nn.Linear(latent_space_size, 2 * WIDTHS[-1] * math.prod(deep)),
                                     nn.Unflatten(1, (2 * WIDTHS[-1], *deep)), *ups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
