"""evaluate model on real upstream MAPS and on prediction TSVs."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from clinicadl.evaluate.model import EvaluationOptions, evaluate_model
from clinicadl.maps import read_results_tsv

FAST = EvaluationOptions(n_resamples=400, seed=1)


def test_v1_point_estimates_equal_upstream_values(upstream, tmp_path):
    maps = tmp_path / "maps"
    shutil.copytree(upstream / "v1_clinicadl_1.6.1" / "maps", maps)
    before = {p: p.read_bytes() for p in maps.rglob("*") if p.is_file()}
    result = evaluate_model(maps, "test-heldout", options=FAST)
    table = result.table
    both = table.dropna(subset=["estimate", "upstream_estimate"])
    # every metric both compute is equal (NPV, MCC, LR_minus are 0/0 here: upstream writes 0, we write NaN)
    assert set(both["metric"]) >= {"BA", "accuracy", "F1_score", "sensitivity", "specificity", "PPV", "LR_plus"}
    assert np.allclose(both["estimate"], both["upstream_estimate"])
    assert set(table.loc[table["estimate"].isna(), "metric"]) == {"NPV", "MCC", "MK", "LR_minus"}
    # written next to the predictions, with a sidecar; upstream files untouched
    (path,) = result.written
    assert path == maps / "split-0" / "best-loss" / "test-heldout" / "test-heldout_image_level_metrics_ci.tsv"
    assert len(read_results_tsv(path)) == len(table)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["options"]["seed"] == 1 and sidecar["inputs"][0]["sha256"]
    assert path.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert all(p.read_bytes() == content for p, content in before.items())
    assert any("only 4 participants" in note for note in result.notes)


def test_v2_per_image_metrics(upstream, tmp_path):
    maps = tmp_path / "maps"
    shutil.copytree(upstream / "v2_clinicadl_2.0.0" / "maps", maps)
    result = evaluate_model(maps, "heldout", options=FAST)
    table = result.table
    assert set(table["selection_metric"]) == {"loss", "final"}
    assert set(table["metric"]) == {"loss", "loss_median"}
    loss = table[table["metric"] == "loss"]
    assert np.allclose(loss["estimate"], loss["upstream_estimate"])
    assert (loss["ci_low"] <= loss["estimate"]).all() and (loss["estimate"] <= loss["ci_high"]).all()
    assert any("auc" in note for note in result.notes)  # the empty column is reported, not hidden
    assert len(result.written) == 2


def test_tsv_results_are_reproducible_from_the_seed(example_tsv, tmp_path):
    a = evaluate_model(example_tsv, options=FAST, output=tmp_path / "a.tsv").table
    b = evaluate_model(example_tsv, options=FAST, output=tmp_path / "b.tsv").table
    pd.testing.assert_frame_equal(a, b)
    c = evaluate_model(example_tsv, options=EvaluationOptions(n_resamples=400, seed=2), output=tmp_path / "c.tsv")
    assert not np.allclose(a["ci_low"], c.table["ci_low"])
    assert (a["n_subjects"] == 120).all() and (a["n_images"] == 232).all() and (a["unit"] == "participant").all()


def test_participant_intervals_are_wider_than_image_intervals_on_longitudinal_data(example_tsv, tmp_path):
    options = {"n_resamples": 2000, "seed": 0, "metrics": ("AUC", "BA")}
    participant = evaluate_model(example_tsv, options=EvaluationOptions(**options), output=tmp_path / "p.tsv").table
    image = evaluate_model(example_tsv, options=EvaluationOptions(unit="image", **options), output=tmp_path / "i.tsv")
    assert (participant["se"].to_numpy() > 1.1 * image.table["se"].to_numpy()).all()


@pytest.mark.parametrize("method", ["percentile", "basic", "bca", "analytic", "auto"])
def test_every_interval_method_runs_and_is_named(example_tsv, tmp_path, method):
    options = EvaluationOptions(n_resamples=300, ci_method=method, unit="image", metrics=("AUC", "BA", "accuracy"))
    table = evaluate_model(example_tsv, options=options, output=tmp_path / "r.tsv").table
    if method == "analytic":
        assert list(table["method"]) == ["delong", "bca", "wilson"]  # BA has no closed form
    elif method != "auto":
        assert set(table["method"]) == {method}
    assert (table["ci_low"] < table["ci_high"]).all()
