"""``clinicadl evaluate sources``: which sources of variance matter, from a variance study."""

from __future__ import annotations

import click

from clinicadl.cli import options


@click.command("sources")
@click.argument("maps_path", metavar="MAPS", type=click.Path(exists=True, file_okay=False))
@click.argument("data_group")
@options.selection_metric
@options.metrics
@options.confidence_level
@click.option("--plot/--no-plot", default=True, show_default=True, help="Draw sources.png (one row per source).")
def sources(maps_path, data_group, selection_metrics, metrics, confidence_level, plot):
    """How much does each source of variance move one trained model's score?

    MAPS is a variance study (clinicadl train ... --study sources --replicates R) whose replicates predicted
    DATA_GROUP. Per metric: the standard deviation due to each source (split, init, order, augmentation, dropout),
    to all of them, and to the split and the seeds separately (--nested design), each with its interval; the
    test-set sampling standard deviation of one model; and how the cheap estimators (FixHOptEst: one split, seeds
    re-drawn) compare with the ideal one (Bouthillier et al. 2021). Written to MAPS/evaluation/DATA_GROUP/.

    \b
    Example:
      clinicadl train classification caps/ image.json split/ study/ --study sources --replicates 5
      clinicadl predict study/ test --participants_tsv split/test.tsv
      clinicadl evaluate sources study/ test -m BA -m AUC
    """
    from clinicadl.evaluate.sources import evaluate_sources, format_sources

    result = evaluate_sources(maps_path, data_group, metrics=metrics or None, selection_metric=selection_metrics,
                              confidence_level=confidence_level, plot=plot)
    click.echo(format_sources(result))
    for path in result.written:
        click.echo(f"Written: {path}")
