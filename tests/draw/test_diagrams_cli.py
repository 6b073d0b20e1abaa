"""`virtio-notifier-spec draw`: DOT and ASCII without Graphviz, a clear
message (exit 2, no traceback) when SVG or PNG need a missing `dot`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Edit

from virtio_notifier_spec.cli.main import cli

DIAGRAMS = Path(__file__).resolve().parents[2] / "diagrams"


def run(*args: str):
    return CliRunner().invoke(cli, ["draw", *args])


def run_without_dot(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in a child whose PATH is empty, so no `dot` can be found."""
    env = {**os.environ, "PATH": ""}
    return subprocess.run(
        [sys.executable, "-m", "virtio_notifier_spec", "draw", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_dot_and_ascii_need_no_graphviz(tmp_path):
    done = run_without_dot(
        "--spec", "resolved", "--format", "dot", "--format", "ascii", "--out", str(tmp_path), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    for name in ("machine-resolved.dot", "machine-resolved.txt", "reachable-resolved-2q.dot"):
        assert (tmp_path / name).read_bytes() == (DIAGRAMS / name).read_bytes()
    assert not list(tmp_path.glob("*.svg"))


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_rendering_without_dot_says_how_to_install_it_and_exits_2(tmp_path, fmt):
    done = run_without_dot("--spec", "resolved", "--format", fmt, "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert "apt-get install graphviz" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_out_dash_prints_the_ascii_machine():
    result = run("--spec", "proposal", "--format", "ascii", "--out", "-")
    assert result.exit_code == 0
    assert result.output == (DIAGRAMS / "machine-proposal.txt").read_text()


def test_out_dash_needs_exactly_one_text_format():
    result = run("--spec", "proposal", "--format", "svg", "--out", "-")
    assert result.exit_code == 2
    assert "--format dot or --format ascii" in result.output


def test_an_unknown_table_exits_2_with_one_line():
    result = run("--spec", "no-such-table", "--format", "dot", "--out", "-")
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "no-such-table" in result.output
    assert "Traceback" not in result.output


def test_a_bad_queue_range_is_a_usage_error():
    result = run("--queues", "3-1", "--format", "dot", "--out", "-")
    assert result.exit_code == 2


def test_diff_of_two_tables_given_on_the_command_line(tmp_path, broken_path):
    mutant = broken_path("resolved", Edit("reset", "effects", '["our_fd := false", "handler := none"]'))
    result = run("--diff", "resolved", str(mutant), "--format", "ascii", "--queues", "1", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    text = (tmp_path / "diff-resolved-resolved.txt").read_text()
    assert "~ reset (g)" in text and "no_lost_kick             holds -> fails" in text
    assert "kick_eventually_handled  holds -> fails" in text  # the kick is never handled either


def test_clean_removes_drawings_no_longer_made(tmp_path):
    (tmp_path / "machine-gone.dot").write_text("digraph {}\n")
    (tmp_path / "notes.md").write_text("kept\n")
    result = run("--spec", "resolved", "--format", "dot", "--out", str(tmp_path), "--clean")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "machine-gone.dot").exists()
    assert (tmp_path / "notes.md").exists()


def test_max_full_draws_every_state_of_a_graph_that_small(tmp_path):
    result = run("--spec", "resolved", "--queues", "1", "--format", "dot", "--max-full", "100", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    dot = (tmp_path / "reachable-resolved-1q.dot").read_text()
    assert '"s37" [' in dot and "every reachable state" in dot
