"""``clinicadl predict``: predictions of every trained model of a MAPS on a data group.

For each split x selection metric (x replicate, in a replicate MAPS), the model ``split-<i>/best-<m>/model.pth.tar``
predicts the group; the files go to ``split-<i>/best-<m>/<group>/`` in upstream's names. This package never
computes intervals: a caller that wants them passes a step (:class:`AfterPredicting`) run on each MAPS once its
predictions are written, as :func:`clinicadl.evaluate.prediction_intervals.predict_with_intervals` does with the
participant-level confidence intervals of each model (``<group>_image_level_metrics_ci.tsv``).

A new group is defined by ``participants_tsv`` and written to ``groups/<group>/``. It may not share a participant
with ``groups/train+validation.tsv`` (data leakage) unless ``skip_leak_check``; the training groups ``train`` and
``validation`` are never redefined.

All or nothing, and resumable: every replicate is checked before anything is written; a new group is registered
(``groups/<group>/``) only once its predictions exist, and removed with them if the run fails, so a participant
missing from the CAPS leaves no empty group. Running the same command again after a failed or killed run keeps
the replicates that have the whole group, replaces the files a killed run left in the others, and predicts
what is missing, without ``--overwrite``.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from clinicadl.errors import InputError, MAPSError
from clinicadl.maps.groups import read_group_tsv
from clinicadl.maps.maps_json import is_maps, maps_json_path, read_maps_json
from clinicadl.maps.replicates import finished_replicate_folders
from clinicadl.maps.tables import read_tsv, require_columns
from clinicadl.maps.writer import TRAINING_GROUPS, group_folder, remove_group, write_description_log, write_group

__all__ = ["AfterPredicting", "PredictionResult", "group_dataset", "predict", "predict_models", "replicate_folders"]

_N_LISTED = 3


@dataclass(frozen=True)
class PredictionResult:
    """What :func:`predict` did on one MAPS (one replicate).

    Attributes
    ----------
    maps_dir : Path
        The 1.x MAPS (a ``replicate-<r>`` folder in a replicate MAPS).
    data_group : str
    metrics : pandas.DataFrame
        One row per (split, selection metric, level) with upstream's metrics (empty without labels).
    written : tuple of Path
        Prediction files at the mode level, then the confidence-interval files.
    """

    maps_dir: Path
    data_group: str
    metrics: pd.DataFrame
    written: tuple[Path, ...]


replicate_folders = finished_replicate_folders
"""The MAPS to predict with (:func:`clinicadl.maps.replicates.finished_replicate_folders`)."""


class AfterPredicting(Protocol):
    """A step run on each MAPS (each replicate) once its models predicted a group, e.g. their intervals.

    ``step(maps, group, models)`` returns the files it wrote; ``step.is_done(folder, group)`` tells whether the
    model whose outputs are in ``folder`` (``split-<i>/best-<m>/<group>/``) already went through it, so that a
    run that was killed in between is finished by the same command. It is pickled to the jobs of
    :func:`~clinicadl.training.replicate_predictions.predict_replicates`.
    """

    def __call__(self, maps: Path, group: str, models: Sequence[tuple[int, str]]) -> list[Path]: ...

    def is_done(self, folder: Path, group: str) -> bool: ...


def _resolve_caps(value: str | Path, maps: Path) -> Path:
    path = Path(value)
    if path.is_dir() or path.is_absolute():
        return path
    for base in (maps.parent, maps):
        if (base / path).is_dir():
            return base / path
    return path


def _splits_and_metrics(maps: Path, splits: Sequence[int] | None,
                        selection_metrics: Sequence[str] | None) -> list[tuple[int, str]]:
    available = sorted(int(p.name.split("-")[1]) for p in maps.glob("split-*") if p.name.split("-")[1].isdigit())
    if not available:
        raise MAPSError(f"{maps} holds no split-<i>/ folder: it is not a trained MAPS (or training did not finish).")
    wanted = sorted({int(s) for s in splits}) if splits else available
    missing = [s for s in wanted if s not in available]
    if missing:
        raise MAPSError(f"split(s) {', '.join(map(str, missing))} not found in {maps}; available: "
                        f"{', '.join(map(str, available))}.")
    models = []
    for split in wanted:
        present = sorted(p.parent.name[len("best-"):] for p in (maps / f"split-{split}").glob("best-*/model.pth.tar"))
        chosen = [m.removeprefix("best-") for m in selection_metrics] if selection_metrics else present
        absent = [m for m in chosen if m not in present]
        if absent:
            raise MAPSError(f"split {split} of {maps} has no model selected on {', '.join(absent)}; available: "
                            f"{', '.join(present) or 'none'}.")
        models += [(split, m) for m in chosen]
    if not models:
        raise MAPSError(f"{maps} holds no trained model (split-<i>/best-<m>/model.pth.tar); train it first.")
    return models


def _check_leakage(maps: Path, group: str, frame: pd.DataFrame) -> None:
    path = maps / "groups" / "train+validation.tsv"
    if not path.is_file():
        raise MAPSError(f"{path} is missing, so leakage cannot be checked; add --skip_leak_check if you are sure the "
                        f"group {group!r} shares no participant with the training data.")
    seen = set(read_tsv(path)["participant_id"].astype(str))
    shared = sorted(set(frame["participant_id"].astype(str)) & seen)
    if shared:
        listed = ", ".join(shared[:_N_LISTED]) + (" ..." if len(shared) > _N_LISTED else "")
        raise MAPSError(f"Data leakage: {len(shared)} participant(s) of group {group!r} were used in training "
                        f"({listed}); remove them from the TSV, or add --skip_leak_check.")


def _check_labels(frame: pd.DataFrame, parameters: Mapping[str, Any], source: object) -> None:
    label = parameters.get("label")
    if not label:
        return
    if label not in frame.columns:
        raise InputError(f"{source} lacks the label column {label!r} (columns: {', '.join(map(str, frame.columns))});"
                         " add it, or predict without labels (--no_labels).")
    if frame[label].isna().any():
        raise InputError(f"{source}: {int(frame[label].isna().sum())} session(s) have no {label}; fill them, or "
                         "predict without labels (--no_labels).")
    code = parameters.get("label_code") or {}
    if parameters["network_task"] == "classification":
        unknown = sorted(set(frame[label].astype(str)) - set(code))
        if unknown:
            raise InputError(f"{source}: label(s) {', '.join(unknown)} were not learnt by the model (classes: "
                             f"{', '.join(code)}); keep only these classes.")


@dataclass
class _GroupPlan:
    """What predicting the group means for one MAPS (one replicate), decided before anything is written."""

    maps: Path
    parameters: dict
    models: list[tuple[int, str]]
    frames: dict[int, pd.DataFrame]
    caps: Path
    register: pd.DataFrame | None = None
    """The group's participants, to register in ``groups/<group>/`` once its predictions exist (None: it exists)."""
    replace: bool = False
    """Remove the existing group first (``--overwrite``)."""
    todo: list[tuple[int, str]] | None = None
    created: bool = False
    """The group is new: on failure, nothing of it is left behind."""


