"""Model-driven testing: run a generated suite against an implementation,
measure coverage, and report every distinct failure.

Each test starts a fresh device and sends its events one by one; after
each, the implementation's observation is checked against every state the
table allows. The first step that no state explains fails the test. With
``resync`` (``drive --all``) the test then goes on from the state the
implementation says it has (the table's state with every observed field
written in, as ``check --all`` and ``replay`` do), and each later
divergence of the test is counted apart.

A generated test is a run of the table from one fresh device. When the
implementation's observations leave the oracle unsure that the next event
is one the environment can issue (the implementation took another choice
the table allows, such as which queues vhost serves, and does not report
enough to tell), the test stops there: *not applicable*, neither passed nor
failed. A generated test is never failed for an event the environment
cannot issue.

After the suite, failures are grouped by symptom (:mod:`.symptom`: the
first variable that differs and the row the spec fires there, or the kind
of failure, its event and row). For each group the shortest failing test
is shrunk, keeping its symptom: first to a shortest run of the table to the
state before the failing event, then by removing events one at a time. The
sequence reported is then run again from a fresh start (a new child
process); one that does not fail there is reported as such, and shrinking
starts again from fresh starts (an implementation that keeps state across
tests could otherwise be blamed on a sequence that passes).

With ``skip_repeats`` a test that begins with the events of a test that
crashed (or timed out) is not run: it would only crash again at the same
place, at the cost of a new child. ``should_stop`` (a deadline) is asked
before each test and each group; Ctrl-C stops the drive too, and the report
keeps what was decided.

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
(5, 'set_host_notifier: state differs where the spec fires vhost_take_refused_on_pio')
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Hashable, Iterator
from dataclasses import dataclass, field

from virtio_notifier_spec.model.machine import Instance
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.schema import Spec

from .fields import FieldTally, ObservationCoverage, declared_fields, judged_fields
from .graph import StateGraph, graph_for, shortest_run
from .implementation import Implementation, ImplementationFailure, StrayReply
from .judge import Expected, allowed_steps, explain
from .observation import Mismatch, Observation, ObservationError, ObservationReader
from .symptom import DIVERGENCE, START, Causes, Symptom
from .testgen import Suite, TestCase, starts_by_limited
from .tracefile import dumps
from .visible import visible

SHRINK_TRIES = 400
SHRINK_SECONDS = 30.0  # for one group
SHRINK_TOTAL_SECONDS = 120.0  # for every group together; later groups are reported as they failed
JUMP_NODES = 50_000  # the shortest-path jump's search budget
MEMO_BYTES = 64 << 20  # the step memo's budget (an estimate), then forgotten
#: Failures after which the child is started again: a test that begins with
#: the same events would meet them again (``skip_repeats``).
RESTARTING = ("crash", "timeout")
INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class Failure:
    """A failing run: the events up to and including the failing one.
    ``resynced``: found after an earlier divergence of the same test, from
    the state the implementation said it had."""

    limited: bool
    events: tuple[Instance, ...]
    kind: str  # divergence, crash, timeout, protocol, error, observation, not_enabled
    symptom: Symptom
    detail: str = ""
    mismatches: tuple[Mismatch, ...] = ()
    expected: tuple[Expected, ...] = ()
    stderr: str = ""
    resynced: bool = False

    @property
    def step(self) -> int:
        """The failing step: 0 is start, n the n-th event."""
        return len(self.events)

    def describe(self) -> str:
        return TestCase("", "", self.limited, self.events).describe().rstrip("; ")

    def lines(self) -> list[str]:
        where = "start" if not self.events else f"step {self.step}, {self.events[-1]}"
        out = [f"{where}: {self.kind}" + (f": {visible(self.detail)}" if self.detail else "")]
        if self.resynced:
            out.append("(after an earlier divergence of the same test, from the state the implementation reported)")
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
            "after_resync": self.resynced,
        }


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run: its failures in order (after the first, only with re-sync),
    and why it stopped before its end without failing (not applicable)."""

    failures: tuple[Failure, ...] = ()
    stopped: str | None = None

    @property
    def first(self) -> Failure | None:
        return self.failures[0] if self.failures else None


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: TestCase
    failure: Failure | None
    later: tuple[Failure, ...] = ()  # divergences after re-syncing (drive --all)
    stopped: str | None = None  # not applicable from this step on


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
    """The failures that share one symptom, and its shortest sequence.

    ``tests``: the tests whose first failure it is; ``later``: the tests in
    which it came after an earlier divergence (re-sync). ``reproduced``:
    the shortest sequence failed again, with the same symptom, from a fresh
    start (False: it did not, see ``note``; None: not tried, the drive was
    stopped). ``also``: the other variables that differ in its failures.
    """

    symptom: Symptom
    tests: tuple[str, ...]
    failure: Failure  # the shortest failing test of the group, as it failed
    shortest: Failure  # shrunk from it
    tries: int
    reproduced: bool | None
    note: str = ""
    later: tuple[str, ...] = ()
    also: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return len(self.tests)

    def to_json(self) -> dict:
        return {
            "symptom": self.symptom.to_json(),
            "summary": self.symptom.text(),
            "also_differ": list(self.also),
            "tests": self.count,
            "test_names": list(self.tests),
            "after_resync": len(self.later),
            "after_resync_test_names": list(self.later),
            "shortest": self.shortest.to_json(),
            "shrunk_from_length": len(self.failure.events),
            "shrink_tries": self.tries,
            "reproduced_from_fresh_start": self.reproduced,
            "note": self.note,
        }

    def text_lines(self) -> list[str]:
        named = self.tests or self.later
        names = ", ".join(named[:5]) + (", ..." if len(named) > 5 else "")
        if self.reproduced is None:
            status = "not confirmed: the drive stopped first"
        else:
            status = "confirmed from a fresh start" if self.reproduced else "NOT reproduced from a fresh start"
        counted = f"{self.count} test(s)"
        if self.later:
            counted += f", and {len(self.later)} after an earlier divergence"
        also = f" (also: {', '.join(self.also)})" if self.also else ""
        out = [
            f"{self.symptom.text()}{also}: {counted} ({names})",
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
    """What a drive found. ``skipped``: tests not run, each with why
    (``max_failures``, a crash it would repeat, the drive stopped);
    ``stopped``: why the drive stopped before its end (``timeout``,
    ``interrupted``), None when it ran to the end."""

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
    env: str = "unrestricted"
    skip_reasons: tuple[str, ...] = ()  # one per skipped test
    stopped: str | None = None
    resync: bool = False

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.failure is not None]

    @property
    def not_applicable(self) -> list[CaseResult]:
        return [r for r in self.results if r.failure is None and r.stopped is not None]

    @property
    def later(self) -> int:
        """Failures found after re-syncing, counted apart from the tests' first."""
        return sum(len(r.later) for r in self.results)

    @property
    def unobserved(self) -> bool:
        """Nothing the table can check was ever observed, and that was required."""
        return self.require_observation and self.observation.nothing and bool(self.results)

    @property
    def partly_observed(self) -> bool:
        """Some field was observed at some steps only, no field was declared,
        and full observation was required."""
        return self.require_observation and self.observation.declared is None and bool(self.observation.partly)

    @property
    def ok(self) -> bool:
        return self.verdict == "conforms"

    @property
    def verdict(self) -> str:
        if self.failed:
            return "diverges"
        if self.unobserved:
            return "unobserved"
        if self.partly_observed:
            return "partly_observed"
        if self.stopped is not None:
            return "interrupted" if self.stopped == INTERRUPTED else "incomplete"
        return "conforms"

    @property
    def groups_complete(self) -> bool:
        """Whether every symptom the suite shows is listed: no test was left
        unrun by --max-failures or a stop (tests not run because they repeat
        a crash repeat a listed symptom)."""
        return self.stopped is None and not self.not_run().get("max_failures")

    @property
    def shrunk(self) -> Failure | None:
        """The shortest sequence of the first group."""
        return self.groups[0].shortest if self.groups else None

    @property
    def shrunk_from(self) -> Failure | None:
        return self.groups[0].failure if self.groups else None

    def not_run(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for why in self.skip_reasons:
            found[why] = found.get(why, 0) + 1
        return found

    def to_json(self) -> dict:
        first = self.groups[0] if self.groups else None
        return {
            "implementation": self.implementation,
            "variant": self.variant,
            "env": self.env,
            "queues": self.queues,
            "seed": self.seed,
            "verdict": self.verdict,
            "stopped": self.stopped,
            "tests": {
                "run": len(self.results),
                "events": sum(len(r.failure.events if r.failure else r.case.events) for r in self.results),
                "failed": len(self.failed),
                "not_applicable": len(self.not_applicable),
                "after_resync": self.later,
                "skipped": len(self.skipped),
                "not_run": self.not_run(),
                "by_kind": self.counts,
            },
            "coverage": self.coverage.to_json(),
            "observation_coverage": self.observation.to_json(),
            "note": self.note,
            "groups": [g.to_json() for g in self.groups],
            "groups_complete": self.groups_complete,
            "first_failure": None
            if first is None
            else {
                **first.shortest.to_json(),
                "shrunk_from_length": len(first.failure.events),
                "shrink_tries": first.tries,
                "reproduced_from_fresh_start": first.reproduced,
            },
        }

    def title(self) -> str:
        tour = "orbits of the queues" if self.coverage.reduction == "orbits" else "every state"
        return (
            f"drive {visible(self.implementation)} against {self.variant} in the {self.env} environment, "
            f"{self.queues} queue(s), seed {self.seed}, tour of {tour}"
        )

    def text(self) -> str:
        by_kind = ", ".join(f"{k} {n}" for k, n in self.counts.items())
        tests = (
            f"tests: {len(self.results)} run, {len(self.results) - len(self.failed) - len(self.not_applicable)} "
            f"passed, {len(self.failed)} failed"
        )
        if self.not_applicable:
            tests += f", {len(self.not_applicable)} not applicable"
        for why, n in self.not_run().items():
            tests += f", {n} not run ({_NOT_RUN.get(why, why)})"
        lines = [self.title(), tests + (f" ({by_kind})" if by_kind else ""), self.coverage.text()]
        lines.append(self.observation.text())
        props = self.observation.properties_text()
        if props:
            lines.append(props)
        if self.not_applicable:
            lines.append(
                f"not applicable: {len(self.not_applicable)} test(s) stopped before their end, neither passed nor "
                "failed: the implementation's observations leave it unsure that the next event is one the "
                "environment can issue to it (it took another choice the table allows, e.g. which queues vhost "
                "serves; reporting that field lets the oracle test from its own fresh device)"
            )
        if self.stopped is not None:
            what = "interrupted" if self.stopped == INTERRUPTED else f"stopped at --{self.stopped}"
            lines.append(f"{what}: what was decided before is reported; the tests not run have no verdict")
        if self.note:
            lines.append(f"note: {self.note}")
        if self.groups:
            later = f", and {self.later} after an earlier divergence (re-synced)" if self.later else ""
            lines.append(f"FAILS: {len(self.groups)} distinct symptom(s) in {len(self.failed)} failing test(s){later}")
            capped = self.not_run().get("max_failures", 0)
            if capped:  # a symptom only the tests not run show is not listed: say so, never imply the list is whole
                lines.append(
                    f"the list may be incomplete: {capped} test(s) not run after --max-failures, and a symptom only "
                    "they show is not listed (without --max-failures every test runs and every symptom is listed)"
                )
            for n, group in enumerate(self.groups, 1):
                first, *rest = group.text_lines()
                lines += [f"[{n}] {first}", *rest]
        elif self.unobserved:
            lines.append(
                "FAILS: the implementation observed nothing the table can check, so no test could fail "
                "(report fields under `observed`, or pass --allow-unobserved)"
            )
        elif self.partly_observed:
            names = ", ".join(f for f, _, _ in self.observation.partly)
            lines.append(
                f"FAILS: {names} observed at some steps only: the oracle cannot tell a field the implementation "
                "stopped observing from one it never had (declare the fields it observes, in the hello or with "
                "--observe, or pass --allow-unobserved)"
            )
        elif self.stopped is not None:
            lines.append("no failure before the drive stopped")
        else:
            lines.append("conforms: every test passed" + (" that ran to its end" if self.not_applicable else ""))
        return "\n".join(lines)


_NOT_RUN = {
    "max_failures": "after --max-failures; without it they run",
    "repeats": "they begin with a sequence that crashed the implementation; --all runs them",
    "timeout": "the drive stopped at --timeout",
    INTERRUPTED: "the drive was interrupted",
}


class _Failed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.kind)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class _Judged:
    """One step judged: the states after it (re-synced ones after a
    divergence), rows fired, pairs covered, the observation's fields, and
    what differs (empty: it conforms)."""

    states: frozenset[State]
    fired: tuple[tuple[int, str], ...]
    keys: tuple
    full: frozenset[str]
    seen: frozenset[str]
    mismatches: tuple[Mismatch, ...] = ()
    expected: tuple[Expected, ...] = ()


