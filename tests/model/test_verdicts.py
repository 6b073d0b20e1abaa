"""The verdicts of both variants, pinned: `resolved` satisfies everything,
`proposal` fails exactly the properties spec/README.md explains, each for
its stated reason, with a shortest trace."""

from __future__ import annotations

import json

import pytest

from virtio_notifier_spec.model.explore import HYGIENE, explore
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.model.report import exploration_json
from virtio_notifier_spec.spec.concrete import Layout
from virtio_notifier_spec.spec.load import load_spec

# property -> (open question, the events of the shortest trace with 1 queue)
PROPOSAL_FAILS = {
    "assigned_holds_exactly_ours": ("Q7", ["set_status"]),
    "handler_matches_ioeventfd": ("Q7", ["set_status"]),
    "no_leaked_ioeventfd": ("Q7", ["set_status"]),
    "armed_only_when_driver_ok": ("Q5", ["set_status", "set_status"]),
    "status_zero_resets": ("Q5", ["set_status", "set_status"]),
    "stopped_vm_holds_none_of_ours": ("Q3", ["set_status", "vm_stop"]),
    "no_lost_kick": ("Q8", ["set_status", "kick", "reset"]),
    "load_is_history_free": ("Q6", ["set_status", "vm_stop", "load"]),
}


@pytest.mark.parametrize("queues", [1, 2, 3, 4, 5])
def test_resolved_satisfies_every_property_and_every_row_fires(queues):
    result = explore(load_spec("resolved"), queues)
    assert result.counterexamples == {}
    assert result.dead == ()
    assert result.ok


@pytest.mark.parametrize("queues", [1, 2, 3])
def test_proposal_fails_exactly_the_explained_properties(queues):
    result = explore(load_spec("proposal"), queues)
    assert set(result.counterexamples) == set(PROPOSAL_FAILS)
    assert not set(HYGIENE) & set(result.counterexamples)


@pytest.mark.parametrize("name", sorted(PROPOSAL_FAILS))
def test_proposal_failure_has_the_explained_shortest_trace(name):
    spec = load_spec("proposal")
    cx = explore(spec, 1).counterexamples[name]
    assert [s.event.event.name for s in cx.trace.steps] == PROPOSAL_FAILS[name][1]


def test_every_explained_failure_is_in_the_spec_prose():
    from virtio_notifier_spec.spec.load import SPEC_DIR

    prose = (SPEC_DIR / "README.md").read_text()
    for name, (question, _) in PROPOSAL_FAILS.items():
        line = next(line for line in prose.splitlines() if f"`{name}`" in line and line.startswith("|"))
        assert question in line, name


def test_limit_flag_is_explored_both_ways():
    spec = load_spec("resolved")
    slot = Layout.of(spec).device.index("limited")
    assert {s.device[slot] for s in Machine(spec, 1).initial_states()} == {False, True}


def _stable(result) -> str:
    document = exploration_json(result)
    document.pop("seconds")
    return json.dumps(document, sort_keys=True)


@pytest.mark.parametrize("variant", ["resolved", "proposal"])
def test_same_spec_gives_the_same_counts_and_traces_byte_for_byte(variant):
    first = _stable(explore(load_spec(variant), 2))
    second = _stable(explore(load_spec(variant), 2))
    assert first == second


def test_state_counts_are_pinned():
    # a change to the table that changes these must be deliberate
    counts = {(v, n): explore(load_spec(v), n).states for v in ("resolved", "proposal") for n in (1, 2)}
    assert counts == {("resolved", 1): 38, ("resolved", 2): 124, ("proposal", 1): 68, ("proposal", 2): 424}
