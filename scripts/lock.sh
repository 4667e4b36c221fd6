#!/usr/bin/env bash
# Regenerate poetry.lock without writing any registry address into the repository.
#
# Why: `poetry lock` against the default registry may fail where that registry only serves the
# simple index (PEP 503) and not the per-version JSON API. So we lock a temporary copy of the
# project in which the index pip is configured with is declared as the primary source, then
# copy the lock back with every [package.source] table removed and the content-hash recomputed
# for the real pyproject.toml. The result is the lock poetry writes against its default
# registry, and `poetry check --lock` accepts it.
#
# Usage: scripts/lock.sh [extra `poetry lock` arguments, e.g. --regenerate]
# Environment: VENV (default .venv), PYTHON (default python3), POETRY_SPEC (default poetry==2.5.1).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
POETRY_SPEC="${POETRY_SPEC:-poetry==2.5.1}"
py="$VENV/bin/python"
poetry="$VENV/bin/poetry"

# Avoid keyring prompts or hangs in headless sessions.
export PYTHON_KEYRING_BACKEND="${PYTHON_KEYRING_BACKEND:-keyring.backends.null.Keyring}"

[ -x "$py" ] || "$PYTHON" -m venv "$VENV"
[ -x "$poetry" ] || "$py" -m pip install "$POETRY_SPEC"
venv_abs="$(cd "$VENV" && pwd)"

# The index pip resolves (configuration files and PIP_* variables), else pip's default.
index_url="$("$py" - <<'EOF'
try:
    from pip._internal.commands import create_command
    options, _ = create_command("install").parse_args([])
    url = options.index_url
except Exception:
    url = None
if not url:
    from pip._internal.models.index import PyPI
    url = PyPI.simple_url
print(url)
EOF
)"
case "$index_url" in
    http*) ;;
    *) echo "lock.sh: pip's index is not an http(s) URL; cannot lock against it" >&2; exit 1 ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Only what poetry reads to lock: the project table, its readme and the current lock (so that
# `poetry lock` keeps locked versions unless pyproject.toml requires otherwise).
cp pyproject.toml "$tmp/"
for f in README.md poetry.lock; do
    if [ -f "$f" ]; then cp "$f" "$tmp/"; fi
done
cat >>"$tmp/pyproject.toml" <<EOF

[[tool.poetry.source]]
name = "lock-index"
url = "$index_url"
priority = "primary"
EOF

echo "lock.sh: poetry lock (in a temporary copy)"
# VIRTUAL_ENV: let poetry take our venv as the project environment instead of creating one in
# its cache (locking installs nothing).
(cd "$tmp" && VIRTUAL_ENV="$venv_abs" "$venv_abs/bin/poetry" lock --no-interaction "$@")

# Copy back: drop [package.source] tables, recompute content-hash for the real pyproject.toml.
"$py" - "$tmp/poetry.lock" "$root" <<'EOF'
import os
import sys
from pathlib import Path

import tomlkit
from poetry.factory import Factory

src, root = Path(sys.argv[1]), Path(sys.argv[2])
doc = tomlkit.parse(src.read_text())
for package in doc.get("package", []):
    if "source" in package:
        del package["source"]
doc["metadata"]["content-hash"] = Factory().create_poetry(root).locker._get_content_hash()

text = tomlkit.dumps(doc)
# tomlkit leaves the blank line that preceded each removed table: collapse runs of blank lines.
while "\n\n\n" in text:
    text = text.replace("\n\n\n", "\n\n")
out = root / "poetry.lock"
tmp = out.with_name(out.name + ".tmp")
tmp.write_text(text)
os.replace(tmp, out)  # atomic: never leave a half-written lock
EOF

if grep -qF "$index_url" poetry.lock || grep -q '^\[package.source\]' poetry.lock; then
    echo "lock.sh: a registry address is left in poetry.lock" >&2
    exit 1
fi

"$poetry" check --lock
