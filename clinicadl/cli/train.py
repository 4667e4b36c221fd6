"""``clinicadl train``: train networks into a MAPS (ClinicaDL 1.x options), optionally as seeded replicates."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from clinicadl.cli import options
from clinicadl.cli.launcher_options import launcher_options, slurm_values
from clinicadl.runtime.metric_names import TASK_METRICS
from clinicadl.training.config import LAUNCHER_KEYS, LOSSES, OPTIMIZERS, SECTIONS, default_parameters

PROCEDURE_OPTIONS = ("replicates", "root_seed", "vary", "overwrite", "hpo_trials", "hpo_space", "study", "sources",
                     "nested", "pack_replicates", *LAUNCHER_KEYS)
"""Options of the learning procedure and of its launcher (ours), not stored among the 1.x parameters."""


@click.group()
def train():
    """Train a network on a CAPS, with confidence intervals on its validation predictions.

    \b
    classification   train a classifier (labels such as AD / CN)
    regression       train a regressor (e.g. age)
    reconstruction   train an auto-encoder
    segmentation     train a 3D U-Net on images with masks (lesions, tumours)
    Each trained model is predicted on its validation group, with participant-level intervals.
    """


@train.command("list_models")
@click.option("--task", type=click.Choice(["classification", "regression", "reconstruction", "segmentation"]),
              default=None,
              help="Only the models of this task.")
@click.option("-a", "--architecture", default=None, help="Only this network, with its details.")
@click.option("-i", "--input_size", default=None,
              help="With -a: input size C@HxW (2D) or C@DxHxW (3D) of the parameter count and layers. "
                   "[default: 1@169x208x179]")
@click.option("-m", "--model_layers", is_flag=True, default=False, help="With -a: print the layers of the network.")
def list_models_command(task, architecture, input_size, model_layers):
    """List the network architectures (-a/--architecture) and what they apply to.

    \b
    Example:
      clinicadl train list_models --task classification
      clinicadl train list_models -a Conv5_FC3 -i 1@85x104x90 -m
    """
    from clinicadl.errors import InputError
    from clinicadl.models.registry import describe_model, list_models, parse_input_size

    if architecture is not None:
        size = None if input_size is None else parse_input_size(input_size)
        click.echo(describe_model(architecture, size, layers=model_layers))
        return
    if input_size is not None or model_layers:
        raise InputError("-i/--input_size and -m/--model_layers describe one network: give it with -a/--architecture.")
    rows = [(m.name, ", ".join(m.tasks), f"{m.n_parameters:,}", m.description) for m in list_models(task)]
    widths = [max(len(r[i]) for r in [("name", "tasks", "parameters*", ""), *rows]) for i in range(3)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(("name", "tasks", "parameters*"), widths)) + "  description")
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3])
    click.echo("* for a 1x169x208x179 t1-linear image and 2 outputs")


def _attach_resume() -> None:
    from clinicadl.cli.train_from_json import from_json
    from clinicadl.cli.train_resume import resume
    from clinicadl.cli.train_status import status

    train.add_command(resume)
    train.add_command(status)
    train.add_command(from_json)


_attach_resume()


def _default(task: str, key: str) -> str:
    value = default_parameters(task).get(key)
    if isinstance(value, list):
        value = " ".join(map(str, value)) or "none"
    return f" [default: {value}]"


def _options(task: str) -> list:
    """The options of ``train <task>``: upstream's names (maps.json keys), default None = not given."""
    return [
        click.option("-c", "--config_file", type=click.Path(exists=True, dir_okay=False),
                     help="TOML file of options (upstream sections); command-line options override it."),
        *_computational_options(task),
        *_model_options(task),
        *_task_options(task),
        *_data_options(task),
        *_optimization_options(task),
        *_procedure_options(),
    ]


def _computational_options(task: str) -> list:
    """Computational and reproducibility options (upstream's [Computational] and [Reproducibility])."""
    d = lambda key: _default(task, key)  # noqa: E731
    return [
        options.gpu,
        options.loader_processes,
        options.batch_size,
        click.option("--evaluation_steps", "-esteps", type=click.IntRange(min=0),
                     help="Also evaluate every N iterations within an epoch (0: at the end of epochs only)."
                          + d("evaluation_steps")),
        click.option("--fully_sharded_data_parallel", "-fsdp", is_flag=True, default=None,
                     help="Not provided (upstream option, accepted for compatibility)."),
        options.amp,
        options.seed,
        click.option("--deterministic/--nondeterministic", default=None,
                     help="Deterministic algorithms: identical seeds give bit-identical results." + d("deterministic")),
        click.option("--compensation", type=click.Choice(["memory", "time"]),
                     help="Kept for compatibility (memory/time trade-off of deterministic mode)." + d("compensation")),
        click.option("--track_exp", "-te", type=click.Choice(["wandb", "mlflow", ""]),
                     help="Track each split offline in the MAPS: mlflow (file store <MAPS>/mlruns) or wandb (offline "
                          "run in <MAPS>/wandb): parameters, metrics of each epoch, selected models. Needs pip "
                          "install \"clinicadl[tracking]\"."),
    ]


