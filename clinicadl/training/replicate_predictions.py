"""Predict a data group with every replicate of a MAPS, one job per replicate (local workers or SLURM).

``clinicadl predict MAPS GROUP --launcher slurm`` (or ``--n_jobs N``) calls :func:`predict_replicates`: the
finished replicates (``replicate-<r>/``, each a 1.x MAPS) are predicted by
:func:`clinicadl.predict.predict.predict`, each in its own job, with the launcher API of
:mod:`clinicadl.training.launcher`. The files written are those of a plain ``clinicadl predict``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clinicadl.errors import ClinicaDLError, InputError, MAPSError

__all__ = ["predict_replicates"]


def _predict_folder(folder: Path, *, data_group: str, options: Mapping[str, Any]) -> list:
    from clinicadl.predict.predict import predict

    return predict(folder, data_group, progress=False, skip_complete=True, **options)


def predict_replicates(maps_dir: str | Path, data_group: str, *, launcher: str = "local", n_jobs: int | None = None,
                       slurm: Mapping[str, Any] | None = None, executor=None, **options) -> list:
    """Predict ``data_group`` with every finished replicate of ``maps_dir``, one job per replicate.

    Parameters
    ----------
    maps_dir : path
        A MAPS with replicates (or a plain 1.x MAPS: one job).
    data_group : str
        The group to predict (see :func:`clinicadl.predict.predict.predict`).
    launcher : {"local", "slurm", "debug", "submitit_local"}
        Where the jobs run (:func:`~clinicadl.training.launcher.make_executor`); SLURM logs go to
        ``<maps>/.jobs/predict-logs/``.
    n_jobs : int, optional
        Jobs run at once; default 1 for local processes, every replicate at once for SLURM.
    slurm : mapping, optional
        SLURM options (:class:`~clinicadl.training.slurm.SlurmOptions`), with ``launcher="slurm"``.
    executor : optional
        An executor to use instead of ``launcher``.
    **options
        Keyword options of :func:`~clinicadl.predict.predict.predict` (``participants_tsv``, ``overwrite``...).

    Returns
    -------
    list of PredictionResult
        One per replicate predicted, in the order of the replicates; a replicate that already has the whole
        group (an earlier run that failed or was killed in another replicate) is kept as it is, so the same
        command finishes such a run.

    Raises
    ------
    MAPSError, InputError
        As :func:`~clinicadl.predict.predict.predict`; a job that fails is reported in one line naming its
        replicate (and its log on SLURM).
    """
    from clinicadl.maps.maps_json import is_maps
    from clinicadl.maps.replicates import finished_replicate_folders
    from clinicadl.training.launcher import make_executor, map_array, wait_first

    maps = Path(maps_dir)
    if not is_maps(maps):
        raise MAPSError(f"{maps} is not a MAPS (no maps.json); give the output folder of 'clinicadl train'.")
    if not data_group or "/" in data_group or data_group.startswith("."):
        raise InputError(f"Invalid data group name {data_group!r}; use a plain name such as test.")
    folders = finished_replicate_folders(maps)
    if executor is None:
        n_jobs = n_jobs or (len(folders) if launcher == "slurm" else 1)
        executor = make_executor(launcher, maps / ".jobs" / "predict-logs", slurm, n_jobs=n_jobs)
    job = functools.partial(_predict_folder, data_group=data_group, options=dict(options))
    with executor:
        jobs = map_array(executor, job, folders)
        pending = set(jobs)
        while pending:
            pending -= wait_first(pending)
    results, failures = [], []
    for folder, done in zip(folders, jobs):
        try:
            results.extend(done.result())
        except ClinicaDLError as error:
            failures.append(f"{folder.name}: {error}")
        except Exception as error:  # a cluster job's error comes back wrapped, with its traceback
            last = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
            log = f" (log {done.log})" if hasattr(done, "log") else ""
            failures.append(f"{folder.name}: {last}{log}")
    if failures:
        raise ClinicaDLError(f"Predicting {data_group} failed for {len(failures)} of {len(folders)} MAPS: "
                             + "; ".join(" ".join(f.split()) for f in failures))
    if not results and not options.get("overwrite"):
        raise MAPSError(f"Group {data_group!r} already exists in {maps} and every model has predicted it; add "
                        "--overwrite to compute the predictions again.")
    return results
