"""Keeping freed CPU memory for the next step (glibc ``mallopt``): set once, never against the user's settings."""

from __future__ import annotations

import platform

import pytest

from clinicadl.runtime.allocator import keep_freed_memory


@pytest.fixture(autouse=True)
def _fresh():
    keep_freed_memory.cache_clear()
    yield
    keep_freed_memory.cache_clear()


def test_the_users_malloc_settings_are_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert keep_freed_memory() is False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt thresholds are glibc's")
def test_glibc_accepts_the_thresholds(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert keep_freed_memory() is True
