"""An implementation that speaks the drive protocol, judged like a design: a verdict per property.

``oracle drive`` tests a child process against the table and stops each
test at its first divergence. This module runs the same child through the
analysis the real designs get (:mod:`.analysis`, :mod:`.liveness`): a
breadth-first search of the states the child reports, from every start it
reports, through every event the environment can issue, each run replayed
from a fresh ``start``; every property of the table checked on the child's
states and steps (its invariants, step and history properties, and the
liveness properties on the graph of those states), and every divergence
from the table grouped by symptom, the search going on from the child's
state. It needs every field the table has (and ``handled``): a property
cannot be judged on a field the child does not report.

The child's own bookkeeping is opaque: two runs the child reports alike are
one state of the search, so what it does not report cannot tell them apart
(the designs' analysis keeps their flags and counters too).

>>> import sys
>>> from virtio_notifier_spec.designs.catalogue import ROOT
>>> firecracker = [sys.executable, str(ROOT / "examples" / "vmm" / "firecracker.py")]
>>> analysis = analyse_child(firecracker, "registered", "rust_vmm", queues=1)
>>> analysis.verdict("no_lost_kick").verdict, analysis.verdict("stopped_vm_holds_none_of_ours").verdict
('holds', 'violated')
"""

from __future__ import annotations

from collections.abc import Sequence as Argv

from virtio_notifier_spec.oracle.implementation import Implementation, ImplementationFailure
from virtio_notifier_spec.oracle.observation import HANDLED, ObservationReader, checkable_fields
from virtio_notifier_spec.oracle.process import ProcessImplementation
from virtio_notifier_spec.spec.concrete import Layout, State
from virtio_notifier_spec.spec.schema import Spec

from .analysis import Analysis, analyse
from .catalogue import Entry
from .host import DesignAbort


class ChildObservationError(ValueError):
    """The child does not report what the analysis needs (every field), or not in the table's form."""


class _Opaque:
    """A child's bookkeeping, which the search cannot see."""

    def internal(self) -> tuple:
        return ()


class ChildRun:
    """One run of a child from a fresh ``start``, read as the table's state."""

    design = _Opaque()

    def __init__(self, child: Implementation, spec: Spec, queues: int, limited: bool) -> None:
        self.child = child
        self.queues = queues
        self.reader = ObservationReader(spec, queues)
        self.template = _template(spec, queues)
        self.needed = set(checkable_fields(spec))
        self.current = self._read(self._ask(lambda: child.start(queues, limited)), start=True)[0]

    def perform(self, event: str, args: dict) -> tuple[bool, ...]:
        raw = self._ask(lambda: self.child.event(event, dict(args)))
        self.current, handled = self._read(raw)
        return handled

    def state(self, spec: Spec) -> State:
        return self.current

    @staticmethod
    def _ask(call):
        try:
            return call()
        except ImplementationFailure as exc:
            raise DesignAbort(f"{exc.kind}: {exc.detail}") from None

    def _read(self, raw: object, *, start: bool = False) -> tuple[State, tuple[bool, ...]]:
        try:
            obs = self.reader.read(raw, "observed")
        except ValueError as exc:
            raise ChildObservationError(f"the child's observation does not fit the table: {exc}") from None
        missing = self.needed - obs.fields() - ({HANDLED} if start else set())
        observed_queues = {q for q, _ in obs.queues}
        if missing or len(observed_queues) != self.queues:
            names = ", ".join(sorted(missing)) or "every queue"
            raise ChildObservationError(f"a verdict per property needs every field; the child does not report {names}")
        handled = dict(obs.handled)
        return obs.patch(self.template), tuple(handled.get(q, False) for q in range(self.queues))


def _template(spec: Spec, queues: int) -> State:
    """Any state of the layout: every slot is overwritten by a full observation."""
    layout = Layout.of(spec)
    device = tuple(next(v for v in spec.variables if v.name == name).init[0] for name in layout.device)
    queue = tuple(next(v for v in spec.variables if v.name == name).init[0] for name in layout.queue)
    return State(device, (queue,) * queues)


def child_entry(command: Argv[str], table: str, env: str, name: str | None = None, *, timeout: float = 5.0) -> Entry:
    """A catalogue entry whose design is the child ``command`` (its process is
    started on first use; :func:`close` ends it)."""
    label = name or " ".join(command)
    process = ProcessImplementation(list(command), timeout=timeout)
    return Entry(label, f"the child {label}", None, env, (" ".join(command),), table=table, child=process)


def close(entry: Entry) -> None:
    if entry.child is not None:
        entry.child.close()


def analyse_child(
    command: Argv[str], table: str, env: str, queues: int = 2, *, name: str | None = None, timeout: float = 5.0
) -> Analysis:
    """Every property of ``table`` judged on the child ``command`` in ``env``,
    and its divergences from the table (:func:`.analysis.analyse`)."""
    entry = child_entry(command, table, env, name, timeout=timeout)
    try:
        return analyse(entry, queues)
    finally:
        close(entry)
