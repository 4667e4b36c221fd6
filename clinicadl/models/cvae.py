"""ClinicaDL 1.x's 3D convolutional VAEs ``CVAE_3D``, ``CVAE_3D_half`` and ``CVAE_3D_final_conv``.

Three stride-2 convolutions (kernel 3, 32-64-128 channels), a dense latent space (``mu = tanh(fc10(h))``,
``log_var = fc11(h)``), a dense layer ``fc2`` to 256 maps of the encoder's last size, and three transposed
convolutions back to the input (credits upstream: Benoit Sauty de Chalon). They differ in the activations, the
normalisation and the output layer:

==========================  ===================  ================  =======================================
network                     encoder activation   normalisation     output
==========================  ===================  ================  =======================================
``CVAE_3D``                 ReLU                 batch (``bn*``)   ReLU
``CVAE_3D_half``            leaky ReLU (0.2)     batch (``bn*``)   sigmoid
``CVAE_3D_final_conv``      leaky ReLU (0.2)     instance (fixed)  leaky ReLU, 3x3x3 convolution, sigmoid
==========================  ===================  ================  =======================================

Module names are upstream's (``conv1``, ``bn1``, ``fc10``, ``fc11``, ``fc2``, ``upconv1``, ``upconv2``,
``upconv4``, ``final``), including ``bn4`` and ``bn7``, which upstream declares and never uses, so that upstream
checkpoints load with ``strict=True``. Upstream hard-codes the sizes of ``CVAE_3D`` for a 169x208x179 image and
builds the other two for the image sizes of ``size_reduction_factor`` (80x96x80, 56x64x56, 40x48x40, 32x40x32);
here the sizes follow the input (each convolution maps ``s`` to ``ceil(s / 2)``, each transposed convolution has
the output padding that gives ``s`` back), which gives upstream's networks exactly for those images.

Training loss (:meth:`~clinicadl.models.variational.VariationalAutoEncoder.compute_loss`): ``CVAE_3D`` has its
own, the squared error summed over voxels and averaged over the batch plus 5 times the KL divergence; the other
two take upstream's VAE loss (Gaussian by default) weighted by ``recons_weight`` and ``kl_weight``, and train as a
plain autoencoder (no sampling) when ``kl_weight`` is 0.

References
----------
Kingma D. P. and Welling M. (2014). Auto-encoding variational Bayes. ICLR. https://arxiv.org/abs/1312.6114
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from clinicadl.models.layers import norm_layer
from clinicadl.models.vae_blocks import down_sizes, output_paddings
from clinicadl.models.variational import VariationalAutoEncoder

WIDTHS = (32, 64, 128)
"""Channels of the three convolutions."""

CVAE_3D_BETA = 5.0
"""Weight of the KL divergence in ``CVAE_3D``'s own loss (upstream's ``self.beta``)."""


class _ConvVAE3D(VariationalAutoEncoder):
    """The layers shared by the three networks; ``instance`` selects upstream's fixed instance normalisation."""

    def __init__(self, input_size: Sequence[int], latent_space_size: int, *, normalization: str, instance: bool,
                 **loss_options) -> None:
        super().__init__(**loss_options)
        channels, spatial = int(input_size[0]), [int(s) for s in input_size[1:]]
        self.deep = down_sizes(spatial, len(WIDTHS), kernel_size=3)[-1]
        paddings = output_paddings(spatial, len(WIDTHS), kernel_size=3)
        features = WIDTHS[-1] * math.prod(self.deep)
        widths = (channels, *WIDTHS)
        for i in range(3):
            setattr(self, f"conv{i + 1}", nn.Conv3d(widths[i], widths[i + 1], 3, stride=2, padding=1))
        self.norm_prefix = "in" if instance else "bn"
        norms = {1: 32, 2: 64, 3: 128, 4: 128, 5: 128, 6: 64, 7: 32} if not instance else {
            1: 32, 2: 64, 3: 128, 5: 128, 6: 64, 7: channels}
        for index, width in norms.items():
            norm = nn.InstanceNorm3d(width) if instance else norm_layer(normalization, width, 3)
            setattr(self, f"{self.norm_prefix}{index}", norm)
        self.fc10 = nn.Linear(features, latent_space_size)
        self.fc11 = nn.Linear(features, latent_space_size)
        self.fc2 = nn.Linear(latent_space_size, 2 * features)
        self.upconv1 = nn.ConvTranspose3d(256, 128, 3, stride=2, padding=1, output_padding=paddings[2])
        self.upconv2 = nn.ConvTranspose3d(128, 64, 3, stride=2, padding=1, output_padding=paddings[1])
        self.upconv4 = nn.ConvTranspose3d(64, channels, 3, stride=2, padding=1, output_padding=paddings[0])

    def _norm(self, index: int) -> nn.Module:
        return getattr(self, f"{self.norm_prefix}{index}")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for i in (1, 2, 3):
            x = self._encoder_activation(self._norm(i)(getattr(self, f"conv{i}")(x)))
        h = x.flatten(start_dim=1)
        return torch.tanh(self.fc10(h)), self.fc11(h)

    def _encoder_activation(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, negative_slope=0.2)

    def _unflatten(self, h: torch.Tensor) -> torch.Tensor:
        return h.reshape(h.shape[0], 256, *self.deep)


