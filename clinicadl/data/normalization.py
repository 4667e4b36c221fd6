"""Intensity normalisation of the tensors given to a network."""

from __future__ import annotations

import torch


def min_max_normalize(tensor: torch.Tensor) -> torch.Tensor:
    """Rescale ``tensor`` linearly to [0, 1]: ``(x - min) / (max - min)``, computed in float32.

    This is ClinicaDL 1.x's ``MinMaxNormalization``, applied to each tensor a dataset returns (the whole image
    in image mode, each patch, slice or ROI otherwise). A constant tensor (max == min), for which the ratio is
    undefined, maps to zeros instead of NaN. Returns a new tensor; the input is not modified.

    Examples
    --------
    >>> min_max_normalize(torch.tensor([2.0, 4.0, 6.0]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    tensor = tensor.to(torch.float32)
    low, high = torch.aminmax(tensor)
    span = float(high - low)
    if not span > 0:
        return torch.zeros_like(tensor)
    return tensor.sub(low).div_(span)
