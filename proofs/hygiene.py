"""The table's hygiene, proved with Z3 rather than observed by exploration.

- ``deterministic``: for every event and source state no two guarded rows
  can fire together, and ``complete``: some row always fires (an ``otherwise``
  row, or guards that cover every case). Both for every number of queues and
  every valuation of what the guards read in a pre-state satisfying the
  proved invariants (not only the reachable ones the explorer visits).
- ``no_dead_transition``: every row fires in some reachable state, and
  ``non_vacuous``: every invariant of the form ``A => B`` has a reachable
  state where ``A`` holds. The witnesses are paths found by bounded model
  checking for 1, then 2 queues, as deep as the explorer's search.
"""

from __future__ import annotations

import itertools
import time

import z3
from virtio_notifier_spec.model.trace import format_state
from virtio_notifier_spec.spec.expr import BoolOp, Expr, Quantifier
from virtio_notifier_spec.spec.schema import Event, Property, Spec, Transition

from .bmc import Bmc
from .induction import explorer_depth
from .result import Proof, Verdict
from .symbolic import Encoding, SymState

WITNESS_QUEUES = (1, 2)


def _queue(enc: Encoding, event: Event, args: dict) -> z3.ExprRef:
    """The queue a row is judged on: the event's target, or any queue."""
    return args[event.target] if event.target else z3.Const(enc.fresh("q"), enc.queue_sort)


def _failure(enc: Encoding, solver: z3.Solver, pre: SymState, what: str) -> str:
    model = solver.model()
    state = enc.concrete(model, pre, enc.model_queues(model))
    return f"{what}, e.g. in {format_state(enc.spec, state)}"


def determinism_and_completeness(spec: Spec, assumed: tuple[Property, ...]) -> list[Proof]:
    """The two guard checks, over every pre-state satisfying ``assumed``."""
    enc = Encoding(spec)
    results = []
    for check in ("deterministic", "complete"):
        began = time.perf_counter()
        problems: list[str] = []
        for event in spec.events:
            pre, args = enc.state("pre"), enc.args(event, "arg")
            q = _queue(enc, event, args)
            solver = z3.Solver()
            solver.add(enc.invariants(pre, assumed), enc.enabled(event, pre, args))
            for state in spec.states.values:
                rows = spec.rows(event.name, state)
                solver.push()
                solver.add(pre.queue["state"](q) == enc.value(spec.states, state))
                found = (
                    _overlaps(enc, solver, event, rows, pre, args, q)
                    if check == "deterministic"
                    else _gap(enc, solver, event, state, rows, pre, args, q)
                )
                if found:
                    problems.append(found)
                solver.pop()
        verdict = Verdict.VIOLATED if problems else Verdict.PROVED
        message = "; ".join(problems) if problems else "every event, every source state, every number of queues"
        results.append(Proof(check, "hygiene", verdict, time.perf_counter() - began, message))
    return results


def _overlaps(enc, solver, event, rows, pre, args, q) -> str | None:
    guarded = [r for r in rows if not r.otherwise]
    for first, second in itertools.combinations(guarded, 2):
        solver.push()
        solver.add(enc.guard(first, pre, args, q), enc.guard(second, pre, args, q))
        outcome = solver.check()
        found = None
        if outcome != z3.unsat:
            found = (
                f"{event.name} fires both {first.name} and {second.name}"
                if outcome == z3.sat
                else f"the solver gave up on {first.name} and {second.name}"
            )
            if outcome == z3.sat:
                found = _failure(enc, solver, pre, found)
        solver.pop()
        if found:
            return found
    return None


def _gap(enc, solver, event, state, rows, pre, args, q) -> str | None:
    if any(r.otherwise for r in rows):
        return None
    solver.push()
    solver.add(z3.Not(z3.Or([enc.guard(r, pre, args, q) for r in rows] or [z3.BoolVal(False)])))
    outcome = solver.check()
    found = None
    if outcome == z3.sat:
        found = _failure(enc, solver, pre, f"no row says what {event.name} does to a queue in {state}")
    elif outcome == z3.unknown:
        found = f"the solver gave up on {event.name} from {state}"
    solver.pop()
    return found


