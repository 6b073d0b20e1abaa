"""`replay` checks a trace's states, not just its events: every state an
ITF trace, an oracle trace or a pasted counterexample gives must be the
table's at that step (the first that differs is reported with its step and
variable); a lasso (ITF's `loop`, a pasted lasso) must close and be fair,
and is judged on the properties of infinite runs; the table an ITF trace
names is found from any folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.itf import SCHEMA

SLOW = Path(__file__).with_name("tables") / "release_stays_slow.toml"


def run(*args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], **kw)


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("traces")
    run("check", "--spec", "proposal", "--queues", "1", "--quiet", "--traces", folder)
    run("liveness", "--spec", "proposal", "--queues", "1", "--quiet", "--traces", folder)
    return folder


def _edit(path: Path, into: Path, change) -> Path:
    document = json.loads(path.read_text())
    change(document)
    into.write_text(json.dumps(document))
    return into


def test_a_later_state_outside_its_type_is_bad_input_naming_it(traces, tmp_path):
    def bogus(doc):
        for state in doc["states"][1:]:
            state["status"] = "bogus"

    path = _edit(traces / "proposal-1q-no_lost_kick.itf.json", tmp_path / "bogus.itf.json", bogus)
    done = run("replay", "--trace", path)
    assert done.exit_code == 2, done.output
    assert "states[1].status: expected one of zero | driver | driver_ok, found 'bogus'" in done.output


def test_a_later_state_that_differs_from_the_table_fails_with_its_step_and_variable(traces, tmp_path):
    def lose(doc):
        doc["states"][2]["pending"] = {"#map": [[{"#bigint": "0"}, False]]}

    path = _edit(traces / "proposal-1q-no_lost_kick.itf.json", tmp_path / "lost.itf.json", lose)
    done = run("replay", "--trace", path)
    assert done.exit_code == 1, done.output
    text = " ".join(done.output.split())
    assert "DIFFERS: the trace's state after step 2: q0.pending: the table has true, the trace false" in text
    assert "stopped at step 2: the trace's state is not the table's" in text
    (document,) = json.loads(run("replay", "--trace", path, "--json").stdout)["results"]
    assert document["ok"] is False and document["steps"][-1]["differs"].startswith("q0.pending")


def test_an_unchanged_trace_agrees_state_by_state(traces):
    done = run("replay", "--trace", traces / "proposal-1q-no_lost_kick.itf.json", "--json")
    (document,) = json.loads(done.stdout)["results"]
    assert done.exit_code == 1  # no_lost_kick, not a state
    assert all(step["differs"] is None for step in document["steps"]) and document["start_differs"] is None
    assert document["liveness"]["kick_eventually_handled"]["verdict"] == "not checked"  # a finite run


def test_an_oracle_trace_whose_observation_differs_fails(traces, tmp_path):
    lines = (traces / "proposal-1q-no_lost_kick.jsonl").read_text().splitlines()
    record = json.loads(lines[2])
    record["observed"]["queues"][0]["state"] = "deassigned"
    lines[2] = json.dumps(record)
    path = tmp_path / "wrong.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = run("replay", "--trace", path)
    assert done.exit_code == 1
    assert "q0.state: the table has assigned, the trace deassigned" in " ".join(done.output.split())


def test_a_pasted_state_line_that_differs_fails(tmp_path):
    pasted = tmp_path / "cx.txt"
    pasted.write_text(
        "0. start (a)  limited=false running=true vhost_on=false status=zero | q0 deassigned\n"
        "1. set_status(value=driver_ok, assign_ok=true)\n"
        "   -> limited=false running=true vhost_on=false status=driver_ok | q0 deassigned\n"
    )
    done = run("replay", "--spec", "resolved", "--trace", pasted)
    assert done.exit_code == 1
    assert "q0.state: the table has assigned, the trace deassigned" in done.output


def test_the_lasso_of_the_release_that_stays_slow_fails_replay_from_any_folder(tmp_path, monkeypatch):
    out = tmp_path / "cx"
    run("check", "--spec", SLOW, "--queues", "1", "--quiet", "--traces", out)
    lasso = out / "release_stays_slow-1q-fast_path_after_release.itf.json"
    assert json.loads(lasso.read_text())["#meta"]["source"] == os.path.relpath(SLOW.resolve(), out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    done = run("replay", "--trace", Path("..") / "cx" / lasso.name)
    assert done.exit_code == 1, done.output
    assert done.output.startswith("release_stays_slow, 1 queue(s)")
    assert "then for ever: nothing happens (the run stays in state 3)" in done.output
    assert "FAILS  fast_path_after_release: queue 0: step 3" in done.output


def test_an_itf_lasso_closes_by_its_loop_back_and_breaks_its_property(traces):
    done = run("replay", "--trace", traces / "proposal-1q-kick_eventually_handled.itf.json", "--json")
    assert done.exit_code == 1
    (document,) = json.loads(done.stdout)["results"]
    assert document["loop"] == 3 and document["cycle"]["problem"] is None and document["cycle"]["unfair"] == []
    assert document["cycle"]["closing"]["event"] == "set_host_notifier"
    assert document["liveness"]["kick_eventually_handled"]["verdict"] == "fails"
    assert document["liveness"]["no_deadlock"]["verdict"] == "holds"


def test_a_cycle_that_does_not_close_fails(traces, tmp_path):
    def elsewhere(doc):
        doc["#meta"]["loop-back"]["picks"]["assign"] = False  # releases again instead of taking

    path = _edit(traces / "proposal-1q-kick_eventually_handled.itf.json", tmp_path / "open.itf.json", elsewhere)
    done = run("replay", "--trace", path)
    assert done.exit_code == 1
    assert "DOES NOT CLOSE: the cycle does not close: set_host_notifier(queue=0, assign=false" in done.output
    path = _edit(traces / "proposal-1q-kick_eventually_handled.itf.json", tmp_path / "far.itf.json", _loop_at(1))
    done = run("replay", "--trace", path)
    assert done.exit_code == 1 and "no event leads from the last state back to state 1" in done.output


def _loop_at(index: int):
    def change(doc):
        doc["loop"] = index
        del doc["#meta"]["loop-back"]

    return change


def test_an_unfair_cycle_is_not_a_counterexample(tmp_path):
    out = tmp_path / "unfair"
    run("liveness", "--spec", "resolved", "--queues", "1", "--no-fairness", "--quiet", "--traces", out)
    (lasso,) = out.glob("*kick_eventually_handled.itf.json")
    done = run("replay", "--trace", lasso)
    assert done.exit_code == 1
    assert "UNFAIR: handle(queue=0) is weakly fair, enabled in every state of the cycle, and never happens" in " ".join(
        done.output.split()
    )
    assert "FAILS  kick_eventually_handled" not in done.output  # an unfair run breaks no promise


def test_a_pasted_lasso_replays_with_its_cycle():
    found = run("liveness", "--spec", "proposal", "--queues", "1", "--quiet").output
    block = found[found.index("proposal, 1 queue(s): kick_eventually_handled FAILS") :]
    done = run("replay", "--spec", "proposal", "--trace", "-", input=block)
    assert done.exit_code == 1, done.output
    assert "then for ever, back to state 3 (state 5 is state 3)" in done.output
    assert "FAILS  kick_eventually_handled: queue 0: the premise holds in state 3" in done.output


def test_a_loop_past_the_last_state_is_bad_input(traces, tmp_path):
    path = _edit(traces / "proposal-1q-kick_eventually_handled.itf.json", tmp_path / "past.itf.json", _loop_at(9))
    done = run("replay", "--trace", path)
    assert done.exit_code == 2 and "loop: expected the index of a state, 0 to 4, found 9" in done.output


def test_the_itf_schema_still_accepts_every_trace_written(traces):
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for path in traces.glob("*.itf.json"):
        validator.validate(json.loads(path.read_text()))


def test_a_trace_of_another_environment_replays_in_it(tmp_path):
    out = tmp_path / "unrestricted"
    args = ["--spec", "proposal", "--env", "unrestricted", "--queues", "2", "--seed", "5", "--depth", "20"]
    found = run("simulate", *args, "--runs", "20", "--traces", out)
    assert found.exit_code == 1
    itf = out / "proposal-2q-no_lost_kick.itf.json"
    assert json.loads(itf.read_text())["#meta"]["env"] == "unrestricted"
    done = run("replay", "--trace", itf)  # its events (vhost_start) exist only there
    assert done.exit_code == 1 and "FAILS  no_lost_kick" in done.output and "DIFFERS" not in done.output
    pasted = found.output[found.output.index("proposal, 2 queue(s): no_lost_kick FAILS") :].split("\n\n")[0]
    done = run("replay", "--spec", "proposal", "--env", "unrestricted", "--trace", "-", input=pasted)
    assert done.exit_code == 1 and "FAILS  no_lost_kick" in done.output and "DIFFERS" not in done.output
