"""Model-driven testing: run a generated suite against an implementation,
measure coverage, shrink the first failure.

Each test starts a fresh device and sends its events one by one; after
each, the implementation's observation is checked against every state the
table allows. The first step that no state explains fails the test. After
the suite, the shortest failure is shrunk: first to the shortest run of the
table to the same state followed by the failing event, then by removing
events one at a time while the test still fails.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.oracle.implementation import ModelImplementation
>>> from virtio_notifier_spec.oracle.testgen import generate
>>> spec = load_spec("resolved")
>>> report = drive(spec, ModelImplementation(load_spec("proposal")), generate(spec, 1, walks=0))
>>> report.ok, report.shrunk.describe()
(False, 'start(limited=false); set_status(value=driver_ok, assign_ok=false)')
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec

from .conformance import Expected, expected_rows, shortest_path
from .implementation import Implementation, ImplementationFailure
from .observation import KICK_EVENT, Mismatch, ObservationError, ObservationReader
from .testgen import Suite, TestCase, starts_by_limited

SHRINK_TRIES = 400
SHRINK_SECONDS = 30.0


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

    def describe(self) -> str:
        return TestCase("", "", self.limited, self.events).describe().rstrip("; ")

    def lines(self) -> list[str]:
        where = "start" if not self.events else f"step {self.step}, {self.events[-1]}"
        out = [f"{where}: {self.kind}" + (f": {self.detail}" if self.detail else "")]
        if self.expected:
            out.append("the spec fires: " + ", ".join(str(e) for e in self.expected))
        out += [str(m) for m in self.mismatches]
        if self.stderr.strip():
            out.append("stderr (last lines):")
            out += ["  " + x for x in self.stderr.strip().splitlines()[-15:]]
        return out

    def to_json(self) -> dict:
        return {
            "limited": self.limited,
            "events": [{"event": i.event.name, "args": dict(i.args)} for i in self.events],
            "sequence": self.describe(),
            "kind": self.kind,
            "detail": self.detail,
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

    def to_json(self) -> dict:
        return {
            "state_event_pairs": [self.pairs, self.reachable_pairs],
            "consecutive_row_pairs": [self.row_pairs, self.reachable_row_pairs],
            "rows": [self.rows, self.all_rows],
        }

    def text(self) -> str:
        def pct(a: int, b: int) -> str:
            return f"{a}/{b} ({100 * a / b:.1f}%)" if b else "0/0"

        return (
            f"coverage: (state, event) pairs {pct(self.pairs, self.reachable_pairs)}, "
            f"consecutive row pairs {pct(self.row_pairs, self.reachable_row_pairs)}, "
            f"rows {pct(self.rows, self.all_rows)}"
        )


@dataclass(frozen=True)
class DriveReport:
    implementation: str
    variant: str
    queues: int
    seed: int
    results: tuple[CaseResult, ...]
    skipped: tuple[TestCase, ...]
    coverage: Coverage
    shrunk: Failure | None
    shrunk_from: Failure | None
    shrink_tries: int
    counts: dict = field(default_factory=dict)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.failure is not None]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict:
        return {
            "implementation": self.implementation,
            "variant": self.variant,
            "queues": self.queues,
            "seed": self.seed,
            "verdict": "conforms" if self.ok else "diverges",
            "tests": {
                "run": len(self.results),
                "failed": len(self.failed),
                "skipped": len(self.skipped),
                "by_kind": self.counts,
            },
            "coverage": self.coverage.to_json(),
            "first_failure": None
            if self.shrunk is None
            else {
                **self.shrunk.to_json(),
                "shrunk_from_length": len(self.shrunk_from.events) if self.shrunk_from else None,
                "shrink_tries": self.shrink_tries,
            },
        }

    def text(self) -> str:
        by_kind = ", ".join(f"{k} {n}" for k, n in self.counts.items())
        lines = [
            f"drive {self.implementation} against {self.variant}, {self.queues} queue(s), seed {self.seed}",
            f"tests: {len(self.results)} run, {len(self.results) - len(self.failed)} passed, "
            f"{len(self.failed)} failed"
            + (f", {len(self.skipped)} not run (stopped early)" if self.skipped else "")
            + f" ({by_kind})",
            self.coverage.text(),
        ]
        if self.shrunk is not None:
            before = len(self.shrunk_from.events) if self.shrunk_from else len(self.shrunk.events)
            lines.append(
                f"FAILS: shortest failing sequence ({len(self.shrunk.events)} event(s), "
                f"shrunk from {before} in {self.shrink_tries} tries):"
            )
            lines.append("  " + self.shrunk.describe())
            lines += ["  " + x for x in self.shrunk.lines()]
        else:
            lines.append("conforms: every test passed")
        return "\n".join(lines)


class Driver:
    """Runs tests against one implementation and keeps the coverage."""

    def __init__(self, spec: Spec, queues: int, impl: Implementation) -> None:
        self.spec = spec
        self.queues = queues
        self.impl = impl
        self.machine = Machine(spec, queues)
        self.starts = starts_by_limited(self.machine)
        self.observations = ObservationReader(spec, queues)
        self.pairs: set[tuple[State, int]] = set()
        self.row_pairs: set[tuple[str, str]] = set()
        self.rows: set[str] = set()

    def _observe(self, raw: object, events: tuple[Instance, ...], limited: bool):
        try:
            return self.observations.read(raw, "observed")
        except ObservationError as exc:
            raise _Failed(Failure(limited, events, "observation", f"{exc.field}: {exc.message}")) from None

    def run(self, limited: bool, events: tuple[Instance, ...], *, cover: bool = True) -> Failure | None:
        """Run one test; None when it passes."""
        try:
            return self._run(limited, events, cover)
        except _Failed as failed:
            return failed.failure

    def _run(self, limited: bool, events: tuple[Instance, ...], cover: bool) -> Failure | None:
        machine = self.machine
        try:
            raw = self.impl.start(self.queues, limited)
        except ImplementationFailure as exc:
            return Failure(limited, (), exc.kind, exc.detail, stderr=exc.stderr)
        obs = self._observe(raw, (), limited)
        starts = self.starts[limited]
        states = {s for s in starts if not obs.mismatches(s, s, None)}
        if not states:
            mismatches = tuple(obs.mismatches(starts[0], starts[0], None))
            return Failure(limited, (), "divergence", "the fresh device", mismatches)
        last: dict[int, str] = {}
        for k, inst in enumerate(events):
            done = events[: k + 1]
            enabled = [pre for pre in sorted(states) if machine.enabled(pre, inst)]
            if not enabled:  # generated tests never do this; shrinking checks first
                return Failure(limited, done, "not_enabled", f"the spec cannot issue {inst} here")
            try:
                raw = self.impl.event(inst.event.name, dict(inst.args))
            except ImplementationFailure as exc:
                return Failure(limited, done, exc.kind, exc.detail, stderr=exc.stderr)
            obs = self._observe(raw, done, limited)
            kicked = inst.target if inst.event.name == KICK_EVENT else None
            posts: set[State] = set()
            fired_now: dict[int, str] = {}
            for pre in enabled:
                for choice in machine.step(pre, inst).choices:
                    if obs.empty or not obs.mismatches(pre, choice.post, kicked):
                        posts.add(choice.post)
                        fired_now.update({q: r.name for q, r in choice.fired})
                        if cover:
                            self.pairs.add((pre, inst.id))
            if not posts:
                pre = enabled[0]
                choice = machine.step(pre, inst).choices[0]
                mismatches = tuple(obs.mismatches(pre, choice.post, kicked))
                return Failure(
                    limited, done, "divergence", "", mismatches, expected_rows(inst, choice.fired, mismatches)
                )
            if cover:
                self.rows.update(fired_now.values())
                self.row_pairs.update((last[q], name) for q, name in fired_now.items() if q in last)
            last = fired_now
            states = posts
        return None

    # -- shrinking --------------------------------------------------------------
    def valid(self, limited: bool, events: tuple[Instance, ...]) -> bool:
        """Whether the table's environment can issue ``events`` in order."""
        states = set(self.starts[limited])
        for inst in events:
            states = {
                c.post for s in states if self.machine.enabled(s, inst) for c in self.machine.step(s, inst).choices
            }
            if not states:
                return False
        return True

    def spec_states(self, limited: bool, events: tuple[Instance, ...]) -> frozenset[State]:
        states = set(self.starts[limited])
        for inst in events:
            states = {
                c.post for s in states if self.machine.enabled(s, inst) for c in self.machine.step(s, inst).choices
            }
        return frozenset(states)

    def shrink(
        self, failure: Failure, budget: int = SHRINK_TRIES, seconds: float = SHRINK_SECONDS
    ) -> tuple[Failure, int]:
        """A shorter failing run, found by (1) jumping by the shortest path
        to the state before the failing event, (2) deleting events one at a
        time; at most ``budget`` runs and about ``seconds`` (an implementation
        that times out costs a timeout per run); ``(failure, tries)``."""
        best, tries = failure, 0
        deadline = time.monotonic() + seconds
        if not best.events:
            return best, 0
        before = self.spec_states(best.limited, best.events[:-1])
        path = shortest_path(self.machine, self.starts[best.limited], before)
        if path is not None and len(path) + 1 < len(best.events):
            tries += 1
            found = self.run(best.limited, (*path, best.events[-1]), cover=False)
            if found is not None:
                best = found
        improved = True
        while improved and tries < budget and time.monotonic() < deadline:
            improved = False
            for i in range(len(best.events)):
                candidate = best.events[:i] + best.events[i + 1 :]
                if not self.valid(best.limited, candidate):
                    continue
                tries += 1
                found = self.run(best.limited, candidate, cover=False)
                if found is not None and len(found.events) < len(best.events):
                    best, improved = found, True
                    break
                if tries >= budget or time.monotonic() > deadline:
                    break
        return best, tries


class _Failed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.kind)
        self.failure = failure


def drive(
    spec: Spec, impl: Implementation, suite: Suite, *, max_failures: int = 10, shrink: bool = True
) -> DriveReport:
    """Run ``suite`` against ``impl`` (stopping after ``max_failures``
    failing tests) and shrink the shortest failure."""
    driver = Driver(spec, suite.queues, impl)
    results: list[CaseResult] = []
    skipped: list[TestCase] = []
    failures = 0
    try:
        for case in suite.cases:
            if failures >= max_failures:
                skipped.append(case)
                continue
            failure = driver.run(case.limited, case.events)
            results.append(CaseResult(case, failure))
            failures += failure is not None
        first = min(
            (r.failure for r in results if r.failure is not None),
            key=lambda f: (len(f.events), f.describe()),
            default=None,
        )
        shrunk, tries = (None, 0)
        if first is not None:
            shrunk, tries = driver.shrink(first) if shrink else (first, 0)
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
    )
    return DriveReport(
        getattr(impl, "name", type(impl).__name__),
        spec.name,
        suite.queues,
        suite.seed,
        tuple(results),
        tuple(skipped),
        coverage,
        shrunk,
        first,
        tries,
        counts,
    )
