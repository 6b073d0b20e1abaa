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

A failed proof is classified: bounded model checking (:mod:`.bmc`) for 1 to 3
queues, as deep as the explorer's search, looks for a real violation and
prints its trace; when it finds none, the property is reported as true but
not inductive, with the counterexample to induction (two states and the
event between them) that says which lemma is missing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from functools import lru_cache

import z3
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.spec.schema import Event, Property, PropertyKind, Spec

from .bmc import Bmc
from .result import Induction, Proof, Verdict
from .symbolic import Encoding, SymState

CLASSIFY_QUEUES = (1, 2, 3)
_EXPLORE_LIMIT = 200_000


@lru_cache(maxsize=32)
def explorer_depth(spec: Spec, queues: int) -> int:
    """How deep the explorer's breadth-first search goes: every reachable
    state of ``queues`` queues is that many steps from a start at most."""
    return explore(spec, queues, max_states=_EXPLORE_LIMIT).depth


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


class Prover:
    """The proofs of one table; :func:`prove` runs them all."""

    def __init__(self, spec: Spec, classify: bool = True) -> None:
        self.spec = spec
        self.enc = Encoding(spec)
        self.classify = classify
        self.invariants = tuple(p for p in spec.properties if p.kind is PropertyKind.INVARIANT)
        self.assumed: tuple[Property, ...] = self.invariants
        self._bmc: dict[int, Bmc] = {}

    def bmc(self, queues: int) -> Bmc:
        """One unrolling per number of queues, shared by every classification."""
        if queues not in self._bmc:
            self._bmc[queues] = Bmc(self.spec, queues)
        return self._bmc[queues]

    # -- invariants ---------------------------------------------------------
    def prove_invariants(self) -> list[Proof]:
        seconds: dict[str, float] = defaultdict(float)
        failed: dict[str, tuple[Verdict, Induction | None, str]] = {}
        for prop in self.invariants:  # Init => P
            began = time.perf_counter()
            solver = z3.Solver()
            start = self.enc.state("start")
            solver.add(self.enc.init(start), z3.Not(self.enc.invariant(prop, start)))
            outcome = solver.check()
            seconds[prop.name] += time.perf_counter() - began
            if outcome != z3.unsat:
                failed[prop.name] = (
                    Verdict.VIOLATED if outcome == z3.sat else Verdict.UNKNOWN,
                    None,
                    "false in an initial state",
                )
        self.assumed = tuple(p for p in self.invariants if p.name not in failed)
        while True:  # H and T => P', dropping what fails until nothing does
            broken = self._step_round(seconds)
            if not broken:
                break
            failed.update(broken)
            self.assumed = tuple(p for p in self.assumed if p.name not in broken)
        proofs = []
        for prop in self.invariants:
            began = time.perf_counter()
            if prop.name in failed:
                proof = self._classify_invariant(prop, *failed[prop.name])
            else:
                proof = Proof(prop.name, prop.kind.value, Verdict.PROVED, 0.0, "inductive")
            seconds[prop.name] += time.perf_counter() - began
            proofs.append(_timed(proof, seconds[prop.name]))
        return proofs

    def _step_round(self, seconds: dict[str, float]) -> dict:
        broken: dict = {}
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
                outcome = solver.check()
                if outcome == z3.sat:
                    cti = _induction(enc, solver.model(), event, pre, post, args)
                    broken[prop.name] = (Verdict.NOT_INDUCTIVE, cti, f"not preserved by {event.name}")
                elif outcome == z3.unknown:
                    broken[prop.name] = (Verdict.UNKNOWN, None, f"the solver gave up on {event.name}")
                solver.pop()
                seconds[prop.name] += time.perf_counter() - began
            solver.pop()
        return broken

    def _classify_invariant(self, prop: Property, verdict: Verdict, cti: Induction | None, message: str) -> Proof:
        if self.classify:
            for n in CLASSIFY_QUEUES:
                bmc = self.bmc(n)
                trace = bmc.find(lambda s, b=bmc: z3.Not(b.encoding.invariant(prop, s)), explorer_depth(self.spec, n))
                if trace is not None:
                    return Proof(
                        prop.name,
                        prop.kind.value,
                        Verdict.VIOLATED,
                        0.0,
                        f"{n} queue(s): {_where(bmc, prop, trace)} in the last state "
                        f"({_steps(trace)}, bounded model checking)",
                        trace,
                    )
        if verdict is Verdict.NOT_INDUCTIVE:
            message += (
                "; bounded model checking finds no violation for "
                f"{CLASSIFY_QUEUES[0]}-{CLASSIFY_QUEUES[-1]} queue(s): true there but not inductive, "
                "a lemma is missing (name it in spec/common.toml with lemma = true). "
                "Counterexample to induction (the pre-state satisfies: "
                + (", ".join(p.name for p in self.assumed) or "nothing")
                + ")"
            )
        return Proof(prop.name, prop.kind.value, verdict, 0.0, message, induction=cti)

    # -- step properties ----------------------------------------------------
    def prove_step(self, prop: Property) -> Proof:
        began = time.perf_counter()
        enc = self.enc
        for name in prop.events:
            event = self.spec.event(name)
            pre, post, args = enc.state("pre"), enc.state("post"), enc.args(event, "arg")
            solver = z3.Solver()
            solver.add(
                enc.invariants(pre, self.assumed),
                enc.step(event, pre, post, args),
                z3.Not(enc.expr(prop.expr, pre, post, args, None)),
            )
            outcome = solver.check()
            if outcome == z3.unknown:
                return _since(Proof(prop.name, "step", Verdict.UNKNOWN, 0.0, f"the solver gave up on {name}"), began)
            if outcome == z3.sat:
                cti = _induction(enc, solver.model(), event, pre, post, args)
                return _since(self._classify_step(prop, event, cti), began)
        return _since(Proof(prop.name, "step", Verdict.PROVED, 0.0, "every step from an invariant state"), began)

    def _classify_step(self, prop: Property, event: Event, cti: Induction) -> Proof:
        if self.classify:
            for n in CLASSIFY_QUEUES:
                bmc = self.bmc(n)
                trace = bmc.find_step(
                    event,
                    lambda pre, post, args, b=bmc: z3.Not(b.encoding.expr(prop.expr, pre, post, args, None)),
                    explorer_depth(self.spec, n) + 1,
                )
                if trace is not None:
                    return Proof(
                        prop.name,
                        "step",
                        Verdict.VIOLATED,
                        0.0,
                        f"{n} queue(s): false across the last step ({_steps(trace)}, bounded model checking)",
                        trace,
                    )
        return Proof(
            prop.name,
            "step",
            Verdict.NOT_INDUCTIVE,
            0.0,
            f"false across {event.name} from a state satisfying the proved invariants, but no "
            "reachable violation found: a lemma is missing",
            induction=cti,
        )

    # -- history freedom ----------------------------------------------------
    def prove_history(self, prop: Property) -> Proof:
        began = time.perf_counter()
        enc = self.enc
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
                _agree(enc, pre1, pre2, prop.inputs),
                z3.Not(_agree(enc, post1, post2, None)),
            )
            outcome = solver.check()
            if outcome == z3.unknown:
                return _since(
                    Proof(prop.name, "history_free", Verdict.UNKNOWN, 0.0, f"the solver gave up on {name}"), began
                )
            if outcome == z3.sat:
                model = solver.model()
                first = _induction(enc, model, event, pre1, post1, args)
                second = _induction(enc, model, event, pre2, post2, args)
                cti = Induction(first.pre, first.event, first.rows, first.post, second.pre, second.post)
                return _since(self._classify_history(prop, event, cti), began)
        return _since(
            Proof(prop.name, "history_free", Verdict.PROVED, 0.0, "equal inputs and arguments give equal states"), began
        )

    def _classify_history(self, prop: Property, event: Event, cti: Induction) -> Proof:
        # Two runs are needed: the explorer's counterexample (shortest, with
        # both histories) for small N is the trace shown.
        if self.classify:
            for n in CLASSIFY_QUEUES:
                found = explore(self.spec, n, max_states=_EXPLORE_LIMIT).counterexamples.get(prop.name)
                if found is not None:
                    return Proof(
                        prop.name,
                        "history_free",
                        Verdict.VIOLATED,
                        0.0,
                        f"{n} queue(s): {found.message} (the explorer's counterexample)",
                        found.trace,
                        found.other,
                    )
        return Proof(
            prop.name,
            "history_free",
            Verdict.NOT_INDUCTIVE,
            0.0,
            f"two invariant states agreeing on {', '.join(prop.inputs)} end apart after "
            f"{event.name}, but no reachable pair was found: a lemma is missing",
            induction=cti,
        )


