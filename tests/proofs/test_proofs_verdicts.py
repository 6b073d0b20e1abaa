"""Honest verdicts: what ``prove`` says on tables built to probe it
(``probes.py``). Each verdict claims only what its argument covers: a
violation comes with a replayable trace at the N where it happens, an
induction that fails without a violation is unknown, never true, and the
hygiene checks say for which N and which states they hold."""

from __future__ import annotations

import pytest
from conftest import Edit
from probes import (
    COMPLETE_ON_REACHABLE,
    DEAD_FROM_A_SOURCE,
    DEAD_FROM_THREE,
    GREEDY_RESET,
    NOT_INDUCTIVE,
    SIX_SLOTS,
    THREE_QUEUE_PREMISE,
    VACUOUS_FORMS,
)

from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.proofs.independence import independence_refusal
from virtio_notifier_spec.proofs.induction import Disagreement
from virtio_notifier_spec.proofs.prove import prove
from virtio_notifier_spec.proofs.result import Verdict
from virtio_notifier_spec.proofs.search import Search, replays, search_bound
from virtio_notifier_spec.proofs.symbolic import Encoding
from virtio_notifier_spec.spec.load import load_spec


def test_a_property_false_only_from_seven_queues_is_violated_with_a_seven_queue_trace(tmp_path):
    spec = SIX_SLOTS.build(tmp_path)
    assert search_bound(spec) == 8
    proof = prove(spec).get("six_slots")
    assert proof.verdict is Verdict.VIOLATED, proof.format(spec)
    assert len(proof.trace.start.queues) == 7 and len(proof.trace) == 7
    assert proof.message.startswith("7 queue(s): six_slots is false in the last state")
    assert replays(spec, proof.trace)


def test_a_true_property_that_is_not_inductive_is_unknown_with_the_n_searched(tmp_path):
    spec = NOT_INDUCTIVE.build(tmp_path)
    report = prove(spec, by_support=False)
    for name in ("offlimits_never_ours", "one_owner_per_notifier"):
        proof = report.get(name)
        assert proof.verdict is Verdict.NOT_INDUCTIVE and proof.label == "unknown: not inductive"
        assert proof.searched == 3 and proof.trace is None and proof.induction is not None
        assert "no violation found by the orbit search for N = 1..3" in proof.message
        assert "true there" not in proof.message
    assert report.violated  # proposal's real violations are still found
    assert report.get("no_lost_kick").verdict is Verdict.VIOLATED


def test_no_dead_transition_finds_a_row_dead_from_three_queues(tmp_path):
    spec = DEAD_FROM_THREE.build(tmp_path)
    assert independence_refusal(spec) is not None  # guards count queues
    for n in (1, 2):
        assert "vhost_takes_few" not in explore(spec, n).dead
    proof = prove(spec).get("no_dead_transition")
    assert proof.verdict is Verdict.VIOLATED
    assert proof.message == "never fires with: vhost_takes_few (3 queues)"


def test_no_dead_transition_is_judged_per_row_and_source_state(tmp_path):
    spec = DEAD_FROM_A_SOURCE.build(tmp_path)
    proof = prove(spec).get("no_dead_transition")
    assert proof.verdict is Verdict.VIOLATED
    assert proof.message.endswith("(independent queues: 1 queue decides every N): reset_leaves_queue from assigned")


def test_no_dead_transition_outside_independent_queues_is_labelled_with_the_n_searched(broken_path):
    path = broken_path("resolved", extra=GREEDY_RESET)  # a row that reads other queues
    proof = prove(load_spec(path, env="unrestricted")).get("no_dead_transition")
    assert proof.verdict is Verdict.BOUNDED and proof.searched == 3
    assert proof.label == "holds for N = 1..3" and not proof.proved
    assert "the queues are not independent (row greedy_reset (guard) quantifies over queues" in proof.message
    # where the environment leaves rows out, it is not asked of them, and so not bounded either
    proof = prove(load_spec(path)).get("no_dead_transition")
    assert proof.verdict is Verdict.NOT_APPLICABLE and "the queues are not independent" in proof.message


