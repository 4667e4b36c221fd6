"""Option definitions shared by several commands (one place, one vocabulary)."""

from __future__ import annotations

import click

split = click.option("--split", "-s", "splits", type=int, multiple=True,
                     help="Split(s) of the MAPS to use (repeat the option); default: all.")
selection_metrics = click.option("--selection_metrics", "-sm", multiple=True,
                                 help="Selection metric(s) of the models, e.g. loss, BA; default: all present.")
metrics = click.option("--metrics", "-m", multiple=True,
                       help="Metric(s) to report (repeat the option); default: all of the task's metrics.")
n_resamples = click.option("--n_resamples", type=click.IntRange(min=2), default=10_000, show_default=True,
                           help="Number of bootstrap resamples.")
ci_method = click.option("--ci_method", type=click.Choice(["auto", "percentile", "basic", "bca", "analytic"]),
                         default="auto", show_default=True,
                         help="Interval method; auto takes, per metric and sample size, the method with the best "
                              "coverage in our simulation study (docs/coverage.md), and near the bound or with 30 "
                              "participants or fewer a closed form that holds there (Clopper-Pearson, MOVER, "
                              "Newcombe).")
confidence_level = click.option("--confidence_level", type=click.FloatRange(0, 1, min_open=True, max_open=True),
                                default=0.95, show_default=True, help="Nominal coverage of the intervals.")
unit = click.option("--unit", type=click.Choice(["participant", "image"]), default="participant", show_default=True,
                    help="Resampling unit: participants with all their sessions (valid with longitudinal data), "
                         "or images (assumes independent images).")
stratify = click.option("--stratify/--no-stratify", default=False, show_default=True,
                        help="Resample within each diagnosis so that every resample keeps both classes.")
seed = click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                    help="Seed of the resampling; recorded with the results.")
output = click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
                      help="Write all results to this TSV (and a .json sidecar) instead of next to the predictions.")


def evaluation_options(metrics, n_resamples, ci_method, confidence_level, unit, stratify, seed):
    """The :class:`~clinicadl.evaluate.model.EvaluationOptions` of the shared evaluation options."""
    from clinicadl.evaluate.model import EvaluationOptions

    return EvaluationOptions(tuple(metrics), n_resamples, ci_method, confidence_level, unit, stratify, seed)
