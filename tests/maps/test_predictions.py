"""Image-level predictions read from upstream MAPS, synthetic MAPS and bare TSVs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clinicadl.errors import InputError, MAPSError
from clinicadl.maps import (
    ModelPredictions,
    find_models,
    read_model_predictions,
    read_prediction_tsv,
)

HELDOUT = ["sub-CLNC00005", "sub-CLNC10002", "sub-CLNC10006", "sub-CLNC10007"]


def _slice_rows(participant, label, probabilities, session="ses-M000"):
    return [
        {
            "participant_id": participant,
            "session_id": session,
            "slice_id": k,
            "true_label": label,
            "predicted_label": int(np.argmax(p)),
            "proba0": p[0],
            "proba1": p[1],
        }
        for k, p in enumerate(probabilities)
    ]


# ------------------------------------------------------------------------------------------- upstream 1.6.1


def test_v1_heldout_rebuilt_from_slice_level(v1_maps):
    predictions = read_model_predictions(v1_maps, "test-heldout", split=0, selection_metric="loss")
    assert isinstance(predictions, ModelPredictions)
    assert predictions.task == "classification"
    assert predictions.labels == ("AD", "CN")
    assert predictions.mode == "slice"
    assert predictions.maps_version == "1.x"
    assert (predictions.split, predictions.selection_metric, predictions.data_group) == (
        0,
        "loss",
        "test-heldout",
    )
    assert predictions.source.name == "test-heldout_slice_level_prediction.tsv"
    frame = predictions.frame
    assert list(frame.columns) == [
        "participant_id",
        "session_id",
        "true_label",
        "predicted_label",
        "proba0",
        "proba1",
    ]
    assert frame["participant_id"].tolist() == HELDOUT
    assert predictions.n_images == 4 and predictions.n_subjects == 4
    assert frame["true_label"].tolist() == [0, 1, 1, 1]
    assert frame["true_label"].dtype == np.int64 and frame["predicted_label"].dtype == np.int64
    # one slice per image: the image probabilities are the slice ones
    slices = pd.read_csv(predictions.source, sep="\t").sort_values("participant_id")
    np.testing.assert_allclose(frame[["proba0", "proba1"]], slices[["proba0", "proba1"]], rtol=0, atol=0)
    # upstream point values of the transposed CI layout
    assert predictions.upstream_metrics["accuracy"] == 0.25
    assert predictions.upstream_metrics["BA"] == 0.5
    assert predictions.upstream_metrics["loss"] == pytest.approx(1.408691167831421)
    assert predictions.metrics_source.name == "test-heldout_image_level_metrics.tsv"
    # upstream accuracy agrees with the rebuilt image level
    assert (frame["true_label"] == frame["predicted_label"]).mean() == predictions.upstream_metrics[
        "accuracy"
    ]


@pytest.mark.parametrize(("group", "n_images"), [("train", 8), ("validation", 4)])
def test_v1_train_and_validation(v1_maps, group, n_images):
    predictions = read_model_predictions(v1_maps, group, split=0, selection_metric="best-loss")
    assert predictions.n_images == n_images
    assert predictions.frame["participant_id"].is_monotonic_increasing
    groups = pd.read_csv(v1_maps / "groups" / group / "split-0" / "data.tsv", sep="\t")
    assert predictions.frame["participant_id"].tolist() == sorted(groups["participant_id"])
    accuracy = (predictions.frame["true_label"] == predictions.frame["predicted_label"]).mean()
    assert accuracy == predictions.upstream_metrics["accuracy"]


def test_v1_defaults_when_one_model(v1_maps):
    assert read_model_predictions(v1_maps, "test-heldout").split == 0
    assert find_models(v1_maps, "test-heldout") == [(0, "loss")]


def test_fold_naming(v1_maps_copy):
    (v1_maps_copy / "split-0").rename(v1_maps_copy / "fold-0")
    predictions = read_model_predictions(v1_maps_copy, "test-heldout", split=0, selection_metric="loss")
    assert "fold-0" in predictions.source.parts
    assert predictions.frame["participant_id"].tolist() == HELDOUT
    assert find_models(v1_maps_copy, "validation") == [(0, "loss")]


# ------------------------------------------------------------------------------------------- upstream 2.0


@pytest.mark.parametrize("selection", ["loss", "final"])
def test_v2_details(v2_maps, selection):
    predictions = read_model_predictions(v2_maps, "heldout", split=0, selection_metric=selection)
    assert predictions.maps_version == "2.0"
    assert predictions.task == "per_image"
    assert predictions.labels == ()
    assert predictions.mode == "image"
    assert predictions.selection_metric == selection
    assert predictions.source.parts[-3:] == (
        "best-loss" if selection == "loss" else "final",
        "metrics",
        "details.tsv",
    )
    assert list(predictions.frame.columns) == ["participant_id", "session_id", "loss"]
    assert predictions.dropped_columns == ("auc",)
    assert predictions.frame["participant_id"].tolist() == ["sub-001", "sub-006", "sub-008", "sub-009"]
    assert predictions.frame["loss"].mean() == pytest.approx(predictions.upstream_metrics["loss"], rel=1e-6)


def test_v2_find_models(v2_maps):
    assert find_models(v2_maps, "heldout") == [(0, "final"), (0, "loss")]
    assert find_models(v2_maps, "heldout", selection_metrics=["final"]) == [(0, "final")]
    with pytest.raises(MAPSError, match="choose one with split= and selection_metric="):
        read_model_predictions(v2_maps, "heldout")


# ------------------------------------------------------------------------------------------- synthetic MAPS


def test_soft_voting_averages_three_slices(make_maps):
    # sub-01: two of three slices vote CN, but the mean probability favours AD
    rows = _slice_rows("sub-01", 0, [(0.9, 0.1), (0.45, 0.55), (0.45, 0.55)])
    rows += _slice_rows("sub-02", 1, [(0.9, 0.1), (0.2, 0.8), (0.1, 0.9)])
    rows = rows[::-1]  # row order must not matter
    maps = make_maps(rows, metrics_text="accuracy\tBA\n1.0\t1.0\n")
    predictions = read_model_predictions(maps, "test", split=0, selection_metric="loss")
    frame = predictions.frame
    assert frame["participant_id"].tolist() == ["sub-01", "sub-02"]
    np.testing.assert_allclose(frame["proba0"], [0.6, 0.4])
    np.testing.assert_allclose(frame["proba1"], [0.4, 0.6])
    assert frame["predicted_label"].tolist() == [0, 1]
    assert frame["true_label"].tolist() == [0, 1]
    assert predictions.upstream_metrics == {"accuracy": 1.0, "BA": 1.0}


def test_several_sessions_are_separate_images(make_maps):
    rows = _slice_rows("sub-01", 0, [(0.8, 0.2), (0.6, 0.4)]) + _slice_rows(
        "sub-01", 1, [(0.3, 0.7)], session="ses-M006"
    )
    predictions = read_model_predictions(make_maps(rows), "test", split=0, selection_metric="loss")
    assert predictions.n_images == 2 and predictions.n_subjects == 1
    np.testing.assert_allclose(predictions.frame["proba0"], [0.7, 0.3])


def test_image_level_file_preferred_when_it_has_ids(make_maps):
    image_rows = [
        {
            "participant_id": "sub-01",
            "session_id": "ses-M000",
            "true_label": 0,
            "predicted_label": 0,
            "proba0": 0.55,
            "proba1": 0.45,
        },
    ]
    rows = _slice_rows("sub-01", 0, [(0.9, 0.1)])
    maps = make_maps(rows, image_rows=image_rows)
    predictions = read_model_predictions(maps, "test", split=0, selection_metric="loss")
    assert predictions.source.name == "test_image_level_prediction.tsv"
    assert predictions.mode == "slice"
    assert predictions.frame["proba0"].tolist() == [0.55]


def test_image_level_file_without_ids_and_no_mode_file(make_maps):
    image_rows = [{"image_id": 0, "true_label": 0, "predicted_label": 0, "proba0": 0.6, "proba1": 0.4}]
    maps = make_maps(None, image_rows=image_rows)
    with pytest.raises(InputError, match=r"test_image_level_prediction\.tsv lacks participant_id"):
        read_model_predictions(maps, "test", split=0, selection_metric="loss")


def test_no_prediction_file(make_maps):
    maps = make_maps(None)
    with pytest.raises(MAPSError, match=r"expected test_image_level_prediction\.tsv or test_slice_level"):
        read_model_predictions(maps, "test", split=0, selection_metric="loss")


def test_regression_mean_per_image(make_maps):
    rows = [
        {
            "participant_id": "sub-01",
            "session_id": "ses-M000",
            "patch_id": k,
            "true_label": 70.0,
            "predicted_label": value,
        }
        for k, value in enumerate([68.0, 71.0, 74.0])
    ]
    predictions = read_model_predictions(
        make_maps(rows, mode="patch", task="regression"), "test", split=0, selection_metric="loss"
    )
    assert predictions.task == "regression" and predictions.labels == () and predictions.mode == "patch"
    assert predictions.frame[["true_label", "predicted_label"]].to_numpy().tolist() == [[70.0, 71.0]]


def test_reconstruction_is_per_image(make_maps):
    rows = [
        {
            "participant_id": "sub-01",
            "session_id": "ses-M000",
            "image_id": 0,
            "MAE": 0.1,
            "RMSE": 0.2,
            "PSNR": 30.0,
            "SSIM": 0.9,
        },
        {
            "participant_id": "sub-02",
            "session_id": "ses-M000",
            "image_id": 0,
            "MAE": 0.3,
            "RMSE": 0.4,
            "PSNR": 25.0,
            "SSIM": 0.8,
        },
    ]
    predictions = read_model_predictions(
        make_maps(rows, mode="image", task="reconstruction"), "test", split=0, selection_metric="loss"
    )
    assert predictions.task == "per_image"
    assert predictions.value_columns == ("MAE", "RMSE", "PSNR", "SSIM")


def test_three_classes_generic_labels(make_maps):
    rows = [
        {
            "participant_id": f"sub-{i}",
            "session_id": "ses-M000",
            "image_id": 0,
            "true_label": i % 3,
            "predicted_label": 0,
            "proba0": 0.5,
            "proba1": 0.3,
            "proba2": 0.2,
        }
        for i in range(3)
    ]
    maps = make_maps(rows, mode="image", label_code={})
    predictions = read_model_predictions(maps, "test", split=0, selection_metric="loss")
    assert predictions.labels == ("0", "1", "2")
    assert predictions.probability_columns == ("proba0", "proba1", "proba2")


def test_label_code_size_must_match(make_maps):
    rows = _slice_rows("sub-01", 0, [(0.9, 0.1)])
    maps = make_maps(rows, label_code={"AD": 0, "CN": 1, "MCI": 2})
    with pytest.raises(InputError, match="label_code names 3 classes"):
        read_model_predictions(maps, "test", split=0, selection_metric="loss")


# ------------------------------------------------------------------------------------------- MAPS errors


def test_unknown_group_lists_available(v1_maps):
    with pytest.raises(MAPSError, match=r"'nope'.*available data groups: test-heldout, train, validation"):
        read_model_predictions(v1_maps, "nope", split=0, selection_metric="loss")
    with pytest.raises(MAPSError, match=r"available data groups: test-heldout, train, validation"):
        find_models(v1_maps, "nope")


def test_unknown_split_and_metric_list_available(v1_maps):
    with pytest.raises(MAPSError, match=r"split 3 not found.*available splits: 0"):
        read_model_predictions(v1_maps, "test-heldout", split=3, selection_metric="loss")
    with pytest.raises(MAPSError, match=r"'BA' not found.*available selection metrics: loss"):
        read_model_predictions(v1_maps, "test-heldout", split=0, selection_metric="BA")
    with pytest.raises(MAPSError, match=r"splits 2 not found"):
        find_models(v1_maps, "test-heldout", splits=[2])
    with pytest.raises(MAPSError, match=r"selection metrics BA have no predictions"):
        find_models(v1_maps, "test-heldout", selection_metrics=["BA"])


def test_not_a_maps(tmp_path):
    with pytest.raises(MAPSError, match=r"expected maps\.json .*model\.json \+ training/"):
        read_model_predictions(tmp_path, "test", split=0, selection_metric="loss")


# ------------------------------------------------------------------------------------------- bare TSVs


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_bare_tsv_classification(tmp_path):
    path = _write(
        tmp_path / "pred.tsv",
        "participant_id\tsession_id\ttrue_label\tpredicted_label\tproba0\tproba1\n"
        "sub-02\tses-M000\t1\t1\t0.2\t0.8\n"
        "sub-01\tses-M000\t0\t0\t0.7\t0.3\n",
    )
    predictions = read_prediction_tsv(path)
    assert predictions.task == "classification" and predictions.mode == "image"
    assert predictions.labels == ("0", "1")
    assert (
        predictions.maps_version is None and predictions.split is None and predictions.upstream_metrics == {}
    )
    assert predictions.frame["participant_id"].tolist() == ["sub-01", "sub-02"]


def test_bare_tsv_slices_regression_and_values(tmp_path):
    slices = _write(
        tmp_path / "slices.tsv",
        "participant_id\tsession_id\tslice_id\ttrue_label\tpredicted_label\tproba0\tproba1\n"
        "sub-01\tses-M000\t0\t1\t1\t0.2\t0.8\n"
        "sub-01\tses-M000\t1\t1\t1\t0.4\t0.6\n",
    )
    predictions = read_prediction_tsv(slices)
    assert predictions.mode == "slice" and predictions.n_images == 1
    np.testing.assert_allclose(predictions.frame["proba1"], [0.7])
    regression = _write(
        tmp_path / "age.tsv",
        "participant_id\tsession_id\ttrue_label\tpredicted_label\ns1\tses-M000\t70\t72.5\n",
    )
    assert read_prediction_tsv(regression).task == "regression"
    values = _write(
        tmp_path / "v.tsv", "participant_id\tsession_id\tepoch\tloss\tauc\ns1\tses-M000\t1\t0.5\t\n"
    )
    predictions = read_prediction_tsv(values)
    assert predictions.task == "per_image" and predictions.value_columns == ("loss",)
    assert predictions.dropped_columns == ("auc",)


def test_session_ids_stay_strings(tmp_path):
    path = _write(
        tmp_path / "p.tsv", "participant_id\tsession_id\ttrue_label\tpredicted_label\n001\t0\t1\t2\n"
    )
    frame = read_prediction_tsv(path).frame
    assert frame.loc[0, "participant_id"] == "001" and frame.loc[0, "session_id"] == "0"


HEADER = "participant_id\tsession_id\ttrue_label\tpredicted_label\tproba0\tproba1\n"

BAD_INPUTS = {
    "empty file": ("", InputError, "is empty"),
    "header only": (HEADER, InputError, "has a header but no rows"),
    "missing ids": (
        "true_label\tpredicted_label\tproba0\tproba1\n0\t0\t0.6\t0.4\n",
        InputError,
        r"lacks the required columns participant_id, session_id \(found: true_label, predicted_label",
    ),
    "missing label": (
        "participant_id\tsession_id\tproba0\tproba1\ns1\tses-M000\t0.6\t0.4\n",
        InputError,
        "lacks the required columns true_label, predicted_label",
    ),
    "empty session": (HEADER + "s1\t\t0\t0\t0.6\t0.4\n", InputError, "empty participant_id or session_id"),
    "NaN label": (HEADER + "s1\tses-M000\t\t0\t0.6\t0.4\n", InputError, r"'true_label' has 1 NaN"),
    "NaN probability": (HEADER + "s1\tses-M000\t0\t0\tNaN\t0.4\n", InputError, r"'proba0' has 1 NaN"),
    "probability above 1": (HEADER + "s1\tses-M000\t0\t0\t1.5\t-0.5\n", InputError, r"outside \[0, 1\]"),
    "probabilities not summing to 1": (
        HEADER + "s1\tses-M000\t0\t0\t0.6\t0.5\n",
        InputError,
        "do not sum to 1",
    ),
    "non-numeric probability": (HEADER + "s1\tses-M000\t0\t0\tabc\t0.4\n", InputError, "non-numeric"),
    "label not a class code": (HEADER + "s1\tses-M000\t2\t0\t0.6\t0.4\n", InputError, "not class codes 0..1"),
    "duplicate image": (
        HEADER + "s1\tses-M000\t0\t0\t0.6\t0.4\ns1\tses-M000\t0\t0\t0.6\t0.4\n",
        InputError,
        "repeat an image",
    ),
    "duplicate slice": (
        "participant_id\tsession_id\tslice_id\ttrue_label\tpredicted_label\tproba0\tproba1\n"
        "s1\tses-M000\t0\t0\t0\t0.6\t0.4\ns1\tses-M000\t0\t0\t0\t0.6\t0.4\n",
        InputError,
        "keep one row per slice",
    ),
    "label varying within an image": (
        "participant_id\tsession_id\tslice_id\ttrue_label\tpredicted_label\tproba0\tproba1\n"
        "s1\tses-M000\t0\t0\t0\t0.6\t0.4\ns1\tses-M000\t1\t1\t0\t0.6\t0.4\n",
        InputError,
        "true_label differs",
    ),
    "NaN regression prediction": (
        "participant_id\tsession_id\ttrue_label\tpredicted_label\ns1\tses-M000\t70\tNaN\n",
        InputError,
        r"'predicted_label' has 1 NaN",
    ),
    "gap in probability columns": (
        "participant_id\tsession_id\ttrue_label\tpredicted_label\tproba0\tproba2\ns1\tses-M000\t0\t0\t0.6\t0.4\n",
        InputError,
        "without gaps",
    ),
    "no value column": (
        "participant_id\tsession_id\ns1\tses-M000\n",
        InputError,
        "no prediction or per-image",
    ),
    "all-empty values": (
        "participant_id\tsession_id\tauc\ns1\tses-M000\t\n",
        InputError,
        "hold no finite value",
    ),
    "not a table": ("a\tb\n1\t2\n1\t2\t3\t4\n", InputError, "not a readable tab-separated table"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_bare_tsv(tmp_path, case):
    text, error, message = BAD_INPUTS[case]
    path = _write(tmp_path / "bad_prediction.tsv", text)
    with pytest.raises(error, match=message) as info:
        read_prediction_tsv(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_bare_tsv(tmp_path):
    with pytest.raises(InputError, match=re.escape(str(tmp_path / "absent.tsv")) + " not found"):
        read_prediction_tsv(tmp_path / "absent.tsv")


def test_bad_file_inside_maps_is_named(make_maps):
    rows = _slice_rows("sub-01", 0, [(0.9, 0.1), (0.5, 0.6)])
    maps = make_maps(rows)
    with pytest.raises(InputError, match=r"test_slice_level_prediction\.tsv: 1 rows have probabilities"):
        read_model_predictions(maps, "test", split=0, selection_metric="loss")


def test_v2_missing_details(v2_maps, tmp_path):
    copy = tmp_path / "maps20"
    shutil.copytree(v2_maps, copy, ignore=shutil.ignore_patterns("*.pt"))
    (copy / "test/group-heldout/results/split-0/final/metrics/details.tsv").unlink()
    with pytest.raises(MAPSError, match=r"details\.tsv not found"):
        read_model_predictions(copy, "heldout", split=0, selection_metric="final")
    assert find_models(copy, "heldout") == [(0, "loss")]
