"""The oracle finds every mutant of the reference implementation, in both
modes: driving it in-process, and checking traces recorded from it. The
failing sequence reported by drive is the shortest one: no shorter run of
the table's events makes the mutant fail."""

from __future__ import annotations

import io
import itertools
import json

import pytest

from virtio_notifier_spec.oracle.conformance import check_trace
from virtio_notifier_spec.oracle.drive import Driver, drive
from virtio_notifier_spec.oracle.record import record_trace
from virtio_notifier_spec.oracle.testgen import generate
from virtio_notifier_spec.oracle.tracefile import Header
from virtio_notifier_spec.reference.implementation import _handled, reference_implementation
from virtio_notifier_spec.reference.mutants import MUTANTS
from virtio_notifier_spec.spec.load import load_spec

SPEC = load_spec("resolved")
SUITE = generate(SPEC, 1, walks=5, walk_length=30, seed=0)
HIDDEN_STATE = {"take_again_counts_twice"}  # counts vhost's takes: two takes look like one to the table


@pytest.fixture(scope="module")
def reports():
    return {m.name: drive(SPEC, reference_implementation(SPEC, m.device), SUITE) for m in MUTANTS}


def test_the_reference_conforms_with_full_coverage():
    report = drive(SPEC, reference_implementation(SPEC), SUITE)
    assert report.ok, report.text()
    c = report.coverage
    assert (c.pairs, c.row_pairs, c.rows) == (c.reachable_pairs, c.reachable_row_pairs, c.all_rows)


@pytest.mark.parametrize("name", [m.name for m in MUTANTS])
def test_drive_catches_the_mutant_with_a_shortest_failing_sequence(reports, name):
    report = reports[name]
    assert not report.ok, f"{name} survived"
    shrunk = report.shrunk
    assert shrunk.kind == "divergence" and shrunk.mismatches
    mutant = next(m for m in MUTANTS if m.name == name)
    driver = Driver(SPEC, 1, reference_implementation(SPEC, mutant.device))
    assert driver.run(shrunk.limited, shrunk.events, cover=False) is not None
    # nothing shorter fails: every valid run of fewer events, from both starts, passes
    instances = driver.machine.instances
    for length in range(len(shrunk.events)):
        for limited in (False, True):
            for events in itertools.product(instances, repeat=length):
                if driver.valid(limited, events):
                    assert driver.run(limited, events, cover=False) is None, (name, events)


@pytest.mark.parametrize("name", [m.name for m in MUTANTS])
def test_trace_check_catches_the_mutant_in_a_trace_recorded_from_it(reports, name):
    mutant = next(m for m in MUTANTS if m.name == name)
    impl = reference_implementation(SPEC, mutant.device)
    for case in SUITE.cases:  # shortest first: record a trace of each until one diverges
        out = io.BytesIO()
        record_trace(
            impl,
            Header("resolved", 1, case.limited, implementation=name),
            [(i.event.name, dict(i.args)) for i in case.events],
            out,
        )
        verdict = check_trace(io.BytesIO(out.getvalue()), file=f"{name}.jsonl", spec=SPEC)
        if not verdict.ok:
            break
    else:
        pytest.fail(f"no recorded trace of {name} diverges")
    divergence = verdict.divergences[0]
    assert divergence.mismatches or divergence.not_enabled
    # the example (the table's shortest run to the same state, then the
    # diverging line) is no longer than the trace; it replays on the mutant
    # unless the mutant keeps state the table does not (a hidden counter)
    events = [json.loads(x) for x in divergence.example[1:]]
    assert len(events) <= divergence.line - 1
    replay = io.BytesIO()
    record_trace(impl, Header("resolved", 1, case.limited), [(e["event"], e["args"]) for e in events], replay)
    again = check_trace(io.BytesIO(replay.getvalue()), spec=SPEC)
    assert again.ok == (name in HIDDEN_STATE)


def test_handled_is_reported_only_when_the_kicks_add_up():
    # queue 0 drained one kick and the device counted it: handled
    assert _handled([1, 0], [0, 0], 1, None) == [True, False]
    # a pio kick on queue 1, counted
    assert _handled([0, 0], [0, 0], 1, 1) == [False, True]
    # the same, not counted: the kick was lost
    assert _handled([0, 0], [0, 0], 0, 1) == [False, False]
    # a kick counted out of nowhere: handled twice
    assert _handled([0, 0], [0, 0], 1, None) == [True, True]
