"""Atomic writing of results TSVs and JSON sidecars, and where results go."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pandas as pd
import pytest

from clinicadl.errors import InputError, MAPSError
from clinicadl.maps import (
    RESULTS_COLUMNS,
    atomic_write_text,
    evaluation_dir,
    model_ci_path,
    read_results_tsv,
    sidecar_path,
    write_json_sidecar,
    write_results_tsv,
)


def _results() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "positive_class": ["AD", "AD"],
            "metric": ["accuracy", "PPV"],
            "estimate": [0.75, math.nan],
            "ci_low": [0.5, math.nan],
            "ci_high": [0.9, math.nan],
            "se": [0.1, math.nan],
            "method": ["bca", "bca"],
            "confidence": [0.95, 0.95],
            "n_resamples": [2000, 2000],
            "n_subjects": [4, 4],
            "n_images": [4, 4],
            "seed": [0, 0],
        }
    )


def test_atomic_write_text(tmp_path):
    path = tmp_path / "sub" / "file.txt"
    atomic_write_text(path, "one\n")
    atomic_write_text(path, "two\n")
    assert path.read_text() == "two\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failed_write_keeps_old_file(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("old")

    with pytest.raises(TypeError):
        atomic_write_text(path, 3)  # not a str: fails while writing the temporary file
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["file.txt"]


def test_results_tsv_round_trip(tmp_path):
    path = write_results_tsv(tmp_path / "r.tsv", _results())
    header = path.read_text().splitlines()[0].split("\t")
    assert header == [*RESULTS_COLUMNS, "positive_class"]
    assert "NaN" in path.read_text()
    frame = read_results_tsv(path)
    assert frame.loc[0, "estimate"] == 0.75 and math.isnan(frame.loc[1, "ci_low"])


def test_results_tsv_missing_columns(tmp_path):
    with pytest.raises(InputError, match="lacks the columns seed"):
        write_results_tsv(tmp_path / "r.tsv", _results().drop(columns="seed"))
    assert not (tmp_path / "r.tsv").exists()
    (tmp_path / "x.tsv").write_text("metric\testimate\nBA\t0.5\n")
    with pytest.raises(InputError, match="lacks the columns ci_low"):
        read_results_tsv(tmp_path / "x.tsv")


def test_json_sidecar(tmp_path):
    path = sidecar_path(tmp_path / "r.tsv")
    assert path.name == "r.json"
    data = {
        "command": "clinicadl evaluate",
        "seed": np.int64(3),
        "ci": np.array([0.1, np.nan]),
        "maps": tmp_path,
    }
    write_json_sidecar(path, data)
    assert json.loads(path.read_text()) == {
        "command": "clinicadl evaluate",
        "seed": 3,
        "ci": [0.1, None],
        "maps": str(tmp_path),
    }


def test_model_ci_path(v1_maps_copy, v2_maps):
    path = model_ci_path(v1_maps_copy, 0, "loss", "test-heldout")
    assert path.relative_to(v1_maps_copy).as_posix() == (
        "split-0/best-loss/test-heldout/test-heldout_image_level_metrics_ci.tsv"
    )
    (v1_maps_copy / "split-0").rename(v1_maps_copy / "fold-0")
    path = model_ci_path(v1_maps_copy, 0, "best-loss", "test-heldout")
    assert path.relative_to(v1_maps_copy).parts[0] == "fold-0"
    with pytest.raises(MAPSError, match="available data groups"):
        model_ci_path(v1_maps_copy, 0, "loss", "nope")
    path = model_ci_path(v2_maps, 0, "final", "heldout")
    assert path.relative_to(v2_maps).as_posix() == (
        "test/group-heldout/results/split-0/final/metrics/heldout_image_level_metrics_ci.tsv"
    )
    assert evaluation_dir(v1_maps_copy, "test-heldout") == v1_maps_copy / "evaluation" / "test-heldout"
