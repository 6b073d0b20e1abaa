"""The trace file: JSON Lines written by an implementation, read by the oracle.

The format is documented in ``spec/TRACE.md`` (schema ``spec/trace.schema.json``).
Line 1 is a header, every other line one event with its arguments, named
exactly as the table's events in ``spec/common.toml``, and optionally what the
implementation observed after it::

    {"format":"virtio-notifier-trace","version":1,"variant":"resolved","queues":1,"limited":false}
    {"event":"set_status","args":{"value":"driver_ok","assign_ok":true}}
    {"event":"kick","args":{"queue":0},"observed":{"queues":[{"state":"assigned","pending":true}]}}

Reading checks every line against the table (known event, every argument
present and of its type, queue index in range, observation fields known)
and raises :class:`TraceError` naming the line and the field.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> header = parse_header(b'{"format":"virtio-notifier-trace","version":1,'
...                       b'"variant":"resolved","queues":1,"limited":false}')
>>> reader = RecordReader(load_spec("resolved"), header, "t.jsonl")
>>> str(reader.parse(b'{"event":"reset"}', 2).instance)
'reset()'
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.expr import BOOL, QUEUE
from virtio_notifier_spec.spec.limits import MAX_QUEUES as LIMIT_QUEUES
from virtio_notifier_spec.spec.limits import shown
from virtio_notifier_spec.spec.schema import Spec

from .observation import Observation, ObservationError, ObservationReader

try:  # orjson parses a line about five times faster than json
    import orjson

    loads = orjson.loads
    dumps = orjson.dumps
    DECODE_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError, ValueError)
except ImportError:  # pragma: no cover - orjson is a dependency; json still works

    def loads(data: bytes | str) -> object:
        return json.loads(data)

    def dumps(obj: object) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    DECODE_ERRORS = (ValueError, UnicodeDecodeError, RecursionError)


class DuplicateKey(ValueError):
    """A JSON object that names one key twice (JSON parsers keep the last)."""


_SPACED = re.compile(rb'"[ \t\r\n]')  # white space after a string: maybe before a colon


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(f"the key {key!r} appears twice in one object (which value was meant?)")
            seen.add(key)
    return found


_STRICT = json.JSONDecoder(object_pairs_hook=_refuse_duplicates)


def loads_strict(data: bytes | str) -> object:
    """Parse JSON, refusing an object with a repeated key (:class:`DuplicateKey`).

    Fast when the text has no escape and no space before a colon (what JSON
    writers produce): then every ``":`` ends a key, so counting them in the
    text and in the parsed value re-written says whether a key was lost.
    Otherwise the slower parser that sees every key decides.

    >>> loads_strict(b'{"queues":{"0":{"state":"assigned"}}}')
    {'queues': {'0': {'state': 'assigned'}}}
    >>> loads_strict(b'{"a":1,"a":2}')
    Traceback (most recent call last):
    ...
    virtio_notifier_spec.oracle.tracefile.DuplicateKey: the key 'a' appears twice in one object (which value was meant?)
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    doc = loads(data)
    if type(doc) is not dict and type(doc) is not list:
        return doc
    if b"\\" not in data and data.count(b'":') == dumps(doc).count(b'":') and not _SPACED.search(data):
        return doc
    _STRICT.decode(data.decode("utf-8", "surrogatepass").strip())
    return doc


FORMAT = "virtio-notifier-trace"
VERSIONS = (1,)
MAX_QUEUES = LIMIT_QUEUES  # QEMU's VIRTIO_QUEUE_MAX (spec/limits.py)
MAX_LINE_BYTES = 1 << 24  # a full observation of 1024 queues is about 150 kB
#: Lines are read with ``readline(LINE_READ)``: one byte more than a line may
#: hold, so that an overlong line is seen and a line without end cannot fill memory.
LINE_READ = MAX_LINE_BYTES + 1
BLOCK_BYTES = 1 << 20  # a stream is read a block at a time
_HEADER_KEYS = {"format", "version", "variant", "queues", "limited", "implementation", "observed", "env", "observes"}
_RECORD_KEYS = {"event", "args", "observed", "meta"}