def _model_options(task: str) -> list:
    """Model and architecture options (upstream's [Model] and [Architecture])."""
    d = lambda key: _default(task, key)  # noqa: E731
    return [
        click.option("-a", "--architecture", help="Network architecture (see 'clinicadl train list_models')."
                     + d("architecture")),
        click.option("--multi_network/--single_network", default=None, help="Not provided (one network per element)."),
        click.option("--ssda_network/--single_ssda_network", default=None, help="Not provided (domain adaptation)."),
        click.option("--dropout", type=click.FloatRange(0, 1), help="Dropout rate." + d("dropout")),
        click.option("--latent_space_size", type=int, help="Latent size (VAE architectures)." + d("latent_space_size")),
        click.option("--feature_size", type=int, help="Feature size (VAE architectures)." + d("feature_size")),
        click.option("--n_conv", type=int, help="Convolution layers (VAE architectures)." + d("n_conv")),
        click.option("--io_layer_channels", type=int, help="Channels of the first layer (VAE)." +
                     d("io_layer_channels")),
        click.option("--recons_weight", type=int, help="Reconstruction weight (VAE)." + d("recons_weight")),
        click.option("--kl_weight", type=int, help="KL weight (VAE)." + d("kl_weight")),
        click.option("--normalization", type=click.Choice(["batch", "group", "instance"]),
                     help="Normalisation layers." + d("normalization")),
    ]


_SELECTION_CHOICES = {task: ", ".join(("loss", *names)) for task, names in TASK_METRICS.items()}
"""The selection metrics that ``train <task> --help`` lists: the task's metrics, as the trainer logs them."""


def _task_options(task: str) -> list:
    """Options of the task (upstream's [Classification], [Regression], ... sections) and of transfer learning."""
    d = lambda key: _default(task, key)  # noqa: E731
    options_ = [
        click.option("--selection_metrics", "-sm", multiple=True,
                     help=f"Metric(s) selecting the best model, one folder best-<metric> each "
                          f"({_SELECTION_CHOICES[task]})." + d("selection_metrics")),
        click.option("--loss", "-l", type=click.Choice(LOSSES[task]), help="Loss function." + d("loss")),
    ]
    if task not in ("reconstruction", "segmentation"):
        options_.append(click.option("--label", help="Column of the TSV files to learn." + d("label")))
    if task == "segmentation":
        options_ += [
            click.option("--mask_pattern", help="File-name pattern of each session's mask (label map, 0 = background)"
                                                " in the CAPS." + d("mask_pattern")),
            click.option("--n_labels", type=click.IntRange(min=1), help="Foreground labels 1..n_labels of the masks."
                         + d("n_labels")),
            click.option("--nsd_tolerance", type=click.FloatRange(min=0),
                         help="Tolerance (mm) of the normalised surface distance NSD." + d("nsd_tolerance")),
        ]
    if task == "classification":
        options_.append(click.option("--selection_threshold", type=click.FloatRange(0, 1),
                                     help="Kept for compatibility (multi-network soft voting)." +
                                     d("selection_threshold")))
    return [
        *options_,
        click.option("--transfer_path", "-tp", type=click.Path(exists=True, file_okay=False),
                     help="MAPS whose best model initialises the matching layers."),
        click.option("--transfer_selection_metric", "-tsm", help="Selection metric of the transferred model." +
                     d("transfer_selection_metric")),
        click.option("--nb_unfrozen_layer", "-nul", type=click.IntRange(min=0),
                     help="Kept for compatibility." + d("nb_unfrozen_layer")),
        click.option("--use_extracted_features", is_flag=True, default=None,
                     help="Not provided: give the extraction JSON of the saved features instead."),
    ]


