"""What one device of a system does, as lookup tables: the packed system engine's step.

The system engine (:mod:`.system`) steps each device on its own: whether an
event is offered, KVM's answers (:mod:`.answers`), the state after it, the
rows that fired, the slots held, the table's checks. All of it is a function
of the device's own state (its variables, host facts included, and its
queues, kept sorted). So for each *kind* of device (its queue count and
whether vhost serves it: devices of one kind have the same moves) the
states one device can reach are enumerated once, from the starts, under
every move offered to it (its own events and the VM-wide ones), and every
outcome is asked of the system engine's own code (:class:`.answers.Answers`,
``Machine.enabled``, the compiled checks). The tables are exactly what that
code answers; the packed search (:mod:`.packed_system`) only looks them up.

A device's *local state* is its number among those states; a move's
outcomes from it are a run of a flat array (``start``, ``count``), in the
order the system engine yields them.

>>> from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
>>> from virtio_notifier_spec.scale.system import System
>>> system = System(load_config(CONFIG_DIR / "three_devices.toml"))
>>> tables = device_tables(system)
>>> [(kind.queues, kind.vhost, len(kind.states)) for kind in tables.kinds]
[(2, True, 36), (3, False, 6)]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.model.packable import packed_refusal
from virtio_notifier_spec.model.steptable import Overlap, StepCells
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec

from .answers import Answers, Option
from .device_symmetry import kind_key
from .system import Sys, System

#: A kind whose devices reach more states than this is left to the system engine.
MAX_LOCAL_STATES = 1 << 20
#: Invariants, and step properties, are bits of one 64-bit word.
MAX_CHECKS = 64


class TooLarge(ValueError):
    """The devices' tables, or the packed system states, would be too large."""


@dataclass(frozen=True, eq=False)
class Outcomes:
    """The outcomes of a set of moves, flat: outcome ``e`` leads to local
    state ``post[e]``, needed KVM to grant (``granted[e]``), changes the
    device's slots by ``delta[e]`` and breaks the step properties whose bits
    are set in ``bad[e]``. ``start[m, l]``, ``count[m, l]``: the run of move
    ``m`` from local state ``l`` (count 0: not offered)."""

    start: np.ndarray  # (moves, L) int64
    count: np.ndarray  # (moves, L) int64
    post: np.ndarray  # (E,) int64
    granted: np.ndarray  # (E,) bool
    delta: np.ndarray  # (E,) int64
    bad: np.ndarray  # (E,) uint64

    @property
    def widest(self) -> np.ndarray:
        """(moves,) the most outcomes a move has from any local state."""
        return self.count.max(axis=1, initial=0)


@dataclass(frozen=True, eq=False)
class Kind:
    """The tables of one kind of device (see the module)."""

    queues: int
    vhost: bool
    moves: tuple[Instance, ...]  # its own moves, in the system engine's order
    states: tuple[State, ...]  # local state number -> the device's (sorted) state
    index: dict[State, int]
    used: np.ndarray  # (L,) slots the device holds
    broken: np.ndarray  # (L,) uint64: bit p set when invariant p is false on the device
    own: Outcomes  # its own moves
    vm: Outcomes  # the VM-wide moves (the same list for every kind)


@dataclass(frozen=True, eq=False)
class DeviceTables:
    """Every kind's tables, and which kind each device of the configuration is."""

    system: System
    kinds: tuple[Kind, ...]
    kind_of: tuple[int, ...]  # device -> kind
    vm_moves: tuple[tuple[str, tuple], ...]  # (event, args shown) of each VM-wide move
    vm_takes: tuple[bool, ...]
    own_takes: tuple[tuple[bool, ...], ...]  # kind -> its moves' "is a vhost take"
    starts: tuple[Sys, ...]  # the system engine's starts, in its order


def own_moves(system: System, device: int) -> tuple[Instance, ...]:
    """The events of one device that are its own (not VM-wide), in :meth:`.System.moves` order."""
    spec_device = system.config.devices[device]
    found = []
    for inst in system.machines[device].instances:
        name = inst.event.name
        if name in system.vm_wide or (name in system.vhost_events and not spec_device.vhost):
            continue
        if system._listed(inst):
            found.append(inst)
    return tuple(found)


def vm_moves(system: System) -> list[Instance]:
    """The VM-wide events, as instances of the first device's machine, in :meth:`.System.moves` order."""
    return [i for i in system.machines[0].instances if i.event.name in system.vm_wide and system._listed(i)]


