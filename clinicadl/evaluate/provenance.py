"""What a results file needs to be reproduced exactly: command, version, inputs, options, date."""

from __future__ import annotations

import hashlib
import platform
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import clinicadl


def file_digest(path: Path) -> str:
    """SHA-256 of a file, to tell later whether the input changed."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def provenance(inputs: Iterable[Path], options: Mapping) -> dict:
    """The JSON sidecar of a results file."""
    return {
        "command": " ".join(["clinicadl", *sys.argv[1:]]) if Path(sys.argv[0]).name == "clinicadl" else None,
        "clinicadl_version": clinicadl.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "inputs": [{"path": str(Path(p).resolve()), "sha256": file_digest(p)} for p in inputs],
        "options": dict(options),
    }
