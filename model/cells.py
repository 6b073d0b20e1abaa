"""Properties read off (device, queue) cells: the packed engine's checks as lookups.

The packed engine already names every (device code, queue code) pair, a
*cell*, and its step tables (:mod:`.steptable`) say what each class of event
instance does to a cell. A property that reads only the device and one queue
at a time is then a function of cells, tabulated once on the 1-queue codec;
checking a chunk of states is one gather of its cells, and a table whose
cells are all good needs no gather at all. Which properties qualify is
decided on the typed expression tree (:func:`cell_form`); the others are
evaluated by :mod:`.vector` as before. The argument, for N >= 1 queues:

- a per-queue invariant whose expression is local (no quantifier, no
  indexed name: :func:`~virtio_notifier_spec.spec.expr.is_local`) holds on
  queue q of a state exactly when it holds on the 1-queue state (device,
  queue q's tuple), its cell;
- an expression ``E`` with at most one quantifier, a ``forall q`` reached
  from the root through ``and``, ``or`` and the right side of ``=>`` only,
  whose body reads per-queue variables only as ``x[q]`` (primed or not),
  and which otherwise reads the device and non-queue parameters: then
  ``E`` equals ``forall q: E1(cell of q)``, where ``E1`` is ``E`` read on
  the 1-queue state of that cell (``A and forall q: B`` is
  ``forall q: A and B`` when there is a queue; ``A or forall q: B`` is
  ``forall q: A or B``, and ``=>`` is ``not A or``). With no quantifier and
  no per-queue name, ``E`` reads the device alone, the same on every cell
  of it. So the state breaks ``E`` exactly when one of its cells is bad;
- a step property of that form, on a step of an instance of class k: queue
  q's post-step cell is (the device after, the queue's next code) for the
  queue the instance concerns (every queue, for an event on every queue),
  and (the device after, the same queue code) for the others. Two tables
  per class, the target's and the others', say which cells are bad;
- history freedom: when, for every class of the property's events and
  every cell of the states whose steps were taken (where it is offered),
  the post-step cell is a function of the cell's ``inputs`` (and, for the
  queues an instance leaves alone, their code is: they keep it), then any
  two of those steps with equal inputs and arguments end in one state, and
  nothing needs checking (:meth:`CellChecks.history_holds`). The engine
  asks again whenever a new cell appears; the first time the answer is no,
  it falls back to the step-by-step check, first replayed over the steps
  already taken, so that its first clash is the general explorer's.

Everything else (an ``exists``, a quantifier under ``not``, two
quantifiers, a queue index used as a value, a bare per-queue name outside a
per-queue invariant) is outside, and evaluated on whole states.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> checks = CellChecks(load_spec("resolved"))
>>> len(checks.invariants), len(checks.steps), sorted(checks.history)
(14, 2, ['load_is_history_free'])
>>> bad = checks.invariants["armed_only_when_driver_ok"]  # (device, queue) cells that break it
>>> int(bad.sum()), bad.size
(32, 120)
>>> bool(checks.step_bad_cells("reset_disarms_ours").any())
False
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from virtio_notifier_spec.spec.expr import QUEUE, BoolOp, Expr, Param, Quantifier, Var, is_local, walk
from virtio_notifier_spec.spec.schema import Property, PropertyKind, Spec

from .codec import Codec, value_index
from .steptable import ClassTable, StepTables, step_tables
from .vector import Frame, evaluate


def _quantifiers(node: Expr, positive: bool = True) -> list[Quantifier] | None:
    """The quantifiers of ``node``, or None when one is not a ``forall``
    reached through ``and``, ``or`` and the right side of ``=>``."""
    match node:
        case Quantifier(kind="forall") if positive:
            return [node]
        case BoolOp(op="and" | "or", left=left, right=right):
            parts = [_quantifiers(left, positive), _quantifiers(right, positive)]
        case BoolOp(left=left, right=right):  # "=>"
            parts = [_quantifiers(left, False), _quantifiers(right, positive)]
        case _:
            return None if any(isinstance(n, Quantifier) for n in walk(node)) else []
    if any(p is None for p in parts):
        return None
    return [q for p in parts for q in p]  # type: ignore[union-attr]


def cell_form(expr: Expr, per_queue: bool) -> bool:
    """Whether ``expr`` is a function of one cell at a time (see the module):
    a local per-queue expression, or one ``forall q`` in a positive place
    whose body reads per-queue names only as ``x[q]``, the rest the device.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> props = {p.name: p for p in load_spec("resolved").properties}
    >>> cell_form(props["status_zero_resets"].expr, False)
    True
    """
    if any(isinstance(n, Param) and n.type == QUEUE for n in walk(expr)):
        return False  # a queue index used as a value
    if per_queue:
        return is_local(expr)
    found = _quantifiers(expr)
    if found is None or len(found) > 1:
        return False
    bound = found[0].var if found else None
    inside = {id(n) for n in walk(found[0].body)} if found else set()
    for node in walk(expr):
        if isinstance(node, Var) and node.per_queue and (node.index != bound or id(node) not in inside):
            return False  # a bare name (queue 0 outside a per-queue invariant) or another queue
    return True


@dataclass(frozen=True, eq=False)
class StepCells:
    """A step property's bad cells for one class: on the queue the instance
    concerns (every queue, for an event on every queue) and on the others."""

    target: np.ndarray  # (D*K,) bool
    others: np.ndarray | None  # (D*K,) bool; None for an event on every queue

    def any(self) -> bool:
        return bool(self.target.any() or (self.others is not None and self.others.any()))


class CellChecks:
    """The cell tables of ``spec``'s properties that qualify; see the module."""

    def __init__(self, spec: Spec, tables: StepTables | None = None) -> None:
        self.spec = spec
        self.tables = tables or step_tables(spec)
        singles = self.tables.singles
        self.codec = Codec(spec, 1, singles)
        devices, count = len(self.tables.devices), len(singles)
        self.cell_device = np.repeat(np.arange(devices, dtype=np.intp), count)
        self.cell_queue = np.tile(np.arange(count, dtype=np.intp), devices)
        self.invariants: dict[str, np.ndarray] = {}  # name -> (D*K,) bad cells
        self.steps: dict[str, list[StepCells | None]] = {}  # name -> per class (None: not its event)
        self.history: dict[str, list] = {}  # name -> :meth:`_history_maps`
        for prop in spec.properties:
            reads_args = any(isinstance(n, Param) for n in walk(prop.expr)) if prop.expr is not None else False
            if prop.kind is PropertyKind.INVARIANT and not reads_args and cell_form(prop.expr, prop.per_queue):
                self.invariants[prop.name] = self._invariant(prop)
            elif prop.kind is PropertyKind.STEP and cell_form(prop.expr, False):
                self.steps[prop.name] = [self._step(prop, table) for table in self.tables.classes]
            elif prop.kind is PropertyKind.HISTORY_FREE:
                self.history[prop.name] = self._history_maps(prop)

    # -- frames of the 1-queue codec ----------------------------------------------------
    def _frame(self, post_device=None, post_queue=None, args=None) -> Frame:
        pre = (self.cell_device, self.cell_queue[:, None])
        post = None if post_device is None else (post_device, post_queue[:, None])
        return Frame(self.codec, pre, post, args or {})

    def _invariant(self, prop: Property) -> np.ndarray:
        value = evaluate(prop.expr, self._frame(), per_queue=prop.per_queue)
        return ~(value[:, 0] if prop.per_queue else value)

    def _args(self, table: ClassTable) -> dict[str, int]:
        types = {p.name: p.type for p in table.event.params}
        return {name: value_index(types[name], value) for name, value in table.args}

    def _step(self, prop: Property, table: ClassTable) -> StepCells | None:
        if table.event.name not in prop.events:
            return None
        post_device = table.device_next[self.cell_device]
        args = self._args(table)
        moved = table.next.ravel()
        target = ~evaluate(prop.expr, self._frame(post_device, moved, args)) & table.enabled.ravel()
        if not table.targeted:
            return StepCells(target, None)
        others = ~evaluate(prop.expr, self._frame(post_device, self.cell_queue, args))
        return StepCells(target, others)

    def _history_maps(self, prop: Property) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per class of the property's events and role (the queue it concerns,
        the others): (group of each cell's inputs, its post-step cell, where
        it applies), each (D*K,)."""
        spec, tables = self.spec, self.tables
        dev_slots = [i for i, v in enumerate(spec.device_variables) if v.name in prop.inputs]
        queue_slots = [i for i, v in enumerate(spec.queue_variables) if v.name in prop.inputs]
        numbered: dict[tuple, int] = {}
        group = np.array(
            [
                numbered.setdefault((tuple(d[s] for s in dev_slots), tuple(t[s] for s in queue_slots)), len(numbered))
                for d in tables.devices
                for t in tables.singles
            ],
            dtype=np.intp,
        )
        count = len(tables.singles)
        maps = []
        for table in tables.classes:
            if table.event.name not in prop.events:
                continue
            post_device = table.device_next[self.cell_device] * count
            enabled = table.enabled.ravel()
            maps.append((group, post_device + table.next.ravel(), enabled))
            if table.targeted:  # an untouched queue keeps its code
                offered = np.repeat(table.enabled.any(axis=1), count)
                maps.append((group, post_device + self.cell_queue, offered))
        return maps

    def history_holds(self, name: str, present: np.ndarray) -> bool:
        """True when, over the cells ``present`` (bool, (D*K,): every cell of
        every state whose steps were taken), the post-step cell of every
        class of the property's events is a function of the cell's inputs:
        then no two of those steps with equal inputs and arguments end apart.

        >>> from virtio_notifier_spec.spec.load import load_spec
        >>> checks = CellChecks(load_spec("resolved"))
        >>> checks.history_holds("load_is_history_free", np.zeros(120, dtype=bool))
        True
        """
        for group, post, applies in self.history[name]:
            where = present & applies
            g, p = group[where], post[where]
            if len(np.unique(g)) != len(np.unique(g * len(group) + p)):
                return False  # one group of inputs, two post-step cells
        return True

    def step_bad_cells(self, name: str) -> np.ndarray:
        """(D*K,) the cells from which some step of the property's events
        breaks it, on any queue: a state without one breaks it on no step."""
        bad = np.zeros(len(self.cell_device), dtype=bool)
        for cells in self.steps[name]:
            if cells is not None:
                bad |= cells.target if cells.others is None else cells.target | cells.others
        return bad
