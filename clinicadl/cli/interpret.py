"""``clinicadl interpret``: attribution maps (gradients, Grad-CAM) of the trained models of a MAPS on a data group."""

from __future__ import annotations

import click

from clinicadl.cli import options

METHODS = ("gradients", "grad-cam")
"""Upstream's method names (the same as :data:`clinicadl.interpret.saliency.METHODS`, without importing torch)."""


@click.command("interpret", no_args_is_help=True, context_settings={"max_content_width": 110})
@click.argument("input_maps_directory", metavar="INPUT_MAPS_DIRECTORY")
@click.argument("data_group")
@click.argument("name")
@click.argument("method", metavar="METHOD", type=click.Choice(METHODS))
@click.option("--level_grad_cam", type=click.IntRange(min=1), default=None,
              help="grad-cam: explain the feature map after this layer of the network's convolutional part "
                   "(1: after its first layer). [default: its last layer]")
@click.option("--target_node", type=click.IntRange(min=0), default=0, show_default=True,
              help="Output node explained (0: the first; a class code in classification).")
@click.option("--save_individual", is_flag=True, default=False,
              help="Also write the map of each image (<participant>_<session>_<mode>-<k>_map.pt).")
@options.save_nifti
@options.selection_metrics
@options.group_participants_tsv
@options.group_caps_directory
@click.option("--multi_cohort", is_flag=True, default=False,
              help="Not provided (multi-cohort data groups): give one CAPS and one TSV.")
@click.option("--diagnoses", "-d", multiple=True,
              help="Interpret only the sessions of these diagnoses (diagnosis column; repeat the option); "
                   "default: all.")
@options.overwrite
@click.option("--overwrite_name", "-on", is_flag=True, default=False,
              help="Replace an existing interpretation of the same NAME.")
@options.batch_size
@options.loader_processes
@options.gpu
@options.amp
def interpret(input_maps_directory, data_group, name, method, level_grad_cam, target_node, save_individual,
              save_nifti, selection_metrics, participants_tsv, caps_directory, multi_cohort, diagnoses, overwrite,
              overwrite_name, batch_size, n_proc, gpu, amp):
    """Attribution maps of every trained model of a MAPS on DATA_GROUP: which voxels drive an output node.

    METHOD is gradients (the gradient of the output node with respect to the input image; Simonyan et al. 2014)
    or grad-cam (Selvaraju et al. 2017, on the feature map chosen by --level_grad_cam, up-sampled to the image).
    For each split and selection metric (and replicate), writes upstream's files in
    split-<i>/best-<m>/<DATA_GROUP>/interpret-<NAME>/: mean_<mode>-<k>_map.pt (mean over the group), its figure
    (.png), and with --save_individual one map per image. A new DATA_GROUP needs --participants_tsv.

    \b
    Example:
      clinicadl interpret maps/ test saliency gradients --participants_tsv labels/split/test_baseline.tsv
    """
    from clinicadl.interpret.interpret import interpret as run_interpret

    results = run_interpret(
        input_maps_directory, data_group, name, method, caps_directory=caps_directory,
        participants_tsv=participants_tsv, selection_metrics=selection_metrics or None, diagnoses=diagnoses,
        multi_cohort=multi_cohort, target_node=target_node, level=level_grad_cam, save_individual=save_individual,
        save_nifti=save_nifti, overwrite=overwrite, overwrite_name=overwrite_name, batch_size=batch_size,
        n_proc=n_proc, gpu=gpu, amp=amp)
    for result in results:
        click.echo(f"Written: {result.folder} ({result.n_images} images)")
