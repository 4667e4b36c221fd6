"""Fixtures shared by the training tests."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture
def fake(monkeypatch):
    """The module of the fake trainer (tests/training/test_replicates.py), its failure switches off."""
    monkeypatch.syspath_prepend(str(HERE))
    for variable in ("FAKE_FAIL", "FAKE_SLOW", "FAKE_CRASH"):
        monkeypatch.delenv(variable, raising=False)
    return importlib.import_module("test_replicates")
