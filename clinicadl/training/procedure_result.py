"""What training a learning procedure did: :class:`ProcedureResult`, and the error when replicates failed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clinicadl.errors import ClinicaDLError
from clinicadl.maps.replicates import ReplicateRecord
from clinicadl.training.replicate_jobs import ERROR_LOG

__all__ = ["ProcedureResult", "ReplicatesFailedError", "finish_procedure"]


@dataclass(frozen=True)
class ProcedureResult:
    """What :func:`train_procedure` or :func:`resume_maps` did.

    Attributes
    ----------
    maps_path : Path
        The MAPS folder.
    replicated : bool
        True for a MAPS with replicates (``replicates.tsv``), False for a plain 1.x MAPS (one run).
    statuses : dict
        Replicate index -> status (:data:`STATUSES`). A plain MAPS reports replicate 0.
    failed : dict
        Replicate index -> one-line error, for the replicates whose status is ``failed``.
    seeds : dict
        Replicate index -> seed of every source.
    root_seed : int or None
        Root seed of the seeds (None for a plain MAPS that did not record it).
    varied_sources : tuple of str
        Sources whose seed changes from one replicate to the next (empty for a plain MAPS).
    trained : tuple of int
        Replicates that this call trained or tried to train.
    """

    maps_path: Path
    replicated: bool
    statuses: dict[int, str]
    failed: dict[int, str] = field(default_factory=dict)
    seeds: dict[int, dict[str, int]] = field(default_factory=dict)
    root_seed: int | None = None
    varied_sources: tuple[str, ...] = ()
    trained: tuple[int, ...] = ()

    @property
    def n_done(self) -> int:
        """Number of finished replicates."""
        return sum(status == "done" for status in self.statuses.values())


class ReplicatesFailedError(ClinicaDLError):
    """Some replicates failed; the others are kept. ``result`` holds the :class:`ProcedureResult`."""

    def __init__(self, message: str, result: ProcedureResult):
        super().__init__(message)
        self.result = result


def finish_procedure(maps: Path, records: Mapping[int, ReplicateRecord], *, root_seed: int,
                     varied: tuple[str, ...], trained: Sequence[int], submitted: bool = False) -> ProcedureResult:
    """The result of a training of replicates; raise :class:`ReplicatesFailedError` when some failed.

    With ``submitted`` (cluster jobs not waited for), failed replicates are reported in the result only.
    """
    result = ProcedureResult(
        maps_path=maps,
        replicated=True,
        statuses={r: records[r].status for r in sorted(records)},
        failed={r: records[r].error for r in sorted(records) if records[r].status == "failed"},
        seeds={r: dict(records[r].seeds) for r in sorted(records)},
        root_seed=root_seed,
        varied_sources=varied,
        trained=tuple(trained),
    )
    if result.failed and not submitted:
        listed = "; ".join(f"{r}: {error}" for r, error in result.failed.items())
        raise ReplicatesFailedError(
            f"{len(result.failed)} of {len(records)} replicates failed ({listed}); the {result.n_done} finished "
            f"ones are kept. Tracebacks are in {maps}/replicate-<r>/{ERROR_LOG}; retry with "
            f"`clinicadl train resume {maps}`.",
            result,
        )
    return result