class CVAE_3D(_ConvVAE3D):  # upstream name
    """ClinicaDL 1.x's ``CVAE_3D``: ReLU activations, batch normalisation, ReLU output, its own loss.

    Parameters
    ----------
    input_size : sequence of int
        ``[C, D, H, W]``; upstream's is ``1@169x208x179`` (``fc10`` then has 128 x 22 x 26 x 23 inputs).
    output_size : None
    dropout : float
        Unused (no dropout layer, as upstream).
    normalization : {"batch", "instance", "group"}
        Of ``bn1`` to ``bn7`` (``batch`` is upstream's).
    latent_space_size : int
        Upstream's option.

    Examples
    --------
    >>> CVAE_3D([1, 12, 11, 10], latent_space_size=4).eval()(torch.rand(2, 1, 12, 11, 10)).shape
    torch.Size([2, 1, 12, 11, 10])
    """

    def __init__(self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0,
                 normalization: str = "batch", latent_space_size: int = 128) -> None:
        super().__init__(input_size, latent_space_size, normalization=normalization, instance=False,
                         kl_weight=CVAE_3D_BETA)

    def _encoder_activation(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self._unflatten(F.relu(self.fc2(z)))
        h = F.relu(self.bn6(self.upconv2(F.relu(self.bn5(self.upconv1(h))))))
        return F.relu(self.upconv4(h))

    def reconstruction_error(self, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """Squared error summed over voxels, averaged over the batch (upstream's ``CVAE_3D.loss``)."""
        return torch.sum((outputs - inputs) ** 2) / inputs.shape[0]


class CVAE_3D_half(_ConvVAE3D):  # upstream name
    """ClinicaDL 1.x's ``CVAE_3D_half``: leaky-ReLU encoder, batch normalisation, sigmoid output.

    Parameters
    ----------
    input_size : sequence of int
        ``[C, D, H, W]``; upstream's are those of ``size_reduction_factor`` (2: ``1@80x96x80``).
    latent_space_size, recons_weight, kl_weight, loss
        Upstream's options (``maps.json`` keys).

    Examples
    --------
    >>> CVAE_3D_half([1, 16, 16, 8], latent_space_size=4).eval()(torch.rand(2, 1, 16, 16, 8)).shape
    torch.Size([2, 1, 16, 16, 8])
    """

    def __init__(self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0,
                 normalization: str = "batch", latent_space_size: int = 128, recons_weight: float = 1.0,
                 kl_weight: float = 1.0, loss: str = "VAEGaussianLoss") -> None:
        super().__init__(input_size, latent_space_size, normalization=normalization, instance=False,
                         recons_weight=recons_weight, kl_weight=kl_weight, loss=loss, sample_without_kl=False)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self._unflatten(F.relu(self.fc2(z)))
        h = F.relu(self.bn6(self.upconv2(F.relu(self.bn5(self.upconv1(h))))))
        return torch.sigmoid(self.upconv4(h))


class CVAE_3D_final_conv(_ConvVAE3D):  # upstream name
    """ClinicaDL 1.x's ``CVAE_3D_final_conv``: instance normalisation, a final 3x3x3 convolution, sigmoid output.

    The normalisation is upstream's ``InstanceNorm3d`` without affine parameters whatever ``normalization`` says.

    Examples
    --------
    >>> CVAE_3D_final_conv([1, 16, 16, 16], latent_space_size=4).eval()(torch.rand(2, 1, 16, 16, 16)).shape
    torch.Size([2, 1, 16, 16, 16])
    """

    def __init__(self, input_size: Sequence[int], output_size: None = None, *, dropout: float = 0.0,
                 normalization: str = "batch", latent_space_size: int = 128, recons_weight: float = 1.0,
                 kl_weight: float = 1.0, loss: str = "VAEGaussianLoss") -> None:
        super().__init__(input_size, latent_space_size, normalization=normalization, instance=True,
                         recons_weight=recons_weight, kl_weight=kl_weight, loss=loss, sample_without_kl=False)
        channels = int(input_size[0])
        self.final = nn.Conv3d(channels, channels, 3, stride=1, padding=1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self._unflatten(F.leaky_relu(self.fc2(z)))
        h = F.leaky_relu(self.in6(self.upconv2(F.leaky_relu(self.in5(self.upconv1(h))))))
        h = F.leaky_relu(self.in7(self.upconv4(h)))
        return torch.sigmoid(self.final(h))
