"""Model-driven testing: run a generated suite against an implementation,
measure coverage, and report every distinct failure.

Each test starts a fresh device and sends its events one by one; after
each, the implementation's observation is checked against every state the
table allows. The first step that no state explains fails the test.

After the suite, failures are grouped by symptom (:mod:`.symptom`: the row
the spec fires and the variable that differs, or the kind of failure and
its event). For each group the shortest failing test is shrunk, keeping
its symptom: first to a shortest run of the table to the state before the
failing event, then by removing events one at a time. The sequence
reported is then run again from a fresh start (a new child process); one
that does not fail there is reported as such, and shrinking starts again
from fresh starts (an implementation that keeps state across tests could
otherwise be blamed on a sequence that passes).

A step is judged once for each (allowed states, event, observation): the
tour's tests share their prefixes, so most steps are looked up, not judged
(the memo is bounded, and forgotten when full).

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.oracle.implementation import ModelImplementation
>>> from virtio_notifier_spec.oracle.testgen import generate
>>> spec = load_spec("resolved")
>>> report = drive(spec, ModelImplementation(load_spec("proposal")), generate(spec, 1, walks=0))
>>> report.ok, report.shrunk.describe()
(False, 'start(limited=false); set_host_notifier(queue=0, assign=true, assign_ok=false)')
>>> len(report.groups), report.groups[0].symptom.text()
(5, 'set_host_notifier: the spec fires vhost_take_refused_on_pio; handler, state, vhost_fd differ')
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field

from virtio_notifier_spec.model.machine import Instance
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec

from .graph import StateGraph, graph_for, shortest_run
from .implementation import Implementation, ImplementationFailure, StrayReply
from .judge import Expected, allowed_steps, explain
from .observation import Mismatch, ObservationCoverage, ObservationError, ObservationReader, checkable_fields
from .symptom import DIVERGENCE, Symptom, divergence_symptom
from .testgen import Suite, TestCase, starts_by_limited
from .tracefile import dumps
from .visible import visible

SHRINK_TRIES = 400
SHRINK_SECONDS = 30.0  # for one group
SHRINK_TOTAL_SECONDS = 120.0  # for every group together; later groups are reported as they failed
JUMP_NODES = 50_000  # the shortest-path jump's search budget
MEMO_BYTES = 64 << 20  # the step memo's budget (an estimate), then forgotten


@dataclass(frozen=True, slots=True)
class Failure:
    """A failing run: the events up to and including the failing one."""

    limited: bool
    events: tuple[Instance, ...]
    kind: str  # divergence, not_enabled, crash, timeout, protocol, error, observation
    detail: str = ""
    mismatches: tuple[Mismatch, ...] = ()
    expected: tuple[Expected, ...] = ()
    stderr: str = ""

    @property
    def step(self) -> int:
        """The failing step: 0 is start, n the n-th event."""
        return len(self.events)

    @property
    def symptom(self) -> Symptom:
        event = self.events[-1].event.name if self.events else "start"
        if self.kind != DIVERGENCE:
            return Symptom(self.kind, event)
        return divergence_symptom(event, [(e.queue, e.letter, e.transition) for e in self.expected], self.mismatches)

    def describe(self) -> str:
        return TestCase("", "", self.limited, self.events).describe().rstrip("; ")

    def lines(self) -> list[str]:
        where = "start" if not self.events else f"step {self.step}, {self.events[-1]}"
        out = [f"{where}: {self.kind}" + (f": {visible(self.detail)}" if self.detail else "")]
        if self.expected:
            out.append("the spec fires: " + ", ".join(str(e) for e in self.expected))
        out += [str(m) for m in self.mismatches]
        if self.stderr.strip():
            out.append("stderr (last lines):")
            out += ["  " + visible(x) for x in self.stderr.strip().splitlines()[-15:]]
        return out

    def to_json(self) -> dict:
        return {
            "limited": self.limited,
            "events": [{"event": i.event.name, "args": dict(i.args)} for i in self.events],
            "sequence": self.describe(),
            "kind": self.kind,
            "detail": self.detail,
            "symptom": self.symptom.to_json(),
            "expected_transitions": [
                {"queue": e.queue, "letter": e.letter, "transition": e.transition} for e in self.expected
            ],
            "mismatches": [m.to_json() for m in self.mismatches],
            "stderr": self.stderr,
        }


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: TestCase
    failure: Failure | None


@dataclass(frozen=True)
class Coverage:
    pairs: int
    reachable_pairs: int
    row_pairs: int
    reachable_row_pairs: int
    rows: int
    all_rows: int
    reduction: str = "none"

    def to_json(self) -> dict:
        return {
            "state_event_pairs": [self.pairs, self.reachable_pairs],
            "pairs_are": "orbit_event_class" if self.reduction == "orbits" else "state_event",
            "consecutive_row_pairs": [self.row_pairs, self.reachable_row_pairs],
            "rows": [self.rows, self.all_rows],
        }

    def text(self) -> str:
        def pct(a: int, b: int) -> str:
            return f"{a}/{b} ({100 * a / b:.1f}%)" if b else "0/0"

        unit = "(orbit, event) pairs" if self.reduction == "orbits" else "(state, event) pairs"
        return (
            f"coverage: {unit} {pct(self.pairs, self.reachable_pairs)}, "
            f"consecutive row pairs {pct(self.row_pairs, self.reachable_row_pairs)}, "
            f"rows {pct(self.rows, self.all_rows)}"
        )


@dataclass(frozen=True)
class FailureGroup:
    """The failing tests that share one symptom, and its shortest sequence.

    ``reproduced``: the shortest sequence failed again, with the same
    symptom, from a fresh start (False: it did not, see ``note``).
    """

    symptom: Symptom
    tests: tuple[str, ...]
    failure: Failure  # the shortest failing test of the group, as it failed
    shortest: Failure  # shrunk from it
    tries: int
    reproduced: bool
    note: str = ""

    @property
    def count(self) -> int:
        return len(self.tests)

    def to_json(self) -> dict:
        return {
            "symptom": self.symptom.to_json(),
            "summary": self.symptom.text(),
            "tests": self.count,
            "test_names": list(self.tests),
            "shortest": self.shortest.to_json(),
            "shrunk_from_length": len(self.failure.events),
            "shrink_tries": self.tries,
            "reproduced_from_fresh_start": self.reproduced,
            "note": self.note,
        }

    def text_lines(self) -> list[str]:
        names = ", ".join(self.tests[:5]) + (", ..." if self.count > 5 else "")
        status = "confirmed from a fresh start" if self.reproduced else "NOT reproduced from a fresh start"
        out = [
            f"{self.symptom.text()}: {self.count} test(s) ({names})",
            f"  shortest failing sequence ({len(self.shortest.events)} event(s), shrunk from "
            f"{len(self.failure.events)} in {self.tries} tries; {status}):",
            "    " + self.shortest.describe(),
        ]
        out += ["    " + x for x in self.shortest.lines()]
        if self.note:
            out.append("  note: " + self.note)
        return out


@dataclass(frozen=True)
class DriveProgress:
    """Where a drive is: ``phase`` is ``generating`` (the suite), ``tests`` or ``shrinking``."""

    phase: str
    done: int
    total: int
    failed: int


@dataclass(frozen=True)
class DriveReport:
    implementation: str
    variant: str
    queues: int
    seed: int
    results: tuple[CaseResult, ...]
    skipped: tuple[TestCase, ...]
    coverage: Coverage
    groups: tuple[FailureGroup, ...] = ()
    observation: ObservationCoverage = field(default_factory=lambda: ObservationCoverage((), ()))
    counts: dict = field(default_factory=dict)
    require_observation: bool = True
    note: str | None = None

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.failure is not None]

    @property
    def unobserved(self) -> bool:
        """Nothing the table can check was ever observed, and that was required."""
        return self.require_observation and self.observation.nothing and bool(self.results)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unobserved

    @property
    def verdict(self) -> str:
        if self.failed:
            return "diverges"
        return "unobserved" if self.unobserved else "conforms"

    @property
    def shrunk(self) -> Failure | None:
        """The shortest sequence of the first group."""
        return self.groups[0].shortest if self.groups else None

    @property
    def shrunk_from(self) -> Failure | None:
        return self.groups[0].failure if self.groups else None

    def to_json(self) -> dict:
        first = self.groups[0] if self.groups else None
        return {
            "implementation": self.implementation,
            "variant": self.variant,
            "queues": self.queues,
            "seed": self.seed,
            "verdict": self.verdict,
            "tests": {
                "run": len(self.results),
                "events": sum(len(r.failure.events if r.failure else r.case.events) for r in self.results),
                "failed": len(self.failed),
                "skipped": len(self.skipped),
                "by_kind": self.counts,
            },
            "coverage": self.coverage.to_json(),
            "observation_coverage": self.observation.to_json(),
            "note": self.note,
            "groups": [g.to_json() for g in self.groups],
            "first_failure": None
            if first is None
            else {
                **first.shortest.to_json(),
                "shrunk_from_length": len(first.failure.events),
                "shrink_tries": first.tries,
                "reproduced_from_fresh_start": first.reproduced,
            },
        }

    def text(self) -> str:
        by_kind = ", ".join(f"{k} {n}" for k, n in self.counts.items())
        tour = "orbits of the queues" if self.coverage.reduction == "orbits" else "every state"
        lines = [
            f"drive {visible(self.implementation)} against {self.variant}, {self.queues} queue(s), "
            f"seed {self.seed}, tour of {tour}",
            f"tests: {len(self.results)} run, {len(self.results) - len(self.failed)} passed, "
            f"{len(self.failed)} failed"
            + (f", {len(self.skipped)} not run (stopped early; --all runs them)" if self.skipped else "")
            + f" ({by_kind})",
            self.coverage.text(),
            self.observation.text(),
        ]
        if self.note:
            lines.append(f"note: {self.note}")
        if self.groups:
            lines.append(f"FAILS: {len(self.groups)} distinct symptom(s) in {len(self.failed)} failing test(s)")
            for n, group in enumerate(self.groups, 1):
                first, *rest = group.text_lines()
                lines += [f"[{n}] {first}", *rest]
        elif self.unobserved:
            lines.append(
                "FAILS: the implementation observed nothing the table can check, so no test could fail "
                "(report fields under `observed`, or pass --allow-unobserved)"
            )
        else:
            lines.append("conforms: every test passed")
        return "\n".join(lines)


class _Failed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.kind)
        self.failure = failure


class Driver:
    """Runs tests against one implementation and keeps the coverage.

    ``graph`` (from :func:`~.graph.graph_for`) decides what a covered pair
    is; by default every concrete state."""

    def __init__(self, spec: Spec, queues: int, impl: Implementation, graph: StateGraph | None = None) -> None:
        self.spec = spec
        self.queues = queues
        self.impl = impl
        self.graph = graph or graph_for(spec, queues, False)
        self.machine = self.graph.machine
        self.starts = starts_by_limited(self.machine)
        self.observations = ObservationReader(spec, queues)
        self.pairs: set[Hashable] = set()
        self.row_pairs: set[tuple[str, str]] = set()
        self.rows: set[str] = set()
        self.observed: set[str] = set()
        self.strays: list[StrayReply] = []  # late replies to runs before the current one
        self.case_runs: list[int] = []  # the implementation's run numbers the last test used
        self._memo: dict = {}
        self._memo_cost = 0
        self._entry_cost = 300 + 100 * queues

    # -- one test -------------------------------------------------------------
    def run(self, limited: bool, events: tuple[Instance, ...], *, cover: bool = True) -> Failure | None:
        """Run one test; None when it passes. A late reply to an earlier run
        is kept in ``strays`` and the test is run again, once."""
        self.case_runs = []
        for _ in range(2):
            try:
                return self._run(limited, events, cover)
            except _Failed as failed:
                return failed.failure
            except StrayReply as stray:
                if self.case_runs and stray.run == self.case_runs[-1]:
                    return Failure(limited, events[: stray.step], "protocol", stray.detail, stderr=stray.stderr)
                self.strays.append(stray)
        return Failure(limited, (), "protocol", "late replies to earlier runs, twice in a row")

    def _digest(self, raw: object) -> bytes | None:
        try:
            return hashlib.blake2b(dumps(raw), digest_size=16).digest()
        except TypeError:  # not JSON: the observation reader says why
            return None

    def _remember(self, key: tuple, value: tuple) -> None:
        self._memo_cost += self._entry_cost
        if self._memo_cost > MEMO_BYTES:
            self._memo.clear()
            self._memo_cost = self._entry_cost
        self._memo[key] = value

    def _start(self, limited: bool, raw: object) -> frozenset[State]:
        run = getattr(self.impl, "current_run", None)
        if isinstance(run, int):
            self.case_runs.append(run)
        digest = self._digest(raw)
        key = ("start", limited, digest)
        known = self._memo.get(key) if digest is not None else None
        if known is not None:
            return known
        obs = self._observe(raw, (), limited)
        starts = self.starts[limited]
        states = frozenset(s for s in starts if not obs.mismatches(s, s, None))
        if not states:
            mismatches = tuple(obs.mismatches(starts[0], starts[0], None))
            raise _Failed(Failure(limited, (), DIVERGENCE, "the fresh device", mismatches))
        if digest is not None:
            self._remember(key, states)
        return states

    def _replies(self, limited: bool, events: tuple[Instance, ...]) -> Iterator[object]:
        """The implementation's observations: after start, then after each
        event (pipelined when it has a ``session``)."""
        session = getattr(self.impl, "session", None)
        if session is not None:
            yield from session(self.queues, limited, requests(events))
            return
        yield self.impl.start(self.queues, limited)
        for inst in events:
            yield self.impl.event(inst.event.name, dict(inst.args))

    def _observe(self, raw: object, events: tuple[Instance, ...], limited: bool):
        try:
            obs = self.observations.read(raw, "observed")
        except ObservationError as exc:
            raise _Failed(Failure(limited, events, "observation", f"{exc.field}: {exc.message}")) from None
        self.observed |= obs.fields()
        return obs

    def _run(self, limited: bool, events: tuple[Instance, ...], cover: bool) -> Failure | None:
        replies = self._replies(limited, events)
        try:
            return self._steps(limited, events, cover, replies)
        finally:
            replies.close()

    def _steps(self, limited: bool, events: tuple[Instance, ...], cover: bool, replies: Iterator) -> Failure | None:
        try:
            raw = next(replies)
        except StrayReply:
            raise
        except ImplementationFailure as exc:
            return Failure(limited, (), exc.kind, exc.detail, stderr=exc.stderr)
        states = self._start(limited, raw)
        last: dict[int, str] = {}
        for k, inst in enumerate(events):
            done = events[: k + 1]
            ekey = ("enabled", states, inst.id)
            enabled = self._memo.get(ekey)
            if enabled is None:
                enabled = tuple(pre for pre in sorted(states) if self.machine.enabled(pre, inst))
                self._remember(ekey, enabled)
            if not enabled:  # generated tests never do this; shrinking checks first
                return Failure(limited, done, "not_enabled", f"the spec cannot issue {inst} here")
            try:
                raw = next(replies)
            except StrayReply:
                raise
            except ImplementationFailure as exc:
                return Failure(limited, done, exc.kind, exc.detail, stderr=exc.stderr)
            digest = self._digest(raw)
            key = (states, inst.id, digest)
            judged = self._memo.get(key) if digest is not None else None
            if judged is None:
                judged = self._judge(enabled, inst, raw, done, limited)
                if digest is not None:
                    self._remember(key, judged)
            states, fired_now, keys = judged
            if cover:
                self.pairs.update(keys)
                for q, name in fired_now:
                    self.rows.add(name)
                    if q in last:
                        self.row_pairs.add((last[q], name))
            last = dict(fired_now)
        return None

    def _judge(self, enabled: tuple[State, ...], inst: Instance, raw: object, done, limited: bool) -> tuple:
        """(allowed states after the step, rows fired by queue, pairs covered),
        or raise the failure."""
        obs = self._observe(raw, done, limited)
        steps = allowed_steps(self.machine, enabled, inst, obs)
        if not steps:
            mismatches, expected = explain(self.machine, enabled, inst, obs)
            raise _Failed(Failure(limited, done, DIVERGENCE, "", mismatches, expected))
        posts = {choice.post for _, choice in steps}
        fired_now = {q: r.name for _, choice in steps for q, r in choice.fired}
        keys = {self.graph.pair_key(pre, inst) for pre, _ in steps}
        return frozenset(posts), tuple(sorted(fired_now.items())), tuple(keys)

    # -- shrinking and confirming ------------------------------------------------
    def valid(self, limited: bool, events: tuple[Instance, ...]) -> bool:
        """Whether the table's environment can issue ``events`` in order."""
        return bool(self.spec_states(limited, events, stop_empty=True))

    def spec_states(self, limited: bool, events: tuple[Instance, ...], *, stop_empty: bool = False) -> frozenset[State]:
        states = set(self.starts[limited])
        for inst in events:
            states = {
                c.post for s in states if self.machine.enabled(s, inst) for c in self.machine.step(s, inst).choices
            }
            if stop_empty and not states:
                break
        return frozenset(states)

    def fresh_run(self, limited: bool, events: tuple[Instance, ...]) -> Failure | None:
        """Run from a fresh start: the implementation is closed first (a
        child process is started again)."""
        self.impl.close()
        return self.run(limited, events, cover=False)

    def confirm(self, failure: Failure) -> bool:
        """Whether ``failure``'s run fails with its symptom from a fresh start."""
        again = self.fresh_run(failure.limited, failure.events)
        return again is not None and again.symptom == failure.symptom

    def shrink(
        self, failure: Failure, budget: int = SHRINK_TRIES, seconds: float = SHRINK_SECONDS, *, fresh: bool = False
    ) -> tuple[Failure, int]:
        """A shorter run failing with the same symptom, found by (1) jumping
        by a shortest run to the state before the failing event, (2)
        deleting events one at a time; at most ``budget`` runs and about
        ``seconds``; ``fresh`` runs each candidate from a fresh start.
        Returns ``(failure, tries)``."""
        best, tries = failure, 0
        if not best.events:
            return best, 0
        deadline = time.monotonic() + seconds
        symptom = failure.symptom
        attempt = self.fresh_run if fresh else (lambda lim, ev: self.run(lim, ev, cover=False))

        def same(candidate: tuple[Instance, ...]) -> Failure | None:
            found = attempt(best.limited, candidate)
            return found if found is not None and found.symptom == symptom else None

        before = self.spec_states(best.limited, best.events[:-1])
        search = shortest_run(self.graph, self.starts[best.limited], before, max_nodes=JUMP_NODES)
        if search.events is not None and len(search.events) + 1 < len(best.events):
            candidate = (*search.events, best.events[-1])
            if self.valid(best.limited, candidate):
                tries += 1
                best = same(candidate) or best
        improved = True
        while improved and tries < budget and time.monotonic() < deadline:
            improved = False
            for i in range(len(best.events)):
                candidate = best.events[:i] + best.events[i + 1 :]
                if not self.valid(best.limited, candidate):
                    continue
                tries += 1
                found = same(candidate)
                if found is not None and len(found.events) < len(best.events):
                    best, improved = found, True
                    break
                if tries >= budget or time.monotonic() > deadline:
                    break
        return best, tries


