"""The validation report in reduced form: the claimed rates hold, the known failures reproduce, the numbers regenerate.

``scripts/validation.py --reduced`` runs fewer simulated studies and sizes than ``make validation``; a claimed
rate must lie within max(3 MC SE, 0.03) of its nominal value (``REDUCED_TOLERANCE``), a known failure beyond
3 MC SE on its side. About a minute on 2 cores.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clinicadl.stats.simulation import mc_se

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "validation.py"


def _load():
    spec = importlib.util.spec_from_file_location("validation_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reduced(tmp_path_factory):
    folder = tmp_path_factory.mktemp("validation")
    out = folder / "validation.md"
    # the command CI runs, in its own process: one BLAS thread (set before numpy is imported)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--reduced", "--out", str(out), "--cache",
                           str(folder / "cache")], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return _load(), folder, out, json.loads((folder / "validation" / "results.json").read_text())


def _row(table, section, procedure, label=None):
    found = [r for r in table["rows"] if r["section"] == section and r["procedure"] == procedure
             and (label is None or r["label"] == label)]
    assert len(found) == 1, (section, procedure, label)
    return found[0]


@pytest.mark.slow
def test_claims_hold_and_known_failures_reproduce(reduced):
    _, _, _, table = reduced
    tolerance = {"coverage": 0.03, "type I error": 0.03}
    claims = [r for r in table["rows"] if r["claim"]]
    assert len(claims) >= 15
    for r in claims:
        slack = max(3 * mc_se(r["nominal_rate"], r["n_sim"]), tolerance[r["measure"]])
        if r["claim"] == "nominal":
            assert abs(r["rate"] - r["nominal_rate"]) <= slack, r
        elif r["claim"] == "conservative" and r["kind"] == "interval":
            assert r["rate"] >= r["nominal_rate"] - slack, r
        elif r["claim"] == "conservative":
            assert r["rate"] <= r["nominal_rate"] + slack, r
        assert r["passed"] is True, r  # includes: simulated coverage == exact coverage within 3 MC SE
    failures = [r for r in table["rows"] if r["expected_failure"]]
    assert {r["procedure"] for r in failures} >= {"naive resampled t", "bca bootstrap (image)",
                                                  "median: percentile bootstrap", "replicate variance: chi-square"}
    for r in failures:
        assert r["passed"] is True, r


@pytest.mark.slow
def test_key_numbers(reduced):
    _, _, out, table = reduced
    wilson = _row(table, "accuracy", "wilson", "n=100, p~U(0.7,0.9)")
    assert abs(wilson["rate"] - 0.95) <= 3 * mc_se(0.95, wilson["n_sim"])
    at_08 = _row(table, "accuracy", "wilson", "n=100, p=0.8")  # exact coverage 0.9405 (discreteness)
    assert abs(at_08["rate"] - 0.9405) <= 3 * mc_se(0.9405, at_08["n_sim"])
    # uncorrected resampled t over-rejects (Nadeau & Bengio 2003: rho = 0.2, J = 15 -> about 0.35)
    naive = _row(table, "resampled-t", "naive resampled t", "J=15 null")
    assert naive["rate"] > 0.25
    # image-level bootstrap of clustered data under-covers
    image = _row(table, "clustered", "bca bootstrap (image)")
    assert image["rate"] < 0.95 - 3 * image["rate_se"]
    # FixHOptEst: the variance between replicates is biased low (only the seed variance is seen)
    fixed = _row(table, "replicates", "replicate variance: chi-square", "R=10 FixHOptEst")
    assert fixed["bias"] == pytest.approx(0.01**2 - 0.0005, abs=4 * fixed["bias_se"] + 1e-6)
    # El Jurdi et al. (2023): Dice half-width about 0.55 points at n = 100
    dice = _row(table, "dice", "mean: t", "n=100")
    assert 100 * dice["mean_width"] / 2 == pytest.approx(0.5516, abs=0.005)
    text = out.read_text()
    assert "| Wilson (1927) interval of an accuracy | 0.8 at n = 100 | [71.1, 86.7] | [71.1, 86.7] |" in text
    assert "| Wilson (1927) interval of an accuracy | 0.8 at n = 1000 | [77.4, 82.4] | [77.4, 82.4] |" in text
    assert (out.parent / "validation" / "clustered.png").is_file()
    nested = [r for r in table["rows"] if r["section"] == "nested-cv" and r["procedure"].startswith("nested")]
    if nested:  # nominal coverage of nested CV in a Bates et al. setting, within the reduced tolerance
        assert abs(nested[0]["rate"] - 0.90) <= max(3 * mc_se(0.9, nested[0]["n_sim"]), 0.03)


@pytest.mark.slow
def test_crossed_design(reduced):
    """Crossed design (R models x one shared test set), Searle et al. (1992), Bouthillier et al. (2021)."""
    _, _, out, table = reduced
    for level in ("small", "dominant"):
        for metric in ("BA", "AUC", "sensitivity", "accuracy"):
            row = _row(table, "crossed", f"crossed: {metric}", f"{level} R=10 n=50")
            assert row["claim"] == "nominal" and row["passed"], row
        replicate = _row(table, "crossed", "replicate variance: BA", f"{level} R=10 n=50")
        # relative bias of the replicate component under 10 % at n >= 50 (within the Monte-Carlo error)
        assert abs(replicate["bias"]) <= 0.10 * replicate["truth"] + 3 * replicate["bias_se"], replicate
    # the interval printed before the crossed design under-covers when the replicate effect dominates at R = 3
    previous = _row(table, "crossed", "previous: AUC", "dominant R=3 n=200")
    assert previous["rate"] < 0.95 - 3 * previous["rate_se"]
    # procedure comparison under the null with a participant-by-procedure interaction
    null = "null, n=50 R=10, interaction 0.6"
    crossed = _row(table, "crossed-compare", "crossed difference test", null)
    assert crossed["rate"] <= 0.05 + max(3 * crossed["rate_se"], 0.03)
    population = _row(table, "crossed-compare", "P(A>B) significant (population)", null)
    assert population["rate"] <= 0.025 + max(3 * population["rate_se"], 0.03)
    previous = _row(table, "crossed-compare", "P(A>B) significant (replicates only, previous)", null)
    assert previous["rate"] > 0.025 + 3 * previous["rate_se"]
    assert "Crossed design" in out.read_text()


@pytest.mark.slow
def test_report_regenerates_with_the_same_numbers(reduced, tmp_path):
    validation, folder, out, table = reduced
    # 1. from the cache: the same report, word for word (but the wall time)
    again = tmp_path / "validation.md"  # same name: figures referenced as validation/*.png
    validation.main(["--reduced", "--out", str(again), "--cache", str(folder / "cache")])

    def body(path):
        return [line for line in path.read_text().splitlines() if "Wall time" not in line]

    assert body(again) == body(out)
    # 2. recomputed without the cache, with two worker processes: the same rows
    sections = ("accuracy", "replicates", "centroid-cv", "crossed-compare")
    fresh = validation.run(True, n_jobs=2, cache=None, sections=sections)
    first = [r for r in table["rows"] if r["section"] in sections]
    assert len(fresh) == len(first)
    for a, b in zip(fresh, first, strict=True):
        for key, value in b.items():
            expected = a[key]
            if isinstance(expected, float) and math.isnan(expected):
                assert value is None
            else:
                assert expected == value, key
