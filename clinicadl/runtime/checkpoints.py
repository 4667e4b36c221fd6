"""Trained networks of a MAPS: where they are, their state dicts, loading them (imports torch)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from clinicadl.errors import MAPSError
from clinicadl.runtime.network import build_network

__all__ = ["load_trained_network", "model_path", "state_dict"]


def model_path(maps_dir: str | Path, split: int, selection_metric: str) -> Path:
    """``<maps>/split-<i>/best-<m>/model.pth.tar``."""
    return Path(maps_dir) / f"split-{split}" / f"best-{selection_metric}" / "model.pth.tar"


def state_dict(loaded: Any) -> dict:
    """The state dict of a loaded checkpoint: its ``model`` entry (upstream's layout), or the mapping itself."""
    if isinstance(loaded, Mapping) and "model" in loaded and isinstance(loaded["model"], Mapping):
        return dict(loaded["model"])
    return dict(loaded)


def load_trained_network(maps_dir: str | Path, parameters: Mapping[str, Any], split: int, selection_metric: str,
                         device: torch.device) -> torch.nn.Module:
    """The network saved in ``split-<i>/best-<m>/model.pth.tar``, in evaluation mode on ``device``."""
    from clinicadl.models.checkpoint import load_model_state

    path = model_path(maps_dir, split, selection_metric)
    if not path.is_file():
        raise MAPSError(f"{path} is missing: split {split} has no model selected on {selection_metric}; train it "
                        "first (or choose another --selection_metrics).")
    network = build_network(parameters)
    network.load_state_dict(state_dict(load_model_state(path)))
    return network.to(device).eval()
