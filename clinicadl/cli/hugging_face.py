"""``clinicadl hugging-face push | pull``: share a trained MAPS through the Hugging Face Hub or a local folder."""

from __future__ import annotations

import click


@click.group("hugging-face", context_settings={"max_content_width": 110})
def hugging_face() -> None:
    """Share trained models: push a MAPS to the Hugging Face Hub, or pull one that predict can use.

    The hub is the Hugging Face Hub (needs huggingface_hub: pip install "clinicadl[hub]", and 'hf auth login'),
    or, when ORGANIZATION / HF_HUB_PATH is a path (it holds a '/', e.g. ./shared_models/), that local folder,
    offline: push writes <folder>/<name>/ and pull reads it.

    \b
    Example:
      clinicadl hugging-face push shared_models/ maps/ my_model
      clinicadl hugging-face pull shared_models/ my_model maps_copy/
    """


@hugging_face.command("push")
@click.argument("organization")
@click.argument("input_maps_directory", type=click.Path(exists=True, file_okay=False))
@click.argument("hf_maps_directory")
def push(organization, input_maps_directory, hf_maps_directory):
    """Push INPUT_MAPS_DIRECTORY as HF_MAPS_DIRECTORY, the model's name on the hub ORGANIZATION.

    Shares the MAPS parameters, every selected model (split-<i>/best-<m>/model.pth.tar), the training
    participants list (groups/train+validation.tsv, for predict's leakage check) and a generated model card
    (README.md). ORGANIZATION is a Hugging Face user or organization (the repository is private), or the path of
    a local folder (with a '/').

    \b
    Example:
      clinicadl hugging-face push shared_models/ maps/ my_model
    """
    from clinicadl.maps.hub import push_maps

    transfer = push_maps(organization, input_maps_directory, hf_maps_directory)
    click.echo(f"Pushed {len(transfer.files)} files to {transfer.destination}.")


@hugging_face.command("pull")
@click.argument("hf_hub_path")
@click.argument("maps_name")
@click.argument("output_maps_directory", type=click.Path(file_okay=False))
def pull(hf_hub_path, maps_name, output_maps_directory):
    """Pull the model MAPS_NAME of HF_HUB_PATH (a Hugging Face user or organization, or a local folder's path) into
    OUTPUT_MAPS_DIRECTORY, a new MAPS that predict accepts.

    \b
    Example:
      clinicadl hugging-face pull shared_models/ my_model maps_copy/
      clinicadl predict maps_copy/ test --participants_tsv test.tsv --caps_directory caps/
    """
    from clinicadl.maps.hub import pull_maps

    transfer = pull_maps(hf_hub_path, maps_name, output_maps_directory)
    click.echo(f"Pulled {len(transfer.files)} files from {transfer.destination} into {output_maps_directory}.")
