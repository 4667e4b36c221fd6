"""The checkpoint of an interrupted split: ``split-<i>/tmp/checkpoint.pth.tar``.

It holds everything the next epoch depends on, so that resuming a deterministic run gives the weights of an
uninterrupted one: network, optimizer, learning-rate scheduler and gradient scaler states, the next epoch, the
training log rows, early stopping and best-model states, and the random states (torch global, CUDA, numpy, Python,
and the generators of the training order and of dropout). It is written atomically after each epoch and read
with ``torch.load(weights_only=True)`` (only tensors and plain Python values are stored).
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clinicadl.atomic import atomic_write_bytes
from clinicadl.errors import MAPSError

__all__ = ["CHECKPOINT", "checkpoint_path", "get_rng_state", "load_checkpoint", "save_checkpoint", "set_rng_state"]

CHECKPOINT = "checkpoint.pth.tar"


def checkpoint_path(split_dir: str | Path) -> Path:
    return Path(split_dir) / "tmp" / CHECKPOINT


def get_rng_state(order: torch.Generator, dropout: torch.Generator | None = None) -> dict[str, Any]:
    """Random states of this process, of the training-order generator and of the dropout generator."""
    name, keys, position, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (saved so that user code relying on it resumes)
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(position),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
        "order": order.get_state(),
        **({"dropout": dropout.get_state()} if dropout is not None else {}),
    }


def set_rng_state(state: dict[str, Any], order: torch.Generator, dropout: torch.Generator | None = None) -> None:
    """Restore the states saved by :func:`get_rng_state` (a checkpoint without a dropout state leaves it as is)."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy = state["numpy"]
    legacy = (numpy["name"], numpy["keys"].numpy().astype(np.uint32), numpy["pos"], numpy["has_gauss"],
              numpy["cached"])
    np.random.set_state(legacy)  # noqa: NPY002
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss"]))
    order.set_state(state["order"])
    if dropout is not None and "dropout" in state:
        dropout.set_state(state["dropout"])


def save_checkpoint(path: str | Path, content: dict[str, Any]) -> Path:
    """Write the checkpoint atomically."""
    buffer = io.BytesIO()  # serialised in memory: a full disk then raises a plain OSError naming the file
    torch.save(content, buffer)
    return atomic_write_bytes(path, buffer.getbuffer())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint (``weights_only``); a corrupt one is a :class:`MAPSError` that says how to restart."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise MAPSError(f"Cannot read the checkpoint {path} ({type(error).__name__}); delete its tmp/ folder to "
                        "train this split again from the start.") from None
