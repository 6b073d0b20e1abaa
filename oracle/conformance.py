"""Trace checking: replay an implementation's trace on the table and find
where it first diverges.

The checker streams: it holds the set of states the spec allows after the
lines read so far (one state for a deterministic table), never the trace.
Because the state space is small and traces repeat the same lines, each
(state set, line) pair is judged once and remembered: the hot loop is one
dictionary look-up per line. A line with a ``meta`` field (say, a
timestamp) is unique; it is parsed, stripped of ``meta`` and looked up in
that canonical form. The memo is bounded (``memo_limit`` entries, then
forgotten), so memory stays constant however long the trace.

A divergence names the line, the event, the rows the spec fires there (with
their letters), each observed field against its expected value, and a
short replayable example: the shortest run of the spec to the same state,
followed by the diverging line.

>>> import io
>>> lines = [b'{"format":"virtio-notifier-trace","version":1,"variant":"resolved","queues":1,"limited":false}\\n',
...          b'{"event":"set_status","args":{"value":"driver_ok","assign_ok":true},'
...          b'"observed":{"queues":[{"state":"deassigned"}]}}\\n']
>>> verdict = check_trace(io.BytesIO(b"".join(lines)), file="t.jsonl")
>>> verdict.ok, verdict.divergences[0].line, str(verdict.divergences[0].mismatches[0])
(False, 2, 'q0.state: expected assigned, observed deassigned')
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import Spec
from virtio_notifier_spec.spec.text import to_text

from .observation import KICK_EVENT, Mismatch, Observation, ObservationError, parse_observation
from .tracefile import (
    Header,
    Record,
    RecordReader,
    TraceError,
    decode_line,
    dumps,
    parse_header,
    record_json,
    trace_lines,
)

EXAMPLE_SEARCH_LIMIT = 200_000
MEMO_LIMIT = 100_000  # remembered (state set, line) pairs: bounds memory, about 50 MiB at most


@dataclass(frozen=True, slots=True)
class Expected:
    """A row the spec fires at the diverging step."""

    queue: int
    letter: str | None
    transition: str

    def __str__(self) -> str:
        if self.letter:
            return f"q{self.queue} {self.letter} ({self.transition})"
        return f"q{self.queue} {self.transition}"


@dataclass(frozen=True, slots=True)
class Divergence:
    """Where an implementation's trace leaves the spec."""

    line: int
    event: str
    args: dict
    expected: tuple[Expected, ...]
    mismatches: tuple[Mismatch, ...]
    not_enabled: str | None = None
    example: tuple[str, ...] | None = None

    def to_json(self) -> dict:
        return {
            "line": self.line,
            "event": self.event,
            "args": self.args,
            "not_enabled": self.not_enabled,
            "expected_transitions": [
                {"queue": e.queue, "letter": e.letter, "transition": e.transition} for e in self.expected
            ],
            "mismatches": [m.to_json() for m in self.mismatches],
            "example": list(self.example) if self.example is not None else None,
        }


@dataclass(frozen=True)
class Verdict:
    """The result of checking one trace."""

    file: str | None
    variant: str
    queues: int
    limited: bool
    events: int
    divergences: tuple[Divergence, ...]
    complete: bool = True  # False when the check stopped before the end of the trace
    memo: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.divergences

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "variant": self.variant,
            "queues": self.queues,
            "limited": self.limited,
            "events": self.events,
            "complete": self.complete,
            "verdict": "conforms" if self.ok else "diverges",
            "divergences": [d.to_json() for d in self.divergences],
        }


class _Done(Exception):
    pass


