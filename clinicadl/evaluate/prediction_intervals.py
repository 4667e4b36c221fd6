"""Predicting a data group, then the confidence intervals of each model: what ``clinicadl predict`` does.

:func:`clinicadl.predict.predict.predict` only writes predictions; :func:`predict_with_intervals` composes it with
:func:`clinicadl.evaluate.model.evaluate_model` through the step :class:`ModelIntervals`, run on each MAPS (each
replicate) once its predictions are written, so that a new group whose intervals fail is removed with its
predictions and a killed run is finished by the same command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clinicadl.evaluate.model import EvaluationOptions, evaluate_model

__all__ = ["ModelIntervals", "intervals_step", "model_intervals", "predict_with_intervals"]


def model_intervals(maps: Path, group: str, models: Sequence[tuple[int, str]],
                    evaluation: EvaluationOptions | None = None) -> list[Path]:
    """Participant-level confidence intervals of each (split, selection metric) model on the group."""
    result = evaluate_model(maps, group, splits=sorted({s for s, _ in models}),
                            selection_metrics=sorted({m for _, m in models}),
                            options=evaluation or EvaluationOptions())
    return list(result.written)


@dataclass(frozen=True)
class ModelIntervals:
    """The step that writes each model's intervals after :func:`~clinicadl.predict.predict.predict` (picklable).

    Attributes
    ----------
    evaluation : EvaluationOptions, optional
        Options of the intervals (default :class:`~clinicadl.evaluate.model.EvaluationOptions`).
    """

    evaluation: EvaluationOptions | None = None

    def __call__(self, maps: Path, group: str, models: Sequence[tuple[int, str]]) -> list[Path]:
        """Write the intervals of ``models`` of ``maps`` on ``group``; return the files written."""
        return model_intervals(maps, group, models, self.evaluation)

    def is_done(self, folder: Path, group: str) -> bool:
        """Whether the model whose outputs are in ``folder`` has its intervals on ``group``."""
        return (Path(folder) / f"{group}_image_level_metrics_ci.tsv").is_file()


def predict_with_intervals(maps_dir: str | Path, data_group: str, *, evaluation: EvaluationOptions | None = None,
                           evaluate: bool = True, use_labels: bool = True, **options) -> list:
    """Predict ``data_group`` with every model of a MAPS, then write each model's confidence intervals.

    Parameters
    ----------
    maps_dir, data_group
        As :func:`clinicadl.predict.predict.predict`.
    evaluation : EvaluationOptions, optional
        Options of the intervals.
    evaluate : bool
        Write the confidence-interval file of each model (needs labels).
    use_labels : bool
        Labels are known (without them, no interval is written).
    **options
        Other keyword options of :func:`~clinicadl.predict.predict.predict`.

    Returns
    -------
    list of PredictionResult
        One per MAPS predicted; ``written`` lists the prediction files, then the interval files.
    """
    from clinicadl.predict.predict import predict

    return predict(maps_dir, data_group, use_labels=use_labels,
                   after_predicting=intervals_step(evaluation, evaluate=evaluate, use_labels=use_labels), **options)


def intervals_step(evaluation: EvaluationOptions | None = None, *, evaluate: bool = True,
                   use_labels: bool = True) -> ModelIntervals | None:
    """The step to pass as ``after_predicting``: None when no interval is wanted (or without labels)."""
    return ModelIntervals(evaluation) if evaluate and use_labels else None
