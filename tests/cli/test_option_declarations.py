"""Every option name means one thing: two commands that take ``--x`` declare it the same way.

The test walks every click command of ``clinicadl`` and compares the declarations of each option name (its type,
default, multiple, is_flag, flags and help text). Shared options are declared once, in ``clinicadl.cli.options``;
a difference is allowed only where :data:`INTENTIONAL` lists it, with its reason.
"""

from __future__ import annotations

from collections import defaultdict

import click
import pytest

from clinicadl.cli.main import cli

TRAIN_TASKS = tuple(f"train {task}" for task in ("classification", "regression", "reconstruction", "segmentation"))
PER_TASK = tuple((command,) for command in TRAIN_TASKS)
"""Each ``train <task>`` on its own: its help prints the task's default (and, for --loss, the task's losses)."""

INTENTIONAL: dict[str, tuple[tuple[str, ...], ...]] = {
    # Groups of commands (a command path or a prefix of one) whose declarations may differ from the other groups';
    # the declarations within a group, and those of the commands in no group, must agree.
    "--architecture": PER_TASK,  # rest: train list_models, where it filters the list
    "--loss": PER_TASK,
    "--label": PER_TASK,
    # get-labels and its deprecated spelling getlabels: diagnoses kept; rest: tsvtools analysis reports those present
    # predict, interpret: the sessions kept from the group or participants TSV
    "--diagnoses": (*PER_TASK, ("tsvtools get-labels", "tsvtools getlabels"), ("predict",), ("interpret",)),
    "--caps_directory": (("tsvtools get-labels", "tsvtools getlabels"),),  # the sessions kept; predict: the images
    # get-labels: copied from the merged TSV into labels.tsv; get-metadata: added to an existing TSV
    "--variables_of_interest": (("tsvtools get-metadata",),),
    "--n_test": (("tsvtools prepare-experiment",),),  # prepare-experiment: the test side; split: the <subset> side
    "--sigma": (("generate hypometabolic",),),  # hypometabolic: the smoothing of the mask; random: the noise
    "--mask_path": (("generate hypometabolic",),),  # hypometabolic: one mask file; trivial: upstream's folder
    "--dti_space": (("prepare-data slice",),),  # slice: -ds is --discarded_slices (see docs/upstream-parity.md)
    # one model per split (procedure, plan, report, sources) takes one metric, default loss; rest: several, default all
    "--selection_metrics": (*PER_TASK, ("evaluate procedure", "evaluate plan", "evaluate report", "evaluate sources")),
    # upstream's name for data-loading processes (train, predict) and worker processes (prepare-data, generate)
    "--n_proc": (("train", "predict", "interpret", "quality-check t1-linear"),),
    "--n_splits": (("train",),),  # train reads split-<i>/ folders; tsvtools kfold makes them
    "--n_subjects": (("generate lesions", "generate tumour"),),  # participants; upstream's generators: per label
    "--contrast": (("generate lesions",), ("generate artifacts",)),  # each pathology has its own default contrast;
    # artifacts: upstream's --contrast/--no-contrast switch of the gamma artefact
    # tsvtools split balances age and sex by default as upstream; kfold only when asked, as upstream
    "--p_age_threshold": (("tsvtools split",),),
    "--p_sex_threshold": (("tsvtools split",),),
    "--valid_longitudinal": (("train",),),  # train validates on all sessions; tsvtools writes them
    "--participants_tsv": (("predict", "interpret"), ("quality-check",)),  # predict, interpret: a new data group;
    # generate: the input images; quality-check: the sessions to check (default: all, not data.tsv)
    # predict, interpret: upstream's flag (not provided); train: --multi_cohort/--single_cohort (default None)
    "--multi_cohort": (("predict",), ("interpret",)),
    "--save_nifti": (("predict",), ("interpret",)),  # predict: reconstructions; interpret: the saliency maps
    "--threshold": (("quality-check pet-linear",),),  # upstream's defaults: 0.5 (t1-linear), 0.9 (pet-linear)
    "--data_group": (("evaluate report",),),  # report: every MAPS's test group; plan, simulate: the pilot's
    "--output": (("evaluate report",),),  # report: the document; model, compare: the results TSV
    "--output_dir": (("evaluate simulate",),),  # simulate: a cache of chunks; procedure: the results
    # plan: the P(A>B) to detect; compare: the threshold of a meaningful one; artifacts: the log-gamma range
    "--gamma": (("evaluate plan",), ("generate artifacts",)),
}


def _commands(command: click.Command, path: str, ctx: click.Context):
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            yield from _commands(command.get_command(ctx, name), f"{path} {name}".strip(), ctx)
    else:
        yield path, command


def _declaration(option: click.Option) -> tuple:
    info = option.to_info_dict()
    return (repr(info["type"]), repr(info["default"]), info["multiple"], info["is_flag"],
            tuple(option.opts), tuple(option.secondary_opts), option.help)


def _declarations() -> dict[str, dict[str, tuple]]:
    """``{option name: {command path: declaration}}``, the name being the option's first long flag."""
    found = defaultdict(dict)
    for path, command in _commands(cli, "", click.Context(cli)):
        for parameter in command.params:
            if isinstance(parameter, click.Option):
                name = next(flag for flag in parameter.opts if flag.startswith("--"))
                found[name][path] = _declaration(parameter)
    return found


def _group(path: str, groups: tuple[tuple[str, ...], ...]) -> int:
    for index, group in enumerate(groups):
        if any(path == prefix or path.startswith(prefix + " ") for prefix in group):
            return index
    return -1


def test_every_command_is_walked():
    paths = {path for path, _ in _commands(cli, "", click.Context(cli))}
    assert {"evaluate model", "predict", "generate cohort", "tsvtools kfold", "train resume"} <= paths
    assert set(TRAIN_TASKS) <= paths


@pytest.mark.parametrize("name", sorted(_declarations()))
def test_option_declared_the_same_way(name):
    declarations = _declarations()[name]
    groups = INTENTIONAL.get(name, ())
    by_group = defaultdict(dict)
    for path, declaration in declarations.items():
        by_group[_group(path, groups)][path] = declaration
    for members in by_group.values():
        variants = defaultdict(list)
        for path, declaration in members.items():
            variants[declaration].append(path)
        assert len(variants) == 1, (
            f"{name} is declared in {len(variants)} ways: "
            + "; ".join(f"{paths}: {declaration}" for declaration, paths in variants.items())
            + ". Declare it once in clinicadl/cli/options.py, or list the difference in INTENTIONAL with its reason.")


def test_allow_list_is_needed():
    """Each entry of INTENTIONAL names an option whose declarations do differ (no stale entries)."""
    declarations = _declarations()
    for name in INTENTIONAL:
        assert len(set(declarations[name].values())) > 1, f"{name} no longer differs: remove it from INTENTIONAL"


def test_no_command_declares_a_flag_twice():
    """Click lets a later declaration of a flag shadow an earlier one silently; a shared option must not."""
    for path, command in _commands(cli, "", click.Context(cli)):
        flags = [flag for parameter in command.params if isinstance(parameter, click.Option)
                 for flag in (*parameter.opts, *parameter.secondary_opts)]
        assert len(flags) == len(set(flags)), f"{path}: {sorted(f for f in flags if flags.count(f) > 1)}"
