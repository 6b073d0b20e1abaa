"""An event sequence written as the oracle's reports write it, read back.

``drive`` reports a failing sequence as one line::

    start(limited=false); set_status(value=driver_ok, assign_ok=true); kick(queue=0); reset()

:func:`parse_sequence` reads that line (or any list of the table's events
in that form; ``start(...)`` first is optional) into instances of the
table's events, checking each name and argument as a trace line is checked.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.model.machine import Machine
>>> limited, events = parse_sequence(Machine(load_spec("resolved"), 2), "start(limited=true); kick(queue=1)")
>>> limited, [str(e) for e in events]
(True, ['kick(queue=1)'])
"""

from __future__ import annotations

import re

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.spec.errors import SpecError

from .observation import ObservationError
from .tracefile import parse_args

_CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*", re.DOTALL)
_ARG = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([A-Za-z0-9_-]+)\s*")


class SequenceError(SpecError):
    """A sequence that cannot be read: names the event, by its number."""


def _value(text: str) -> object:
    if text in ("true", "false"):
        return text == "true"
    if text.lstrip("-").isdigit():
        return int(text)
    return text


def _call(item: str, number: int, field: str) -> tuple[str, dict]:
    match = _CALL.fullmatch(item)
    if match is None:
        raise SequenceError(f"event {number}: expected name(arg=value, ...), found {item.strip()!r}", field=field)
    name, inside = match.groups()
    args = {}
    for part in filter(str.strip, inside.split(",")):
        arg = _ARG.fullmatch(part)
        if arg is None:
            raise SequenceError(f"event {number} ({name}): expected arg=value, found {part.strip()!r}", field=field)
        if arg.group(1) in args:
            raise SequenceError(f"event {number} ({name}): {arg.group(1)} is given twice", field=field)
        args[arg.group(1)] = _value(arg.group(2))
    return name, args


def parse_sequence(machine: Machine, text: str, field: str = "--sequence") -> tuple[bool | None, tuple[Instance, ...]]:
    """(``limited`` from a leading ``start(limited=...)`` or None, the events)."""
    items = [x for x in text.split(";") if x.strip()]
    limited = None
    if items and _call(items[0], 0, field)[0] == "start":
        _, args = _call(items.pop(0), 0, field)
        if set(args) != {"limited"} or not isinstance(args["limited"], bool):
            raise SequenceError("start takes one argument, limited=true|false", field=field)
        limited = args["limited"]
    index = {(i.event.name, tuple(sorted(i.args))): i for i in machine.instances}
    events = []
    for number, item in enumerate(items, 1):
        name, args = _call(item, number, field)
        if name == "start":
            raise SequenceError(f"event {number}: start(...) may only come first", field=field)
        try:
            name, checked = parse_args(machine.spec, machine.queues, name, args)
        except ObservationError as exc:
            raise SequenceError(f"event {number} ({name}): {exc.field}: {exc.message}", field=field) from None
        events.append(index[(name, tuple(sorted(checked.items())))])
    return limited, tuple(events)
