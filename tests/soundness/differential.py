"""The differential soundness check of one table: every search and proof
must agree with the explicit search wherever it claims to apply, and every
reduction must refuse a table outside its fragment.

- explicit breadth-first search at N = 1..4 (a run stopped by its state
  budget decides nothing and is skipped);
- orbits (``check --symmetry``) at the same N: the same verdicts, the same
  shortest trace lengths, as many concrete states, and every trace replays
  on N concrete queues and breaks its check;
- support at N = 1024 for a table of its fragment: the explicit verdicts at
  every N from its cutoff on, the support verdicts at the cutoff itself and
  the orbit verdicts at cutoff + 1; outside the fragment it must be refused
  (``SupportError``), and so must ``scale``'s every-N run above 8 queues;
- Z3 (``prove``): a property proved holds in the explicit search at every
  N; one violated comes with a trace that replays and breaks it;
- SPIN at N = 1..2: as many states, the same failing checks.

:func:`differential` returns a :class:`Report`: what was compared, what was
refused, and every disagreement as one line.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from virtio_notifier_spec.model.explore import Counterexample
from virtio_notifier_spec.model.explore import explore as explore_plain
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.scale.search import ORBIT_LIMIT, explore, explore_every
from virtio_notifier_spec.spec.concrete import compile_expr
from virtio_notifier_spec.spec.fragment import FragmentError, support_cutoff, support_reason, witness_reason
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

SIZES = (1, 2, 3, 4)
SUPPORT_N = 1024
#: An explicit or orbit search that stores more states decides nothing (skipped).
BUDGET = 20000
#: Each Z3 query gives up after this long (its verdict is then not compared).
Z3_TIMEOUT_MS = 10_000
Z3_NO_TIMEOUT = 4294967295  # Z3's default: no limit


@dataclass
class Report:
    """What one table (or many, added up) showed."""

    tables: int = 0
    compared: Counter = field(default_factory=Counter)  # engine -> comparisons made
    refused: Counter = field(default_factory=Counter)  # fragment -> tables refused
    skipped: Counter = field(default_factory=Counter)  # what ran out of budget
    disagreements: list[str] = field(default_factory=list)

    def add(self, other: Report) -> None:
        self.tables += other.tables
        self.compared.update(other.compared)
        self.refused.update(other.refused)
        self.skipped.update(other.skipped)
        self.disagreements += other.disagreements


def _verdicts(result) -> dict[str, str]:
    return {name: result.verdict(name) for name in result.checks}


def _lengths(result) -> dict[str, int]:
    return {name: len(cx.trace) for name, cx in result.counterexamples.items()}


def _replays(spec: Spec, n: int, cx) -> str | None:
    """Why ``cx`` is not a run of ``spec`` with ``n`` queues that breaks its check; None when it is."""
    machine = Machine(spec, n)
    for trace in (cx.trace, cx.other) if cx.other is not None else (cx.trace,):
        state = trace.start
        if state not in machine.initial_states():
            return "starts outside the initial states"
        for number, step in enumerate(trace.steps, start=1):
            if not machine.enabled(state, step.event):
                return f"step {number} is not enabled"
            if not any(c.post == step.post and c.fired == step.fired for c in machine.step(state, step.event).choices):
                return f"step {number} is not a step of the table"
            state = step.post
    prop = next((p for p in spec.properties if p.name == cx.name), None)
    if prop is None or prop.kind is PropertyKind.HISTORY_FREE:
        return None
    f = compile_expr(prop.expr, machine.layout)
    if prop.kind is PropertyKind.STEP:
        if not cx.trace.steps:
            return "a step property broken without a step"
        last = cx.trace.steps[-1]
        pre = cx.trace.steps[-2].post if len(cx.trace) > 1 else cx.trace.start
        return None if not f(pre, last.post, last.event.values, 0) else "the last step keeps the property"
    queues = range(n) if prop.per_queue else (0,)
    return None if not all(f(cx.trace.last, None, {}, q) for q in queues) else "the last state keeps the property"


class _Check:
    def __init__(self, spec: Spec, label: str, budget: int) -> None:
        self.spec = spec
        self.label = label
        self.budget = budget
        self.report = Report(tables=1)
        self.explicit: dict[int, object] = {}

    def disagree(self, message: str) -> None:
        self.report.disagreements.append(f"{self.label}: {message}")

    def run_explicit(self) -> None:
        for n in SIZES:
            result = explore_plain(self.spec, n, max_states=self.budget)
            if result.partial:
                self.report.skipped["explicit"] += 1
                break
            self.explicit[n] = result

    def orbits(self) -> None:
        for n, full in self.explicit.items():
            reduced = explore(self.spec, n, symmetry="orbits", max_states=self.budget)
            if reduced.partial:
                self.report.skipped["orbits"] += 1
                continue
            self.report.compared["orbits"] += 1
            if _verdicts(reduced) != _verdicts(full):
                self.disagree(f"orbits at N={n}: {_diff(_verdicts(reduced), _verdicts(full))}")
            elif _lengths(reduced) != _lengths(full):
                self.disagree(f"orbits at N={n}: trace lengths {_lengths(reduced)} != {_lengths(full)}")
            if reduced.concrete_states != full.states:
                self.disagree(f"orbits at N={n}: {reduced.concrete_states} concrete states != {full.states}")
            for cx in reduced.counterexamples.values():
                if cx.name == "no_dead_transition":
                    continue
                why = _replays(self.spec, n, cx)
                if why:
                    self.disagree(f"orbits at N={n}: the trace of {cx.name} {why}")
            if witness_reason(self.spec) is not None and not any("every queue is stepped" in x for x in reduced.notes):
                self.disagree(f"orbits at N={n}: the table compares queues but the result has no note")

    def support(self) -> None:
        reason = support_reason(self.spec)
        if reason is not None:
            self.report.refused["support"] += 1
            above = ORBIT_LIMIT + 1  # the fewest queues for which scale needs the support abstraction
            attempts = (
                lambda: explore(self.spec, above, symmetry="support", max_states=self.budget),
                lambda: explore_every(self.spec, above, max_states=self.budget),
            )
            for attempt in attempts:
                try:
                    attempt()
                except FragmentError:
                    continue
                self.disagree(f"support accepted a table outside its fragment ({reason})")
            return
        cutoff = support_cutoff(self.spec)
        top = explore(self.spec, SUPPORT_N, symmetry="support", max_states=self.budget)
        if top.partial:
            self.report.skipped["support"] += 1
            return
        if top.reduction != "support" or top.cutoff != cutoff:
            self.disagree(f"support at N={SUPPORT_N} ran {top.reduction} with cutoff {top.cutoff}, expected {cutoff}")
            return
        self.report.compared["support"] += 1
        wanted = _verdicts(top)
        for n, full in self.explicit.items():
            if n >= cutoff and _verdicts(full) != wanted:
                self.disagree(
                    f"support (exact from N={cutoff}) against explicit N={n}: {_diff(wanted, _verdicts(full))}"
                )
        at_cutoff = explore(self.spec, cutoff, symmetry="support", max_states=self.budget)
        if not at_cutoff.partial and _verdicts(at_cutoff) != wanted:
            self.disagree(f"support at N={cutoff} and N={SUPPORT_N}: {_diff(_verdicts(at_cutoff), wanted)}")
        above = explore(self.spec, cutoff + 1, symmetry="orbits", max_states=self.budget)
        if above.partial:
            self.report.skipped["orbits above the cutoff"] += 1
        else:
            self.report.compared["support against orbits"] += 1
            if _verdicts(above) != wanted:
                self.disagree(f"support against orbits at N={cutoff + 1}: {_diff(wanted, _verdicts(above))}")
        for name, cx in top.counterexamples.items():
            if name != "no_dead_transition" and cx.trace.steps and (why := _replays(self.spec, SUPPORT_N, cx)):
                self.disagree(f"support at N={SUPPORT_N}: the trace of {name} {why}")

    def proofs(self) -> None:
        """Z3 claims for every N: a proof must hold at every explicit N, and a
        violation must come with a run that replays and breaks the property.
        (Liveness of rows and vacuity are claims that some N exists; they are
        not compared with the small N explored here.)"""
        import z3

        from virtio_notifier_spec.proofs.prove import prove

        z3.set_param("timeout", Z3_TIMEOUT_MS)  # quantified tables can keep a query open for ever
        try:
            report = prove(self.spec)
        except Exception as exc:  # a crash is a finding, not a reason to stop the run
            self.disagree(f"z3 raised {type(exc).__name__}: {exc}")
            return
        finally:
            z3.set_param("timeout", Z3_NO_TIMEOUT)
        self.report.compared["z3"] += 1
        if any(p.verdict.value not in ("proved", "violated") for p in report.proofs):
            self.report.skipped["z3 verdicts neither proved nor violated"] += 1
        names = {p.name for p in self.spec.properties} | {"deterministic", "complete"}
        for proof in report.proofs:
            if proof.name not in names:
                continue
            if proof.proved:
                failing = [n for n, r in self.explicit.items() if r.verdict(proof.name) == "fails"]
                if failing:
                    self.disagree(f"z3 proved {proof.name}, the explicit search breaks it at N={failing[0]}")
            elif proof.verdict.value == "violated" and proof.trace is not None and proof.name != "complete":
                cx = Counterexample(proof.name, "", proof.trace, proof.other)
                why = _replays(self.spec, len(proof.trace.start.queues), cx)
                if why:
                    self.disagree(f"z3 says {proof.name} is violated, but its trace {why}")

    def spin(self, sizes: tuple[int, ...]) -> None:
        from virtio_notifier_spec.scale.promela import SPIN_OFFSET, exported_checks, to_promela
        from virtio_notifier_spec.scale.spin import QUICK_CFLAGS, run_spin

        for n in sizes:
            full = self.explicit.get(n)
            if full is None:
                continue
            with tempfile.TemporaryDirectory() as work:
                run = run_spin(to_promela(self.spec, n), Path(work), timeout=60, cflags=QUICK_CFLAGS)
            if not run.finished:
                self.report.skipped["spin"] += 1
                continue
            self.report.compared["spin"] += 1
            failing = {k for k in full.counterexamples if k in exported_checks(self.spec)}
            # Where rows overlap, SPIN's d_step takes the first enabled branch and
            # the explorer every one: the counts agree only on a deterministic table.
            counts_differ = run.states != full.states + SPIN_OFFSET and "deterministic" not in failing
            if counts_differ or set(run.violated) != failing:
                self.disagree(
                    f"spin at N={n}: {run.states} states, violated {sorted(run.violated)}; "
                    f"explicit {full.states + SPIN_OFFSET}, {sorted(failing)}"
                )


def _diff(a: dict[str, str], b: dict[str, str]) -> str:
    return ", ".join(f"{k}: {a.get(k)} vs {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))


def differential(
    spec: Spec,
    label: str = "table",
    *,
    proofs: bool = False,
    spin: bool = False,
    spin_sizes: tuple[int, ...] = (1, 2),
    budget: int = BUDGET,
) -> Report:
    """Compare every engine on ``spec`` (see the module). ``budget``: the
    states a search may store before it is skipped as undecided."""
    check = _Check(spec, label, budget)
    check.run_explicit()
    check.report.compared["explicit"] += len(check.explicit)
    check.orbits()
    check.support()
    if proofs:
        check.proofs()
    if spin:
        check.spin(spin_sizes)
    return check.report
