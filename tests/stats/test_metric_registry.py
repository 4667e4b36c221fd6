"""Every fact about a metric comes from the one registry of clinicadl.stats.metrics."""

from __future__ import annotations

import pytest

from clinicadl.errors import InputError
from clinicadl.stats.metrics import (
    METRICS,
    PER_IMAGE_METRICS,
    PerImageMetric,
    display_name,
    headline_metrics,
    higher_is_better,
    interval_methods,
    lower_is_better_names,
    metric_bounds,
    metric_entry,
    per_image_metrics,
    register_metric,
    unregister_metric,
)
from clinicadl.stats.segmentation_metrics import SEGMENTATION_METRICS, dice


@pytest.mark.parametrize("name", ["MAE", "RMSE", "MSE", "LR_minus", "loss", "HD95", "HD95_median", "LR_minus-2",
                                  "MAE_median"])
def test_lower_is_better(name):
    assert not higher_is_better(name)


@pytest.mark.parametrize("name", ["BA", "AUC", "Dice", "SSIM_median", "MS-SSIM", "sensitivity-1", "R2_score",
                                  "unknown-metric"])
def test_higher_is_better(name):
    assert higher_is_better(name)


def test_training_and_evaluation_agree_on_the_direction():
    from clinicadl.training.config import LOWER_IS_BETTER

    assert LOWER_IS_BETTER == lower_is_better_names() >= {"MSE", "MAE", "RMSE", "LR_minus", "loss", "HD95"}


def test_bounds_display_names_and_headline():
    assert metric_bounds("Dice_median") == (0.0, 1.0) and metric_bounds("HD95") is None
    assert metric_bounds("MCC-1") == (-1.0, 1.0) and metric_bounds("SSIM", per_image=False) is None
    assert display_name("PPV-2") == "positive predictive value (class 2)" and display_name("foo") == "foo"
    assert headline_metrics() == ("BA", "AUC", "MAE", "R2_score", "Dice", "HD95", "SSIM")
    assert per_image_metrics("segmentation") == (*SEGMENTATION_METRICS, "loss")
    assert metric_entry("Dice").function is dice and metric_entry("Dice", per_image=False) is None


def test_interval_methods():
    assert interval_methods("accuracy")[:4] == ("percentile", "basic", "bca", "analytic")
    assert "wilson" in interval_methods("sensitivity") and "analytic" not in interval_methods("MCC")
    assert interval_methods("Dice_median") == interval_methods("median") and interval_methods("nope") == ()


def test_register_a_per_image_value():
    entry = PerImageMetric("toy_distance", ("segmentation",), None, higher_is_better=False, display="toy distance")
    register_metric(entry)
    try:
        assert not higher_is_better("toy_distance_median") and display_name("toy_distance") == "toy distance"
        assert "toy_distance" in per_image_metrics("segmentation") and "toy_distance" in lower_is_better_names()
        with pytest.raises(InputError, match="already registered"):
            register_metric(entry)
    finally:
        assert unregister_metric("toy_distance", per_image=True) is entry
    assert "toy_distance" not in PER_IMAGE_METRICS and "toy_distance" not in METRICS
