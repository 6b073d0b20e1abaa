"""The table's hygiene, each verdict saying for which N and which states it holds.

- ``deterministic`` (no two guarded rows fire together) and ``complete``
  (some row always fires): Z3 first, over every state satisfying the proved
  invariants, for every N; that proves the check "on every state satisfying
  the proved invariants". When Z3 finds such a state with a problem, it may
  be unreachable: the search (:mod:`.search`) looks for a reachable one,
  and the verdict is a violation with its trace, or the check holds on the
  reachable states, for every N when one queue decides every N
  (:mod:`.independence`), else for the N searched.
- ``no_dead_transition``: every row fires from each of its source states
  in a reachable state. For independent queues the 1-queue search decides
  every N; otherwise the verdict is labelled with the N searched, and a
  (row, source) dead at some searched N is a violation at that N.
- ``non_vacuous``: no sub-formula of a proved property can be replaced by a
  constant without changing its verdict (:mod:`.vacuity`). A sub-formula
  matters when a reachable state breaks the property so strengthened (a
  witness at any N); it does not when the proved invariants imply the
  strengthened property, or it is inductive with them (for every N).
"""

from __future__ import annotations

import functools
import itertools
import time
from dataclasses import dataclass, replace
from pathlib import Path

import z3

from virtio_notifier_spec.model.trace import format_state
from virtio_notifier_spec.spec.expr import BoolOp, Expr, Quantifier
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec
from virtio_notifier_spec.spec.profile import UNRESTRICTED, not_issued_note
from virtio_notifier_spec.spec.schema import Event, Property, Spec

from .budget import Budget, OutOfTime, check
from .induction import Disagreement, Prover
from .result import Proof, Verdict
from .search import Search, replays
from .symbolic import Encoding
from .vacuity import Occurrence, maximal, occurrences, strengthened

GUARDS = ("deterministic", "complete")


def _queue(enc: Encoding, event: Event, args: dict) -> z3.ExprRef:
    """The queue a row is judged on: the event's target, or any queue."""
    return args[event.target] if event.target else z3.Const(enc.fresh("q"), enc.queue_sort)


def _example(enc: Encoding, solver: z3.Solver, pre, what: str) -> str:
    model = solver.model()
    state = enc.concrete(model, pre, enc.model_queues(model))
    return f"{what}, e.g. in {format_state(enc.spec, state)}"


@dataclass(frozen=True, slots=True)
class GuardCheck:
    """Z3's answer for ``deterministic`` or ``complete`` over the states
    satisfying the proved invariants: the problems found (none: it holds
    there for every N), or ``stopped`` by the time limit."""

    name: str
    problems: tuple[str, ...]
    seconds: float
    stopped: str | None = None


def guard_checks(spec: Spec, assumed: tuple[Property, ...], budget: Budget) -> list[GuardCheck]:
    """``deterministic`` and ``complete`` over every pre-state satisfying ``assumed``."""
    enc = Encoding(spec)
    results = []
    for name in GUARDS:
        began = time.perf_counter()
        problems: list[str] = []
        try:
            for event in spec.events:
                pre, args = enc.state("pre"), enc.args(event, "arg")
                q = _queue(enc, event, args)
                solver = z3.Solver()
                solver.add(enc.invariants(pre, assumed), enc.enabled(event, pre, args))
                for state in spec.states.values:
                    rows = spec.rows(event.name, state)
                    solver.push()
                    solver.add(pre.queue["state"](q) == enc.value(spec.states, state))
                    found = (_overlap if name == "deterministic" else _gap)(
                        enc, solver, event, state, rows, pre, args, q, budget
                    )
                    if found:
                        problems.append(found)
                    solver.pop()
        except OutOfTime as exc:
            results.append(GuardCheck(name, tuple(problems), time.perf_counter() - began, str(exc)))
            continue
        results.append(GuardCheck(name, tuple(problems), time.perf_counter() - began))
    return results


