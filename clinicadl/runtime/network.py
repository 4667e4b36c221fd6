"""The network described by the parameters of a ``maps.json`` (imports torch through the model registry)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = ["build_network"]


def _output_size(parameters: Mapping[str, Any]):
    size = parameters["output_size"]
    return tuple(size) if isinstance(size, list) else int(size)


def build_network(parameters: Mapping[str, Any], *, seed: int = 0) -> torch.nn.Module:
    """The network of ``maps.json`` parameters, weights initialised from ``seed``.

    ``seed`` is the integer seed of weight initialisation recorded in ``maps.json`` (``seeds["init"]``).
    """
    from clinicadl.models.registry import build_model

    return build_model(
        parameters["architecture"], input_size=tuple(parameters["input_size"]), output_size=_output_size(parameters),
        task=parameters["network_task"], dropout=float(parameters.get("dropout", 0.0)),
        normalization=parameters.get("normalization", "batch"), seed=int(seed), options=parameters,
    )
