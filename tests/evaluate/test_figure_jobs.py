"""Figures drawn now, in the background or not at all, and a figure never shown beside numbers it does not plot."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner
from PIL import Image

from clinicadl.cli.main import cli
from clinicadl.errors import InputError
from clinicadl.evaluate import figure_jobs
from clinicadl.evaluate.figure_jobs import (
    FIGURES_ENV,
    SOURCES_KEY,
    current_figure,
    draw_figure,
    figure_mode,
    figure_sources,
    png_text,
    request_figure,
    with_png_text,
)
from clinicadl.evaluate.provenance import file_digest
from clinicadl.maps import read_results_tsv


@pytest.fixture
def results(example_tsv, tmp_path, monkeypatch):
    """A results TSV of ``evaluate model`` (figure off), and its figure's path."""
    monkeypatch.setenv(FIGURES_ENV, "off")
    out = tmp_path / "model.tsv"
    result = CliRunner().invoke(cli, ["evaluate", "model", str(example_tsv), "--n_resamples", "50", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert not out.with_suffix(".png").exists()
    return out, out.with_suffix(".png")


def test_text_chunk_is_read_by_pillow(results):
    tsv, png = results
    drawn = draw_figure("model_intervals", [tsv], png)
    with Image.open(drawn) as image:  # an independent PNG reader: the chunk is valid (CRC, layout)
        image.load()
        assert json.loads(image.text[SOURCES_KEY]) == {tsv.name: file_digest(tsv)}
    assert figure_sources(drawn) == {tsv.name: file_digest(tsv)}
    data = with_png_text(drawn.read_bytes(), "Comment", "second")
    text = png_text(data)  # matplotlib's own chunk (Software) is kept
    assert text[SOURCES_KEY] == json.dumps({tsv.name: file_digest(tsv)}) and text["Comment"] == "second"
    assert text["Software"].startswith("Matplotlib")
    assert not list(png.parent.glob(".*drawing*"))  # the temporary drawing is gone


def test_a_figure_of_other_numbers_is_drawn_again(results):
    tsv, png = results
    assert current_figure("model_intervals", [tsv], png) == png  # missing: drawn
    first = png.stat().st_mtime_ns
    assert current_figure("model_intervals", [tsv], png) == png and png.stat().st_mtime_ns == first  # current: kept
    table = read_results_tsv(tsv)
    table.loc[0, "ci_high"] = 0.999
    tsv.write_text(table.to_csv(sep="\t", index=False))
    assert figure_sources(png) != {tsv.name: file_digest(tsv)}
    current_figure("model_intervals", [tsv], png)
    assert figure_sources(png) == {tsv.name: file_digest(tsv)}
    png.write_bytes(b"\x89PNG\r\n\x1a\n")  # a truncated figure has no record: drawn again
    assert figure_sources(png) is None
    current_figure("model_intervals", [tsv], png)
    assert figure_sources(png) == {tsv.name: file_digest(tsv)}
    assert current_figure("model_intervals", [tsv.with_name("gone.tsv")], png) is None


def test_off_removes_an_earlier_figure(results):
    tsv, png = results
    draw_figure("model_intervals", [tsv], png)
    assert request_figure("model_intervals", [tsv], png, mode="off") is None
    assert not png.exists()


def test_background_figure_appears_after_the_command_returns(example_tsv, tmp_path, monkeypatch):
    monkeypatch.setenv(FIGURES_ENV, "background")
    out = tmp_path / "model.tsv"
    result = CliRunner().invoke(cli, ["evaluate", "model", str(example_tsv), "--n_resamples", "50", "-o", str(out)])
    assert result.exit_code == 0, result.output
    png = out.with_suffix(".png")
    deadline = time.monotonic() + 120  # a generous bound for a loaded machine; not a speed check
    while figure_sources(png) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert figure_sources(png) == {out.name: file_digest(out)}
    assert not png.with_name(png.name + ".log").exists()


def test_failed_background_job_leaves_its_traceback(tmp_path):
    png = tmp_path / "figure.png"
    assert figure_jobs.main(["model_intervals", str(png), str(tmp_path / "missing.tsv")]) == 1
    assert "missing.tsv" in (tmp_path / "figure.png.log").read_text()
    assert not png.exists()


def test_mode_from_the_environment(monkeypatch):
    monkeypatch.setenv(FIGURES_ENV, "auto")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert figure_mode() == "now"  # pytest captures stdout: not a terminal
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    assert figure_mode() == "background"
    monkeypatch.setenv("SLURM_JOB_ID", "42")  # a batch job ends its processes with it: draw before exiting
    assert figure_mode() == "now"
    monkeypatch.setenv(FIGURES_ENV, "later")
    with pytest.raises(InputError, match=f"{FIGURES_ENV}='later'"):
        figure_mode()
    with pytest.raises(ValueError, match="unknown figure kind"):
        request_figure("pie", [], "x.png", mode="now")
