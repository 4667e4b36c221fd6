"""Make the example prediction TSVs shipped in ``clinicadl/examples/`` (used by ``make demo``).

Synthetic, seeded: 120 participants (45 % AD), 1-3 sessions each. Each participant has a latent
disease severity shared by their sessions (so sessions are correlated, as in a longitudinal cohort);
two synthetic "models" read it with different noise levels: model A (stronger) and model B.
Class codes follow ClinicaDL 1.x: AD -> 0, CN -> 1 (sorted labels).

Run: python scripts/make_example_predictions.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "clinicadl" / "examples"


def main(seed: int = 2026) -> None:
    rng = np.random.default_rng(seed)
    n = 120
    ad = rng.random(n) < 0.45
    sessions = rng.integers(1, 4, n)
    severity = np.where(ad, 1.0, -1.0) + rng.normal(0, 1.0, n)  # participant-level effect
    rows = []
    for i in range(n):
        for s in range(sessions[i]):
            rows.append((f"sub-DEMO{i:03d}", f"ses-M{12 * s:03d}", 0 if ad[i] else 1, severity[i]))
    frame = pd.DataFrame(rows, columns=["participant_id", "session_id", "true_label", "severity"])
    for name, noise in (("predictions.tsv", 0.8), ("predictions_model_b.tsv", 1.4)):
        logit = frame["severity"].to_numpy() + rng.normal(0, noise, len(frame))
        p_ad = 1 / (1 + np.exp(-1.5 * logit))
        out = frame[["participant_id", "session_id", "true_label"]].copy()
        out.insert(2, "image_id", 0)
        out["predicted_label"] = (p_ad < 0.5).astype(int)
        out["proba0"] = p_ad.round(6)
        out["proba1"] = (1 - p_ad).round(6)
        out.to_csv(OUT / name, sep="\t", index=False)


if __name__ == "__main__":
    main()