def test_no_dead_transition_is_not_proved_over_rows_the_environment_never_runs(broken_path):
    # vhost_stop keeps vhost's ioeventfd: a leak the default environment never
    # shows, since it never issues vhost_stop; once, every row was "proved" live
    path = broken_path("resolved", Edit("vhost_stop_release_to_assigned", "effects", LEAKY_STOP))
    report = prove(load_spec(path))
    dead = report.get("no_dead_transition")
    assert dead.verdict is Verdict.NOT_APPLICABLE
    assert "the adversarial environment does not issue vhost_start, vhost_stop: their 9 rows never run" in dead.message
    assert report.get("offlimits_iff_vhost_holds").proved  # true of what it issues; the environment line says the rest
    assert prove(load_spec(path, env="qemu")).get("offlimits_iff_vhost_holds").verdict is Verdict.VIOLATED


LEAKY_STOP = '["pending := false", "our_fd := true", "handler := ours"]'  # vhost_fd stays true


def test_non_vacuous_finds_vacuity_in_any_form(tmp_path):
    spec = VACUOUS_FORMS.build(tmp_path)
    proof = prove(spec).get("non_vacuous")
    assert proof.verdict is Verdict.VIOLATED
    assert "or_form: `handler == ours` can be replaced by false and it still holds, every N" in proof.message
    assert "and_true: `handler == ours` can be replaced by false" in proof.message
    assert "(the proved invariants imply it)" in proof.message


def test_non_vacuous_raises_no_alarm_for_a_premise_that_needs_three_queues(tmp_path):
    spec = THREE_QUEUE_PREMISE.build(tmp_path)
    report = prove(spec)
    assert report.get("three_assigned_three_ours").proved
    proof = report.get("non_vacuous")
    assert proof.proved, proof.message
    assert "witnesses with at most 3 queues" in proof.message


def test_complete_is_judged_on_the_reachable_states(tmp_path):
    spec = COMPLETE_ON_REACHABLE.build(tmp_path)
    proof = prove(spec).get("complete")
    assert proof.proved, proof.message
    assert proof.message.startswith("on every reachable state, every N (independent queues")
    assert "not reached) lacks it: no row says what load does to a queue in assigned" in proof.message


def test_complete_outside_independent_queues_is_labelled_with_the_n_searched(broken):
    # the same unreached gap, in a table whose rows read other queues
    spec = broken("resolved", Edit("stopped_vm_holds_none_of_ours", None, file="common"), extra=GREEDY_RESET)
    proof = prove(spec).get("complete")
    assert proof.verdict is Verdict.BOUNDED and proof.label == "holds for N = 1..3"
    assert proof.message.startswith("on the reachable states, as searched by the orbit search for N = 1..3")


def test_complete_is_violated_with_a_trace_when_the_gap_is_reachable(broken):
    spec = broken("resolved", Edit("release_unheld", "from", '"deassigned"'))
    proof = prove(spec).get("complete")
    assert proof.verdict is Verdict.VIOLATED
    assert "does to queue 0 in state assigned" in proof.message
    assert replays(spec, proof.trace)


def test_a_timeout_leaves_every_proof_unknown():
    from virtio_notifier_spec.proofs.budget import Budget
    from virtio_notifier_spec.spec.load import load_spec

    report = prove(load_spec("resolved"), budget=Budget(0.0))
    assert {p.verdict for p in report.proofs} == {Verdict.UNKNOWN}
    assert report.get("no_lost_kick").message == "stopped at --timeout"


def test_search_stops_at_its_bound_and_says_so():
    from virtio_notifier_spec.spec.load import load_spec

    search = Search(load_spec("resolved"), bound=2)
    search.extend(lambda: False)
    assert search.searched == 2 and search.span() == "N = 1..2"
    assert search.covered("x") == "x by the orbit search for N = 1..2"


