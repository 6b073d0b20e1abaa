"""Trace checking: replay an implementation's trace on the table and find
where it diverges.

The checker streams: it holds the set of states the spec allows after the
lines read so far (one state for a deterministic table), never the trace.
Each (state set, line) pair is judged once and remembered, so the hot loop
is one dictionary look-up per line. A line with a ``meta`` field (say, a
timestamp) is unique; it is parsed, stripped of ``meta`` and looked up in
that canonical form. What is remembered is bounded by an estimate of its
size (``memo_bytes``, then forgotten), so memory stays constant however long
the trace, and grows with the number of queues only through the size of a
state and of a line. A line is at most
:data:`~.tracefile.MAX_LINE_BYTES` long.

A divergence names the line, the event, the rows the spec fires there (with
their letters), each observed field against its expected value, and a
short replayable example: a shortest run of the spec to the same state,
followed by the diverging line. The example is searched for within a
budget (:func:`~.graph.shortest_run`, over orbits of the queues for a wide
device); when none is found the report says so and names lines 1-N of the
trace, which replay it too. Divergences are grouped by symptom
(:mod:`.symptom`), with the number of lines in each group.

>>> import io
>>> lines = [b'{"format":"virtio-notifier-trace","version":1,"variant":"resolved","queues":1,"limited":false}\\n',
...          b'{"event":"set_status","args":{"value":"driver_ok","assign_ok":true},'
...          b'"observed":{"queues":[{"state":"deassigned"}]}}\\n']
>>> verdict = check_trace(io.BytesIO(b"".join(lines)), file="t.jsonl")
>>> verdict.ok, verdict.divergences[0].line, str(verdict.divergences[0].mismatches[0])
(False, 2, 'q0.state: expected assigned, observed deassigned')
>>> verdict.groups[0].symptom.text()
'set_status: state differs where the spec fires b (assign_on_driver_ok)'
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import IO

from virtio_notifier_spec.model.machine import Instance
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import ADVERSARIAL
from virtio_notifier_spec.spec.schema import Spec
from virtio_notifier_spec.spec.text import to_text

from .fields import FieldTally, ObservationCoverage, declared_fields, judged_fields
from .graph import SEARCH_SECONDS, graph_for, shortest_run
from .host import HostMachine
from .judge import Expected, allowed_steps, explain
from .observation import Mismatch, Observation, ObservationError, ObservationReader
from .symptom import START, Causes, Symptom
from .tracefile import (
    Header,
    Record,
    RecordReader,
    TraceError,
    decode_line,
    dumps,
    parse_header,
    read_blocks,
    read_line,
    record_json,
    trace_lines,
)

MEMO_BYTES = 32 << 20  # what the memo may hold (an estimate), then it is forgotten
GROUP_LINES = 10  # line numbers kept for each group
EXAMPLE_NODE_BUDGET = 1_000_000  # divided by the number of queues: the example search's budget in nodes


_NO_SYMPTOM = Symptom("divergence", "")


@dataclass(frozen=True, slots=True)
class Divergence:
    """Where an implementation's trace leaves the spec. ``example`` is None
    when no example was searched for (the line's symptom was seen before,
    ``same_as`` names where) or found (``example_note`` says why)."""

    line: int
    event: str
    args: dict
    expected: tuple[Expected, ...]
    mismatches: tuple[Mismatch, ...]
    not_enabled: str | None = None
    example: tuple[str, ...] | None = None
    example_note: str | None = None
    same_as: int | None = None
    symptom: Symptom = _NO_SYMPTOM

    def to_json(self) -> dict:
        return {
            "line": self.line,
            "event": self.event,
            "args": self.args,
            "not_enabled": self.not_enabled,
            "symptom": self.symptom.to_json(),
            "expected_transitions": [
                {"queue": e.queue, "letter": e.letter, "transition": e.transition} for e in self.expected
            ],
            "mismatches": [m.to_json() for m in self.mismatches],
            "example": list(self.example) if self.example is not None else None,
            "example_note": self.example_note,
            "same_symptom_as_line": self.same_as,
        }


@dataclass(frozen=True)
class DivergenceGroup:
    """The lines of a trace that diverge with one symptom."""

    symptom: Symptom
    count: int
    lines: tuple[int, ...]  # the first GROUP_LINES of them
    first: Divergence  # the first, with its example

    def to_json(self) -> dict:
        return {
            "symptom": self.symptom.to_json(),
            "summary": self.symptom.text(),
            "lines": self.count,
            "first_lines": list(self.lines),
            "first": self.first.to_json(),
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
    groups: tuple[DivergenceGroup, ...] = ()
    observation: ObservationCoverage = field(default_factory=lambda: ObservationCoverage((), ()))
    require_observation: bool = False
    env: str = ADVERSARIAL
    stopped: str | None = None  # timeout, interrupted: the check stopped before the end of the trace

    @property
    def unobserved(self) -> bool:
        """No line observed anything, and an observation was required."""
        return self.require_observation and self.observation.nothing

    @property
    def ok(self) -> bool:
        return not self.divergences and not self.unobserved and self.stopped is None

    @property
    def verdict(self) -> str:
        if self.divergences:
            return "diverges"
        if self.unobserved:
            return "unobserved"
        if self.stopped is not None:
            return "interrupted" if self.stopped == "interrupted" else "incomplete"
        return "conforms"

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "variant": self.variant,
            "env": self.env,
            "stopped": self.stopped,
            "queues": self.queues,
            "limited": self.limited,
            "events": self.events,
            "complete": self.complete,
            "verdict": self.verdict,
            "observation_coverage": self.observation.to_json(),
            "groups": [g.to_json() for g in self.groups],
            "divergences": [d.to_json() for d in self.divergences],
        }


class _Done(Exception):
    pass


class TraceChecker:
    """Checks the lines of one trace against one table.

    ``max_divergences``: 1 stops at the first divergence; more (or None)
    reads the whole trace, resynchronising on the observed values after
    each divergence, lists that many and counts every one by symptom.
    ``declared``: the fields the trace observes on every line (default: its
    header's ``observes``; None: what each line gives). ``should_stop()``
    is asked between blocks of lines: a reason (``timeout``) stops the
    check there, keeping what it decided, and so does Ctrl-C.
    """

    def __init__(
        self,
        spec: Spec,
        header: Header,
        *,
        file: str | None = None,
        max_divergences: int | None = 1,
        memo_bytes: int = MEMO_BYTES,
        example_seconds: float = SEARCH_SECONDS,
        require_observation: bool = False,
        declared: tuple[str, ...] | None = None,
        should_stop=None,
    ) -> None:
        self.spec = spec
        self.header = header
        self.file = file
        self.machine = HostMachine(spec, header.queues)
        if declared is None and header.observes is not None:
            try:
                declared = declared_fields(spec, list(header.observes), "observes")
            except SpecError as exc:
                raise TraceError(exc.message, file=file, line=1, field="observes") from None
        self.declared = declared
        self.judged = judged_fields(spec, declared)
        self.reader = RecordReader(spec, header, file, self.machine)
        self.reader.observations = ObservationReader(spec, header.queues, judged=self.judged, required=declared)
        self.causes = Causes(spec)
        self.tally = FieldTally()
        self.kinds: dict[tuple[frozenset[str], frozenset[str]], int] = {}
        self.kind_counts: list[int] = []
        self.should_stop = should_stop or (lambda: None)
        self.stopped: str | None = None
        self.max_divergences = max_divergences
        self.memo_bytes = memo_bytes
        self.example_seconds = example_seconds
        self.require_observation = require_observation
        self.divergences: list[Divergence] = []
        self.groups: dict[Symptom, list] = {}  # symptom -> [count, lines, first divergence]
        self.observed: set[str] = set()
        self.sets: list[frozenset[State]] = []
        self.ids: dict[frozenset[State], int] = {}
        self.tables: list[dict[bytes, tuple[int, int]]] = []
        self.parsed: dict[bytes, Record] = {}
        self.entries = 0
        self.cost = 0
        self.flushes = 0
        self.entry_cost = 200 + 100 * header.queues
        self.graph = None
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
            if self.declared:
                raise TraceError(
                    "the header declares observed fields, so it must give the fresh device's `observed`",
                    file=self.file,
                    line=1,
                    field="observed",
                )
            return starts
        try:
            obs = self.reader.observations.read(self.header.observed, "observed", start=True)
        except ObservationError as exc:
            raise TraceError(exc.message, file=self.file, line=1, field=exc.field) from None
        self.observed |= obs.fields()
        self.tally.add(True, obs.full, obs.seen)
        kept = [s for s in starts if not obs.mismatches(s, s, None)]
        if kept:
            return kept
        first = starts[0]
        mismatches = tuple(obs.mismatches(first, first, None))
        self._record(Divergence(1, "start", {}, (), mismatches, symptom=self.causes.divergence(START, (), mismatches)))
        return [obs.patch(first)]

    def _kind(self, obs: Observation) -> int:
        """The index of the fields an observation gives (counted per line)."""
        key = (obs.full, obs.seen)
        fk = self.kinds.get(key)
        if fk is None:
            fk = self.kinds[key] = len(self.kind_counts)
            self.kind_counts.append(0)
        return fk

    def _intern(self, states: frozenset[State]) -> int:
        sid = self.ids.get(states)
        if sid is None:
            sid = len(self.sets)
            self.ids[states] = sid
            self.sets.append(states)
            self.tables.append({})
        return sid

    def _flush(self) -> None:
        """Forget every judged line and state set (the memo is full)."""
        self.sets.clear()
        self.ids.clear()
        self.tables.clear()
        self.parsed.clear()
        self.entries = 0
        self.cost = 0
        self.flushes += 1

    # -- the hot loop -------------------------------------------------------
    def run(self, lines: Iterable[bytes]) -> Verdict:
        """Check every line after the header (any iterable of lines, with
        or without their newline)."""
        lines = iter(lines)
        return self.run_blocks(iter(lambda: list(itertools.islice(lines, 4096)), []))

    def run_blocks(self, blocks: Iterable[Iterable[bytes]]) -> Verdict:
        """Check every line after the header, given a block of lines at a
        time (:func:`~.tracefile.read_blocks`)."""
        if self.divergences and self.max_divergences == 1:  # the header's observation diverged
            return self._verdict(0, False)
        tables = self.tables
        counts = self.kind_counts
        sid = self.start
        number = base = 2
        try:
            for block in blocks:
                for number, line in enumerate(block, base):
                    nxt = tables[sid].get(line)
                    if nxt is None:
                        nxt = self._judge(sid, line, number)
                    sid, fk = nxt
                    counts[fk] += 1
                base = number = number + 1
                self.stopped = self.should_stop()
                if self.stopped is not None:
                    return self._verdict(number - 2, False)
        except _Done:
            return self._verdict(number - 1, False)
        except KeyboardInterrupt:
            self.stopped = "interrupted"
            return self._verdict(number - 2, False)
        return self._verdict(number - 2, True)

    def _verdict(self, events: int, complete: bool) -> Verdict:
        h = self.header
        groups = tuple(DivergenceGroup(s, n, tuple(lines), first) for s, (n, lines, first) in self.groups.items())
        for (full, seen), fk in self.kinds.items():
            self.tally.add(False, full, seen, self.kind_counts[fk])
        self.kinds, self.kind_counts = {}, []
        return Verdict(
            self.file,
            self.spec.name,
            h.queues,
            h.limited,
            events,
            tuple(self.divergences),
            complete,
            {"state_sets": len(self.sets), "entries": self.entries, "flushes": self.flushes},
            groups,
            self.tally.coverage(self.spec, self.declared, judged=self.judged),
            self.require_observation,
            self.spec.env,
            self.stopped,
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
            self.observed |= record.observation.fields()
        states = self.sets[sid]
        inst, obs = record.instance, record.observation
        fk = self._kind(obs)
        enabled = [pre for pre in sorted(states) if self.machine.enabled(pre, inst)]
        posts = {choice.post for _, choice in allowed_steps(self.machine, enabled, inst, obs)}
        if not posts:
            return self._diverge(states, enabled, record, number), fk
        # the key, the record (its observation as text, and its checks), the state sets
        self.cost += 2 * len(key) + self.entry_cost * (2 + len(posts))
        if self.cost > self.memo_bytes:
            self._flush()
            return self._intern(frozenset(posts)), fk
        nid = self._intern(frozenset(posts))
        self.parsed[key] = record
        self.tables[sid][key] = (nid, fk)
        self.entries += 1
        return nid, fk

    def _diverge(self, states: frozenset[State], enabled: list[State], record: Record, number: int) -> int:
        inst: Instance = record.instance
        obs: Observation = record.observation
        if not enabled:
            when = to_text(inst.event.when) if inst.event.when is not None else "never"
            divergence = Divergence(
                number,
                str(inst),
                dict(inst.args),
                (),
                (),
                not_enabled=f"the spec's environment cannot issue {inst.event.name} here: it needs {when}",
                symptom=self.causes.failure("not_enabled", inst.event.name),
            )
            resync = [obs.patch(s) for s in sorted(states)]
        else:
            mismatches, expected = explain(self.machine, enabled, inst, obs)
            fired = [(e.queue, e.letter, e.transition) for e in expected]
            symptom = self.causes.divergence(inst.event.name, fired, mismatches)
            divergence = Divergence(number, str(inst), dict(inst.args), expected, mismatches, symptom=symptom)
            resync = [obs.patch(c.post) for p in enabled for c in self.machine.step(p, inst).choices]
        self._record(divergence, states, record)
        if self.max_divergences == 1:
            raise _Done
        self.cost += self.entry_cost * (1 + len(resync))
        if self.cost > self.memo_bytes:
            self._flush()
        return self._intern(frozenset(resync))

    def _record(self, divergence: Divergence, states: frozenset[State] | None = None, record=None) -> None:
        """Count the divergence in its group; the first of a group gets an example."""
        group = self.groups.get(divergence.symptom)
        if group is None:
            if states is not None:
                example, note = self._example(states, record)
                divergence = replace(divergence, example=example, example_note=note)
            self.groups[divergence.symptom] = [1, [divergence.line], divergence]
        else:
            group[0] += 1
            if len(group[1]) < GROUP_LINES:
                group[1].append(divergence.line)
            divergence = replace(divergence, same_as=group[2].line)
        if self.max_divergences is None or len(self.divergences) < self.max_divergences:
            self.divergences.append(divergence)

    def _example(self, targets: frozenset[State], record: Record) -> tuple[tuple[str, ...] | None, str | None]:
        if self.graph is None:
            self.graph = graph_for(self.spec, self.header.queues, "auto", self.machine)
        budget = max(1_000, EXAMPLE_NODE_BUDGET // self.header.queues)
        search = shortest_run(self.graph, self.spec_starts, targets, max_nodes=budget, seconds=self.example_seconds)
        if search.events is None:
            return None, f"no replayable example: {search.why_not}"
        header = Header(self.spec.name, self.header.queues, self.header.limited, env=self.spec.env)
        lines = trace_lines(header, [*(record_json(i) for i in search.events), record.to_json()])
        return tuple(lines), None


def open_trace(path: str) -> IO[bytes]:
    """Open a trace file (``-`` is standard input) or raise TraceError (a
    file that is not there) or OSError (standard input closed)."""
    if path == "-":
        if sys.stdin is None:
            raise OSError("cannot read the trace from standard input: it is closed")
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
    env: str | None = None,
    max_divergences: int | None = 1,
    memo_bytes: int = MEMO_BYTES,
    example_seconds: float = SEARCH_SECONDS,
    require_observation: bool = False,
    declared: tuple[str, ...] | str | None = None,
    should_stop=None,
) -> Verdict:
    """Check a whole trace read from ``stream``; ``spec`` (a Spec, a
    variant's name or a TOML path) overrides the header's variant, loaded
    in the environment profile ``env`` (default: the header's ``env``, else
    ``adversarial``; a Spec carries its own).
    ``require_observation``: a trace that observes nothing fails (verdict
    ``unobserved``); the command line asks for it unless told otherwise.
    ``declared``: the fields observed on every line (``--observe``;
    default: the header's ``observes``)."""
    first = read_line(stream, file=file, number=1)
    if not first:
        raise TraceError("empty trace: line 1 must be the header", file=file, line=1)
    header = parse_header(first, file=file)
    table = spec if isinstance(spec, Spec) else load_spec(spec or header.variant, env=env or header.env or ADVERSARIAL)
    if isinstance(declared, str):
        declared = declared_fields(table, declared, "--observe")
    checker = TraceChecker(
        table,
        header,
        file=file,
        max_divergences=max_divergences,
        memo_bytes=memo_bytes,
        example_seconds=example_seconds,
        require_observation=require_observation,
        declared=declared,
        should_stop=should_stop,
    )
    return checker.run_blocks(read_blocks(stream))


def divergence_text(verdict: Verdict, d: Divergence) -> str:
    """A divergence for people: where, what the spec fires, what differs, an example."""
    lines = [f"{verdict.file or 'trace'}:{d.line}: {d.event} diverges from {verdict.variant}"]
    if d.not_enabled:
        lines.append(f"  {d.not_enabled}")
    if d.expected:
        lines.append("  the spec fires: " + ", ".join(str(e) for e in d.expected))
    lines += [f"  {m}" for m in d.mismatches]
    if d.same_as is not None:
        lines.append(f"  the same symptom as line {d.same_as} (its example replays it)")
        return "\n".join(lines)
    if d.example is not None:
        lines.append(
            f"  shortest replayable example ({len(d.example) - 1} event(s); the table's shortest run "
            f"to the same state, then line {d.line}):"
        )
        lines += [f"    {x}" for x in d.example]
    elif d.example_note:
        lines.append(f"  {d.example_note}")
    lines.append(
        f"  lines 1-{d.line} of the trace replay it too (the example may not, if the implementation "
        "keeps state the table does not)"
    )
    return "\n".join(lines)


def groups_text(verdict: Verdict) -> str:
    """One line per symptom: how many lines, and the first ones."""
    out = [f"{len(verdict.groups)} distinct symptom(s):"]
    for n, g in enumerate(verdict.groups, 1):
        more = ", ..." if g.count > len(g.lines) else ""
        out.append(f"  [{n}] {g.symptom.text()}: {g.count} line(s) ({', '.join(map(str, g.lines))}{more})")
    return "\n".join(out)
