"""The device a network runs on, and automatic mixed precision (imports torch)."""

from __future__ import annotations

import contextlib

import torch

from clinicadl.errors import InputError

__all__ = ["autocast", "select_device"]


def select_device(gpu: bool) -> torch.device:
    """``cuda`` when ``gpu`` (error if none is available), else ``cpu``."""
    if not gpu:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InputError("No GPU is available; add --no-gpu (or set gpu = false in [Computational]) to run on CPU.")
    return torch.device("cuda")


def autocast(device: torch.device, amp: bool):
    """Automatic mixed precision context (float16 on GPU, bfloat16 on CPU), or a null context."""
    if not amp:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.float16 if device.type == "cuda" else torch.bfloat16)
