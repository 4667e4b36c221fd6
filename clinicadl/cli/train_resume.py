"""``clinicadl train resume``: finish an interrupted or partly failed training."""

from __future__ import annotations

import click


def format_status_table(result) -> str:
    """One line per replicate: index, status and the error of failed ones."""
    lines = [f"{'replicate':>9}  {'status':<8}  error"]
    for replicate, status in result.statuses.items():
        lines.append(f"{replicate:>9}  {status:<8}  {result.failed.get(replicate, '')}".rstrip())
    return "\n".join(lines)


@click.command("resume")
@click.argument("maps", type=click.Path(exists=True, file_okay=False))
@click.option("--n_jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Replicates trained at once, each in its own process.")
@click.option("--skip_failed", is_flag=True, default=False,
              help="Leave failed replicates as they are; only finish interrupted and pending ones.")
def resume(maps, n_jobs, skip_failed):
    """Finish the training of MAPS: interrupted, pending and failed replicates are trained again.

    Replicates marked done in MAPS/replicates.tsv are never touched; the others resume from their
    checkpoints (finished splits are skipped). A MAPS without replicates.tsv is resumed as one run.
    Exits with status 1 if some replicates still fail.

    \b
    Example:
      clinicadl train resume maps/ --n_jobs 2
    """
    from clinicadl.training.replicates import ReplicatesFailedError, resume_maps

    try:
        result = resume_maps(maps, n_jobs=n_jobs, retry_failed=not skip_failed)
    except ReplicatesFailedError as error:
        click.echo(format_status_table(error.result))
        raise
    if not result.replicated:
        click.echo(f"{maps} has no replicates.tsv: resumed as one run.")
    elif not result.trained:
        click.echo("Nothing to do: every replicate is done.")
    click.echo(format_status_table(result))
