"""Every trained model of a procedure with its test-set intervals: the table the procedure-level results are
computed from (one row per model and metric)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinicadl.evaluate.model import EvaluationOptions, assess_model
from clinicadl.evaluate.procedure_inputs import Procedure
from clinicadl.evaluate.results import results_frame

__all__ = ["model_table", "unit_values"]


def model_table(procedure: Procedure, options: EvaluationOptions) -> pd.DataFrame:
    """Metrics of every trained model with their test-set intervals (:func:`assess_model`, same seed for all)."""
    frames = []
    for model in procedure.models:
        frame = results_frame(assess_model(model.predictions, options))
        frame.insert(len(frame.columns), "replicate", model.replicate)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["procedure"] = str(procedure.path)
    return table


def unit_values(table: pd.DataFrame, metric: str, procedure: Procedure) -> tuple[np.ndarray, np.ndarray]:
    """Values and test-sampling variances (SE^2) of one metric, one per model, in ``procedure.models`` order."""
    rows = table[table["metric"] == metric].set_index(["replicate", "split"])
    keys = [(m.replicate, m.split) for m in procedure.models]
    return rows.loc[keys, "estimate"].to_numpy(float), rows.loc[keys, "se"].to_numpy(float) ** 2
