"""Every named check can fail: a deliberately broken table makes it fail,
with a shortest trace that replays to the same states."""

from __future__ import annotations

import pytest
from conftest import Edit

from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.model.trace import Trace

DRAIN = '["our_fd := false", "handler := none", "pending := false"]'

# property -> (what is broken, the edits, a row the trace must fire)
BREAKS = {
    "offlimits_never_ours": (
        "c keeps our handler",
        [Edit("vhost_takes_assigned", "effects", '["our_fd := false", "vhost_fd := true"]')],
        "c",
    ),
    "assigned_holds_exactly_ours": (
        "b arms our handler without registering the ioeventfd",
        [Edit("assign_on_driver_ok", "effects", '["handler := ours"]')],
        "b",
    ),
    "assigned_is_armed": (
        "b forgets to attach our handler",
        [Edit("assign_on_driver_ok", "effects", '["our_fd := true"]')],
        "b",
    ),
    "deassigned_is_unread": (
        "f leaves vhost's handler attached",
        [Edit("release_on_limited_host", "effects", '["vhost_fd := false", "pending := false"]')],
        "d",
    ),
    "armed_only_when_assigned": (
        "g forgets to detach our handler",
        [Edit("reset", "effects", '["our_fd := false", "pending := false"]')],
        "g",
    ),
    "limited_host_no_userspace_ioeventfd": (
        "b drops the limit guard",
        [
            Edit("assign_on_driver_ok", "guard", '"value == driver_ok and running and assign_ok"'),
            Edit("status_leaves_queue", "from", '["offlimits"]'),
            Edit("keep_assigned_on_status", "from", '["assigned"]'),
        ],
        "b",
    ),
    "armed_only_when_driver_ok": (
        "e drops the status guard (open question 3)",
        [
            Edit("release_to_assigned", "guard", '"not assign and not limited and running and assign_ok"'),
            Edit("release_to_pio", "guard", '"not assign and not limited and not running"'),
        ],
        "e",
    ),
    "stopped_vm_holds_none_of_ours": (
        "vm_stop leaves our ioeventfd armed",
        [Edit("deassign_on_vm_stop", "to", None), Edit("deassign_on_vm_stop", "effects", None)],
        "deassign_on_vm_stop",
    ),
    "one_owner_per_notifier": (
        "c forgets to deassign ours",
        [Edit("vhost_takes_assigned", "effects", '["pending := false", "vhost_fd := true", "handler := vhost"]')],
        "c",
    ),
    "handler_matches_ioeventfd": (
        "f leaves vhost's handler attached",
        [Edit("release_on_limited_host", "effects", '["vhost_fd := false", "pending := false"]')],
        "d",
    ),
    "no_leaked_ioeventfd": (
        "g forgets our ioeventfd",
        [Edit("reset", "effects", '["handler := none", "pending := false"]')],
        "g",
    ),
    "offlimits_iff_vhost_holds": (
        "d goes to the wrong state",
        [Edit("vhost_takes_deassigned", "to", '"deassigned"')],
        "d",
    ),
    "no_lost_kick": (
        "g deassigns without draining",
        [Edit("reset", "effects", '["our_fd := false", "handler := none"]')],
        "g",
    ),
    "reset_disarms_ours": (
        "reset goes to the wrong state",
        [Edit("reset", "to", '"assigned"'), Edit("reset", "effects", None)],
        "g",
    ),
    "status_zero_resets": (
        "status 0 keeps the queue assigned",
        [Edit("reset_by_status_zero", "to", None), Edit("reset_by_status_zero", "effects", None)],
        "g",
    ),
    "load_is_history_free": (
        "load forgets to set the status",
        [Edit("load", "effects", None, file="common")],
        "load_leaves_queue",
    ),
    "complete": ("a row is missing", [Edit("release_unheld", None)], None),
    "no_dead_transition": (
        "a row that can never fire",
        [],
        None,
    ),
}

GHOST = """
[[transitions]]
name = "ghost"
event = "reset"
from = "offlimits"
guard = "our_fd"
why = "never: an offlimits queue never holds our ioeventfd"
"""


# a second row for reset from assigned whose guard reads other queues
GREEDY_RESET = """
[[transitions]]
name = "greedy_reset"
event = "reset"
from = "assigned"
to = "deassigned"
guard = "exists p: pending[p]"
effects = ["our_fd := false", "handler := none", "pending := false"]
why = "overlaps with g whenever a kick is pending"
"""


def replay(machine: Machine, trace: Trace) -> None:
    """Replaying the trace's events from its start gives the trace's states."""
    state = trace.start
    for step in trace.steps:
        assert machine.enabled(state, step.event)
        posts = [c.post for c in machine.step(state, step.event).choices]
        assert step.post in posts
        state = step.post


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_each_check_fails_on_a_table_broken_for_it(broken, name):
    why, edits, row = BREAKS[name]
    spec = broken("resolved", *edits, extra=GHOST if name == "no_dead_transition" else "")
    result = explore(spec, queues=1)
    assert name in result.counterexamples, f"{why}: {name} still holds"
    trace = result.counterexamples[name].trace
    if row is not None:
        fired = {r.label for step in trace.steps for _, r in step.fired}
        assert row in fired, trace.format(spec)
    replay(Machine(spec, 1), trace)


def test_the_unbroken_table_passes_every_check():
    from virtio_notifier_spec.spec.load import load_spec

    assert explore(load_spec("resolved"), queues=1).counterexamples == {}


def test_nondeterminism_hidden_behind_a_quantifier_is_found_by_exploration(broken):
    # a guard that reads other queues escapes the load-time check; the explorer catches it
    spec = broken("resolved", extra=GREEDY_RESET)
    result = explore(spec, queues=2)
    cx = result.counterexamples["deterministic"]
    assert "fires both reset and greedy_reset" in cx.message
    assert [s.event.event.name for s in cx.trace.steps] == ["set_status", "kick"]


def test_counterexample_is_shortest():
    # no_lost_kick in the proposal needs b, a kick and g: three steps, no fewer
    from virtio_notifier_spec.spec.load import load_spec

    spec = load_spec("proposal")
    trace = explore(spec, queues=2).counterexamples["no_lost_kick"].trace
    assert [s.event.event.name for s in trace.steps] == ["set_status", "kick", "reset"]


def test_a_row_that_never_fires_from_one_of_its_sources_is_dead(broken):
    spec = broken("resolved", Edit("kick_signals_eventfd", "from", '["deassigned", "assigned", "offlimits"]'))
    result = explore(spec, queues=1)
    assert "kick_signals_eventfd from deassigned" in result.counterexamples["no_dead_transition"].message
    assert result.dead == ("kick_signals_eventfd from deassigned",)
