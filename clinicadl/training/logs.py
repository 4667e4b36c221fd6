"""Training logs: ``training_logs/training.tsv`` and TensorBoard events (``tensorboard/{train,validation}``).

``training.tsv`` has upstream's columns ``epoch iteration time <metric>_train ... <metric>_valid ...`` (metrics in the
task's order, ``loss`` last; ``time`` in seconds since the start of training). It is rewritten atomically from the
rows kept in memory (and in the checkpoint), so a resumed split drops the rows of the epoch it re-runs. With a
tracker (``--track_exp``, :mod:`clinicadl.training.tracking`), each row also goes to the tracked run, and closing
the logger hands it the split's selected models.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from clinicadl.atomic import atomic_write_text
from clinicadl.training.tracking import Tracker

__all__ = ["TrainingLogger", "log_row"]


def log_row(epoch: int, iteration: int, time: float, train: Mapping[str, float], valid: Mapping[str, float]) -> dict:
    row = {"epoch": int(epoch), "iteration": int(iteration), "time": float(time)}
    row.update({f"{name}_train": float(value) for name, value in train.items()})
    row.update({f"{name}_valid": float(value) for name, value in valid.items()})
    return row


class TrainingLogger:
    """Append rows to ``training.tsv``, scalars to TensorBoard and metrics to the tracker if any."""

    def __init__(self, folder: str | Path, rows: Sequence[dict], *, purge_step: int | None = None,
                 tracker: Tracker | None = None):
        self.folder = Path(folder)
        self.rows = list(rows)
        self.purge_step = purge_step
        self.tracker = tracker
        self._writers = None

    def _tensorboard(self):
        if self._writers is None:
            from torch.utils.tensorboard import SummaryWriter

            root = self.folder / "tensorboard"
            self._writers = {side: SummaryWriter(str(root / side), purge_step=self.purge_step)
                             for side in ("train", "validation")}
        return self._writers

    def log(self, row: dict, step: int) -> None:
        self.rows.append(row)
        self.write()
        writers = self._tensorboard()
        for key, value in row.items():
            for suffix, side in (("_train", "train"), ("_valid", "validation")):
                if key.endswith(suffix):
                    writers[side].add_scalar(key[: -len(suffix)], value, step)
        for writer in writers.values():
            writer.flush()
        if self.tracker is not None:
            self.tracker.log_metrics({key: value for key, value in row.items() if key != "iteration"}, step)

    def write(self) -> Path:
        buffer = io.StringIO()
        pd.DataFrame(self.rows).to_csv(buffer, sep="\t", index=False, na_rep="NaN")
        return atomic_write_text(self.folder / "training.tsv", buffer.getvalue())

    def close(self) -> None:
        if self._writers is not None:
            for writer in self._writers.values():
                writer.close()
            self._writers = None
        if self.tracker is not None:  # the split folder holds training_logs/ and best-<m>/
            self.tracker.finish(sorted(self.folder.parent.glob("best-*/model.pth.tar")))
            self.tracker = None
