"""The predictions that end a split of packed replicates sharing it: one packed pass, the files of unpacked ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import tiny_caps as helpers

from clinicadl.predict import predict as predict_module
from clinicadl.predict.predict import predict_models
from clinicadl.training.packed_prediction import shared_splits
from clinicadl.training.packed_trainer import PackMember, train_pack
from clinicadl.training.partitions import partitions
from clinicadl.training.seeds import replicate_seeds
from clinicadl.training.trainer import train_replicate

K = 2


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return helpers.make_dataset(tmp_path_factory.mktemp("data"))


def _seeds(r: int) -> dict[str, int]:
    return replicate_seeds(0, r, ("init", "order", "augmentation", "dropout"))


def _prediction_files(maps: Path) -> dict[str, Path]:
    """The prediction and metrics TSVs of every split, best model and group, by path in the MAPS."""
    return {str(path.relative_to(maps)): path for path in maps.glob("split-*/best-*/*/*.tsv")}


def _assert_same_files(got: Path, expected: Path, *, tolerance: float) -> None:
    """The same prediction and metrics TSVs in both MAPS, with the same values within ``tolerance``."""
    packed, alone = _prediction_files(got), _prediction_files(expected)
    assert packed.keys() == alone.keys()
    assert any(name.endswith("_prediction.tsv") for name in packed)
    assert any(name.endswith("_metrics.tsv") for name in packed)
    for name in alone:
        frames = [pd.read_csv(files[name], sep="\t") for files in (packed, alone)]
        pd.testing.assert_frame_equal(*frames, rtol=tolerance, atol=tolerance, obj=name)


@pytest.mark.parametrize(("task", "kfold", "learning_rate"), [("classification", True, 0.05),
                                                              ("regression", False, 1e-4)])
def test_packed_predictions_equal_unpacked_ones(dataset, tmp_path, monkeypatch, task, kfold, learning_rate):
    parameters = helpers.resolved_parameters(dataset, task=task, kfold=kfold, epochs=1, batch_size=3,
                                             data_augmentation=["Noise"], optimizer="SGD",
                                             learning_rate=learning_rate)
    for r in range(K):
        train_replicate(parameters, tmp_path / "alone" / f"replicate-{r}", _seeds(r), progress=False)
    with monkeypatch.context() as patch:
        alone_calls = []
        patch.setattr(predict_module, "predict_models", lambda *a, **k: alone_calls.append(a))
        members = [PackMember(parameters, tmp_path / "packed" / f"replicate-{r}", _seeds(r)) for r in range(K)]
        assert train_pack(members) == [None] * K
    assert alone_calls == []  # every group was predicted by the pack
    for r in range(K):
        packed = tmp_path / "packed" / f"replicate-{r}"
        # the files of an unpacked run of the same seeds (its weights agree to float rounding)
        _assert_same_files(packed, tmp_path / "alone" / f"replicate-{r}", tolerance=1e-4)
        # the files that unpacked prediction writes with the same models
        again = shutil.copytree(packed, tmp_path / "again" / f"replicate-{r}")
        for part in partitions(parameters):
            models = [(part.split, metric) for metric in parameters["selection_metrics"]]
            for group, frame in (("train", part.train), ("validation", part.validation)):
                predict_models(again, parameters, group, {part.split: frame}, models,
                               caps_directory=parameters["caps_directory"], progress=False)
        _assert_same_files(packed, again, tolerance=1e-6)
    first, second = (tmp_path / "packed" / f"replicate-{r}" / "split-0/best-loss/validation" for r in range(K))
    assert (first / "validation_image_level_prediction.tsv").read_text() != (
        second / "validation_image_level_prediction.tsv").read_text()  # each replicate's own predictions


def test_replicates_with_other_splits_predict_alone(dataset):
    parameters = helpers.resolved_parameters(dataset, kfold=False)
    parts = [partitions(parameters, split_seed=seed)[0] for seed in (None, None, 7, None)]
    assert shared_splits(parts) == [[0, 1, 3], [2]]