class Driver:
    """Runs tests against one implementation and keeps the coverage.

    ``graph`` (from :func:`~.graph.graph_for`) decides what a covered pair
    is; by default every concrete state. ``declared``: the fields the
    implementation observes (None: what it says in its hello, if it says).
    ``resync``: a test goes on after a divergence."""

    def __init__(
        self,
        spec: Spec,
        queues: int,
        impl: Implementation,
        graph: StateGraph | None = None,
        *,
        declared: Collection[str] | None = None,
        resync: bool = False,
    ) -> None:
        self.spec = spec
        self.queues = queues
        self.impl = impl
        self.graph = graph or graph_for(spec, queues, False)
        self.machine = self.graph.machine
        self.starts = starts_by_limited(self.machine)
        self.causes = Causes(spec)
        self.resync = resync
        self.declared: tuple[str, ...] | None = None if declared is None else tuple(declared)
        self._declaration_read = declared is not None
        self.declaration_error: str | None = None
        self.observations = self._reader()
        self.tally = FieldTally()
        self.pairs: set[Hashable] = set()
        self.row_pairs: set[tuple[str, str]] = set()
        self.rows: set[str] = set()
        self.observed: set[str] = set()
        self.strays: list[StrayReply] = []  # late replies to runs before the current one
        self.case_runs: list[int] = []  # the implementation's run numbers the last test used
        self._memo: dict = {}
        self._memo_cost = 0
        self._entry_cost = 300 + 100 * queues

    @property
    def judged(self) -> frozenset[str]:
        return judged_fields(self.spec, self.declared)

    def _reader(self) -> ObservationReader:
        return ObservationReader(self.spec, self.queues, judged=self.judged, required=self.declared)

    def _declaration(self) -> None:
        """Read the fields the implementation declared in its hello (once, after its first start)."""
        if self._declaration_read:
            return
        said = getattr(self.impl, "observes", None)
        if said is None:
            return
        self._declaration_read = True
        try:
            self.declared = declared_fields(self.spec, list(said), "hello.observes")
        except SpecError as exc:
            self.declaration_error = f"hello.observes: {exc.message}"
            return
        self.observations = self._reader()
        self._memo.clear()
        self._memo_cost = 0

    # -- one test -------------------------------------------------------------
    def run(self, limited: bool, events: tuple[Instance, ...], *, cover: bool = True) -> Failure | None:
        """Run one test; its first failure, None when it passes (or stops,
        not applicable). A late reply to an earlier run is kept in
        ``strays`` and the test is run again, once."""
        return self.execute(limited, events, cover=cover).first

    def execute(self, limited: bool, events: tuple[Instance, ...], *, cover: bool = True) -> RunResult:
        """Run one test: every failure (more than one only with re-sync),
        or why it stopped early."""
        self.case_runs = []
        for _ in range(2):
            try:
                return self._run(limited, events, cover)
            except StrayReply as stray:
                if self.case_runs and stray.run == self.case_runs[-1]:
                    return RunResult((self.failure(limited, events[: stray.step], "protocol", stray.detail, stray),))
                self.strays.append(stray)
        return RunResult((self.failure(limited, (), "protocol", "late replies to earlier runs, twice in a row"),))

    def failure(
        self,
        limited: bool,
        events: tuple[Instance, ...],
        kind: str,
        detail: str = "",
        exc: ImplementationFailure | None = None,
        enabled: tuple[State, ...] | None = None,
    ) -> Failure:
        """A failure that is not a divergence, with its symptom: the kind,
        the event, the row the spec fires there (from ``enabled``, or the
        states the table reaches by the events before)."""
        if not events:
            return Failure(limited, (), kind, self.causes.failure(kind, START), detail, stderr=_stderr(exc))
        inst = events[-1]
        if enabled is None:
            before = self.spec_states(limited, events[:-1])
            enabled = tuple(s for s in sorted(before) if self.machine.enabled(s, inst))
        fired = []
        if enabled:
            choices = self.machine.step(enabled[0], inst).choices
            if choices:
                fired = [(q, row.letter, row.name) for q, row in choices[0].fired]
        symptom = self.causes.failure(kind, inst.event.name, fired)
        return Failure(limited, events, kind, symptom, detail, stderr=_stderr(exc))

    def _digest(self, raw: object) -> bytes | None:
        try:
            return hashlib.blake2b(dumps(raw), digest_size=16).digest()
        except TypeError:  # not JSON: the observation reader says why
            return None

    def _remember(self, key: tuple, value: object) -> None:
        self._memo_cost += self._entry_cost
        if self._memo_cost > MEMO_BYTES:
            self._memo.clear()
            self._memo_cost = self._entry_cost
        self._memo[key] = value

    def _start(self, limited: bool, raw: object) -> _Judged:
        run = getattr(self.impl, "current_run", None)
        if isinstance(run, int):
            self.case_runs.append(run)
        self._declaration()
        if self.declaration_error is not None:
            symptom = self.causes.observation("hello.observes")
            raise _Failed(Failure(limited, (), "observation", symptom, self.declaration_error))
        digest = self._digest(raw)
        key = ("start", limited, digest)
        known = self._memo.get(key) if digest is not None else None
        if known is not None:
            return known
        obs = self._observe(raw, (), limited, start=True)
        starts = self.starts[limited]
        states = frozenset(s for s in starts if not obs.mismatches(s, s, None))
        judged = _Judged(states, (), (), obs.full, obs.seen)
        if not states:
            mismatches = tuple(obs.mismatches(starts[0], starts[0], None))
            resynced = frozenset(obs.patch(s) for s in starts)
            judged = _Judged(resynced, (), (), obs.full, obs.seen, mismatches)
        if digest is not None:
            self._remember(key, judged)
        return judged

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

    def _observe(self, raw: object, events: tuple[Instance, ...], limited: bool, *, start: bool = False) -> Observation:
        try:
            obs = self.observations.read(raw, "observed", start=start)
        except ObservationError as exc:
            detail = f"{exc.field}: {exc.message}"
            symptom = self.causes.observation(exc.field or "observed")
            raise _Failed(Failure(limited, events, "observation", symptom, detail)) from None
        self.observed |= obs.fields()
        return obs

    def _run(self, limited: bool, events: tuple[Instance, ...], cover: bool) -> RunResult:
        replies = self._replies(limited, events)
        failures: list[Failure] = []
        try:
            return self._steps(limited, events, cover, replies, failures)
        except _Failed as failed:
            return RunResult((*failures, _after(failed.failure, bool(failures))))
        finally:
            replies.close()

    def _steps(
        self, limited: bool, events: tuple[Instance, ...], cover: bool, replies: Iterator, failures: list[Failure]
    ) -> RunResult:
        try:
            raw = next(replies)
        except StrayReply:
            raise
        except ImplementationFailure as exc:
            return RunResult((self.failure(limited, (), exc.kind, exc.detail, exc),))
        start = self._start(limited, raw)
        self.tally.add(True, start.full, start.seen)
        if start.mismatches:
            symptom = self.causes.divergence(START, (), start.mismatches)
            failures.append(Failure(limited, (), DIVERGENCE, symptom, "the fresh device", start.mismatches))
            if not self.resync:
                return RunResult(tuple(failures))
        states = start.states
        last: dict[int, str] = {}
        for k, inst in enumerate(events):
            done = events[: k + 1]
            ekey = ("enabled", states, inst.id)
            enabled = self._memo.get(ekey)
            if enabled is None:
                enabled = tuple(pre for pre in sorted(states) if self.machine.enabled(pre, inst))
                self._remember(ekey, enabled)
            if len(enabled) < len(states):  # the environment may not issue it to this implementation
                why = "cannot" if not enabled else "may not"
                return RunResult(tuple(failures), f"step {k + 1}: the environment {why} issue {inst} here")
            try:
                raw = next(replies)
            except StrayReply:
                raise
            except ImplementationFailure as exc:
                found = self.failure(limited, done, exc.kind, exc.detail, exc, enabled)
                return RunResult((*failures, _after(found, bool(failures))))
            digest = self._digest(raw)
            key = (states, inst.id, digest)
            judged = self._memo.get(key) if digest is not None else None
            if judged is None:
                judged = self._judge(enabled, inst, raw, done, limited)
                if digest is not None:
                    self._remember(key, judged)
            self.tally.add(False, judged.full, judged.seen)
            if judged.mismatches:
                symptom = self.causes.divergence(
                    inst.event.name, [(e.queue, e.letter, e.transition) for e in judged.expected], judged.mismatches
                )
                found = Failure(limited, done, DIVERGENCE, symptom, "", judged.mismatches, judged.expected)
                failures.append(_after(found, bool(failures)))
                if not self.resync:
                    return RunResult(tuple(failures))
                states, last = judged.states, {}
                continue
            states = judged.states
            if cover:
                self.pairs.update(judged.keys)
                for q, name in judged.fired:
                    self.rows.add(name)
                    if q in last:
                        self.row_pairs.add((last[q], name))
            last = dict(judged.fired)
        return RunResult(tuple(failures))

    def _judge(self, enabled: tuple[State, ...], inst: Instance, raw: object, done, limited: bool) -> _Judged:
        """The step judged (see :class:`_Judged`), or raise the failure of an
        observation that does not fit the table."""
        obs = self._observe(raw, done, limited)
        steps = allowed_steps(self.machine, enabled, inst, obs)
        if not steps:
            mismatches, expected = explain(self.machine, enabled, inst, obs)
            resynced = frozenset(obs.patch(c.post) for p in enabled for c in self.machine.step(p, inst).choices)
            return _Judged(resynced, (), (), obs.full, obs.seen, mismatches, expected)
        posts = frozenset(choice.post for _, choice in steps)
        fired_now = {q: r.name for _, choice in steps for q, r in choice.fired}
        keys = tuple({self.graph.pair_key(pre, inst) for pre, _ in steps})
        return _Judged(posts, tuple(sorted(fired_now.items())), keys, obs.full, obs.seen)

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

    def fresh_run(self, limited: bool, events: tuple[Instance, ...]) -> RunResult:
        """Run from a fresh start: the implementation is closed first (a
        child process is started again)."""
        self.impl.close()
        return self.execute(limited, events, cover=False)

    def matching(self, result: RunResult, symptom: Symptom) -> Failure | None:
        return next((f for f in result.failures if f.symptom == symptom), None)

    def confirm(self, failure: Failure) -> bool:
        """Whether ``failure``'s run fails with its symptom from a fresh start."""
        return self.matching(self.fresh_run(failure.limited, failure.events), failure.symptom) is not None

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
        attempt = self.fresh_run if fresh else (lambda lim, ev: self.execute(lim, ev, cover=False))

        def same(candidate: tuple[Instance, ...]) -> Failure | None:
            return self.matching(attempt(best.limited, candidate), symptom)

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


