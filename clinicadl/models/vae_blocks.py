"""Building blocks of ClinicaDL 1.x's variational autoencoders and of ``CAE_half``.

:class:`DownBlock` and :class:`UpBlock` are upstream's ``EncoderLayer2D/3D`` and ``DecoderLayer2D/3D``: a
(transposed) convolution without bias, a normalisation, then a leaky ReLU (slope 0.2, encoder) or a ReLU (decoder).
Both keep their two layers in an ``nn.Sequential`` named ``layer``, so that state-dict keys read
``<block>.layer.0.weight`` (convolution) and ``<block>.layer.1.*`` (normalisation), as in upstream checkpoints.

A convolution of kernel ``k``, stride 2 and padding ``p`` maps a size ``s`` to ``(s + 2p - k) // 2 + 1``; the
transposed convolution of the decoder gives back ``s`` only with the right ``output_padding``.
:func:`output_paddings` computes it for each stage from the sizes, which reproduces the paddings upstream wrote by
hand for its reference images and extends them to any input size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from clinicadl.models.layers import conv_layer, conv_transpose_layer, norm_layer


class DownBlock(nn.Module):
    """Stride-2 convolution (no bias), normalisation, leaky ReLU of slope 0.2 (upstream's ``EncoderLayer``).

    Parameters
    ----------
    in_channels, out_channels : int
    spatial_dims : int
        2 or 3.
    kernel_size : int
        4 (upstream's default) or 3 (``CAE_half``); the padding is 1.
    normalization : {"batch", "instance", "group"}
        ``batch`` is upstream's.
    """

    def __init__(self, in_channels: int, out_channels: int, spatial_dims: int, *, kernel_size: int = 4,
                 normalization: str = "batch") -> None:
        super().__init__()
        conv = conv_layer(spatial_dims)
        self.layer = nn.Sequential(conv(in_channels, out_channels, kernel_size, stride=2, padding=1, bias=False),
                                   norm_layer(normalization, out_channels, spatial_dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.layer(x), negative_slope=0.2)


class UpBlock(nn.Module):
    """Stride-2 transposed convolution (no bias), normalisation, ReLU (upstream's ``DecoderLayer``).

    Parameters
    ----------
    in_channels, out_channels : int
    spatial_dims : int
    kernel_size : int
        4 or 3; the padding is 1.
    output_padding : int or sequence of int
        Per spatial dimension, so that the block inverts the size change of its :class:`DownBlock`.
    normalization : {"batch", "instance", "group"}
    """

    def __init__(self, in_channels: int, out_channels: int, spatial_dims: int, *, kernel_size: int = 4,
                 output_padding: int | Sequence[int] = 0, normalization: str = "batch") -> None:
        super().__init__()
        transpose = conv_transpose_layer(spatial_dims)
        padding = output_padding if isinstance(output_padding, int) else tuple(output_padding)
        self.layer = nn.Sequential(
            transpose(in_channels, out_channels, kernel_size, stride=2, padding=1, output_padding=padding, bias=False),
            norm_layer(normalization, out_channels, spatial_dims),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.layer(x))


def down_sizes(size: Sequence[int], n: int, kernel_size: int = 4) -> list[tuple[int, ...]]:
    """Spatial sizes before each of ``n`` stride-2 convolutions (padding 1), then the final one (``n + 1`` items).

    Examples
    --------
    >>> down_sizes([169, 208, 179], 2)
    [(169, 208, 179), (84, 104, 89), (42, 52, 44)]
    >>> down_sizes([169], 2, kernel_size=3)
    [(169,), (85,), (43,)]
    """
    sizes = [tuple(int(s) for s in size)]
    for _ in range(n):
        sizes.append(tuple((s + 2 - kernel_size) // 2 + 1 for s in sizes[-1]))
    return sizes


def output_paddings(size: Sequence[int], n: int, kernel_size: int = 4) -> list[tuple[int, ...]]:
    """``output_padding`` of the transposed convolution that inverts each of ``n`` stride-2 convolutions.

    Item ``i`` inverts convolution ``i`` (the first one is the last layer of the decoder). A transposed convolution
    of kernel ``k``, stride 2, padding 1 maps ``t`` to ``2 t + k - 4 + output_padding``.

    Examples
    --------
    >>> output_paddings([169, 208, 179], 4)  # upstream's hand-written paddings for this image
    [(1, 0, 1), (0, 0, 1), (0, 0, 0), (1, 0, 0)]
    """
    sizes = down_sizes(size, n, kernel_size)
    return [tuple(s - (2 * t + kernel_size - 4) for s, t in zip(sizes[i], sizes[i + 1])) for i in range(n)]


def check_sizes(name: str, size: Sequence[int], n: int, kernel_size: int = 4) -> None:
    """Refuse an input whose ``n``-fold stride-2 reduction leaves an empty dimension, naming the smallest size."""
    from clinicadl.errors import InputError

    final = down_sizes(size, n, kernel_size)[-1]
    if min(final) < 1 or any(p not in (0, 1) for pads in output_paddings(size, n, kernel_size) for p in pads):
        raise InputError(f"{name} halves each spatial size {n} times: input size {list(size)} is too small "
                         f"(each spatial size must be at least {2 ** n}).")
