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
from virtio_notifier_spec.cli.params import Seconds

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


SHARED = (
    "--spec",
    "--queues",
    "--timeout",
    "--max-states",
    "--depth",
    "--property",
    "--traces",
    "--json",
    "--quiet",
    "--env",
)


def test_the_readme_says_which_command_takes_which_shared_flag():
    readme = (ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `") and line.count("|") == len(SHARED) + 2]
    said = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        said[cells[0].strip("`")] = {flag for flag, cell in zip(SHARED, cells[1:], strict=True) if cell == "yes"}
    taken = {" ".join(w): {f for f in SHARED if any(f in p.opts for p in c.params)} for w, c in ALL}
    assert said == taken


@pytest.mark.parametrize("words", TAKING["--queues"], ids=" ".join)
@pytest.mark.parametrize(
    "value", ["1025", "1-1025", "99999999999999999999", "9" * 5000], ids=["1025", "1-1025", "20 digits", "5000 digits"]
)
def test_queues_refuses_more_than_1024_everywhere_with_the_range(words, value):
    result = run(*words, "--queues", value)
    assert result.exit_code == ExitCode.BAD_INPUT and "queue counts go from 1 to" in result.output, result.output
    assert "Traceback" not in result.output and len(result.output) < 1000  # a huge value is not echoed whole


SECONDS_OPTIONS = [
    (w, p.opts[0]) for w, c in ALL for p in c.params if isinstance(p, click.Option) and isinstance(p.type, Seconds)
]


@pytest.mark.parametrize(("words", "option"), SECONDS_OPTIONS, ids=lambda x: " ".join(x) if isinstance(x, tuple) else x)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "-1"])
def test_every_duration_refuses_what_is_not_a_finite_time(words, option, value):
    result = run(*words, option, value)
    assert result.exit_code == ExitCode.BAD_INPUT and option in result.output, result.output


def test_every_float_option_is_a_duration_that_refuses_nan():
    floats = [
        (w, p.opts[0])
        for w, c in ALL
        for p in c.params
        if isinstance(p, click.Option) and isinstance(p.type, click.types.FloatParamType)
    ]
    assert not floats, f"use params.Seconds, which refuses nan and inf: {floats}"


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--spec", "proposal", "--queues", "1-2"],
        ["verify", "--resolved-queues", "1", "--proposal-queues", "1"],
        ["liveness", "--spec", "proposal", "--queues", "1"],
        ["scale", "--queues", "1-8"],
        ["prove", "--spec", "resolved", "--env", "qemu"],
        ["diff", "proposal", "resolved", "--queues", "1"],
        ["mutants", "--queues", "1", "--max-depth", "6", "--only", "take_keeps_ours"],
    ],
    ids=lambda a: a[0],
)
def test_at_40_columns_tables_wrap_and_cut_no_name_or_number(args, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    result = run(*args)
    assert result.exit_code in (0, 1), result.output
    assert not [line for line in result.stdout.splitlines() if len(line) > 40]
    assert "…" not in result.stdout  # rich's mark of a cut cell
    for name in ("assigned_holds_exactly_ours", "limited_host_no_userspace_ioeventfd"):
        assert name in result.stdout or args[0] in ("scale", "mutants", "diff", "liveness")


def test_the_proofs_table_of_make_verify_keeps_every_name_whole_at_100_columns():
    result = run("prove", "--spec", "resolved", "--env", "qemu")
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout and not [line for line in result.stdout.splitlines() if len(line) > WIDTH]
    for name in ("assigned_holds_exactly_ours", "limited_host_no_userspace_ioeventfd", "stopped_vm_holds_none_of_ours"):
        assert name in result.stdout
    assert "\nsearch: " not in result.stdout  # the search is labelled, not a stray line