def _after(failure: Failure, resynced: bool) -> Failure:
    if not resynced:
        return failure
    return Failure(
        failure.limited,
        failure.events,
        failure.kind,
        failure.symptom,
        failure.detail,
        failure.mismatches,
        failure.expected,
        failure.stderr,
        True,
    )


def _stderr(exc: ImplementationFailure | None) -> str:
    return exc.stderr if exc is not None else ""


def requests(events: tuple[Instance, ...]) -> list[tuple[str, dict]]:
    """The events as an implementation gets them: (name, arguments)."""
    return [(i.event.name, dict(i.args)) for i in events]


class _Prefixes:
    """Sequences that crashed the implementation, as a trie: does a test begin with one?"""

    def __init__(self) -> None:
        self.root: dict = {}

    def add(self, limited: bool, events: tuple[Instance, ...], name: str) -> None:
        node = self.root.setdefault(limited, {})
        for inst in events:
            node = node.setdefault(_step_key(inst.event.name, inst.args), {})
        node.setdefault(None, name)

    def find(self, limited: bool, events: tuple[Instance, ...]) -> str | None:
        return self._find(limited, (_step_key(i.event.name, i.args) for i in events))

    def find_requests(self, limited: bool, events) -> str | None:
        """The same for a run as the implementation gets it: (name, arguments)."""
        return self._find(limited, (_step_key(name, tuple(args.items())) for name, args in events))

    def _find(self, limited: bool, keys) -> str | None:
        node = self.root.get(limited)
        for key in keys:
            if node is None:
                return None
            if None in node:
                return node[None]
            node = node.get(key)
        return None if node is None else node.get(None)


