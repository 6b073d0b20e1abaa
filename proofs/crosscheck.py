"""Cross-check of the two interpreters: the explorer (concrete closures) and
bounded model checking (Z3 terms) must see the same machine.

For a fixed number of queues, Z3 computes the reachable states itself, one
breadth-first layer at a time: every state ``post`` with ``T(pre, post)`` for
some ``pre`` of the last layer that is not yet known, enumerated with
blocking clauses, for as many layers as the explorer's search is deep, and
one more that must be empty. The set must equal the explorer's, and on it
both interpreters must give the same verdict on every property and every
hygiene check.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> check = crosscheck(load_spec("resolved"), 1)
>>> check.ok, check.states
(True, 38)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import z3
from virtio_notifier_spec.model.explore import Explorer
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

from .induction import _agree
from .symbolic import Encoding, SolverGaveUp, SymState, decide


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """What the two interpreters said for one table and one number of queues."""

    spec: str
    queues: int
    states: int  # the explorer's
    z3_states: int  # bounded model checking's
    depth: int
    verdicts: tuple[tuple[str, str, str], ...]  # (check, explorer, z3)
    disagreements: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.disagreements


def _enumerate(enc: Encoding, s: SymState, *formulas: z3.BoolRef) -> set[State]:
    """Every value of ``s`` that ``formulas`` allow, by blocking each one found.

    Every term of a bounded encoding is a boolean or an enumeration, so the
    finite-domain (SAT) solver enumerates several times faster than the
    default one; where it gives up, the default solver does the layer again.
    """
    for solver in (z3.SolverFor("QF_FD"), z3.Solver()):
        solver.add(*formulas)
        found: set[State] = set()
        try:
            while decide(solver):
                state = enc.concrete(solver.model(), s, enc.queue_values)
                found.add(state)
                solver.add(z3.Not(enc.equals(s, state)))
        except SolverGaveUp:
            continue
        return found
    raise SolverGaveUp(f"no solver could enumerate the states of {enc.spec.name}")


def reachable(enc: Encoding, depth: int) -> tuple[set[State], int]:
    """The states Z3 reaches in at most ``depth`` steps, and the number of
    the first layer found empty (``depth + 1`` when the search is complete)."""
    start = enc.state("start")
    known = _enumerate(enc, start, enc.init(start))
    frontier = set(known)
    for layer in range(1, depth + 2):
        if not frontier:
            return known, layer - 1
        pre, post = enc.state("pre"), enc.state("post")
        blocked = [z3.Not(enc.equals(post, s)) for s in sorted(known)]
        frontier = _enumerate(enc, post, enc.member(pre, sorted(frontier)), enc.transition(pre, post)[0], *blocked)
        known |= frontier
    return known, depth + 1 if not frontier else depth + 2


def _z3_verdicts(enc: Encoding, states: list[State]) -> dict[str, str]:
    """Each property and hygiene check judged by Z3 on exactly ``states``."""
    spec = enc.spec
    verdicts: dict[str, str] = {}
    pre, post = enc.state("pre"), enc.state("post")
    solver = z3.Solver()
    solver.add(enc.member(pre, states))

    def fails(*formulas) -> str:
        solver.push()
        solver.add(*formulas)
        sat = decide(solver)
        solver.pop()
        return "fails" if sat else "holds"

    steps = {}
    for event in spec.events:
        args = enc.args(event, "arg")
        steps[event.name] = (args, enc.step(event, pre, post, args))
    for prop in spec.properties:
        if prop.kind is PropertyKind.INVARIANT:
            verdicts[prop.name] = fails(z3.Not(enc.invariant(prop, pre)))
        elif prop.kind is PropertyKind.STEP:
            verdicts[prop.name] = "holds"
            for name in prop.events:
                args, step = steps[name]
                if fails(step, z3.Not(enc.expr(prop.expr, pre, post, args, None))) == "fails":
                    verdicts[prop.name] = "fails"
        else:
            verdicts[prop.name] = _history(enc, prop, states)
    deterministic, complete, fired = "holds", "holds", set()
    for event in spec.events:
        args = enc.args(event, "arg")
        for q in enc.queue_values:
            concerned = z3.BoolVal(True) if event.target is None else args[event.target] == q
            options = enc.fires(event, pre, args, q)
            base = (enc.enabled(event, pre, args), concerned)
            for i, (row, condition) in enumerate(options):
                if row.name not in fired and fails(*base, condition) == "fails":
                    fired.add(row.name)
                for _other, second in options[i + 1 :]:
                    if fails(*base, condition, second) == "fails":
                        deterministic = "fails"
            if fails(*base, z3.Not(z3.Or([c for _, c in options] or [z3.BoolVal(False)]))) == "fails":
                complete = "fails"
    verdicts["deterministic"] = deterministic
    verdicts["complete"] = complete
    verdicts["no_dead_transition"] = "holds" if fired >= {r.name for r in spec.transitions} else "fails"
    return verdicts


def _history(enc: Encoding, prop, states: list[State]) -> str:
    solver = z3.Solver()
    pre1, pre2, post1, post2 = (enc.state(n) for n in ("pre", "pre2", "post", "post2"))
    solver.add(
        enc.member(pre1, states),
        enc.member(pre2, states),
        _agree(enc, pre1, pre2, prop.inputs),
        z3.Not(_agree(enc, post1, post2, None)),
    )
    for name in prop.events:
        event = enc.spec.event(name)
        args = enc.args(event, "arg")
        solver.push()
        solver.add(enc.step(event, pre1, post1, args), enc.step(event, pre2, post2, args))
        sat = decide(solver)
        solver.pop()
        if sat:
            return "fails"
    return "holds"


def crosscheck(spec: Spec, queues: int) -> CrossCheck:
    """Compare the explorer and bounded model checking on ``queues`` queues."""
    began = time.perf_counter()
    explorer = Explorer(spec, queues, max_states=None, timeout=None, progress=None)
    depth, _ = explorer.run()
    explored = set(explorer.parent)
    enc = Encoding(spec, queues)
    found, empty_layer = reachable(enc, depth)
    problems = []
    if found != explored:
        extra, missing = len(found - explored), len(explored - found)
        problems.append(
            f"bounded model checking finds {len(found)} states, the explorer {len(explored)} "
            f"({extra} only in Z3, {missing} only in the explorer)"
        )
    if empty_layer != depth + 1:
        problems.append(f"Z3's breadth-first layers end at {empty_layer}, the explorer's at {depth + 1}")
    ours = _z3_verdicts(enc, sorted(explored))
    rows = []
    for name in explorer.checks:
        failed = name in explorer.found
        if name == "no_dead_transition":  # explore() decides it after the search
            failed = any(count == 0 for count in explorer.fired.values())
        theirs = "fails" if failed else "holds"
        rows.append((name, theirs, ours[name]))
        if theirs != ours[name]:
            problems.append(f"{name}: the explorer says {theirs}, Z3 says {ours[name]}")
    return CrossCheck(
        spec.name, queues, len(explored), len(found), depth, tuple(rows), tuple(problems), time.perf_counter() - began
    )
