"""The differential soundness check of one table: every engine, reduction
and proof must agree with the unreduced general search wherever it claims
to apply, and every reduction must refuse a table outside its fragment.

The reference is the **general explorer** (``explore_general``: one state
object at a time, every queue) and the **whole reachable graph** for
liveness (``model/liveness.py``). Compared with them:

- the packed engine (forced, ``engine="packed"``), where it serves the
  table: the same states, transitions, depth, rows fired, verdicts and
  trace lengths;
- orbits (``check --symmetry``), general and packed engines, at N = 1..4
  and, for the proofs, up to the N ``prove``'s own search reaches (at most
  8): the same verdicts, the same shortest trace lengths, as many concrete
  states, and every trace replays on N concrete queues and breaks its check;
- support at N = 1024 for a table of its fragment (general and packed): the
  explicit verdicts at every N from its cutoff on, the support verdicts at
  the cutoff itself and the orbit verdicts at cutoff + 1; outside the
  fragment it must be refused (``SupportError``), and so must ``scale``'s
  every-N run above 8 queues;
- Z3 (``prove``): a property proved holds at every N searched; one violated
  comes with a trace that replays and breaks it; "no violation for N =
  1..K" is checked by the orbit search at K; ``no_dead_transition`` and
  ``non_vacuous`` against the rows and witnesses the explicit search finds;
  every verdict neither proved nor violated is counted with why;
- liveness (``leads_to`` with state and step premises, per queue, about a
  step's target and quantified; ``recoverable``; ``deadlock_free``) under
  the events' weak and strong fairness: every reduction (the one-queue
  projection, decided for every N, and the orbit graph) against the whole
  graph at N = 1..3, its lassos replayed as fair runs that break the
  property, and what no reduction decides refused by ``--symmetry``;
- the environment (a profile that does not issue some events): rows it
  leaves out never fire, and a property about its events only is vacuous in
  every engine and in ``prove``;
- several devices sharing slots (``[slots]``, vhost's own events): the
  system search (queues sorted, identical queues stepped once, refusal
  patterns as multisets) against a naive composition of the devices
  (:mod:`.naive_system`);
- a variant that ``extends`` another: the records it loads to are those of
  the same table written out whole;
- SPIN at N = 1..2: as many states, the same failing checks; and its
  liveness verdicts where it finishes.

:func:`differential` returns a :class:`Report`: what was compared, what was
refused, skipped or left undecided (with why), and every disagreement as
one line.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from virtio_notifier_spec.model.explore import Counterexample, explore_general
from virtio_notifier_spec.model.explore import explore as explore_plain
from virtio_notifier_spec.model.graph import state_graph
from virtio_notifier_spec.model.liveness import check_graph
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.model.packed import packed_engine_refusal
from virtio_notifier_spec.scale.packed_reduced import packed_reduced_refusal
from virtio_notifier_spec.scale.search import ORBIT_LIMIT, explore, explore_every
from virtio_notifier_spec.spec.concrete import compile_expr
from virtio_notifier_spec.spec.fragment import (
    FragmentError,
    support_cutoff,
    support_reason,
    symmetry_reason,
    witness_reason,
)
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import vacuous
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

SIZES = (1, 2, 3, 4)
LIVE_SIZES = (1, 2, 3)
SUPPORT_N = 1024
#: An explicit or orbit search (or a liveness graph) that stores more states decides nothing (skipped).
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
    undecided: Counter = field(default_factory=Counter)  # Z3 verdicts neither proved nor violated, by why
    undecided_tables: int = 0  # tables with at least one such verdict
    not_asked: Counter = field(default_factory=Counter)  # Z3's vacuous and not applicable (the environment's doing)
    shapes: Counter = field(default_factory=Counter)  # the shapes of the tables (fragment_tables.SHAPES)
    disagreements: list[str] = field(default_factory=list)

    def add(self, other: Report) -> None:
        self.tables += other.tables
        self.compared.update(other.compared)
        self.refused.update(other.refused)
        self.skipped.update(other.skipped)
        self.undecided.update(other.undecided)
        self.undecided_tables += other.undecided_tables
        self.not_asked.update(other.not_asked)
        self.shapes.update(other.shapes)
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
        if not _initial(spec, state):
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


def _initial(spec: Spec, state) -> bool:
    """Whether ``state`` is an initial state (without listing them: with
    several start values per queue, 1024 queues have too many)."""
    device = all(v in var.init for v, var in zip(state.device, spec.device_variables, strict=True))
    return device and all(
        all(v in var.init for v, var in zip(queue, spec.queue_variables, strict=True)) for queue in state.queues
    )


def _same_run(a, b) -> str | None:
    """How two explorations of one table at one N differ, or None."""
    for what in ("states", "transitions", "depth", "fired"):
        if getattr(a, what) != getattr(b, what):
            return f"{what} {getattr(a, what)} != {getattr(b, what)}"
    if _verdicts(a) != _verdicts(b):
        return _diff(_verdicts(a), _verdicts(b))
    if _lengths(a) != _lengths(b):
        return f"trace lengths {_lengths(a)} != {_lengths(b)}"
    if set(a.dead) != set(b.dead):
        return f"dead rows {sorted(a.dead)} != {sorted(b.dead)}"
    return None


class _Check:
    def __init__(self, spec: Spec, label: str, budget: int) -> None:
        self.spec = spec
        self.label = label
        self.budget = budget
        self.report = Report(tables=1)
        self.explicit: dict[int, object] = {}

    def disagree(self, message: str) -> None:
        self.report.disagreements.append(f"{self.label}: {message}")

    # -- the reference, and the packed engine beside it --------------------------------
    def run_explicit(self) -> None:
        for n in SIZES:
            result = explore_general(self.spec, n, max_states=self.budget)
            if result.partial:
                self.report.skipped["explicit"] += 1
                break
            self.explicit[n] = result
        self.report.compared["explicit"] += len(self.explicit)

    def packed(self) -> None:
        for n, full in self.explicit.items():
            if packed_engine_refusal(self.spec, n) is not None:
                self.report.refused["packed"] += n == 1
                continue
            packed = explore_plain(self.spec, n, engine="packed", max_states=self.budget)
            self.report.compared["packed"] += 1
            if (why := _same_run(packed, full)) is not None:
                self.disagree(f"packed at N={n}: {why}")

    # -- orbits, support --------------------------------------------------------------
    def _engines(self, n: int) -> tuple[str, ...]:
        return ("general", "packed") if packed_reduced_refusal(self.spec, n) is None else ("general",)

    def orbits(self) -> None:
        if symmetry_reason(self.spec) is not None:
            self.report.refused["symmetry"] += 1
            return
        for n, full in self.explicit.items():
            for engine in self._engines(n):
                reduced = explore(self.spec, n, symmetry="orbits", engine=engine, max_states=self.budget)
                if reduced.partial:
                    self.report.skipped["orbits"] += 1
                    continue
                self.report.compared[f"orbits ({engine})"] += 1
                self._compare_orbits(n, full, reduced, engine)

    def _compare_orbits(self, n: int, full, reduced, engine: str) -> None:
        where = f"orbits ({engine}) at N={n}"
        if _verdicts(reduced) != _verdicts(full):
            self.disagree(f"{where}: {_diff(_verdicts(reduced), _verdicts(full))}")
        elif _lengths(reduced) != _lengths(full):
            self.disagree(f"{where}: trace lengths {_lengths(reduced)} != {_lengths(full)}")
        if reduced.concrete_states != full.states:
            self.disagree(f"{where}: {reduced.concrete_states} concrete states != {full.states}")
        for cx in reduced.counterexamples.values():
            if cx.name == "no_dead_transition":
                continue
            why = _replays(self.spec, n, cx)
            if why:
                self.disagree(f"{where}: the trace of {cx.name} {why}")
        if witness_reason(self.spec) is not None and not any("every queue is stepped" in x for x in reduced.notes):
            self.disagree(f"{where}: the table compares queues but the result has no note")

    def support(self) -> None:
        if symmetry_reason(self.spec) is not None:
            return
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
        for engine in self._engines(SUPPORT_N):
            self._support(cutoff, engine)

    def _support(self, cutoff: int, engine: str) -> None:
        top = explore(self.spec, SUPPORT_N, symmetry="support", engine=engine, max_states=self.budget)
        if top.partial:
            self.report.skipped["support"] += 1
            return
        if top.reduction != "support" or top.cutoff != cutoff:
            self.disagree(f"support at N={SUPPORT_N} ran {top.reduction} with cutoff {top.cutoff}, expected {cutoff}")
            return
        self.report.compared[f"support ({engine})"] += 1
        wanted = _verdicts(top)
        for n, full in self.explicit.items():
            if n >= cutoff and _verdicts(full) != wanted:
                self.disagree(
                    f"support (exact from N={cutoff}) against explicit N={n}: {_diff(wanted, _verdicts(full))}"
                )
        at_cutoff = explore(self.spec, cutoff, symmetry="support", engine=engine, max_states=self.budget)
        if not at_cutoff.partial and _verdicts(at_cutoff) != wanted:
            self.disagree(f"support at N={cutoff} and N={SUPPORT_N}: {_diff(_verdicts(at_cutoff), wanted)}")
        above = explore(self.spec, cutoff + 1, symmetry="orbits", engine=engine, max_states=self.budget)
        if above.partial:
            self.report.skipped["orbits above the cutoff"] += 1
        else:
            self.report.compared["support against orbits"] += 1
            if _verdicts(above) != wanted:
                self.disagree(f"support against orbits at N={cutoff + 1}: {_diff(wanted, _verdicts(above))}")
        for name, cx in top.counterexamples.items():
            if name != "no_dead_transition" and cx.trace.steps and (why := _replays(self.spec, SUPPORT_N, cx)):
                self.disagree(f"support at N={SUPPORT_N}: the trace of {name} {why}")

    # -- Z3 ------------------------------------------------------------------------------
    def proofs(self) -> None:
        """Z3 claims for every N: a proof must hold at every N searched, and a
        violation must come with a run that replays and breaks the property;
        the dead rows and the sub-formulas that matter are the explicit
        search's; each verdict neither proved nor violated is counted with why."""
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
        for proof in report.proofs:
            if proof.verdict.value in ("vacuous", "not applicable"):
                self.report.not_asked[f"{proof.kind}: {proof.verdict.value}"] += 1
            elif proof.verdict.value not in ("proved", "violated"):
                self.report.undecided[_why_undecided(proof)] += 1
        self.report.undecided_tables += any(p.verdict.value in _UNDECIDED for p in report.proofs)
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
            elif proof.searched and proof.name in {p.name for p in self.spec.properties}:
                self._no_violation_up_to(proof.name, proof.searched)
            if proof.verdict.value == "vacuous" and vacuous(self.spec, self._property(proof.name)) is None:
                self.disagree(f"z3 calls {proof.name} vacuous, yet the environment issues its events")
        self._dead_rows(report.get("no_dead_transition"))
        self._vacuity(report)

    def _property(self, name: str):
        return next(p for p in self.spec.properties if p.name == name)

    def _no_violation_up_to(self, name: str, searched: int) -> None:
        """ "No violation found for N = 1..K": the orbit search at K agrees."""
        if symmetry_reason(self.spec) is not None:
            return
        run = explore(self.spec, searched, symmetry="orbits", max_states=self.budget)
        if run.partial:
            self.report.skipped["orbits at prove's bound"] += 1
            return
        self.report.compared[f"z3 search bound (N={searched})"] += 1
        if run.verdict(name) == "fails":
            self.disagree(f"z3 found no violation of {name} for N = 1..{searched}; the orbit search at {searched} does")

    def _dead_rows(self, proof) -> None:
        if proof is None or not self.explicit:
            return
        self.report.compared["no_dead_transition"] += 1
        verdict = proof.verdict.value
        dead = {n: set(r.dead) for n, r in self.explicit.items()}
        if verdict == "proved" and any(dead.values()):
            n = min(k for k, v in dead.items() if v)
            self.disagree(f"z3 proved no_dead_transition, the explicit search at N={n} finds dead {sorted(dead[n])}")
        elif verdict == "bounded":
            for n in range(1, min(proof.searched or 0, max(dead)) + 1):
                if dead[n]:
                    self.disagree(f"z3 found every row firing for N = 1..{proof.searched}; at N={n}: {sorted(dead[n])}")
        elif verdict == "violated":
            named = set(re.findall(r"(\w+(?: from \w+)?) \((\d+) queues?\)", proof.message))
            for row, n in named:
                if int(n) in dead and row not in dead[int(n)]:
                    self.disagree(f"z3 says {row} never fires with {n} queue(s); the explicit search fires it")
            if not named and 1 in dead and not dead[1]:
                self.disagree(f"z3 says a row never fires for any N ({proof.message}); every row fires at N=1")
        elif verdict == "not applicable" and not (self.spec.restricted or self.spec.unissued_rows):
            self.disagree("z3 says no_dead_transition is not applicable in an environment that leaves nothing out")

    def _vacuity(self, report) -> None:
        """``non_vacuous`` against witnesses found by the explicit search at
        N = 1..4: a sub-formula Z3 calls vacuous for every N has none; one
        that matters, when Z3 says its witnesses need at most 4 queues, has one."""
        from virtio_notifier_spec.proofs.hygiene import _own
        from virtio_notifier_spec.proofs.vacuity import occurrences, strengthened

        proof = report.get("non_vacuous")
        if proof is None or proof.verdict.value not in ("proved", "violated") or not self.explicit:
            return
        late = proof.message.partition("proved after the witnesses were sought, not judged: ")[2].split(", ")
        proved = [
            p
            for p in self.spec.properties
            if p.expr is not None and (x := report.get(p.name)) and x.proved and p.name not in late
        ]
        candidates = [o for p in proved for o in occurrences(p)]
        if not candidates:
            return
        number = iter(range(10**6))
        variants = {id(o): [strengthened(o, v, next(number)) for v in o.values] for o in candidates}
        extra = tuple(p for ps in variants.values() for p in ps)
        witnessed: set[int] = set()
        for n in self.explicit:
            run = explore_general(dataclasses.replace(self.spec, properties=self.spec.properties + extra), n)
            witnessed |= {k for k, ps in variants.items() if any(p.name in run.counterexamples for p in ps)}
        self.report.compared["non_vacuous"] += 1
        by_text: dict[tuple[str, str], list] = {}
        for o in candidates:  # one text may occur twice in a property: the message names the text
            by_text.setdefault((o.prop.name, o.text), []).append(o)
        for (name, text), found in by_text.items():
            claimed = f"{name}: `{text}` can be replaced by" in proof.message
            if claimed and all(id(o) in witnessed for o in found):
                self.disagree(f"z3 calls {name}: `{text}` vacuous for every N; the explicit search needs it")
        found = re.search(r"witnesses with at most (\d+) queue", proof.message)
        if proof.proved and found and int(found.group(1)) <= max(self.explicit):
            for o in candidates:
                if id(o) not in witnessed and _own(self.spec, o):
                    self.disagree(f"z3 says {o.prop.name}: `{o.text}` matters; the explicit search finds no witness")

    # -- liveness ---------------------------------------------------------------------
    def liveness(self) -> None:
        """Each reduction against the whole graph, its lassos replayed."""
        from lassos import breaks

        from virtio_notifier_spec.scale.liveness import check_every, plans
        from virtio_notifier_spec.scale.symmetry import SymmetryError

        spec = self.spec
        if not spec.liveness:
            return
        full = {}
        for n in LIVE_SIZES:
            graph = state_graph(spec, n, max_states=self.budget)
            if graph.partial:
                self.report.skipped["liveness graph"] += 1
                break
            full[n] = check_graph(spec, graph)
            for name, failure in full[n].failures.items():
                self._lasso(breaks, spec, n, name, failure, "the whole graph")
        if not full:
            return
        self.report.compared["liveness (whole graph)"] += len(full)
        if symmetry_reason(spec) is not None:
            return
        chosen = plans(spec, "auto")
        try:
            plans(spec, True)
        except SymmetryError:
            self.report.refused["liveness under symmetry"] += 1
        runs = check_every(spec, tuple(full), symmetry="auto", max_states=self.budget)
        for run in runs:
            if run.partial:
                self.report.skipped["liveness reduced"] += 1
                continue
            n = run.queues
            for prop in spec.liveness:
                mode = chosen[prop.name]
                if mode == "none":
                    continue
                self.report.compared[f"liveness ({mode})"] += 1
                ours, theirs = run.verdict(prop.name), full[n].verdict(prop.name)
                if ours != theirs:
                    self.disagree(f"liveness {mode} at N={n}: {prop.name} {ours}, the whole graph {theirs}")
                elif prop.name in run.failures:  # a projection's lasso is one queue's, for every N
                    failure = run.failures[prop.name]
                    self._lasso(breaks, spec, len(failure.lasso.stem.start.queues), prop.name, failure, mode)

    def _lasso(self, breaks, spec, n, name, failure, where) -> None:
        prop = next(p for p in spec.liveness if p.name == name)
        fair = prop.kind is PropertyKind.LEADS_TO  # a recoverable state's stem ends anywhere: no promise to keep
        try:
            breaks(spec, n, name, failure, fair=fair)
        except AssertionError as exc:
            self.disagree(f"liveness ({where}) at N={n}: the lasso of {name} is no fair run that breaks it: {exc}")

    def spin_liveness(self, sizes: tuple[int, ...]) -> None:
        from virtio_notifier_spec.model.liveness import check_liveness
        from virtio_notifier_spec.scale.spin import spin_liveness

        if not self.spec.liveness:
            return
        for n in sizes:
            graph = state_graph(self.spec, n, max_states=self.budget)
            if graph.partial:
                continue
            ours = check_liveness(self.spec, n)
            with tempfile.TemporaryDirectory() as work:
                theirs = spin_liveness(self.spec, n, Path(work), timeout=120)
            if theirs.reason:
                self.report.skipped["spin liveness"] += 1
                continue
            self.report.compared["spin liveness"] += 1
            for name, verdict in theirs.verdicts.items():
                mine = ours.verdict(name)
                if (verdict == "vacuous") != (mine == "vacuous"):
                    self.disagree(f"spin liveness at N={n}: {name} {verdict}, the whole graph {mine}")
                if verdict in ("holds", "fails") and mine in ("holds", "fails") and verdict != mine:
                    self.disagree(f"spin liveness at N={n}: {name} {verdict}, the whole graph {mine}")

    # -- the environment ----------------------------------------------------------------
    def environment(self) -> None:
        spec = self.spec
        if not spec.unissued_events:
            return
        self.report.compared["environment"] += 1
        left_out = {row.name for row in spec.unissued_rows}
        for n, run in self.explicit.items():
            if left_out & set(run.fired):
                self.disagree(f"environment at N={n}: rows of events it does not issue fired")
            if run.rows != len(run.fired) + len(left_out):
                self.disagree(f"environment at N={n}: {run.rows} rows counted, the table has more")
            for prop in (*spec.properties, *spec.liveness):
                if vacuous(spec, prop) is not None and prop.name in run.checks and run.verdict(prop.name) != "vacuous":
                    self.disagree(f"environment at N={n}: {prop.name} is vacuous but says {run.verdict(prop.name)}")

    # -- several devices -----------------------------------------------------------------
    def system(self, config_path: Path) -> None:
        from soundness.naive_system import naive_system

        from virtio_notifier_spec.scale.config import load_config
        from virtio_notifier_spec.scale.system import System, _Search, slots_refusal

        config = load_config(config_path)
        if symmetry_reason(self.spec) is not None or slots_refusal(self.spec, config) is not None:
            self.report.refused["system"] += 1
            return
        system = System(config, self.spec)
        search = _Search(system, self.budget, None)
        _, partial = search.run()
        naive = naive_system(config, self.spec, self.budget)
        if partial or naive is None:
            self.report.skipped["system"] += 1
            return
        self.report.compared["system"] += 1
        ours = set(search.parent)
        if ours != naive.states:
            self.disagree(
                f"system: {len(ours)} sorted states, the naive composition {len(naive.states)} "
                f"({len(ours - naive.states)} only in the system, {len(naive.states - ours)} only in the naive one)"
            )
        mine = {name for name in system.checks if name in search.found}
        if mine != naive.failing:
            self.disagree(f"system: fails {sorted(mine)}, the naive composition {sorted(naive.failing)}")

    # -- SPIN ---------------------------------------------------------------------------
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


