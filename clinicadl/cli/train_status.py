"""``clinicadl train status``: where the training of a MAPS stands (replicates, jobs, logs)."""

from __future__ import annotations

import click


@click.command("status")
@click.argument("maps", type=click.Path(exists=True, file_okay=False))
def status(maps):
    """Show each replicate of MAPS: done, running, failed, pending (or interrupted), its job and log.

    Running replicates are checked with SLURM (squeue) or, for a local training, with the process that
    holds the MAPS: a replicate whose job ended without finishing shows as interrupted (train resume
    trains it again). Nothing is written.

    \b
    Example:
      clinicadl train status maps/
    """
    from clinicadl.training.status import format_status, training_status

    click.echo(format_status(training_status(maps)))
