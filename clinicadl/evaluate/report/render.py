"""Rendering a report: one self-contained HTML page (figures as data URIs, inline CSS, no script) or Markdown
with its figures copied beside it, from the Jinja templates of ``clinicadl/evaluate/templates``."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

from clinicadl.atomic import atomic_write_bytes, atomic_write_text
from clinicadl.errors import InputError
from clinicadl.evaluate.report.collect import collect_report
from clinicadl.evaluate.report.contents import Report
from clinicadl.evaluate.report.methods import REFERENCES, latex_table, methods_paragraph
from clinicadl.evaluate.report.tables import (
    comparison_table,
    estimators_table,
    evaluation_table,
    expected_table,
    models_table,
    seeds_table,
    settings_table,
    sources_table,
    variance_table,
)

__all__ = ["FORMATS", "render_html", "render_markdown", "write_report"]

FORMATS = ("html", "md")
"""Output formats of :func:`write_report`."""


def _sections(report: Report) -> list[dict]:
    sections = []
    for maps in report.maps:
        tables = [t for t in (expected_table(maps), variance_table(maps), sources_table(maps), estimators_table(maps),
                              models_table(maps), settings_table(maps), seeds_table(maps), evaluation_table(maps))
                  if t is not None]
        sections.append({"title": f"{'Learning procedure' if maps.kind == 'procedure' else 'Trained model'}: "
                                  f"{maps.name}", "path": str(maps.path), "tables": tables, "figures": maps.figures,
                         "sources": [str(s) for s in maps.sources], "computed": [str(c) for c in maps.computed]})
    return sections


def _environment(autoescape: bool):
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(loader=FileSystemLoader(Path(__file__).parents[1] / "templates"), autoescape=autoescape,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)
    environment.filters["cell"] = _markdown_cell
    return environment


def _markdown_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _context(report: Report) -> dict:
    return {"report": report, "sections": _sections(report),
            "comparisons": [{"table": comparison_table(c), "figures": c.figures, "source": str(c.source)}
                            for c in report.comparisons],
            "methods": methods_paragraph(report), "latex": latex_table(report), "references": REFERENCES,
            "groups": sorted({m.data_group for m in report.maps})}


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (figures as data URIs, inline CSS, no script)."""
    template = _environment(True).get_template("report.html.j2")
    return template.render(**_context(report), data_uri=_data_uri)


def render_markdown(report: Report, figure_links: dict[Path, str] | None = None) -> str:
    """The report in Markdown; ``figure_links`` maps each figure's path to the link to write (default: the path)."""
    links = figure_links or {}
    template = _environment(False).get_template("report.md.j2")
    return template.render(**_context(report), link=lambda path: links.get(path, str(path)))


def write_report(
    maps_paths: Sequence[str | Path],
    output: str | Path = "report.html",
    *,
    format: str | None = None,
    data_group: str = "test",
    selection_metric: str = "loss",
    compute: bool = True,
) -> tuple[Path, Report]:
    """Write the report of one or more MAPS (see :func:`collect_report`) as HTML or Markdown.

    Parameters
    ----------
    maps_paths : sequence of str or Path
    output : str or Path, default "report.html"
    format : {"html", "md"}, optional
        Default: from the suffix of ``output`` (``.md`` gives Markdown), else HTML.
    data_group, selection_metric, compute :
        See :func:`collect_report`.

    Returns
    -------
    (Path, Report)
        The file written (Markdown: its figures are copied into ``<stem>_figures/`` beside it) and what it shows.

    Raises
    ------
    InputError
        An unknown format, and the errors of :func:`collect_report`.
    """
    output = Path(output)
    format = format or ("md" if output.suffix.lower() in (".md", ".markdown") else "html")
    if format not in FORMATS:
        raise InputError(f"Unknown report format {format!r}: choose one of {', '.join(FORMATS)}.")
    report = collect_report(maps_paths, data_group, selection_metric=selection_metric, compute=compute)
    if format == "html":
        return atomic_write_text(output, render_html(report)), report
    folder = output.with_name(f"{output.stem}_figures")
    links = {}
    figures = [f for m in report.maps for f in m.figures] + [f for c in report.comparisons for f in c.figures]
    for i, figure in enumerate(figures):
        target = folder / f"{i:02d}_{figure.path.name}"
        atomic_write_bytes(target, figure.path.read_bytes())
        links[figure.path] = f"{folder.name}/{target.name}"
    return atomic_write_text(output, render_markdown(report, links)), report

