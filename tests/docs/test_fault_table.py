"""Every row of the fault-injection table (docs/fault-injection.md) names a test that exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_row_names_an_existing_test():
    rows = [line for line in (ROOT / "docs" / "fault-injection.md").read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| Fault") and not line.startswith("| ---")]
    assert len(rows) >= 40
    for row in rows:
        match = re.search(r"`T/([\w/]+\.py)::(\w+)(?:\[([^\]]+)\])?`", row)
        assert match, f"no test named in: {row}"
        path, name, parameter = match.groups()
        source = (ROOT / "tests" / path).read_text()
        assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{path}::{name} does not exist"
        if parameter:
            assert f'"{parameter}"' in source, f"{path}::{name}[{parameter}] does not exist"
