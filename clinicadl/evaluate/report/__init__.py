"""``clinicadl evaluate report``: one file that gathers what a paper needs about one or more MAPS.

The report reads the results that ``clinicadl evaluate`` wrote into each MAPS (FORMATS.md section 4) and the
settings and seeds of its training (its parameters and replicates, through the readers of :mod:`clinicadl.maps`);
it never re-derives a number that is already on disk, so every figure of the report equals the results TSV it
comes from. What is missing is computed once with the library defaults and written into the MAPS,
where later runs find it:

- a MAPS with two or more trained models (replicates, or several splits) without
  ``evaluation/<group>/procedure_expected.tsv``: :func:`~clinicadl.evaluate.procedure.evaluate_procedure`;
- a MAPS with one trained model without its ``<group>_image_level_metrics_ci.tsv``:
  :func:`~clinicadl.evaluate.model.evaluate_model`;
- two or more MAPS with two or more models each, without a comparison of them in the first MAPS:
  :func:`~clinicadl.evaluate.compare_procedures.compare_procedures`.

With ``compute=False`` nothing is computed and a missing result is an error. Comparisons already present in
``evaluation/<group>/`` (``compare_procedures_*.tsv``, ``comparison_*.tsv``) are always included.

The HTML report is one self-contained file: the figures are embedded as base64 data URIs, the style sheet is
inline, there is no JavaScript and no external URL. The Markdown report links its figures, copied into a
folder beside it. Both end with a methods paragraph in words, with the numbers, and a LaTeX table (booktabs).

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
Efron B. (1987). Better bootstrap confidence intervals. JASA 82(397), 171-185.
Varoquaux G., Colliot O. (2023). Evaluating machine learning models and their diagnostic value. In Machine
Learning for Brain Disorders, Springer, 601-630.

The package: :mod:`~clinicadl.evaluate.report.contents` (what a report shows),
:mod:`~clinicadl.evaluate.report.collect` (reading and computing the results),
:mod:`~clinicadl.evaluate.report.tables`, :mod:`~clinicadl.evaluate.report.methods` (methods paragraph, LaTeX) and
:mod:`~clinicadl.evaluate.report.render` (HTML, Markdown).
"""

from clinicadl.evaluate.report.collect import collect_report
from clinicadl.evaluate.report.contents import Comparison, Figure, MapsReport, Report, Table
from clinicadl.evaluate.report.methods import headline_metrics, latex_escape, latex_table, methods_paragraph
from clinicadl.evaluate.report.render import FORMATS, render_html, render_markdown, write_report
from clinicadl.evaluate.report.tables import (
    comparison_table,
    evaluation_table,
    expected_table,
    models_table,
    seeds_table,
    settings_table,
    variance_table,
)

__all__ = [
    "FORMATS",
    "Comparison",
    "Figure",
    "MapsReport",
    "Report",
    "Table",
    "collect_report",
    "comparison_table",
    "evaluation_table",
    "expected_table",
    "headline_metrics",
    "latex_escape",
    "latex_table",
    "methods_paragraph",
    "models_table",
    "render_html",
    "render_markdown",
    "seeds_table",
    "settings_table",
    "variance_table",
    "write_report",
]
