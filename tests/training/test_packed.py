"""Replicates trained together (``--pack_replicates``): the same weights and files as replicates trained alone.

Oracle: the unpacked trainer (:func:`clinicadl.training.trainer.train_replicate`), one replicate at a time, with the
same seeds, in deterministic mode. Packing sums the same terms in another order (grouped convolutions, batched
products), so weights agree to float rounding, not bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import tiny_caps as helpers
import torch

from clinicadl.training.packed_trainer import PackMember, train_pack
from clinicadl.training.seeds import replicate_seeds
from clinicadl.training.trainer import train_replicate

ATOL = 2e-5


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return helpers.make_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def parameters(dataset):
    return helpers.resolved_parameters(dataset, kfold=False, epochs=1, dropout=0.3, data_augmentation=["Noise"],
                                       selection_metrics=["loss"], batch_size=3, optimizer="SGD",
                                       learning_rate=0.05)


def _seeds(r: int) -> dict[str, int]:
    return replicate_seeds(0, r, ("init", "order", "augmentation", "dropout"))


def _weights(maps: Path) -> dict[str, torch.Tensor]:
    return torch.load(maps / "split-0/best-loss/model.pth.tar", map_location="cpu", weights_only=True)["model"]


def _files(maps: Path) -> set[str]:
    return {str(path.relative_to(maps)) for path in maps.rglob("*") if path.is_file() and "tensorboard" not in
            path.parts}


def _close(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.allclose(a[k].float(), b[k].float(), atol=ATOL, rtol=1e-4) for k in a)


@pytest.fixture(scope="module")
def alone(parameters, tmp_path_factory):
    """Replicates 0, 1, 2 trained one at a time (the oracle)."""
    root = tmp_path_factory.mktemp("alone")
    for r in range(3):
        train_replicate(parameters, root / f"replicate-{r}", _seeds(r), progress=False)
    return root


@pytest.mark.parametrize("k", [2, 3])
def test_packed_weights_and_files_equal_unpacked(parameters, alone, tmp_path, k):
    errors = train_pack([PackMember(parameters, tmp_path / f"replicate-{r}", _seeds(r)) for r in range(k)])
    assert errors == [None] * k
    for r in range(k):
        packed, single = tmp_path / f"replicate-{r}", alone / f"replicate-{r}"
        assert _close(_weights(packed), _weights(single)), r
        assert _files(packed) == _files(single)
        log_a = pd.read_csv(packed / "split-0/training_logs/training.tsv", sep="\t").drop(columns="time")
        log_b = pd.read_csv(single / "split-0/training_logs/training.tsv", sep="\t").drop(columns="time")
        pd.testing.assert_frame_equal(log_a, log_b, atol=1e-4, rtol=1e-4)
    # the replicates differ from each other: the test compares K different trainings, not K copies
    assert not _close(_weights(tmp_path / "replicate-0"), _weights(tmp_path / "replicate-1"))
