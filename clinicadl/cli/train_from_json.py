"""``clinicadl train from_json``: train again from the maps.json of a MAPS (ClinicaDL 1.6.1's or ours)."""

from __future__ import annotations

import click

from clinicadl.cli import options


@click.command("from_json", context_settings={"max_content_width": 110})
@click.argument("config_json", type=click.Path(exists=True), metavar="CONFIG_JSON")
@click.argument("output_maps_directory", metavar="OUTPUT_MAPS_DIRECTORY")
@options.split
def from_json(config_json, output_maps_directory, splits):
    """Train a new MAPS with the parameters of CONFIG_JSON, the maps.json of a MAPS.

    Every training parameter, the CAPS, the TSV directory and the extraction come from the JSON (ClinicaDL
    1.6.1's or ours); labels, input size and classes are computed again from the data. Relative paths are read
    from the current folder, else from the folder holding the MAPS. The seeds derive from the JSON's seed (the
    root maps.json of a MAPS with replicates trains its replicates again). With --split, only these splits.

    \b
    Example:
      clinicadl train from_json maps/maps.json maps_again/ --split 0
    """
    from clinicadl.evaluate.prediction_intervals import ModelIntervals
    from clinicadl.training.from_json import train_from_json
    from clinicadl.training.summary import format_training_summary, single_class_warnings, training_summary

    train_from_json(config_json, output_maps_directory, splits=splits or None, after_split=ModelIntervals())
    rows = training_summary(output_maps_directory)
    click.echo(format_training_summary(rows))
    for warning in single_class_warnings(rows):
        click.echo(f"Warning: {warning}.", err=True)
    click.echo(f"Written: {output_maps_directory}")