_UNDECIDED = ("unknown", "unknown: not inductive", "bounded")


def _why_undecided(proof) -> str:
    """Why Z3 (and the search behind it) left a verdict undecided, in a few words."""
    verdict = proof.verdict.value
    if verdict == "unknown: not inductive":
        return f"{proof.kind}: not inductive, no violation found up to N = {proof.searched}"
    if verdict == "bounded":
        return f"{proof.name}: holds up to N = {proof.searched}, the queues are not independent"
    if verdict == "unknown":
        if "gave up" in proof.message or "timeout" in proof.message or "canceled" in proof.message:
            return f"{proof.kind}: the solver gave up (a {Z3_TIMEOUT_MS // 1000} s query)"
        if proof.name == "non_vacuous":
            if "not judged until" in proof.message:
                return "non_vacuous: waits for a property left undecided"
            return "non_vacuous: a sub-formula neither witnessed nor shown vacuous"
        return f"{proof.kind}: unknown ({proof.message[:60]})"
    return f"{proof.kind}: {verdict}"


def _diff(a: dict[str, str], b: dict[str, str]) -> str:
    return ", ".join(f"{k}: {a.get(k)} vs {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))


def same_records(variant: Spec, flat: Spec) -> str | None:
    """How a variant's records differ from the same table written out whole, or None."""
    fields = ("variables", "events", "transitions", "properties", "liveness", "profiles", "slots", "states", "start")
    for name in fields:
        if getattr(variant, name) != getattr(flat, name):
            return f"extends: the variant's {name} differ from the table written out whole"
    return None


def check_table(table, folder: Path, label: str, **options) -> Report:
    """The differential check of a drawn table (``fragment_tables.Table``)
    and of what it carries: its environment, its configuration of several
    devices, the same table written out whole when it extends another."""
    from soundness.fragment_tables import write

    path = write(table, folder)
    env = table.env or "adversarial"
    spec = load_spec(path, env=env)
    flat = load_spec(folder / "flat.toml", env=env) if "flat.toml" in table.files else None
    config = folder / "config.toml" if table.config is not None else None
    report = differential(spec, label, config=config, flat=flat, **options)
    report.shapes.update(table.shapes)
    return report


def differential(
    spec: Spec,
    label: str = "table",
    *,
    proofs: bool = False,
    spin: bool = False,
    spin_sizes: tuple[int, ...] = (1, 2),
    budget: int = BUDGET,
    liveness: bool = True,
    config: Path | None = None,
    flat: Spec | None = None,
) -> Report:
    """Compare every engine on ``spec`` (see the module). ``budget``: the
    states a search may store before it is skipped as undecided; ``config``:
    a configuration of several devices of this table; ``flat``: the same
    table as ``spec`` (a variant that extends another) written out whole."""
    check = _Check(spec, label, budget)
    if flat is not None:
        check.report.compared["extends"] += 1
        if (why := same_records(spec, flat)) is not None:
            check.disagree(why)
    check.run_explicit()
    check.packed()
    check.orbits()
    check.support()
    check.environment()
    if proofs:
        check.proofs()
    if liveness:
        check.liveness()
    if config is not None:
        check.system(config)
    if spin:
        check.spin(spin_sizes)
        check.spin_liveness(spin_sizes)
    return check.report
