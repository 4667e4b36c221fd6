"""``clinicadl evaluate report``: the HTML and Markdown reports show what the results files say.

The MAPS are synthetic replicate MAPS written without training (:func:`evaluate.test_procedure_maps.write_procedure`);
the report computes their evaluations (they are missing), then reads them back.
"""

from __future__ import annotations

import base64
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from evaluate.test_procedure_maps import write_procedure

from clinicadl.cli.main import cli
from clinicadl.errors import InputError, MAPSError
from clinicadl.evaluate.display import format_number
from clinicadl.evaluate.report import collect_report, latex_table, methods_paragraph, write_report
from clinicadl.maps import read_results_tsv


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    a = write_procedure(root / "conv5", skill=1.6, n_replicates=3, n_splits=2, n_participants=30)
    b = write_procedure(root / "resnet", skill=0.7, n_replicates=3, n_splits=2, n_participants=30, salt=1)
    single = write_procedure(root / "single", n_replicates=1, n_splits=1, n_participants=30, plain=True)
    html, report = write_report([a, b], root / "report.html")
    return {"a": a, "b": b, "single": single, "html": html, "report": report, "root": root}


class _Tables(HTMLParser):
    """Rows of every <table> and the src of every <img>, from HTML."""

    def __init__(self):
        super().__init__()
        self.rows, self.images, self.scripts, self._row, self._cell = [], [], 0, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.images.append(dict(attrs)["src"])
        elif tag == "script":
            self.scripts += 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr":
            self.rows.append(tuple(self._row))


def _parse(path: Path) -> _Tables:
    parser = _Tables()
    parser.feed(path.read_text())
    return parser


def test_html_is_self_contained_with_every_figure_embedded(maps):
    text = maps["html"].read_text()
    parsed = _parse(maps["html"])
    figures = [f for m in maps["report"].maps for f in m.figures] + [f for c in maps["report"].comparisons
                                                                       for f in c.figures]
    # two procedures (forest + variance each) and the comparison computed for the report (P(A>B))
    assert len(figures) == 5
    assert len(parsed.images) == len(figures)
    for src, figure in zip(parsed.images, figures):
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == figure.path.read_bytes()
    assert parsed.scripts == 0
    assert not re.search(r"(src|href)=\"(https?:|//)", text)
    assert "<link" not in text


def test_html_numbers_equal_the_results_tsvs(maps):
    rows = set(_parse(maps["html"]).rows)
    folder = maps["a"] / "evaluation" / "test"
    expected = read_results_tsv(folder / "procedure_expected.tsv")
    for r in expected.itertuples():
        assert any(row[:3] == (r.metric, format_number(r.estimate), f"[{format_number(r.ci_low)}, "
                                                                     f"{format_number(r.ci_high)}]")
                   for row in rows), r.metric
    models = read_results_tsv(folder / "procedure_models.tsv")
    for r in models.itertuples():
        assert (str(r.replicate), str(r.split), r.metric, format_number(r.estimate),
                f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]") in {row[:5] for row in rows}
    # the seeds of every replicate (replicates.tsv) are shown
    seeds = (maps["a"] / "replicates.tsv").read_text().splitlines()[1:]
    for line in seeds:
        cells = tuple(line.split("\t"))
        assert any(row[:len(cells) - 1] == cells[:-1] for row in rows)


def test_methods_paragraph_states_design_and_numbers(maps):
    report = maps["report"]
    text = methods_paragraph(report)
    expected = read_results_tsv(maps["a"] / "evaluation" / "test" / "procedure_expected.tsv").set_index("metric")
    ba = expected.loc["BA"]
    assert (f"balanced accuracy {format_number(ba.estimate)} (95 % CI {format_number(ba.ci_low)}-"
            f"{format_number(ba.ci_high)}") in text
    assert "3 times (replicates), each with 2-fold cross-validation" in text
    assert "re-drawing the training/validation split, the initial weights, the batch order" in text
    assert "root seed 0" in text
    assert "30 participants" in text
    assert "Searle et al. 1992" in text and "Bouthillier et al. 2021" in text
    assert "conditional on the development data" in text and "participant (shared test set)" in text
    # 30 participants: each model's intervals are the closed forms that auto takes there (not BCa), with their papers
    assert "Each trained model's intervals are closed forms" in text
    assert "(Zou & Donner 2008; Clopper & Pearson 1934)" in text and "(Newcombe 2006)" in text
    assert "conv5 vs resnet" in text  # the comparison computed for the report
    assert text in html.unescape(maps["html"].read_text())


def test_latex_table_is_booktabs_with_one_row_per_headline_metric(maps):
    latex = latex_table(maps["report"])
    lines = latex.splitlines()
    assert lines[0] == r"\begin{table}[ht]" and lines[-1] == r"\end{table}"
    start, end = lines.index(r"\midrule"), lines.index(r"\bottomrule")
    assert lines.index(r"\toprule") < start < end
    columns = re.search(r"\\begin\{tabular\}\{(\w+)\}", latex).group(1)
    body = lines[start + 1:end]
    assert len(body) == 4  # BA and AUC of two procedures
    for line in [lines[start - 1], *body]:
        assert line.endswith(r"\\") and line.count("&") == len(columns) - 1
    assert latex.count("{") == latex.count("}") + latex.count(r"\{") - latex.count(r"\}")
    expected = read_results_tsv(maps["b"] / "evaluation" / "test" / "procedure_expected.tsv").set_index("metric")
    auc = expected.loc["AUC"]
    assert (f"resnet & AUC & {format_number(auc.estimate)} & {format_number(auc.ci_low)}--"
            f"{format_number(auc.ci_high)} &") in latex


