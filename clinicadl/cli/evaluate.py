"""``clinicadl evaluate``: statistical assessment of trained models and learning procedures."""

from __future__ import annotations

import click

from clinicadl.cli import options


@click.group()
def evaluate():
    """Confidence intervals, comparisons and their validation.

    \b
    model    How good is THIS trained model? (intervals on its test set)
    compare  Is model A better than model B on the same test set?
    """


def _evaluation_options(metrics, n_resamples, ci_method, confidence_level, unit, stratify, seed):
    from clinicadl.evaluate.model import EvaluationOptions

    return EvaluationOptions(tuple(metrics), n_resamples, ci_method, confidence_level, unit, stratify, seed)


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
    from clinicadl.evaluate.model import evaluate_model

    result = evaluate_model(input_path, data_group, splits=splits, selection_metrics=selection_metrics,
                            options=_evaluation_options(**kwargs), output=output)
    click.echo(format_model_table(result.table))
    for note in result.notes:
        click.echo(f"Note: {note}")
    for path in result.written:
        click.echo(f"Written: {path}")


@evaluate.command("compare")
@click.argument("input_a", metavar="A", type=click.Path(exists=True))
@click.argument("input_b", metavar="B", type=click.Path(exists=True))
@click.argument("data_group", required=False)
@options.split
@options.selection_metrics
@options.metrics
@options.n_resamples
@click.option("--ci_method", type=click.Choice(["percentile", "basic", "bca"]), default="bca", show_default=True,
              help="Bootstrap interval method of the difference.")
@options.confidence_level
@options.unit
@options.stratify
@options.seed
@options.output
def compare(input_a, input_b, data_group, splits, selection_metrics, output, **kwargs):
    """Is trained model A better than trained model B on the same participants?

    A and B are MAPS (with DATA_GROUP) or prediction TSVs that cover the same images. Reports, per
    metric, the difference A - B with a paired participant-level bootstrap interval, its p-value,
    the proportion of resamples where A beats B and a paired permutation test; for classification
    also McNemar's test on accuracy and, for a binary AUC, DeLong's test.

    \b
    Example:
      clinicadl evaluate compare maps_resnet/ maps_conv5/ test --split 0 --selection_metrics loss
    """
    from clinicadl.evaluate.compare import compare_models
    from clinicadl.evaluate.display import format_comparison_table

    result = compare_models(input_a, input_b, data_group, splits=splits, selection_metrics=selection_metrics,
                            options=_evaluation_options(**kwargs), output=output)
    click.echo(format_comparison_table(result.table, result.tests))
    for note in result.notes:
        click.echo(f"Note: {note}")
    click.echo(f"Written: {result.written}")
