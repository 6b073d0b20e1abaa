"""The oracle at many queues: `check` in bounded memory at 64 and 1024
queues, a bounded example search that says when it gives up, `drive`
through a tour of the orbits of the queues (plain outside the symmetry
fragment), and `replay` of one sequence, step by step."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.conformance import TraceChecker, check_trace
from virtio_notifier_spec.oracle.drive import drive
from virtio_notifier_spec.oracle.graph import OrbitGraph, StateGraph, shortest_run
from virtio_notifier_spec.oracle.host import HostMachine
from virtio_notifier_spec.oracle.implementation import ModelImplementation
from virtio_notifier_spec.oracle.record import record_trace
from virtio_notifier_spec.oracle.testgen import generate, random_walks, starts_by_limited
from virtio_notifier_spec.oracle.tracefile import Header, parse_header
from virtio_notifier_spec.scale.symmetry import SymmetryError
from virtio_notifier_spec.spec.expr import QUEUE, Compare, Literal, Param
from virtio_notifier_spec.spec.load import load_spec

pytest_plugins = ["oracle_fixtures"]  # the C example built, a misbehaving child

SPEC = load_spec("resolved")


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def recorded(queues: int, events: int, seed: int = 5, spec=SPEC) -> bytes:
    case = random_walks(HostMachine(spec, queues), 1, events, seed)[0]  # a host that has the slots it grants
    out = io.BytesIO()
    record_trace(
        ModelImplementation(spec),
        Header(spec.name, queues, case.limited),
        [(i.event.name, dict(i.args)) for i in case.events],
        out,
    )
    return out.getvalue()


# -- check: bounded memory ------------------------------------------------------------------


def test_check_at_64_queues_keeps_a_bounded_memo_whatever_the_length():
    data = recorded(64, 600)
    stream = io.BytesIO(data)
    budget = 200_000
    checker = TraceChecker(SPEC, parse_header(stream.readline()), memo_bytes=budget)
    verdict = checker.run(stream)
    assert verdict.ok and verdict.events == 600
    # everything the checker remembers is forgotten once it passes the budget:
    # state sets, judged lines and parsed records alike
    assert checker.flushes > 10 and checker.cost <= budget
    assert len(checker.sets) <= 20 and len(checker.parsed) <= 20


def test_check_works_at_1024_queues():
    verdict = check_trace(io.BytesIO(recorded(1024, 12)))
    assert verdict.ok and verdict.queues == 1024 and verdict.events == 12


# -- check: the example search is bounded and says when it gives up ------------------------------


def _diverging_at_8_queues() -> bytes:
    """A long trace of 8 queues whose last line claims a kick left nothing pending."""
    data = recorded(8, 120, seed=2)
    machine = HostMachine(SPEC, 8)
    state = None
    lines = data.splitlines()
    header = parse_header(lines[0])
    states = starts_by_limited(machine)[header.limited]
    state = states[0]
    for line in lines[1:]:
        doc = json.loads(line)
        inst = machine.instance(doc["event"], **doc["args"])
        state = machine.step(state, inst).choices[0].post
    running = state.device[1]
    on = b'{"event":"set_status","args":{"value":"driver_ok","assign_ok":true}}'
    run_vm = b'{"event":"vm_run","args":{"assign_ok":true}}'
    wrong = b'{"event":"kick","args":{"queue":3},"observed":{"queues":{"3":{"pending":false,"handled":false}}}}'
    extra = [] if running else [run_vm]
    return b"\n".join([*lines, *extra, on, wrong]) + b"\n"


def test_the_example_at_8_queues_is_found_among_orbits_quickly_and_replays():
    verdict = check_trace(io.BytesIO(_diverging_at_8_queues()))
    d = verdict.divergences[0]
    assert d.example is not None and d.example_note is None
    assert len(d.example) - 1 < d.line - 1  # shorter than the trace
    again = check_trace(io.BytesIO(("\n".join(d.example) + "\n").encode()))
    assert again.divergences[0].symptom == d.symptom


def test_an_example_search_that_runs_out_of_budget_says_so():
    verdict = check_trace(io.BytesIO(_diverging_at_8_queues()), example_seconds=0)
    d = verdict.divergences[0]
    assert d.example is None and "none found within the search's budget" in d.example_note
    result = run("oracle", "check", "--example-seconds", "0", "-")
    assert result.exit_code != 0  # (an empty stdin is bad input)


def test_shortest_run_over_orbits_matches_the_plain_search():
    machine = Machine(SPEC, 3)
    starts = starts_by_limited(machine)[False]
    walk = random_walks(machine, 1, 30, 4)[0]
    state = starts[0]
    for inst in walk.events:
        state = machine.step(state, inst).choices[0].post
    plain = shortest_run(StateGraph(SPEC, 3), starts, {state})
    orbits = shortest_run(OrbitGraph(SPEC, 3), starts, {state})
    assert len(plain.events) == len(orbits.events)
    end = starts[0]
    for inst in orbits.events:
        end = machine.step(end, inst).choices[0].post
    assert end == state  # renamed to end in the very state asked for


# -- drive: a tour of the orbits --------------------------------------------------------------------


def test_the_orbit_tour_covers_every_orbit_event_pair_the_explorer_finds():
    suite = generate(SPEC, 6, walks=0)
    assert suite.reduction == "orbits"
    assert suite.reachable_pairs == 12_040  # `check --queues 6 --symmetry`: 12,040 transitions over 518 orbits
    assert len(suite.cases) < 12_040


def test_each_concrete_pair_is_an_orbit_pair_of_the_tour_up_to_renaming():
    graph = OrbitGraph(SPEC, 3)
    concrete = StateGraph(SPEC, 3)
    keys = set()
    for start in concrete.machine.initial_states():
        frontier, seen = [start], {start}
        while frontier:
            state = frontier.pop()
            for move in concrete.moves(state, state):
                keys.add(graph.pair_key(state, move.inst))
                if move.post not in seen:
                    seen.add(move.post)
                    frontier.append(move.post)
    assert len(keys) == generate(SPEC, 3, walks=0, symmetry=True).reachable_pairs


def test_drive_through_the_orbit_tour_covers_everything_and_catches_a_wrong_table():
    suite = generate(SPEC, 3, walks=0, symmetry=True)
    report = drive(SPEC, ModelImplementation(SPEC), suite)
    assert report.ok and report.coverage.reduction == "orbits"
    assert report.coverage.pairs == report.coverage.reachable_pairs == suite.reachable_pairs
    assert report.coverage.row_pairs == report.coverage.reachable_row_pairs
    assert "(orbit, event) pairs 2933/2933 (100.0%)" in report.text()
    wrong = drive(SPEC, ModelImplementation(load_spec("proposal")), suite, shrink=False)
    assert not wrong.ok and wrong.groups


def test_rotated_tests_put_every_queue_in_the_targets_role():
    suite = generate(SPEC, 3, walks=0, pairs=False, symmetry=True)
    last = {c.events[-1].target for c in suite.cases if c.events[-1].target is not None}
    assert last == {0, 1, 2}


def test_a_table_outside_the_symmetry_fragment_falls_back_to_the_plain_tour():
    fixed = Compare("==", Param("q", QUEUE), Literal(0, QUEUE))
    prop = dataclasses.replace(SPEC.properties[0], expr=fixed, per_queue=False)
    broken = dataclasses.replace(SPEC, properties=(prop, *SPEC.properties[1:]))
    suite = generate(broken, 4, walks=0, tour=False, pairs=False)
    assert suite.reduction == "none" and "fixed queue 0" in suite.note
    with pytest.raises(SymmetryError):
        generate(broken, 4, walks=0, symmetry=True)


def test_drive_symmetry_on_tours_orbits_even_at_two_queues(c_programs):
    result = run("oracle", "drive", "--queues", "2", "--symmetry", "on", "--json", "--", c_programs[""])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)["results"][0]
    assert doc["coverage"]["pairs_are"] == "orbit_event_class" and doc["coverage"]["state_event_pairs"] == [1509, 1509]


# -- replay ---------------------------------------------------------------------------------------

SEQUENCE = "start(limited=false); set_status(value=driver_ok, assign_ok=true); kick(queue=0); reset()"


def test_replay_prints_each_step_with_the_row_the_state_and_what_differs(c_programs):
    result = run("oracle", "replay", "--queues", "1", "--sequence", SEQUENCE, "--", c_programs["MUTANT_RESET_NO_DRAIN"])
    assert result.exit_code == 1
    out = result.output
    assert "  1. set_status(value=driver_ok, assign_ok=true)  [spec fires q0 b (assign_on_driver_ok)]" in out
    assert "  3. reset()  [spec fires q0 g (reset)]" in out
    assert "DIFFERS q0.pending: expected false, observed true" in out
    assert run("oracle", "replay", "--queues", "1", "--sequence", SEQUENCE, "--", c_programs[""]).exit_code == 0


def test_replay_runs_the_example_check_wrote(c_programs, tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(_diverging_at_8_queues())
    example = tmp_path / "example.jsonl"
    assert run("oracle", "check", "--example", str(example), str(trace)).exit_code == 1
    result = run("oracle", "replay", "--trace", str(example), "--json", "--", c_programs[""])
    assert result.exit_code == 0  # the C example conforms: the example's events run as the spec expects
    doc = json.loads(result.stdout)["results"][0]
    assert doc["queues"] == 8 and len(doc["steps"]) == len(example.read_text().splitlines())


def test_replay_refuses_a_malformed_sequence_with_one_line():
    result = run("oracle", "replay", "--sequence", "kick(queue=9)", "--builtin", "reference")
    assert result.exit_code == 2 and "event 1 (kick): args.queue: queue 9 is out of range" in result.output
    assert run("oracle", "replay", "--builtin", "reference").exit_code == 2
