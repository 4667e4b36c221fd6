"""The ``clinicadl`` command. Sub-commands are imported lazily: ``clinicadl --help`` never imports torch."""

from __future__ import annotations

import logging
import sys

import click

import clinicadl
from clinicadl.errors import ClinicaDLError, os_error_message


class LazyGroup(click.Group):
    """A group whose sub-commands live in modules imported only when used.

    User errors (:class:`~clinicadl.errors.ClinicaDLError`) end in one line on stderr and exit 1, and so do
    operating-system errors (a full disk, a read-only folder, a missing permission:
    :func:`~clinicadl.errors.os_error_message` names the path and the fix).
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
        except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise  # usage errors keep click's message and exit status (2)
        except Exception as error:
            cause = _os_cause(error)
            if cause is None:
                raise
            click.echo(f"Error: {os_error_message(cause)}", err=True)
            sys.exit(1)


_USER_ERRNOS = frozenset({"ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "ENOENT", "EISDIR", "ENOTDIR", "EMFILE"})


def _os_cause(error: BaseException) -> OSError | None:
    """The operating-system error (full disk, read-only folder, permission, missing file) behind ``error``, also
    when a library wrapped it (a data-loader worker, a writer thread), else None: a bug keeps its traceback."""
    import errno

    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and errno.errorcode.get(error.errno or 0) in _USER_ERRNOS:
            return error
        error = error.__cause__ or error.__context__
    return None


@click.group(
    cls=LazyGroup,
    lazy={
        "evaluate": "clinicadl.cli.evaluate:evaluate",
        "generate": "clinicadl.cli.generate:generate",
        "hugging-face": "clinicadl.cli.hugging_face:hugging_face",
        "interpret": "clinicadl.cli.interpret:interpret",
        "predict": "clinicadl.cli.predict:predict",
        "quality-check": "clinicadl.cli.quality_check:quality_check",
        "prepare-data": "clinicadl.cli.prepare_data:prepare_data",
        "prepare-data-from-bids": "clinicadl.cli.prepare_data_from_bids:prepare_data_from_bids",
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
