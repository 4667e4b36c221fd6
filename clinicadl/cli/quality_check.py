"""``clinicadl quality-check``: flag badly preprocessed images (t1-linear, t1-volume, pet-linear), as ClinicaDL 1.x.

Upstream downloads its QC network weights and masks on first use; this clinicadl never downloads: each command takes
the file with an option (``--network_weights``, ``--eyes_segmentation``, ``--contour_mask``) or finds it where
ClinicaDL 1.x caches it (``~/.cache/clinicadl/``), and otherwise says where to get it.
"""

from __future__ import annotations

import click

from clinicadl.cli import options

participants_tsv = click.option("--participants_tsv", type=click.Path(exists=True, dir_okay=False), default=None,
                                help="TSV (participant_id, session_id) of the sessions to check; default: every "
                                     "session of the CAPS.")
caps_directory = click.argument("caps_directory", type=click.Path(exists=True, file_okay=False))


@click.group("quality-check", context_settings={"max_content_width": 110})
def quality_check() -> None:
    """Quality check of preprocessed images: which images to exclude before training.

    \b
    Example:
      clinicadl quality-check t1-linear caps/ qc.tsv --network_weights resnet_18_darq.pth --no-gpu
    """


@quality_check.command("t1-linear")
@caps_directory
@click.argument("output_tsv", type=click.Path(dir_okay=False))
@participants_tsv
@options.batch_size
@options.loader_processes
@options.gpu
@options.amp
@click.option("--threshold", type=float, default=0.5, show_default=True,
              help="The threshold on the output probability to decide if the image passed or failed.")
@click.option("--network", type=click.Choice(["darq", "deep_qc", "sq101"]), default="darq", show_default=True,
              help="Upstream's pretrained network that classifies images as adequately registered or not.")
@click.option("--use_tensor", is_flag=True, default=False,
              help="Read the image tensors extracted by 'prepare-data image --use_uncropped_image' instead of the "
                   "NIfTI images.")
@click.option("--network_weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Local file of the network's weights (upstream's resnet_18_darq.pth, resnet18.pth.tar or "
                   "sq101_darq.pth); default: ~/.cache/clinicadl/models/<that file>, where ClinicaDL 1.x keeps it.")
def t1_linear(caps_directory, output_tsv, participants_tsv, batch_size, n_proc, gpu, amp, threshold, network,
              use_tensor, network_weights):
    """Probability that each t1-linear image is correctly registered to the MNI template (DARQ network).

    CAPS_DIRECTORY holds the uncropped t1-linear images; OUTPUT_TSV gets participant_id, session_id,
    pass_probability and pass (pass_probability > --threshold), sorted by decreasing probability.

    \b
    Example:
      clinicadl quality-check t1-linear caps/ qc.tsv --network_weights resnet_18_darq.pth --no-gpu
    """
    from clinicadl.predict.quality_check import quality_check_t1_linear

    table = quality_check_t1_linear(
        caps_directory, output_tsv, participants_tsv=participants_tsv, threshold=threshold,
        batch_size=8 if batch_size is None else batch_size, n_proc=2 if n_proc is None else n_proc,
        gpu=True if gpu is None else gpu, amp=bool(amp), network=network, use_tensor=use_tensor,
        network_weights=network_weights)
    click.echo(f"{int(table['pass'].sum())} of {len(table)} images pass; results in {output_tsv}.")


@quality_check.command("t1-volume")
@caps_directory
@click.argument("output_directory", type=click.Path(file_okay=False))
@click.argument("group_label")
@click.option("--eyes_segmentation", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Local file of upstream's eyes segmentation (eyes_segmentation.nii.gz) in the DARTEL template "
                   "space; default: ~/.cache/clinicadl/segmentation/eyes_segmentation.nii.gz.")
def t1_volume(caps_directory, output_directory, group_label, eyes_segmentation):
    """Flag the gray-matter maps of Clinica's t1-volume pipeline that the segmentation got wrong.

    Writes QC_metrics.tsv (max_intensity, non_zero_percentage, frontal_similarity with the DARTEL template of
    GROUP_LABEL) and pass_step-1.tsv (max_intensity > 0.95), pass_step-2.tsv (0.15 < non_zero_percentage < 0.5),
    pass_step-3.tsv (frontal_similarity > 0.10) into OUTPUT_DIRECTORY, each keeping the sessions that pass every
    step so far.

    \b
    Example:
      clinicadl quality-check t1-volume caps/ qc/ AD --eyes_segmentation eyes_segmentation.nii.gz
    """
    from clinicadl.data.qc_t1_volume import quality_check_t1_volume

    result = quality_check_t1_volume(caps_directory, output_directory, group_label,
                                     eyes_segmentation=eyes_segmentation)
    click.echo(f"{len(result.passed[-1])} of {len(result.metrics)} sessions pass the three steps; results in "
               f"{output_directory}.")


@quality_check.command("pet-linear")
@caps_directory
@click.argument("output_tsv", type=click.Path(dir_okay=False))
@click.argument("tracer")
@click.argument("suvr_reference_region", type=click.Choice(options.PET_SUVR_REGIONS))
@options.use_uncropped_image
@participants_tsv
@click.option("--threshold", type=float, default=0.9, show_default=True,
              help="The threshold on the output probability to decide if the image passed or failed.")
@options.workers
@click.option("--contour_mask", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Local file of upstream's contour mask (qc_pet_mask_contour.nii.gz); default: "
                   "~/.cache/clinicadl/mask/qc_pet_mask_contour.nii.gz.")
def pet_linear(caps_directory, output_tsv, tracer, suvr_reference_region, use_uncropped_image, participants_tsv,
               threshold, n_proc, contour_mask):
    """Flag pet-linear images with signal outside the brain (a contour around the MNI brain).

    TRACER is the trc- entity of the images (e.g. 18FFDG), SUVR_REFERENCE_REGION their suvr- entity. OUTPUT_TSV
    (never replaced) gets participant_id, session_id, pass_probability (1 - mean normalised signal on the contour)
    and pass (pass_probability > --threshold), sorted by increasing probability.

    \b
    Example:
      clinicadl quality-check pet-linear caps/ qc.tsv 18FFDG cerebellumPons2 -uui --contour_mask mask.nii.gz
    """
    from clinicadl.data.qc_pet_linear import quality_check_pet_linear

    table = quality_check_pet_linear(
        caps_directory, output_tsv, tracer, suvr_reference_region, use_uncropped_image=use_uncropped_image,
        participants_tsv=participants_tsv, threshold=threshold, n_proc=n_proc, contour_mask=contour_mask)
    click.echo(f"{int(table['pass'].sum())} of {len(table)} images pass; results in {output_tsv}.")
