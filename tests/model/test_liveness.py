"""Liveness on the reachable graph: the verdicts of both variants, each
property failing with a fair lasso on a table broken on purpose, and a
property that holds only under fairness failing without it."""

from __future__ import annotations

import pytest
from conftest import Edit
from lassos import STRICT, breaks, replay

from virtio_notifier_spec.model.liveness import check_liveness, failure_text
from virtio_notifier_spec.spec.load import load_spec

LIVENESS = ("kick_eventually_handled", "fast_path_after_release", "fast_path_recoverable", "no_deadlock")


def _events(trace_steps) -> list[str]:
    return [f"{s.event.event.name}" for s in trace_steps]


@pytest.mark.parametrize("queues", [1, 2, 3])
def test_resolved_satisfies_every_liveness_property(queues):
    run = check_liveness(load_spec("resolved"), queues)
    assert run.checks == LIVENESS
    assert run.failures == {}
    assert run.ok


@pytest.mark.parametrize("queues", [1, 2])
def test_proposal_leaves_a_kick_in_an_eventfd_nobody_reads(queues):
    spec = load_spec("proposal")
    run = check_liveness(spec, queues)
    assert set(run.failures) == {"kick_eventually_handled"}
    failure = run.failures["kick_eventually_handled"]
    breaks(spec, queues, "kick_eventually_handled", failure)
    # on a limited host f gives vhost's notifier back without draining it (Q8):
    # the kick vhost left there is read by nobody, while vhost comes and goes
    assert failure.lasso.stem.start.device[0] is True  # limited
    assert _events(failure.lasso.stem.steps) == ["set_status", "set_host_notifier", "kick"]
    assert [str(s.event) for s in failure.lasso.cycle] == [
        "set_host_notifier(queue=0, assign=false, assign_ok=true)",
        "set_host_notifier(queue=0, assign=true, assign_ok=true)",
    ]


def test_kick_eventually_handled_holds_only_because_the_handler_is_fair(broken, tmp_path):
    spec = load_spec("resolved")
    run = check_liveness(spec, 1, fair=False)
    assert set(run.failures) == {"kick_eventually_handled"}
    failure = run.failures["kick_eventually_handled"]
    breaks(spec, 1, "kick_eventually_handled", failure, fair=False)
    assert _events(failure.lasso.stem.steps) == ["set_status", "kick"] and failure.lasso.cycle == ()
    # the same, with the promise removed from the table rather than ignored
    unfair = broken("resolved", Edit("handle", "fairness", None, file="common"))
    assert set(check_liveness(unfair, 1).failures) == {"kick_eventually_handled"}
    # ... or by a variant that extends resolved
    variant = tmp_path / "unfair.toml"
    variant.write_text(
        'extends = "resolved"\nvariant = { name = "unfair" }\n[[events]]\nname = "handle"\nfairness = "none"\n'
    )
    assert set(check_liveness(load_spec(variant), 1).failures) == {"kick_eventually_handled"}


def test_weak_fairness_is_not_enough_for_a_handler_that_runs_only_while_the_vm_runs(broken):
    # vhost's worker, made to run only in a running VM, and an operator who
    # always runs a stopped VM again (weakly fair): stopping and running the VM
    # again and again offers the worker infinitely often, never for ever
    when = Edit("handle", "when", '"pending[queue] and handler[queue] != none and running"', file="common")
    operator = Edit("vm_run", "fairness", '"weak"', file="common")
    name = "every_kick_handled_even_in_a_stopped_vm"
    weak = broken("resolved", when, operator, extra=STRICT)
    failure = check_liveness(weak, 1).failures[name]
    breaks(weak, 1, name, failure)
    assert _events(failure.lasso.cycle) == ["vm_stop", "vm_run"]
    # strong fairness rules that cycle out
    strong = broken("resolved", when, operator, Edit("handle", "fairness", '"strong"', file="common"), extra=STRICT)
    assert check_liveness(strong, 1).ok
    # ... but not a VM stopped for ever, when nobody promises to run it again
    alone = broken("resolved", when, Edit("handle", "fairness", '"strong"', file="common"), extra=STRICT)
    failure = check_liveness(alone, 1).failures[name]
    breaks(alone, 1, name, failure)
    assert failure.lasso.cycle == () and _events(failure.lasso.stem.steps)[-1] == "vm_stop"