# -- witnesses in reachable states -------------------------------------------------


def _row_fires(bmc: Bmc, row: Transition):
    enc = bmc.encoding
    event = enc.spec.event(row.event)

    def goal(s: SymState) -> z3.BoolRef:
        args = enc.args(event, "witness")

        def fires(q):
            return dict((r.name, c) for r, c in enc.fires(event, s, args, q))[row.name]

        where = fires(args[event.target]) if event.target else enc.exists(fires)
        return z3.And(enc.enabled(event, s, args), where)

    return goal


def antecedent(expr: Expr) -> tuple[tuple[str, ...], Expr] | None:
    """The left of ``=>`` under leading ``forall``s, with the bound names;
    None when the invariant is not an implication."""
    bound: list[str] = []
    while isinstance(expr, Quantifier) and expr.kind == "forall":
        bound.append(expr.var)
        expr = expr.body
    if isinstance(expr, BoolOp) and expr.op == "=>":
        return tuple(bound), expr.left
    return None


def _holds_somewhere(bmc: Bmc, prop: Property, bound: tuple[str, ...], left: Expr):
    enc = bmc.encoding

    def goal(s: SymState) -> z3.BoolRef:
        def under(names, env, q):
            if names:
                return enc.exists(lambda b: under(names[1:], {**env, names[0]: b}, q))
            return enc.expr(left, s, None, env, q)

        if prop.per_queue:
            return enc.exists(lambda q: under(bound, {}, q))
        return under(bound, {}, None)

    return goal


def witnesses(spec: Spec) -> list[Proof]:
    """``no_dead_transition`` and ``non_vacuous``, by bounded model checking."""
    machines = {n: Bmc(spec, n) for n in WITNESS_QUEUES}

    def reachable(goal_of) -> bool:
        return any(machines[n].find(goal_of(machines[n]), explorer_depth(spec, n)) is not None for n in WITNESS_QUEUES)

    results = []
    began = time.perf_counter()
    dead = [row.name for row in spec.transitions if not reachable(lambda b, r=row: _row_fires(b, r))]
    sizes = f"{WITNESS_QUEUES[0]}-{WITNESS_QUEUES[-1]} queue(s)"
    results.append(
        _witnessed(
            "no_dead_transition",
            dead,
            began,
            f"never fires in a reachable state ({sizes})",
            "every row fires on a path found by bounded model checking",
            spec.env if spec.restricted else None,
        )
    )
    began = time.perf_counter()
    vacuous = []
    for prop in spec.properties:
        if prop.kind.value != "invariant" or (found := antecedent(prop.expr)) is None:
            continue
        if not reachable(lambda b, p=prop, f=found: _holds_somewhere(b, p, *f)):
            vacuous.append(prop.name)
    results.append(
        _witnessed(
            "non_vacuous",
            vacuous,
            began,
            f"the left of => never holds in a reachable state ({sizes})",
            "the left of every => holds in some reachable state",
            spec.env if spec.restricted else None,
        )
    )
    return results


def _witnessed(
    name: str, missing: list[str], began: float, failure: str, success: str, env: str | None = None
) -> Proof:
    """A hygiene check decided by witnesses: violated when ``missing`` names
    anything that has none; not applicable in a restricted environment
    (``env``), where a row or a premise may be unreachable without being dead."""
    if missing and env is not None:
        message = f"not asked of the {env} environment, which restricts its events; {failure}: {', '.join(missing)}"
        return Proof(name, "hygiene", Verdict.NOT_APPLICABLE, time.perf_counter() - began, message)
    if missing:
        return Proof(name, "hygiene", Verdict.VIOLATED, time.perf_counter() - began, f"{failure}: {', '.join(missing)}")
    return Proof(name, "hygiene", Verdict.PROVED, time.perf_counter() - began, success)