def requests(events: tuple[Instance, ...]) -> list[tuple[str, dict]]:
    """The events as an implementation gets them: (name, arguments)."""
    return [(i.event.name, dict(i.args)) for i in events]


def _group(driver: Driver, symptom: Symptom, members: list[tuple[str, Failure]], shrink: bool, seconds: float):
    """Shrink a group's shortest failure and confirm it from a fresh start."""
    names = tuple(name for name, _ in members)  # in the suite's order
    first = min(members, key=lambda m: (len(m[1].events), m[1].describe()))[1]
    shortest, tries = driver.shrink(first, seconds=seconds) if shrink and seconds > 0 else (first, 0)
    note = ""
    reproduced = driver.confirm(shortest)
    if not reproduced and shortest is not first and driver.confirm(first):
        note = (
            "the sequence first shrunk failed only after earlier runs in the same process; "
            "shrunk again, each candidate from a fresh start"
        )
        again, more = driver.shrink(first, seconds=seconds, fresh=True)
        tries += more
        shortest = again
        reproduced = driver.confirm(again)
    elif not reproduced:
        shortest = first
        reproduced = driver.confirm(first)
        if not reproduced:
            note = (
                "this failure did not happen again from a fresh start: the implementation is flaky, "
                "or keeps state from earlier tests in the same process"
            )
    return FailureGroup(symptom, names, first, shortest, tries, reproduced, note)


