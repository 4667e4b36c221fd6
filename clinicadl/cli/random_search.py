"""``clinicadl random-search``: sample hyper-parameters, train each configuration, keep the best."""

from __future__ import annotations

import click


@click.command("random-search")
@click.argument("launch_directory", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.option("--n_trials", type=click.IntRange(min=1), default=None,
              help="Configurations to train (default: n_trials of random_search.toml, else 10).")
@click.option("--progress/--no-progress", default=True, help="Progress bars per epoch.")
def random_search(launch_directory, name, n_trials, progress):
    """Random search of hyper-parameters: train N sampled configurations into LAUNCH_DIRECTORY/NAME.

    LAUNCH_DIRECTORY holds random_search.toml: a [Random_Search] section with the inputs (network_task,
    caps_directory, preprocessing_json, tsv_directory, n_trials) and the hyper-parameters to sample, one per
    line, e.g. learning_rate = {log_uniform = [1e-5, 1e-3]}, batch_size = {choice = [4, 8]},
    dropout = {uniform = [0.0, 0.5]}; other sections fix training parameters as in a train TOML. The draws
    come from the hpo seed of [Reproducibility] seed. Trials are selected by the validation value of the first
    selection metric; NAME/trials.tsv lists them all.

    \b
    Example:
      clinicadl random-search search/ lr_dropout --n_trials 8
    """
    from clinicadl.evaluate.prediction_intervals import ModelIntervals
    from clinicadl.training.hpo import random_search as run

    result = run(launch_directory, name, n_trials=n_trials, progress=progress, after_split=ModelIntervals())
    click.echo(f"{len(result.trials)} trials, selected by the validation {result.metric} "
               f"({'higher' if result.higher_is_better else 'lower'} is better):")
    for trial in result.trials:
        mark = "  <- selected" if trial is result.best else ""
        values = ", ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in trial.values.items())
        click.echo(f"  trial-{trial.index}: {result.metric} {trial.score:.4g}  ({values}){mark}")
