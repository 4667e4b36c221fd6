"""maps.json: reading (old keys translated, unknown keys kept), writing, label names and mode."""

from __future__ import annotations

import json

import pytest

from clinicadl.errors import MAPSError
from clinicadl.maps import label_names, prediction_mode, read_maps_json, translate_old_keys, write_maps_json


def test_read_fixture(v1_maps):
    parameters = read_maps_json(v1_maps)
    assert parameters["architecture"] == "Conv5_FC3"
    assert parameters["network_task"] == "classification"
    assert label_names(parameters) == ("AD", "CN")
    assert prediction_mode(parameters) == "slice"
    assert read_maps_json(v1_maps / "maps.json") == parameters


def test_old_keys(tmp_path):
    old = {
        "model": "Conv5_FC3",
        "multi": True,
        "minmaxnormalization": False,
        "num_workers": 4,
        "use_cpu": True,
        "nondeterministic": False,
        "something_new": [1, 2],
    }
    (tmp_path / "maps.json").write_text(json.dumps(old))
    parameters = read_maps_json(tmp_path)
    assert parameters == {
        "architecture": "Conv5_FC3",
        "multi_network": True,
        "normalize": False,
        "n_proc": 4,
        "gpu": False,
        "deterministic": True,
        "something_new": [1, 2],
    }


def test_current_name_wins():
    assert translate_old_keys({"model": "old", "architecture": "new", "use_cpu": True, "gpu": True}) == {
        "architecture": "new",
        "gpu": True,
    }


@pytest.mark.parametrize(
    ("text", "message"), [("{not json", "is not valid JSON"), ("[1, 2]", "holds a JSON list")]
)
def test_bad_maps_json(tmp_path, text, message):
    (tmp_path / "maps.json").write_text(text)
    with pytest.raises(MAPSError, match=message) as info:
        read_maps_json(tmp_path)
    assert str(tmp_path / "maps.json") in str(info.value)


def test_missing_maps_json(tmp_path):
    with pytest.raises(MAPSError, match=r"maps\.json not found"):
        read_maps_json(tmp_path)


def test_label_names():
    assert label_names({"label_code": {"CN": 1, "AD": 0, "MCI": 2}}) == ("AD", "CN", "MCI")
    assert label_names({"label_code": {}}) == () and label_names({}) == ()
    with pytest.raises(MAPSError, match=r"0\.\.1"):
        label_names({"label_code": {"AD": 0, "CN": 2}})


def test_mode_from_preprocessing_dict():
    assert prediction_mode({"preprocessing_dict": {"mode": "patch"}}) == "patch"
    assert prediction_mode({}) is None


def test_write_round_trip(tmp_path):
    parameters = {"architecture": "Conv5_FC3", "input_size": (1, 64, 64), "caps_directory": ""}
    path = write_maps_json(tmp_path, parameters)
    assert path == tmp_path / "maps.json"
    assert read_maps_json(path) == {**parameters, "input_size": [1, 64, 64]}
    assert path.read_text().startswith('{\n    "architecture"')
