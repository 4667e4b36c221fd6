"""Speed of ``generate cohort`` and the AUC that a simple classifier reaches on its images.

1. Timing: 200 participants with 1-3 sessions (about 400 images) at ``--resolution`` 2 and 4 mm with ``n_proc=2``,
   and at 2 mm with ``n_proc=1`` (the speed-up of the worker processes). Target: under 2 minutes on 2 cores.
2. Promised AUC: for effect sizes 0.5 ... 2.5, a cohort of N participants (baseline only, 4 mm) is generated, and a
   logistic regression on regional means (hippocampus, ventricles, grey matter, deep white matter, + age and sex),
   5-fold cross-validated, is compared with the promised AUC Phi(d / sqrt 2) and with the AUC of the true latent
   severity of the same participants (the best any classifier could do on this sample). The gap to the latter is
   the classifier's efficiency loss that tests/data/test_generate_cohort.py allows for (EFFICIENCY_MARGIN).

Run ``python benchmarks/bench_generate.py [--quick]`` (``--quick``: N = 400 instead of 1,000, no n_proc=1 timing).
The table is printed and written to ``benchmarks/results/generate.md``.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clinicadl.data.generate import generate_cohort, promised_auc, regional_means  # noqa: E402

EFFECT_SIZES = (0.5, 1.0, 1.5, 2.0, 2.5)


def hanley_mcneil_se(auc: float, n1: int, n0: int) -> float:
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    return math.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0))


def timing(folder: Path, resolution: int, n_proc: int) -> tuple[float, int]:
    start = time.perf_counter()
    result = generate_cohort(folder / f"time_r{resolution}_p{n_proc}", n_participants=200, sessions=(1, 3),
                             resolution=resolution, effect_size=1.5, seed=0, n_proc=n_proc)
    return time.perf_counter() - start, result.n_images


def auc_check(folder: Path, effect_size: float, n: int, seed: int) -> dict:
    result = generate_cohort(folder / f"auc_{effect_size}", n_participants=n, sessions=1, resolution=4,
                             effect_size=effect_size, seed=seed, n_proc=2)
    data = regional_means(result.caps_directory, baseline_only=True)
    features = np.column_stack([data[["hippocampus", "ventricles", "grey_matter", "white_matter", "age"]],
                                data.sex == "M"])
    labels = (data.diagnosis == "AD").to_numpy()
    scores = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression()), features, labels,
                               cv=StratifiedKFold(5, shuffle=True, random_state=0), method="decision_function")
    promised = promised_auc(effect_size)
    return {"d": effect_size, "promised": promised, "latent": roc_auc_score(labels, data.severity),
            "regional": roc_auc_score(labels, scores), "hippocampus": roc_auc_score(labels, -data.hippocampus),
            "se": hanley_mcneil_se(promised, labels.sum(), (~labels).sum())}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    n = 400 if args.quick else 1000
    lines = [f"# generate cohort ({datetime.date.today()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}, "
             f"python {platform.python_version()})", "", "## Time for 200 participants, 1-3 sessions", "",
             "| resolution | n_proc | images | seconds |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(2, 2), (4, 2)] + ([] if args.quick else [(2, 1)])
        for resolution, n_proc in runs:
            seconds, images = timing(Path(tmp), resolution, n_proc)
            lines.append(f"| {resolution} mm | {n_proc} | {images} | {seconds:.1f} |")
            print(lines[-1], flush=True)
        lines += ["", f"## AUC, {n} participants (baseline, 4 mm, seed 1), logistic regression on regional means "
                  "(5-fold CV)", "",
                  "| effect size | promised | latent (this sample) | regional means | hippocampus alone | "
                  "regional - latent | regional - promised | 3 SE |", "|---|---|---|---|---|---|---|---|"]
        for d in EFFECT_SIZES:
            r = auc_check(Path(tmp), d, n, seed=1)
            lines.append(f"| {d} | {r['promised']:.3f} | {r['latent']:.3f} | {r['regional']:.3f} | "
                         f"{r['hippocampus']:.3f} | {r['regional'] - r['latent']:+.3f} | "
                         f"{r['regional'] - r['promised']:+.3f} | {3 * r['se']:.3f} |")
            print(lines[-1], flush=True)
    out = ROOT / "benchmarks" / "results" / "generate.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"Written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
