"""`simulate`: random runs of a table, every property checked on each run,
a failure as a replayable trace with its rows, the same bytes for the same
seed, and what a finite run cannot decide marked "not checked"."""

from __future__ import annotations

import json

from click.testing import CliRunner
from conftest import Edit

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.model.simulate import NO_VIOLATION, simulate
from virtio_notifier_spec.spec.load import load_spec


def run(*args, **kw):
    return CliRunner().invoke(cli, ["simulate", *(str(a) for a in args)], **kw)


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_runs():
    args = ("--spec", "proposal", "--queues", "2", "--depth", "25", "--runs", "30")
    first, again = run(*args, "--seed", "11"), run(*args, "--seed", "11")
    assert first.exit_code == 1 and first.output == again.output
    assert "seed 11" in first.output
    as_json = run(*args, "--seed", "11", "--json", "--quiet")
    assert as_json.stdout == run(*args, "--seed", "11", "--json", "--quiet").stdout
    other = json.loads(run(*args, "--seed", "12", "--json", "--quiet").stdout)["results"][0]
    mine = json.loads(as_json.stdout)["results"][0]
    assert (mine["seed"], other["seed"]) == (11, 12) and mine["counterexamples"] != other["counterexamples"]


def test_every_failure_is_a_run_of_the_table_that_breaks_it():
    spec = load_spec("proposal")
    found = simulate(spec, 2, seed=5, depth=30, runs=60)
    machine = Machine(spec, 2)
    assert set(found.counterexamples) <= set(explore(spec, 2).counterexamples)
    assert {"no_lost_kick", "armed_only_when_driver_ok"} <= set(found.counterexamples)
    for cx in found.counterexamples.values():
        state = cx.trace.start
        assert state in machine.initial_states()
        for step in cx.trace.steps:
            assert machine.enabled(state, step.event)
            assert step.post in [c.post for c in machine.step(state, step.event).choices]
            state = step.post
        assert len(cx.trace) <= found.depth


def test_a_failure_written_with_traces_replays_and_fails_again(tmp_path):
    done = run(
        "--spec",
        "proposal",
        "--queues",
        "1",
        "--seed",
        "2",
        "--depth",
        "20",
        "--runs",
        "40",
        "--quiet",
        "--traces",
        tmp_path,
    )
    assert done.exit_code == 1
    replayed = CliRunner().invoke(cli, ["replay", "--trace", str(tmp_path / "proposal-1q-no_lost_kick.itf.json")])
    assert replayed.exit_code == 1 and "FAILS  no_lost_kick (queue 0)" in replayed.output
    assert "[q0 " in done.output or "[q0 " in replayed.output  # rows with their letters


def test_resolved_has_no_violation_and_says_what_a_finite_run_cannot_decide():
    done = run("--queues", "3", "--seed", "1", "--depth", "40", "--runs", "20", "--json", "--quiet")
    assert done.exit_code == 0
    (result,) = json.loads(done.stdout)["results"]
    verdicts = result["verdicts"]
    assert verdicts["no_lost_kick"] == NO_VIOLATION and verdicts["no_deadlock"] == NO_VIOLATION
    assert verdicts["kick_eventually_handled"] == verdicts["fast_path_recoverable"] == "not checked"
    assert verdicts["no_dead_transition"] == "not checked"
    assert "goal may come after the run ends" in result["not_checked"]["kick_eventually_handled"]
    assert result["runs"] == 20 and result["steps"] == 800 and sum(result["coverage"].values()) > 0


def test_a_reachable_deadlock_fails_deadlock_free(broken):
    stuck = broken(
        "resolved",
        *(Edit(e, "when", '"running"', file="common") for e in ("set_status", "reset", "set_host_notifier")),
        Edit("load", "when", '"false"', file="common"),
        Edit("vm_run", "when", '"false"', file="common"),
    )
    found = simulate(stuck, 1, seed=3, depth=50, runs=20)
    assert found.verdict("no_deadlock") == "fails" and found.ended > 0
    assert found.counterexamples["no_deadlock"].trace.steps[-1].event.event.name == "vm_stop"


def test_a_table_too_big_to_explore_is_simulated():
    found = simulate(load_spec("proposal"), 512, seed=9, depth=60, runs=3)
    assert found.runs == 3 and found.steps == 180 and found.distinct > 50
    done = run("--queues", "1024", "--seed", "1", "--depth", "10", "--runs", "2", "--quiet")
    assert done.exit_code == 0 and "1,024 queue(s)" not in done.output and "1024 queue(s)" in done.output


def test_property_narrows_what_is_reported():
    done = run("--spec", "proposal", "--queues", "1", "--seed", "2", "--property", "no_lost_kick", "--json", "-q")
    (result,) = json.loads(done.stdout)["results"]
    assert list(result["verdicts"]) == ["no_lost_kick"] and done.exit_code == 1


def test_the_json_fits_its_schema_and_the_shared_envelope():
    import jsonschema

    from virtio_notifier_spec.model.simulate import SCHEMA

    document = json.loads(run("--spec", "proposal", "--queues", "1", "--seed", "3", "--json", "-q").stdout)
    assert (document["format"], document["command"], document["stopped"]) == ("virtio-notifier-spec", "simulate", None)
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for result in document["results"]:
        validator.validate(result)
    result["verdicts"]["no_lost_kick"] = "holds"  # a simulation never says so
    assert not validator.is_valid(result)
