"""One flag grammar for every command: the same options, one meaning each,
help text on every option, and output that fits 100 columns off a terminal."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.exitcodes import ExitCode
from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.cli.output import WIDTH

ROOT = Path(__file__).resolve().parents[2]


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()):
    """Every command a user can run, as (words, command)."""
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


ALL = list(commands())
NAMES = [" ".join(words) for words, _ in ALL]
TAKING = {flag: [w for w, c in ALL if any(flag in p.opts for p in c.params)] for flag in ("--queues", "--timeout")}


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.parametrize(("words", "command"), ALL, ids=NAMES)
def test_every_option_has_help_and_every_command_json_and_quiet(words, command):
    options = [p for p in command.params if isinstance(p, click.Option)]
    assert all(o.help for o in options), [o.opts for o in options if not o.help]
    flags = {flag for o in options for flag in o.opts}
    assert {"--json", "--quiet"} <= flags, words


@pytest.mark.parametrize(("words", "command"), ALL, ids=NAMES)
def test_every_command_that_reads_a_table_takes_spec(words, command):
    if words == ("designs",):  # the designs against resolved, by definition
        return
    if words == ("diff",):  # diff A [B]: its two tables are its arguments
        assert [p.name for p in command.params[:2]] == ["old", "new"]
        return
    assert any("--spec" in p.opts for p in command.params), words


@pytest.mark.parametrize("words", TAKING["--queues"], ids=" ".join)
@pytest.mark.parametrize("value", ["1-", "-2", "3-1", "0", "two", "1-2-3", " "])
def test_queues_has_one_grammar_and_refuses_the_rest(words, value):
    result = run(*words, "--queues", value)
    assert result.exit_code == ExitCode.BAD_INPUT and "--queues" in result.output, result.output


def test_queues_takes_n_and_a_range_everywhere_a_range_makes_sense():
    assert run("check", "--queues", "2", "--quiet").exit_code == 0
    assert run("check", "--queues", "1-2", "--quiet").exit_code == 0
    single = run("replay", "--queues", "1-2", "reset")
    assert single.exit_code == 2 and "this command takes one queue count N" in single.output


@pytest.mark.parametrize("words", TAKING["--timeout"], ids=" ".join)
def test_timeout_refuses_nan_everywhere(words):
    result = run(*words, "--timeout", "nan")
    assert result.exit_code == ExitCode.BAD_INPUT and "--timeout" in result.output


def test_validate_takes_spec_like_every_command():
    result = run("validate", "--spec", "resolved", "--spec", "proposal")
    assert result.exit_code == 0 and result.output.count(": valid") == 2


@pytest.mark.parametrize(("words", "command"), ALL, ids=NAMES)
def test_default_paths_are_shown_relative_to_the_project(words, command):
    text = run(*words, "--help").output
    assert str(ROOT) not in text and "/site-packages/" not in text


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--spec", "proposal", "--queues", "1-2", "--quiet"],
        ["show", "--spec", "resolved"],
        ["prove", "--spec", "proposal", "--quiet"],
        ["scale", "--spec", "proposal", "--queues", "1-2", "--config", "one.toml", "--quiet"],
        ["mutants", "--queues", "1", "--max-depth", "6", "--only", "take_keeps_ours", "--quiet"],
        [
            "replay",
            "--spec",
            "proposal",
            "--queues",
            "2",
            "set_status(value=driver_ok, assign_ok=true)",
            "kick(queue=1)",
        ],
        ["validate"],
        ["--help"],
        ["check", "--help"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_output_wraps_at_100_columns_off_a_terminal(args, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.toml").write_text('table = "proposal"\n\n[[devices]]\nname = "d"\nqueues = 2\n')
    result = run(*args)
    assert result.exit_code in (0, 1), result.output
    wide = [line for line in result.output.splitlines() if len(line) > WIDTH]
    assert not wide, wide[:3]
