"""What one queue does, as lookup tables: the packed engine's step.

For a table inside the packed fragment (:mod:`.packable`), a queue's row and
its tuple after an event depend only on the device, the queue's own tuple
and the event's arguments other than its target. So the 1-queue machine is
asked once, for every device valuation, every queue tuple one queue can
reach (the closure from the initial tuples, over every device valuation) and
every *class* of event instance (an event with its arguments, the target
left out), and its answers become arrays indexed by (device code, queue
code): offered or not, the queue's next code, the row that fired, and the
device's next code. The tables do not depend on the number of queues.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> tables = step_tables(load_spec("resolved"))
>>> len(tables.singles), len(tables.devices), len(tables.classes)
(5, 24, 22)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Event, Spec

from .machine import Instance, Machine


class Overlap(ValueError):
    """Two rows fire for one queue: the packed engine keeps one outcome per queue."""


@dataclass(frozen=True, eq=False)
class ClassTable:
    """One event with its non-target arguments, for every (device, queue) code."""

    event: Event
    args: tuple[tuple[str, object], ...]  # without the target
    enabled: np.ndarray  # (D, K) bool: the environment offers it
    next: np.ndarray  # (D, K) the queue's code after it
    row: np.ndarray  # (D, K) the row that fired (index in spec.transitions), -1: none
    device_next: np.ndarray  # (D,) the device's code after it

    @property
    def targeted(self) -> bool:
        return self.event.target is not None

    @property
    def undefined(self) -> np.ndarray:
        """(D, K): offered, and no row says what happens."""
        return self.enabled & (self.row < 0)


@dataclass(frozen=True, eq=False)
class StepTables:
    spec: Spec
    devices: tuple[tuple, ...]
    singles: tuple[tuple, ...]
    classes: tuple[ClassTable, ...]
    index: dict[tuple[str, tuple], int]

    def class_of(self, inst: Instance) -> int:
        """The class of an instance of the N-queue machine."""
        target = inst.event.target
        return self.index[(inst.event.name, tuple((k, v) for k, v in inst.args if k != target))]


@lru_cache(maxsize=16)
def step_tables(spec: Spec) -> StepTables:
    """The step tables of ``spec`` (see the module); :class:`Overlap` when a
    queue has two outcomes somewhere."""
    machine = Machine(spec, 1)
    devices = tuple(itertools.product(*(v.type.values for v in spec.device_variables)))
    starts = {s.queues[0] for s in machine.initial_states()}
    answers: dict[tuple[int, tuple, tuple], tuple] = {}
    todo, seen = sorted(starts), set(starts)
    while todo:
        single = todo.pop()
        for inst in machine.instances:
            for device in devices:
                pre = State(device, (single,))
                if not machine.enabled(pre, inst):
                    continue
                outcome = machine.step(pre, inst)
                if len(outcome.choices) != 1:
                    rows = " and ".join(r.name for r in outcome.ambiguous[0][1])
                    raise Overlap(f"{inst} fires both {rows} on one queue")
                choice = outcome.choices[0]
                post = choice.post.queues[0]
                answers[(inst.id, device, single)] = (post, choice.post.device, choice.fired)
                if post not in seen:
                    seen.add(post)
                    todo.append(post)
    singles = tuple(sorted(seen))
    device_code = {d: i for i, d in enumerate(devices)}
    row_index = {row.name: i for i, row in enumerate(spec.transitions)}
    shape = (len(devices), len(singles))
    classes = []
    for inst in machine.instances:
        enabled = np.zeros(shape, dtype=bool)
        nxt = np.tile(np.arange(len(singles), dtype=np.intp), (len(devices), 1))
        row = np.full(shape, -1, dtype=np.intp)
        device_next = np.arange(len(devices), dtype=np.intp)
        for (d, device), (c, single) in itertools.product(enumerate(devices), enumerate(singles)):
            answer = answers.get((inst.id, device, single))
            if answer is None:
                continue
            post, post_device, fired = answer
            enabled[d, c] = True
            nxt[d, c] = singles.index(post)
            row[d, c] = row_index[fired[0][1].name] if fired else -1
            device_next[d] = device_code[post_device]
        target = inst.event.target
        args = tuple((k, v) for k, v in inst.args if k != target)
        classes.append(ClassTable(inst.event, args, enabled, nxt, row, device_next))
    index = {(c.event.name, c.args): i for i, c in enumerate(classes)}
    return StepTables(spec, devices, singles, tuple(classes), index)


class StepCells:
    """The cells of :func:`step_tables`, each computed when first asked for:
    a search that meets a few (device, queue) tuples (several devices on one
    host, each with a handful of local states) asks the 1-queue machine only
    about those, not about every device valuation and every queue tuple.
    A cell is what the tables hold at (class, device, queue tuple) where the
    event is offered; :class:`Overlap` when two rows fire in it. Where the
    event is not offered the tables' device column needs the whole closure:
    :meth:`device_next` builds the full tables for it.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> spec = load_spec("resolved")
    >>> cells, tables = StepCells(spec), step_tables(spec)
    >>> inst = cells.machine.instances[0]
    >>> d, k = 0, 0
    >>> table = tables.classes[tables.class_of(inst)]
    >>> cell = cells.cell(cells.class_of(inst), tables.devices[d], tables.singles[k])
    >>> cell[0] == bool(table.enabled[d, k])
    True
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.machine = Machine(spec, 1)
        self.index = {
            (i.event.name, tuple((k, v) for k, v in i.args if k != i.event.target)): n
            for n, i in enumerate(self.machine.instances)
        }
        self.rows = {row.name: row for row in spec.transitions}
        self._cells: dict[tuple[int, tuple, tuple], tuple] = {}

    def class_of(self, inst: Instance) -> int:
        """The class of an instance of the N-queue machine (its number in :func:`step_tables`)."""
        target = inst.event.target
        return self.index[(inst.event.name, tuple((k, v) for k, v in inst.args if k != target))]

    def cell(self, cls: int, device: tuple, single: tuple) -> tuple:
        """(offered, the queue's tuple after it, the row that fired or None,
        the device after it); where not offered, (False, ``single``, None, None)."""
        key = (cls, device, single)
        found = self._cells.get(key)
        if found is None:
            inst = self.machine.instances[cls]
            pre = State(device, (single,))
            if not self.machine.enabled(pre, inst):
                found = (False, single, None, None)
            else:
                outcome = self.machine.step(pre, inst)
                if len(outcome.choices) != 1:
                    rows = " and ".join(r.name for r in outcome.ambiguous[0][1])
                    raise Overlap(f"{inst} fires both {rows} on one queue")
                choice = outcome.choices[0]
                row = self.rows[choice.fired[0][1].name] if choice.fired else None
                found = (True, choice.post.queues[0], row, choice.post.device)
            self._cells[key] = found
        return found

    def device_next(self, cls: int, device: tuple) -> tuple:
        """The tables' device after class ``cls`` from ``device``, read off the full tables."""
        tables = step_tables(self.spec)
        code = tables.devices.index(device)
        return tables.devices[tables.classes[cls].device_next[code]]
