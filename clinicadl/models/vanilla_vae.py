"""ClinicaDL 1.x's "vanilla" variational autoencoders: dense or spatial latent space, 2D or 3D.

- ``VanillaDenseVAE`` (2D) and ``Vanilla3DdenseVAE`` (3D): ``n_conv`` :class:`~clinicadl.models.vae_blocks.DownBlock`
  (kernel 4, stride 2; ``io_layer_channels`` doubled at each block), a dense layer of ``feature_size`` units, a
  latent vector of ``latent_space_size``, and the mirror decoder ending in a sigmoid.
- ``VanillaSpatialVAE`` (2D) and ``Vanilla3DspacialVAE`` (3D, upstream's spelling): a latent map of one channel,
  whose mean and log-variance come from 3x3(x3) convolutions.

Names, module names (``encoder``, ``mu_layer``, ``var_layer``, ``decoder``) and widths are upstream's, so that
the state-dict keys and shapes of ``Vanilla3DdenseVAE`` are those of upstream checkpoints. In ClinicaDL 1.6.1 the
other three cannot be constructed (``VanillaDenseVAE``, ``VanillaSpatialVAE``: a keyword mismatch with their
encoder; ``Vanilla3DspacialVAE``: an output-padding list one item short); they are built here as their code
describes them, and the decoder's output paddings are computed from the input size so that every VAE reconstructs
an image of its input's size (upstream's hand-written paddings are the computed ones for a 169x208x179 image).

References
----------
Kingma D. P. and Welling M. (2014). Auto-encoding variational Bayes. ICLR. https://arxiv.org/abs/1312.6114
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from clinicadl.models.layers import conv_layer, conv_transpose_layer
from clinicadl.models.vae_blocks import DownBlock, UpBlock, check_sizes, down_sizes, output_paddings
from clinicadl.models.variational import VariationalAutoEncoder


class _Stack(nn.Module):
    """An ``nn.Sequential`` kept in an attribute ``sequential`` (upstream's ``VAE_Encoder``/``VAE_Decoder`` keys)."""

    def __init__(self, layers: Sequence[nn.Module]) -> None:
        super().__init__()
        self.sequential = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sequential(x)


def _down(in_channels: int, width: int, n_conv: int, spatial_dims: int, normalization: str) -> list[nn.Module]:
    widths = [in_channels, *(width * 2**i for i in range(n_conv))]
    return [DownBlock(widths[i], widths[i + 1], spatial_dims, normalization=normalization) for i in range(n_conv)]


def _up(in_channels: int, width: int, size: Sequence[int], n_conv: int, spatial_dims: int,
        normalization: str) -> list[nn.Module]:
    """Decoder blocks from ``width * 2**(n_conv - 1)`` channels back to ``in_channels`` (sigmoid output)."""
    paddings = output_paddings(size, n_conv)
    blocks: list[nn.Module] = [UpBlock(width * 2**i, width * 2 ** (i - 1), spatial_dims, output_padding=paddings[i],
                                       normalization=normalization) for i in range(n_conv - 1, 0, -1)]
    transpose = conv_transpose_layer(spatial_dims)
    blocks.append(nn.Sequential(transpose(width, in_channels, 4, stride=2, padding=1, output_padding=paddings[0],
                                          bias=False), nn.Sigmoid()))
    return blocks


class _LatentVAE(VariationalAutoEncoder):
    """``encoder``, ``mu_layer``, ``var_layer``, ``decoder``: upstream's ``BaseVAE`` layout."""

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder(x)
        return self.mu_layer(features), self.var_layer(features)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


class VanillaDenseVAE(_LatentVAE):  # upstream name
    """2D convolutional VAE with a dense latent space (Kingma and Welling, 2014), as ClinicaDL 1.x.

    Four blocks of 32 to 256 channels, ``feature_size`` dense units, ``latent_space_size`` latent dimensions.

    Parameters
    ----------
    input_size : sequence of int
        ``[C, H, W]``, each spatial size at least 16 (upstream's reference: ``1@128x128``).
    output_size : None
        The output has the input's size.
    dropout : float
        Unused (no dropout layer, as upstream).
    normalization : {"batch", "instance", "group"}
        Of the convolution blocks (``batch`` is upstream's).
    latent_space_size, feature_size, recons_weight, kl_weight, loss
        Upstream's options (``maps.json`` keys); see :class:`~clinicadl.models.variational.VariationalAutoEncoder`.

    Examples
    --------
    >>> VanillaDenseVAE([1, 32, 40], latent_space_size=8, feature_size=16).eval()(torch.rand(2, 1, 32, 40)).shape
    torch.Size([2, 1, 32, 40])
    """

    def __init__(self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0,
                 normalization: str = "batch", latent_space_size: int = 128, feature_size: int = 1024,
                 recons_weight: float = 1.0, kl_weight: float = 1.0, loss: str = "VAEGaussianLoss") -> None:
        super().__init__(recons_weight=recons_weight, kl_weight=kl_weight, loss=loss)
        n_conv, width, channels = 4, 32, int(input_size[0])
        spatial = [int(s) for s in input_size[1:]]
        check_sizes(type(self).__name__, spatial, n_conv)
        deep = [s // 2**n_conv for s in spatial]
        n_pix = width * 2 ** (n_conv - 1) * math.prod(deep)
        self.encoder = _Stack([*_down(channels, width, n_conv, 2, normalization),
                               nn.Sequential(nn.Flatten(), nn.Linear(n_pix, feature_size), nn.ReLU())])
        self.mu_layer = nn.Linear(feature_size, latent_space_size)
        self.var_layer = nn.Linear(feature_size, latent_space_size)
        head = nn.Sequential(nn.Linear(latent_space_size, feature_size), nn.ReLU(), nn.Linear(feature_size, n_pix),
                             nn.ReLU(), nn.Unflatten(1, (width * 2 ** (n_conv - 1), *deep)), nn.ReLU())
        self.decoder = _Stack([head, *_up(channels, width, spatial, n_conv, 2, normalization)])


class VanillaSpatialVAE(_LatentVAE):  # upstream name
    """2D convolutional VAE with a spatial latent space of one channel (Kingma and Welling, 2014), as ClinicaDL 1.x.

    Four blocks of 32 to 256 channels, a 3x3 convolution to 64 feature maps, and 3x3 convolutions to the mean and
    log-variance maps (``H/16 x W/16``). ``latent_space_size`` and ``feature_size`` are accepted and unused, as
    upstream.

    Examples
    --------
    >>> VanillaSpatialVAE([1, 32, 48]).eval()(torch.rand(2, 1, 32, 48)).shape
    torch.Size([2, 1, 32, 48])
    """

    def __init__(self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0,
                 normalization: str = "batch", latent_space_size: int = 128, feature_size: int = 1024,
                 recons_weight: float = 1.0, kl_weight: float = 1.0, loss: str = "VAEGaussianLoss") -> None:
        super().__init__(recons_weight=recons_weight, kl_weight=kl_weight, loss=loss)
        n_conv, width, features, channels = 4, 32, 64, int(input_size[0])
        spatial = [int(s) for s in input_size[1:]]
        check_sizes(type(self).__name__, spatial, n_conv)
        deepest = width * 2 ** (n_conv - 1)
        self.encoder = _Stack([*_down(channels, width, n_conv, 2, normalization),
                               nn.Sequential(nn.Conv2d(deepest, features, 3, padding=1, bias=False), nn.ReLU())])
        self.mu_layer = nn.Conv2d(features, 1, 3, padding=1, bias=False)
        self.var_layer = nn.Conv2d(features, 1, 3, padding=1, bias=False)
        head = nn.Sequential(nn.ConvTranspose2d(1, features, 3, padding=1, bias=False), nn.ReLU(),
                             nn.ConvTranspose2d(features, deepest, 3, padding=1, bias=False), nn.ReLU())
        self.decoder = _Stack([head, *_up(channels, width, spatial, n_conv, 2, normalization)])


class Vanilla3DdenseVAE(_LatentVAE):  # upstream name
    """3D convolutional VAE with a dense latent space (Kingma and Welling, 2014), as ClinicaDL 1.x.

    ``n_conv`` blocks of ``io_layer_channels`` doubling channels, a dense layer of ``feature_size`` units (none when
    0), ``latent_space_size`` latent dimensions. Upstream builds it for the image sizes of ``size_reduction_factor``
    (2: 80x96x80, 3: 56x64x56, 4: 40x48x40, 5: 32x40x32); here the input size is the data's, and those sizes give
    upstream's network exactly.

    Parameters
    ----------
    input_size : sequence of int
        ``[C, D, H, W]``, each spatial size at least ``2**n_conv``.
    latent_space_size, feature_size, n_conv, io_layer_channels, recons_weight, kl_weight, loss
        Upstream's options (``maps.json`` keys).

    Examples
    --------
    >>> net = Vanilla3DdenseVAE([1, 16, 16, 16], latent_space_size=4, feature_size=8, n_conv=2).eval()
    >>> net(torch.rand(2, 1, 16, 16, 16)).shape
    torch.Size([2, 1, 16, 16, 16])
    """

    def __init__(self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0,
                 normalization: str = "batch", latent_space_size: int = 128, feature_size: int = 1024,
                 n_conv: int = 4, io_layer_channels: int = 8, recons_weight: float = 1.0, kl_weight: float = 1.0,
                 loss: str = "VAEGaussianLoss") -> None:
        super().__init__(recons_weight=recons_weight, kl_weight=kl_weight, loss=loss)
        n_conv, width, channels = int(n_conv), int(io_layer_channels), int(input_size[0])
        spatial = [int(s) for s in input_size[1:]]
        check_sizes(type(self).__name__, spatial, n_conv)
        deep = [s // 2**n_conv for s in spatial]
        n_pix = width * 2 ** (n_conv - 1) * math.prod(deep)
        features = int(feature_size) or n_pix
        dense = [nn.Sequential(nn.Linear(n_pix, features), nn.ReLU())] if feature_size else []
        self.encoder = nn.Sequential(*_down(channels, width, n_conv, 3, normalization), nn.Flatten(), *dense)
        self.mu_layer = nn.Linear(features, latent_space_size)
        self.var_layer = nn.Linear(features, latent_space_size)
        head = ([nn.Linear(latent_space_size, features), nn.ReLU()] if feature_size else []) + [
            nn.Linear(features if feature_size else latent_space_size, n_pix), nn.ReLU()]
        self.decoder = nn.Sequential(nn.Sequential(*head), nn.Unflatten(1, (width * 2 ** (n_conv - 1), *deep)),
                                     *_up(channels, width, spatial, n_conv, 3, normalization))


class Vanilla3DspacialVAE(_LatentVAE):  # upstream name (sic)
    """3D convolutional VAE with a spatial latent space of one channel (Kingma and Welling, 2014), as ClinicaDL 1.x.

    Four blocks of 32 to 256 channels, a stride-2 convolution to 512 feature maps, then 3x3x3 convolutions to the
    mean and log-variance maps (sizes divided by 32). ``latent_space_size`` and ``feature_size`` are accepted and
    unused, as upstream.

    Examples
    --------
    >>> Vanilla3DspacialVAE([1, 32, 36, 34]).eval()(torch.rand(1, 1, 32, 36, 34)).shape
    torch.Size([1, 1, 32, 36, 34])
    """

    def __init__(self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0,
                 normalization: str = "batch", latent_space_size: int = 128, feature_size: int = 1024,
                 recons_weight: float = 1.0, kl_weight: float = 1.0, loss: str = "VAEGaussianLoss") -> None:
        super().__init__(recons_weight=recons_weight, kl_weight=kl_weight, loss=loss)
        n_conv, width, features, channels = 4, 32, 512, int(input_size[0])
        spatial = [int(s) for s in input_size[1:]]
        check_sizes(type(self).__name__, spatial, n_conv + 1)
        deepest = width * 2 ** (n_conv - 1)
        conv, transpose = conv_layer(3), conv_transpose_layer(3)
        self.encoder = nn.Sequential(*_down(channels, width, n_conv, 3, normalization), nn.Sequential(
            conv(deepest, features, 4, stride=2, padding=1, bias=False), nn.ReLU()))
        self.mu_layer = conv(features, 1, 3, padding=1, bias=False)
        self.var_layer = conv(features, 1, 3, padding=1, bias=False)
        last = output_paddings(down_sizes(spatial, n_conv)[-1], 1)[0]
        head = nn.Sequential(transpose(1, features, 3, padding=1, bias=False), nn.ReLU(),
                             transpose(features, deepest, 4, stride=2, padding=1, output_padding=last, bias=False),
                             nn.ReLU())
        self.decoder = nn.Sequential(head, *_up(channels, width, spatial, n_conv, 3, normalization))
