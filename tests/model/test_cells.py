"""Properties read off (device, queue) cells (model/cells.py): which ones
qualify, decided on the typed tree; the packed engine reporting what the
general explorer reports when the cells say a property fails, on broken
tables and on properties of every form; and the comparison shown to catch a
cell table that misses a violation."""

from __future__ import annotations

import numpy as np
import pytest
from test_packed import _document, _same
from test_table_mutations import BREAKS

from virtio_notifier_spec.model import cells, frontier
from virtio_notifier_spec.model.cells import CellChecks, cell_form
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.spec.load import load_spec

# extra properties of every form, each broken by `resolved` at 2 queues
FORMS = """
[[properties]]
name = "all_armed_when_running"
kind = "invariant"
expr = "running => (forall q: handler[q] == ours)"
rationale = "a forall in a positive place: read off cells"

[[properties]]
name = "some_queue_deassigned"
kind = "invariant"
expr = "exists q: state[q] == deassigned"
rationale = "an exists: on whole states"

[[properties]]
name = "not_all_unread"
kind = "invariant"
expr = "not (forall q: handler[q] == none)"
rationale = "a forall under not: on whole states"

[[properties]]
name = "two_quantifiers"
kind = "invariant"
expr = "(forall q: not pending[q]) or (forall p: handler[p] == none)"
rationale = "two quantifiers: on whole states"

[[properties]]
name = "kick_leaves_others_alone"
kind = "step"
events = ["kick"]
expr = "forall q: pending'[q] == pending[q]"
rationale = "a step property of cells: the kicked queue's and the others'"

[[properties]]
name = "kicked_queue_pending"
kind = "step"
events = ["kick"]
expr = "not pending'[queue]"
rationale = "the event's queue parameter as an index: on whole states"
"""

CELL_FORMS = {"all_armed_when_running", "kick_leaves_others_alone"}
WHOLE_FORMS = {"some_queue_deassigned", "not_all_unread", "two_quantifiers", "kicked_queue_pending"}


def test_every_safety_property_of_resolved_is_read_off_cells():
    spec = load_spec("resolved")
    checks = CellChecks(spec)
    invariants = {p.name for p in spec.properties if p.kind.value == "invariant"}
    steps = {p.name for p in spec.properties if p.kind.value == "step"}
    assert set(checks.invariants) == invariants and set(checks.steps) == steps
    assert set(checks.history) == {"load_is_history_free"}


def test_which_forms_qualify_is_decided_on_the_typed_tree(broken):
    spec = broken("resolved", extra=FORMS)
    props = {p.name: p for p in spec.properties}
    decided = {name: cell_form(props[name].expr, props[name].per_queue) for name in CELL_FORMS | WHOLE_FORMS}
    assert {name for name, yes in decided.items() if yes} == CELL_FORMS
    checks = CellChecks(spec)
    assert set(checks.invariants) | set(checks.steps) >= CELL_FORMS
    assert not WHOLE_FORMS & (set(checks.invariants) | set(checks.steps))


@pytest.mark.parametrize("queues", [1, 2, 3])
def test_properties_of_every_form_fail_alike_in_both_engines(broken, queues):
    spec = broken("resolved", extra=FORMS)
    result = explore(spec, queues, engine="packed")
    if queues > 1:
        assert set(result.counterexamples) >= CELL_FORMS
    _same(spec, queues)


@pytest.mark.parametrize(
    "name", ["armed_only_when_driver_ok", "no_lost_kick", "reset_disarms_ours", "status_zero_resets"]
)
def test_a_broken_table_is_caught_by_the_cell_lookup_with_the_same_shortest_trace(broken, name):
    _, edits, _ = BREAKS[name]
    spec = broken("resolved", *edits)
    checks = CellChecks(spec)
    assert name in checks.invariants or name in checks.steps
    general = explore(spec, 2, engine="general")
    packed = explore(spec, 2, engine="packed")
    assert name in packed.counterexamples
    assert packed.counterexamples[name].trace == general.counterexamples[name].trace
    _same(spec, 2)


def test_a_cell_table_that_misses_a_violation_is_caught_by_the_comparison(broken, monkeypatch):
    # every cell said good: the packed engine no longer sees the broken invariant
    _, edits, _ = BREAKS["armed_only_when_driver_ok"]
    spec = broken("resolved", *edits)
    monkeypatch.setattr(CellChecks, "_invariant", lambda self, prop: np.zeros(len(self.cell_device), dtype=bool))
    assert "armed_only_when_driver_ok" not in explore(spec, 2, engine="packed").counterexamples
    with pytest.raises(AssertionError):
        _same(spec, 2)


@pytest.mark.parametrize("chunk", [64, 4096])
def test_history_freedom_falls_back_to_every_step_with_the_same_first_clash(broken, monkeypatch, chunk):
    # the cells first say nothing can clash, then the clash's cells appear: the
    # steps already taken are replayed before that chunk is checked step by step
    monkeypatch.setattr(frontier, "CHUNK_EDGES", chunk)
    answers = []
    holds = CellChecks.history_holds
    monkeypatch.setattr(CellChecks, "history_holds", lambda *a: answers.append(holds(*a)) or answers[-1])
    _, edits, _ = BREAKS["load_is_history_free"]
    spec = broken("resolved", *edits)
    for queues in (1, 2, 3):
        answers.clear()
        result = explore(spec, queues, engine="packed")
        assert "load_is_history_free" in result.counterexamples
        assert answers[-1] is False
        if chunk == 64 and queues == 3:
            assert answers[0] is True  # the fallback replayed earlier chunks
        _same(spec, queues)


def test_history_freedom_of_resolved_is_decided_by_the_cells_seen(monkeypatch):
    answers = []
    holds = cells.CellChecks.history_holds
    monkeypatch.setattr(cells.CellChecks, "history_holds", lambda *a: answers.append(holds(*a)) or answers[-1])
    result = explore(load_spec("resolved"), 3, engine="packed")
    assert answers and all(answers)  # never a step checked one by one
    assert result.verdict("load_is_history_free") == "holds"


@pytest.mark.parametrize("limit", range(1, 60, 3))
def test_states_admitted_but_never_expanded_are_checked_when_max_states_stops(broken, limit):
    # the packed engine checks invariants on expansion; a stop leaves admitted states to check
    _, edits, _ = BREAKS["armed_only_when_driver_ok"]
    spec = broken("resolved", *edits)
    general = _document(explore(spec, 2, engine="general", max_states=limit))
    assert _document(explore(spec, 2, engine="packed", max_states=limit)) == general