def _step_key(name: str, args) -> tuple:
    return (name, tuple(sorted(args)))


def _group(
    driver: Driver, symptom: Symptom, members: list[tuple[str, Failure]], shrink: bool, seconds: float, confirm: bool
) -> FailureGroup:
    """Shrink a group's shortest failure and confirm it from a fresh start."""
    firsts = tuple(dict.fromkeys(name for name, f in members if not f.resynced))  # in the suite's order
    later = tuple(dict.fromkeys(name for name, f in members if f.resynced))
    # the shortest, the first of them in the suite's order (which puts the plain case, assign_ok=true, first)
    first = min(enumerate(f for _, f in members), key=lambda m: (m[1].resynced, len(m[1].events), m[0]))[1]
    also = driver.causes.also(symptom, [m for _, f in members for m in f.mismatches])
    if not confirm:
        return FailureGroup(symptom, firsts, first, first, 0, None, "", later, also)
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
    return FailureGroup(symptom, firsts, first, shortest, tries, reproduced, note, later, also)


def drive(
    spec: Spec,
    impl: Implementation,
    suite: Suite,
    *,
    max_failures: int | None = 10,
    shrink: bool = True,
    require_observation: bool = True,
    progress: Callable[[DriveProgress], None] | None = None,
    declared: Collection[str] | None = None,
    resync: bool = False,
    skip_repeats: bool = False,
    should_stop: Callable[[], str | None] | None = None,
) -> DriveReport:
    """Run ``suite`` against ``impl`` (stopping after ``max_failures``
    failing tests; None runs them all), then shrink and confirm the
    shortest failure of each symptom.

    ``require_observation``: an implementation that never reports a field
    the table can check fails (verdict ``unobserved``), and so does one
    that reports a field at some steps only without declaring what it
    observes (``partly_observed``). ``declared``: the fields it observes
    (default: what it declares itself, if it does). ``resync``: a test goes
    on after a divergence. ``skip_repeats``: a test that begins with the
    events of a test that crashed is not run. ``should_stop()`` returns a
    reason (``timeout``) to stop before the next test."""
    graph = suite.graph if suite.graph is not None else graph_for(spec, suite.queues, False)
    driver = Driver(spec, suite.queues, impl, graph, declared=declared, resync=resync)
    results: list[CaseResult] = []
    skipped: list[TestCase] = []
    reasons: list[str] = []
    failures = 0
    total = len(suite.cases)
    run_of: dict[int, int] = {}
    crashed = _Prefixes()
    stopped: str | None = None
    ask = should_stop or (lambda: None)

    def attribute(strays: list[StrayReply]) -> int:
        """Make each late reply a protocol failure of the test that sent the request."""
        added = 0
        for stray in strays:
            j = run_of.get(stray.run)
            if j is None or results[j].failure is not None:
                continue
            case = results[j].case
            failure = driver.failure(case.limited, case.events[: stray.step], "protocol", stray.detail, stray)
            results[j] = CaseResult(case, failure)
            added += 1
        strays.clear()
        return added

    def skip(case: TestCase, why: str) -> None:
        skipped.append(case)
        reasons.append(why)

    plan = getattr(impl, "plan", None)
    if plan is not None:  # the implementation may send the tests' requests ahead
        runs = ((suite.queues, case.limited, requests(case.events)) for case in suite.cases)
        if skip_repeats:  # not those that begin with a sequence that crashed it (learnt as the tests run)
            plan(runs, keep=lambda limited, events: crashed.find_requests(limited, events) is None)
        else:
            plan(runs)
    groups: tuple[FailureGroup, ...] = ()
    try:
        try:
            for n, case in enumerate(suite.cases):
                if stopped is None:
                    stopped = ask()
                if stopped is not None:
                    skip(case, stopped)
                    continue
                if max_failures is not None and failures >= max_failures:
                    skip(case, "max_failures")
                    continue
                if skip_repeats and crashed.find(case.limited, case.events) is not None:
                    skip(case, "repeats")
                    continue
                result = driver.execute(case.limited, case.events)
                for r in driver.case_runs:
                    run_of[r] = len(results)
                first = result.first
                results.append(CaseResult(case, first, result.failures[1:], result.stopped))
                for f in result.failures:
                    if f.kind in RESTARTING and f.events:  # a failing start may be a flake: it skips nothing
                        crashed.add(f.limited, f.events, case.name)
                failures += first is not None
                failures += attribute(driver.strays)
                if progress is not None:
                    progress(DriveProgress("tests", n + 1, total, failures))
        except KeyboardInterrupt:
            stopped = INTERRUPTED
            for case in suite.cases[len(results) + len(skipped) :]:
                skip(case, INTERRUPTED)
        impl.close()
        attribute(getattr(impl, "strays", []))
        groups, stopped = _groups(driver, results, shrink, progress, stopped, ask)
    finally:
        impl.close()
    counts: dict[str, int] = {}
    for r in results:
        counts[r.case.kind] = counts.get(r.case.kind, 0) + 1
    coverage = Coverage(
        len(driver.pairs & suite.keys) if suite.keys else len(driver.pairs),
        suite.reachable_pairs,
        len(driver.row_pairs & suite.row_pairs),
        len(suite.row_pairs),
        len(driver.rows),
        len(suite.rows),
        graph.reduction,
    )
    observation = driver.tally.coverage(spec, driver.declared, judged=driver.judged)
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
        spec.env,
        tuple(reasons),
        stopped,
        resync,
    )


