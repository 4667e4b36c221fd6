"""The command line: help without torch, readable output, one clear line per user error."""

import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from clinicadl.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_help_does_not_import_torch():
    code = (
        "import sys; from clinicadl.cli.main import cli\n"
        "for args in (['--help'], ['evaluate', '--help'], ['evaluate', 'model', '--help'],\n"
        "             ['evaluate', 'procedure', '--help'], ['evaluate', 'compare', '--help'], ['train', '--help'],\n"
        "             ['train', 'classification', '--help'], ['predict', '--help'], ['generate', 'cohort', '--help'],\n"
        "             ['prepare-data', 'image', '--help'], ['tsvtools', 'split', '--help']):\n"
        "    try: cli.main(args, prog_name='clinicadl')\n"
        "    except SystemExit: pass\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'pandas' not in sys.modules, 'pandas imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "How good is THIS trained model?" in out.stdout


def test_evaluate_model_prints_a_table_and_writes_results(example_tsv, tmp_path):
    result = run("evaluate", "model", example_tsv, "--n_resamples", 300, "-o", tmp_path / "r.tsv", "-m", "AUC")
    assert result.exit_code == 0, result.output
    assert "AUC" in result.output and "95% CI" in result.output and "positive class: 0" in result.output
    table = pd.read_csv(tmp_path / "r.tsv", sep="\t")
    assert list(table.columns[:11]) == ["metric", "estimate", "ci_low", "ci_high", "se", "method", "confidence",
                                        "n_resamples", "n_subjects", "n_images", "seed"]


def test_evaluate_compare_reports_difference_and_tests(example_tsv, example_tsv_b, tmp_path):
    result = run("evaluate", "compare", example_tsv, example_tsv_b, "--n_resamples", 300, "-m", "AUC",
                 "-o", tmp_path / "c.tsv")
    assert result.exit_code == 0, result.output
    assert "McNemar" in result.output and "DeLong" in result.output and "P(A>B)" in result.output
    assert (tmp_path / "c.json").is_file() and (tmp_path / "c_tests.tsv").is_file()


def _write(path, frame):
    frame.to_csv(path, sep="\t", index=False)
    return path


def _frame(n=12, **changes):
    frame = pd.DataFrame({
        "participant_id": [f"sub-{i:02d}" for i in range(n)],
        "session_id": "ses-M000",
        "true_label": [i % 2 for i in range(n)],
        "predicted_label": [i % 2 for i in range(n)],
        "proba0": [0.8 if i % 2 == 0 else 0.3 for i in range(n)],
    })
    for key, value in changes.items():
        frame[key] = value
    frame["proba1"] = 1 - frame["proba0"]
    return frame


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _write(p, _frame().drop(columns="true_label")), "true_label"),
        (lambda p: _write(p, _frame(proba0=[0.5, float("nan")] * 6)), "NaN"),
        (lambda p: _write(p, _frame(proba0=[1.5] * 12)), "[0, 1]"),
        (lambda p: (p.write_text(""), p)[1], "empty"),
    ],
    ids=["missing column", "NaN probability", "out of range", "empty file"],
)
def test_bad_prediction_files_give_one_clear_line(tmp_path, make, message):
    path = make(tmp_path / "bad.tsv")
    result = run("evaluate", "model", path, "--n_resamples", 50)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and "Traceback" not in result.output
    assert message in lines[0] and "bad.tsv" in lines[0]


def test_one_class_test_set_reports_auc_undefined_and_the_other_metrics(tmp_path):
    path = _write(tmp_path / "cn.tsv", _frame(true_label=[1] * 12, predicted_label=[1] * 10 + [0] * 2,
                                              proba0=[0.3] * 10 + [0.7] * 2))
    result = run("evaluate", "model", path, "--n_resamples", 100, "-o", tmp_path / "r.tsv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "r.tsv", sep="\t").set_index("metric")
    assert pd.isna(table.loc["AUC", "estimate"]) and table.loc["accuracy", "estimate"] == pytest.approx(10 / 12)
    assert "AUC is undefined with a class absent" in result.output


def test_folder_that_is_not_a_maps(tmp_path):
    result = run("evaluate", "model", tmp_path, "test")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(tmp_path) in result.output and "maps.json" in result.output


def test_unknown_data_group_lists_available_ones(upstream):
    result = run("evaluate", "model", upstream / "v1_clinicadl_1.6.1" / "maps", "test-nope")
    assert result.exit_code == 1 and "test-heldout" in result.output and "Traceback" not in result.output


def test_unknown_metric_lists_available_ones(example_tsv):
    result = run("evaluate", "model", example_tsv, "-m", "Dice")
    assert result.exit_code == 1 and "Unknown metric 'Dice'" in result.output and "AUC" in result.output


def test_compare_refuses_different_participants(example_tsv, tmp_path):
    other = _write(tmp_path / "other.tsv", _frame())
    result = run("evaluate", "compare", example_tsv, other, "--n_resamples", 50)
    assert result.exit_code == 1 and "do not cover the same images" in result.output
    assert "sub-DEMO000" in result.output and "sub-00" in result.output