def _data_options(task: str) -> list:
    """Data and cross-validation options (upstream's [Data] and [Cross_validation] sections)."""
    d = lambda key: _default(task, key)  # noqa: E731
    return [
        click.option("--multi_cohort/--single_cohort", default=None, help="Not provided (multi-cohort training)."),
        click.option("-d", "--diagnoses", multiple=True,
                     help="Diagnoses kept from the TSV files (repeat the option)." + d("diagnoses")),
        click.option("--baseline/--longitudinal", default=None,
                     help="Train on baseline sessions only (train_baseline.tsv)." + d("baseline")),
        click.option("--valid_longitudinal/--valid_baseline", default=None,
                     help="Validate on all sessions (validation.tsv) rather than baseline ones." +
                     d("valid_longitudinal")),
        click.option("--normalize/--unnormalize", default=None, help="Min-max normalisation of inputs." +
                     d("normalize")),
        click.option("--data_augmentation", "-da", multiple=True,
                     help="Augmentation(s): Noise, Erasing, CropPad, Smoothing, RandomBlur, Spike, BiasField, "
                          "RandomSwap, Flip, Affine, Motion, Ghosting (repeat the option)."),
        click.option("--sampler", type=click.Choice(["random", "weighted"]),
                     help="Training sampler (weighted: balanced classes)." + d("sampler")),
        click.option("--size_reduction/--no-size_reduction", default=None, help="Not provided."),
        click.option("--size_reduction_factor", type=int, help="Not provided." + d("size_reduction_factor")),
        click.option("--caps_target", help="Not provided (domain adaptation)."),
        click.option("--tsv_target_lab", help="Not provided (domain adaptation)."),
        click.option("--tsv_target_unlab", help="Not provided (domain adaptation)."),
        click.option("--preprocessing_dict_target", help="Not provided (domain adaptation)."),
        click.option("--n_splits", type=click.IntRange(min=0),
                     help="Number of splits of TSV_DIRECTORY (split-<i>/ folders of tsvtools kfold; 0: one split)."
                          + d("n_splits")),
        options.train_split,
    ]


def _optimization_options(task: str) -> list:
    """Optimisation options (upstream's [Optimization] section and the options it does not provide)."""
    d = lambda key: _default(task, key)  # noqa: E731
    return [
        click.option("--optimizer", type=click.Choice(OPTIMIZERS), help="Optimizer." + d("optimizer")),
        click.option("--epochs", type=click.IntRange(min=1), help="Maximum number of epochs." + d("epochs")),
        click.option("--learning_rate", "-lr", type=click.FloatRange(min=0, min_open=True),
                     help="Learning rate." + d("learning_rate")),
        click.option("--adaptive_learning_rate", "-alr", is_flag=True, default=None,
                     help="Divide the learning rate by 10 when the validation loss plateaus." +
                     d("adaptive_learning_rate")),
        click.option("--weight_decay", "-wd", type=click.FloatRange(min=0), help="Weight decay." + d("weight_decay")),
        click.option("--patience", type=click.IntRange(min=0),
                     help="Epochs without improvement of the validation loss before stopping (0: never)."
                          + d("patience")),
        click.option("--tolerance", type=click.FloatRange(min=0), help="Minimal improvement of the loss." +
                     d("tolerance")),
        click.option("--accumulation_steps", "-asteps", type=click.IntRange(min=1),
                     help="Gradient accumulation steps." + d("accumulation_steps")),
        click.option("--profiler/--no-profiler", default=None, help="Not provided."),
        click.option("--save_all_models/--save_only_best_model", default=None, help="Not provided."),
        click.option("--calculate_emissions/--dont_calculate_emissions",
                     "--emissions_calculator/--no-emissions_calculator", "emissions_calculator", default=None,
                     help="Not provided (upstream's emissions calculator)."),
    ]


def _procedure_options() -> list:
    """Options of the learning procedure (ours) and of its launcher (the [Launcher] TOML section)."""
    return [
        click.option("--replicates", type=click.IntRange(min=1),
                     help="Train the whole procedure R times with recorded seeds (replicate-<r>/ folders); "
                          "without it, one plain MAPS."),
        click.option("--root_seed", type=click.IntRange(min=0),
                     help="Root seed of the replicates' seeds. [default: --seed]"),
        click.option("--vary", help="Sources of variance re-drawn per replicate, comma-separated, among split, init, "
                                    "order, augmentation, dropout, hpo. [default: split,init,order,augmentation,"
                                    "dropout]"),
        options.n_jobs,
        options.pack_replicates,
        options.overwrite,
        click.option("--hpo_space", type=click.Path(exists=True, dir_okay=False),
                     help="With --vary ...,hpo (or --study sources --sources ...,hpo): TOML whose [Random_Search] "
                          "section is the search space; every replicate that re-draws hpo runs its own random search "
                          "seeded by its hpo seed (docs/random-search.md)."),
        click.option("--hpo_trials", type=click.IntRange(min=1),
                     help="With --vary ...,hpo: configurations trained per replicate; the best on validation is "
                          "kept."),
        click.option("--study", type=click.Choice(["sources"]),
                     help="A variance study: for each of --sources, R replicates that re-draw only that source, plus "
                          "R that re-draw them all (the reference configuration is trained once); read it with "
                          "'clinicadl evaluate sources' (docs/variance-study.md)."),
        click.option("--sources", help="With --study sources: the sources studied, comma-separated, among split, "
                                       "init, order, augmentation, dropout, hpo (hpo: with --hpo_space and "
                                       "--hpo_trials; the other models keep the reference's choice). [default: "
                                       "split,init,order,augmentation,dropout]"),
        click.option("--nested", type=(click.IntRange(min=2), click.IntRange(min=2)), default=None,
                     metavar="S K", help="With --study sources: add S splits x K seed draws per split, which "
                                          "separates the split from the seeds."),
        *launcher_options(),
    ]


