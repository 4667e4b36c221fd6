"""``clinicadl evaluate procedure | plan`` and the procedure branch of ``clinicadl evaluate compare``.

``compare`` stays one command: ``clinicadl.cli.evaluate.compare`` calls :func:`compare_command_procedures`
when an input has replicates or more than two inputs are given (see :func:`is_procedure_comparison`).
"""

from __future__ import annotations

import click

from clinicadl.cli import options


def _echo_notes(notes, warns=()):
    for warning in warns:
        click.echo(f"Warning: {warning}", err=True)
    for note in notes:
        click.echo(f"Note: {note}")


@click.command("procedure")
@click.argument("maps_path", metavar="MAPS", type=click.Path(exists=True, file_okay=False))
@click.argument("data_group")
@options.split
@options.selection_metric
@options.metrics
@options.n_resamples
@options.ci_method
@options.confidence_level
@options.unit
@options.stratify
@options.seed
@click.option("--output_dir", type=click.Path(file_okay=False), default=None,
              help="Folder of the results (default: MAPS/evaluation/DATA_GROUP/).")
@click.option("--hpo_reference", type=click.Path(exists=True, file_okay=False), default=None,
              help="MAPS of the same procedure with the hyper-parameters fixed (same --root_seed and --vary without "
                   "hpo): reports the variance due to the hyper-parameter choice.")
def procedure(maps_path, data_group, splits, selection_metrics, output_dir, metrics, n_resamples, ci_method,
              confidence_level, unit, stratify, seed, hpo_reference):
    """How good is this LEARNING PROCEDURE? Performance over all its replicates and splits.

    MAPS holds replicates (clinicadl train --replicates R) or several splits, each predicted on DATA_GROUP
    (clinicadl predict MAPS DATA_GROUP). Reports every trained model with its test-set interval, the variance
    between models split into test-set sampling, data split and seeds, and the expected performance of the
    procedure with an interval that accounts for the shared test set and the number of replicates. Results:
    MAPS/evaluation/DATA_GROUP/procedure_{models,variance,expected}.tsv (+ .json, .png).

    \b
    Example:
      clinicadl evaluate procedure maps/ test --metrics BA --metrics accuracy --seed 1
    """
    from clinicadl.evaluate.figure_jobs import figure_note
    from clinicadl.evaluate.procedure import evaluate_procedure, format_procedure_summary

    evaluation_options = options.evaluation_options(metrics, n_resamples, ci_method, confidence_level, unit,
                                                    stratify, seed)
    result = evaluate_procedure(maps_path, data_group, selection_metric=selection_metrics, splits=splits or None,
                                options=evaluation_options, output_dir=output_dir, hpo_reference=hpo_reference)
    click.echo(format_procedure_summary(result))
    _echo_notes([*result.notes, *filter(None, [figure_note()])])
    for path in result.written:
        click.echo(f"Written: {path}")


@click.command("plan")
@click.option("--gamma", type=click.FloatRange(0.5, 1, min_open=True), default=0.75, show_default=True,
              help="P(A>B) to detect, in (0.5, 1] (Bouthillier et al. 2021 call 0.75 a meaningful improvement).")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.025,
              show_default=True,
              help="One-sided type I error rate of the comparison; 0.025 is that of the default 95% interval "
                   "of `evaluate compare`.")
@click.option("--beta", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True,
              help="Type II error rate (power = 1 - beta).")
@click.option("--width", type=click.FloatRange(0, min_open=True), default=None,
              help="Full width of the interval wanted (e.g. 0.1 for +/-0.05): also plan the test participants.")
@click.option("--pilot", type=click.Path(exists=True, file_okay=False), default=None,
              help="Pilot MAPS whose models' standard errors give the variance (with --data_group).")
@options.pilot_data_group
@options.selection_metric
@options.metrics
@click.option("--metric_variance", type=click.FloatRange(0, min_open=True), default=None,
              help="Variance of one participant's contribution (p(1-p) for an accuracy p), instead of a pilot.")
@click.option("--standard_error", type=click.FloatRange(0, min_open=True), default=None,
              help="Standard error measured on a pilot of --n_pilot participants, instead of a pilot MAPS.")
