"""What an implementation says it observed, and how it is judged against the spec.

An observation is the JSON object a trace record (or a protocol reply)
carries under ``observed``: some of the table's variables, named as in
``spec/common.toml``, plus one derived per-queue fact, ``handled``::

    {"device": {"status": "driver_ok"},
     "queues": [{"state": "assigned", "our_fd": true, "handled": false}, {}]}

Every field is optional: the oracle checks what is given. ``handled`` says
that during this step the queue's handler ran for a kick: a pending kick was
consumed (by ``handle`` or by a drain), or a kick took the synchronous pio
path. In the table's terms: ``(pending or the step is a kick of this queue)
and not pending'``. It is what tells a drain from a dropped kick, which
``pending`` alone cannot.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> spec = load_spec("resolved")
>>> obs = parse_observation(spec, 1, {"queues": [{"state": "assigned"}]}, "observed")
>>> from virtio_notifier_spec.model.machine import Machine
>>> m = Machine(spec, 1)
>>> start = m.initial_states()[0]
>>> [str(x) for x in obs.mismatches(start, start, None)]
['q0.state: expected deassigned, observed assigned']
"""

from __future__ import annotations

from dataclasses import dataclass

from orjson import dumps

from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.expr import BOOL
from virtio_notifier_spec.spec.schema import Spec

from .fields import HANDLED, PENDING, ObservationCoverage, checkable_fields  # noqa: F401 (re-exported)

_CACHE_LIMIT = 4096  # distinct queue entries whose checks a reader keeps
KICK_EVENT = "kick"
_NONE: frozenset[str] = frozenset()


class ObservationError(ValueError):
    """An observation that does not fit the table: ``field`` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One observed field that differs from what the spec expected."""

    field: str
    expected: object
    observed: object

    def __str__(self) -> str:
        return f"{self.field}: expected {show(self.expected)}, observed {show(self.observed)}"

    def to_json(self) -> dict:
        return {"field": self.field, "expected": self.expected, "observed": self.observed}


@dataclass(frozen=True, slots=True)
class Observation:
    """The checks one observation asks for, by slot.

    ``device``: (slot, name, value); ``queues``: (queue, ((slot, name,
    value), ...)), one entry per observed queue (queues observed alike share
    their checks); ``handled``: (queue, value). ``handled`` needs the step
    (pre, post, event). ``full``: the fields given for the device or on
    every queue; ``seen``: those given somewhere (judged or not).
    """

    device: tuple[tuple[int, str, object], ...] = ()
    queues: tuple[tuple[int, tuple[tuple[int, str, object], ...]], ...] = ()
    handled: tuple[tuple[int, bool], ...] = ()
    pending_slot: int = -1
    full: frozenset[str] = _NONE
    seen: frozenset[str] = _NONE

    @property
    def empty(self) -> bool:
        return not (self.device or self.queues or self.handled)

    def fields(self) -> frozenset[str]:
        """The names of the variables (and ``handled``) this observation checks."""
        names = {name for _, name, _ in self.device} | {name for _, fields in self.queues for _, name, _ in fields}
        return frozenset(names | ({HANDLED} if self.handled else set()))

    def mismatches(self, pre: State, post: State, kicked: int | None) -> list[Mismatch]:
        """What differs in ``post`` (reached from ``pre``; ``kicked`` is the
        queue a kick event targets, else None)."""
        found = []
        for slot, name, value in self.device:
            if post.device[slot] != value:
                found.append(Mismatch(name, post.device[slot], value))
        for q, fields in self.queues:
            queue = post.queues[q]
            for slot, name, value in fields:
                if queue[slot] != value:
                    found.append(Mismatch(f"q{q}.{name}", queue[slot], value))
        for q, value in self.handled:
            expected = expected_handled(pre, post, kicked, q, self.pending_slot)
            if expected != value:
                found.append(Mismatch(f"q{q}.{HANDLED}", expected, value))
        return found

    def patch(self, state: State) -> State:
        """``state`` with the observed values written in (resynchronising
        after a divergence, so that later steps are judged from what the
        implementation says it has)."""
        device = list(state.device)
        for slot, _, value in self.device:
            device[slot] = value
        queues = [list(q) for q in state.queues]
        for q, fields in self.queues:
            for slot, _, value in fields:
                queues[q][slot] = value
        return State(tuple(device), tuple(tuple(q) for q in queues))


def expected_handled(pre: State, post: State, kicked: int | None, q: int, pending_slot: int) -> bool:
    """Whether the queue's handler ran for a kick during the step."""
    if pending_slot < 0:
        return False
    had = pre.queues[q][pending_slot] or kicked == q
    return bool(had and not post.queues[q][pending_slot])


