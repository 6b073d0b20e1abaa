"""The two interpreters agree: for 1 to 3 queues, bounded model checking
(Z3 terms) reaches exactly the explorer's states (concrete closures) to the
explorer's depth, and both give the same verdict on every property and
hygiene check of both variants. ``make crosscheck-proofs`` does 4 queues."""

from __future__ import annotations

import pytest
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.proofs import crosscheck as module
from virtio_notifier_spec.proofs.crosscheck import crosscheck
from virtio_notifier_spec.proofs.symbolic import Encoding
from virtio_notifier_spec.spec.load import load_spec


@pytest.mark.parametrize("queues", [1, 2, 3])
@pytest.mark.parametrize("variant", ["resolved", "proposal"])
def test_bounded_model_checking_finds_exactly_the_explorers_states_and_verdicts(variant, queues):
    spec = load_spec(variant)
    check = crosscheck(spec, queues)
    assert check.ok, check.disagreements
    expected = explore(spec, queues)
    assert check.z3_states == check.states == expected.states
    assert check.depth == expected.depth
    assert {name: ours for name, _, ours in check.verdicts} == {
        name: expected.verdict(name) for name in expected.checks
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
    assert any("only in Z3" in line for line in check.disagreements), check.disagreements


def test_crosscheck_reports_a_guard_read_differently(monkeypatch):
    # break the Z3 side only: kicks never take the pio path
    guard = Encoding.guard

    def wrong(self, row, s, args, q):
        if row.name == "kick_takes_pio_path":
            import z3

            return z3.BoolVal(False)
        return guard(self, row, s, args, q)

    monkeypatch.setattr(Encoding, "guard", wrong)
    check = crosscheck(load_spec("resolved"), 1)
    assert "complete: the explorer says holds, Z3 says fails" in check.disagreements


def test_enumeration_falls_back_when_the_finite_domain_solver_gives_up(monkeypatch):
    import z3

    class GivesUp:
        def __init__(self, *args):
            pass

        def add(self, *formulas):
            pass

        def check(self):
            return z3.unknown

        def reason_unknown(self):
            return "test"

    monkeypatch.setattr(module.z3, "SolverFor", lambda logic: GivesUp())
    assert crosscheck(load_spec("resolved"), 1).ok
