"""Training parameters: ClinicaDL 1.x's flat ``maps.json`` dictionary, its defaults and how it is filled.

The parameters of ``clinicadl train`` are the keys of upstream's train TOML sections (``[Model]``,
``[Architecture]``, ``[Classification]``, ``[Regression]``, ``[Reconstruction]``, ``[Segmentation]`` (ours),
``[Computational]``, ``[Reproducibility]``, ``[Transfer_learning]``, ``[Mode]``, ``[Data]``, ``[Cross_validation]``,
``[Optimization]``, ``[Informations]``), flattened into one dict, as ``maps.json`` stores them. Values come from
three places, each overriding the one before:

1. the defaults of the task (:func:`default_parameters`);
2. the TOML file given with ``--config_file`` (sections are flattened; section names are checked like keys: a
   section with a typo such as ``[Modle]`` is refused, naming the known ones; the sections of the other tasks are
   ignored, so upstream's template ``train_config.toml`` is read as it is);
3. the options given on the command line.

:func:`load_config` merges them and checks every TOML key against the options the command itself declares (the
caller passes them), so the TOML and the command line always accept the same names. :func:`resolve_parameters` then
adds what ``maps.json`` derives from the inputs (``network_task``, ``caps_directory``, ``tsv_path``,
``preprocessing_dict``, ``mode``, ``label_code``, ``input_size``, ``output_size``, ``validation`` ...).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from clinicadl.errors import InputError
from clinicadl.runtime.metric_names import TASKS, check_task, task_metrics
from clinicadl.stats.metrics import lower_is_better_names
from clinicadl.training.tracking import check_tracking

__all__ = [
    "LAUNCHER_KEYS",
    "LAUNCHER_SECTION",
    "LOWER_IS_BETTER",
    "SECTIONS",
    "TASKS",
    "UNSUPPORTED",
    "check_inputs_early",
    "default_parameters",
    "load_config",
    "load_toml",
    "read_toml",
    "resolve_parameters",
    "task_metrics",
]


_TASK_SECTION = {"classification": "Classification", "regression": "Regression", "reconstruction": "Reconstruction",
                 "segmentation": "Segmentation"}

SECTIONS: dict[str, dict[str, Any]] = {
    "Model": {"architecture": None, "multi_network": False, "ssda_network": False},
    "Architecture": {"dropout": 0.0, "latent_space_size": 128, "feature_size": 1024, "n_conv": 4,
                     "io_layer_channels": 8, "recons_weight": 1, "kl_weight": 1, "normalization": "batch"},
    "Classification": {"selection_metrics": ["loss"], "label": "diagnosis", "selection_threshold": 0.0,
                       "loss": "CrossEntropyLoss"},
    "Regression": {"selection_metrics": ["loss"], "label": "age", "loss": "MSELoss"},
    "Reconstruction": {"selection_metrics": ["loss"], "loss": "MSELoss"},
    "Segmentation": {"selection_metrics": ["loss"], "loss": "DiceCELoss", "mask_pattern": "*_dseg.nii.gz",
                     "n_labels": 1, "nsd_tolerance": 1.0},
    "Computational": {"gpu": True, "n_proc": 2, "batch_size": 8, "evaluation_steps": 0,
                      "fully_sharded_data_parallel": False, "amp": False},
    "Reproducibility": {"seed": 0, "deterministic": False, "compensation": "memory", "track_exp": ""},
    "Transfer_learning": {"transfer_path": "", "transfer_selection_metric": "loss", "nb_unfrozen_layer": 0},
    "Mode": {"use_extracted_features": False},
    "Data": {"multi_cohort": False, "diagnoses": ["AD", "CN"], "baseline": False, "valid_longitudinal": False,
             "normalize": True, "data_augmentation": [], "sampler": "random", "size_reduction": False,
             "size_reduction_factor": 2, "caps_target": "", "tsv_target_lab": "", "tsv_target_unlab": "",
             "preprocessing_dict_target": ""},
    "Cross_validation": {"n_splits": 0, "split": []},
    "Optimization": {"optimizer": "Adam", "epochs": 20, "learning_rate": 1e-4, "adaptive_learning_rate": False,
                     "weight_decay": 1e-4, "patience": 0, "tolerance": 0.0, "accumulation_steps": 1,
                     "profiler": False, "save_all_models": False},
    "Informations": {"emissions_calculator": False},
}
"""Upstream's train TOML sections and their defaults (``architecture`` depends on the task)."""