def show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _shown(raw: object) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return show(raw)
    if isinstance(raw, str):
        return repr(raw)
    if isinstance(raw, dict):
        return "an object"
    if isinstance(raw, list):
        return "a list"
    return str(raw)


def _checker(var) -> tuple[str, int, object, str]:
    """(name, slot placeholder, allowed values or None for bool, expected text)."""
    if var.type == BOOL:
        return (var.name, 0, None, "true or false")
    return (var.name, 0, frozenset(var.type.values), "one of " + " | ".join(str(v) for v in var.type.values))


class ObservationReader:
    """Checks observations against one table for ``queues`` queues; built
    once, so that reading a long trace does not redo the look-ups.

    ``judged``: the fields checked (None: every field given); a field given
    but not judged is read for its type and otherwise ignored.
    ``required``: fields every observation must give (a declaration:
    ``handled`` from the first event on, on every queue for a queue field)."""

    def __init__(
        self,
        spec: Spec,
        queues: int,
        *,
        judged: frozenset[str] | None = None,
        required: frozenset[str] | tuple[str, ...] | None = None,
    ) -> None:
        self.queues = queues
        self.device_vars = [(slot, *_checker(v)) for slot, v in enumerate(spec.device_variables)]
        self.queue_vars = [(slot, *_checker(v)) for slot, v in enumerate(spec.queue_variables)]
        names = [v.name for v in spec.queue_variables]
        self.pending_slot = names.index(PENDING) if PENDING in names else -1
        self.device_known = ", ".join(v.name for v in spec.device_variables)
        self.queue_known = ", ".join([*names, HANDLED] if self.pending_slot >= 0 else names)
        self.judged = judged
        required = frozenset(required or ())
        device_names = {v.name for v in spec.device_variables}
        self.required_device = tuple(n for n in (v.name for v in spec.device_variables) if n in required)
        self.required_queue = frozenset(required - device_names)
        self._cache: dict[bytes, tuple[tuple, bool | None, frozenset[str]]] = {}

    def read(self, raw: object, where: str, *, start: bool = False) -> Observation:
        """Check ``raw`` (parsed JSON) and compile its checks; raises
        :class:`ObservationError` naming the field (e.g.
        ``observed.queues[1].handler``) on anything that does not fit, or
        a required field that is missing (``start``: the fresh device,
        which owes no ``handled``)."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ObservationError(where, f"expected an object, found {_shown(raw)}")
        if len(raw) > ("device" in raw) + ("queues" in raw):
            unknown = sorted(set(raw) - {"device", "queues"})[0]
            raise ObservationError(f"{where}.{unknown}", "unknown field (expected device or queues)")
        device = []
        raw_device = raw.get("device")
        if raw_device is not None:
            if not isinstance(raw_device, dict):
                raise ObservationError(f"{where}.device", f"expected an object, found {_shown(raw_device)}")
            device = self._entry(
                raw_device, self.device_vars, f"{where}.device", self.device_known, "unknown device variable"
            )
        device_names = frozenset(name for _, name, _ in device)
        for name in self.required_device:
            if name not in device_names:
                raise ObservationError(f"{where}.device.{name}", _MISSING)
        judged = self.judged
        if judged is not None:
            device = [d for d in device if d[1] in judged]
        checks, handled, kinds = [], [], set()
        cache = self._cache
        entries = _queue_entries(raw.get("queues"), self.queues, f"{where}.queues")
        for q, entry, label in entries:
            try:  # queues alike are checked once; the key is the entry's JSON, so true is not 1
                key = dumps(entry)
                known = cache.get(key)
            except TypeError:  # not JSON: the full check says what is wrong
                key, known = None, None
            if known is None:
                known = self._queue_entry(entry, _at(f"{where}.queues", label))
                if key is not None and len(cache) < _CACHE_LIMIT:
                    cache[key] = known
            fields, handled_value, names = known
            kinds.add(names)
            if fields:
                checks.append((q, fields))
            if handled_value is not None:
                handled.append((q, handled_value))
        if self.required_queue:
            self._require(entries, kinds, where, start)
        every = frozenset.intersection(*kinds) if kinds and len(entries) == self.queues else _NONE
        some = frozenset().union(*kinds) if kinds else _NONE
        return Observation(
            tuple(device), tuple(checks), tuple(handled), self.pending_slot, device_names | every, device_names | some
        )

    def _require(self, entries: list, kinds: set[frozenset[str]], where: str, start: bool) -> None:
        """Every required queue field on every queue (``handled`` after an event only)."""
        wanted = self.required_queue - {HANDLED} if start else self.required_queue
        if not wanted or (len(entries) == self.queues and all(wanted <= k for k in kinds)):
            return
        given = {q: (entry, label) for q, entry, label in entries}
        for q in range(self.queues):
            entry, label = given.get(q, ({}, q))
            missing = [n for n in sorted(wanted) if n not in entry]
            if missing:
                raise ObservationError(f"{_at(f'{where}.queues', label)}.{missing[0]}", _MISSING)

    def _queue_entry(self, entry: dict, at: str) -> tuple[tuple, bool | None, frozenset[str]]:
        """One queue's checks, its ``handled`` (None: not observed or not
        judged) and the names it gives."""
        handled = None
        if self.pending_slot >= 0 and HANDLED in entry:
            handled = entry[HANDLED]
            if type(handled) is not bool:
                raise ObservationError(f"{at}.{HANDLED}", f"expected true or false, found {_shown(handled)}")
        fields = self._entry(
            entry, self.queue_vars, at, self.queue_known, "unknown queue variable", extra=int(handled is not None)
        )
        names = frozenset([name for _, name, _ in fields] + ([HANDLED] if handled is not None else []))
        judged = self.judged
        if judged is not None:
            fields = [f for f in fields if f[1] in judged]
            if HANDLED not in judged:
                handled = None
        return tuple(fields), handled, names

    @staticmethod
    def _entry(entry: dict, variables, at: str, known: str, unknown_text: str, extra: int = 0):
        found = []
        for slot, name, _, allowed, expected in variables:
            if name not in entry:
                continue
            value = entry[name]
            if (type(value) is not bool) if allowed is None else (type(value) is not str or value not in allowed):
                raise ObservationError(f"{at}.{name}", f"expected {expected}, found {_shown(value)}")
            found.append((slot, name, value))
        if len(entry) > len(found) + extra:
            names = {v[1] for v in variables} | ({HANDLED} if extra else set())
            unknown = sorted(set(entry) - names)[0]
            raise ObservationError(f"{at}.{unknown}", f"{unknown_text} (known: {known})")
        return found


_MISSING = "declared observed, but this observation does not give it"


def parse_observation(spec: Spec, queues: int, raw: object, where: str) -> Observation:
    """Check ``raw`` (parsed JSON) against the table and compile its checks
    (see :class:`ObservationReader`, which a long reader should keep)."""
    return ObservationReader(spec, queues).read(raw, where)


def _queue_entries(raw: object, queues: int, where: str) -> list[tuple[int, dict, int | str]]:
    """(queue, entry, label) for a list of ``queues`` entries (null or {}
    for an unobserved queue) or an object keyed by queue index; ``label``
    names the entry in a message (see :func:`_at`)."""
    if raw is None:
        return []
    if isinstance(raw, list):
        if len(raw) != queues:
            raise ObservationError(where, f"expected {queues} entries (one per queue), found {len(raw)}")
        items = list(enumerate(raw))
        labels: list[int | str] = list(range(queues))
    elif isinstance(raw, dict):
        items, labels = [], []
        for key in sorted(raw):
            if not (key.isascii() and key.isdigit()) or int(key) >= queues or key != str(int(key)):
                raise ObservationError(
                    f"{where}.{key}", f"expected a queue index 0-{queues - 1}, written without leading zeros"
                )
            items.append((int(key), raw[key]))
            labels.append(key)
    else:
        raise ObservationError(where, f"expected a list or an object, found {_shown(raw)}")
    entries = []
    for (q, entry), label in zip(items, labels, strict=True):
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise ObservationError(_at(where, label), f"expected an object, found {_shown(entry)}")
        entries.append((q, entry, label))
    return entries


def _at(where: str, label: int | str) -> str:
    """``observed.queues[1]`` for a list entry, ``observed.queues.1`` for a keyed one."""
    return f"{where}[{label}]" if isinstance(label, int) else f"{where}.{label}"


def full_observation(spec: Spec, pre: State | None, post: State, kicked: int | None) -> dict:
    """Everything about ``post`` as an observation (what a model-backed or
    perfectly instrumented implementation reports), with ``handled`` when
    the step is known (``pre`` not None)."""
    names = [v.name for v in spec.queue_variables]
    pending_slot = names.index(PENDING) if PENDING in names else -1
    queues = []
    for q, queue in enumerate(post.queues):
        entry = dict(zip(names, queue, strict=True))
        if pre is not None and pending_slot >= 0:
            entry[HANDLED] = expected_handled(pre, post, kicked, q, pending_slot)
        queues.append(entry)
    device = {v.name: x for v, x in zip(spec.device_variables, post.device, strict=True)}
    return {"device": device, "queues": queues}
