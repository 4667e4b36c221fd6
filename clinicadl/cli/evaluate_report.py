"""``clinicadl evaluate report``: one HTML (or Markdown) file with the results, settings, seeds and methods text."""

from __future__ import annotations

import click

from clinicadl.cli import options


@click.command("report")
@click.argument("maps_paths", metavar="MAPS...", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False), default="report.html", show_default=True,
              help="File to write.")
@click.option("--format", "format_", type=click.Choice(["html", "md"]), default=None,
              help="html: one self-contained page (figures embedded); md: Markdown, figures copied beside it "
                   "into <output stem>_figures/. Default: from the suffix of --output.")
@click.option("--data_group", default="test", show_default=True, help="Test group predicted by every model.")
@options.selection_metric
@click.option("--compute/--no-compute", default=True, show_default=True,
              help="Compute the results that are missing (evaluate procedure, model or compare, with their "
                   "defaults) and write them into the MAPS; with --no-compute a missing result is an error.")
def report(maps_paths, output, format_, data_group, selection_metrics, compute):
    """What should the paper say? A report of one or more MAPS, ready to share.

    Gathers the results already written by `clinicadl evaluate` under each MAPS (expected performance of the
    procedure, variance components, every trained model's interval, comparisons found in
    MAPS/evaluation/DATA_GROUP/), the training settings and seeds (maps.json, replicates.tsv), a methods
    paragraph with the numbers and a LaTeX table (booktabs). Missing results are computed first (see
    --compute); with two or more MAPS of replicates, they are also compared.

    \b
    Examples:
      clinicadl evaluate report maps/ --output report.html
      clinicadl evaluate report procedure_a/ procedure_b/ --output report.md
    """
    from clinicadl.evaluate.report import write_report

    path, result = write_report(maps_paths, output, format=format_, data_group=data_group,
                                selection_metric=selection_metrics, compute=compute)
    for maps in result.maps:
        for computed in maps.computed:
            click.echo(f"Computed: {computed}")
    for note in result.notes:
        click.echo(f"Note: {note}")
    click.echo(f"Written: {path}")