def _option_names(command: click.Command) -> set[str]:
    return {p.name for p in command.params if isinstance(p, click.Option)}


def _search_train_fn(task: str, vary: tuple[str, ...], procedure: dict, replicates, parameters: dict):
    """The train function of replicates that search their hyper-parameters (``--vary ...,hpo``), else None."""
    from clinicadl.errors import InputError

    space, trials = procedure["hpo_space"], procedure["hpo_trials"]
    if "hpo" not in vary:
        if space or trials:
            raise InputError("--hpo_space and --hpo_trials need 'hpo' among the sources varied (e.g. --vary all,hpo, "
                             "or --study sources --sources init,hpo).")
        return None
    if not (space and trials and replicates):
        raise InputError("varying 'hpo' re-runs a random search per replicate: give --replicates, --hpo_space "
                         "(a TOML with a [Random_Search] section) and --hpo_trials.")
    from clinicadl.training.hpo import HPO_KEY, SearchTrainFn, read_search_space

    search_space, _ = read_search_space(space, task)
    parameters[HPO_KEY] = {"space": str(Path(space).resolve()), "n_trials": int(trials)}
    return SearchTrainFn(search_space, int(trials))


def _run_study(procedure: dict, parameters: dict, output: Path, root_seed, launcher: str, detach: bool) -> None:
    """``--study sources``: lay out and train a variance study."""
    from clinicadl.errors import InputError
    from clinicadl.evaluate.prediction_intervals import ModelIntervals
    from clinicadl.training.seeds import DEFAULT_VARIED, check_sources
    from clinicadl.training.variance_study import train_study

    if not procedure["replicates"]:
        raise InputError("--study sources needs --replicates R: the models trained per source (R >= 2).")
    if procedure["vary"]:
        raise InputError("--study sources re-draws one source at a time: give the sources with --sources, not "
                         "--vary.")
    sources = check_sources(procedure["sources"].split(",") if procedure["sources"] else DEFAULT_VARIED)
    replicates = int(procedure["replicates"])
    search = _search_train_fn(str(parameters["network_task"]), sources, procedure, replicates, parameters)
    result = train_study(parameters, output, sources=sources, n_replicates=replicates, root_seed=int(root_seed),
                         train_fn=search,
                         nested=tuple(procedure["nested"]) if procedure["nested"] else None,
                         n_jobs=procedure["n_jobs"] or 1, overwrite=bool(procedure["overwrite"]), launcher=launcher,
                         slurm=slurm_values(procedure), wait=not detach, after_split=ModelIntervals())
    click.echo(f"Variance study in {output}: {len(result.statuses)} trainings, "
               f"{sum(s == 'done' for s in result.statuses.values())} done. Next: clinicadl predict {output} "
               f"<GROUP> ..., then clinicadl evaluate sources {output} <GROUP>.")


