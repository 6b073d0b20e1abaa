"""The two interpreters agree: for 1 to 4 queues, bounded model checking
(Z3 terms) reaches exactly the explorer's states (concrete closures), each
at the explorer's depth, and nothing else, and both give the same verdict
on every property and hygiene check of both variants (``proposal`` at 4
queues: 20,512 states, about 9 s)."""

from __future__ import annotations

import os

import pytest
import z3

from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.proofs.crosscheck import crosscheck
from virtio_notifier_spec.proofs.symbolic import Encoding
from virtio_notifier_spec.spec.load import load_spec


# 4 queues (85 s under load) in make soundness (SOUNDNESS_LONG=1) and make crosscheck-proofs
@pytest.mark.parametrize("queues", [1, 2, 3, 4] if os.environ.get("SOUNDNESS_LONG") == "1" else [1, 2, 3])
@pytest.mark.parametrize("variant", ["resolved", "proposal"])
def test_bounded_model_checking_finds_exactly_the_explorers_states_and_verdicts(variant, queues):
    check = crosscheck(load_spec(variant), queues)
    assert check.ok, check.disagreements
    assert check.confirmed == check.states and check.closed
    assert len(check.verdicts) == len(load_spec(variant).properties) + 3


def test_crosscheck_counts_are_the_explorers():
    spec = load_spec("proposal")
    expected = explore(spec, 2)
    check = crosscheck(spec, 2)
    assert (check.states, check.depth) == (expected.states, expected.depth)
    assert {name: ours for name, _, ours in check.verdicts} == {
        name: "fails" if name in expected.counterexamples else "holds" for name in expected.checks
    }


def test_crosscheck_compares_failing_verdicts_too():
    check = crosscheck(load_spec("proposal"), 1)
    failing = {name for name, theirs, ours in check.verdicts if theirs == ours == "fails"}
    assert {"no_lost_kick", "status_zero_resets", "load_is_history_free"} <= failing


def test_crosscheck_reports_a_symbolic_interpreter_that_forgets_an_effect(monkeypatch):
    # break the Z3 side only: the reset row no longer drains the eventfd
    applies = Encoding.applies

    def forgetful(self, row, pre, post, args, q):
        if row.name == "reset":
            row = type(row)(
                row.name,
                row.letter,
                row.event,
                row.sources,
                row.target,
                row.guard,
                row.otherwise,
                row.effects[:-1],
                row.why,
            )
        return applies(self, row, pre, post, args, q)

    monkeypatch.setattr(Encoding, "applies", forgetful)
    check = crosscheck(load_spec("resolved"), 1)
    assert not check.ok
    assert not check.closed
    assert any(line.startswith("Z3 reaches a state the explorer does not: ") for line in check.disagreements)


def test_crosscheck_reports_a_step_of_the_explorer_that_z3_does_not_allow(monkeypatch):
    # break the Z3 side only: b never fires
    guard = Encoding.guard

    def never_b(self, row, s, args, q):
        return z3.BoolVal(False) if row.letter == "b" else guard(self, row, s, args, q)

    monkeypatch.setattr(Encoding, "guard", never_b)
    check = crosscheck(load_spec("resolved"), 1)
    steps = [line for line in check.disagreements if line.startswith("a step of the explorer that Z3 does not")]
    assert steps and "set_status(value=driver_ok" in steps[0]
    assert check.confirmed < check.states


def test_crosscheck_reports_a_guard_read_differently(monkeypatch):
    # break the Z3 side only: kicks never take the pio path
    guard = Encoding.guard

    def wrong(self, row, s, args, q):
        if row.name == "kick_takes_pio_path":
            return z3.BoolVal(False)
        return guard(self, row, s, args, q)

    monkeypatch.setattr(Encoding, "guard", wrong)
    check = crosscheck(load_spec("resolved"), 1)
    assert "complete: the explorer says holds, Z3 says fails" in check.disagreements


def test_crosscheck_reports_initial_states_read_differently(monkeypatch):
    # break the Z3 side only: the limit flag starts false
    init = Encoding.init

    def narrow(self, s):
        return z3.And(init(self, s), z3.Not(s.device["limited"]))

    monkeypatch.setattr(Encoding, "init", narrow)
    check = crosscheck(load_spec("resolved"), 1)
    assert "Z3 has 1 initial states, the explorer 2" in check.disagreements