@click.option("--n_pilot", type=click.IntRange(min=2), default=None, help="Participants of the pilot.")
@options.confidence_level
@options.n_resamples
@options.seed
def plan(gamma, alpha, beta, width, pilot, data_group, selection_metrics, metrics, metric_variance, standard_error,
         n_pilot, confidence_level, n_resamples, seed):
    """How many replicates and test participants does a study need?

    Paired replicates for a comparison of two procedures (Noether's formula: 35 to detect P(A>B) = 0.75 at
    one-sided alpha = 0.025, the level of `evaluate compare`'s default 95% interval, and beta = 0.05; 29 at
    one-sided 0.05, printed too) and, with --width, test participants for an interval of that width, from
    a pilot MAPS (--pilot MAPS --data_group test) or a given variance.

    \b
    Examples:
      clinicadl evaluate plan --gamma 0.75
      clinicadl evaluate plan --width 0.1 --pilot maps/ --data_group test --metrics BA
    """
    from clinicadl.evaluate.plan import format_plan, plan_participants, plan_replicates

    replicates = plan_replicates(gamma, alpha=alpha, beta=beta)
    participants = None
    if width is not None:
        participants = plan_participants(width, pilot=pilot, data_group=data_group, metrics=tuple(metrics),
                                         selection_metric=selection_metrics, metric_variance=metric_variance,
                                         standard_error=standard_error, n_pilot=n_pilot,
                                         confidence_level=confidence_level, n_resamples=n_resamples, seed=seed)
    elif pilot is not None or metric_variance is not None or standard_error is not None:
        raise click.UsageError("--pilot, --metric_variance and --standard_error plan test participants: add --width.")
    click.echo(format_plan(replicates, participants))


# ------------------------------------------------------------------------------------------------ compare


def is_procedure_comparison(inputs) -> bool:
    """Whether ``compare`` should compare procedures: more than two inputs, or an input with replicates."""
    from pathlib import Path

    from clinicadl.evaluate.procedure_inputs import has_replicates

    return len(inputs) > 2 or any(Path(p).is_dir() and has_replicates(p) for p in inputs)


def split_inputs(arguments) -> tuple[list[str], str | None]:
    """``A B [C ...] [DATA_GROUP]``: the last argument is the data group unless it is a file or a MAPS folder."""
    from pathlib import Path

    from clinicadl.maps.maps_json import is_maps

    arguments = list(arguments)
    last = Path(arguments[-1]) if arguments else None
    is_input = last is not None and (last.is_file() or is_maps(last) or (last / "model.json").is_file())
    if len(arguments) >= 3 and not is_input:
        return arguments[:-1], arguments[-1]
    return arguments, None


def procedure_compare_options(function):
    """Options of the procedure branch of ``compare``, to stack on the ``compare`` command."""
    decorators = [
        click.option("--gamma", type=click.FloatRange(0.5, 1, max_open=True), default=0.75, show_default=True,
                     help="Procedures: P(A>B) above which an improvement is meaningful (Bouthillier et al. 2021)."),
        click.option("--rope", type=click.FloatRange(min=0), default=0.01, show_default=True,
                     help="Procedures: half-width of the region of practical equivalence of the Bayesian test."),
        click.option("--tests", "tests", multiple=True,
                     type=click.Choice(["probability", "corrected_t", "5x2cv", "bayesian", "friedman", "naive_t"]),
                     help="Procedures: tests to run (repeat; default: every applicable one; naive_t only on "
                          "request, with a warning)."),
        click.option("--unpaired", is_flag=True, default=False,
                     help="Procedures: accept replicates that are not paired by their seeds (P(A>B) only)."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def compare_command_procedures(inputs, data_group, *, splits=(), selection_metrics=(), metrics=(),
                               n_resamples=10_000, confidence_level=0.95, seed=0, output=None, gamma=0.75,
                               rope=0.01, tests=(), unpaired=False, **ignored):
    """The procedure branch of ``clinicadl evaluate compare``: compare, print, list the files written.

    ``ignored`` takes the options of the model branch that do not apply (``ci_method``, ``unit``, ``stratify``).
    """
    from clinicadl.errors import InputError
    from clinicadl.evaluate.compare_procedures import (
        CompareOptions,
        compare_procedures,
        format_procedure_comparison,
    )

    if data_group is None:
        raise InputError("Comparing procedures needs the DATA_GROUP their replicates were tested on "
                         "(clinicadl evaluate compare A B [C ...] DATA_GROUP).")
    if len(selection_metrics) > 1:
        raise InputError("Comparing procedures uses one selection metric; give --selection_metrics once.")
    compare_options = CompareOptions(
        metrics=tuple(metrics), n_resamples=n_resamples, confidence_level=confidence_level, seed=seed, gamma=gamma,
        rope=rope, tests=tuple(tests), unpaired=unpaired,
        selection_metric=selection_metrics[0] if selection_metrics else "loss")
    result = compare_procedures(list(inputs), data_group, options=compare_options, splits=splits or None,
                                output=output)
    click.echo(format_procedure_comparison(result))
    _echo_notes(result.notes, result.warnings)
    for path in result.written:
        click.echo(f"Written: {path}")