class TraceChecker:
    """Checks the lines of one trace against one table."""

    def __init__(
        self,
        spec: Spec,
        header: Header,
        *,
        file: str | None = None,
        max_divergences: int = 1,
        memo_limit: int = MEMO_LIMIT,
    ) -> None:
        self.spec = spec
        self.header = header
        self.file = file
        self.machine = Machine(spec, header.queues)
        self.reader = RecordReader(spec, header, file, self.machine)
        self.max_divergences = max_divergences
        self.memo_limit = memo_limit
        self.divergences: list[Divergence] = []
        self.sets: list[frozenset[State]] = []
        self.ids: dict[frozenset[State], int] = {}
        self.tables: list[dict[bytes, int]] = []
        self.parsed: dict[bytes, Record] = {}
        self.entries = 0
        self.spec_starts = self._spec_starts()
        self.start = self._intern(frozenset(self._observed_starts()))

    def _spec_starts(self) -> frozenset[State]:
        layout = self.machine.layout
        starts = self.machine.initial_states()
        if "limited" in layout.device:
            slot = layout.device.index("limited")
            starts = [s for s in starts if s.device[slot] == self.header.limited]
        return frozenset(starts)

    def _observed_starts(self) -> list[State]:
        starts = sorted(self.spec_starts)
        if self.header.observed is None:
            return starts
        try:
            obs = parse_observation(self.spec, self.header.queues, self.header.observed, "observed")
        except ObservationError as exc:
            raise TraceError(exc.message, file=self.file, line=1, field=exc.field) from None
        kept = [s for s in starts if not obs.mismatches(s, s, None)]
        if kept:
            return kept
        first = starts[0]
        self.divergences.append(Divergence(1, "start", {}, (), tuple(obs.mismatches(first, first, None))))
        return [obs.patch(first)]

    def _intern(self, states: frozenset[State]) -> int:
        sid = self.ids.get(states)
        if sid is None:
            sid = len(self.sets)
            self.ids[states] = sid
            self.sets.append(states)
            self.tables.append({})
        return sid

    # -- the hot loop -------------------------------------------------------
    def run(self, lines: Iterable[bytes]) -> Verdict:
        """Check every line after the header; stops at the
        ``max_divergences``-th divergence."""
        if len(self.divergences) >= self.max_divergences:
            return self._verdict(0, False)
        tables = self.tables
        sid = self.start
        number = 1
        complete = True
        try:
            for number, line in enumerate(lines, 2):
                nxt = tables[sid].get(line)
                if nxt is None:
                    nxt = self._judge(sid, line, number)
                sid = nxt
        except _Done:
            complete = False
        return self._verdict(number - 1, complete)

    def _verdict(self, events: int, complete: bool) -> Verdict:
        h = self.header
        return Verdict(
            self.file,
            self.spec.name,
            h.queues,
            h.limited,
            events,
            tuple(self.divergences),
            complete,
            {"state_sets": len(self.sets), "entries": self.entries},
        )

    # -- a line not seen before in this state set ----------------------------
    def _judge(self, sid: int, line: bytes, number: int) -> int:
        """Parse the line; judge it unless its canonical form (without
        ``meta``, which makes every line unique) was judged already."""
        doc = decode_line(line, file=self.file, number=number)
        key = line
        if isinstance(doc, dict) and "meta" in doc:
            del doc["meta"]
            key = dumps(doc)
            known = self.tables[sid].get(key)
            if known is not None:
                return known
        record = self.parsed.get(key)
        if record is None:
            record = self.reader.record(doc, number)
            self.parsed[key] = record
        inst, obs = record.instance, record.observation
        posts: set[State] = set()
        enabled = [pre for pre in sorted(self.sets[sid]) if self.machine.enabled(pre, inst)]
        kicked = inst.target if inst.event.name == KICK_EVENT else None
        for pre in enabled:
            for choice in self.machine.step(pre, inst).choices:
                if obs.empty or not obs.mismatches(pre, choice.post, kicked):
                    posts.add(choice.post)
        if posts:
            nid = self._intern(frozenset(posts))
            self._remember(sid, key, nid)
            return nid
        return self._diverge(sid, enabled, record, number, kicked)

    def _remember(self, sid: int, key: bytes, nid: int) -> None:
        self.entries += 1
        if self.entries > self.memo_limit:
            for table in self.tables:
                table.clear()
            self.parsed.clear()
            self.entries = 1
        self.tables[sid][key] = nid

    def _diverge(self, sid: int, enabled: list[State], record: Record, number: int, kicked: int | None) -> int:
        inst: Instance = record.instance
        obs: Observation = record.observation
        example = self._example(self.sets[sid], record)
        if not enabled:
            when = to_text(inst.event.when) if inst.event.when is not None else "never"
            divergence = Divergence(
                number,
                str(inst),
                dict(inst.args),
                (),
                (),
                not_enabled=f"the spec's environment cannot issue {inst.event.name} here: it needs {when}",
                example=example,
            )
            resync = [obs.patch(s) for s in sorted(self.sets[sid])]
        else:
            pre = enabled[0]
            choice = self.machine.step(pre, inst).choices[0]
            mismatches = tuple(obs.mismatches(pre, choice.post, kicked))
            divergence = Divergence(
                number,
                str(inst),
                dict(inst.args),
                expected_rows(inst, choice.fired, mismatches),
                mismatches,
                example=example,
            )
            resync = [obs.patch(c.post) for p in enabled for c in self.machine.step(p, inst).choices]
        self.divergences.append(divergence)
        if len(self.divergences) >= self.max_divergences:
            raise _Done
        return self._intern(frozenset(resync))

    def _example(self, targets: frozenset[State], record: Record) -> tuple[str, ...] | None:
        path = shortest_path(self.machine, self.spec_starts, targets)
        if path is None:
            return None
        header = Header(self.spec.name, self.header.queues, self.header.limited)
        return tuple(trace_lines(header, [*(record_json(i) for i in path), record.to_json()]))


