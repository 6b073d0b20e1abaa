"""Tables that probe the verdicts of ``prove``: each is a shipped variant
with a few edits, built like ``conftest.broken``, and the verdict a correct
prover must give. Shared by the tests and ``bench/proofs.py``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from conftest import Edit, _apply

from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec


def distinct(names: str, test: str) -> str:
    """``exists a: <test a> and (exists b: b != a and <test b> and ...)``:
    that many distinct queues pass ``test`` (``{q}`` is the queue)."""

    def build(i: int) -> str:
        if i == len(names):
            return "true"
        q = names[i]
        parts = [test.format(q=q)] + [f"{q} != {p}" for p in names[:i]]
        return f"exists {q}: {' and '.join(parts)} and ({build(i + 1)})"

    return build(0)


@dataclass(frozen=True)
class Probe:
    variant: str
    edits: tuple[Edit, ...] = ()
    extra: str = ""
    check: str = ""  # the proof it probes
    expected: str = ""  # its verdict

    def build(self, folder: Path):
        shutil.copy(SPEC_DIR / "common.toml", folder / "common.toml")
        shutil.copy(SPEC_DIR / f"{self.variant}.toml", folder / f"{self.variant}.toml")
        for edit in self.edits:
            target = folder / ("common.toml" if edit.file == "common" else f"{self.variant}.toml")
            target.write_text(_apply(target.read_text(), edit))
        path = folder / f"{self.variant}.toml"
        path.write_text(path.read_text() + "\n" + self.extra)
        return load_spec(path)


# The 6-slot limit of old hosts, as a property: false, vhost may take 7 queues.
SIX_SLOTS = Probe(
    "resolved",
    extra=f"""
[[properties]]
name = "six_slots"
kind = "invariant"
expr = "limited => not ({distinct("abcdefg", "vhost_fd[{q}]")})"
rationale = "false on purpose: nothing stops vhost from taking a seventh queue"
""",
    check="six_slots",
    expected="violated",
)

THREE = distinct("abc", "true")

# d split in two: the half for an unlimited host with fewer than 3 queues
# fires with 1 or 2 queues, never with 3 or more.
DEAD_FROM_THREE = Probe(
    "resolved",
    (Edit("vhost_takes_deassigned", "guard", f'"assign and (limited or ({THREE}))"'),),
    f"""
[[transitions]]
name = "vhost_takes_few"
event = "set_host_notifier"
from = "deassigned"
to = "offlimits"
guard = "assign and not limited and not ({THREE})"
effects = ["vhost_fd := true", "handler := vhost"]
why = "dead on purpose with three queues or more"
""",
    "no_dead_transition",
    "violated",
)

# reset_leaves_queue also listed for assigned, where g always fires first
DEAD_FROM_A_SOURCE = Probe(
    "resolved",
    (Edit("reset_leaves_queue", "from", '["deassigned", "offlimits", "assigned"]'),),
    check="no_dead_transition",
    expected="violated",
)

# vacuous: a limited host never has an ioeventfd of ours, so B never matters
VACUOUS_FORMS = Probe(
    "resolved",
    extra="""
[[properties]]
name = "or_form"
kind = "invariant"
expr = "not (limited and our_fd) or handler == ours"
rationale = "vacuous on purpose: `not A or B` with A never true"

[[properties]]
name = "and_true"
kind = "invariant"
expr = "(limited and our_fd => handler == ours) and true"
rationale = "vacuous on purpose: `(A => B) and true` with A never true"
""",
    check="non_vacuous",
    expected="violated",
)

# not vacuous: its premise needs three queues, and every part of it matters
THREE_QUEUE_PREMISE = Probe(
    "resolved",
    extra=f"""
[[properties]]
name = "three_assigned_three_ours"
kind = "invariant"
expr = "({distinct("abc", "state[{q}] == assigned")}) => ({distinct("xyz", "our_fd[{q}]")})"
rationale = "three assigned queues hold three ioeventfds of ours"
""",
    check="non_vacuous",
    expected="proved",
)

# Without this invariant Z3 allows a stopped VM with an assigned queue,
# where load has no row; no reachable state is like that.
COMPLETE_ON_REACHABLE = Probe(
    "resolved",
    (Edit("stopped_vm_holds_none_of_ours", None, file="common"),),
    check="complete",
    expected="proved",
)

# The lemma removed: true but not inductive; the queues are independent, so
# the support search decides it for every N (without it: unknown, never "true")
NOT_INDUCTIVE = Probe(
    "proposal",
    (Edit("ours_only_when_assigned", None, file="common"),),
    check="offlimits_never_ours",
    expected="proved",
)

# a row that reads other queues: the queues are no longer independent
# (it overlaps with g when a kick is pending: `deterministic` fails too)
GREEDY_RESET = """
[[transitions]]
name = "greedy_reset"
event = "reset"
from = "assigned"
to = "deassigned"
guard = "exists p: pending[p]"
effects = ["our_fd := false", "handler := none", "pending := false"]
why = "reads every queue's pending kick"
"""

PROBES = {
    "six_slots": SIX_SLOTS,
    "dead_from_three_queues": DEAD_FROM_THREE,
    "dead_from_a_source": DEAD_FROM_A_SOURCE,
    "vacuous_forms": VACUOUS_FORMS,
    "three_queue_premise": THREE_QUEUE_PREMISE,
    "complete_on_reachable": COMPLETE_ON_REACHABLE,
    "not_inductive": NOT_INDUCTIVE,
}
