"""Running a network over a dataset: devices, data loaders, trained networks of a MAPS (imports torch)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch.utils.data import DataLoader

from clinicadl.errors import InputError, MAPSError
from clinicadl.predict.outputs import make_criterion, output_rows, task_loss

__all__ = ["autocast", "build_network", "infer", "load_trained_network", "make_loader", "select_device"]

EVALUATION_SEED = 0
"""Seed of the generator of evaluation loaders: they never draw from the global random state."""


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


def make_loader(dataset, *, batch_size: int, n_proc: int, shuffle: bool = False, sampler=None,
                generator: torch.Generator | None = None) -> DataLoader:
    """A DataLoader; ``n_proc`` <= 1 loads in this process, more uses that many persistent workers.

    Loaders always get their own generator, so that iterating them never draws from the global random state
    (which drives dropout).
    """
    if generator is None:
        generator = torch.Generator()
        generator.manual_seed(EVALUATION_SEED)
    workers = int(n_proc) if int(n_proc) > 1 else 0
    return DataLoader(dataset, batch_size=int(batch_size), shuffle=shuffle if sampler is None else False,
                      sampler=sampler, num_workers=workers, persistent_workers=workers > 0,
                      generator=generator, pin_memory=False, drop_last=False)


def _output_size(parameters: Mapping[str, Any]):
    size = parameters["output_size"]
    return tuple(size) if isinstance(size, list) else int(size)


def build_network(parameters: Mapping[str, Any], *, seed: int = 0) -> torch.nn.Module:
    """The network of ``maps.json`` parameters, weights initialised from ``seed``."""
    from clinicadl.models.registry import build_model

    return build_model(
        parameters["architecture"], input_size=tuple(parameters["input_size"]), output_size=_output_size(parameters),
        task=parameters["network_task"], dropout=float(parameters.get("dropout", 0.0)),
        normalization=parameters.get("normalization", "batch"), seed=int(seed), options=parameters,
    )


def model_path(maps_dir: str | Path, split: int, selection_metric: str) -> Path:
    return Path(maps_dir) / f"split-{split}" / f"best-{selection_metric}" / "model.pth.tar"


def _state_dict(loaded: Any) -> dict:
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
    network.load_state_dict(_state_dict(load_model_state(path)))
    return network.to(device).eval()


def infer(
    network: torch.nn.Module, loader: DataLoader, *, parameters: Mapping[str, Any], device: torch.device,
    amp: bool = False, with_labels: bool = True, progress: bool = False, desc: str = "predict",
    on_outputs: Callable[[torch.Tensor, dict], Any] | None = None,
) -> tuple[pd.DataFrame, float]:
    """Prediction rows of every element of the loader's dataset and the mean loss (NaN without labels).

    ``on_outputs(outputs, batch)`` is called on each batch (e.g. to write predicted segmentation masks).
    """
    from tqdm.auto import tqdm

    task, mode = parameters["network_task"], parameters["mode"]
    criterion = make_criterion(task, parameters["loss"])
    rows: list[dict] = []
    total, count = 0.0, 0
    was_training = network.training
    network.eval()
    with torch.no_grad():
        for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
            images = batch["image"].to(device)
            with autocast(device, amp):
                outputs = network(images)
            outputs = outputs.float()
            if with_labels or task == "reconstruction":
                total += float(task_loss(task, criterion, outputs, batch)) * len(images)
                count += len(images)
            if task == "segmentation":
                from clinicadl.predict.segmentation import segmentation_rows

                rows.extend(segmentation_rows(outputs, batch, parameters))
            else:
                rows.extend(output_rows(task, outputs, batch, mode))
            if on_outputs is not None:
                on_outputs(outputs, batch)
    network.train(was_training)
    return pd.DataFrame(rows), (total / count if count else float("nan"))
