"""Checks of the inputs of a learning procedure, before anything is written or removed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinicadl.errors import InputError, MAPSError, plain
from clinicadl.maps.locks import check_not_locked
from clinicadl.training.seeds import DEFAULT_VARIED, check_sources

__all__ = [
    "RESERVED_KEYS",
    "TrainFn",
    "WithAfterSplit",
    "check_int",
    "check_vary",
    "prepare_output",
    "replicate_parameters",
    "resolve_train_fn",
    "shared_parameters",
    "slurm_options",
]

RESERVED_KEYS: tuple[str, ...] = ("seed", "seeds", "replicate", "replicates", "root_seed", "varied_sources")
"""Keys of ``maps.json`` set by the procedure; values given for them in ``parameters`` are replaced."""

TrainFn = Callable[..., None]
"""``train_fn(parameters, maps_dir, seeds, *, resample_split, progress)`` trains one replicate."""


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` when it is an integer >= ``minimum``, else :class:`~clinicadl.errors.InputError` naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {plain(value)}.")
    return value


@dataclass(frozen=True)
class WithAfterSplit:
    """A trainer that passes ``after_split`` on (picklable when both are: it travels to worker processes)."""

    train_fn: TrainFn
    after_split: Callable[..., object]

    def __call__(self, parameters, maps_dir, seeds, **options) -> None:
        self.train_fn(parameters, maps_dir, seeds, after_split=self.after_split, **options)


def resolve_train_fn(train_fn: TrainFn | None, after_split: Callable[..., object] | None = None) -> TrainFn:
    """The given trainer (checked callable), or :func:`clinicadl.training.trainer.train_replicate`.

    With ``after_split`` (the step of :func:`~clinicadl.training.trainer.train_replicate`), the trainer is called
    with it; the trainer must then accept an ``after_split`` keyword.
    """
    if train_fn is not None and not callable(train_fn):
        raise InputError(f"train_fn must be callable, got {plain(train_fn)}.")
    if after_split is not None and not callable(after_split):
        raise InputError(f"after_split must be callable, got {plain(after_split)}.")
    if train_fn is None:
        from clinicadl.training.trainer import train_replicate

        train_fn = train_replicate
    return train_fn if after_split is None else WithAfterSplit(train_fn, after_split)


def shared_parameters(parameters: Any) -> dict[str, Any]:
    """The parameters without the keys the procedure sets; checked to be writable as JSON."""
    if not isinstance(parameters, Mapping):
        raise InputError(f"parameters must be a mapping of training parameters, got {type(parameters).__name__}.")
    from clinicadl.maps.results_io import to_jsonable

    shared = {str(key): value for key, value in parameters.items() if key not in RESERVED_KEYS}
    for key, value in shared.items():
        try:
            json.dumps(to_jsonable(value), allow_nan=False)
        except (TypeError, ValueError):
            raise InputError(f"Parameter {key!r} = {value!r} cannot be written to maps.json "
                             "(expected numbers, strings, paths, lists or mappings of them).") from None
    return shared


def check_vary(vary: Sequence[str] | str | None) -> tuple[str, ...]:
    """The sources varied across replicates (a comma-separated string accepted; default ``DEFAULT_VARIED``)."""
    if vary is None:
        return DEFAULT_VARIED
    if isinstance(vary, str):
        vary = vary.split(",")
    return check_sources(vary)


def prepare_output(output_maps: Path, overwrite: bool) -> None:
    """Refuse or remove an existing output folder (called after every other check)."""
    if output_maps.exists() and not output_maps.is_dir():
        raise MAPSError(f"{output_maps} exists and is not a folder; choose another output path for the MAPS.")
    if output_maps.is_dir() and any(output_maps.iterdir()):
        if not overwrite:
            raise MAPSError(f"{output_maps} already exists and is not empty; use --overwrite to replace it, or "
                            f"`clinicadl train resume {output_maps}` to finish an interrupted training.")
        resolved = output_maps.resolve()
        if resolved in (Path.cwd().resolve(), *Path.cwd().resolve().parents, Path.home().resolve()):
            raise MAPSError(f"Refusing to overwrite {output_maps}: it holds the current folder or is the home "
                            "folder; give the MAPS its own folder.")
        check_not_locked(output_maps)
        shutil.rmtree(output_maps)


def slurm_options(launcher: str, slurm: Any, *, replicated: bool, executor) -> Any:
    """Validated SLURM options (None for a local launcher); a cluster launcher needs replicates."""
    from clinicadl.training.launcher import check_launcher

    options = check_launcher(launcher, slurm)
    if executor is None and launcher not in ("local", "debug") and not replicated:
        raise InputError(f"The {launcher} launcher runs replicates: add --replicates R (R >= 1, e.g. "
                         "--replicates 1 for one run).")
    return options


def replicate_parameters(shared: Mapping[str, Any], replicate: int, seeds: Mapping[str, int], root_seed: int | None,
                          varied: Sequence[str] | None) -> dict[str, Any]:
    """The ``maps.json`` parameters of one replicate: the shared ones, its index and its seeds.

    ``seed`` is the seed the user gave (the root seed), as upstream records it; the seed of each source of
    variance, derived from it, is under ``seeds``.
    """
    given = root_seed if root_seed is not None else seeds["init"]
    parameters = {**shared, "replicate": replicate, "seed": int(given), "seeds": dict(seeds)}
    if root_seed is not None:
        parameters["root_seed"] = root_seed
    if varied is not None:
        parameters["varied_sources"] = list(varied)
    return parameters
