"""Options of the launchers (``--launcher local|slurm`` and the SLURM resources), shared by the commands that scale out.

Their names are the keys of the ``[Launcher]`` TOML section of ``train`` and of
:class:`~clinicadl.training.slurm.SlurmOptions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

SLURM_KEYS = ("partition", "account", "qos", "time", "gpus_per_task", "cpus_per_task", "mem_gb", "sbatch", "setup")
"""Options that set the resources of each SLURM job (the fields of ``SlurmOptions``)."""


def launcher_options(*, detach: bool = True) -> list:
    """The click options ``--launcher``, the SLURM ones and (with ``detach``) ``--detach``; None means not given."""
    options = [
        click.option("--launcher", type=click.Choice(["local", "slurm"]),
                     help="Where the jobs run: local processes (--n_jobs at once) or one SLURM job each, as a job "
                          "array. [default: local]"),
        click.option("--partition", help="[SLURM] Partition of the jobs."),
        click.option("--account", help="[SLURM] Account charged for the jobs."),
        click.option("--qos", help="[SLURM] Quality of service of the jobs."),
        click.option("--time", help="[SLURM] Time limit of each job: minutes or [D-]HH:MM:SS; a job that reaches it "
                                    "is requeued and resumes from its checkpoint. [default: 60]"),
        click.option("--gpus_per_task", type=click.IntRange(min=0), help="[SLURM] GPUs of each job."),
        click.option("--cpus_per_task", type=click.IntRange(min=1),
                     help="[SLURM] CPUs of each job (also its number of threads). [default: 1]"),
        click.option("--mem_gb", type=click.FloatRange(min=0, min_open=True),
                     help="[SLURM] Memory of each job in GB. [default: the cluster's]"),
        click.option("--sbatch", multiple=True,
                     help="[SLURM] Extra #SBATCH line, as --key=value (repeat the option), e.g. "
                          "--sbatch=--constraint=v100."),
        click.option("--setup", multiple=True,
                     help="[SLURM] Shell line run before each job (repeat the option), e.g. 'module load cuda'."),
    ]
    if detach:
        options.append(click.option("--detach", is_flag=True, default=None,
                                    help="[SLURM] Return once the jobs are submitted; follow them with "
                                         "'clinicadl train status MAPS'."))
    return options


def add_launcher_options(*, detach: bool = True) -> Callable:
    """Decorator adding :func:`launcher_options` to a command."""

    def decorate(command: Callable) -> Callable:
        for option in reversed(launcher_options(detach=detach)):
            command = option(command)
        return command

    return decorate


def slurm_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The SLURM options given (not None, not an empty repeated option), keyed by :data:`SLURM_KEYS`."""
    given = {}
    for key in SLURM_KEYS:
        value = values.get(key)
        if value is None or (isinstance(value, tuple | list) and not value):
            continue
        given[key] = list(value) if isinstance(value, tuple) else value
    return given
