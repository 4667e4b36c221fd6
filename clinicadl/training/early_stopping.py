"""Early stopping on the validation loss and selection of the best model per selection metric."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from clinicadl.training.config import LOWER_IS_BETTER

__all__ = ["BestModels", "EarlyStopping"]


@dataclass
class EarlyStopping:
    """Stop when the validation loss has not decreased by more than ``tolerance`` for ``patience`` epochs.

    ``patience = 0`` never stops (upstream's default). A NaN loss stops at once.

    Examples
    --------
    >>> stopper = EarlyStopping(patience=2, tolerance=0.0)
    >>> [stopper.step(v) for v in (1.0, 0.9, 0.95, 0.91)]
    [False, False, False, True]
    """

    patience: int
    tolerance: float = 0.0
    best: float = math.inf
    bad_epochs: int = 0

    def step(self, loss: float) -> bool:
        """Record the loss of an epoch; True when training should stop."""
        if self.patience <= 0:
            return False
        if math.isnan(loss):
            return True
        if loss < self.best - self.tolerance:
            self.best, self.bad_epochs = float(loss), 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: Mapping) -> None:
        self.best, self.bad_epochs = float(state["best"]), int(state["bad_epochs"])


@dataclass
class BestModels:
    """Best validation value of each selection metric so far (lower is better for the loss, MAE, RMSE, LR_minus).

    Examples
    --------
    >>> best = BestModels(["loss", "BA"])
    >>> best.update({"loss": 1.0, "BA": 0.5}), best.update({"loss": 0.8, "BA": 0.5})
    (['loss', 'BA'], ['loss'])
    """

    metrics: Iterable[str]
    values: dict[str, float | None] = field(default_factory=dict)

    def __post_init__(self):
        self.metrics = list(self.metrics)
        for metric in self.metrics:
            self.values.setdefault(metric, None)

    def update(self, validation: Mapping[str, float]) -> list[str]:
        """Metrics whose value improved (the first epoch always counts); their models are to be saved."""
        improved = []
        for metric in self.metrics:
            value, best = float(validation[metric]), self.values[metric]
            if best is None:
                better = True
            elif math.isnan(value):
                better = False
            elif math.isnan(best):
                better = True
            else:
                better = value < best if metric in LOWER_IS_BETTER else value > best
            if better:
                self.values[metric] = value
                improved.append(metric)
        return improved

    def state_dict(self) -> dict:
        return {"values": {k: (math.nan if v is None else v) for k, v in self.values.items()},
                "seen": [k for k, v in self.values.items() if v is not None]}

    def load_state_dict(self, state: Mapping) -> None:
        seen = set(state["seen"])
        self.values = {k: (float(v) if k in seen else None) for k, v in state["values"].items()}