def _groups(
    driver: Driver,
    results: list[CaseResult],
    shrink: bool,
    progress,
    stopped: str | None,
    ask: Callable[[], str | None],
) -> tuple[tuple[FailureGroup, ...], str | None]:
    """One group per symptom, each shrunk and confirmed while time allows
    (a stopped drive confirms nothing); and why the drive stopped, if it did."""
    by_symptom: dict[Symptom, list[tuple[str, Failure]]] = {}
    for r in results:
        for f in (r.failure, *r.later) if r.failure is not None else ():
            by_symptom.setdefault(f.symptom, []).append((r.case.name, f))
    order = sorted(by_symptom, key=lambda s: (min(len(f.events) for _, f in by_symptom[s]), s))
    deadline = time.monotonic() + SHRINK_TOTAL_SECONDS
    groups = []
    for n, symptom in enumerate(order):
        if stopped is None:
            stopped = ask()
        if progress is not None and stopped is None:
            progress(DriveProgress("shrinking", n, len(order), len(order)))
        left = min(SHRINK_SECONDS, deadline - time.monotonic())
        try:
            groups.append(_group(driver, symptom, by_symptom[symptom], shrink, left, stopped is None))
        except KeyboardInterrupt:
            stopped = INTERRUPTED
            groups.append(_group(driver, symptom, by_symptom[symptom], False, 0, False))
    groups.sort(key=lambda g: (len(g.shortest.events), g.symptom))
    return tuple(groups), stopped