def drive(
    spec: Spec,
    impl: Implementation,
    suite: Suite,
    *,
    max_failures: int | None = 10,
    shrink: bool = True,
    require_observation: bool = True,
    progress: Callable[[DriveProgress], None] | None = None,
) -> DriveReport:
    """Run ``suite`` against ``impl`` (stopping after ``max_failures``
    failing tests; None runs them all), then shrink and confirm the
    shortest failure of each symptom.

    ``require_observation``: an implementation that never reports a field
    the table can check fails (verdict ``unobserved``)."""
    graph = suite.graph if suite.graph is not None else graph_for(spec, suite.queues, False)
    driver = Driver(spec, suite.queues, impl, graph)
    results: list[CaseResult] = []
    skipped: list[TestCase] = []
    failures = 0
    total = len(suite.cases)
    run_of: dict[int, int] = {}

    def attribute(strays: list[StrayReply]) -> int:
        """Make each late reply a protocol failure of the test that sent the request."""
        added = 0
        for stray in strays:
            j = run_of.get(stray.run)
            if j is None or results[j].failure is not None:
                continue
            case = results[j].case
            failure = Failure(case.limited, case.events[: stray.step], "protocol", stray.detail, stderr=stray.stderr)
            results[j] = CaseResult(case, failure)
            added += 1
        strays.clear()
        return added

    plan = getattr(impl, "plan", None)
    if plan is not None:  # the implementation may send the tests' requests ahead
        plan((suite.queues, case.limited, requests(case.events)) for case in suite.cases)
    try:
        for n, case in enumerate(suite.cases):
            if max_failures is not None and failures >= max_failures:
                skipped.append(case)
                continue
            failure = driver.run(case.limited, case.events)
            for r in driver.case_runs:
                run_of[r] = len(results)
            results.append(CaseResult(case, failure))
            failures += failure is not None
            failures += attribute(driver.strays)
            if progress is not None:
                progress(DriveProgress("tests", n + 1, total, failures))
        impl.close()
        attribute(getattr(impl, "strays", []))
        groups = _groups(driver, results, shrink, progress)
    finally:
        impl.close()
    counts: dict[str, int] = {}
    for r in results:
        counts[r.case.kind] = counts.get(r.case.kind, 0) + 1
    coverage = Coverage(
        len(driver.pairs),
        suite.reachable_pairs,
        len(driver.row_pairs & suite.row_pairs),
        len(suite.row_pairs),
        len(driver.rows),
        len(suite.rows),
        graph.reduction,
    )
    checkable = checkable_fields(spec)
    observation = ObservationCoverage(tuple(f for f in checkable if f in driver.observed), checkable)
    return DriveReport(
        getattr(impl, "name", type(impl).__name__),
        spec.name,
        suite.queues,
        suite.seed,
        tuple(results),
        tuple(skipped),
        coverage,
        groups,
        observation,
        counts,
        require_observation,
        suite.note,
    )


def _groups(driver: Driver, results: list[CaseResult], shrink: bool, progress) -> tuple[FailureGroup, ...]:
    by_symptom: dict[Symptom, list[tuple[str, Failure]]] = {}
    for r in results:
        if r.failure is not None:
            by_symptom.setdefault(r.failure.symptom, []).append((r.case.name, r.failure))
    order = sorted(by_symptom, key=lambda s: (min(len(f.events) for _, f in by_symptom[s]), s))
    deadline = time.monotonic() + SHRINK_TOTAL_SECONDS
    groups = []
    for n, symptom in enumerate(order):
        if progress is not None:
            progress(DriveProgress("shrinking", n, len(order), len(order)))
        left = min(SHRINK_SECONDS, deadline - time.monotonic())
        groups.append(_group(driver, symptom, by_symptom[symptom], shrink, left))
    groups.sort(key=lambda g: (len(g.shortest.events), g.symptom))
    return tuple(groups)
