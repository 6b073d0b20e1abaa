"""Queue symmetry reduction: same verdicts as the full search, one state per
orbit, concrete shortest replayable traces, and refusal where unsound."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import os
import shutil
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.explore import Explorer
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.scale import reduced
from virtio_notifier_spec.scale.search import explore
from virtio_notifier_spec.scale.symmetry import SymmetryError, counted, support_refusal, symmetry_refusal
from virtio_notifier_spec.spec.concrete import compile_expr
from virtio_notifier_spec.spec.expr import QUEUE, Compare, Literal, Param
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec
from virtio_notifier_spec.spec.schema import PropertyKind

#: up to 6 (resolved) and 4 (proposal) queues in make soundness (SOUNDNESS_LONG=1); 4 and 3 in make test
LONG = os.environ.get("SOUNDNESS_LONG") == "1"
SIZES = [("resolved", n) for n in range(1, 7 if LONG else 5)] + [("proposal", n) for n in range(1, 5 if LONG else 4)]


@cache
def _full(name: str, n: int):
    spec = load_spec(name)
    explorer = Explorer(spec, n, max_states=None, timeout=None, progress=None)
    explorer.run()
    orbits = {(s.device, counted(s.queues)) for s in explorer.parent}
    found = {name: len(cx.trace) for name, cx in explorer.found.items()}
    if any(count == 0 for count in explorer.fired.values()):
        found["no_dead_transition"] = 0
    return len(explorer.parent), len(orbits), found


@pytest.mark.parametrize(("name", "n"), SIZES)
def test_reduced_search_has_the_full_verdicts_and_one_state_per_orbit(name, n):
    states, orbits, found = _full(name, n)
    reduced = explore(load_spec(name), n, symmetry="orbits")
    assert reduced.states == orbits
    assert reduced.concrete_states == states
    # the same failing checks, each with a trace as short as the full breadth-first search's
    assert {k: len(cx.trace) for k, cx in reduced.counterexamples.items()} == found


def _replays(spec, n, trace):
    machine = Machine(spec, n)
    state = trace.start
    assert state in machine.initial_states()
    for step in trace.steps:
        assert machine.enabled(state, step.event)
        outcome = machine.step(state, step.event)
        assert any(c.post == step.post and c.fired == step.fired for c in outcome.choices), str(step.event)
        state = step.post
    return state


def _breaks(spec, cx, n):
    """The last state (or step) of a counterexample really breaks its property."""
    prop = next((p for p in spec.properties if p.name == cx.name), None)
    if prop is None or prop.kind is PropertyKind.HISTORY_FREE:
        return True
    layout = Machine(spec, 1).layout
    f = compile_expr(prop.expr, layout)
    if prop.kind is PropertyKind.STEP:
        pre = cx.trace.steps[-2].post if len(cx.trace) > 1 else cx.trace.start
        last = cx.trace.steps[-1]
        return not f(pre, last.post, last.event.values, 0)
    return not all(f(cx.trace.last, None, {}, q) for q in range(n))


@pytest.mark.parametrize("n", [2, 3, 40])
def test_reduced_counterexamples_are_concrete_replayable_runs(n):
    spec = load_spec("proposal")
    result = explore(spec, n, symmetry=True)
    assert result.counterexamples
    for cx in result.counterexamples.values():
        assert len(cx.trace.start.queues) == n
        _replays(spec, n, cx.trace)
        assert _breaks(spec, cx, n), cx.name
        if cx.other is not None:  # history: the other run agrees on the inputs before the step, ends apart
            _replays(spec, n, cx.other)
            assert cx.other.last != cx.trace.last
            assert cx.other.steps[-1].event == cx.trace.steps[-1].event
            prop = next(p for p in spec.properties if p.name == cx.name)
            assert _inputs(spec, prop, _before(cx.other)) == _inputs(spec, prop, _before(cx.trace))


def _before(trace):
    return trace.steps[-2].post if len(trace.steps) > 1 else trace.start


def _inputs(spec, prop, state):
    layout = Machine(spec, 1).layout
    device = [state.device[layout.device.index(n)] for n in prop.inputs if n in layout.device]
    queues = [[q[layout.queue.index(n)] for q in state.queues] for n in prop.inputs if n in layout.queue]
    return device, queues


def test_resolved_holds_at_1024_queues_through_the_support_abstraction():
    result = explore(load_spec("resolved"), 1024, symmetry=True)
    assert result.ok and result.reduction == "support"
    assert result.cutoff <= 1024


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copy(SPEC_DIR / "common.toml", tmp_path / "common.toml")
    text = (SPEC_DIR / "resolved.toml").read_text()
    assert old in text
    (tmp_path / "broken.toml").write_text(text.replace(old, new, 1))
    return tmp_path / "broken.toml"


def test_support_abstraction_finds_a_broken_limit_at_1024_queues_with_a_concrete_trace(tmp_path):
    path = _variant(
        tmp_path,
        'guard = "value == driver_ok and running and not limited and assign_ok"',
        'guard = "value == driver_ok and running and assign_ok"',
    )
    spec = load_spec(path)
    result = explore(spec, 1024, symmetry=True)
    assert result.reduction == "support"
    cx = result.counterexamples["limited_host_no_userspace_ioeventfd"]
    assert len(cx.trace) == 1 and len(cx.trace.start.queues) == 1024
    _replays(spec, 1024, cx.trace)


NO_LIMIT = (
    'guard = "value == driver_ok and running and not limited and assign_ok"',
    'guard = "value == driver_ok and running and assign_ok"',
)
NO_DRAIN_ON_RESET = (
    'effects = ["our_fd := false", "handler := none", "pending := false"]\nwhy = "g: a reset',
    'effects = ["our_fd := false", "handler := none"]\nwhy = "g: a reset',
)


@pytest.mark.parametrize(
    ("change", "fails"),
    [
        (None, set()),
        (NO_LIMIT, {"limited_host_no_userspace_ioeventfd"}),
        # the kick left behind is read by nobody: `handle` is not offered for it
        (NO_DRAIN_ON_RESET, {"no_lost_kick"}),
    ],
)
def test_support_verdicts_match_the_orbit_search_at_the_cutoff(tmp_path, change, fails):
    spec = load_spec(_variant(tmp_path, *change)) if change else load_spec("resolved")
    support = explore(spec, 1024, symmetry="support")
    orbits = explore(spec, support.cutoff, symmetry="orbits")
    assert {k: support.verdict(k) for k in support.checks} == {k: orbits.verdict(k) for k in orbits.checks}
    assert set(support.counterexamples) == fails


def _with_property_expr(spec, expr):
    prop = dataclasses.replace(spec.properties[0], expr=expr, per_queue=False)
    return dataclasses.replace(spec, properties=(prop, *spec.properties[1:]))


def test_a_property_naming_a_fixed_queue_is_refused():
    spec = load_spec("resolved")
    fixed = Compare("==", Param("q", QUEUE), Literal(0, QUEUE))
    broken = _with_property_expr(spec, fixed)
    assert symmetry_refusal(spec) is None
    assert "fixed queue 0" in str(symmetry_refusal(broken))
    with pytest.raises(SymmetryError):
        explore(broken, 2, symmetry=True)


def test_an_event_with_a_second_queue_parameter_is_refused():
    spec = load_spec("resolved")
    event = spec.events[0]
    extra = dataclasses.replace(
        event, params=(*event.params, dataclasses.replace(event.params[0], name="other", type=QUEUE))
    )
    broken = dataclasses.replace(spec, events=(extra, *spec.events[1:]))
    assert "not its target" in str(symmetry_refusal(broken))


def test_comparing_queue_indices_rules_out_the_support_abstraction():
    spec = load_spec("resolved")
    assert support_refusal(spec) is None
    broken = _with_property_expr(spec, Compare("==", Param("p", QUEUE), Param("q", QUEUE)))
    assert "compares queues (p == q)" in support_refusal(broken)


@pytest.mark.parametrize("mode", ["orbits", "support"])
def test_max_states_stops_a_reduced_search_with_a_partial_report(mode):
    result = explore(load_spec("resolved"), 1024 if mode == "support" else 6, symmetry=mode, max_states=20)
    assert result.partial and "max-states" in result.partial
    assert not result.ok and result.verdict("no_lost_kick") == "unknown"


def test_timeout_stops_a_reduced_search_with_a_partial_report():
    result = explore(load_spec("proposal"), 30, symmetry="orbits", timeout=1e-9)
    assert result.partial and "timeout" in result.partial and not result.ok


def test_cli_check_symmetry_verifies_1024_queues_and_reports_partial_runs():
    runner = CliRunner()
    ok = runner.invoke(cli, ["check", "--queues", "1024", "--symmetry", "--quiet"])
    assert ok.exit_code == 0, ok.output
    partial = runner.invoke(cli, ["check", "--queues", "6", "--symmetry", "--max-states", "10", "--json"])
    assert partial.exit_code == 3
    assert '"partial": "stopped at --max-states 10"' in partial.output


@pytest.mark.parametrize("module", ["symmetry", "reduced", "search", "promela", "spin", "config", "system"])
def test_scale_docstring_examples_run(module):
    found = importlib.import_module(f"virtio_notifier_spec.scale.{module}")
    result = doctest.testmod(found)
    assert result.failed == 0


@pytest.mark.parametrize("mode", ["orbits", "support"])
def test_a_reduced_search_reports_its_progress(monkeypatch, mode):
    monkeypatch.setattr(reduced, "PROGRESS_EVERY", 25)
    calls = []
    n = 6 if mode == "orbits" else 64
    explore(load_spec("resolved"), n, symmetry=mode, engine="general", progress=lambda *a: calls.append(a))
    assert calls and [c[0] for c in calls] == sorted(c[0] for c in calls) and calls[0][0] == 25


def test_two_alike_queues_that_end_apart_break_history_freedom_with_a_swapped_run():
    # With only device inputs, a reset that leaves one queue assigned and deassigns the
    # other is already a counterexample within one state: the other run swaps the queues.
    spec = load_spec("proposal")
    history = next(p for p in spec.properties if p.kind is PropertyKind.HISTORY_FREE)
    changed = dataclasses.replace(history, inputs=("limited", "running"), events=("reset",))
    spec = dataclasses.replace(spec, properties=tuple(changed if p is history else p for p in spec.properties))
    full = explore(spec, 2)
    reduced = explore(spec, 2, symmetry="orbits")
    cx = reduced.counterexamples[history.name]
    assert len(cx.trace) == len(full.counterexamples[history.name].trace)
    _replays(spec, 2, cx.trace)
    _replays(spec, 2, cx.other)
    assert _inputs(spec, changed, _before(cx.other)) == _inputs(spec, changed, _before(cx.trace))
    assert cx.other.last != cx.trace.last
