"""docs/upstream-parity.md cannot lie: every row that says an upstream (ClinicaDL 1.6.1) flag works here is checked
against our click tree, and every row that says it does not is checked too, so that the table is updated when an
option is added."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from clinicadl.cli.main import cli

PAGE = Path(__file__).resolve().parents[2] / "docs" / "upstream-parity.md"
STATUSES = ("same", "alias", "accepted", "not yet", "n/a")
WORKING = ("same", "alias", "accepted")


@dataclass(frozen=True)
class Row:
    """One row of a command's table: the upstream flags (or positional arguments) and their status here."""

    command: tuple[str, ...]
    flags: tuple[str, ...]
    arguments: tuple[str, ...]
    status: str
    line: int


def parse_page(text: str) -> tuple[dict[tuple[str, ...], str | None], list[Row]]:
    """The commands of the page (path -> command-level status, None when the command exists) and their rows."""
    commands: dict[tuple[str, ...], str | None] = {}
    rows: list[Row] = []
    current = None
    in_commands = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("## "):
            in_commands = line.strip() == "## Commands and options"
            current = None
            continue
        heading = re.fullmatch(r"### `clinicadl((?: [\w-]+)*)`", line.strip())
        if in_commands and heading:
            current = tuple(heading.group(1).split())
            commands[current] = None
            continue
        status_line = re.match(r"\*\*Command: ([\w /]+)\.\*\*", line)
        if current is not None and status_line:
            commands[current] = status_line.group(1)
            continue
        if current is None or not line.startswith("| ") or line.startswith(("| Upstream |", "| ---")):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 3, f"line {number}: a row has three cells (upstream, status, notes): {line}"
        flags = tuple(re.findall(r"`([^`]+)`", cells[0]))
        arguments = () if flags else tuple(cells[0].split())
        rows.append(Row(current, flags, arguments, cells[1], number))
    return commands, rows


def our_command(path: tuple[str, ...]) -> click.Command | None:
    """The command of ``clinicadl <path>`` in our tree (lazy groups resolved), None if absent."""
    command: click.Command = cli
    with click.Context(cli) as context:
        for name in path:
            if not isinstance(command, click.Group):
                return None
            command = command.get_command(context, name)
            if command is None:
                return None
    return command


def flag_owner(command: click.Command, flags: tuple[str, ...]) -> click.Parameter | None:
    """The one option of ``command`` that has every flag of ``flags`` (long, short or secondary), else None."""
    for parameter in command.params:
        if isinstance(parameter, click.Option) and set(flags) <= {*parameter.opts, *parameter.secondary_opts}:
            return parameter
    return None


COMMANDS, ROWS = parse_page(PAGE.read_text(encoding="utf-8"))


def test_the_page_lists_upstream_tree():
    # upstream 1.6.1 has 44 commands and groups (top level included) and about 390 option rows
    assert len(COMMANDS) == 44
    assert len(ROWS) > 350
    for name in (("train", "classification"), ("generate", "random"), ("tsvtools", "kfold"), ("interpret",)):
        assert name in COMMANDS
    wrong = [(row.line, row.status) for row in ROWS if row.status not in STATUSES]
    assert not wrong, f"statuses must be one of {STATUSES}: {wrong}"
    assert sum(row.status == "same" for row in ROWS) > 200


@pytest.mark.parametrize("row", [row for row in ROWS if row.status in WORKING],
                         ids=lambda row: f"{' '.join(row.command)}:{'/'.join(row.flags or row.arguments)}")
def test_every_working_row_is_in_our_tree(row):
    command = our_command(row.command)
    assert command is not None, f"line {row.line}: 'clinicadl {' '.join(row.command)}' is not one of our commands"
    if row.flags:
        assert flag_owner(command, row.flags) is not None, (
            f"line {row.line}: {row.flags} are not the flags of one option of 'clinicadl {' '.join(row.command)}'")
    else:
        ours = [p for p in command.params if isinstance(p, click.Argument)]
        assert len(ours) == len(row.arguments), (
            f"line {row.line}: upstream's positional arguments {row.arguments}, ours {[p.name for p in ours]}")


def test_rows_that_say_not_yet_are_not_in_our_tree():
    stale = []
    for row in ROWS:
        if row.status in WORKING or not row.flags:
            continue
        command = our_command(row.command)
        if command is not None and flag_owner(command, row.flags) is not None:
            stale.append((row.line, row.command, row.flags))
    assert not stale, f"these rows say 'not yet' but the option exists: update docs/upstream-parity.md: {stale}"


def test_commands_marked_absent_are_absent_and_the_others_present():
    for path, status in COMMANDS.items():
        if status is None:
            assert our_command(path) is not None, f"'clinicadl {' '.join(path)}' has rows but is not a command here"
        else:
            assert status in STATUSES and status not in WORKING, (path, status)
            assert our_command(path) is None, f"'clinicadl {' '.join(path)}' exists: update its status in the page"


def test_parser_reads_a_sample_table():
    text = ("## Commands and options\n\n### `clinicadl train resume`\n\n| Upstream | Status | Notes |\n"
            "| --- | --- | --- |\n| INPUT_MAPS_DIRECTORY | same | x |\n| `--split`, `-s` | same | |\n"
            "\n### `clinicadl interpret`\n\n**Command: not yet.** Later.\n")
    commands, rows = parse_page(text)
    assert commands == {("train", "resume"): None, ("interpret",): "not yet"}
    assert rows == [Row(("train", "resume"), (), ("INPUT_MAPS_DIRECTORY",), "same", 7),
                    Row(("train", "resume"), ("--split", "-s"), (), "same", 8)]
    assert flag_owner(our_command(("train", "resume")), ("--split", "-s")) is not None
    assert flag_owner(our_command(("train", "resume")), ("--split", "--n_jobs")) is None