def test_a_proof_the_search_contradicts_is_an_internal_error(monkeypatch):
    # Z3 made to believe every invariant (unbounded encoding only): the
    # search's violations of proposal then contradict "proved"
    from virtio_notifier_spec.spec.load import load_spec

    invariant = Encoding.invariant

    def believed(self, prop, s):
        return invariant(self, prop, s) if self.queues else Encoding.init(self, s) == Encoding.init(self, s)

    monkeypatch.setattr(Encoding, "invariant", believed)
    with pytest.raises(Disagreement, match="is proved for every N, but the orbit search at 1 queue"):
        prove(load_spec("proposal"))


def test_a_shared_requirement_this_table_never_needs_in_full_is_noted_not_failed():
    from virtio_notifier_spec.spec.load import load_spec

    # resolved never lets a kick wait unread: the escape of no_lost_kick,
    # written in common.toml for designs that arm their handler late, never matters
    proof = prove(load_spec("resolved")).get("non_vacuous")
    assert proof.proved, proof.message
    shipped = "exempt, in the requirements the project ships for every table (spec/common.toml), never needed here"
    assert f"{shipped}: no_lost_kick: `status != driver_ok`" in proof.message


def test_a_requirement_in_a_users_included_file_is_judged_as_the_tables_own(tmp_path, broken):
    # once, any included file was exempt: the same property failed non_vacuous
    # in the variant's own file and was proved from a file it included
    (tmp_path / "extra.toml").write_text(VACUOUS_REQUIREMENT)
    for name, text in (
        ("included.toml", 'include = "extra.toml"\n'),
        ("own.toml", VACUOUS_REQUIREMENT),
    ):
        (tmp_path / name).write_text(f'extends = "resolved"\nvariant = {{ name = "{name[:-5]}" }}\n{text}')
        proof = prove(load_spec(tmp_path / name)).get("non_vacuous")
        assert proof.verdict is Verdict.VIOLATED, (name, proof.message)
        assert proof.message.startswith("assigned_has_an_ioeventfd: `vhost_fd` can be replaced by false"), name
        assert "exempt, in the requirements the project ships" in proof.message  # each exemption named
    # a copy of the shipped requirements is still the shipped requirements
    assert prove(broken("resolved")).get("non_vacuous").proved


VACUOUS_REQUIREMENT = """
[[properties]]
name = "assigned_has_an_ioeventfd"
kind = "invariant"
expr = "state == assigned => (our_fd or vhost_fd)"
rationale = "vhost's ioeventfd is never needed here: an assigned queue always has ours."
"""


def test_a_restricted_environment_makes_dead_rows_and_eventless_properties_not_applicable():
    from virtio_notifier_spec.spec.load import load_spec

    report = prove(load_spec("resolved", env="kvmtool"))
    assert not report.ok and not report.violated  # vacuous properties are not a pass
    dead = report.get("no_dead_transition")
    assert dead.verdict is Verdict.NOT_APPLICABLE
    assert dead.message.startswith("not asked of the kvmtool environment, which restricts its events; never fires")
    assert report.get("reset_disarms_ours").verdict is Verdict.VACUOUS
    assert report.vacuous == ("reset_disarms_ours", "load_is_history_free")


def test_what_induction_leaves_open_the_support_search_decides_for_every_n(tmp_path):
    # the queues are independent: the support search at the cutoff is exact for every N
    spec = NOT_INDUCTIVE.build(tmp_path)
    report = prove(spec)
    for name in ("offlimits_never_ours", "one_owner_per_notifier"):
        proof = report.get(name)
        assert proof.proved, proof.message
        assert proof.message.startswith("for every N: the support search finds no violation (exact for every N >= 1")
        assert proof.induction is not None  # why induction alone did not do it stays with the proof
    assert report.get("no_lost_kick").verdict is Verdict.VIOLATED