def test_markdown_report_links_copied_figures(maps, tmp_path):
    output, report = write_report([maps["a"], maps["b"]], tmp_path / "paper.md")
    text = output.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    figures = [f for m in report.maps for f in m.figures] + [f for c in report.comparisons for f in c.figures]
    assert len(links) == len(figures) == 5
    for link, figure in zip(links, figures):
        assert link.startswith("paper_figures/")
        assert (tmp_path / link).read_bytes() == figure.path.read_bytes()
    assert "| metric | estimate | 95% CI |" in text
    assert "```latex\n\\begin{table}" in text
    assert methods_paragraph(report).split(" Statistics were")[0] in text


def test_existing_results_are_read_not_recomputed(maps):
    tsv = maps["a"] / "evaluation" / "test" / "procedure_expected.tsv"
    before = tsv.stat().st_mtime_ns
    report = collect_report([maps["a"]], compute=False)
    assert tsv.stat().st_mtime_ns == before
    assert report.maps[0].computed == ()
    assert report.maps[0].kind == "procedure"
    assert [c.kind for c in report.comparisons] == ["procedures"]


def test_single_trained_model(maps):
    report = collect_report([maps["single"]])
    (single,) = report.maps
    assert single.kind == "model" and single.computed
    text = methods_paragraph(report)
    ba = single.models.set_index("metric").loc["BA"]
    assert f"balanced accuracy {format_number(ba.estimate)} (95 % CI" in text
    assert "participant" in text
    assert "--" in latex_table(report)


def test_missing_results_with_no_compute_is_one_clear_error(tmp_path):
    fresh = write_procedure(tmp_path / "fresh", n_replicates=2, n_splits=1, n_participants=20)
    with pytest.raises(InputError, match="evaluate procedure"):
        collect_report([fresh], compute=False)
    result = CliRunner().invoke(cli, ["evaluate", "report", str(fresh), "--no-compute", "-o",
                                      str(tmp_path / "r.html")])
    assert result.exit_code == 1
    assert "evaluate procedure" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


def test_report_shows_figures_of_the_current_numbers(tmp_path, monkeypatch):
    from clinicadl.evaluate.figure_jobs import FIGURES_ENV, figure_sources
    from clinicadl.evaluate.provenance import file_digest

    fresh = write_procedure(tmp_path / "fresh", n_replicates=2, n_splits=1, n_participants=20)
    monkeypatch.setenv(FIGURES_ENV, "off")  # the commands drew no figure (or it is still being drawn)
    assert CliRunner().invoke(cli, ["evaluate", "procedure", str(fresh), "test", "--n_resamples", "50"]).exit_code == 0
    folder = fresh / "evaluation" / "test"
    assert not (folder / "procedure_models.png").exists()
    (folder / "procedure_variance.png").write_bytes((Path(__file__).parent / "test_report.py").read_bytes()[:64])
    report = collect_report([fresh], compute=False)
    shown = {f.path.name: f.path for f in report.maps[0].figures}
    assert set(shown) == {"procedure_models.png", "procedure_variance.png"}
    assert figure_sources(shown["procedure_models.png"]) == {
        name: file_digest(folder / name) for name in ("procedure_models.tsv", "procedure_expected.tsv")}
    assert figure_sources(shown["procedure_variance.png"]) == {
        "procedure_variance.tsv": file_digest(folder / "procedure_variance.tsv")}


def test_not_a_maps(tmp_path):
    with pytest.raises(MAPSError, match="not a MAPS"):
        collect_report([tmp_path])
    with pytest.raises(InputError, match="format"):
        write_report([tmp_path], tmp_path / "r.html", format="pdf")


def test_report_command(maps, tmp_path):
    output = tmp_path / "out.md"
    result = CliRunner().invoke(cli, ["evaluate", "report", str(maps["a"]), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert f"Written: {output}" in result.output
    assert output.read_text().startswith("# clinicadl report")
    assert (tmp_path / "out_figures").is_dir()


def test_report_help_imports_neither_torch_nor_pandas():
    import subprocess
    import sys

    code = ("import sys; from clinicadl.cli.main import cli\n"
            "try: cli.main(['evaluate', 'report', '--help'], prog_name='clinicadl')\n"
            "except SystemExit: pass\n"
            "assert 'torch' not in sys.modules and 'pandas' not in sys.modules and 'jinja2' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "What should the paper say?" in out.stdout


def test_methods_paragraph_names_only_the_sources_that_changed_something():
    from clinicadl.evaluate.report.methods import _used

    assert not _used("augmentation", {"data_augmentation": []})
    assert _used("augmentation", {"data_augmentation": ["Noise"]})
    assert not _used("dropout", {"dropout": 0.0}) and _used("dropout", {"dropout": 0.2})
    assert _used("split", {}) and _used("init", {"dropout": 0.0})


def test_comparison_rows_say_what_they_are_about(maps):
    report = maps["report"]
    from clinicadl.evaluate.report.tables import comparison_table

    tables = [comparison_table(c) for c in report.comparisons if c.kind == "procedures"]
    assert tables
    for table in tables:
        assert "about" in table.header
        for row in table.rows:
            assert row[5] != "NaN"  # P(A>B) is decided by its interval: no NaN p-value
