"""Fault injection for the tests (importable: ``import faults``): a read-only folder and a full disk.

A read-only folder is a read-only tmpfs where the tests run as root (root ignores permission bits), else a
folder with mode 0o555. A full disk is a small tmpfs, only where the tests run as root (and may mount);
elsewhere the test is skipped cleanly.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _mount(folder: Path, options: str) -> bool:
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    return result.returncode == 0


def _umount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@contextlib.contextmanager
def read_only_folder(folder: Path, files: dict[str, str] | None = None) -> Iterator[Path]:
    """``folder`` made read-only, holding ``files`` (name -> text) written before."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        if not _mount(folder, "size=4m"):
            pytest.skip("cannot mount a tmpfs here (a read-only folder needs one when running as root)")
        try:
            for name, text in (files or {}).items():
                (folder / name).write_text(text)
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, capture_output=True)
            yield folder
        finally:
            _umount(folder)
        return
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)


@contextlib.contextmanager
def full_disk(folder: Path, *, size_kb: int = 256, free_kb: int = 8) -> Iterator[Path]:
    """``folder`` on a tmpfs of ``size_kb`` with only about ``free_kb`` left (root only; skipped elsewhere)."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a small tmpfs, which needs root")
    folder.mkdir(parents=True, exist_ok=True)
    if not _mount(folder, f"size={size_kb}k"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        filler = folder / ".filler"
        with open(filler, "wb") as stream:
            try:
                stream.write(b"\0" * ((size_kb - free_kb) * 1024))
            except OSError:
                pass
        yield folder
    finally:
        _umount(folder)


def run_clinicadl(*arguments, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m clinicadl ARGUMENTS`` in a subprocess (a real process, real exit status)."""
    return subprocess.run([sys.executable, "-m", "clinicadl", *map(str, arguments)], capture_output=True, text=True,
                          cwd=cwd or ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
