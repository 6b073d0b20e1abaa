"""The ``[slots]`` declaration: what holds one of a limited host's ioeventfds.

Several devices on one host share its ioeventfd slots (``scale/system.py``).
What counts is the table's to say, not a list of variable names in the
checker:

```toml
[slots]
holders = ["our_fd", "vhost_fd"]   # per-queue flags: each true one holds one slot
addresses = 1                      # ... per notify address of the queue (kvmtool: 2)
limit = "limited"                  # the host fact: the host has a slot limit
size = 6                           # the slots such a host has
answer = "assign_ok"               # KVM's answer to one assignment of ours
vhost = [                          # vhost's events; when one is a take
    { event = "set_host_notifier", take = "assign" },
    { event = "vhost_start", take = "true" },
    { event = "vhost_stop" },
]
```

``vhost`` lists the events vhost issues (offered only on the devices it
serves) and, in ``take``, when such an event is vhost taking host notifiers
(over the event's parameters; omitted: never). ``addresses`` says how many
ioeventfds one true holder registers: a queue notified at several addresses
registers one for each (kvmtool registers a port-I/O and an MMIO address for
every queue, QEMU's transitional virtio-pci devices two or three), so it holds
that many slots; a configuration may say it per device. ``size`` is what a
host with the limit has: the oracle never lets one device hold more
(``oracle/host.py``: KVM cannot grant a slot it does not have); a
configuration of several devices names its own (``scale/config.py``).
``limit``, ``size``, ``answer`` and ``addresses`` (default 1) are optional.
A table without ``[slots]`` loads, but a configuration of several
devices refuses it.

>>> from .load import load_spec
>>> slots = load_spec("resolved").slots
>>> slots.holders, slots.limit, slots.size, slots.answer, [v.event for v in slots.vhost]
(('our_fd', 'vhost_fd'), 'limited', 6, 'assign_ok', ['set_host_notifier', 'vhost_start', 'vhost_stop'])
"""

from __future__ import annotations

from typing import Any

from .errors import ExpressionError, SchemaError
from .expr import BOOL
from .parse import parse_expr
from .resolve import Context, resolve_bool
from .schema import Event, Scope, Slots, Variable, VhostEvent

_KEYS = {"holders", "limit", "answer", "vhost", "addresses", "size"}


def read_slots(found: list[tuple[dict, Any]], variables: dict[str, Variable], events: dict[str, Event]) -> Slots | None:
    """The ``[slots]`` table (``found``: each (value, where) the loader met),
    validated against the table's variables and events; None when absent.
    ``where`` makes located errors: ``where.error(kind, message, key)``."""
    if not found:
        return None
    if len(found) > 1:
        raise found[1][1].error(SchemaError, "a second [slots] table; the table may declare one")
    entry, at = found[0]
    for key in entry:
        if key not in _KEYS:
            raise at.error(SchemaError, f"unknown field; expected one of {sorted(_KEYS)}", key)
    holders = entry.get("holders")
    if not isinstance(holders, list) or not holders or not all(isinstance(h, str) for h in holders):
        raise at.error(SchemaError, f"expected a non-empty list of per-queue variables, found {holders!r}", "holders")
    for name in holders:
        var = variables.get(name)
        if var is None or var.scope is not Scope.QUEUE or var.type != BOOL:
            raise at.error(SchemaError, f"{name!r} is not a per-queue bool variable", "holders")
    limit = entry.get("limit")
    if limit is not None:
        var = variables.get(limit) if isinstance(limit, str) else None
        if var is None or var.scope is not Scope.DEVICE or var.type != BOOL or not var.host:
            raise at.error(SchemaError, f"expected a device bool variable with host = true, found {limit!r}", "limit")
    size = entry.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1 or limit is None):
        raise at.error(SchemaError, f"expected a positive number of slots, with limit, found {size!r}", "size")
    answer = entry.get("answer")
    if answer is not None and not any(p.name == answer and p.type == BOOL for e in events.values() for p in e.params):
        raise at.error(SchemaError, f"expected the name of a bool event parameter, found {answer!r}", "answer")
    addresses = entry.get("addresses", 1)
    if isinstance(addresses, bool) or not isinstance(addresses, int) or addresses < 1:
        raise at.error(
            SchemaError, f"expected a positive number of ioeventfds per holder, found {addresses!r}", "addresses"
        )
    vhost = _vhost(entry.get("vhost", []), at, events)
    return Slots(tuple(holders), limit, answer, vhost, at.source(entry), addresses, size)


def _vhost(items: Any, at: Any, events: dict[str, Event]) -> tuple[VhostEvent, ...]:
    if not isinstance(items, list):
        raise at.error(SchemaError, "expected a list of { event = ..., take = ... }", "vhost")
    found = []
    for item in items:
        if not isinstance(item, dict) or not set(item) <= {"event", "take"} or item.get("event") not in events:
            raise at.error(
                SchemaError, f"expected {{ event = <an event>, take = <condition> }}, found {item!r}", "vhost"
            )
        event = events[item["event"]]
        take = None
        if "take" in item:
            ctx = Context({}, {}, {p.name: p.type for p in event.params})
            try:
                take = resolve_bool(parse_expr(str(item["take"])), ctx)
            except ExpressionError as exc:
                raise at.error(ExpressionError, f"take of {event.name}: {exc.message}", "vhost") from None
        found.append(VhostEvent(event.name, take))
    return tuple(found)