class TraceError(SpecError):
    """A trace line that cannot be read: names the file, line and field."""


@dataclass(frozen=True, slots=True)
class Header:
    """Line 1 of a trace: what ran and on what host."""

    variant: str
    queues: int
    limited: bool
    version: int = 1
    implementation: str | None = None
    observed: object = None
    env: str | None = None  # the environment profile the trace was made in
    observes: tuple[str, ...] | None = None  # the fields every line observes

    def to_json(self) -> dict:
        doc: dict = {
            "format": FORMAT,
            "version": self.version,
            "variant": self.variant,
            "queues": self.queues,
            "limited": self.limited,
        }
        if self.env is not None:
            doc["env"] = self.env
        if self.implementation is not None:
            doc["implementation"] = self.implementation
        if self.observes is not None:
            doc["observes"] = list(self.observes)
        return doc


@dataclass(frozen=True, slots=True)
class Record:
    """One event line: the event instance and the checks its observation
    asks for; ``observed`` is the observation as JSON text (a few bytes a
    queue, where the parsed objects would take several times more)."""

    instance: Instance
    observation: Observation
    observed: bytes | None = None

    def to_json(self) -> dict:
        doc: dict = {"event": self.instance.event.name, "args": dict(self.instance.args)}
        if self.observed is not None:
            doc["observed"] = loads(self.observed)
        return doc


