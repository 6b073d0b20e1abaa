"""Liveness under queue symmetry: each property decided on a reduced graph
gets the verdict of the full graph, on the shipped tables and on broken
ones, its lasso replays on concrete queues, and what no argument covers is
refused with one located line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import Edit
from lassos import breaks

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.liveness import check_liveness as check_plain
from virtio_notifier_spec.scale.liveness import check_liveness, plans
from virtio_notifier_spec.scale.symmetry import SymmetryError
from virtio_notifier_spec.spec.load import load_spec

NO_DRAIN = Edit("reset", "effects", '["our_fd := false", "handler := none"]')
STOPPED_FOR_EVER = Edit("vm_run", "when", '"false"', file="common")
NO_RESTART = Edit("release_to_assigned", "effects", '["vhost_fd := false", "pending := false", "handler := none"]')

QUANTIFIED = """
[[properties]]
name = "every_kick_handled"
kind = "leads_to"
from = "exists q: pending[q]"
to = "forall q: not pending[q]"
rationale = "Quantified: decided on orbits when no per-queue fairness is involved."
"""


def _verdicts(run) -> dict[str, str]:
    return {name: run.verdict(name) for name in run.checks}


def test_the_shipped_properties_are_each_decided_by_the_reduction_that_is_exact_for_them():
    assert plans(load_spec("resolved"), True) == {
        "kick_eventually_handled": "projection",
        "fast_path_after_release": "projection",
        "fast_path_recoverable": "orbits",
        "no_deadlock": "projection",
    }


@pytest.mark.parametrize(
    ("variant", "edits"),
    [
        ("resolved", ()),
        ("proposal", ()),
        ("resolved", (NO_DRAIN,)),
        ("resolved", (STOPPED_FOR_EVER,)),
        ("resolved", (Edit("release_to_assigned", "to", '"deassigned"'), NO_RESTART)),
        ("resolved", (Edit("handle", "fairness", None, file="common"),)),
    ],
)
def test_reduced_verdicts_are_the_full_graphs_for_small_queue_counts(broken, variant, edits):
    spec = broken(variant, *edits)
    for n in (1, 2, 3) if (variant, edits) == ("resolved", ()) else (1, 2):
        reduced, full = check_liveness(spec, n, symmetry=True), check_plain(spec, n)
        assert _verdicts(reduced) == _verdicts(full), n


def test_a_quantified_property_is_decided_on_orbits_and_its_lasso_replays_on_concrete_queues(broken):
    spec = broken("resolved", Edit("handle", "fairness", None, file="common"), extra=QUANTIFIED)
    assert plans(spec, True)["every_kick_handled"] == "orbits"
    run = check_liveness(spec, 3, symmetry=True)
    assert run.reduction == "projection+orbits"
    assert _verdicts(run) == _verdicts(check_plain(spec, 3))
    breaks(spec, 3, "every_kick_handled", run.failures["every_kick_handled"], fair=True)


def test_a_quantified_leads_to_under_per_queue_fairness_is_refused(broken):
    spec = broken("resolved", extra=QUANTIFIED)
    with pytest.raises(SymmetryError, match=r"every_kick_handled: .*fairness is per queue \(handle\)"):
        check_liveness(spec, 3, symmetry=True)
    # "auto" (what verify uses) decides it on every state instead
    assert plans(spec, "auto")["every_kick_handled"] == "none"
    auto = check_liveness(spec, 2, symmetry="auto")
    assert _verdicts(auto) == _verdicts(check_plain(spec, 2))
    # (it fails: a guest kicking the queues in turn keeps one pending for ever)
    breaks(spec, 2, "every_kick_handled", auto.failures["every_kick_handled"])


def test_a_per_queue_property_of_a_table_whose_rows_read_other_queues_is_refused(broken):
    guard = '"value == driver_ok and running and not limited and assign_ok and (forall q: not vhost_fd[q])"'
    spec = broken("resolved", Edit("assign_on_driver_ok", "guard", guard))
    with pytest.raises(
        SymmetryError, match=r"kick_eventually_handled: .*a row may read only the device and its own queue"
    ):
        check_liveness(spec, 2, symmetry=True)


def test_the_refusal_is_one_line_and_exit_2(broken_path):
    path = broken_path("resolved", extra=QUANTIFIED)
    done = CliRunner().invoke(cli, ["liveness", "--spec", str(path), "--queues", "2", "--symmetry"])
    assert done.exit_code == 2, done.output
    assert len(done.stderr.strip().splitlines()) == 1 and "use --no-symmetry" in done.stderr


# -- step premises: another queue's step, and the concrete successor of an orbit ------

#: Per queue, a step of kick (a per-queue event) on an assigned queue with our
#: ioeventfd. At 1 queue only the queue's own kick is such a step, and it fills
#: the eventfd; from 2 queues on, another queue's kick satisfies the premise too.
KICK_FILLS = """
[[properties]]
name = "kick_fills_its_eventfd"
kind = "leads_to"
events = ["kick"]
from = "state == assigned and our_fd"
to = "pending"
rationale = "A probe: written per queue, its premise is met by any queue's kick."
"""


def test_a_per_queue_step_premise_that_another_queues_step_meets_is_not_projected(broken):
    spec = broken("resolved", extra=KICK_FILLS)
    full = [check_plain(spec, n).verdict("kick_fills_its_eventfd") for n in (1, 2)]
    assert full == ["holds", "fails"]
    with pytest.raises(SymmetryError, match=r"kick_fills_its_eventfd: .*another queue's step.*our_fd = true"):
        check_liveness(spec, 2, symmetry=True)
    assert plans(spec, "auto")["kick_fills_its_eventfd"] == "none"
    assert plans(spec, "auto")["fast_path_after_release"] == "projection"  # vhost_fd and not vhost_fd': never a stutter
    auto = check_liveness(spec, 2, symmetry="auto")
    assert _verdicts(auto) == _verdicts(check_plain(spec, 2))
    breaks(spec, 2, "kick_fills_its_eventfd", auto.failures["kick_fills_its_eventfd"])


def _premise(text: str) -> str:
    return f"""