def _steps(trace) -> str:
    return f"{len(trace)} step{'' if len(trace) == 1 else 's'}"


def _where(bmc: Bmc, prop: Property, trace) -> str:
    """Which queue breaks a per-queue invariant in the trace's last state,
    read by the symbolic interpreter on that concrete state."""
    if not prop.per_queue:
        return f"{prop.name} is false"
    enc = bmc.encoding
    s = enc.state("last")
    solver = z3.Solver()
    solver.add(enc.equals(s, trace.last))
    for index, q in enumerate(enc.queue_values):
        solver.push()
        solver.add(z3.Not(enc.expr(prop.expr, s, None, {}, q)))
        broken = solver.check() == z3.sat
        solver.pop()
        if broken:
            return f"queue {index} breaks {prop.name}"
    return f"{prop.name} is false"  # pragma: no cover  (the trace was found for it)


def _agree(enc: Encoding, a: SymState, b: SymState, names: tuple[str, ...] | None) -> z3.BoolRef:
    """``a`` and ``b`` agree on ``names`` (None: on everything)."""
    chosen = [v.name for v in enc.spec.variables] if names is None else list(names)
    parts = [a.device[n] == b.device[n] for n in chosen if n in a.device]
    queue = [n for n in chosen if n in a.queue]
    if queue:
        parts.append(enc.forall(lambda q: z3.And([a.queue[n](q) == b.queue[n](q) for n in queue])))
    return z3.And(parts)


def _since(proof: Proof, began: float) -> Proof:
    """``proof`` with the time since ``began`` (a ``perf_counter`` mark)."""
    return _timed(proof, time.perf_counter() - began)


def _timed(proof: Proof, seconds: float) -> Proof:
    return Proof(
        proof.name, proof.kind, proof.verdict, seconds, proof.message, proof.trace, proof.other, proof.induction
    )
