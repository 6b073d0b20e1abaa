"""`replay`: each step with the row that fired and only what changed, from
the command line, a pasted counterexample, an oracle trace or an ITF trace."""

from __future__ import annotations

import json

from click.testing import CliRunner

from virtio_notifier_spec.cli import output
from virtio_notifier_spec.cli.main import cli

ON = "set_status(value=driver_ok, assign_ok=true)"


def run(*args: str, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], **kw)


def test_each_step_shows_its_rows_and_only_what_changed():
    result = run("replay", "--spec", "proposal", ON, "kick(queue=0)", "reset()")
    assert result.exit_code == 1  # no_lost_kick breaks at step 3
    lines = result.output.splitlines()
    step2 = lines.index("2. kick(queue=0)  [q0 kick_signals_eventfd]")
    assert lines[step2 + 1].split() == ["q0.pending", "false", "->", "true"]
    assert lines[step2 + 2].startswith("3. reset()  [q0 g (reset)]")  # nothing else changed
    assert "     FAILS  no_lost_kick (queue 0)" in lines
    assert "status" not in result.output.split("2. kick")[1].split("3. reset")[0]


def test_a_run_that_keeps_every_property_exits_0():
    result = run("replay", "--spec", "resolved", ON, "kick(queue=0)", "reset")
    assert result.exit_code == 0, result.output
    assert "every property holds along the way" in result.output


def test_an_event_the_environment_cannot_issue_stops_the_replay_with_exit_1():
    result = run("replay", "--spec", "resolved", "handle(queue=0)")
    assert result.exit_code == 1
    assert "CANNOT HAPPEN" in result.output and "condition (when) is false" in result.output


def test_the_start_is_chosen_with_init():
    limited = run("replay", "--spec", "resolved", "--init", "limited=true", ON, "--json")
    (document,) = json.loads(limited.stdout)["results"]
    assert document["start"]["device"]["limited"] is True
    assert document["steps"][0]["fired"][0]["transition"] == "status_leaves_queue"


def test_a_pasted_counterexample_replays(tmp_path):
    found = run("check", "--spec", "proposal", "--queues", "1", "--quiet").output
    block = found[found.index("proposal, 1 queue(s): no_lost_kick FAILS") :].split("\n\n")[0]
    pasted = tmp_path / "cx.txt"
    pasted.write_text(block + "\n")
    result = run("replay", "--spec", "proposal", "--trace", pasted)
    assert result.exit_code == 1 and "FAILS  no_lost_kick (queue 0)" in result.output
    assert result.output.count("\n3. reset()") == 1


def test_oracle_and_itf_traces_replay(tmp_path):
    run("check", "--spec", "proposal", "--queues", "1", "--quiet", "--traces", tmp_path)
    for name in ("proposal-1q-no_lost_kick.jsonl", "proposal-1q-no_lost_kick.itf.json"):
        result = run("replay", "--trace", tmp_path / name)  # the variant comes from the trace
        assert result.exit_code == 1, result.output
        assert result.output.startswith("proposal, 1 queue(s)")
        assert "FAILS  no_lost_kick (queue 0)" in result.output


def test_events_from_stdin(tmp_path):
    result = run("replay", "--spec", "proposal", "--trace", "-", input=f"{ON}\n# a comment\nkick(queue=0)\n")
    assert result.exit_code == 0 and "2. kick(queue=0)" in result.output


def test_bad_events_are_one_located_line_and_exit_2(tmp_path):
    cases = [
        (["kick(queue=7)", "--queues", "2"], "queue 7 is out of range"),
        (["kick(q=0)"], "EVENT 1: args.q: kick takes no such argument"),
        (["nosuch()"], "unknown event 'nosuch'"),
        (["set_status(value=driver_ok"], "EVENT 1: expected an event like kick(queue=0)"),
        ([], "give the events on the command line or with --trace FILE"),
        (["--init", "limited=maybe", "reset"], "limited starts as one of"),
    ]
    for args, message in cases:
        result = run("replay", "--spec", "resolved", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
    text = tmp_path / "events.txt"
    text.write_text("reset\nkick(queue=0\n")
    result = run("replay", "--trace", text)
    assert result.exit_code == 2 and f"error: {text}:2: expected an event" in result.output


def test_highlighted_on_a_terminal_plain_off_it(monkeypatch):
    plain = run("replay", "--spec", "proposal", ON)
    assert "\x1b[" not in plain.output
    monkeypatch.setattr(output, "on_terminal", lambda stream=None: True)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = run("replay", "--spec", "proposal", ON)
    assert "\x1b[" in coloured.output and "deassigned" in coloured.output
