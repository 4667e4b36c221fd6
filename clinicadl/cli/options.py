"""Every click option that more than one command takes, declared once: one name, one type, one default, one help.

A command takes a shared option by stacking its decorator (``@options.seed``). Two meanings that ClinicaDL 1.x
gave the same name (``--n_proc``: worker processes of ``prepare-data`` and ``generate``, data-loading processes of
``train`` and ``predict``) have one declaration each here; ``tests/cli/test_option_declarations.py`` fails when
two commands declare an option differently, except for the short, commented list of intentional differences it
holds. Options that one command alone takes stay with that command.
"""

from __future__ import annotations

from collections.abc import Callable

import click

PET_SUVR_REGIONS = ("pons", "cerebellumPons", "pons2", "cerebellumPons2")
"""SUVR reference regions of Clinica's pet-linear pipeline (the ``suvr-`` entity of the file names)."""


def stack(*decorators: Callable) -> Callable:
    """One decorator applying ``decorators`` in reading order (the first one is the first option of ``--help``)."""

    def decorate(command: Callable) -> Callable:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return decorate


def _train_default(key: str) -> str:
    """Training's default of ``key`` (the same for every task), as ``--help`` prints it."""
    from clinicadl.training.config import default_parameters

    return str(default_parameters("classification")[key])


# ------------------------------------------------------------------------------------------------ seeds and runs

seed = click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                    help="Seed of the command's random draws (resampling, data generation, split or training), "
                         "recorded with the results: the same seed and options give the same results.")
overwrite = click.option("--overwrite", "-o", is_flag=True, default=False,
                         help="Replace an existing output instead of refusing: the MAPS (train), the data group and "
                              "its predictions, never train or validation (predict, interpret), the TSVs (tsvtools).")
n_jobs = click.option("--n_jobs", type=click.IntRange(min=1), default=None,
                      help="Jobs run at once, one local process or one SLURM job each: replicates (train, predict) "
                           "or chunks of simulated studies (evaluate simulate; the numbers do not depend on it). "
                           "[default: 1; train and predict with --launcher slurm: one per replicate; train resume: "
                           "as recorded by a SLURM training]")
pack_replicates = click.option(
    "--pack_replicates", type=click.IntRange(min=1), default=None,
    help="Train K replicates together in one process as one batched network (TinyCNN, Conv5_FC3, Conv4_FC3): each "
         "keeps its own seeds, optimizer, early stopping and files, and the MAPS is the same as without packing; "
         "faster on a CPU and on a GPU for small networks (docs/replicates.md). [default: 1, one at a time]")
"""``--pack_replicates`` of ``train`` and ``train resume``."""
workers = click.option("--n_proc", "-np", type=click.IntRange(min=1), default=2, show_default=True,
                       help="Worker processes, one image per task; the output does not depend on it (generate random "
                            "and trivial run in one process).")
"""``--n_proc`` of ``prepare-data`` and ``generate``: worker processes."""

# ---------------------------------------------------------------------------------------- networks (train, predict)

loader_processes = click.option("--n_proc", "-np", type=click.IntRange(min=0),
                                help="Data-loading processes (0 or 1: in the main process). "
                                     f"[default: {_train_default('n_proc')}; predict: as in training]")
"""``--n_proc`` of ``train`` and ``predict``: data-loading processes (upstream's name for them)."""
batch_size = click.option("--batch_size", "-b", type=click.IntRange(min=1),
                          help=f"Batch size. [default: {_train_default('batch_size')}; predict: as in training]")
gpu = click.option("--gpu/--no-gpu", default=None,
                   help=f"Use the GPU. [default: {_train_default('gpu')}; predict: as in training]")
amp = click.option("--amp/--no-amp", default=None,
                   help=f"Automatic mixed precision. [default: {_train_default('amp')}; predict: as in training]")

# ------------------------------------------------------------------------------------------ data groups of a MAPS

group_participants_tsv = click.option(
    "--participants_tsv", "-pt", type=click.Path(dir_okay=False),
    help="TSV (participant_id, session_id, and the label column) defining a new DATA_GROUP.")
"""``--participants_tsv`` of ``predict`` and ``interpret``: a new data group (generate: the input images)."""
group_caps_directory = click.option("--caps_directory", type=click.Path(file_okay=False),
                                    help="CAPS of the images; default: the group's, else the one used in training.")
"""``--caps_directory`` of ``predict`` and ``interpret``."""
save_nifti = click.option("--save_nifti", is_flag=True, default=False,
                          help="Also write the maps as NIfTI (.nii.gz, identity affine as upstream).")

# ------------------------------------------------------------------------------------------------ models of a MAPS


def _split(dest: str) -> Callable:
    return click.option("--split", "-s", dest, type=click.IntRange(min=0), multiple=True,
                        help="Split(s) to use (repeat the option); default: all.")