def _overlap(enc, solver, event, state, rows, pre, args, q, budget) -> str | None:
    guarded = [r for r in rows if not r.otherwise]
    for first, second in itertools.combinations(guarded, 2):
        solver.push()
        solver.add(enc.guard(first, pre, args, q), enc.guard(second, pre, args, q))
        outcome = check(solver, budget=budget)
        found = None
        if outcome == z3.sat:
            found = _example(enc, solver, pre, f"{event.name} fires both {first.name} and {second.name}")
        elif outcome == z3.unknown:
            found = f"the solver gave up on {first.name} and {second.name}"
        solver.pop()
        if found:
            return found
    return None


def _gap(enc, solver, event, state, rows, pre, args, q, budget) -> str | None:
    if any(r.otherwise for r in rows):
        return None
    solver.push()
    solver.add(z3.Not(z3.Or([enc.guard(r, pre, args, q) for r in rows] or [z3.BoolVal(False)])))
    outcome = check(solver, budget=budget)
    found = None
    if outcome == z3.sat:
        found = _example(enc, solver, pre, f"no row says what {event.name} does to a queue in {state}")
    elif outcome == z3.unknown:
        found = f"the solver gave up on {event.name} from {state}"
    solver.pop()
    return found


def guard_verdict(result: GuardCheck, search: Search, independent: str | None) -> Proof:
    """The verdict on ``deterministic`` or ``complete``: see the module."""
    name = result.name
    if not result.problems and result.stopped is None:
        return Proof(
            name, "hygiene", Verdict.PROVED, result.seconds, "on every state satisfying the proved invariants, every N"
        )
    found = search.first(name)
    if found is not None:
        n, cex = found
        if not replays(search.spec, cex.trace):
            raise Disagreement(f"{name}: the {search.method}'s trace at {n} queue(s) does not replay")
        return Proof(name, "hygiene", Verdict.VIOLATED, result.seconds, f"{n} queue(s): {cex.message}", cex.trace)
    if result.stopped is not None:
        return Proof(name, "hygiene", Verdict.UNKNOWN, result.seconds, result.stopped)
    unreached = f"a state satisfying the proved invariants (not reached) lacks it: {result.problems[0]}"
    if independent is None and search.complete_run(1) is not None:
        message = f"on every reachable state, every N (independent queues: 1 queue decides every N); {unreached}"
        return Proof(name, "hygiene", Verdict.PROVED, result.seconds, message)
    if search.searched == 0:
        return Proof(name, "hygiene", Verdict.UNKNOWN, result.seconds, f"{unreached}; {search.covered('')}")
    message = f"{search.covered('on the reachable states, as searched')}; {unreached}"
    return Proof(name, "hygiene", Verdict.BOUNDED, result.seconds, message, searched=search.searched)


def dead_verdict(search: Search, independent: str | None) -> Proof:
    """``no_dead_transition`` per (row, source state): see the module. The
    rows of events the environment does not issue are never proved live:
    where there are some, a verdict that would be proved (or bounded) is
    ``not applicable``, naming them."""
    proof = _dead_verdict(search, independent)
    note = not_issued_note(search.spec)
    if note is None:
        return proof
    if proof.verdict in (Verdict.PROVED, Verdict.BOUNDED):
        message = f"not asked of the rows it never runs ({note}); of every other row: {proof.message}"
        return replace(proof, verdict=Verdict.NOT_APPLICABLE, message=message)
    return proof  # a dead row the environment issues is dead whatever it leaves out


def _dead_verdict(search: Search, independent: str | None) -> Proof:
    runs = [search.complete_run(n) for n in range(1, search.searched + 1)]
    seconds = sum(r.seconds for r in runs)
    if not runs:
        return Proof("no_dead_transition", "hygiene", Verdict.UNKNOWN, seconds, search.covered(""))
    if independent is None:
        dead = runs[0].dead
        if dead:
            message = "never fires in a reachable state, for any N (independent queues: 1 queue decides every N): "
            return _fault(search.spec, "no_dead_transition", seconds, message + ", ".join(dead))
        message = "every row fires from each of its source states, every N (independent queues: 1 queue decides)"
        return Proof("no_dead_transition", "hygiene", Verdict.PROVED, seconds, message)
    first_dead: dict[str, int] = {}
    for run in runs:
        for entry in run.dead:
            first_dead.setdefault(entry, run.queues)
    if first_dead:
        shown = ", ".join(f"{entry} ({n} queue{'s' if n > 1 else ''})" for entry, n in first_dead.items())
        return _fault(search.spec, "no_dead_transition", seconds, f"never fires with: {shown}")
    message = (
        f"{search.covered('every row fires from each of its source states, as found')}; "
        f"larger N are not decided: the queues are not independent ({independent})"
    )
    return Proof("no_dead_transition", "hygiene", Verdict.BOUNDED, seconds, message, searched=search.searched)