def device_tables(system: System, *, limit: int = MAX_LOCAL_STATES) -> DeviceTables:
    """The tables of every kind of device in ``system`` (see the module);
    :class:`TooLarge` when a kind reaches more than ``limit`` states."""
    config = system.config
    for what, found in (("invariants", system.invariants), ("step properties", system.step_props)):
        if len(found) > MAX_CHECKS:
            raise TooLarge(f"{len(found)} {what}: the packed system engine keeps at most {MAX_CHECKS}")
    starts = tuple(system.starts())
    vm = vm_moves(system)
    keys: dict[tuple, int] = {}
    kind_of = []
    for device in config.devices:
        kind_of.append(keys.setdefault(kind_key(device), len(keys)))
    representative = {k: kind_of.index(k) for k in keys.values()}
    kinds = []
    for k in range(len(keys)):
        i = representative[k]
        seeds = [start[j] for start in starts for j in range(len(config.devices)) if kind_of[j] == k]
        try:
            kinds.append(_kind(system, i, vm, seeds, limit, answers_for(system, i)))
        except Overlap:  # two rows fire on one queue somewhere: step the machine
            kinds.append(_kind(system, i, vm, seeds, limit, system.answers[i]))
    vm_shown = tuple((i.event.name, system._shown(i)) for i in vm)
    return DeviceTables(
        system,
        tuple(kinds),
        tuple(kind_of),
        vm_shown,
        tuple(system.is_vhost_take(name, dict(args)) for name, args in vm_shown),
        tuple(tuple(system.is_vhost_take(m.event.name, dict(system._shown(m))) for m in kind.moves) for kind in kinds),
        starts,
    )


class _Flat:
    """Outcomes being collected, move by move, state by state."""

    def __init__(self, moves: int) -> None:
        self.moves = moves
        self.start: list[list[int]] = [[] for _ in range(moves)]
        self.count: list[list[int]] = [[] for _ in range(moves)]
        self.post: list[int] = []
        self.granted: list[bool] = []
        self.delta: list[int] = []
        self.bad: list[int] = []

    def done(self, states: int) -> Outcomes:
        return Outcomes(
            np.array(self.start, dtype=np.int64).reshape(self.moves, states),
            np.array(self.count, dtype=np.int64).reshape(self.moves, states),
            np.array(self.post, dtype=np.int64),
            np.array(self.granted, dtype=bool),
            np.array(self.delta, dtype=np.int64),
            np.array(self.bad, dtype=np.uint64),
        )


class TabledAnswers(Answers):
    """:class:`.answers.Answers` whose per-queue options are read from the
    cells of the step tables (``model/steptable.py``, :class:`StepCells`:
    each cell asked of the 1-queue machine once, when first needed) instead
    of stepping the N-queue machine: for a table inside the packed engine's
    fragment a queue's row and tuple after an event are a function of
    (device, its own tuple, the arguments). How the options combine into
    outcomes is the base class's. ``tests/scale/test_packed_system.py``
    compares both on every state and move of every kind. A cell where two
    rows fire raises :class:`Overlap` (the caller steps the machine instead)."""

    def __init__(self, machine: Machine, answer: str | None, cells: StepCells) -> None:
        super().__init__(machine, answer)
        self.cells = cells
        self.plan: dict[int, tuple] = {}  # instance -> (its runs: (class, answer), the queues it concerns)
        for inst in machine.instances:
            if inst.id in self.flipped:
                value = inst.values[answer]
                runs = ((cells.class_of(inst), value), (cells.class_of(self.flipped[inst.id]), not value))
            else:
                runs = ((cells.class_of(inst), None),)
            target = inst.target
            self.plan[inst.id] = (runs, (target,) if target is not None else tuple(range(machine.queues)))

    def enabled(self, state: State, inst: Instance) -> bool:
        """``Machine.enabled``, from the cells: in the fragment an event's
        ``when`` reads the device and at most its target queue."""
        runs, concerned = self.plan[inst.id]
        return self.cells.cell(runs[0][0], state.device, state.queues[concerned[0]])[0]

    def options(self, state: State, inst: Instance) -> tuple[tuple, dict[int, list[Option]]]:
        runs, concerned = self.plan[inst.id]
        cell = self.cells.cell
        found: dict[int, dict[tuple, set[bool | None]]] = {}
        device = state.device
        for cls, value in runs:
            after = None
            for q in concerned:
                offered, post, row, post_device = cell(cls, state.device, state.queues[q])
                if offered:
                    after = post_device
                found.setdefault(q, {}).setdefault((post, row), set()).add(value)
            device = after if after is not None else self.cells.device_next(cls, state.device)
        per_queue = {
            q: [Option(post, row, None if len(seen) > 1 else next(iter(seen))) for (post, row), seen in results.items()]
            for q, results in found.items()
        }
        return device, per_queue