def describe(raw: object) -> str:
    """A short name for a JSON value's kind, for messages."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, dict):
        return "an object"
    if isinstance(raw, list):
        return "a list"
    return shown(raw)  # a long string or number shortened


def read_line(stream: IO[bytes], *, file: str | None, number: int) -> bytes:
    """One line of at most :data:`MAX_LINE_BYTES`; a longer one is refused
    naming its line."""
    line = stream.readline(LINE_READ)
    check_length(line, file=file, number=number)
    return line


def read_blocks(stream: IO[bytes]) -> Iterator[Iterable[bytes]]:
    """The stream's lines, a block of them at a time: a megabyte, then the
    rest of its last line (at most :data:`LINE_READ` bytes), iterated in
    memory, which is faster than reading the file line by line. Nothing more
    than a block and one line is ever held: an overlong line ends the block
    it is in, and :func:`check_length` refuses it there."""
    while block := stream.read(BLOCK_BYTES):
        if not block.endswith(b"\n"):
            block += stream.readline(LINE_READ)
        yield io.BytesIO(block)


def check_length(line: bytes | str, *, file: str | None, number: int) -> None:
    """Refuse a line longer than :data:`MAX_LINE_BYTES`, its newline aside."""
    newline = b"\n" if isinstance(line, bytes) else "\n"
    if len(line) - line.endswith(newline) > MAX_LINE_BYTES:
        raise TraceError(
            f"the line is longer than {MAX_LINE_BYTES:,} bytes (is there a newline after each JSON object?)",
            file=file,
            line=number,
        )


def decode_line(line: bytes | str, *, file: str | None, number: int) -> object:
    """Parse one JSON line, or raise :class:`TraceError` saying why."""
    check_length(line, file=file, number=number)
    try:
        return loads_strict(line)  # a trailing newline is white space to JSON
    except DuplicateKey as exc:
        raise TraceError(str(exc), file=file, line=number) from None
    except DECODE_ERRORS as exc:
        newline = b"\n" if isinstance(line, bytes) else "\n"
        if not line.strip():
            raise TraceError("empty line (every line is one JSON object)", file=file, line=number) from None
        if not line.endswith(newline):
            raise TraceError(
                f"the last line is truncated: no newline at the end and not valid JSON ({exc})", file=file, line=number
            ) from None
        raise TraceError(f"not valid JSON: {exc}", file=file, line=number) from None
    except RecursionError:
        raise TraceError("not valid JSON: nested too deeply", file=file, line=number) from None


def parse_header(line: bytes | str, *, file: str | None = None) -> Header:
    """Read line 1."""
    doc = decode_line(line, file=file, number=1)

    def bad(field: str | None, message: str) -> TraceError:
        return TraceError(message, file=file, line=1, field=field)

    if not isinstance(doc, dict):
        raise bad(None, f"the header must be a JSON object, found {describe(doc)}")
    if doc.get("format") != FORMAT:
        raise bad("format", f"expected {FORMAT!r}, found {describe(doc.get('format'))} (is line 1 the header?)")
    version = doc.get("version")
    if type(version) is not int or version not in VERSIONS:
        raise bad("version", f"expected one of {list(VERSIONS)}, found {describe(version)}")
    unknown = sorted(set(doc) - _HEADER_KEYS)
    if unknown:
        raise bad(unknown[0], "unknown header field (expected " + ", ".join(sorted(_HEADER_KEYS)) + ")")
    variant = doc.get("variant")
    if not isinstance(variant, str) or not variant:
        raise bad("variant", f"expected a variant name, found {describe(variant)}")
    queues = doc.get("queues")
    if type(queues) is not int or not 1 <= queues <= MAX_QUEUES:
        raise bad("queues", f"expected a number of queues 1-{MAX_QUEUES}, found {describe(queues)}")
    limited = doc.get("limited")
    if not isinstance(limited, bool):
        raise bad("limited", f"expected true or false, found {describe(limited)}")
    implementation = doc.get("implementation")
    if implementation is not None and not isinstance(implementation, str):
        raise bad("implementation", f"expected a string, found {describe(implementation)}")
    env = doc.get("env")
    if env is not None and (not isinstance(env, str) or not env):
        raise bad("env", f"expected an environment's name, found {describe(env)}")
    observes = doc.get("observes")
    if observes is not None and (not isinstance(observes, list) or not all(isinstance(n, str) for n in observes)):
        raise bad("observes", f"expected a list of field names, found {describe(observes)}")
    return Header(
        variant,
        queues,
        limited,
        version,
        implementation,
        doc.get("observed"),
        env,
        None if observes is None else tuple(observes),
    )


def parse_args(spec: Spec, queues: int, name: object, raw_args: object, events: dict | None = None) -> tuple[str, dict]:
    """Check an event's name and arguments against the table (``events``:
    the table's events by name, when the caller keeps them).

    Returns (event name, arguments); raises :class:`ObservationError` with
    the field at fault.
    """
    if not isinstance(name, str):
        raise ObservationError("event", f"expected an event name, found {describe(name)}")
    if events is None:
        events = {e.name: e for e in spec.events}
    event = events.get(name)
    if event is None:
        raise ObservationError("event", f"unknown event {name!r} (known: {', '.join(events)}){env_hint(spec, name)}")
    if raw_args is None:
        raw_args = {}
    if not isinstance(raw_args, dict):
        raise ObservationError("args", f"expected an object, found {describe(raw_args)}")
    params = {p.name: p for p in event.params}
    unknown = sorted(set(raw_args) - set(params))
    if unknown:
        expected = ", ".join(params) or "none"
        raise ObservationError(f"args.{unknown[0]}", f"{name} takes no such argument (it takes: {expected})")
    args = {}
    for pname, param in params.items():
        field = f"args.{pname}"
        if pname not in raw_args:
            raise ObservationError(field, f"missing: {name} takes {', '.join(params)}")
        value = raw_args[pname]
        if param.type == QUEUE:
            if type(value) is not int:
                raise ObservationError(field, f"expected a queue index, found {describe(value)}")
            if not 0 <= value < queues:
                raise ObservationError(
                    field, f"queue {value} is out of range: the header says {queues} queue(s), 0-{queues - 1}"
                )
        elif param.type == BOOL:
            if not isinstance(value, bool):
                raise ObservationError(field, f"expected true or false, found {describe(value)}")
        elif not isinstance(value, str) or value not in param.type.values:
            expected = " | ".join(str(v) for v in param.type.values)
            raise ObservationError(field, f"expected one of {expected}, found {describe(value)}")
        args[pname] = value
    return name, args


def env_hint(spec: Spec, event: str) -> str:
    """For an event the environment profile removed: the environments that issue it.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> env_hint(load_spec("resolved"), "vhost_start")
    '; the adversarial environment does not issue it, these do: qemu, unrestricted (--env NAME)'
    """
    here = next((p for p in spec.profiles if p.name == spec.env), None)
    if here is None or event not in here.removed:
        return ""
    issuing = [p.name for p in spec.profiles if event not in p.removed] + ["unrestricted"]
    return f"; the {spec.env} environment does not issue it, these do: {', '.join(issuing)} (--env NAME)"


class RecordReader:
    """Turns event lines into :class:`Record`; remembers the instances."""

    def __init__(self, spec: Spec, header: Header, file: str | None, machine: Machine | None = None) -> None:
        self.spec = spec
        self.header = header
        self.file = file
        self.machine = machine or Machine(spec, header.queues)
        self.index = {(i.event.name, tuple(sorted(i.args))): i for i in self.machine.instances}
        self.events = {e.name: e for e in spec.events}
        self.observations = ObservationReader(spec, header.queues)

    def instance(self, name: str, args: dict) -> Instance:
        return self.index[(name, tuple(sorted(args.items())))]

    def parse(self, line: bytes | str, number: int) -> Record:
        doc = decode_line(line, file=self.file, number=number)
        return self.record(doc, number)

    def record(self, doc: object, number: int) -> Record:
        try:
            if not isinstance(doc, dict):
                raise ObservationError(None, f"expected a JSON object, found {describe(doc)}")
            unknown = sorted(set(doc) - _RECORD_KEYS)
            if unknown:
                raise ObservationError(unknown[0], "unknown field (expected event, args, observed, meta)")
            if "event" not in doc:
                raise ObservationError("event", "missing: every line after the header names an event")
            name, args = parse_args(self.spec, self.header.queues, doc["event"], doc.get("args"), self.events)
            observation = self.observations.read(doc.get("observed"), "observed")
        except ObservationError as exc:
            raise TraceError(exc.message, file=self.file, line=number, field=exc.field) from None
        observed = doc.get("observed")
        return Record(self.instance(name, args), observation, None if observed is None else dumps(observed))


def record_json(instance: Instance, observed: dict | None = None) -> dict:
    """The line for one event, e.g. ``{"event": "reset", "args": {}}``."""
    doc: dict = {"event": instance.event.name, "args": dict(instance.args)}
    if observed is not None:
        doc["observed"] = observed
    return doc


class TraceWriter:
    """Writes a trace: the header, then one line per :meth:`event`.

    >>> import io
    >>> out = io.BytesIO()
    >>> w = TraceWriter(out, Header("resolved", 1, False))
    >>> out.getvalue()
    b'{"format":"virtio-notifier-trace","version":1,"variant":"resolved","queues":1,"limited":false}\\n'
    """

    def __init__(self, out: IO[bytes], header: Header) -> None:
        self.out = out
        out.write(dumps(header.to_json()) + b"\n")

    def event(self, name: str, args: dict, observed: dict | None = None) -> None:
        doc: dict = {"event": name, "args": args}
        if observed is not None:
            doc["observed"] = observed
        self.out.write(dumps(doc) + b"\n")


def trace_lines(header: Header, records: Iterable[dict]) -> list[str]:
    """A whole trace as text lines (for examples and reports)."""
    return [dumps(header.to_json()).decode(), *(dumps(r).decode() for r in records)]