def antecedent(expr: Expr) -> tuple[tuple[str, ...], Expr] | None:
    """The left of ``=>`` under leading ``forall``s, with the bound names;
    None when the invariant is not an implication. (The premise a design's
    analysis watches for, ``designs/analysis.py``; ``non_vacuous`` judges
    every sub-formula instead.)"""
    bound: list[str] = []
    while isinstance(expr, Quantifier) and expr.kind == "forall":
        bound.append(expr.var)
        expr = expr.body
    if isinstance(expr, BoolOp) and expr.op == "=>":
        return tuple(bound), expr.left
    return None


SHARED_FILE = SPEC_DIR / "common.toml"


@functools.cache
def shipped_requirements() -> frozenset[tuple]:
    """The requirements the project ships in ``spec/common.toml``, shared by
    every table and by the real designs: each as (name, kind, expression,
    per queue), the formula a table that includes the file judges."""
    shipped = load_spec("resolved", env=UNRESTRICTED)
    shared = SHARED_FILE.resolve()
    return frozenset(
        _formula(p) for p in shipped.properties if p.source is not None and Path(p.source.file).resolve() == shared
    )


def _formula(prop: Property) -> tuple:
    return (prop.name, prop.kind, prop.expr, prop.per_queue)


def _own(spec: Spec, occurrence: Occurrence) -> bool:
    """False only for a shipped shared requirement (:func:`shipped_requirements`),
    word for word, wherever the table found it (a copy of ``common.toml``
    too); every other property is the table's own, whichever file it was
    written in: a requirement in a file of the user's that the table
    includes can fail ``non_vacuous`` as one in the table's own file does."""
    return _formula(occurrence.prop) not in shipped_requirements()


def _fault(spec: Spec, name: str, seconds: float, message: str) -> Proof:
    """A dead row or a sub-formula that never matters: a violation, except
    in a restricted environment (an ``--env`` profile that is not
    exhaustive), where the table may hold rows and cases for callers that
    this environment does not have: there it is not applicable."""
    if spec.restricted:
        message = f"not asked of the {spec.env} environment, which restricts its events; {message}"
        return Proof(name, "hygiene", Verdict.NOT_APPLICABLE, seconds, message)
    return Proof(name, "hygiene", Verdict.VIOLATED, seconds, message)


