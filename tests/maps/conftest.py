"""Shared fixtures of the tests of clinicadl.maps: the upstream MAPS and a writer of synthetic MAPS."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

UPSTREAM = Path(__file__).parents[2].parent / "shared" / "fixtures" / "upstream"


def _upstream_maps(version_folder: str) -> Path:
    path = UPSTREAM / version_folder / "maps"
    if not path.is_dir():
        pytest.skip(f"upstream fixture {path} is absent")
    return path


@pytest.fixture
def v1_maps() -> Path:
    """The ClinicaDL 1.6.1 slice-mode MAPS (read only)."""
    return _upstream_maps("v1_clinicadl_1.6.1")


@pytest.fixture
def v2_maps() -> Path:
    """The ClinicaDL 2.0.0 MAPS (read only)."""
    return _upstream_maps("v2_clinicadl_2.0.0")


@pytest.fixture
def v1_maps_copy(v1_maps: Path, tmp_path: Path) -> Path:
    """A writable copy of the 1.6.1 MAPS (without its model weights and tensorboard logs)."""
    target = tmp_path / "maps"
    shutil.copytree(v1_maps, target, ignore=shutil.ignore_patterns("*.pth.tar", "tensorboard"))
    return target


@pytest.fixture
def make_maps(tmp_path: Path):
    """Factory writing a synthetic 1.x MAPS with one model (split 0, best-loss) and one group.

    ``make_maps(rows, mode="slice", task="classification", group="test", label_code=...,
    image_rows=None, metrics_text=None, split_name="split-0")`` writes ``rows`` (a list of dicts)
    as ``<group>_<mode>_level_prediction.tsv`` and returns the MAPS folder.
    """

    def make(
        rows,
        *,
        mode: str = "slice",
        task: str = "classification",
        group: str = "test",
        label_code: dict | None = None,
        image_rows=None,
        metrics_text: str | None = None,
        split_name: str = "split-0",
        name: str = "maps",
    ) -> Path:
        maps = tmp_path / name
        folder = maps / split_name / "best-loss" / group
        folder.mkdir(parents=True)
        if label_code is None:
            label_code = {"AD": 0, "CN": 1} if task == "classification" else {}
        parameters = {"network_task": task, "mode": mode, "label_code": label_code, "model": "Conv5_FC3"}
        (maps / "maps.json").write_text(json.dumps(parameters))
        if rows is not None:
            pd.DataFrame(rows).to_csv(folder / f"{group}_{mode}_level_prediction.tsv", sep="\t", index=False)
        if image_rows is not None:
            pd.DataFrame(image_rows).to_csv(
                folder / f"{group}_image_level_prediction.tsv", sep="\t", index=False
            )
        if metrics_text is not None:
            (folder / f"{group}_image_level_metrics.tsv").write_text(metrics_text)
        return maps

    return make
