"""The ``clinicadl`` command. Sub-commands are imported lazily: ``clinicadl --help`` never imports torch."""

from __future__ import annotations

import logging
import sys

import click

import clinicadl
from clinicadl.errors import ClinicaDLError


class LazyGroup(click.Group):
    """A group whose sub-commands live in modules imported only when used.

    User errors (:class:`~clinicadl.errors.ClinicaDLError`) end in one line on stderr and exit 1.
    """

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx, name):
        if name in self.lazy:
            module_name, attribute = self.lazy[name].split(":")
            module = __import__(module_name, fromlist=[attribute])
            return getattr(module, attribute)
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ClinicaDLError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(1)


@click.group(
    cls=LazyGroup,
    lazy={
        "evaluate": "clinicadl.cli.evaluate:evaluate",
        "generate": "clinicadl.cli.generate:generate",
        "predict": "clinicadl.cli.predict:predict",
        "prepare-data": "clinicadl.cli.prepare_data:prepare_data",
        "random-search": "clinicadl.cli.random_search:random_search",
        "train": "clinicadl.cli.train:train",
        "tsvtools": "clinicadl.cli.tsvtools:tsvtools",
    },
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.version_option(clinicadl.__version__, prog_name="clinicadl")
@click.option("-v", "--verbose", is_flag=True, default=False, help="Verbosity mode: debug messages of clinicadl.")
def cli(verbose: bool) -> None:
    """Deep learning for neuroimaging, with confidence intervals and comparison tests built in.

    \b
    Example:
      clinicadl evaluate model maps/ test --n_resamples 10000
    """
    if verbose:
        logging.basicConfig(format="%(levelname)s:%(name)s: %(message)s")
        logging.getLogger("clinicadl").setLevel(logging.DEBUG)
