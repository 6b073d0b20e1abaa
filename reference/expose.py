"""The shortest event sequence on which an implementation departs from the table.

A breadth-first search over event sequences of the table, the device driven
side by side with the model (:class:`~.sidebyside.SideBySide`): the first
step with a problem (a divergence of the abstraction, a broken invariant or
step property, a kick lost or handled twice, a crash) ends the search, and
its sequence is a shortest one for that device size. Sequences are replayed
on a fresh device; two that reach the same table state *and* the same
implementation state (:func:`fingerprint`) are explored once, so the search
of a conforming device ends when every reachable pair has been visited.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.reference.mutants import mutant
>>> found = expose(mutant("status_zero_not_reset").device, load_spec("resolved"))
>>> found.exposure.sequence()
'set_status(value=driver_ok, assign_ok=true); set_status(value=zero, assign_ok=true)'
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.spec.schema import Spec

from .abstraction import new_device
from .device import Device
from .sidebyside import Judge, SideBySide

_COUNTED = frozenset({"kicks_made", "pio_handled", "ioeventfd_handled"})


@dataclass(frozen=True, slots=True)
class Exposure:
    """A shortest sequence that exposes a device, and what it exposed."""

    queues: int
    limited: bool
    events: tuple[Instance, ...]
    problems: tuple[str, ...]

    def sequence(self) -> str:
        return "; ".join(str(e) for e in self.events) or "(the initial state)"

    def to_json(self) -> dict:
        return {
            "queues": self.queues,
            "limited": self.limited,
            "events": [{"event": e.event.name, "args": dict(e.args)} for e in self.events],
            "problems": list(self.problems),
        }


@dataclass(frozen=True, slots=True)
class Search:
    """The outcome of a search: an exposure, or none within the bounds
    (``exhausted`` when every reachable state pair was visited)."""

    exposure: Exposure | None
    nodes: int
    exhausted: bool


def _plain(value: object) -> object:
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _plain(v)) for k, v in value.items()))
    if isinstance(value, bool | int | str | float | type(None)):
        return value
    return type(value).__name__  # objects the device owns (kernel, queues) are read below


def fingerprint(run: SideBySide) -> tuple:
    """The implementation's state, as far as it can change what happens next.

    Kick counters are left out (they grow without bound); their balance and
    each notifier's count (capped at 2: more changes nothing) stay in.
    """
    device, kernel = run.device, run.device.kernel
    queues = tuple(
        (*(getattr(vq, f.name) for f in dataclasses.fields(vq) if f.name != "notifier"), min(vq.notifier.counter, 2))
        for vq in device.vqs
    )
    extras = tuple(sorted((k, _plain(v)) for k, v in vars(device).items() if k not in _COUNTED))
    return (
        queues,
        extras,
        tuple(sorted((address, owner.value) for address, owner in kernel.ioeventfds)),
        tuple(sorted((fd.name, reader.owner.value) for fd, reader in kernel.readers.items())),
        tuple(sorted(kernel.vhost.held)),
        run.kick_balance(),
    )


def _replay(
    spec: Spec, machine: Machine, judge: Judge, device_class: type[Device], limited: bool, events: Iterable[Instance]
) -> SideBySide:
    run = SideBySide(spec, new_device(machine.queues, limited, device_class), machine, judge)
    for event in events:
        run.step(event)
    return run


def expose(
    device_class: type[Device],
    spec: Spec,
    queues: Iterable[int] = (1, 2),
    max_depth: int = 12,
    max_nodes: int = 100_000,
) -> Search:
    """Search each device size in ``queues`` in turn; stop at the first exposure."""
    judge = Judge(spec)
    nodes = 0
    exhausted = True
    for size in queues:
        machine = Machine(spec, size)
        found, visited, complete = _search(spec, machine, judge, device_class, max_depth, max_nodes)
        nodes += visited
        exhausted = exhausted and complete
        if found is not None:
            return Search(found, nodes, False)
    return Search(None, nodes, exhausted)


def _search(
    spec: Spec, machine: Machine, judge: Judge, device_class: type[Device], max_depth: int, max_nodes: int
) -> tuple[Exposure | None, int, bool]:
    frontier: deque[tuple[bool, tuple[Instance, ...]]] = deque()
    seen: set = set()
    for limited in (False, True):
        run = _replay(spec, machine, judge, device_class, limited, ())
        if run.initial_problems:
            return Exposure(machine.queues, limited, (), run.initial_problems), 0, False
        seen.add((limited, run.state, fingerprint(run)))
        frontier.append((limited, ()))
    complete = True
    while frontier:
        limited, path = frontier.popleft()
        if len(path) >= max_depth or len(seen) >= max_nodes:
            complete = False
            continue
        parent = _replay(spec, machine, judge, device_class, limited, path)
        for inst in machine.instances:
            if not machine.enabled(parent.state, inst):
                continue
            run = _replay(spec, machine, judge, device_class, limited, path)
            report = run.step(inst)
            events = (*path, inst)
            if report.problems:
                return Exposure(machine.queues, limited, events, report.problems), len(seen), False
            key = (limited, run.state, fingerprint(run))
            if key not in seen:
                seen.add(key)
                frontier.append((limited, events))
    return None, len(seen), complete
