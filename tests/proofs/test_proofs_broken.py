"""Every proof can fail, with the right kind of answer: a table broken on
purpose gives a violation with a trace (replayable on the explorer's
machine, firing the broken row), and a table whose lemma is removed gives a
counterexample to induction."""

from __future__ import annotations

import pytest
from conftest import Edit
from test_table_mutations import BREAKS, GHOST, GREEDY_RESET, replay

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.proofs.prove import prove
from virtio_notifier_spec.proofs.result import Verdict

TRACED = sorted(name for name in BREAKS if name not in ("complete", "no_dead_transition"))


@pytest.mark.parametrize("name", TRACED)
def test_each_property_proof_fails_with_a_trace_on_a_table_broken_for_it(broken, name):
    why, edits, row = BREAKS[name]
    spec = broken("resolved", *edits)
    proof = prove(spec).get(name)
    assert proof.verdict is Verdict.VIOLATED, f"{why}: {proof.format(spec)}"
    fired = {r.label for step in proof.trace.steps for _, r in step.fired}
    if proof.other is not None:  # history freedom: the explorer's two runs
        fired |= {r.label for step in proof.other.steps for _, r in step.fired}
    assert row in fired, proof.format(spec)
    replay(Machine(spec, len(proof.trace.start.queues)), proof.trace)


def test_complete_proof_fails_when_a_row_is_missing(broken):
    _, edits, _ = BREAKS["complete"]
    spec = broken("resolved", *edits)
    proof = prove(spec).get("complete")
    assert proof.verdict is Verdict.VIOLATED
    assert "no row of the table says what set_host_notifier(" in proof.message
    replay(Machine(spec, len(proof.trace.start.queues)), proof.trace)


def test_incomplete_guards_that_no_invariant_state_reaches_are_complete(broken):
    # no row for a kick that is pending without an eventfd: the invariants
    # (no_lost_kick) rule that state out, so the table is complete there
    guard = '"not our_fd and not vhost_fd and not pending"'
    spec = broken("resolved", Edit("kick_takes_pio_path", "guard", guard))
    assert prove(spec).get("complete").proved


def test_no_dead_transition_proof_names_a_row_that_cannot_fire(broken):
    spec = broken("resolved", extra=GHOST)
    proof = prove(spec).get("no_dead_transition")
    assert proof.verdict is Verdict.VIOLATED
    assert proof.message.endswith(": ghost")


def test_deterministic_proof_finds_overlap_behind_a_quantifier(broken):
    proof = prove(broken("resolved", extra=GREEDY_RESET)).get("deterministic")
    assert proof.verdict is Verdict.VIOLATED
    assert proof.message.startswith("1 queue(s): reset() fires both reset and greedy_reset on queue 0")


def test_non_vacuous_proof_names_the_parts_of_an_invariant_that_never_matter(broken):
    extra = """
[[properties]]
name = "limited_ours_is_read"
kind = "invariant"
expr = "limited and our_fd => handler == ours"
rationale = "vacuous: a limited host never has an ioeventfd of ours"
"""
    spec = broken("resolved", extra=extra)
    proof = prove(spec).get("non_vacuous")
    assert proof.verdict is Verdict.VIOLATED
    # the premise never holds, so the conclusion never matters; nor does
    # `limited`: our_fd alone already implies the handler
    assert proof.message.startswith("limited_ours_is_read: `limited` can be replaced by true and it still holds")
    assert "limited_ours_is_read: `handler == ours` can be replaced by false" in proof.message


def test_removing_the_lemma_leaves_proposal_properties_not_inductive(broken):
    spec = broken("proposal", Edit("ours_only_when_assigned", None, file="common"))
    report = prove(spec, by_support=False)
    for name in ("offlimits_never_ours", "one_owner_per_notifier"):
        proof = report.get(name)
        assert proof.verdict is Verdict.NOT_INDUCTIVE, proof.format(spec)
        assert proof.trace is None
        cti = proof.induction
        assert cti.event.startswith("set_host_notifier(") and "d (vhost_takes_deassigned)" in cti.rows
        q = int(cti.rows.split()[0][1:])
        assert cti.pre.queues[q][0] == "deassigned" and cti.post.queues[q][0] == "offlimits"
        assert "lemma" in proof.message


def test_removing_handler_matches_leaves_no_lost_kick_and_load_not_inductive(broken):
    spec = broken("resolved", Edit("handler_matches_ioeventfd", None, file="common"))
    report = prove(spec, by_support=False)
    kick = report.get("no_lost_kick")
    assert kick.verdict is Verdict.NOT_INDUCTIVE, kick.format(spec)
    assert "pre   " in kick.format(spec) and "post  " in kick.format(spec)
    load = report.get("load_is_history_free")
    assert load.verdict is Verdict.NOT_INDUCTIVE
    assert load.induction.pre2 is not None and load.induction.post != load.induction.post2


def test_an_invariant_over_two_queues_is_violated_with_a_two_queue_trace(broken):
    # false only when one queue is ours and another vhost's: one queue is not enough
    extra = """
[[properties]]
name = "never_mixed"
kind = "invariant"
expr = "forall p: forall q: p == q or not (our_fd[p] and vhost_fd[q])"
rationale = "false on purpose: a device may have an assigned queue beside an offlimits one"
"""
    spec = broken("resolved", extra=extra)
    proof = prove(spec).get("never_mixed")
    assert proof.verdict is Verdict.VIOLATED, proof.format(spec)
    assert len(proof.trace.start.queues) == 2
    assert proof.message.startswith("2 queue(s): never_mixed is false in the last state")
    replay(Machine(spec, 2), proof.trace)


def test_a_quantified_invariant_that_holds_is_proved_for_every_number_of_queues(broken):
    extra = """
[[properties]]
name = "ours_only_with_driver_ok_anywhere"
kind = "invariant"
expr = "forall p: our_fd[p] => status == driver_ok and running"
rationale = "true: every ioeventfd of ours belongs to a running DRIVER_OK device"
"""
    assert prove(broken("resolved", extra=extra)).get("ours_only_with_driver_ok_anywhere").proved
