"""``clinicadl prepare-data``: extract the tensors that training reads from a CAPS."""

from __future__ import annotations

import click

from clinicadl.cli import options

_MODALITY_HELP = "{t1-linear|pet-linear|flair-linear|dwi-dti|custom}"
_dti_measure = click.option("--dti_measure", "-dm", type=click.Choice(["FA", "MD", "AD", "RD"]), default="FA",
                            show_default=True, help="dwi-dti: DTI measure of the maps (Clinica's dwi-dti pipeline).")


def _dti_space(*flags: str):
    return click.option("--dti_space", *flags, type=click.Choice(["native", "normalized"]), default="native",
                        show_default=True, help="dwi-dti: space of the DTI maps (normalized: registered to MNI).")


def _common(function):
    """Arguments and options shared by the four modes (upstream names)."""
    decorators = [
        click.argument("caps_directory", type=click.Path(file_okay=False)),
        click.argument("modality", metavar="MODALITY"),
        options.workers,
        click.option("--subjects_sessions_tsv", "--tsv_file", "-tsv", type=click.Path(dir_okay=False),
                     default=None, help="TSV with participant_id and session_id columns; default: every session."),
        options.extract_json,
        options.use_uncropped_image,
        options.tracer,
        options.suvr_reference_region,
        click.option("--custom_suffix", "-cn", default=None,
                     help="custom: end of the image file names, e.g. '_space-SheppLogan_phantom.nii.gz' "
                          "('*' allowed)."),
        _dti_measure,
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


_save_features = click.option("--save_features", is_flag=True,
                              help="Save every patch/slice/ROI as its own tensor; by default only the image is "
                                   "saved and the datasets cut it on the fly (upstream's default).")


def _run(mode, caps_directory, modality, n_proc, subjects_sessions_tsv, **options):
    from clinicadl.data.extraction import extraction_parameters, prepare_data

    parameters = extraction_parameters(mode, modality, **options)
    result = prepare_data(caps_directory, parameters, subjects_sessions_tsv=subjects_sessions_tsv, n_proc=n_proc)
    click.echo(f"{result.n_images} image(s): {result.n_written} tensor(s) written, {result.n_skipped} already "
               f"present and valid.")
    click.echo(f"Written: {result.json_path}")


@click.group("prepare-data")
def prepare_data():
    """Extract the tensors (images, patches, slices or ROIs) that training reads from a CAPS.

    \b
    Tensors go to CAPS_DIRECTORY/subjects/<sub>/<ses>/deeplearning_prepare_data/<mode>_based/<modality>/,
    the description of the extraction to CAPS_DIRECTORY/tensor_extraction/<extract_json>.json (give its
    name to train). Rerunning skips the tensors already extracted, so an interrupted run resumes.

    \b
    Example:
      clinicadl prepare-data image caps/ t1-linear --extract_json image.json --n_proc 4
    """


@prepare_data.command("image")
@_common
@_dti_space("-ds")
def image(**kwargs):
    """Whole 3D images (float32 [1, X, Y, Z]).

    MODALITY is one of t1-linear, pet-linear, flair-linear, dwi-dti or custom (with --custom_suffix).

    \b
    Example:
      clinicadl prepare-data image caps/ t1-linear --extract_json image.json
    """
    _run("image", **kwargs)


@prepare_data.command("patch")
@_common
@_dti_space("-ds")
@click.option("--patch_size", "-ps", type=click.IntRange(min=1), default=50, show_default=True,
              help="Side of the cubic patches, in voxels.")
@click.option("--stride_size", "-ss", type=click.IntRange(min=1), default=50, show_default=True,
              help="Step between two patch origins, in voxels.")
@_save_features
def patch(**kwargs):
    """3D cubic patches walking through the image.

    MODALITY is one of t1-linear, pet-linear, flair-linear, dwi-dti or custom (with --custom_suffix).

    \b
    Example:
      clinicadl prepare-data patch caps/ t1-linear --patch_size 50 --stride_size 50 --save_features
    """
    _run("patch", **kwargs)


@prepare_data.command("slice")
@_common
@_dti_space()
@click.option("--slice_direction", "-sd", type=click.IntRange(0, 2), default=0, show_default=True,
              help="Axis of the slices: 0 sagittal, 1 coronal, 2 axial.")
@click.option("--slice_mode", "-sm", type=click.Choice(["rgb", "single"]), default="rgb", show_default=True,
              help="rgb: the slice repeated in 3 channels; single: one channel.")
@click.option("--discarded_slices", "-ds", type=click.IntRange(min=0), multiple=True, default=(0,),
              show_default=True, help="Slices discarded at the beginning and at the end of the axis (one value: "
                                      "both sides; repeat the option for two values).")
@_save_features
def slice_(discarded_slices, **kwargs):
    """2D slices along one axis.

    MODALITY is one of t1-linear, pet-linear, flair-linear, dwi-dti or custom (with --custom_suffix).

    \b
    Example:
      clinicadl prepare-data slice caps/ t1-linear --slice_direction 2 --slice_mode single --save_features
    """
    if len(discarded_slices) > 2:
        raise click.BadParameter("give one or two values", param_hint="--discarded_slices")
    _run("slice", discarded_slices=list(discarded_slices), **kwargs)


@prepare_data.command("roi")
@_common
@_dti_space("-ds")
@click.option("--roi_list", "-rl", multiple=True, required=True,
              help="Region(s) to extract (repeat the option): the <roi> of masks "
                   "CAPS_DIRECTORY/masks/tpl-<template>_..._roi-<roi>_mask.nii.gz.")
@click.option("--roi_uncrop_output", is_flag=True,
              help="Keep the image's shape (voxels outside the region set to the background value) instead of "
                   "cropping to the region's bounding box.")
@click.option("--roi_custom_template", "-ct", default=None,
              help="Template of the masks (tpl- entity) [default: MNI152NLin2009cSym; needed with custom].")
@click.option("--roi_custom_mask_pattern", "-cmp", default=None,
              help="Substring that the mask file names must contain, to choose among several masks.")
@click.option("--roi_background_value", type=float, default=0.0, show_default=True,
              help="Value of the voxels outside the region.")
@_save_features
def roi(roi_list, **kwargs):
    """3D regions of interest defined by masks in CAPS_DIRECTORY/masks/.

    MODALITY is one of t1-linear, pet-linear, flair-linear, dwi-dti or custom (with --custom_suffix).

    \b
    Example:
      clinicadl prepare-data roi caps/ t1-linear --roi_list leftHippocampusBox --roi_list rightHippocampusBox
    """
    _run("roi", roi_list=list(roi_list), **kwargs)
