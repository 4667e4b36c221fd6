"""Shared fixtures: paths of the upstream MAPS (skipped cleanly when ../shared is absent) and example files."""

import os
from pathlib import Path

import pytest

# figures drawn before a command returns, also when pytest runs at a terminal with -s (tests of the background
# mode set it themselves)
os.environ.setdefault("CLINICADL_FIGURES", "now")

UPSTREAM = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "upstream"
EXAMPLES = Path(__file__).resolve().parents[1] / "clinicadl" / "examples"


@pytest.fixture
def upstream() -> Path:
    if not UPSTREAM.is_dir():
        pytest.skip("the upstream fixtures (../shared/fixtures/upstream) are not available")
    return UPSTREAM


@pytest.fixture
def example_tsv() -> Path:
    return EXAMPLES / "predictions.tsv"


@pytest.fixture
def example_tsv_b() -> Path:
    return EXAMPLES / "predictions_model_b.tsv"
