"""``clinicadl prepare-data-from-bids``: an offline t1-linear on a BIDS folder, then ``prepare-data``.

Each mode takes the options of ``prepare-data <mode>`` (the same click objects, so they cannot drift), less the
DTI ones, after upstream's three positional arguments.
"""

from __future__ import annotations

import click

MODALITIES_BIDS = ("t1", "pet", "flair", "dwi", "custom")
"""Upstream's MODALITY_BIDS values; only ``t1`` is preprocessed here."""
_REFUSED = {
    "pet": "pet-linear needs Clinica's SUVR reference-region masks and a T1w co-registration, not provided here",
    "flair": "flair-linear is not provided here",
    "dwi": "dwi preprocessing (dwi-dti) is not provided here",
    "custom": "a custom preprocessing has no pipeline to run",
}
_PLURAL = {"image": "Images", "slice": "Slices", "patch": "Patches", "roi": "ROIs"}
_DROPPED = {"caps_directory", "modality", "dti_measure", "dti_space"}

_registration_resolution = click.option(
    "--registration_resolution", type=click.Choice(["1", "2", "4", "8"]), default="2", show_default=True,
    help="Ours: finest voxel size (mm) of the 8/4/2/1 mm registration pyramid (coarser: faster, less exact).")

_template = click.option(
    "--template", type=click.Path(exists=True, dir_okay=False), default=None,
    help="Ours: T1 template in MNI space to register to, e.g. Clinica's mni_icbm152_t1_tal_nlin_sym_09c.nii "
         "[default: nilearn's bundled MNI152 2009a symmetric template, skull stripped].")


def _run(mode: str, bids_directory, caps_directory, modality_bids, n_proc, subjects_sessions_tsv,
         registration_resolution, template, discarded_slices=None, **options):
    from clinicadl.data.extraction import extraction_parameters, prepare_data
    from clinicadl.data.t1_linear import t1_linear
    from clinicadl.errors import InputError

    if modality_bids != "t1":
        raise InputError(f"MODALITY_BIDS {modality_bids!r}: {_REFUSED[modality_bids]}. Run Clinica's pipeline, then "
                         "`clinicadl prepare-data`; here only t1 (an offline t1-linear) is preprocessed.")
    if discarded_slices is not None:
        if len(discarded_slices) > 2:
            raise click.BadParameter("give one or two values", param_hint="--discarded_slices")
        options["discarded_slices"] = list(discarded_slices)
    if "roi_list" in options:
        options["roi_list"] = list(options["roi_list"])
    parameters = extraction_parameters(mode, "t1-linear", **options)  # checked before the long registration
    done = t1_linear(bids_directory, caps_directory, subjects_sessions_tsv=subjects_sessions_tsv,
                     registration_resolution=int(registration_resolution), template=template, n_proc=n_proc)
    click.echo(f"t1-linear: {done.n_registered} image(s) registered (lowest NCC with the template "
               f"{done.min_similarity:.3f}), {done.n_skipped} already in the CAPS.")
    result = prepare_data(caps_directory, parameters, subjects_sessions_tsv=subjects_sessions_tsv, n_proc=n_proc)
    click.echo(f"{result.n_images} image(s): {result.n_written} tensor(s) written, {result.n_skipped} already "
               f"present and valid.")
    click.echo(f"Written: {result.json_path}")


def _command(mode: str) -> click.Command:
    from clinicadl.cli.prepare_data import prepare_data

    source = prepare_data.commands[mode]
    params = [
        click.Argument(["bids_directory"], type=click.Path(exists=True, file_okay=False)),
        click.Argument(["caps_directory"], type=click.Path(file_okay=False)),
        click.Argument(["modality_bids"], type=click.Choice(MODALITIES_BIDS)),
        *[param for param in source.params if param.name not in _DROPPED],
    ]
    command = click.Command(mode, params=params, callback=lambda **kw: _run(mode, **kw))
    command = _template(_registration_resolution(command))
    command.help = (f"{source.help.splitlines()[0]} From a BIDS folder: t1-linear, then prepare-data {mode}.\n\n"
                    "MODALITY_BIDS is t1 (pet, flair, dwi and custom need Clinica: run it, then prepare-data). The "
                    "registered images go to CAPS_DIRECTORY/subjects/<sub>/<ses>/t1_linear/ under Clinica's names.\n"
                    f"\n\b\nExample:\n  clinicadl prepare-data-from-bids {mode} bids/ caps/ t1 --extract_json "
                    f"{mode}.json")
    command.short_help = f"{_PLURAL[mode]} from a BIDS folder (t1-linear, then prepare-data {mode})."
    return command


@click.group("prepare-data-from-bids")
def prepare_data_from_bids():
    """Register the T1w images of a BIDS folder to MNI space (an offline t1-linear), then extract their tensors.

    \b
    Writes Clinica's t1-linear outputs (the 1 mm MNI image, its 169x208x179 crop and the affine .mat) in
    CAPS_DIRECTORY/subjects/<sub>/<ses>/t1_linear/, then does what `prepare-data <mode> CAPS_DIRECTORY t1-linear`
    does. No ANTs: an affine registration by normalised cross-correlation to nilearn's MNI152 2009 symmetric
    template, without N4 bias correction (see docs/prepare-data.md). Rerunning skips what is done.

    \b
    Example:
      clinicadl prepare-data-from-bids image bids/ caps/ t1 --extract_json image.json
    """


for _mode in ("image", "slice", "patch", "roi"):
    prepare_data_from_bids.add_command(_command(_mode))