def answers_for(system: System, device: int) -> Answers:
    """The fastest exact :class:`.answers.Answers` for a device of ``system``."""
    cells = step_cells(system.spec)
    if cells is None:
        return system.answers[device]
    return TabledAnswers(system.machines[device], system.answer, cells)


@lru_cache(maxsize=16)
def step_cells(spec: Spec) -> StepCells | None:
    """One :class:`StepCells` per table, shared by its kinds of device; None
    outside the packed engine's fragment."""
    return StepCells(spec) if packed_refusal(spec) is None else None


def _kind(system: System, device: int, vm: list[Instance], seeds: list[State], limit: int, answers: Answers) -> Kind:
    machine = system.machines[device]
    spec_device = system.config.devices[device]
    own = own_moves(system, device)
    vm_here = [machine.instance(i.event.name, **i.values) for i in vm]
    step_props = system.step_props
    slot_slots = system.slot_slots
    weight = system.weights[device]  # ioeventfds per holder: the device's notify addresses

    held_by: dict[State, int] = {}

    def used(state: State) -> int:
        found = held_by.get(state)
        if found is None:
            found = held_by[state] = weight * sum(1 for q in state.queues for s in slot_slots if q[s])
        return found

    states: list[State] = []
    index: dict[State, int] = {}

    def number(state: State) -> int:
        found = index.get(state)
        if found is None:
            if len(states) >= limit:
                raise TooLarge(f"a device like {spec_device.name} reaches more than {limit:,} states")
            found = index[state] = len(states)
            states.append(state)
        return found

    for seed in seeds:
        number(seed)
    flats = (_Flat(len(own)), _Flat(len(vm_here)))
    plans = []  # per move list: (instance, its target, its arguments as shown, the step properties about it)
    for moves in (own, vm_here):
        plans.append(
            [
                (
                    inst,
                    inst.target,
                    dict(system._shown(inst)),
                    [(1 << p, f) for p, (prop, f) in enumerate(step_props) if inst.event.name in prop.events],
                )
                for inst in moves
            ]
        )
    enabled = answers.enabled if isinstance(answers, TabledAnswers) else machine.enabled
    done = 0
    while done < len(states):
        state = states[done]
        done += 1
        held = used(state)
        for flat, plan, dedupe in ((flats[0], plans[0], True), (flats[1], plans[1], False)):
            for m, (inst, q, values, props) in enumerate(plan):
                flat.start[m].append(len(flat.post))
                if dedupe and q is not None and q > 0 and state.queues[q] == state.queues[q - 1]:
                    flat.count[m].append(0)  # the same as the same event on the previous, identical queue
                    continue
                if not enabled(state, inst):
                    flat.count[m].append(0)
                    continue
                outcomes = answers._outcomes(state, inst)  # each (state, move) is asked once: no memo
                flat.count[m].append(len(outcomes))
                for outcome in outcomes:
                    post = State(outcome.post.device, tuple(sorted(outcome.post.queues)))
                    flat.post.append(number(post))
                    flat.granted.append(outcome.granted)
                    flat.delta.append(used(post) - held)
                    bad = 0
                    for bit, f in props:
                        if not f(state, outcome.post, values, 0):
                            bad |= bit
                    flat.bad.append(bad)
    broken = np.zeros(len(states), dtype=np.uint64)
    for p, (prop, f) in enumerate(system.invariants):
        for local, state in enumerate(states):
            queues = range(len(state.queues)) if prop.per_queue else (0,)
            if not all(f(state, None, {}, q) for q in queues):
                broken[local] |= np.uint64(1 << p)
    return Kind(
        spec_device.queues,
        spec_device.vhost,
        own,
        tuple(states),
        index,
        np.array([used(s) for s in states], dtype=np.int64),
        broken,
        flats[0].done(len(states)),
        flats[1].done(len(states)),
    )
