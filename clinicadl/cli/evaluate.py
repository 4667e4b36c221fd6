"""``clinicadl evaluate``: statistical assessment of trained models and learning procedures."""

from __future__ import annotations

import click

from clinicadl.cli import options
from clinicadl.cli.evaluate_procedure import plan, procedure, procedure_compare_options
from clinicadl.cli.evaluate_report import report
from clinicadl.cli.evaluate_simulate import simulate
from clinicadl.cli.evaluate_sources import sources


@click.group()
def evaluate():
    """Confidence intervals, comparisons and their validation.

    \b
    model      How good is THIS trained model? (intervals on its test set)
    procedure  How good is this LEARNING PROCEDURE? (replicates: expected performance, variance components)
    compare    Is model (or procedure) A better than B?
    sources    Which sources of variance (split, init, order, ...) move a result? (variance study)
    plan       How many replicates, how many test participants?
    simulate   Do the intervals and tests keep their nominal rates? (simulation)
    report     One HTML or Markdown file with the results, settings, seeds and a methods paragraph
    """


@evaluate.command("model")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True))
@click.argument("data_group", required=False)
@options.split
@options.selection_metrics
@options.metrics
@options.n_resamples
@options.ci_method
@options.confidence_level
@options.unit
@options.stratify
@options.seed
@options.output
def model(input_path, data_group, splits, selection_metrics, output, **kwargs):
    """How good is THIS trained model? Confidence intervals of its metrics on a test group.

    INPUT is a MAPS (ClinicaDL 1.x or 2.0; DATA_GROUP then names the group, e.g. test) or a
    prediction TSV (participant_id session_id true_label predicted_label proba0 ...). Participants
    are resampled with all their sessions, so intervals stay valid with longitudinal data. Results go
    next to each model's predictions (<group>_image_level_metrics_ci.tsv + .json) unless --output.

    \b
    Example:
      clinicadl evaluate model maps/ test --split 0 --selection_metrics loss --seed 1
    """
    from clinicadl.evaluate.display import format_model_table
    from clinicadl.evaluate.figure_jobs import figure_note
    from clinicadl.evaluate.model import evaluate_model

    result = evaluate_model(input_path, data_group, splits=splits, selection_metrics=selection_metrics,
                            options=options.evaluation_options(**kwargs), output=output)
    click.echo(format_model_table(result.table))
    for note in (*result.notes, figure_note()):
        if note:
            click.echo(f"Note: {note}")
    for path in result.written:
        click.echo(f"Written: {path}")


@evaluate.command("compare")
@click.argument("arguments", metavar="A B [C ...] [DATA_GROUP]", nargs=-1, required=True)
@options.split
@options.selection_metrics
@options.metrics
@options.n_resamples
@options.ci_method
@options.confidence_level
@options.unit
@options.stratify
@options.seed
@options.output
@procedure_compare_options
def compare(arguments, splits, selection_metrics, output, gamma, rope, tests, unpaired, **kwargs):
    """Is A better than B? Trained models on the same participants, or learning procedures (replicates).

    \b
    Two trained models (MAPS with DATA_GROUP, or prediction TSVs covering the same images): per metric,
    the difference A - B with a paired participant-level bootstrap interval, its p-value, P(A>B) over
    resamples and a paired permutation test; McNemar on accuracy and, for a binary AUC, DeLong.
    Procedures (MAPS trained with --replicates; two or more): replicates paired by their seeds, P(A>B)
    with Bouthillier's gamma rule, corrected resampled / repeated k-fold t-tests, 5x2cv, the Bayesian
    correlated t-test with a ROPE; with three or more, Friedman, Nemenyi and Holm.

    \b
    Examples:
      clinicadl evaluate compare maps_resnet/ maps_conv5/ test --split 0 --selection_metrics loss
      clinicadl evaluate compare procedure_a/ procedure_b/ test --gamma 0.75
    """
    from clinicadl.cli.evaluate_procedure import compare_command_procedures, is_procedure_comparison, split_inputs
    from clinicadl.evaluate.naming import check_distinct

    inputs, data_group = split_inputs(arguments)
    check_distinct(inputs, "model or procedure")
    if is_procedure_comparison(inputs):
        return compare_command_procedures(inputs, data_group, splits=splits, selection_metrics=selection_metrics,
                                          output=output, gamma=gamma, rope=rope, tests=tests, unpaired=unpaired,
                                          **kwargs)
    if len(inputs) != 2:
        raise click.UsageError("Give A B [DATA_GROUP]: two trained models, or procedures trained with --replicates.")
    input_a, input_b = inputs
    from clinicadl.evaluate.compare import compare_models
    from clinicadl.evaluate.display import format_comparison_table
    from clinicadl.evaluate.figure_jobs import figure_note

    result = compare_models(input_a, input_b, data_group, splits=splits, selection_metrics=selection_metrics,
                            options=options.evaluation_options(**kwargs), output=output)
    click.echo(format_comparison_table(result.table, result.tests))
    for note in (*result.notes, figure_note()):
        if note:
            click.echo(f"Note: {note}")
    click.echo(f"Written: {result.written}")


evaluate.add_command(procedure)
evaluate.add_command(plan)
evaluate.add_command(simulate)
evaluate.add_command(report)
evaluate.add_command(sources)