split = _split("splits")
"""``--split`` given to the command as ``splits``."""
train_split = _split("split")
"""``--split`` given to ``train`` as ``split``, the key of maps.json."""
selection_metrics = click.option("--selection_metrics", "-sm", multiple=True,
                                 help="Selection metric(s) of the models, e.g. loss, BA (repeat the option); "
                                      "default: all present.")
selection_metric = click.option("--selection_metrics", "-sm", default="loss", show_default=True,
                                help="Selection metric of the model of each split (best-<m>).")
"""``--selection_metrics`` of the commands that assess one model per split (procedure, plan, report)."""

# ------------------------------------------------------------------------------------------------ evaluation

metrics = click.option("--metrics", "-m", multiple=True,
                       help="Metric(s) to report (repeat the option); default: all of the task's metrics.")
n_resamples = click.option("--n_resamples", type=click.IntRange(min=2), default=10_000, show_default=True,
                           help="Number of bootstrap resamples.")
ci_method = click.option("--ci_method", type=click.Choice(["auto", "percentile", "basic", "bca", "analytic"]),
                         default="auto", show_default=True,
                         help="Interval method of each trained model's metrics (evaluate procedure: of each model in "
                              "procedure_models.tsv, not of the expected performance, whose interval comes from the "
                              "crossed design). auto takes, per metric and sample size, the method with the best "
                              "coverage in our simulation study (docs/coverage.md), and near the bound or with 30 "
                              "participants or fewer a closed form that holds there (Clopper-Pearson, MOVER, "
                              "Newcombe). evaluate compare: interval of the difference of two models, a bootstrap "
                              "(auto and analytic mean bca).")
confidence_level = click.option("--confidence_level", type=click.FloatRange(0, 1, min_open=True, max_open=True),
                                default=0.95, show_default=True, help="Nominal coverage of the intervals.")
unit = click.option("--unit", type=click.Choice(["participant", "image"]), default="participant", show_default=True,
                    help="Resampling unit: participants with all their sessions (valid with longitudinal data), "
                         "or images (assumes independent images).")
stratify = click.option("--stratify/--no-stratify", default=False, show_default=True,
                        help="Resample within each diagnosis so that every resample keeps both classes.")
output = click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
                      help="Write all results to this TSV (and a .json sidecar) instead of next to the predictions.")
pilot_data_group = click.option("--data_group", default=None,
                                help="Test group of the MAPS given by --pilot or --from_maps.")

# ------------------------------------------------------------------------------------------------ CAPS inputs

use_uncropped_image = click.option("--use_uncropped_image", "-uui", is_flag=True, default=False,
                                   help="Use the uncropped images (without desc-Crop) of t1-linear, pet-linear or "
                                        "flair-linear.")
tracer = click.option("--tracer", default=None,
                      help="pet-linear: tracer of the PET images (trc- entity), e.g. 18FFDG. [default: prepare-data: "
                           "18FFDG; generate: required with --preprocessing pet-linear; generate hypometabolic: "
                           "18FFDG]")
suvr_reference_region = click.option("--suvr_reference_region", "-suvr", type=click.Choice(PET_SUVR_REGIONS),
                                     default=None,
                                     help="pet-linear: SUVR reference region of the PET images (suvr- entity). "
                                          "[default: prepare-data: cerebellumPons2; generate: required with "
                                          "--preprocessing pet-linear; generate hypometabolic: cerebellumPons2]")
extract_json = click.option("--extract_json", "-ej", default=None,
                            help="Name of the extraction JSON written in <CAPS>/tensor_extraction/ (default of "
                                 "prepare-data: extract_<timestamp>.json). generate shepplogan: also extract the "
                                 "tensors, as upstream: slices (axis 2, single channel) of 2D phantoms, images of 3D "
                                 "ones, ready for train.")
resolution = click.option("--resolution", type=click.IntRange(1, 8), default=2, show_default=True,
                          help="Voxel size in mm (1: Clinica's 169x208x179 grid; 2: 85x104x90; 4: 43x52x45; "
                               "8: 22x26x23, for quick tests), named in the res- entity of the file names.")

# ------------------------------------------------------------------------------------------------ TSV files

subset_name = click.option("--subset_name", default="validation", show_default=True,
                           help="Name of the set complementary to train (e.g. test when splitting off a test set).")
valid_longitudinal = click.option("--valid_longitudinal/--valid_baseline", "--not_only_keep_baseline",
                                  "not_only_keep_baseline", default=False,
                                  help="Also write <subset_name>.tsv with all the sessions of each <subset_name> "
                                       "set.")
"""``--valid_longitudinal`` of ``tsvtools split | kfold`` (``train``'s validates on that file)."""


def evaluation_options(metrics, n_resamples, ci_method, confidence_level, unit, stratify, seed):
    """The :class:`~clinicadl.evaluate.model.EvaluationOptions` of the shared evaluation options."""
    from clinicadl.evaluate.model import EvaluationOptions

    return EvaluationOptions(tuple(metrics), n_resamples, ci_method, confidence_level, unit, stratify, seed)
