"""Queue counts and durations mean one thing each, or are refused (exit 2)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize(
    "args, option",
    [
        (["check", "--queues", "1-"], "--queues"),
        (["check", "--queues", "-2"], "--queues"),
        (["check", "--queues", "1-2-3"], "--queues"),
        (["check", "--queues", "2-1"], "--queues"),
        (["check", "--timeout", "nan"], "--timeout"),
        (["check", "--timeout", "inf"], "--timeout"),
        (["check", "--timeout", "-1"], "--timeout"),
        (["scale", "--timeout", "nan"], "--timeout"),
        (["draw", "--queues", "1-", "--format", "ascii", "--out", "-"], "--queues"),
        (["diff", "proposal", "resolved", "--queues", "1-"], "--queues"),
        (["diff", "proposal", "resolved", "--timeout", "nan"], "--timeout"),
    ],
)
def test_a_value_the_option_cannot_mean_is_refused_with_exit_2(args, option):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert "Traceback" not in result.output


def test_a_range_with_spaces_is_still_a_range():
    result = run("check", "--spec", "resolved", "--queues", " 1 - 2 ", "--quiet")
    assert result.exit_code == 0
    assert "holds (1-2 q)" in result.output
