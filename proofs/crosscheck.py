"""Cross-check of the two interpreters: the explorer (concrete closures) and
bounded model checking (Z3 terms) must see the same machine.

For a fixed number of queues, the states Z3 reaches must be exactly the
explorer's, R, each at the explorer's depth:

1. Z3's initial states (enumerated) are the explorer's;
2. every step of the explorer's breadth-first tree (a shortest path to each
   state of R) is a transition of Z3's relation, so bounded model checking
   to the explorer's depth reaches every state of R;
3. no Z3 transition leads from R to a state outside it (one query:
   ``pre in R and T(pre, post) and post not in R`` is unsatisfiable), so at
   no depth does it reach anything else.

On R both interpreters must then give the same verdict on every property
and every hygiene check.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> check = crosscheck(load_spec("resolved"), 1)
>>> check.ok, check.states, check.confirmed, check.closed
(True, 38, 38, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import z3

from virtio_notifier_spec.model.explore import INTERRUPTED, Explorer
from virtio_notifier_spec.model.trace import format_state
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

from .budget import UNLIMITED, Budget, OutOfTime
from .induction import agree
from .symbolic import Encoding, decide


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """What the two interpreters said for one table and one number of queues."""

    spec: str
    queues: int
    states: int  # the explorer's
    confirmed: int  # of those, reached by Z3 along the explorer's shortest path
    closed: bool  # no Z3 transition leads out of the explorer's states
    depth: int
    verdicts: tuple[tuple[str, str, str], ...]  # (check, explorer, z3)
    disagreements: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.disagreements


def initial_states(enc: Encoding, budget: Budget = UNLIMITED) -> set[State]:
    """Every initial state Z3 allows, enumerated by blocking each one found."""
    solver = z3.Solver()
    start = enc.state("start")
    solver.add(enc.init(start))
    found: set[State] = set()
    while decide(solver, budget=budget):
        state = enc.concrete(solver.model(), start, enc.queue_values)
        found.add(state)
        solver.add(z3.Not(enc.equals(start, state)))
    return found


def unconfirmed_steps(enc: Encoding, explorer: Explorer, budget: Budget = UNLIMITED) -> list[str]:
    """The explorer's steps (those of its breadth-first tree: a shortest path
    to every state) that Z3's transition relation does not allow."""
    pre, post = enc.state("pre"), enc.state("post")
    solvers = {}
    for event in enc.spec.events:
        args = enc.args(event, "arg")
        solver = z3.Solver()
        solver.add(enc.step(event, pre, post, args))
        solvers[event.name] = (solver, args)
    missing = []
    for state, link in explorer.parent.items():
        if link is None:
            continue
        parent, step = link
        solver, args = solvers[step.event.event.name]
        values = [args[p.name] == enc.value(p.type, step.event.values[p.name]) for p in step.event.event.params]
        if not decide(solver, enc.equals(pre, parent), enc.equals(post, state), *values, budget=budget, quick=True):
            missing.append(f"{format_state(enc.spec, parent)} -- {step.event} --> {format_state(enc.spec, state)}")
    return missing


def escape(enc: Encoding, states: list[State], budget: Budget = UNLIMITED) -> str | None:
    """A Z3 transition from one of ``states`` to a state outside them
    (described as pre, event, post), or None when the set is closed."""
    pre, post = enc.state("pre"), enc.state("post")
    relation, parts = enc.transition(pre, post)
    solver = z3.Solver()
    solver.add(enc.member(pre, states), relation, z3.Not(enc.member(post, states)))
    if not decide(solver, budget=budget):
        return None
    model = solver.model()
    event = next(e for e in enc.spec.events if z3.is_true(model.evaluate(parts[e.name][1], model_completion=True)))
    args = enc.concrete_args(model, event, parts[event.name][0], enc.queue_values)
    shown = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in args.items())
    before = format_state(enc.spec, enc.concrete(model, pre, enc.queue_values))
    after = format_state(enc.spec, enc.concrete(model, post, enc.queue_values))
    return f"{before} -- {event.name}({shown}) --> {after}"


def _z3_verdicts(enc: Encoding, states: list[State], budget: Budget) -> dict[str, str]:
    """Each property and hygiene check judged by Z3 on exactly ``states``."""
    spec = enc.spec
    verdicts: dict[str, str] = {}
    pre, post = enc.state("pre"), enc.state("post")
    solver = z3.Solver()
    solver.add(enc.member(pre, states))

    def fails(*formulas) -> str:
        solver.push()
        solver.add(*formulas)
        sat = decide(solver, budget=budget)
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
            verdicts[prop.name] = _history(enc, prop, states, budget)
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


def _history(enc: Encoding, prop, states: list[State], budget: Budget) -> str:
    solver = z3.Solver()
    pre1, pre2, post1, post2 = (enc.state(n) for n in ("pre", "pre2", "post", "post2"))
    solver.add(
        enc.member(pre1, states),
        enc.member(pre2, states),
        agree(enc, pre1, pre2, prop.inputs),
        z3.Not(agree(enc, post1, post2, None)),
    )
    for name in prop.events:
        event = enc.spec.event(name)
        args = enc.args(event, "arg")
        solver.push()
        solver.add(enc.step(event, pre1, post1, args), enc.step(event, pre2, post2, args))
        sat = decide(solver, budget=budget)
        solver.pop()
        if sat:
            return "fails"
    return "holds"


def crosscheck(spec: Spec, queues: int, *, budget: Budget = UNLIMITED) -> CrossCheck:
    """Compare the explorer and bounded model checking on ``queues`` queues
    (:class:`~.budget.OutOfTime` when ``budget`` runs out)."""
    began = time.perf_counter()
    budget.charge()
    explorer = Explorer(spec, queues, max_states=None, timeout=budget.remaining(), progress=None)
    depth, stopped = explorer.run()
    if stopped == INTERRUPTED:  # Ctrl-C, which the explorer caught
        raise KeyboardInterrupt
    if stopped is not None:
        raise OutOfTime
    explored = sorted(explorer.parent)
    enc = Encoding(spec, queues)
    problems = []
    starts = initial_states(enc, budget)
    expected = set(explorer.machine.initial_states())
    if starts != expected:
        problems.append(f"Z3 has {len(starts)} initial states, the explorer {len(expected)}")
    missing = unconfirmed_steps(enc, explorer, budget)
    problems += [f"a step of the explorer that Z3 does not allow: {m}" for m in missing[:3]]
    outside = escape(enc, explored, budget)
    if outside is not None:
        problems.append(f"Z3 reaches a state the explorer does not: {outside}")
    ours = _z3_verdicts(enc, explored, budget)
    rows = []
    for name in explorer.checks:
        failed = name in explorer.found
        if name == "no_dead_transition":  # explore() decides it after the search
            failed = any(count == 0 for count in explorer.fired.values())
        theirs = "fails" if failed else "holds"
        rows.append((name, theirs, ours[name]))
        if theirs != ours[name]:
            problems.append(f"{name}: the explorer says {theirs}, Z3 says {ours[name]}")
    confirmed = len(explored) - len(missing) if starts == expected else 0
    return CrossCheck(
        spec.name,
        queues,
        len(explored),
        confirmed,
        outside is None,
        depth,
        tuple(rows),
        tuple(problems),
        time.perf_counter() - began,
    )
