"""Judge one design: every state it reaches in its environment, every property, every divergence.

A breadth-first search over the design's own states (its abstraction as the
table's state, plus its bookkeeping), from every start its environment
allows (host limit, which queues vhost serves), through every event the
environment can issue there (the ``when`` of the profile, read on the
design's state). On each step:

- the properties of ``common.toml`` are checked on the design (invariants
  on every state, step properties on every step, history freedom across
  steps of ``load``), the first violation found being a shortest one;
- the step is compared with what ``resolved`` does *from the design's
  state* (the oracle's resynchronised judgement): every observed field
  that differs is a divergence, grouped by symptom, the event, the row
  ``resolved`` fires on the queue and the variables that differ. The
  first step of a group found is a shortest sequence that shows it.

A design that aborts on a step shows the symptom ``abort`` there.

>>> from virtio_notifier_spec.designs.catalogue import entry
>>> result = analyse(entry("qemu_today"), queues=1)
>>> result.verdict("no_lost_kick").verdict
'holds'
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.oracle.observation import HANDLED, KICK_EVENT, Mismatch, ObservationReader, full_observation
from virtio_notifier_spec.proofs.hygiene import antecedent
from virtio_notifier_spec.spec.concrete import Layout, State, compile_expr
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import inapplicable
from virtio_notifier_spec.spec.schema import Property, PropertyKind, Spec

from .catalogue import Entry
from .host import DesignAbort, Run

HOLDS, VIOLATED, NOT_APPLICABLE = "holds", "violated", "n/a"
START = "start"


@dataclass(frozen=True, slots=True, order=True)
class Symptom:
    """What a divergence looks like: the event, the row ``resolved`` fires on
    the queue that differs (``device`` for a device variable, ``abort`` when
    the design stops, the message then in ``variable``) and the first
    variable that differs (in the table's order: ``state`` first, then the
    resources, ``pending``, then the oracle's ``handled``)."""

    event: str
    row: str
    variable: str

    def __str__(self) -> str:
        return f"{self.event} / {self.row} / {self.variable}"


@dataclass(frozen=True, slots=True)
class Sequence:
    """A run from a fresh device: its host and vhost configuration, then events."""

    limited: bool
    served: tuple[bool, ...]
    events: tuple[Instance, ...]

    def describe(self) -> str:
        served = ",".join("true" if s else "false" for s in self.served)
        head = f"start(limited={'true' if self.limited else 'false'}, vhost_serves=[{served}])"
        return "; ".join([head, *(str(e) for e in self.events)])


@dataclass(frozen=True, slots=True)
class Group:
    """Every step of the design that shows one symptom: how many (state,
    event) pairs, every variable that differed in them, and the shortest."""

    symptom: Symptom
    count: int
    fields: tuple[str, ...]
    sequence: Sequence
    detail: tuple[str, ...]  # the mismatches of the shortest step, e.g. "q1.state: expected ..., observed ..."


@dataclass(frozen=True, slots=True)
class PropertyVerdict:
    name: str
    verdict: str
    lemma: bool = False
    reason: str = ""
    sequence: Sequence | None = None


@dataclass(frozen=True)
class Analysis:
    entry: Entry
    spec: Spec
    queues: int
    states: int
    steps: int
    verdicts: tuple[PropertyVerdict, ...]
    groups: tuple[Group, ...]
    seconds: float = field(compare=False, default=0.0)

    def verdict(self, name: str) -> PropertyVerdict:
        return next(v for v in self.verdicts if v.name == name)


@dataclass(slots=True)
class _Node:
    sequence: Sequence
    state: State


def replay(entry: Entry, sequence: Sequence, spec: Spec) -> tuple[Run, tuple[bool, ...]]:
    """A fresh run of the design (or of the entry's child) through
    ``sequence``; the handled flags of its last step."""
    if entry.child is not None:
        from .child import ChildRun  # the protocol child judged as a design (child.py imports this module)

        run = ChildRun(entry.child, spec, len(sequence.served), sequence.limited)
    else:
        run = Run(entry.design, len(sequence.served), sequence.limited, sequence.served)
    handled: tuple[bool, ...] = (False,) * len(sequence.served)
    for inst in sequence.events:
        handled = run.perform(inst.event.name, dict(inst.args))
    return run, handled


def start_sequences(entry: Entry, machine: Machine) -> list[Sequence]:
    """The fresh devices to search from: one per host limit and vhost
    configuration the environment allows, or, for a child, the one it
    reports for each host limit (which queues vhost serves is its choice)."""
    layout = machine.layout
    limited_slot, served_slot = layout.device.index("limited"), layout.queue.index("vhost_serves")
    found: list[Sequence] = []
    for start in machine.initial_states():
        served = tuple(q[served_slot] for q in start.queues)
        sequence = Sequence(start.device[limited_slot], served, ())
        if entry.child is not None:
            try:
                run, _ = replay(entry, sequence, machine.spec)
            except DesignAbort as stop:
                from .child import ChildObservationError

                raise ChildObservationError(f"the child cannot start a device: {stop}") from None
            sequence = Sequence(sequence.limited, tuple(q[served_slot] for q in run.state(machine.spec).queues), ())
        if entry.uniform_vhost and len(set(served)) > 1:
            continue
        if sequence not in found:
            found.append(sequence)
    return found


def observation(spec: Spec, post: State, handled: tuple[bool, ...]) -> dict:
    """Everything the design shows after a step, as the oracle reads it."""
    observed = full_observation(spec, None, post, None)
    for entry, value in zip(observed["queues"], handled, strict=True):
        entry[HANDLED] = value
    return observed


class _Search:
    def __init__(self, entry: Entry, queues: int) -> None:
        self.entry = entry
        self.spec = load_spec(entry.table, env=entry.env)
        self.machine = Machine(self.spec, queues)
        self.reader = ObservationReader(self.spec, queues)
        layout = Layout.of(self.spec)
        self.order = (*layout.device, *layout.queue, HANDLED)
        self.limited_slot = layout.device.index("limited")
        self.served_slot = layout.queue.index("vhost_serves")
        props = self.spec.properties
        self.invariants = [(p, compile_expr(p.expr, layout)) for p in props if p.kind is PropertyKind.INVARIANT]
        self.premises = {}
        for p in props:
            found = antecedent(p.expr) if p.kind is PropertyKind.INVARIANT else None
            if found is not None and not found[0]:
                self.premises[p.name] = compile_expr(found[1], layout)
        self.premise_seen: set[str] = set()
        self.step_props = [(p, compile_expr(p.expr, layout)) for p in props if p.kind is PropertyKind.STEP]
        self.history = [p for p in props if p.kind is PropertyKind.HISTORY_FREE]
        self.history_seen: dict[tuple, State] = {}
        self.violations: dict[str, tuple[str, Sequence]] = {}
        self.groups: dict[Symptom, list] = {}
        self.seen: dict[tuple, _Node] = {}
        self.steps = 0

    # -- the search ------------------------------------------------------------------
    def run(self) -> None:
        frontier: deque[_Node] = deque()
        for sequence in self._starts():
            run, _ = replay(self.entry, sequence, self.spec)
            node = _Node(sequence, run.state(self.spec))
            key = (node.state, run.design.internal(), _host(run))
            if key not in self.seen:
                self.seen[key] = node
                self._check_start(node)
                frontier.append(node)
        while frontier:
            node = frontier.popleft()
            for inst in self.machine.instances:
                if self.machine.enabled(node.state, inst):
                    self._expand(node, inst, frontier)

    def _starts(self) -> list[Sequence]:
        return start_sequences(self.entry, self.machine)

    def _expand(self, node: _Node, inst: Instance, frontier: deque) -> None:
        self.steps += 1
        sequence = Sequence(node.sequence.limited, node.sequence.served, (*node.sequence.events, inst))
        try:
            run, handled = replay(self.entry, sequence, self.spec)
        except DesignAbort as stop:
            self._diverged(Symptom(inst.event.name, "abort", str(stop)), (), sequence, (str(stop),))
            return
        post = run.state(self.spec)
        self._check_step(node.state, post, inst, sequence)
        self._compare(node.state, post, handled, inst, sequence)
        key = (post, run.design.internal(), _host(run))
        if key not in self.seen:
            new = _Node(sequence, post)
            self.seen[key] = new
            self._check_state(new)
            frontier.append(new)

    # -- properties --------------------------------------------------------------------
    def _check_start(self, node: _Node) -> None:
        self._check_state(node)
        starts = [s for s in self.machine.initial_states() if _config(self, s) == _config_of(node.sequence)]
        starts = starts or [s for s in self.machine.initial_states() if _config(self, s)[0] == node.sequence.limited]
        if node.state not in starts:
            mismatches = self._mismatches(starts[0], starts[0], node.state, None, None)
            self._group(START, {}, mismatches, node.sequence)

    def _check_state(self, node: _Node) -> None:
        state = node.state
        for prop, holds in self.invariants:
            queues = range(len(state.queues)) if prop.per_queue else (0,)
            premise = self.premises.get(prop.name)
            for q in queues:
                if premise is not None and premise(state, None, {}, q):
                    self.premise_seen.add(prop.name)
                if prop.name not in self.violations and not holds(state, None, {}, q):
                    where = f"queue {q} breaks it" if prop.per_queue else "the state breaks it"
                    self.violations[prop.name] = (where, node.sequence)

    def _check_step(self, pre: State, post: State, inst: Instance, sequence: Sequence) -> None:
        args = inst.values
        for prop, holds in self.step_props:
            broken = inst.event.name in prop.events and not holds(pre, post, args, 0)
            if broken and prop.name not in self.violations:
                self.violations[prop.name] = (f"false across {inst.event.name}", sequence)
        for prop in self.history:
            if inst.event.name in prop.events and prop.name not in self.violations:
                key = (prop.name, inst.id, _inputs(self.spec, prop, pre))
                seen = self.history_seen.setdefault(key, post)
                if seen != post:
                    self.violations[prop.name] = ("two histories that agree on its inputs end apart", sequence)

    # -- divergences -------------------------------------------------------------------
    def _compare(self, pre: State, post: State, handled, inst: Instance, sequence: Sequence) -> None:
        outcome = self.machine.step(pre, inst)
        choice = outcome.choices[0]
        kicked = inst.target if inst.event.name == KICK_EVENT else None
        obs = self.reader.read(observation(self.spec, post, handled), "observed")
        mismatches = obs.mismatches(pre, choice.post, kicked)
        if mismatches:
            self._group(inst.event.name, dict(choice.fired), mismatches, sequence)

    def _mismatches(self, pre, expected, post, handled, kicked) -> list[Mismatch]:
        obs = self.reader.read(observation(self.spec, post, handled or (False,) * len(post.queues)), "observed")
        return obs.mismatches(pre, expected, kicked)

    def _group(self, event: str, fired: dict, mismatches: list[Mismatch], sequence: Sequence) -> None:
        by_place: dict[str, list[Mismatch]] = {}
        for m in mismatches:
            place = m.field.split(".")[0] if "." in m.field else "device"
            by_place.setdefault(place, []).append(m)
        for place, found in by_place.items():
            if place == "device":  # named by the row resolved fires on the first queue
                row_of = fired.get(0)
                row = row_of.name if row_of is not None else ("(start)" if event == START else "no row")
            else:
                row_of = fired.get(int(place[1:]))
                row = row_of.name if row_of is not None else ("(start)" if event == START else "no row")
            names = {m.field.split(".")[-1] for m in found}
            fields = tuple(name for name in self.order if name in names)
            self._diverged(Symptom(event, row, fields[0]), fields, sequence, tuple(str(m) for m in found))

    def _diverged(self, symptom: Symptom, fields, sequence: Sequence, detail: tuple[str, ...]) -> None:
        found = self.groups.get(symptom)
        if found is None:
            self.groups[symptom] = [1, set(fields), sequence, detail]
        else:
            found[0] += 1
            found[1].update(fields)

    # -- the result --------------------------------------------------------------------
    def verdicts(self) -> tuple[PropertyVerdict, ...]:
        out = []
        for prop in self.spec.properties:
            out.append(self._verdict(prop))
        return tuple(out)

    def _verdict(self, prop: Property) -> PropertyVerdict:
        why = inapplicable(self.spec, prop)
        if why is not None:
            return PropertyVerdict(prop.name, NOT_APPLICABLE, prop.lemma, why)
        if prop.name in self.violations:
            where, sequence = self.violations[prop.name]
            return PropertyVerdict(prop.name, VIOLATED, prop.lemma, where, sequence)
        if prop.name in self.premises and prop.name not in self.premise_seen:
            return PropertyVerdict(prop.name, NOT_APPLICABLE, prop.lemma, "its premise never holds in this design")
        return PropertyVerdict(prop.name, HOLDS, prop.lemma)


def _config_of(sequence: Sequence) -> tuple:
    return (sequence.limited, sequence.served)


def _config(search: _Search, start: State) -> tuple:
    return (start.device[search.limited_slot], tuple(q[search.served_slot] for q in start.queues))


def _host(run: Run) -> tuple:
    """What the host holds beyond the abstraction: which eventfd each queue's
    registrations and readers use."""
    design = run.design
    if not hasattr(design, "eventfds"):
        return ()  # a child's eventfds are its own
    found = []
    for n in range(design.queues):
        fds = design.eventfds(n)
        found.append(tuple((fd is design.notifier(n), fd.counter > 0, run.kernel.reader(fd)) for fd in fds))
    return tuple(found)


def _inputs(spec: Spec, prop: Property, state: State) -> tuple:
    layout = Layout.of(spec)
    values = []
    for name in prop.inputs:
        if name in layout.device:
            values.append(state.device[layout.device.index(name)])
        else:
            slot = layout.queue.index(name)
            values.append(tuple(q[slot] for q in state.queues))
    return tuple(values)


def analyse(entry: Entry, queues: int = 2) -> Analysis:
    """Every reachable state of ``entry``'s design in its environment, for ``queues`` queues."""
    began = time.perf_counter()
    search = _Search(entry, queues)
    search.run()
    groups = tuple(
        Group(symptom, count, tuple(n for n in search.order if n in fields), sequence, detail)
        for symptom, (count, fields, sequence, detail) in sorted(search.groups.items(), key=_order)
    )
    from .liveness import liveness_verdicts  # the same states, every step kept (liveness.py imports this module)

    return Analysis(
        entry,
        search.spec,
        queues,
        len(search.seen),
        search.steps,
        search.verdicts() + liveness_verdicts(entry, queues),
        groups,
        time.perf_counter() - began,
    )


def _order(item) -> tuple:
    symptom, (_, _, sequence, _) = item
    return (len(sequence.events), symptom)
