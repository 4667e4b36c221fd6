"""Parameters of ``train segmentation``: defaults, checks, and the keys resolved from the inputs."""

from __future__ import annotations

import pytest

from clinicadl.errors import InputError
from clinicadl.training.config import LOWER_IS_BETTER, load_config, task_metrics


def test_segmentation_metrics_and_defaults():
    assert task_metrics("segmentation") == ("Dice", "IoU", "HD95", "NSD", "loss")
    assert "HD95" in LOWER_IS_BETTER and "Dice" not in LOWER_IS_BETTER
    parameters = load_config("segmentation", {"n_labels": 2, "selection_metrics": ("Dice", "HD95")})
    assert parameters["n_labels"] == 2 and parameters["nsd_tolerance"] == 1.0
    assert parameters["selection_metrics"] == ["Dice", "HD95"]


@pytest.mark.parametrize(("options", "match"), [
    ({"n_labels": 0}, "n_labels"),
    ({"nsd_tolerance": -1.0}, "nsd_tolerance"),
    ({"mask_pattern": "masks/*.nii.gz"}, "mask_pattern"),
    ({"loss": "MSELoss"}, "loss"),
    ({"selection_metrics": ("BA",)}, "Unknown selection metric"),
])
def test_bad_segmentation_options(options, match):
    with pytest.raises(InputError, match=match):
        load_config("segmentation", options)


def test_segmentation_needs_image_mode(tmp_path):
    from clinicadl.training.config import resolve_parameters

    parameters = load_config("segmentation", {"architecture": "TinyUNet3D"})
    slices = {"preprocessing": "t1-linear", "mode": "slice", "use_uncropped_image": False, "prepare_dl": False,
              "extract_json": "slice.json", "slice_direction": 0, "slice_mode": "single", "discarded_slices": [0],
              "file_type": {"pattern": "*_T1w.nii.gz", "description": "T1", "needed_pipeline": "t1-linear"}}
    (tmp_path / "caps" / "subjects").mkdir(parents=True)
    with pytest.raises(InputError, match="Segmentation trains on whole images"):
        resolve_parameters(parameters, network_task="segmentation", caps_directory=tmp_path / "caps",
                           preprocessing_json=slices, tsv_directory=tmp_path)