class VacuityCheck:
    """``non_vacuous`` over the proved properties ``props``: each candidate
    sub-formula with its strengthened properties, checked by the search
    beside the table's own (``extra``)."""

    def __init__(self, props: list[Property]) -> None:
        self.candidates: list[Occurrence] = [o for p in props for o in occurrences(p)]
        self.variants: list[tuple[Property, ...]] = []
        number = itertools.count()
        for occurrence in self.candidates:
            self.variants.append(tuple(strengthened(occurrence, v, next(number)) for v in occurrence.values))
        self.extra = tuple(p for variants in self.variants for p in variants)
        self.vacuous: dict[int, str] = {}  # candidate index -> how it is known not to matter
        self.seconds = 0.0

    def unwitnessed(self, search: Search) -> list[int]:
        """The candidates not yet shown to matter, nor settled."""
        return [
            i
            for i, variants in enumerate(self.variants)
            if i not in self.vacuous and not any(search.first(p.name) for p in variants)
        ]

    def settle(self, prover: Prover, indexes: list[int], *, induction: bool) -> None:
        """Ask Z3 whether each candidate's strengthened properties hold for every N."""
        began = time.perf_counter()
        for i in indexes:
            hows = [prover.settles(p, induction=induction) for p in self.variants[i]]
            if all(hows):
                self.vacuous[i] = hows[0]
        self.seconds += time.perf_counter() - began

    def verdict(self, search: Search, verdicts: dict[str, Verdict], late: list[str] = ()) -> Proof:
        """``late``: properties proved after the witnesses were sought (by the
        support search): their sub-formulas are not judged, and the message says so."""
        proof = self._verdict(search, verdicts)
        if late and proof.verdict is not Verdict.UNKNOWN:
            proof = replace(
                proof,
                message=f"{proof.message}; proved after the witnesses were sought, not judged: " + ", ".join(late),
            )
        return proof.timed(proof.seconds + sum(r.seconds for r in search.runs))  # the witnesses' search

    def _verdict(self, search: Search, verdicts: dict[str, Verdict]) -> Proof:
        """The verdict, given the ``verdicts`` of the properties with an
        expression: a violated one is not judged (it fails anyway), one not
        decided leaves ``non_vacuous`` undecided too. A requirement the
        project ships for every table (``spec/common.toml``, word for word)
        is written for other tables and designs too: a case of it that this
        table never needs is an exemption the message names, not a fault.
        Every other property, whichever file it was written in, can fail it."""
        spec = search.spec
        vacuous = maximal([self.candidates[i] for i in self.vacuous])
        open_ = maximal([self.candidates[i] for i in self.unwitnessed(search)])
        own_vacuous, own_open = [o for o in vacuous if _own(spec, o)], [o for o in open_ if _own(spec, o)]
        notes = [f"{o.prop.name}: `{o.text}` ({self._how(o)})" for o in vacuous if not _own(spec, o)]
        notes += [f"{o.prop.name}: `{o.text}` (not shown either way)" for o in open_ if not _own(spec, o)]
        violated = [n for n, v in verdicts.items() if v is Verdict.VIOLATED]
        settled = (Verdict.VIOLATED, Verdict.PROVED, Verdict.NOT_APPLICABLE, Verdict.VACUOUS)
        undecided = [n for n, v in verdicts.items() if v not in settled]
        aside = f"; violated, so not judged: {', '.join(violated)}" if violated else ""
        shared = (
            "exempt, in the requirements the project ships for every table (spec/common.toml), "
            "never needed here: " + "; ".join(notes)
        )
        if own_vacuous or own_open or undecided:
            aside += f"; {shared}" if notes else ""
        if own_vacuous:
            shown = "; ".join(
                f"{o.prop.name}: `{o.text}` can be replaced by {' or '.join(str(v).lower() for v in o.values)} "
                f"and it still holds, every N ({self._how(o)})"
                for o in own_vacuous
            )
            return _fault(spec, "non_vacuous", self.seconds, shown + aside)
        if own_open:
            shown = "; ".join(f"{o.prop.name}: `{o.text}`" for o in own_open)
            message = (
                f"{search.covered('no reachable state where it matters found')}, "
                f"and Z3 does not show it never does: {shown}{aside}"
            )
            return Proof("non_vacuous", "hygiene", Verdict.UNKNOWN, self.seconds, message, searched=search.searched)
        if undecided:
            message = f"not judged until they are decided: {', '.join(undecided)}{aside}"
            return Proof("non_vacuous", "hygiene", Verdict.UNKNOWN, self.seconds, message)
        widest = max((search.first(p.name)[0] for v in self.variants for p in v if search.first(p.name)), default=1)
        which = f"every one but these, {shared}" if notes else "every one"
        message = (
            f"replaced by a constant, a sub-formula of a proved property changes its verdict in a reachable "
            f"state: {which} ({len(self.candidates)} sub-formulas, witnesses with at most "
            f"{widest} queue{'s' if widest > 1 else ''}){aside}"
        )
        return Proof("non_vacuous", "hygiene", Verdict.PROVED, self.seconds, message)

    def _how(self, occurrence: Occurrence) -> str:
        return self.vacuous[self.candidates.index(occurrence)]
