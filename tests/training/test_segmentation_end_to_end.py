"""Segmentation end to end: generate lesions -> prepare-data -> train segmentation (3 replicates) -> predict ->
evaluate model (mean and median Dice with intervals) -> evaluate procedure; and a Decathlon folder read end to end.

The command line runs in this process (click's runner) to keep the test fast; every step is the real command.
"""

from __future__ import annotations

import json
import math

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow

TRAIN = ["-a", "TinyUNet3D", "--no-gpu", "-np", "0", "-b", "2", "-lr", "0.03", "--deterministic"]


def run(*args):
    from clinicadl.cli.main import cli

    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def lesion_caps(tmp_path_factory):
    root = tmp_path_factory.mktemp("segmentation")
    caps = root / "caps"
    run("generate", "lesions", caps, "--n_subjects", 16, "--resolution", 8, "--lesion_radius", 5, 9,
        "--lesion_load", 10, 30, "--contrast", 0.6, "--seed", 0)
    run("tsvtools", "split", caps / "data.tsv", "--subset_name", "test", "--n_test", 6, "--seed", 0,
        "--ignore_demographics")
    run("tsvtools", "split", caps / "split" / "train.tsv", "--subset_name", "validation", "--n_test", 2, "--seed", 0,
        "--ignore_demographics")
    run("prepare-data", "image", caps, "t1-linear", "--extract_json", "image.json")
    return {"root": root, "caps": caps, "tsv": caps / "split" / "split", "test": caps / "split" / "test_baseline.tsv"}


def test_lesions_three_replicates_predict_evaluate_model_and_procedure(lesion_caps):
    root, caps = lesion_caps["root"], lesion_caps["caps"]
    maps = root / "maps"
    run("train", "segmentation", caps, "image.json", lesion_caps["tsv"], maps, *TRAIN, "--epochs", 7,
        "-sm", "Dice", "--replicates", 3, "--root_seed", 1)
    parameters = json.loads((maps / "replicate-0" / "maps.json").read_text())
    assert parameters["network_task"] == "segmentation" and parameters["output_size"] == 2
    log = pd.read_csv(maps / "replicate-0" / "split-0" / "training_logs" / "training.tsv", sep="\t")
    assert list(log.columns[3:8]) == ["Dice_train", "IoU_train", "HD95_train", "NSD_train", "loss_train"]
    assert log["loss_train"].iloc[-1] < log["loss_train"].iloc[0]

    run("predict", maps, "test", "--participants_tsv", lesion_caps["test"], "--no-gpu", "--n_resamples", 500)
    folder = maps / "replicate-0" / "split-0" / "best-Dice" / "test"
    predictions = pd.read_csv(folder / "test_image_level_prediction.tsv", sep="\t")
    assert list(predictions.columns) == ["participant_id", "session_id", "image_id", "Dice", "IoU", "HD95", "NSD"]
    assert len(predictions) == 6 and predictions["Dice"].between(0, 1).all()

    # evaluate model: mean and median Dice with participant-level intervals
    output = root / "model.tsv"
    run("evaluate", "model", maps / "replicate-0", "test", "--n_resamples", 500, "-sm", "Dice", "-o", output)
    table = pd.read_csv(output, sep="\t").set_index("metric")
    assert {"Dice", "Dice_median", "IoU", "IoU_median", "NSD", "NSD_median"} <= set(table.index)
    for metric, row in table.iterrows():  # HD95 is left out where every image has an empty mask (NaN)
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"] or math.isnan(row["estimate"]), metric
    assert table.loc["Dice", "estimate"] == pytest.approx(predictions["Dice"].mean())
    assert table.loc["Dice_median", "estimate"] == pytest.approx(predictions["Dice"].median())
    assert table.loc["Dice", "n_subjects"] == 6
    analytic = run("evaluate", "model", maps / "replicate-0", "test", "--n_resamples", 500, "-sm", "Dice",
                   "--ci_method", "analytic", "-o", root / "analytic.tsv")
    methods = pd.read_csv(root / "analytic.tsv", sep="\t").set_index("metric")["method"]
    # t-interval for the mean, order-statistic interval for the median (6 participants: coverage 1 - 2 / 2^6)
    assert methods["Dice"] == "t" and "order" in methods["Dice_median"], analytic

    # evaluate procedure over the 3 replicates
    run("evaluate", "procedure", maps, "test", "-sm", "Dice", "-m", "Dice", "--n_resamples", 500)
    evaluation = maps / "evaluation" / "test"
    models = pd.read_csv(evaluation / "procedure_models.tsv", sep="\t")
    assert len(models[models["metric"] == "Dice"]) == 3
    expected = pd.read_csv(evaluation / "procedure_expected.tsv", sep="\t")
    assert (expected["metric"] == "Dice").any()