LAUNCHER_SECTION = "Launcher"
LAUNCHER_KEYS: tuple[str, ...] = ("launcher", "n_jobs", "detach", "partition", "account", "qos", "time",
                                  "gpus_per_task", "cpus_per_task", "mem_gb", "sbatch", "setup")
"""Keys of the ``[Launcher]`` TOML section (ours): where the replicates run (``launcher = "slurm"``), how many at
once, and the resources of each SLURM job. They are options of ``train``, never stored in ``maps.json``; their values
are checked by :func:`clinicadl.training.launcher.check_launcher`."""

DEFAULT_ARCHITECTURE = {"classification": "Conv5_FC3", "regression": "Conv5_FC3", "reconstruction": "AE_Conv5_FC3",
                        "segmentation": "UNet3D"}

UNSUPPORTED: dict[str, str] = {
    "multi_network": "one network per patch/slice/ROI",
    "ssda_network": "semi-supervised domain adaptation",
    "fully_sharded_data_parallel": "fully sharded data parallel",
    "use_extracted_features": "training on saved features (give the extraction JSON of the tensors instead)",
    "multi_cohort": "multi-cohort training",
    "size_reduction": "size reduction",
    "profiler": "the profiler",
    "save_all_models": "saving the model of every epoch",
    "emissions_calculator": "the emissions calculator",
    "caps_target": "domain adaptation", "tsv_target_lab": "domain adaptation",
    "tsv_target_unlab": "domain adaptation",
}
"""Upstream parameters accepted (they are maps.json keys) but only at their default value: feature -> what it is."""

OPTIMIZERS = ("Adam", "SGD", "AdamW", "Adagrad", "Adadelta", "RMSprop", "Adamax", "ASGD", "NAdam", "RAdam")
LOSSES = {
    "classification": ("CrossEntropyLoss", "MultiMarginLoss"),
    "regression": ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "BCEWithLogitsLoss"),
    "reconstruction": ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "BCEWithLogitsLoss"),
    "segmentation": ("DiceCELoss", "DiceLoss", "CrossEntropyLoss"),
}
SAMPLERS = ("random", "weighted")
NORMALIZATIONS = ("batch", "group", "instance")

LOWER_IS_BETTER = lower_is_better_names()
"""Metrics (and the loss) for which a lower value is better (from the metric registry); all others: higher."""


def default_parameters(task: str) -> dict[str, Any]:
    """The flat defaults of a task: every section but the other tasks' sections, architecture set.

    Examples
    --------
    >>> p = default_parameters("regression")
    >>> p["label"], p["architecture"], "selection_threshold" in p
    ('age', 'Conv5_FC3', False)
    """
    check_task(task)
    parameters: dict[str, Any] = {}
    for section, values in SECTIONS.items():
        if section in _TASK_SECTION.values() and section != _TASK_SECTION[task]:
            continue
        parameters.update(copy.deepcopy(values))
    parameters["architecture"] = DEFAULT_ARCHITECTURE[task]
    if task == "segmentation":  # masks are the targets: no diagnosis filter by default
        parameters["diagnoses"] = []
    return parameters


