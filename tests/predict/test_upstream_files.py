"""Our ``predict`` writes ClinicaDL 1.6.1's files: the fixture MAPS re-predicted on its own data gives its metrics.

The oracle is the MAPS written by ClinicaDL 1.6.1 (../shared/fixtures/upstream/v1_clinicadl_1.6.1): the same model,
the same CAPS and the same batch size give the same layout of ``<group>_<level>_level_metrics.tsv`` (``Metrics``
column, rows ``Values``, ``Lower bound CI``, ``Upper bound CI``, ``SE``), the same metric columns, and the same
values, the loss included (upstream adds the mean loss of each batch: 1.4087 for 4 images in 2 batches).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "upstream" / "v1_clinicadl_1.6.1"
CI_ROWS = ["Values", "Lower bound CI", "Upper bound CI", "SE"]


@pytest.fixture(scope="module")
def repredicted(tmp_path_factory):
    if not ROOT.is_dir():
        pytest.skip("upstream fixture not available")
    from clinicadl.predict.predict import predict

    maps = tmp_path_factory.mktemp("upstream") / "maps"
    shutil.copytree(ROOT / "maps", maps)
    for path in maps.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)  # the MAPS records caps_sl relative to this folder
        predict(maps, "again", participants_tsv=ROOT / "labels" / "split" / "test_baseline.tsv", gpu=False,
                n_proc=1, progress=False)
    return maps / "split-0" / "best-loss"


def test_predictions_are_upstream_s(repredicted):
    """Same weights, same data: upstream's probabilities, labels and slice ids."""
    ours = pd.read_csv(repredicted / "again" / "again_slice_level_prediction.tsv", sep="\t")
    theirs = pd.read_csv(repredicted / "test-heldout" / "test-heldout_slice_level_prediction.tsv", sep="\t")
    assert list(ours.columns) == list(theirs.columns)
    assert (ours[["participant_id", "slice_id", "predicted_label"]] ==
            theirs[["participant_id", "slice_id", "predicted_label"]]).all().all()
    assert (ours[["proba0", "proba1"]] - theirs[["proba0", "proba1"]]).abs().to_numpy().max() < 1e-6


@pytest.mark.parametrize("level", ["slice", "image"])
def test_metrics_tsv_has_the_layout_and_values_of_upstream(repredicted, level):
    from clinicadl.maps import read_metrics_table

    ours_path = repredicted / "again" / f"again_{level}_level_metrics.tsv"
    theirs_path = repredicted / "test-heldout" / f"test-heldout_{level}_level_metrics.tsv"
    ours, theirs = pd.read_csv(ours_path, sep="\t"), pd.read_csv(theirs_path, sep="\t")
    assert list(ours.columns) == list(theirs.columns)
    assert list(ours["Metrics"]) == list(theirs["Metrics"]) == CI_ROWS
    values = read_metrics_table(ours_path).loc["Values"]
    expected = read_metrics_table(theirs_path).loc["Values"]
    assert math.isclose(values["loss"], expected["loss"], rel_tol=1e-5)  # 1.40869: the sum of 2 batch means
    # every image is predicted AD (code 0, the positive class) and no CN is: NPV = TN / (TN + FN) and MCC are 0/0,
    # LR_minus = (1 - sensitivity) / specificity = 0/0, MK = PPV + NPV - 1. Undefined is NaN here, where upstream
    # writes 0 (and MK = PPV - 1): docs/upstream-parity.md, differences.
    prediction = pd.read_csv(repredicted / "again" / f"again_{level}_level_prediction.tsv", sep="\t")
    assert (prediction["predicted_label"] == 0).all() and values["specificity"] == 0
    undefined = {"NPV", "MCC", "LR_minus", "MK"}
    assert {m for m, v in values.items() if math.isnan(v)} == undefined
    assert expected[["NPV", "MCC", "LR_minus"]].tolist() == [0, 0, 0]
    assert math.isclose(expected["MK"], expected["PPV"] - 1)
    for metric, value in values.drop(list(undefined)).items():
        assert math.isclose(value, expected[metric], rel_tol=1e-6, abs_tol=1e-9), metric


def test_loss_is_the_sum_of_the_batch_means_of_the_prediction_file(repredicted):
    """The loss recomputed from upstream's own probabilities: batches of 2 in file order, mean within, summed."""
    from clinicadl.maps import read_metrics_tsv

    frame = pd.read_csv(repredicted / "test-heldout" / "test-heldout_slice_level_prediction.tsv", sep="\t")
    truth = frame[["proba0", "proba1"]].to_numpy()[range(len(frame)), frame["true_label"].to_numpy()]
    losses = -pd.Series(truth).map(math.log)
    batch_means = losses.groupby(losses.index // 2).mean()
    ours = read_metrics_tsv(repredicted / "again" / "again_slice_level_metrics.tsv")["loss"]
    assert math.isclose(ours, batch_means.sum(), rel_tol=1e-5)
    assert not math.isclose(ours, losses.mean(), rel_tol=0.1)  # not the mean per image (half of it here)


def test_validation_group_is_predicted_again_with_upstream_s_values(repredicted):
    """The training group ``validation`` predicted again (--overwrite): 1.6.1's values, its loss included."""
    from clinicadl.maps import read_metrics_tsv
    from clinicadl.predict.predict import predict

    path = repredicted / "validation" / "validation_slice_level_metrics.tsv"
    expected = read_metrics_tsv(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        predict(repredicted.parents[1], "validation", overwrite=True, gpu=False, n_proc=1, progress=False)
    values = read_metrics_tsv(path)
    assert math.isclose(values["loss"], expected["loss"], rel_tol=1e-5)  # 1.36522
    for metric in ("BA", "accuracy", "F1_score", "sensitivity", "specificity", "PPV"):
        assert math.isclose(values[metric], expected[metric], abs_tol=1e-9), metric
