"""``clinicadl train resume``: finish an interrupted or partly failed training."""

from __future__ import annotations

import click

from clinicadl.cli import options
from clinicadl.cli.launcher_options import add_launcher_options, slurm_values


def format_status_table(result) -> str:
    """One line per replicate: index, status and the error of failed ones."""
    lines = [f"{'replicate':>9}  {'status':<8}  error"]
    for replicate, status in result.statuses.items():
        lines.append(f"{replicate:>9}  {status:<8}  {result.failed.get(replicate, '')}".rstrip())
    return "\n".join(lines)


@click.command("resume")
@click.argument("maps", type=click.Path(exists=True, file_okay=False))
@options.n_jobs
@options.pack_replicates
@click.option("--skip_failed", is_flag=True, default=False,
              help="Leave failed replicates as they are; only finish interrupted and pending ones.")
@options.split
@add_launcher_options()
def resume(maps, n_jobs, pack_replicates, skip_failed, splits, launcher, detach, **slurm):
    """Finish the training of MAPS: interrupted, pending and failed replicates are trained again.

    Replicates marked done in MAPS/replicates.tsv are never touched; the others resume from their
    checkpoints (finished splits are skipped). A MAPS without replicates.tsv is resumed as one run.
    A MAPS trained with --launcher slurm is resumed on SLURM with the same options (override them
    here); replicates whose SLURM job is still queued or running are left to it. With --split, only
    those splits are resumed (upstream's option).
    Exits with status 1 if some replicates still fail.

    \b
    Example:
      clinicadl train resume maps/ --n_jobs 2
    """
    from clinicadl.errors import InputError
    from clinicadl.evaluate.prediction_intervals import ModelIntervals
    from clinicadl.training.jobs import read_launcher
    from clinicadl.training.replicates import ReplicatesFailedError, resume_maps

    recorded = (read_launcher(maps) or {}).get("launcher", "local")
    if detach and (launcher or recorded) != "slurm":
        raise InputError("--detach needs --launcher slurm (local jobs end with this command).")
    try:
        result = resume_maps(maps, n_jobs=n_jobs, retry_failed=not skip_failed, launcher=launcher,
                             slurm=slurm_values(slurm) or None, wait=not detach, splits=splits or None,
                             after_split=ModelIntervals(), pack_replicates=pack_replicates or 1)
    except ReplicatesFailedError as error:
        click.echo(format_status_table(error.result))
        raise
    if not result.replicated:
        click.echo(f"{maps} has no replicates.tsv: resumed as one run.")
    elif not result.trained:
        click.echo("Nothing to do: every replicate is done or still has a running job.")
    elif detach:
        click.echo(f"Submitted replicates {', '.join(map(str, result.trained))}; follow them with "
                   f"'clinicadl train status {maps}'.")
    click.echo(format_status_table(result))
