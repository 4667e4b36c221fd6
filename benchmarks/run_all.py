"""Run every benchmark of this folder (``bench_*.py``), one after the other, each in its own process.

Usage: ``python benchmarks/run_all.py [--quick]`` (``make bench`` calls it); extra arguments are passed
to each benchmark. Exits non-zero if a benchmark fails. Results go to ``benchmarks/results/``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"=== {script.name} {' '.join(argv)}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *argv])
        print(f"=== {script.name}: {'ok' if code == 0 else f'failed ({code})'} in {time.perf_counter() - start:.0f} s",
              flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