def _run(task: str, ctx: click.Context) -> None:
    from clinicadl.errors import InputError
    from clinicadl.maps.writer import refuse_existing_maps
    from clinicadl.training.config import check_inputs_early, load_config, resolve_parameters
    from clinicadl.training.launcher import check_launcher
    from clinicadl.training.seeds import DEFAULT_VARIED, check_sources

    names = _option_names(ctx.command) - {"config_file"}
    given = {name: (ctx.params[name] if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE else None)
             for name in names}
    parameters = load_config(task, given, ctx.params["config_file"], known=names)
    procedure = {key: parameters.pop(key, None) for key in PROCEDURE_OPTIONS}
    launcher, detach = procedure["launcher"] or "local", bool(procedure["detach"])
    check_launcher(launcher, slurm_values(procedure))  # before the inputs are read
    if detach and launcher != "slurm":
        raise InputError("--detach needs --launcher slurm (local jobs end with this command).")
    vary = procedure["vary"]
    vary = check_sources(vary.split(",") if isinstance(vary, str) else vary) if vary else DEFAULT_VARIED
    output = Path(ctx.params["output_maps_directory"])
    overwrite = bool(procedure["overwrite"])
    refuse_existing_maps(output, overwrite=overwrite)
    check_inputs_early(parameters, network_task=task, caps_directory=ctx.params["caps_directory"],
                       preprocessing_json=ctx.params["preprocessing_json"], tsv_directory=ctx.params["tsv_directory"])
    parameters = resolve_parameters(parameters, network_task=task, caps_directory=ctx.params["caps_directory"],
                                    preprocessing_json=ctx.params["preprocessing_json"],
                                    tsv_directory=ctx.params["tsv_directory"])
    root_seed = procedure["root_seed"] if procedure["root_seed"] is not None else parameters["seed"]
    replicates = procedure["replicates"]  # None: one plain 1.x MAPS; R: R replicates in replicate-<r>/
    if procedure["study"] and procedure["pack_replicates"]:
        raise InputError("--pack_replicates is not available for variance studies (--study); remove it.")
    if procedure["study"]:
        _run_study(procedure, parameters, output, root_seed, launcher, detach)
        return
    if procedure["sources"] or procedure["nested"]:
        raise InputError("--sources and --nested describe a variance study: add --study sources.")
    train_fn = _search_train_fn(task, vary, procedure, replicates, parameters)
    from clinicadl.evaluate.prediction_intervals import ModelIntervals
    from clinicadl.training.replicates import train_procedure

    result = train_procedure(parameters, output, replicates=None if replicates is None else int(replicates),
                             root_seed=int(root_seed), vary=vary,
                             n_jobs=procedure["n_jobs"] or (replicates if launcher == "slurm" and replicates else 1),
                             overwrite=overwrite, launcher=launcher, slurm=slurm_values(procedure), wait=not detach,
                             train_fn=train_fn, after_split=ModelIntervals(),
                             pack_replicates=procedure["pack_replicates"] or 1)
    if detach:
        click.echo(f"Submitted {len(result.trained)} replicates of {output}; follow them with "
                   f"'clinicadl train status {output}'.")
    else:
        from clinicadl.training.summary import format_training_summary, single_class_warnings, training_summary

        rows = training_summary(output)
        click.echo(format_training_summary(rows))
        for warning in single_class_warnings(rows):
            click.echo(f"Warning: {warning}.", err=True)
        click.echo(f"Written: {output}")


_EXAMPLES = {
    "classification": "clinicadl train classification caps/ extract_image.json labels/split/5_fold maps/ \\\n"
                      "    --n_splits 5 -a Conv5_FC3 -d AD -d CN --epochs 20 --selection_metrics BA",
    "regression": "clinicadl train regression caps/ extract_image.json labels/split/ maps_age/ --label age",
    "reconstruction": "clinicadl train reconstruction caps/ extract_image.json labels/split/ maps_ae/",
    "segmentation": "clinicadl train segmentation lesions_caps/ image.json lesions_caps/split/ maps_seg/ \\\n"
                    "    -a UNet3D --epochs 20 --selection_metrics Dice --replicates 3",
}


def _make_command(task: str) -> click.Command:
    def command(**_):
        _run(task, click.get_current_context())

    command.__doc__ = f"""Train a {task} network.

    CAPS_DIRECTORY holds the tensors of PREPROCESSING_JSON (a file of <caps>/tensor_extraction/, from
    prepare-data); TSV_DIRECTORY is the output of tsvtools split (train.tsv, validation_baseline.tsv) or of
    tsvtools kfold with --n_splits (split-<i>/ folders). Options may also come from a TOML file (-c) with
    upstream's sections ({', '.join(s for s in SECTIONS)}); the command line overrides it.
    Writes a ClinicaDL 1.x MAPS, with the validation predictions of each best model and their
    participant-level confidence intervals (<group>_image_level_metrics_ci.tsv).

    \b
    Example:
      {_EXAMPLES[task]}
    """
    for option in reversed(_options(task)):
        command = option(command)
    for name in reversed(("caps_directory", "preprocessing_json", "tsv_directory", "output_maps_directory")):
        command = click.argument(name)(command)
    return click.command(task, context_settings={"max_content_width": 110})(command)


for _task in ("classification", "regression", "reconstruction", "segmentation"):
    train.add_command(_make_command(_task))
