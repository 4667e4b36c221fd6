"""Unique, readable names: two MAPS with the same folder name get distinct result files and report sections; the
same MAPS given twice is refused in one line."""

from __future__ import annotations

from click.testing import CliRunner
from evaluate.test_procedure_maps import write_procedure

from clinicadl.cli.main import cli
from clinicadl.evaluate.naming import distinguishing_names, file_tokens
from clinicadl.evaluate.report import collect_report


def test_names_and_file_tokens():
    assert distinguishing_names(["x/pA/maps", "x/pB/maps"]) == ["pA/maps", "pB/maps"]
    tokens = file_tokens(["x/pA/maps", "x/pB/maps"])
    assert tokens[0].startswith("pA-maps-") and tokens[1].startswith("pB-maps-") and "/" not in "".join(tokens)
    assert file_tokens(["conv5", "resnet"]) == ["conv5", "resnet"]


def test_compare_two_maps_with_the_same_folder_name(tmp_path):
    a = write_procedure(tmp_path / "pA" / "maps", skill=1.6, n_replicates=3, n_participants=24)
    b = write_procedure(tmp_path / "pB" / "maps", skill=0.7, n_replicates=3, n_participants=24, salt=1)
    result = CliRunner().invoke(cli, ["evaluate", "compare", str(a), str(b), "test", "--n_resamples", "200"])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (a / "evaluation" / "test").glob("compare_procedures_*.tsv"))
    assert len(written) == 1 and written[0].startswith("compare_procedures_pB-maps-")
    assert not list((a / "evaluation" / "test").glob("compare_procedures_pB/*"))
    report = collect_report([a, b])
    assert [m.name for m in report.maps] == ["pA/maps", "pB/maps"]
    (comparison,) = report.comparisons  # the comparison on disk is found, not made again under another name
    assert comparison.source.name == written[0] and not report.notes


def test_the_same_maps_twice_is_refused(tmp_path):
    a = write_procedure(tmp_path / "maps", n_replicates=3, n_participants=24)
    for arguments in ([str(a), str(a), "test"], [str(a), str(tmp_path / "." / "maps"), "test"]):
        result = CliRunner().invoke(cli, ["evaluate", "compare", *arguments])
        assert result.exit_code == 1 and "given twice" in result.output and result.output.count("\n") == 1
    assert not (a / "evaluation").exists()
    result = CliRunner().invoke(cli, ["evaluate", "report", str(a), str(a), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 1 and "given twice" in result.output