def write_decathlon(root, n_cases=8):
    rng = np.random.default_rng(1)
    training = []
    for i in range(n_cases):
        label = np.zeros((16, 16, 12), dtype=np.uint8)
        x = 3 + i % 5
        label[x:x + 5, 4:10, 3:8] = 1
        label[x + 1:x + 3, 6:8, 4:6] = 2
        image = (rng.normal(0, 0.2, label.shape) + label).astype(np.float32)
        for kind, data in (("imagesTr", image), ("labelsTr", label)):
            path = root / kind / f"toy_{i}.nii.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            nib.save(nib.Nifti1Image(data, np.diag([1.5, 1.5, 2.0, 1.0])), path)
        training.append({"image": f"./imagesTr/toy_{i}.nii.gz", "label": f"./labelsTr/toy_{i}.nii.gz"})
    (root / "dataset.json").write_text(json.dumps({
        "name": "Toy", "modality": {"0": "MRI"}, "labels": {"0": "background", "1": "lesion", "2": "core"},
        "training": training, "test": []}))
    return root


def test_decathlon_folder_end_to_end(tmp_path):
    from clinicadl.data.decathlon import decathlon_to_caps

    caps = tmp_path / "caps"
    data_tsv = decathlon_to_caps(write_decathlon(tmp_path / "Task99_Toy"), caps)
    run("tsvtools", "split", data_tsv, "--subset_name", "test", "--n_test", 2, "--seed", 0, "--ignore_demographics")
    run("tsvtools", "split", caps / "split" / "train.tsv", "--subset_name", "validation", "--n_test", 2,
        "--seed", 0, "--ignore_demographics")
    run("prepare-data", "image", caps, "custom", "--custom_suffix", "image.nii.gz", "--extract_json", "image.json")
    maps = tmp_path / "maps"
    run("train", "segmentation", caps, "image.json", caps / "split" / "split", maps, *TRAIN, "--epochs", 2,
        "--n_labels", 2, "--nsd_tolerance", 2.0)
    run("predict", maps, "test", "--participants_tsv", caps / "split" / "test_baseline.tsv", "--no-gpu",
        "--save_masks", "--n_resamples", 200)
    folder = maps / "split-0" / "best-loss" / "test"
    table = pd.read_csv(folder / "test_image_level_prediction.tsv", sep="\t")
    assert {"Dice", "Dice_label1", "Dice_label2", "HD95_label2", "NSD_label1"} <= set(table.columns)
    masks = sorted((folder / "masks").glob("*_pred_dseg.nii.gz"))
    assert len(masks) == 2
    predicted = nib.load(masks[0])
    assert predicted.shape == (16, 16, 12) and np.allclose(predicted.affine, np.diag([1.5, 1.5, 2.0, 1.0]))
    assert set(np.unique(np.asarray(predicted.dataobj))) <= {0, 1, 2}


def test_derived_lesion_label_trains_a_monai_classifier(lesion_caps):
    """The lesion CAPS also serves classification: diagnosis high_load / low_load, a MONAI DenseNet."""
    maps = lesion_caps["root"] / "maps_classification"
    run("train", "classification", lesion_caps["caps"], "image.json", lesion_caps["tsv"], maps, "-a", "DenseNet3D",
        "-d", "high_load", "-d", "low_load", "--epochs", 1, "--no-gpu", "-np", 0, "-b", 4)
    parameters = json.loads((maps / "maps.json").read_text())
    assert parameters["label_code"] == {"high_load": 0, "low_load": 1}
    predictions = pd.read_csv(maps / "split-0" / "best-loss" / "validation" /
                              "validation_image_level_prediction.tsv", sep="\t")
    assert {"proba0", "proba1"} <= set(predictions.columns)
