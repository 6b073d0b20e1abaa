"""The command line: help everywhere, JSON for machines, exit codes 0/1/2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_every_command_has_help():
    top = run("--help")
    assert top.exit_code == 0
    for name, command in cli.commands.items():
        result = run(name, "--help")
        assert result.exit_code == 0, name
        first_line = (command.help or "").strip().splitlines()[0]
        assert first_line in " ".join(result.output.split()), name


def test_check_exits_0_when_every_property_holds():
    result = run("check", "--spec", "resolved", "--queues", "1-2", "--quiet")
    assert result.exit_code == 0, result.output
    assert "holds (1-2 q)" in result.output


def test_check_exits_1_and_prints_traces_when_a_property_fails():
    result = run("check", "--spec", "proposal", "--queues", "1", "--quiet")
    assert result.exit_code == 1
    assert "no_lost_kick FAILS" in result.output
    assert "3. reset()  [q0 g (reset)]" in result.output


def test_check_json_is_one_document_with_verdicts_and_traces():
    result = run("check", "--spec", "proposal", "--queues", "1", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    run0 = document["results"][0]
    assert (run0["variant"], run0["queues"]) == ("proposal", 1)
    assert run0["verdicts"]["no_lost_kick"] == "fails"
    assert run0["verdicts"]["one_owner_per_notifier"] == "holds"
    steps = run0["counterexamples"]["no_lost_kick"]["trace"]["steps"]
    assert [s["event"] for s in steps] == ["set_status", "kick", "reset"]
    assert steps[-1]["fired"] == [{"queue": 0, "letter": "g", "transition": "reset"}]


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--queues", "0"],
        ["check", "--queues", "x"],
        ["check", "--queues", "4-2"],
        ["check", "--spec", "/nonexistent/table.toml"],
        ["nosuchcommand"],
        ["check", "--max-states", "0"],
    ],
)
def test_bad_usage_exits_2_without_a_traceback(args):
    result = run(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_max_states_gives_a_partial_report_that_says_so_and_exits_3():
    result = run("check", "--spec", "resolved", "--queues", "3", "--max-states", "50", "--quiet")
    assert result.exit_code == 3
    assert "partial" in result.output


def test_show_prints_every_row_with_its_reason():
    result = run("show", "--spec", "resolved")
    assert result.exit_code == 0
    assert "e. release_to_assigned: set_host_notifier offlimits -> assigned" in result.output
    assert "why    Q4" in result.output


def test_validate_accepts_both_variants():
    result = run("validate")
    assert result.exit_code == 0
    assert "proposal:" in result.output and "resolved:" in result.output


def test_the_readme_documents_every_exit_code_once():
    import re
    from pathlib import Path

    from virtio_notifier_spec.cli.exitcodes import ExitCode

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("### Exit codes", 1)[1].split("\n\n")[2]
    documented = [int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.M)]
    assert documented == [int(code) for code in ExitCode]
    assert readme.count("### Exit codes") == 1


def test_every_make_target_the_readmes_name_exists():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    targets = set(re.findall(r"^([a-z][a-z-]*):", (root / "Makefile").read_text(), flags=re.M))
    for readme in [root / "README.md", *root.glob("*/README.md")]:
        named = set(re.findall(r"(?:`|^)make ([a-z][a-z-]*)", readme.read_text(), flags=re.M))
        assert named <= targets, f"{readme.relative_to(root)} names {sorted(named - targets)}"
