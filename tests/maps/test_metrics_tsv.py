"""Upstream metrics TSVs: wide and transposed (1.6 CI) layouts."""

from __future__ import annotations

import math

import pytest

from clinicadl.errors import InputError
from clinicadl.maps import read_metrics_table, read_metrics_tsv


def test_transposed_fixture(v1_maps):
    path = v1_maps / "split-0/best-loss/test-heldout/test-heldout_slice_level_metrics.tsv"
    values = read_metrics_tsv(path)
    assert list(values)[:3] == ["BA", "accuracy", "F1_score"]
    assert values["accuracy"] == 0.25 and values["MCC"] == 0.0
    table = read_metrics_table(path)
    assert list(table.index) == ["Values", "Lower bound CI", "Upper bound CI", "SE"]
    assert math.isnan(table.loc["SE", "loss"])  # N/A
    assert table.loc["Upper bound CI", "accuracy"] == 0.75


def test_transposed_with_empty_cells(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text(
        "Metrics\tBA\tloss\nValues\t0.5\t1.2\nLower bound CI\t0.1\t\nUpper bound CI\t0.9\t\nSE\t0.2\t\n"
    )
    assert read_metrics_tsv(path) == {"BA": 0.5, "loss": 1.2}
    assert math.isnan(read_metrics_table(path).loc["Lower bound CI", "loss"])


def test_wide(tmp_path, v2_maps):
    path = tmp_path / "m.tsv"
    path.write_text("BA\taccuracy\tloss\n0.75\t0.8\tN/A\n")
    values = read_metrics_tsv(path)
    assert values["BA"] == 0.75 and values["accuracy"] == 0.8 and math.isnan(values["loss"])
    indexed = tmp_path / "indexed.tsv"
    indexed.write_text("\tBA\tloss\n0\t0.75\t0.3\n")  # pandas index written by older versions
    assert read_metrics_tsv(indexed) == {"BA": 0.75, "loss": 0.3}
    aggregated = v2_maps / "test/group-heldout/results/split-0/best-loss/metrics/aggregated.tsv"
    assert read_metrics_tsv(aggregated) == pytest.approx({"loss": 0.3306156659964472, "auc": 1.0})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("BA\tloss\n", "has a header but no rows"),
        ("BA\tloss\n0.5\t1\n0.6\t2\n", "has 2 rows, expected one row"),
        ("Metrics\tBA\nSE\t0.1\n", "no 'Values' row"),
        ("BA\tloss\nhigh\t1\n", "holds 'high', not a number"),
    ],
)
def test_bad_metrics(tmp_path, text, message):
    path = tmp_path / "bad_metrics.tsv"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        read_metrics_tsv(path)
    assert str(path) in str(info.value)
