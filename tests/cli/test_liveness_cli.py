"""`virtio-notifier-spec liveness` and the liveness rows of `verify`'s
verdict table: exit codes, the JSON document, the lasso in the text."""

from __future__ import annotations

import json

from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli


def _run(*args):
    return CliRunner().invoke(cli, ["liveness", *args])


def test_proposal_fails_with_its_lasso_in_json_and_exit_1():
    done = _run("--spec", "proposal", "--queues", "1", "--json")
    assert done.exit_code == 1
    (run,) = json.loads(done.stdout)["results"]
    assert run["verdicts"]["kick_eventually_handled"] == "fails"
    lasso = run["lassos"]["kick_eventually_handled"]
    assert [s["event"] for s in lasso["stem"]["steps"]] == ["set_status", "set_host_notifier", "kick"]
    assert [s["event"] for s in lasso["cycle"]] == ["set_host_notifier", "set_host_notifier"]


def test_resolved_holds_exit_0_and_fails_without_fairness_exit_1():
    assert _run("--queues", "1-2").exit_code == 0
    done = _run("--queues", "1", "--no-fairness")
    assert done.exit_code == 1
    assert "then for ever: nothing happens (the run stays in state 2)" in done.stdout


def test_a_stopped_run_is_undecided_exit_3():
    done = _run("--spec", "proposal", "--queues", "2", "--max-states", "40")
    assert done.exit_code == 3 and "unknown" in done.stdout


def test_verify_rows_give_each_variant_its_verdicts_and_what_holds_for_every_n():
    args = ["verify", "--queues", "1-2", "--proposal-queues", "1-2", "--quiet"]
    done = CliRunner().invoke(cli, args, env={"COLUMNS": "140"})  # a row per line: no cell wraps
    assert done.exit_code == 0, done.output
    text = done.output
    row = next(line for line in text.splitlines() if "kick_eventually_handled " in line)
    assert "holds (1-2 q)" in row and "FAILS (1 q, lasso 3+2)" in row and "every N" in row
    row = next(line for line in text.splitlines() if "fast_path_recoverable " in line)
    assert row.count("holds (1-2 q)") == 2 and "every N" not in row


def test_the_environment_is_chosen_as_for_every_command():
    done = _run("--spec", "resolved", "--queues", "1", "--env", "qemu")
    assert done.exit_code == 0 and "env qemu" in done.stdout
    assert _run("--env", "nowhere").exit_code == 2