def test_fast_path_after_release_fails_when_release_never_restarts_ours(broken):
    # QEMU's 2011 design: giving the notifier back leaves the queue on the pio path
    spec = broken(
        "resolved",
        Edit("release_to_assigned", "to", '"deassigned"'),
        Edit("release_to_assigned", "effects", '["vhost_fd := false", "pending := false", "handler := none"]'),
    )
    run = check_liveness(spec, 1)
    failure = run.failures["fast_path_after_release"]
    breaks(spec, 1, "fast_path_after_release", failure)
    assert _events(failure.lasso.stem.steps) == ["set_status", "set_host_notifier", "set_host_notifier"]
    assert failure.lasso.premise_step and failure.lasso.premise_at == 3
    assert failure.lasso.cycle == ()  # nothing the host must do brings it back
    assert "kick_eventually_handled" not in run.failures


def test_fast_path_recoverable_fails_when_a_stopped_vm_never_runs_again(broken):
    # an environment without VM run: once stopped, the device never gets back to full speed
    spec = broken("resolved", Edit("vm_run", "when", '"false"', file="common"))
    run = check_liveness(spec, 1)
    failure = run.failures["fast_path_recoverable"]
    breaks(spec, 1, "fast_path_recoverable", failure)
    assert _events(failure.lasso.stem.steps) == ["vm_stop"]
    assert failure.message.startswith("from state 1 no run reaches status == driver_ok and running")
    assert "no_deadlock" not in run.failures  # the guest can still write its status


def test_no_deadlock_fails_when_a_stopped_vm_can_do_nothing(broken):
    spec = broken(
        "resolved",
        *(Edit(e, "when", '"running"', file="common") for e in ("set_status", "reset", "set_host_notifier")),
        Edit("load", "when", '"false"', file="common"),
        Edit("vm_run", "when", '"false"', file="common"),
    )
    failure = check_liveness(spec, 1).failures["no_deadlock"]
    breaks(spec, 1, "no_deadlock", failure)
    assert _events(failure.lasso.stem.steps) == ["vm_stop"]
    assert failure.message == "no event is enabled in state 1"


def test_lasso_text_numbers_the_cycle_on_from_the_stem():
    run = check_liveness(load_spec("proposal"), 1)
    text = failure_text(run, "kick_eventually_handled")
    assert "3. kick(queue=0)  [q0 kick_signals_eventfd]" in text and "<- premise" in text
    assert "then for ever, back to state 3:\n  4. set_host_notifier(queue=0, assign=false, assign_ok=true)" in text
    assert "fairness kept: handle(queue=0) is not enabled in state 4" in text


def test_a_partial_graph_decides_nothing():
    run = check_liveness(load_spec("proposal"), 2, max_states=50)
    assert run.partial and not run.failures
    assert {run.verdict(name) for name in run.checks} == {"unknown"}


def test_every_lasso_replays_on_every_failing_broken_table(broken):
    # the verdicts are the same for 1 and 2 queues, and every lasso is a fair run
    spec = broken("resolved", Edit("reset", "effects", '["our_fd := false", "handler := none"]'))
    for n in (1, 2):
        run = check_liveness(spec, n)
        assert set(run.failures) == {"kick_eventually_handled"}
        replay(spec, n, run.failures["kick_eventually_handled"].lasso)


FAST_PATH_WHATEVER_HAPPENED = """
[[properties]]
name = "fast_path_whatever_happened"
kind = "leads_to"
from = "state == deassigned and status == driver_ok and running and not limited"
to = "our_fd or vhost_fd or status != driver_ok or not running"
rationale = "Stronger than the table promises: the fast path returns even after KVM refused it."
"""


def test_resolved_does_not_retry_a_refused_assignment_by_itself(broken):
    # the decision spec/README.md explains: after a refusal the queue waits on the
    # pio path for the guest's next DRIVER_OK, a VM run, or vhost's take and release
    spec = broken("resolved", extra=FAST_PATH_WHATEVER_HAPPENED)
    failure = check_liveness(spec, 1).failures["fast_path_whatever_happened"]
    breaks(spec, 1, "fast_path_whatever_happened", failure)
    (step,) = failure.lasso.stem.steps
    assert str(step.event) == "set_status(value=driver_ok, assign_ok=false)"
    assert failure.lasso.cycle == ()