[[properties]]
name = "probe"
kind = "leads_to"
events = ["set_host_notifier"]
from = "{text}"
to = "false"
rationale = "A probe of the orbit graph: a quantified step premise that reads x and x'."
"""


@pytest.mark.parametrize(
    ("premise", "at_two"),
    [
        # vhost takes an assigned queue beside one on the pio path: the sorted
        # successor puts the pio queue first, so read on it the premise never holds
        (
            "(exists p: state[p] == assigned and state'[p] == offlimits) and "
            "(exists r: state[r] == deassigned and state'[r] == deassigned)",
            "fails",
        ),
        # no row of set_host_notifier takes a queue from assigned to deassigned,
        # yet the sorted successor of taking (assigned, deassigned)'s first queue reads so
        ("exists p: state[p] == assigned and state'[p] == deassigned", "holds"),
    ],
    ids=["missed-premise", "invented-premise"],
)
def test_a_step_premise_on_the_orbit_graph_is_read_on_the_concrete_step(broken, premise, at_two):
    spec = broken("resolved", Edit("handle", "fairness", None, file="common"), extra=_premise(premise))
    assert plans(spec, True)["probe"] == "orbits"
    for n in (2, 3):
        full, reduced = check_plain(spec, n), check_liveness(spec, n, symmetry=True)
        assert reduced.verdict("probe") == full.verdict("probe") == at_two
        if at_two == "fails":
            breaks(spec, n, "probe", reduced.failures["probe"])


def test_a_stutter_question_z3_cannot_decide_is_no_licence_to_project(monkeypatch):
    import z3

    from virtio_notifier_spec.spec.stutter import stutter_witness

    spec = load_spec("resolved")
    prop = next(p for p in spec.liveness if p.name == "fast_path_after_release")
    assert stutter_witness(spec, prop.premise) is None  # Z3 shows no stutter step meets it
    monkeypatch.setattr(z3.Solver, "check", lambda self, *a: z3.unknown)
    monkeypatch.setattr(z3.Solver, "reason_unknown", lambda self: "canceled")
    assert "could not decide" in stutter_witness(spec, prop.premise)  # unknown: refused, not projected