def load_toml(path: str | Path, *, missing: str) -> dict[str, Any]:
    """The content of a TOML file; ``missing`` is the message when it does not exist.

    Raises
    ------
    InputError
        If the file is missing or not valid TOML.
    """
    import toml

    path = Path(path)
    if not path.is_file():
        raise InputError(missing)
    try:
        return toml.loads(path.read_text(encoding="utf-8"))
    except (toml.TomlDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path} is not valid TOML ({error}); fix the file.") from None


def read_toml(path: str | Path, task: str | None = None) -> dict[str, Any]:
    r"""Flatten a train TOML file: ``{key: value}`` from every section (and the top level).

    Upstream's template ``train_config.toml`` has a section per task (``[Classification]``, ``[Regression]``,
    ``[Reconstruction]``) that repeat keys such as ``selection_metrics``, ``label`` and ``loss``: with ``task``
    given, the section of that task is read and those of the other tasks are ignored, as upstream does.
    Upstream's placeholders are read as upstream reads them: ``architecture = "default"`` (the task's default
    network), ``label_code = {}`` (computed from the labels), ``data_augmentation = false`` (none).

    Parameters
    ----------
    path : str or Path
        The TOML file.
    task : str, optional
        The network task being trained; None reads every section.

    Raises
    ------
    InputError
        If the file is missing, not valid TOML, has a section that is not one of :data:`SECTIONS` (or
        ``[Launcher]``), names a key in two sections read, or gives a ``label_code``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.toml"
    >>> _ = path.write_text('[Classification]\nlabel = "diagnosis"\n[Regression]\nlabel = "age"\n')
    >>> read_toml(path, task="regression")
    {'label': 'age'}
    """
    path = Path(path)
    content = load_toml(path, missing=f"Configuration file {path} does not exist; give the path of a TOML file.")
    known = (*SECTIONS, LAUNCHER_SECTION)
    unknown = sorted(name for name, value in content.items() if isinstance(value, dict) and name not in known)
    if unknown:
        raise InputError(f"{path}: unknown section(s) {', '.join(f'[{n}]' for n in unknown)}; the sections are "
                         f"{', '.join(f'[{n}]' for n in known)}.")
    if task is not None:
        check_task(task)
    skipped = {section for name, section in _TASK_SECTION.items() if task is not None and name != task}
    flat: dict[str, Any] = {}
    where: dict[str, str] = {}
    for name, value in content.items():
        if name in skipped and isinstance(value, dict):
            continue
        items = value.items() if isinstance(value, dict) else [(name, value)]
        section = name if isinstance(value, dict) else "top level"
        for key, item in items:
            if key in flat:
                raise InputError(f"{path}: key {key!r} is given twice ([{where[key]}] and [{section}]); keep one.")
            flat[key], where[key] = item, section
    return _upstream_placeholders(flat, path)


def _upstream_placeholders(flat: dict[str, Any], path: Path) -> dict[str, Any]:
    """Read the placeholder values of upstream's template TOML as upstream does (see :func:`read_toml`)."""
    if flat.get("architecture") == "default":
        del flat["architecture"]
    if "label_code" in flat:
        if flat["label_code"] not in ({}, None, ""):
            raise InputError(f"{path}: label_code = {flat['label_code']!r}; the label codes are computed from the "
                             "sorted labels (AD -> 0, CN -> 1), remove label_code from the file.")
        del flat["label_code"]
    if flat.get("data_augmentation") is False:
        flat["data_augmentation"] = []
    return flat


def _coerce(key: str, value: Any, default: Any, source: str) -> Any:
    """Check a TOML value against the type of its default (lists of one type, numbers, booleans, strings)."""
    if default is None or value is None:
        return value
    kind = type(default)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, list):
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = [value]
        ok = isinstance(value, list)
        if ok and key == "split":
            ok = all(isinstance(item, int) and not isinstance(item, bool) for item in value)
    else:
        ok = isinstance(value, kind) or (key == "transfer_path" and value is False)
    if not ok:
        raise InputError(f"{source}: {key} = {value!r} should be a {kind.__name__} (like its default {default!r}).")
    return value


