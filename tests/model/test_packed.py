"""The packed engine against the general explorer: the same states,
transitions, depth, rows fired, verdicts and shortest traces, byte for byte,
on both variants, on broken tables, on runs stopped by --max-states, and with
two threads; and the comparison shown to catch a broken packed engine."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import Edit
from hypothesis import given, settings
from hypothesis import strategies as st
from test_table_mutations import BREAKS, GHOST, GREEDY_RESET

from virtio_notifier_spec.model import frontier, packed
from virtio_notifier_spec.model.explore import Explorer, explore
from virtio_notifier_spec.model.packable import NotPackable, packed_refusal
from virtio_notifier_spec.model.report import counterexample_text, exploration_json
from virtio_notifier_spec.model.steptable import step_tables
from virtio_notifier_spec.model.vector import Frame, evaluate
from virtio_notifier_spec.model.visited import CodeSet
from virtio_notifier_spec.spec.concrete import compile_expr
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import PropertyKind


def _document(result) -> str:
    """Everything an exploration reports, traces rendered as people read them."""
    document = exploration_json(result)
    document.pop("seconds")
    document["text"] = [counterexample_text(result, cx) for cx in result.counterexamples.values()]
    return json.dumps(document, sort_keys=True, indent=1)


def _same(spec, queues: int, **limits) -> None:
    general = _document(explore(spec, queues, engine="general", **limits))
    fast = _document(explore(spec, queues, engine="packed", **limits))
    assert fast == general


@pytest.mark.parametrize(
    ("variant", "queues"), [("resolved", n) for n in range(1, 5)] + [("proposal", n) for n in (1, 2, 3)]
)
def test_packed_engine_reports_what_the_general_explorer_reports(variant, queues):
    _same(load_spec(variant), queues)


@pytest.mark.parametrize("env", ["qemu", "kvmtool", "rust_vmm"])
def test_packed_engine_agrees_in_every_environment_profile(env):
    _same(load_spec("proposal", env), 2)


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_packed_engine_agrees_on_every_broken_table(broken, name):
    _, edits, _ = BREAKS[name]
    spec = broken("resolved", *edits, extra=GHOST if name == "no_dead_transition" else "")
    assert packed_refusal(spec) is None
    _same(spec, 2)


def test_packed_engine_agrees_on_a_row_dead_from_one_source(broken):
    spec = broken("resolved", Edit("kick_signals_eventfd", "from", '["deassigned", "assigned", "offlimits"]'))
    _same(spec, 2)


@pytest.mark.parametrize(
    ("variant", "queues", "limit"), [("resolved", 4, 700), ("proposal", 3, 1000), ("resolved", 2, 1)]
)
def test_max_states_stops_on_the_same_edge(variant, queues, limit):
    spec = load_spec(variant)
    result = explore(spec, queues, max_states=limit, engine="packed")
    assert result.partial == f"stopped at --max-states {limit}"
    _same(spec, queues, max_states=limit)


@pytest.mark.parametrize("variant", ["resolved", "proposal"])
def test_two_threads_find_what_one_finds(variant, monkeypatch):
    monkeypatch.setattr(frontier, "CHUNK_EDGES", 4096)  # many chunks, so that threads share levels
    spec = load_spec(variant)
    one = _document(explore(spec, 3, engine="packed"))
    assert _document(explore(spec, 3, engine="packed", workers=2)) == one


def test_a_broken_packed_engine_is_caught_by_the_comparison(monkeypatch):
    # drop the device's change from every step: the reachable states differ
    spec = load_spec("resolved")
    broken_delta = packed.PackedExplorer._delta

    def forgetful(self, table, target):
        rows = broken_delta(self, table, target)
        keep = ~np.uint64(self.codec.dev_mask) | np.uint64(1 << 63)
        return rows & keep if target is not None else np.vstack([rows[:1] & keep, rows[1:]])

    monkeypatch.setattr(packed.PackedExplorer, "_delta", forgetful)
    with pytest.raises(AssertionError):
        _same(spec, 2)


def test_tables_outside_the_fragment_go_to_the_general_explorer(broken):
    spec = broken("resolved", extra=GREEDY_RESET)
    refusal = packed_refusal(spec)
    assert "greedy_reset: reads another queue" in str(refusal) and refusal.field == "guard" and refusal.line
    with pytest.raises(NotPackable, match="greedy_reset: reads another queue"):
        explore(spec, 2, engine="packed")
    assert "deterministic" in explore(spec, 2).counterexamples


def test_a_condition_on_another_queue_is_outside_the_fragment(broken):
    spec = broken("resolved", Edit("kick", "when", '"running and (forall p: not pending[p])"', file="common"))
    assert "kick: reads more than the device and its target queue" in str(packed_refusal(spec))


def test_check_refuses_a_forced_packed_run_in_one_line(broken_path):
    from click.testing import CliRunner

    from virtio_notifier_spec.cli.main import cli

    path = broken_path("resolved", extra=GREEDY_RESET)
    result = CliRunner().invoke(cli, ["check", "--spec", str(path), "--engine", "packed", "--quiet"])
    assert result.exit_code == 2
    assert "greedy_reset: reads another queue" in result.output and "Traceback" not in result.output


def test_timeout_and_interrupt_give_partial_runs():
    spec = load_spec("resolved")
    assert explore(spec, 5, timeout=1e-9, engine="packed").partial == "stopped at --timeout"

    def interrupt(states, edges, depth):
        raise KeyboardInterrupt

    result = explore(spec, 5, engine="packed", progress=interrupt)
    assert result.partial == "interrupted"
    assert 0 < result.states < 5798 and not result.ok


def test_progress_reports_growing_counts():
    seen = []
    explore(load_spec("resolved"), 4, engine="packed", progress=lambda *a: seen.append(a))
    assert seen and seen[-1][0] == 1516 and seen == sorted(seen)


@pytest.mark.parametrize("variant", ["resolved", "proposal"])
def test_vector_predicates_agree_with_the_closures_on_every_state(variant):
    spec = load_spec(variant)
    explorer = Explorer(spec, 2, max_states=None, timeout=None, progress=None)
    explorer.run()
    states = list(explorer.parent)
    codec = packed.Codec(spec, 2, step_tables(spec).singles)
    frame = Frame(codec, codec.split(np.array([codec.encode(s) for s in states], dtype=np.uint64)))
    for prop in spec.properties:
        if prop.kind is not PropertyKind.INVARIANT:
            continue
        f = compile_expr(prop.expr, explorer.machine.layout)
        vector = evaluate(prop.expr, frame, per_queue=prop.per_queue)
        for s, value in zip(states, vector, strict=True):
            expected = [f(s, None, {}, q) for q in range(2)] if prop.per_queue else f(s, None, {}, 0)
            assert np.asarray(value).tolist() == expected, (prop.name, s)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**63 - 1), max_size=300), max_size=5))
def test_the_visited_set_is_a_set(batches):
    seen, model = CodeSet(capacity=4), set()
    for batch in batches:
        fresh = sorted(set(batch) - model)
        seen.add(np.array(fresh, dtype=np.uint64))
        model |= set(fresh)
        probe = np.array([*batch, 7, 2**62], dtype=np.uint64)
        assert seen.contains(probe).tolist() == [int(x) in model for x in probe]
    assert len(seen) == len(model)
