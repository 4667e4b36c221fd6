"""``RandomArchitecture``: the CNN whose shape upstream's ``random-search`` samples.

A network is described as upstream's ``maps.json`` records it:

- ``convolutions_dict``: ``{"conv0": {"in_channels": None, "out_channels": 8, "n_conv": 2, "d_reduction":
  "MaxPooling"}, "conv1": ...}``, one convolutional block per entry, in order. A block has ``n_conv - 1``
  convolutions that keep the channels, then one that changes them to ``out_channels`` and halves the size: a 3x3
  convolution followed by a padded max-pooling (``d_reduction = "MaxPooling"``) or a 3x3 convolution of stride 2
  (``"stride"``). Every convolution is followed by the normalisation and a LeakyReLU.
- ``n_fcblocks``: fully connected layers after flattening (and dropout), their sizes decreasing geometrically from
  the flattened size to the output size (LeakyReLU between them).
- ``network_normalization``: ``"BatchNorm"``, ``"InstanceNorm"`` or ``"None"`` (no normalisation).

:func:`design_convolutions` builds ``convolutions_dict`` from upstream's random-search keys (``first_conv_width``,
the number of convolutions of each block, ``d_reduction``, ``channels_limit``): the channels double from one block to
the next until they reach ``channels_limit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from clinicadl.errors import InputError
from clinicadl.models.layers import PadMaxPool, conv_layer, norm_layer, pooled_size

REDUCTIONS = ("MaxPooling", "stride")
NETWORK_NORMALIZATIONS = ("BatchNorm", "InstanceNorm", "None")


def design_convolutions(first_conv_width: int, n_convs: Sequence[int], *, d_reduction: str = "MaxPooling",
                        channels_limit: int = 512) -> dict[str, dict[str, Any]]:
    """Upstream's ``convolutions_dict`` for blocks of ``n_convs`` convolutions each.

    Examples
    --------
    >>> design = design_convolutions(8, [2, 1, 1], channels_limit=16)
    >>> [(b["in_channels"], b["out_channels"], b["n_conv"]) for b in design.values()]
    [(None, 8, 2), (8, 16, 1), (16, 16, 1)]
    """
    if d_reduction not in REDUCTIONS:
        raise InputError(f"d_reduction {d_reduction!r} is not one of {', '.join(REDUCTIONS)}.")
    blocks: dict[str, dict[str, Any]] = {}
    in_channels, out_channels = None, int(first_conv_width)
    for index, n_conv in enumerate(n_convs):
        blocks[f"conv{index}"] = {"in_channels": in_channels, "out_channels": out_channels, "n_conv": int(n_conv),
                                  "d_reduction": d_reduction}
        in_channels = out_channels
        if out_channels < channels_limit:
            out_channels = 2 * out_channels
    return blocks


DEFAULT_CONVOLUTIONS = design_convolutions(8, [1, 1, 1])
"""The design :class:`RandomArchitecture` takes when none is given (for ``list_models``)."""


_UPSTREAM_NORMALIZATION = {"BatchNorm": "batch", "InstanceNorm": "instance", "None": None}


def _norm(kind: str | None, channels: int, spatial_dims: int) -> list[nn.Module]:
    return [] if kind is None else [norm_layer(kind, channels, spatial_dims)]


class RandomArchitecture(nn.Module):
    """A CNN built from upstream's random-search description (module docstring).

    Parameters
    ----------
    input_size : sequence of int
        ``[C, H, W]`` or ``[C, D, H, W]``.
    output_size : int
        Number of outputs.
    dropout : float
        Dropout rate before the fully connected layers.
    normalization : {"batch", "instance", "group"}
        Normalisation layers when ``network_normalization`` is not given (the registry's common option).
    convolutions_dict : mapping, optional
        The convolutional blocks (default: :data:`DEFAULT_CONVOLUTIONS`).
    n_fcblocks : int
        Number of fully connected layers (at least 1).
    network_normalization : {"BatchNorm", "InstanceNorm", "None"}, optional
        Upstream's key; when given, it chooses the layers (``"None"``: no normalisation).

    Examples
    --------
    >>> import torch
    >>> net = RandomArchitecture([1, 12, 12], 2, n_fcblocks=2, network_normalization="None",
    ...                          convolutions_dict=design_convolutions(4, [2, 1], d_reduction="stride"))
    >>> net(torch.zeros(3, 1, 12, 12)).shape
    torch.Size([3, 2])
    """

    def __init__(self, input_size: Sequence[int], output_size: int, *, dropout: float = 0.0,
                 normalization: str = "batch", convolutions_dict: Mapping[str, Mapping[str, Any]] | None = None,
                 n_fcblocks: int = 2, network_normalization: str | None = None) -> None:
        super().__init__()
        design = dict(convolutions_dict or DEFAULT_CONVOLUTIONS)
        if network_normalization is None:
            kind = normalization
        elif str(network_normalization) in _UPSTREAM_NORMALIZATION:
            kind = _UPSTREAM_NORMALIZATION[str(network_normalization)]
        else:
            raise InputError(f"network_normalization {network_normalization!r} is not one of "
                             f"{', '.join(NETWORK_NORMALIZATIONS)}.")
        if not design or int(n_fcblocks) < 1:
            raise InputError("A random architecture needs at least one convolutional block and one FC block.")
        spatial_dims = len(input_size) - 1
        conv = conv_layer(spatial_dims)
        blocks = []
        channels = int(input_size[0])
        for name in sorted(design, key=lambda key: int(str(key).removeprefix("conv"))):
            block = design[name]
            out_channels, reduction = int(block["out_channels"]), block["d_reduction"]
            if reduction not in REDUCTIONS:
                raise InputError(f"d_reduction {reduction!r} of block {name} is not one of {', '.join(REDUCTIONS)}.")
            layers: list[nn.Module] = []
            for _ in range(int(block["n_conv"]) - 1):
                layers += [conv(channels, channels, 3, stride=1, padding=1), *_norm(kind, channels, spatial_dims),
                           nn.LeakyReLU()]
            stride = 2 if reduction == "stride" else 1
            layers += [conv(channels, out_channels, 3, stride=stride, padding=1),
                       *_norm(kind, out_channels, spatial_dims), nn.LeakyReLU()]
            if reduction == "MaxPooling":
                layers.append(PadMaxPool(spatial_dims))
            blocks.append(nn.Sequential(*layers))
            channels = out_channels
        self.convolutions = nn.Sequential(*blocks)
        flattened = channels
        for size in input_size[1:]:
            flattened *= pooled_size(int(size), len(blocks))
        ratio = (flattened / output_size) ** (1.0 / int(n_fcblocks))
        fc: list[nn.Module] = [nn.Flatten(), nn.Dropout(p=float(dropout))]
        in_features = flattened
        for index in range(int(n_fcblocks)):
            last = index == int(n_fcblocks) - 1
            out_features = output_size if last else max(1, round(flattened / ratio ** (index + 1)))
            fc.append(nn.Linear(in_features, out_features))
            if not last:
                fc.append(nn.LeakyReLU())
            in_features = out_features
        self.fc = nn.Sequential(*fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convolutions(x))