def load_config(
    task: str, cli_options: Mapping[str, Any], toml_path: str | Path | None = None, *,
    known: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Merge the defaults of ``task``, a TOML file and the command line (in this order of precedence).

    Parameters
    ----------
    task : {"classification", "regression", "reconstruction", "segmentation"}
    cli_options : mapping
        The options of the command: name -> value, None meaning "not given on the command line". Its keys are the
        names a TOML file may use (unless ``known`` is given). Empty tuples count as not given.
    toml_path : path, optional
        The ``--config_file``.
    known : iterable of str, optional
        The names a TOML key may take (the command's options); default: the keys of ``cli_options``.

    Returns
    -------
    dict
        Flat parameters: every default key of the task, plus any other key set by the TOML or the command line.

    Raises
    ------
    InputError
        For a TOML key that is not an option of the command (all unknown keys are named), a value of the wrong
        type, or an upstream feature this package does not provide (see :data:`UNSUPPORTED`).

    Examples
    --------
    >>> p = load_config("classification", {"epochs": 3, "batch_size": None})
    >>> p["epochs"], p["batch_size"]
    (3, 8)
    """
    parameters = default_parameters(task)
    known = set(cli_options if known is None else known)
    if toml_path:
        source = str(toml_path)
        values = read_toml(toml_path, task)
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"{source}: unknown key(s) {', '.join(unknown)} for 'train {task}'; the keys are the "
                             f"option names of the command (see 'clinicadl train {task} --help').")
        for key, value in values.items():
            parameters[key] = _coerce(key, value, parameters.get(key), source)
    for key, value in cli_options.items():
        if value is None or (isinstance(value, tuple | list) and len(value) == 0):
            continue
        parameters[key] = list(value) if isinstance(value, tuple) else value
    _check_values(task, parameters)
    return parameters


def _check_values(task: str, parameters: dict[str, Any]) -> None:
    defaults = default_parameters(task)
    for key, feature in UNSUPPORTED.items():
        if key in parameters and parameters[key] not in (defaults[key], None, "", False):
            raise InputError(f"{key} = {parameters[key]!r} asks for {feature}, which this clinicadl does not "
                             f"provide; remove it from the options or the TOML file.")
    check_tracking(parameters.get("track_exp", ""))
    if parameters.get("transfer_path") is False:
        parameters["transfer_path"] = ""
    checks = [
        ("optimizer", OPTIMIZERS), ("loss", LOSSES[task]), ("sampler", SAMPLERS),
        ("normalization", NORMALIZATIONS),
    ]
    for key, allowed in checks:
        if parameters.get(key) not in allowed:
            raise InputError(f"{key} = {parameters.get(key)!r} is not valid for {task}; choose among "
                             f"{', '.join(allowed)}.")
    positive = ["batch_size", "epochs", "accumulation_steps"]
    for key in positive:
        if not isinstance(parameters[key], int) or parameters[key] < 1:
            raise InputError(f"{key} = {parameters[key]!r} must be a positive integer.")
    for key in ("n_proc", "evaluation_steps", "patience", "n_splits", "seed"):
        if not isinstance(parameters[key], int) or parameters[key] < 0:
            raise InputError(f"{key} = {parameters[key]!r} must be a non-negative integer.")
    if not 0 <= float(parameters["dropout"]) <= 1:
        raise InputError(f"dropout = {parameters['dropout']} must lie in [0, 1].")
    if task == "segmentation":
        _check_segmentation(parameters)
    if float(parameters["learning_rate"]) <= 0:
        raise InputError(f"learning_rate = {parameters['learning_rate']} must be positive.")
    allowed_metrics = task_metrics(task, n_classes=3 if task == "classification" else 2)
    allowed = set(task_metrics(task)) | set(allowed_metrics)
    wrong = [m for m in parameters["selection_metrics"] if m not in allowed]
    if wrong:
        raise InputError(f"Unknown selection metric(s) {', '.join(map(str, wrong))} for {task}; choose among "
                         f"{', '.join(task_metrics(task))}.")
    parameters["selection_metrics"] = list(dict.fromkeys(parameters["selection_metrics"]))
    parameters["data_augmentation"] = list(parameters.get("data_augmentation") or [])
    parameters["split"] = [int(s) for s in parameters.get("split") or []]


def _check_segmentation(parameters: dict[str, Any]) -> None:
    n_labels = parameters.get("n_labels")
    if isinstance(n_labels, bool) or not isinstance(n_labels, int) or n_labels < 1:
        raise InputError(f"n_labels = {n_labels!r} must be a positive integer (foreground labels 1..n_labels of "
                         "the masks).")
    tolerance = parameters.get("nsd_tolerance")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 <= float(tolerance) < 1e6:
        raise InputError(f"nsd_tolerance = {tolerance!r} must be a distance >= 0 in mm.")
    parameters["nsd_tolerance"] = float(tolerance)
    pattern = parameters.get("mask_pattern")
    if not isinstance(pattern, str) or not pattern.strip() or "/" in pattern:
        raise InputError(f"mask_pattern = {pattern!r} must be a file-name pattern such as '*_dseg.nii.gz'.")


# ---------------------------------------------------------------------------------------------------------------
# derived keys


def check_inputs_early(parameters: Mapping[str, Any], *, network_task: str, caps_directory: str | Path,
                       preprocessing_json: str, tsv_directory: str | Path) -> None:
    """The checks of :func:`resolve_parameters` that need no torch: the architecture name, the CAPS folder, the
    extraction JSON file, the split files and the labels of the training pool (``--diagnoses``).

    ``clinicadl train`` runs them before anything heavy is imported, so that a wrong option ends in one line
    within a second rather than after the start-up of torch.

    Raises
    ------
    InputError, CAPSError
        As :func:`resolve_parameters`, for the inputs named above.
    """
    from clinicadl.data.caps import check_caps
    from clinicadl.errors import CAPSError
    from clinicadl.models.names import check_architecture
    from clinicadl.training.partitions import read_pool, split_indices

    check_task(network_task)
    check_architecture(str(parameters["architecture"]), network_task)
    caps = check_caps(caps_directory)
    path = caps / "tensor_extraction" / str(preprocessing_json)
    if not path.is_file():
        found = sorted(item.name for item in path.parent.glob("*.json")) if path.parent.is_dir() else []
        raise CAPSError(f"Extraction JSON {path} does not exist (found: {', '.join(found) or 'none'}); run "
                        "'clinicadl prepare-data' with --extract_json, or give one of those names.")
    pool_parameters = {**parameters, "network_task": network_task, "tsv_path": str(Path(tsv_directory).resolve())}
    if network_task in ("reconstruction", "segmentation"):
        pool_parameters["label"] = None
    split_indices(pool_parameters)
    read_pool(pool_parameters)


def resolve_parameters(
    parameters: Mapping[str, Any],
    *,
    network_task: str,
    caps_directory: str | Path,
    preprocessing_json: str | Mapping,
    tsv_directory: str | Path,
) -> dict[str, Any]:
    """Add the keys ``maps.json`` derives from the inputs, checking the inputs on the way.

    Adds ``network_task``, ``caps_directory`` and ``tsv_path`` (absolute paths as strings),
    ``preprocessing_dict`` (the whole extraction JSON), ``mode``, ``label`` (None for reconstruction and
    segmentation, whose targets are the masks found with ``mask_pattern``),
    ``label_code`` (sorted labels -> 0..K-1, classification only; ``{}`` otherwise), ``selection_threshold``,
    ``num_networks``, ``output_size``, ``input_size`` (read from the first training image) and ``validation``
    (``KFoldSplit`` or ``SingleSplit``).

    Raises
    ------
    InputError, CAPSError
        Unknown architecture (the available ones are listed), TSV_DIRECTORY without split files, label column
        missing, labels outside ``label_code``, a CAPS or extraction JSON that does not match, unknown data
        augmentation.
    """
    from clinicadl.data.augmentation import check_augmentations
    from clinicadl.data.extraction import check_parameters, load_extraction_json
    from clinicadl.training.partitions import read_pool, split_indices

    check_task(network_task)
    resolved = dict(parameters)
    check_augmentations(resolved.get("data_augmentation"))
    _check_architecture(resolved["architecture"], network_task)
    caps = Path(caps_directory).resolve()
    if isinstance(preprocessing_json, Mapping):
        preprocessing = check_parameters(dict(preprocessing_json), source="preprocessing_dict")
    else:
        preprocessing = load_extraction_json(caps, str(preprocessing_json))
    resolved.update(
        network_task=network_task,
        caps_directory=str(caps),
        tsv_path=str(Path(tsv_directory).resolve()),
        preprocessing_dict=preprocessing,
        mode=preprocessing["mode"],
    )
    if network_task in ("reconstruction", "segmentation"):
        resolved["label"] = None
    if network_task == "segmentation" and resolved["mode"] != "image":
        raise InputError(f"Segmentation trains on whole images; the extraction JSON has mode {resolved['mode']!r}: "
                         "run 'clinicadl prepare-data image' and give its JSON.")
    split_indices(resolved)  # checks the split files exist
    pool = read_pool(resolved)
    if network_task == "classification":
        labels = sorted({str(value) for value in pool[resolved["label"]]})
        if len(labels) < 2:
            raise InputError(f"The training data of {resolved['tsv_path']} have a single value of "
                             f"{resolved['label']} ({', '.join(labels)}); classification needs two classes or more.")
        resolved["label_code"] = {label: code for code, label in enumerate(labels)}
        resolved.setdefault("selection_threshold", 0.0)
    else:
        resolved["label_code"] = {}
    num_classes = len(resolved["label_code"])
    allowed = set(task_metrics(network_task, max(num_classes, 2)))
    wrong = [m for m in resolved["selection_metrics"] if m not in allowed]
    if wrong:
        raise InputError(f"Selection metric(s) {', '.join(wrong)} do not exist with {num_classes} classes; choose "
                         f"among {', '.join(sorted(allowed))}.")
    input_size = _input_size(resolved, pool)
    resolved["split"] = [int(s) for s in resolved.get("split") or []]
    resolved["validation"] = "KFoldSplit" if int(resolved["n_splits"]) > 1 else "SingleSplit"
    resolved["num_networks"] = 1
    resolved["output_size"] = {"classification": num_classes, "regression": 1, "reconstruction": list(input_size),
                               "segmentation": int(resolved.get("n_labels", 1)) + 1}[network_task]
    resolved["input_size"] = list(input_size)
    return resolved


def _check_architecture(name: str, task: str) -> None:
    from clinicadl.models.names import check_architecture
    from clinicadl.models.registry import list_models

    check_architecture(name, task)

    infos = list(list_models())
    names = [getattr(info, "name", info) for info in infos]
    suited = [getattr(info, "name", info) for info in infos if task in getattr(info, "tasks", (task,))]
    if name not in names:
        raise InputError(f"Unknown architecture {name!r}; available architectures for {task}: {', '.join(suited)} "
                         "(see 'clinicadl train list_models').")
    if name not in suited:
        raise InputError(f"Architecture {name!r} does not do {task}; choose among {', '.join(suited)}.")


def _input_size(parameters: Mapping[str, Any], pool) -> tuple[int, ...]:
    from clinicadl.data.datasets import CapsDataset

    dataset = CapsDataset(parameters["caps_directory"], pool.iloc[:1], parameters["preprocessing_dict"],
                          normalize=bool(parameters["normalize"]))
    return tuple(int(size) for size in dataset.size)