def _same_participants(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    keys = ["participant_id", "session_id"]
    return set(map(tuple, a[keys].astype(str).to_numpy())) == set(map(tuple, b[keys].astype(str).to_numpy()))


def _model_complete(maps: Path, group: str, split: int, metric: str, mode: str,
                    after: AfterPredicting | None) -> bool:
    folder = maps / f"split-{split}" / f"best-{metric}" / group
    if not (folder / f"{group}_{mode}_level_prediction.tsv").is_file():
        return False
    return after is None or after.is_done(folder, group)


def _group_frames(
    maps: Path, parameters: Mapping[str, Any], group: str, models: list[tuple[int, str]], *, participants_tsv,
    caps_directory, overwrite: bool, skip_leak_check: bool, use_labels: bool, after: AfterPredicting | None,
    diagnoses: Sequence[str] = (),
) -> _GroupPlan:
    """The images of the group for each split, the CAPS to read them from, and what is left to predict.

    Nothing is written here. A new group is registered (``groups/<group>/``) only once its predictions exist,
    so a failed or killed run never leaves a group without predictions; running the same command again predicts
    what is missing (a group defined with the same participants is kept, no ``--overwrite`` needed).
    """
    label = parameters.get("label") if use_labels else None
    splits = sorted({s for s, _ in models})
    if group in TRAINING_GROUPS:
        if participants_tsv is not None:
            raise MAPSError(f"Group {group!r} is made by training and is never redefined; choose another group name "
                            "for these participants.")
        frames = {s: read_group_tsv(group_folder(maps, group, split=s) / "data.tsv") for s in splits}
        caps = caps_directory or read_maps_json(maps_json_path(group_folder(maps, group, split=splits[0]))).get(
            "caps_directory", parameters["caps_directory"])
        todo = [m for m in models if not _model_complete(maps, group, *m, parameters["mode"], after)]
        return _GroupPlan(maps, dict(parameters), models, frames, _resolve_caps(caps, maps), todo=todo)
    folder = group_folder(maps, group)
    exists = (folder / "data.tsv").is_file()
    replace = False
    register = None
    if exists and participants_tsv is not None:
        given = _filter_diagnoses(read_tsv(participants_tsv), diagnoses, participants_tsv)
        require_columns(given, ["participant_id", "session_id"], participants_tsv)
        if overwrite:
            replace, exists = True, False
        elif not _same_participants(read_group_tsv(folder / "data.tsv"), given):
            raise MAPSError(f"Group {group!r} already exists in {maps} with other participants; add --overwrite to "
                            "replace it, or choose another name.")
    if exists and participants_tsv is not None:  # the same participants: the given file may add their labels
        frame = given
        caps = caps_directory or read_maps_json(maps_json_path(folder)).get("caps_directory",
                                                                          parameters["caps_directory"])
        if label and label not in read_group_tsv(folder / "data.tsv").columns:
            register = frame
    elif exists:
        frame = read_group_tsv(folder / "data.tsv")
        caps = caps_directory or read_maps_json(maps_json_path(folder)).get("caps_directory",
                                                                          parameters["caps_directory"])
    else:
        if participants_tsv is None:
            raise MAPSError(f"Group {group!r} does not exist in {maps}; give --participants_tsv to define it.")
        frame = _filter_diagnoses(read_tsv(participants_tsv), diagnoses, participants_tsv)
        require_columns(frame, ["participant_id", "session_id"], participants_tsv)
        if frame.empty:
            raise InputError(f"{participants_tsv} lists no session; give at least one participant to predict.")
        caps = caps_directory or parameters["caps_directory"]
        register = frame
    if label:
        _check_labels(frame, parameters, participants_tsv or folder / "data.tsv")
    if not skip_leak_check:
        _check_leakage(maps, group, frame)
    plan = _GroupPlan(maps, dict(parameters), models, dict.fromkeys(splits, frame), _resolve_caps(caps, maps),
                      register, replace, created=not exists)
    if exists:  # a group made by an earlier run: predict only what it lacks (a crash), or refuse to redo it
        mode = parameters["mode"]
        plan.todo = [m for m in models if not _model_complete(maps, group, *m, mode, after)]
    return plan


def group_dataset(parameters: Mapping[str, Any], frame: pd.DataFrame, *, caps_directory: str | Path,
                  with_labels: bool) -> Any:
    """The dataset of a group's sessions that its models predict (a segmentation or a CAPS dataset)."""
    task = parameters["network_task"]
    if task == "segmentation":
        from clinicadl.data.segmentation_dataset import SegmentationDataset

        return SegmentationDataset(
            caps_directory, frame, parameters["preprocessing_dict"], mask_pattern=parameters["mask_pattern"],
            n_labels=int(parameters["n_labels"]), require_masks=with_labels,
            normalize=bool(parameters.get("normalize", True)))
    from clinicadl.data.datasets import CapsDataset

    return CapsDataset(
        caps_directory, frame, parameters["preprocessing_dict"],
        label=parameters.get("label") if with_labels else None,
        label_code=parameters.get("label_code") if task == "classification" and with_labels else None,
        normalize=bool(parameters.get("normalize", True)))


def predict_models(
    maps_dir: str | Path, parameters: Mapping[str, Any], group: str, frames: Mapping[int, pd.DataFrame],
    models: Sequence[tuple[int, str]], *, caps_directory: str | Path, use_labels: bool = True,
    batch_size: int | None = None, n_proc: int | None = None, gpu: bool | None = None, amp: bool | None = None,
    progress: bool = True, save_masks: bool = False, save_tensor: bool = False, save_nifti: bool = False,
    save_latent_tensor: bool = False,
) -> tuple[pd.DataFrame, list[Path]]:
    """Predict ``group`` with each (split, selection metric) model and write the files (no intervals).

    Returns the metrics table (split, selection_metric, level, metrics...) and the mode-level prediction files.
    With ``save_masks`` (segmentation), the predicted label maps go to ``split-<i>/best-<m>/<group>/masks/``;
    ``save_tensor``, ``save_nifti`` and ``save_latent_tensor`` write upstream's per-element files
    (:mod:`clinicadl.predict.saved_outputs`). The ``loss`` of the metrics files is upstream's sum of the batch
    losses (:mod:`clinicadl.predict.upstream_loss`).
    """
    from clinicadl.predict.files import write_model_predictions
    from clinicadl.predict.saved_outputs import chain, output_steps
    from clinicadl.predict.upstream_loss import BatchLossSum
    from clinicadl.runtime.checkpoints import load_trained_network
    from clinicadl.runtime.device import select_device
    from clinicadl.runtime.inference import infer
    from clinicadl.runtime.loaders import make_loader
    from clinicadl.runtime.metric_names import task_metrics

    maps = Path(maps_dir)
    task, mode = parameters["network_task"], parameters["mode"]
    device = select_device(bool(parameters.get("gpu", False) if gpu is None else gpu))
    amp = bool(parameters.get("amp", False) if amp is None else amp)
    with_labels = use_labels and task != "reconstruction"
    names = task_metrics(task, max(len(parameters.get("label_code") or {}), 2))
    rows, written = [], []
    datasets: dict[int, Any] = {}
    for split, metric in models:
        frame = frames[split]
        if split not in datasets:
            datasets[split] = group_dataset(parameters, frame, caps_directory=caps_directory, with_labels=with_labels)
        loader = make_loader(datasets[split], batch_size=batch_size or parameters["batch_size"],
                             n_proc=parameters.get("n_proc", 0) if n_proc is None else n_proc)
        network = load_trained_network(maps, parameters, split, metric, device)
        folder = maps / f"split-{split}" / f"best-{metric}" / group
        saving, capture = output_steps(network, parameters, folder, save_masks=save_masks, save_tensor=save_tensor,
                                       save_nifti=save_nifti, save_latent_tensor=save_latent_tensor)
        loss_sum = BatchLossSum(parameters) if with_labels or task == "reconstruction" else None
        try:
            table, _ = infer(network, loader, parameters=parameters, device=device, amp=amp, with_labels=with_labels,
                             progress=progress, desc=f"{group} split-{split} best-{metric}",
                             on_outputs=chain(loss_sum, saving))
        finally:
            if capture is not None:
                capture.close()
        loss = loss_sum.total if loss_sum is not None else float("nan")
        metrics = write_model_predictions(folder, group, table, loss, task=task, mode=mode, metric_names=names,
                                          with_labels=with_labels)
        write_description_log(folder, group, frame, caps_directory=caps_directory)
        written.append(folder / f"{group}_{mode}_level_prediction.tsv")
        rows += [{"split": split, "selection_metric": metric, "level": level, **values}
                 for level, values in metrics.items()]
    return pd.DataFrame(rows), written


def predict(
    maps_dir: str | Path,
    data_group: str,
    *,
    caps_directory: str | Path | None = None,
    participants_tsv: str | Path | None = None,
    selection_metrics: Sequence[str] | None = None,
    splits: Sequence[int] | None = None,
    overwrite: bool = False,
    skip_leak_check: bool = False,
    use_labels: bool = True,
    batch_size: int | None = None,
    n_proc: int | None = None,
    gpu: bool | None = None,
    amp: bool | None = None,
    progress: bool = True,
    save_masks: bool = False,
    skip_complete: bool = False,
    after_predicting: AfterPredicting | None = None,
    label: str | None = None,
    diagnoses: Sequence[str] = (),
    multi_cohort: bool = False,
    save_tensor: bool = False,
    save_nifti: bool = False,
    save_latent_tensor: bool = False,
) -> list[PredictionResult]:
    """Predict a data group with every trained model of a MAPS and write upstream's files.

    Parameters
    ----------
    maps_dir : path
        A 1.x MAPS, or a replicate MAPS (``replicates.tsv``: every replicate with status ``done`` is used).
    data_group : str
        Name of the group; a new one needs ``participants_tsv``.
    caps_directory : path, optional
        CAPS of the images (default: the group's, else the one of training).
    participants_tsv : path, optional
        ``participant_id``, ``session_id`` (+ the label column) of a new group.
    selection_metrics, splits : sequence, optional
        Models to use (default: all).
    overwrite : bool
        Replace an existing group (never ``train`` or ``validation``) and its predictions.
    skip_leak_check : bool
        Allow participants seen in training (the result is then not a test of the model).
    use_labels : bool
        Labels are known: write metrics (``--use_labels/--no_labels``).
    batch_size, n_proc, gpu, amp : optional
        Override the training values of ``maps.json``.
    save_masks : bool
        Segmentation: also write each predicted label map as NIfTI in ``split-<i>/best-<m>/<group>/masks/``
        (``<participant>_<session>_pred_dseg.nii.gz``, on the image's grid).
    skip_complete : bool
        When every model already predicted the group, return nothing instead of refusing (the jobs of
        :func:`~clinicadl.training.replicate_predictions.predict_replicates`, one per replicate).
    after_predicting : AfterPredicting, optional
        A step run on each MAPS once its predictions are written (its files are added to ``written``); a model
        is complete once it went through it. :func:`clinicadl.evaluate.prediction_intervals.predict_with_intervals`
        passes the one that writes each model's confidence intervals.
    label : str, optional
        Column of the participants TSV holding the labels (default: the one of training, ``label`` in maps.json).
    diagnoses : sequence of str
        Keep only the sessions of ``participants_tsv`` whose ``diagnosis`` is one of these (default: all).
    multi_cohort : bool
        Upstream's multi-cohort prediction, not provided: True is refused.
    save_tensor, save_nifti, save_latent_tensor : bool
        Also write each element's input and output tensors, the NIfTI images of a reconstruction (image mode),
        the latent code of an autoencoder (:mod:`clinicadl.predict.saved_outputs`).

    Returns
    -------
    list of PredictionResult
        One per MAPS predicted (one per finished replicate).

    Raises
    ------
    MAPSError
        Not a MAPS, unknown split or selection metric, a group that exists (without ``overwrite``) or does not
        (without ``participants_tsv``), data leakage, predictions that exist (without ``overwrite``).
    InputError
        A participants TSV without the label column (with labels) or with unknown classes.
    """
    maps = Path(maps_dir)
    _check_request(maps, data_group, multi_cohort=multi_cohort, diagnoses=diagnoses,
                   participants_tsv=participants_tsv)
    saving = {"save_tensor": save_tensor, "save_nifti": save_nifti, "save_latent_tensor": save_latent_tensor}
    plans = []
    for folder in replicate_folders(maps):  # every check of every replicate before anything is written
        parameters = read_maps_json(folder)
        if label:
            parameters = {**parameters, "label": label}
        _check_saving(parameters, **saving)
        models = _splits_and_metrics(folder, splits, selection_metrics)
        plans.append(_group_frames(folder, parameters, data_group, models, participants_tsv=participants_tsv,
                                   caps_directory=caps_directory, overwrite=overwrite,
                                   skip_leak_check=skip_leak_check, use_labels=use_labels, after=after_predicting,
                                   diagnoses=diagnoses))
    if not overwrite and not skip_complete:
        _refuse_if_complete(maps, data_group, plans)
    return [
        _predict_one(plan, data_group, overwrite=overwrite, use_labels=use_labels, batch_size=batch_size,
                     n_proc=n_proc, gpu=gpu, amp=amp, progress=progress, after=after_predicting,
                     save_masks=save_masks, **saving)
        for plan in plans if overwrite or plan.todo != []
    ]


def _check_request(maps: Path, data_group: str, *, multi_cohort: bool, diagnoses: Sequence[str],
                   participants_tsv) -> None:
    if not is_maps(maps):
        raise MAPSError(f"{maps} is not a MAPS (no maps.json); give the output folder of 'clinicadl train'.")
    if not data_group or "/" in data_group or data_group.startswith("."):
        raise InputError(f"Invalid data group name {data_group!r}; use a plain name such as test.")
    if multi_cohort:
        raise InputError("Multi-cohort prediction (--multi_cohort, a TSV listing CAPS and TSV files) is not provided; "
                         "predict each cohort as its own data group (--caps_directory, --participants_tsv).")
    if diagnoses and participants_tsv is None:
        raise InputError("--diagnoses filters the --participants_tsv of a new data group; give --participants_tsv, "
                         "or remove --diagnoses.")


def _check_saving(parameters: Mapping[str, Any], *, save_tensor: bool, save_nifti: bool,
                  save_latent_tensor: bool) -> None:
    task, mode = parameters["network_task"], parameters["mode"]
    if save_nifti and (task != "reconstruction" or mode != "image"):
        raise InputError(f"--save_nifti writes reconstructed images: it needs a reconstruction model in image mode "
                         f"(this MAPS: {task}, {mode} mode); remove --save_nifti or use --save_tensor.")
    if save_latent_tensor and task != "reconstruction":
        raise InputError(f"--save_latent_tensor writes the latent code of an autoencoder: this MAPS trains {task}; "
                         "remove --save_latent_tensor.")


def _filter_diagnoses(frame: pd.DataFrame, diagnoses: Sequence[str], source: object) -> pd.DataFrame:
    """The sessions of ``frame`` whose ``diagnosis`` is one of ``diagnoses`` (all of them when none is given)."""
    if not diagnoses:
        return frame
    if "diagnosis" not in frame.columns:
        raise InputError(f"{source} has no diagnosis column to filter with --diagnoses; add it, or remove "
                         "--diagnoses.")
    kept = frame[frame["diagnosis"].astype(str).isin([str(d) for d in diagnoses])].reset_index(drop=True)
    if kept.empty:
        present = ", ".join(sorted(set(frame["diagnosis"].astype(str))))
        raise InputError(f"{source}: no session has a diagnosis in {', '.join(diagnoses)} (present: {present}); "
                         "change --diagnoses.")
    return kept


def _refuse_if_complete(maps: Path, data_group: str, plans: Sequence[_GroupPlan]) -> None:
    if all(plan.todo == [] for plan in plans):
        where = plans[0].maps if len(plans) == 1 else maps
        raise MAPSError(f"Group {data_group!r} already exists in {where} and every model has predicted it; add "
                        "--overwrite to compute the predictions again.")


def _predict_one(plan: _GroupPlan, group: str, *, overwrite, use_labels, batch_size, n_proc, gpu, amp, progress,
                 after: AfterPredicting | None, save_masks=False, **saving: bool) -> PredictionResult:
    maps, parameters = plan.maps, plan.parameters
    models = plan.models if plan.todo is None or overwrite else plan.todo
    if plan.replace:
        remove_group(maps, group)
    if plan.register is not None or plan.todo is not None:
        for split, metric in models:  # left by a failed or killed run: never mixed with the new files
            shutil.rmtree(maps / f"split-{split}" / f"best-{metric}" / group, ignore_errors=True)
    try:
        table, written = predict_models(maps, parameters, group, plan.frames, models, caps_directory=plan.caps,
                                        use_labels=use_labels, batch_size=batch_size, n_proc=n_proc, gpu=gpu,
                                        amp=amp, progress=progress, save_masks=save_masks, **saving)
        if plan.register is not None:  # registered once its predictions exist
            label = parameters.get("label") if use_labels else None
            write_group(maps, group, plan.register, caps_directory=plan.caps, label=label)
        if after is not None:
            written += after(maps, group, models)
    except BaseException:
        if plan.created:  # a new group: nothing of it is left behind
            remove_group(maps, group)
        raise
    return PredictionResult(maps, group, table, tuple(written))
