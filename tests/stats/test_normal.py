"""Phi, its inverse and the logistic pair without scipy.special, against scipy.special (the oracle)."""

import numpy as np
import pytest
from scipy import special

from clinicadl.stats.normal import expit, logit, ndtr, ndtri


def test_ndtri_within_a_few_ulp_of_scipy():
    p = np.concatenate([np.logspace(-300, -1, 3000), np.linspace(0.01, 0.99, 5000), 1 - np.logspace(-16, -1, 2000)])
    ours, theirs = ndtri(p), special.ndtri(p)
    assert np.all(np.abs(ours - theirs) <= 5 * np.spacing(np.abs(theirs)))


def test_ndtr_matches_scipy_in_the_body_and_the_tails():
    body = np.linspace(-8, 8, 20001)  # measured: 2.6e-15 relative at most
    np.testing.assert_allclose(ndtr(body), special.ndtr(body), rtol=5e-15, atol=0)
    tail = np.linspace(-37, -8, 3001)  # the error of -x / sqrt(2) grows as x^2: 5.7e-14 measured
    np.testing.assert_allclose(ndtr(tail), special.ndtr(tail), rtol=2e-13, atol=0)


def test_edges_shapes_and_scalars_as_scipy():
    edges = np.array([0.0, 1.0, -0.1, 1.1, np.nan])
    np.testing.assert_array_equal(ndtri(edges), special.ndtri(edges))
    x = np.array([-np.inf, np.inf, np.nan])
    np.testing.assert_array_equal(ndtr(x), special.ndtr(x))
    grid = np.linspace(0.05, 0.95, 12).reshape(3, 4)
    assert ndtri(grid).shape == (3, 4) and ndtr(grid).shape == (3, 4)
    assert isinstance(ndtri(0.975), np.floating) and isinstance(ndtr(0.0), np.floating)
    assert float(ndtri(0.975)) == pytest.approx(1.959963984540054, rel=1e-15)


def test_logistic_pair_matches_scipy():
    x = np.linspace(-800, 800, 4001)
    np.testing.assert_allclose(expit(x), special.expit(x), rtol=1e-15, atol=1e-300)  # scipy flushes subnormals
    p = np.concatenate([[0.0, 1.0], np.logspace(-300, -1, 500), np.linspace(0.01, 0.99, 999),
                        1 - np.logspace(-16, -1, 200)])
    np.testing.assert_allclose(logit(p), special.logit(p), rtol=1e-13, atol=0)


def test_evaluate_model_does_not_import_scipy_special(tmp_path):
    """Far from the bounds (no Clopper-Pearson interval), evaluating a model needs no scipy.special."""
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p1 = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.3, 400), 0.01, 0.99)
    tsv = tmp_path / "predictions.tsv"
    tsv.write_text("participant_id\tsession_id\ttrue_label\tpredicted_label\tproba0\tproba1\n" + "".join(
        f"sub-{i:04d}\tses-M000\t{y[i]}\t{int(p1[i] > 0.5)}\t{1 - p1[i]:.6f}\t{p1[i]:.6f}\n" for i in range(400)))
    code = ("import sys; from clinicadl.evaluate.model import evaluate_model, EvaluationOptions; "
            f"evaluate_model({str(tsv)!r}, options=EvaluationOptions(n_resamples=20), "
            f"output={str(tmp_path / 'out.tsv')!r}); print('scipy.special' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"CLINICADL_FIGURES": "off", "PATH": ""})
    assert result.stdout.strip() == "False"