def expected_rows(inst: Instance, fired, mismatches) -> tuple[Expected, ...]:
    """The rows worth naming: all for a one-queue event; for a device-wide
    one, those that do something or concern a mismatching queue."""
    fired = list(fired)
    if inst.target is None:
        named = {m.field.split(".")[0] for m in mismatches}
        fired = [(q, r) for q, r in fired if not r.quiet or f"q{q}" in named] or fired
    return tuple(Expected(q, r.letter, r.name) for q, r in fired)


def shortest_path(
    machine: Machine, starts: Iterable[State], targets: frozenset[State], limit: int = EXAMPLE_SEARCH_LIMIT
) -> list[Instance] | None:
    """The shortest list of events from one of ``starts`` to one of
    ``targets`` (breadth first, events in table order), or None."""
    parent: dict[State, tuple[State, Instance] | None] = {}
    frontier: deque[State] = deque()
    for s in sorted(starts):
        parent[s] = None
        frontier.append(s)
    while frontier:
        state = frontier.popleft()
        if state in targets:
            path = []
            while (link := parent[state]) is not None:
                state, inst = link
                path.append(inst)
            return path[::-1]
        for inst in machine.instances:
            if not machine.enabled(state, inst):
                continue
            for choice in machine.step(state, inst).choices:
                if choice.post not in parent:
                    parent[choice.post] = (state, inst)
                    frontier.append(choice.post)
                    if len(parent) > limit:
                        return None
    return None


def open_trace(path: str) -> IO[bytes]:
    """Open a trace file (``-`` is standard input) or raise TraceError."""
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise TraceError(f"cannot read the trace: {exc.strerror}", file=path) from None


def check_trace(
    stream: IO[bytes],
    *,
    file: str | None = None,
    spec: Spec | str | None = None,
    max_divergences: int = 1,
    memo_limit: int = MEMO_LIMIT,
) -> Verdict:
    """Check a whole trace read from ``stream``; ``spec`` (a Spec, a
    variant's name or a TOML path) overrides the header's variant."""
    first = stream.readline()
    if not first:
        raise TraceError("empty trace: line 1 must be the header", file=file, line=1)
    header = parse_header(first, file=file)
    table = spec if isinstance(spec, Spec) else load_spec(spec or header.variant)
    checker = TraceChecker(table, header, file=file, max_divergences=max_divergences, memo_limit=memo_limit)
    return checker.run(stream)


def divergence_text(verdict: Verdict, d: Divergence) -> str:
    """A divergence for people: where, what the spec fires, what differs, an example."""
    lines = [f"{verdict.file or 'trace'}:{d.line}: {d.event} diverges from {verdict.variant}"]
    if d.not_enabled:
        lines.append(f"  {d.not_enabled}")
    if d.expected:
        lines.append("  the spec fires: " + ", ".join(str(e) for e in d.expected))
    lines += [f"  {m}" for m in d.mismatches]
    if d.example is not None:
        lines.append(
            f"  shortest replayable example ({len(d.example) - 1} event(s); the table's shortest run "
            f"to the same state, then line {d.line}):"
        )
        lines += [f"    {x}" for x in d.example]
    lines.append(
        f"  lines 1-{d.line} of the trace replay it too (the example may not, if the implementation "
        "keeps state the table does not)"
    )
    return "\n".join(lines)
