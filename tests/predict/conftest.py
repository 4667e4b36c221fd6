"""Shared helpers of the training and predict tests: a tiny CAPS with split folders, and stand-ins.

The stand-ins (a tiny CNN registry, checkpoint functions, ``train_procedure``) are installed only while the real
modules (``clinicadl.models``, ``clinicadl.training.replicates``) are missing; ``tests/training/test_trainer*.py``
loads this file by path.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

T1 = "space-MNI152NLin2009cSym_desc-Crop_res-1x1x1_T1w.nii.gz"
SHAPE = (16, 20, 16)
ARCHITECTURE = "TinyCNN"


# ------------------------------------------------------------------------------------------- stand-in modules

def _standin_models() -> dict[str, types.ModuleType]:
    import torch
    from torch import nn

    from clinicadl.atomic import atomic_output
    from clinicadl.errors import InputError

    class TinyCNN(nn.Module):
        def __init__(self, input_size, output_size, dropout):
            super().__init__()
            conv = nn.Conv3d if len(input_size) == 4 else nn.Conv2d
            norm = nn.BatchNorm3d if len(input_size) == 4 else nn.BatchNorm2d
            self.features = nn.Sequential(conv(input_size[0], 4, 3, padding=1), norm(4), nn.ReLU())
            self.pool = nn.AdaptiveAvgPool3d(1) if len(input_size) == 4 else nn.AdaptiveAvgPool2d(1)
            self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(4, int(output_size)))

        def forward(self, x):
            return self.head(self.pool(self.features(x)))

    class TinyAE(nn.Module):
        def __init__(self, input_size):
            super().__init__()
            conv = nn.Conv3d if len(input_size) == 4 else nn.Conv2d
            self.net = nn.Sequential(conv(input_size[0], 4, 3, padding=1), nn.ReLU(), conv(4, input_size[0], 1))

        def forward(self, x):
            return self.net(x)

    registry = types.ModuleType("clinicadl.models.registry")

    def list_models():
        return ["TinyCNN"]

    def build_model(name, *, input_size, output_size, task, dropout=0.0, normalization="batch", seed=0):
        if name not in list_models():
            raise InputError(f"Unknown architecture {name!r}; available: {', '.join(list_models())}.")
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            if task == "reconstruction":
                return TinyAE(tuple(input_size))
            return TinyCNN(tuple(input_size), output_size, dropout)

    registry.list_models, registry.build_model = list_models, build_model
    checkpoint = types.ModuleType("clinicadl.models.checkpoint")

    def save_model(path, model, *, epoch, name):
        state = {k.removeprefix("module."): v.detach().cpu() for k, v in model.state_dict().items()}
        with atomic_output(path) as tmp:
            torch.save({"model": state, "epoch": int(epoch), "name": name}, tmp)

    def load_model_state(path):
        return torch.load(path, map_location="cpu", weights_only=True)["model"]

    checkpoint.save_model, checkpoint.load_model_state = save_model, load_model_state
    package = types.ModuleType("clinicadl.models")
    package.__path__ = []
    package.registry, package.checkpoint = registry, checkpoint
    return {"clinicadl.models": package, "clinicadl.models.registry": registry,
            "clinicadl.models.checkpoint": checkpoint}


def _standin_replicates() -> types.ModuleType:
    module = types.ModuleType("clinicadl.training.replicates")

    def train_procedure(parameters, output_maps, *, replicates=None, root_seed=0, vary=(), n_jobs=1, overwrite=False):
        from clinicadl.maps.writer import prepare_maps_dir
        from clinicadl.training.seeds import replicate_seeds
        from clinicadl.training.trainer import train_replicate

        prepare_maps_dir(output_maps, overwrite=overwrite)
        train_replicate(parameters, output_maps, replicate_seeds(root_seed, 0, vary), progress=False)

    module.train_procedure = train_procedure
    return module


def _real_models_usable() -> bool:
    try:
        registry = importlib.import_module("clinicadl.models.registry")
        importlib.import_module("clinicadl.models.checkpoint")
        return ARCHITECTURE in [getattr(info, "name", info) for info in registry.list_models()]
    except Exception:
        return False


def install_standins(monkeypatch) -> None:
    """Use the real models and replicates modules when they exist, stand-ins otherwise."""
    if not _real_models_usable():
        for name, module in _standin_models().items():
            monkeypatch.setitem(sys.modules, name, module)
    try:
        importlib.import_module("clinicadl.training.replicates")
    except ImportError:
        monkeypatch.setitem(sys.modules, "clinicadl.training.replicates", _standin_replicates())


# ------------------------------------------------------------------------------------------- tiny CAPS

def make_dataset(root: Path) -> dict[str, Path]:
    """A CAPS of 20 participants (10 AD with a bright block, 10 CN), image and slice tensors, and split folders.

    Returns paths: ``caps``, ``kfold`` (2 folds of the 16 training participants), ``split`` (one split), ``test``
    (4 other participants), ``data`` (all).
    """
    from clinicadl.data.extraction import extraction_parameters, prepare_data

    rng = np.random.default_rng(0)
    caps = root / "caps"
    rows = []
    for index in range(20):
        diagnosis = "AD" if index % 2 == 0 else "CN"
        participant = f"sub-{index:03d}"
        image = rng.normal(100.0, 10.0, size=SHAPE).astype(np.float32)
        if diagnosis == "AD":
            image[4:12, 5:15, 4:12] += 60.0
        path = caps / "subjects" / participant / "ses-M000" / "t1_linear" / f"{participant}_ses-M000_{T1}"
        path.parent.mkdir(parents=True)
        nib.save(nib.Nifti1Image(image, np.eye(4)), path)
        rows.append({"participant_id": participant, "session_id": "ses-M000", "diagnosis": diagnosis,
                     "age": 60.0 + index, "sex": "F" if index % 3 else "M"})
    prepare_data(caps, extraction_parameters("image", "t1-linear", extract_json="image.json"), n_proc=1,
                 progress=False)
    prepare_data(caps, extraction_parameters("slice", "t1-linear", extract_json="slice.json", slice_direction=2,
                                             slice_mode="single", discarded_slices=6), n_proc=1, progress=False)
    data = pd.DataFrame(rows)
    labels = root / "labels"
    labels.mkdir()
    data.to_csv(labels / "data.tsv", sep="\t", index=False)
    pool, test = data.iloc[:16], data.iloc[16:]
    test.to_csv(labels / "test_baseline.tsv", sep="\t", index=False)
    kfold = labels / "2_fold"
    for split in range(2):
        folder = kfold / f"split-{split}"
        folder.mkdir(parents=True)
        in_valid = (np.arange(16) // 2) % 2 == split
        _write_split(folder, pool[~in_valid], pool[in_valid])
    single = labels / "split"
    single.mkdir()
    _write_split(single, pool.iloc[:12], pool.iloc[12:])
    return {"caps": caps, "kfold": kfold, "split": single, "test": labels / "test_baseline.tsv",
            "data": labels / "data.tsv"}


def _write_split(folder: Path, train: pd.DataFrame, validation: pd.DataFrame) -> None:
    train.to_csv(folder / "train.tsv", sep="\t", index=False)
    train.to_csv(folder / "train_baseline.tsv", sep="\t", index=False)
    validation.to_csv(folder / "validation_baseline.tsv", sep="\t", index=False)


def train_arguments(paths: dict[str, Path], maps: Path, *, json: str = "image.json", kfold: bool = True) -> list:
    """Arguments of a fast ``clinicadl train classification`` run."""
    arguments = [str(paths["caps"]), json, str(paths["kfold"] if kfold else paths["split"]), str(maps),
                 "-a", ARCHITECTURE, "--no-gpu", "-np", "1", "-b", "4", "--epochs", "2", "--learning_rate", "0.01",
                 "--deterministic", "-sm", "loss", "-sm", "BA"]
    return arguments + (["--n_splits", "2"] if kfold else [])


def resolved_parameters(paths: dict[str, Path], *, json: str = "image.json", task: str = "classification",
                        kfold: bool = True, **options) -> dict:
    from clinicadl.training.config import load_config, resolve_parameters

    cli = {"architecture": ARCHITECTURE, "gpu": False, "n_proc": 1, "batch_size": 4, "epochs": 2,
           "learning_rate": 0.01, "deterministic": True, "selection_metrics": ["loss", "BA"] if task ==
           "classification" else ["loss"], "n_splits": 2 if kfold else 0, **options}
    parameters = load_config(task, cli)
    return resolve_parameters(parameters, network_task=task, caps_directory=paths["caps"], preprocessing_json=json,
                              tsv_directory=paths["kfold"] if kfold else paths["split"])


@pytest.fixture
def standins(monkeypatch):
    install_standins(monkeypatch)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> dict[str, Path]:
    return make_dataset(tmp_path_factory.mktemp("tiny"))


def command_line():
    """The ``clinicadl`` group, with ``train`` and ``predict`` registered as the lead will in ``cli/main.py``."""
    from clinicadl.cli.main import LazyGroup, cli

    if {"train", "predict"} <= set(cli.lazy):
        return cli
    return LazyGroup(name="clinicadl", lazy={**cli.lazy, "train": "clinicadl.cli.train:train",
                                             "predict": "clinicadl.cli.predict:predict"})
