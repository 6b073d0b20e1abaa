"""Unbounded proofs of the table's properties, for every number of queues.

Queues are an uninterpreted sort (:class:`~.symbolic.Encoding` with no
count), so a proof covers every N >= 1 at once. Invariants are proved by
induction over the transition relation:

1. ``Init => P`` for every invariant P;
2. ``H and T => P'`` for every invariant P in H, every event, where H is the
   conjunction of the invariants assumed (all of them, lemmas included).

When some P fails step 2, it is dropped from H and the others are proved
again without it (a Houdini-style fixpoint), so that "proved" never leans on
a property that is not itself proved. The invariants left in H are then
inductive together and hold in every reachable state; step and
history-freedom properties are proved for every step from a state in H.

A failed proof is a :class:`Failure`: its counterexample to induction (two
states and the event between them), not yet a verdict. :func:`classify`
makes it one with the finite search (:mod:`.search`): a violation found at
some N, with its trace, or ``unknown: not inductive`` with the N searched.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

import z3

from virtio_notifier_spec.model.trace import Trace
from virtio_notifier_spec.spec.schema import Event, Property, PropertyKind, Spec

from .budget import UNLIMITED, Budget, OutOfTime, check
from .result import Induction, Proof, Verdict
from .search import Search, replays
from .symbolic import Encoding, SymState


def _show(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _induction(enc: Encoding, model: z3.ModelRef, event: Event, pre: SymState, post: SymState, args: dict) -> Induction:
    queues = enc.model_queues(model)
    values = enc.concrete_args(model, event, args, queues)
    shown = ", ".join(f"{k}={_show(v)}" for k, v in values.items())
    fired = enc.fired(model, event, pre, post, args, queues)
    rows = ", ".join(f"q{q} {r.letter} ({r.name})" if r.letter else f"q{q} {r.name}" for q, r in fired)
    return Induction(
        enc.concrete(model, pre, queues),
        f"{event.name}({shown})",
        rows or "no row fired",
        enc.concrete(model, post, queues),
    )


@dataclass(frozen=True, slots=True)
class Failure:
    """A property whose proof failed, before the search classifies it.

    ``verdict`` is VIOLATED when an initial state breaks it (``start``, read
    from Z3's model), NOT_INDUCTIVE with a counterexample to induction, or
    UNKNOWN when the solver gave up or the time ran out."""

    prop: Property
    verdict: Verdict
    message: str
    seconds: float = 0.0
    induction: Induction | None = None
    start: Trace | None = None

    @property
    def name(self) -> str:
        return self.prop.name


Outcome = Proof | Failure


class Prover:
    """The proofs of one table within ``budget``."""

    def __init__(self, spec: Spec, budget: Budget = UNLIMITED) -> None:
        self.spec = spec
        self.enc = Encoding(spec)
        self.budget = budget
        self.invariants = tuple(p for p in spec.properties if p.kind is PropertyKind.INVARIANT)
        self.assumed: tuple[Property, ...] = self.invariants

    def check(self, solver: z3.Solver) -> z3.CheckSatResult:
        return check(solver, budget=self.budget)

    # -- invariants ---------------------------------------------------------
    def prove_invariants(self) -> list[Outcome]:
        seconds: dict[str, float] = defaultdict(float)
        failed: dict[str, Failure] = {}
        try:
            self._initially(failed, seconds)
            self.assumed = tuple(p for p in self.invariants if p.name not in failed)
            while True:  # H and T => P', dropping what fails until nothing does
                broken = self._step_round(seconds)
                if not broken:
                    break
                failed.update(broken)
                self.assumed = tuple(p for p in self.assumed if p.name not in broken)
        except OutOfTime as exc:  # nothing left unchecked is proved
            for prop in self.invariants:
                failed.setdefault(prop.name, Failure(prop, Verdict.UNKNOWN, str(exc)))
            self.assumed = ()
        outcomes: list[Outcome] = []
        for prop in self.invariants:
            if prop.name in failed:
                f = failed[prop.name]
                outcomes.append(Failure(f.prop, f.verdict, f.message, seconds[prop.name], f.induction, f.start))
            else:
                outcomes.append(Proof(prop.name, prop.kind.value, Verdict.PROVED, seconds[prop.name], "inductive"))
        return outcomes

    def _initially(self, failed: dict[str, Failure], seconds: dict[str, float]) -> None:
        """Init => P for every invariant."""
        for prop in self.invariants:
            began = time.perf_counter()
            solver = z3.Solver()
            start = self.enc.state("start")
            solver.add(self.enc.init(start), z3.Not(self.enc.invariant(prop, start)))
            outcome = self.check(solver)
            seconds[prop.name] += time.perf_counter() - began
            if outcome == z3.sat:
                model = solver.model()
                state = self.enc.concrete(model, start, self.enc.model_queues(model))
                failed[prop.name] = Failure(prop, Verdict.VIOLATED, "false in an initial state", start=Trace(state, ()))
            elif outcome == z3.unknown:
                failed[prop.name] = Failure(prop, Verdict.UNKNOWN, "the solver gave up on the initial states")

    def _step_round(self, seconds: dict[str, float]) -> dict[str, Failure]:
        broken: dict[str, Failure] = {}
        enc = self.enc
        solver = z3.Solver()
        pre, post = enc.state("pre"), enc.state("post")
        solver.add(enc.invariants(pre, self.assumed))
        for event in self.spec.events:
            args = enc.args(event, "arg")
            solver.push()
            solver.add(enc.step(event, pre, post, args))
            for prop in self.assumed:
                if prop.name in broken:
                    continue
                began = time.perf_counter()
                solver.push()
                solver.add(z3.Not(enc.invariant(prop, post)))
                outcome = self.check(solver)
                if outcome == z3.sat:
                    cti = _induction(enc, solver.model(), event, pre, post, args)
                    broken[prop.name] = Failure(prop, Verdict.NOT_INDUCTIVE, f"not preserved by {event.name}", 0, cti)
                elif outcome == z3.unknown:
                    broken[prop.name] = Failure(prop, Verdict.UNKNOWN, f"the solver gave up on {event.name}")
                solver.pop()
                seconds[prop.name] += time.perf_counter() - began
            solver.pop()
        return broken

    # -- step properties ----------------------------------------------------
    def prove_step(self, prop: Property) -> Outcome:
        began = time.perf_counter()
        enc = self.enc
        try:
            for name in prop.events:
                event = self.spec.event(name)
                solver, pre, post, args = self._breaking_step(prop, event)
                outcome = self.check(solver)
                if outcome == z3.unknown:
                    return Failure(prop, Verdict.UNKNOWN, f"the solver gave up on {name}", _since(began))
                if outcome == z3.sat:
                    cti = _induction(enc, solver.model(), event, pre, post, args)
                    message = f"false across {event.name} from a state satisfying the proved invariants"
                    return Failure(prop, Verdict.NOT_INDUCTIVE, message, _since(began), cti)
        except OutOfTime as exc:
            return Failure(prop, Verdict.UNKNOWN, str(exc), _since(began))
        return Proof(prop.name, "step", Verdict.PROVED, _since(began), "every step from an invariant state")

    def _breaking_step(self, prop: Property, event: Event) -> tuple[z3.Solver, SymState, SymState, dict]:
        """A solver asked for a step of ``event``, from a state satisfying the
        proved invariants, across which the step property ``prop`` is false."""
        enc = self.enc
        pre, post, args = enc.state("pre"), enc.state("post"), enc.args(event, "arg")
        solver = z3.Solver()
        solver.add(
            enc.invariants(pre, self.assumed),
            enc.step(event, pre, post, args),
            z3.Not(enc.expr(prop.expr, pre, post, args, None)),
        )
        return solver, pre, post, args

    # -- history freedom ----------------------------------------------------
    def prove_history(self, prop: Property) -> Outcome:
        began = time.perf_counter()
        enc = self.enc
        try:
            for name in prop.events:
                event = self.spec.event(name)
                pre1, pre2, post1, post2 = (enc.state(n) for n in ("pre", "pre2", "post", "post2"))
                args = enc.args(event, "arg")
                solver = z3.Solver()
                solver.add(
                    enc.invariants(pre1, self.assumed),
                    enc.invariants(pre2, self.assumed),
                    enc.step(event, pre1, post1, args),
                    enc.step(event, pre2, post2, args),
                    agree(enc, pre1, pre2, prop.inputs),
                    z3.Not(agree(enc, post1, post2, None)),
                )
                outcome = self.check(solver)
                if outcome == z3.unknown:
                    return Failure(prop, Verdict.UNKNOWN, f"the solver gave up on {name}", _since(began))
                if outcome == z3.sat:
                    model = solver.model()
                    first = _induction(enc, model, event, pre1, post1, args)
                    second = _induction(enc, model, event, pre2, post2, args)
                    cti = Induction(first.pre, first.event, first.rows, first.post, second.pre, second.post)
                    message = f"two invariant states agreeing on {', '.join(prop.inputs)} end apart after {event.name}"
                    return Failure(prop, Verdict.NOT_INDUCTIVE, message, _since(began), cti)
        except OutOfTime as exc:
            return Failure(prop, Verdict.UNKNOWN, str(exc), _since(began))
        return Proof(
            prop.name, "history_free", Verdict.PROVED, _since(began), "equal inputs and arguments give equal states"
        )

    # -- strengthened properties (vacuity) ------------------------------------
    def settles(self, prop: Property, *, induction: bool = True) -> str | None:
        """How ``prop`` (a strengthened property) is known to hold in every
        reachable state, or across every step of its events, for every N;
        None when neither query shows it."""
        enc = self.enc
        if prop.kind is PropertyKind.STEP:
            for name in prop.events:
                if self.check(self._breaking_step(prop, self.spec.event(name))[0]) != z3.unsat:
                    return None
            return "the proved invariants imply it"
        s = enc.state("s")
        solver = z3.Solver()
        solver.add(enc.invariants(s, self.assumed), z3.Not(enc.invariant(prop, s)))
        if self.check(solver) == z3.unsat:
            return "the proved invariants imply it"
        if not induction:
            return None
        start = enc.state("start")
        solver = z3.Solver()
        solver.add(enc.init(start), z3.Not(enc.invariant(prop, start)))
        if self.check(solver) != z3.unsat:
            return None
        pre, post = enc.state("pre"), enc.state("post")
        for event in self.spec.events:
            args = enc.args(event, "arg")
            solver = z3.Solver()
            solver.add(
                enc.invariants(pre, (*self.assumed, prop)),
                enc.step(event, pre, post, args),
                z3.Not(enc.invariant(prop, post)),
            )
            if self.check(solver) != z3.unsat:
                return None
        return "inductive together with the proved invariants"


def classify(failure: Failure, search: Search, assumed: tuple[Property, ...]) -> Proof:
    """The verdict on a failed proof: the search's violation at the smallest
    N (its trace replayed first), or what the failure says, with the N searched."""
    prop = failure.prop
    kind = prop.kind.value
    found = search.first(prop.name)
    if found is not None:
        n, cex = found
        for trace in (cex.trace, cex.other):
            if trace is not None and not replays(search.spec, trace):
                raise Disagreement(f"{prop.name}: the {search.method}'s trace at {n} queue(s) does not replay")
        steps = f"{len(cex.trace)} step{'' if len(cex.trace) == 1 else 's'}"
        return Proof(
            prop.name,
            kind,
            Verdict.VIOLATED,
            failure.seconds,
            f"{n} queue(s): {cex.message} ({steps}, {search.method})",
            cex.trace,
            cex.other,
        )
    if failure.start is not None:  # false initially, at the size of Z3's model
        if not replays(search.spec, failure.start):
            raise Disagreement(f"{prop.name}: Z3's initial state is not one of the explorer's")
        n = len(failure.start.start.queues)
        return Proof(
            prop.name, kind, Verdict.VIOLATED, failure.seconds, f"{n} queue(s): {failure.message}", failure.start
        )
    searched = search.covered("no violation found")
    if failure.verdict is Verdict.NOT_INDUCTIVE:
        message = (
            f"{failure.message}; {searched}: undecided. A lemma may be missing (name it with lemma = true). "
            "Counterexample to induction (the pre-state satisfies: "
            + (", ".join(p.name for p in assumed) or "nothing")
            + ")"
        )
    elif search.searched == 0 and failure.message == search.stopped:
        message = failure.message
    else:
        message = f"{failure.message}; {searched}"
    return Proof(
        prop.name,
        kind,
        failure.verdict,
        failure.seconds,
        message,
        induction=failure.induction,
        searched=search.searched,
    )


class Disagreement(RuntimeError):
    """The proofs and the search contradict each other: a bug of ours."""


def agree(enc: Encoding, a: SymState, b: SymState, names: tuple[str, ...] | None) -> z3.BoolRef:
    """``a`` and ``b`` agree on ``names`` (None: on everything)."""
    chosen = [v.name for v in enc.spec.variables] if names is None else list(names)
    parts = [a.device[n] == b.device[n] for n in chosen if n in a.device]
    queue = [n for n in chosen if n in a.queue]
    if queue:
        parts.append(enc.forall(lambda q: z3.And([a.queue[n](q) == b.queue[n](q) for n in queue])))
    return z3.And(parts)


def _since(began: float) -> float:
    return time.perf_counter() - began
