"""``clinicadl evaluate simulate``: do the intervals and tests keep their promises in this regime?"""

from __future__ import annotations

import click

from clinicadl.cli import options
from clinicadl.cli.launcher_options import add_launcher_options, slurm_values


@click.command("simulate")
@click.option("--scenario", required=True,
              help="accuracy | auc | clustered | dice | skewed | replicates | resampled-t | centroid-cv | "
                   "five-by-two | two-models | nested-cv.")
@click.option("--n", "n", type=click.IntRange(min=2), default=None,
              help="Size of a simulated study: participants (replicates for 'replicates', splits for "
                   "'resampled-t'); default: the scenario's own.")
@click.option("--n_sim", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Simulated studies R; the Monte-Carlo SE of a coverage near 0.95 is sqrt(0.0475 / R).")
@click.option("--procedures", multiple=True,
              help="Procedure to check (repeat the option; default: all of the scenario).")
@click.option("--from_maps", type=click.Path(exists=True, file_okay=False), default=None,
              help="MAPS trained with --replicates: its split, seed and test-set variances become the truth "
                   "of the 'replicates' scenario.")
@options.pilot_data_group
@click.option("--metric", default="BA", show_default=True, help="Metric of --from_maps.")
@options.seed
@options.n_jobs
@click.option("--output_dir", type=click.Path(file_okay=False), default=None,
              help="Cache of finished chunks: an interrupted run resumes, a rerun reads them.")
@add_launcher_options(detach=False)
def simulate(scenario, n, n_sim, procedures, from_maps, data_group, metric, seed, n_jobs, output_dir, launcher,
             **slurm):
    """Do the intervals and tests keep their nominal rates? Coverage, type I error and power by simulation.

    Draws R studies from a scenario with a known truth, applies every procedure of the package that
    the scenario concerns, and prints each one's coverage (or rejection rate), Monte-Carlo standard
    error, mean width and bias. A procedure further than 3 MC SE from its nominal rate is flagged and
    explained. With --from_maps, the variances of a real MAPS are the truth, to check the
    procedure-level intervals in your own regime. docs/validation.md holds the full study.

    \b
    Examples:
      clinicadl evaluate simulate --scenario accuracy --n 100 --n_sim 2000
      clinicadl evaluate simulate --scenario clustered --n 50 --n_sim 500 --n_jobs 2
      clinicadl evaluate simulate --scenario replicates --from_maps maps/ --data_group test --metric BA
      clinicadl evaluate simulate --scenario clustered --n_sim 20000 --launcher slurm --partition cpu \
          --output_dir sims/ --n_jobs 20
    """
    from clinicadl.evaluate.simulate import format_simulation_table, run_simulation

    report = run_simulation(scenario, n=n, n_sim=n_sim, procedures=procedures or None, seed=seed,
                            from_maps=from_maps, data_group=data_group, metric=metric, n_jobs=n_jobs or 1,
                            cache_dir=output_dir, progress=True, launcher=launcher or "local",
                            slurm=slurm_values(slurm))
    for note in report.notes:
        click.echo(f"Note: {note}")
    click.echo(format_simulation_table(report))
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
