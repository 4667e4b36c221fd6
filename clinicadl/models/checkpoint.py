"""Model checkpoints in ClinicaDL 1.x's format: ``{"model": state_dict, "epoch": int, "name": str}``.

This is the content of ``split-<k>/best-<metric>/model.pth.tar`` in a 1.x MAPS: the state dict is on the CPU, with
no ``module.`` prefix (a ``DataParallel`` / ``DistributedDataParallel`` wrapper) nor ``_orig_mod.`` prefix
(``torch.compile``), ``epoch`` is the 0-based epoch of the weights and ``name`` the architecture name.
Writes are atomic (:func:`clinicadl.atomic.atomic_output`), reads never unpickle arbitrary objects
(``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from clinicadl.atomic import atomic_write_bytes
from clinicadl.errors import InputError, MAPSError

WRAPPER_PREFIXES: tuple[str, ...] = ("module.", "_orig_mod.")
"""Key prefixes added by model wrappers, removed on save and on load."""


def strip_wrapper_prefixes(state_dict: Mapping[str, Any]) -> OrderedDict[str, Any]:
    """Remove the :data:`WRAPPER_PREFIXES` shared by every key of ``state_dict`` (repeatedly, in any order).

    Examples
    --------
    >>> list(strip_wrapper_prefixes({"module.fc.weight": 0, "module.fc.bias": 1}))
    ['fc.weight', 'fc.bias']
    """
    items = list(state_dict.items())
    stripped = True
    while items and stripped:
        stripped = False
        for prefix in WRAPPER_PREFIXES:
            if all(key.startswith(prefix) for key, _ in items):
                items = [(key[len(prefix) :], value) for key, value in items]
                stripped = True
    return OrderedDict(items)


def save_model(path: str | Path, model: nn.Module | Mapping[str, torch.Tensor], *, epoch: int, name: str) -> Path:
    """Write ``model``'s weights to ``path`` atomically in ClinicaDL 1.x's checkpoint format.

    Parameters
    ----------
    path : str or Path
        Destination, e.g. ``<maps>/split-0/best-loss/model.pth.tar``; parent folders are created.
    model : torch.nn.Module or state dict
        The network (possibly wrapped) or its state dict; tensors are copied to the CPU.
    epoch : int
        Epoch of the weights (0-based, as upstream).
    name : str
        Architecture name (a key of :data:`clinicadl.models.registry.MODELS`).

    Returns
    -------
    Path
        ``path``.
    """
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise InputError(f"epoch must be a non-negative integer, got {epoch!r}.")
    if not isinstance(name, str) or not name:
        raise InputError(f"name must be the architecture name, got {name!r}.")
    state = model.state_dict() if isinstance(model, nn.Module) else model
    state = OrderedDict((key, value.detach().cpu()) for key, value in strip_wrapper_prefixes(state).items())
    buffer = io.BytesIO()  # serialised in memory: a full disk then raises a plain OSError naming the file
    torch.save({"model": state, "epoch": epoch, "name": name}, buffer)
    return atomic_write_bytes(path, buffer.getbuffer())


def load_model_state(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_model` or by ClinicaDL 1.x, safely.

    Parameters
    ----------
    path : str or Path
        A ``model.pth.tar`` file.
    map_location : str or torch.device
        Where to put the tensors (default CPU).

    Returns
    -------
    dict
        ``{"model": state_dict, "epoch": int, "name": str}`` (other keys of the file are kept). Wrapper prefixes
        (``module.``) are removed from the state-dict keys, so ``model.load_state_dict(ckpt["model"])`` works
        with ``strict=True``.

    Raises
    ------
    clinicadl.errors.MAPSError
        The file is missing, unreadable, corrupt (e.g. truncated), holds objects that cannot be loaded safely, or is
        not a model checkpoint. The message names the file and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise MAPSError(
            f"Model checkpoint {path} does not exist: check the MAPS folder, split and selection metric, "
            f"or train the model first (clinicadl train)."
        )
    try:
        content = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError, ... depending on the damage
        reason = " ".join(str(error).split())[:300] or type(error).__name__
        raise MAPSError(
            f"Model checkpoint {path} cannot be read safely ({type(error).__name__}: {reason}). The file is corrupt, "
            f"truncated or not a PyTorch checkpoint: delete it and train this split again (or restore a copy)."
        ) from error
    if not isinstance(content, Mapping) or not isinstance(content.get("model"), Mapping):
        found = sorted(map(str, content)) if isinstance(content, Mapping) else type(content).__name__
        raise MAPSError(
            f"Model checkpoint {path} is not in ClinicaDL's format (a dict with keys 'model', 'epoch', 'name'); "
            f"found {found}. Give the model.pth.tar file of a MAPS."
        )
    checkpoint = dict(content)
    checkpoint["model"] = strip_wrapper_prefixes(content["model"])
    return checkpoint
