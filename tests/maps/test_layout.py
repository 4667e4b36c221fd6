"""MAPS layout: version, splits, selection metrics, data groups and paths."""

from __future__ import annotations

import subprocess
import sys

import pytest

from clinicadl.errors import MAPSError
from clinicadl.maps import (
    group_data_tsv_path,
    list_data_groups,
    list_selection_metrics,
    list_splits,
    maps_version,
    metrics_tsv_path,
    normalize_selection_metric,
    parse_split_name,
    prediction_tsv_path,
    split_dir,
)


def test_versions(v1_maps, v2_maps, tmp_path):
    assert maps_version(v1_maps) == "1.x"
    assert maps_version(v2_maps) == "2.0"
    (tmp_path / "model.json").write_text("{}")  # model.json without training/ is not a 2.0 MAPS
    with pytest.raises(MAPSError, match=r"is not a MAPS: expected maps\.json"):
        maps_version(tmp_path)
    with pytest.raises(MAPSError, match="does not exist"):
        maps_version(tmp_path / "absent")


def test_v1_listing(v1_maps):
    assert list_splits(v1_maps) == [0]
    assert list_selection_metrics(v1_maps) == ["loss"]
    assert list_selection_metrics(v1_maps, 0, data_group="test-heldout") == ["loss"]
    assert list_data_groups(v1_maps) == ["test-heldout", "train", "validation"]
    assert list_data_groups(v1_maps, split=0, selection_metric="best-loss") == [
        "test-heldout",
        "train",
        "validation",
    ]


def test_v2_listing(v2_maps):
    assert list_splits(v2_maps) == [0]
    assert list_selection_metrics(v2_maps) == ["final", "loss"]
    assert list_selection_metrics(v2_maps, data_group="heldout") == ["final", "loss"]
    assert list_data_groups(v2_maps) == ["heldout"]
    assert list_data_groups(v2_maps, split=0, selection_metric="final") == ["heldout"]
    assert list_data_groups(v2_maps, split=1) == []


def test_fold_and_split_names(v1_maps_copy):
    (v1_maps_copy / "split-0").rename(v1_maps_copy / "fold-0")
    (v1_maps_copy / "split-3").mkdir()
    assert list_splits(v1_maps_copy) == [0, 3]
    assert split_dir(v1_maps_copy, 0).name == "fold-0"
    assert split_dir(v1_maps_copy, 3).name == "split-3"
    with pytest.raises(MAPSError, match="available splits: 0, 3"):
        split_dir(v1_maps_copy, 1)


def test_paths(v1_maps, v2_maps):
    path = prediction_tsv_path(v1_maps, "test-heldout", split=0, selection_metric="loss", level="slice")
    assert path.is_file() and path.name == "test-heldout_slice_level_prediction.tsv"
    assert metrics_tsv_path(v1_maps, "train", split=0, selection_metric="loss", level="image").is_file()
    assert metrics_tsv_path(v2_maps, "heldout", split=0, selection_metric="final", level="image").name == (
        "aggregated.tsv"
    )
    assert group_data_tsv_path(v1_maps, "test-heldout").relative_to(v1_maps).as_posix() == (
        "groups/test-heldout/data.tsv"
    )
    assert (
        group_data_tsv_path(v1_maps, "train").relative_to(v1_maps).as_posix()
        == "groups/train/split-0/data.tsv"
    )
    assert (
        group_data_tsv_path(v2_maps, "heldout").relative_to(v2_maps).as_posix()
        == "test/group-heldout/data.tsv"
    )
    assert group_data_tsv_path(v2_maps, "validation", split=0).is_file()
    with pytest.raises(MAPSError, match="available data groups: test-heldout, train, validation"):
        group_data_tsv_path(v1_maps, "other")


def test_names():
    assert parse_split_name("split-10") == 10 and parse_split_name("fold-2") == 2
    assert parse_split_name("split-x") is None and parse_split_name("best-loss") is None
    assert normalize_selection_metric("best-BA") == "BA" and normalize_selection_metric("final") == "final"


def test_import_does_not_load_torch():
    code = "import sys, clinicadl.maps; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
