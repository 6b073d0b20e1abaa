"""Several devices on one host, sharing the host's ioeventfd slots.

The composition (spec/README.md, "Several devices"):

- Each device runs the table (:class:`~.machine.Machine`) with its own
  queue count. The device-scope ``host`` variables (``limited``,
  ``running``) are facts of the host and the VM, so they are equal in every
  device; ``limited`` is fixed by the configuration (a host with a slot
  limit is a limited host).
- An event that writes a shared host variable (``vm_stop``, ``vm_run``) is
  VM-wide: one step fires it on every device. Every other event is one
  device's; ``set_host_notifier`` is offered only on devices vhost serves.
- Every true ``our_fd`` or ``vhost_fd`` of any queue of any device holds one
  slot. On a limited host KVM grants an assignment (``assign_ok = true``)
  only if the step then fits in the slots; it may always refuse.
- ``vhost_never_starved``: when vhost takes a host notifier and the slots
  vhost needs (the queues of the devices it serves) are at most the limit,
  the take fits. vhost's rows do not ask KVM, so a take that does not fit
  is the starvation the limit flag exists to prevent: reported with a
  shortest trace, and not admitted (KVM refused it).
- ``slots_within_limit``: no other step registers more ioeventfds than the
  host has.
- Every invariant and step property of the table is checked per device.
  History freedom, a property of one device's migration, is not repeated.

Queues of one device are interchangeable (:mod:`.symmetry`), so each device
is kept with its queue tuples sorted; counterexamples are replayed on
concrete queues, so they stay runnable and shortest.

>>> from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
>>> result = explore_system(load_config(CONFIG_DIR / "three_devices.toml"))
>>> result.ok
True
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from virtio_notifier_spec.model.explore import INTERRUPTED, TIMEOUT
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.model.trace import format_state
from virtio_notifier_spec.spec.concrete import State, compile_expr
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import PropertyKind, Spec, Transition

from .config import Config
from .symmetry import symmetry_refusal

SLOT_VARIABLES = ("our_fd", "vhost_fd")
VHOST_EVENT = "set_host_notifier"
SYSTEM_CHECKS = ("vhost_never_starved", "slots_within_limit")

Sys = tuple[State, ...]


@dataclass(frozen=True, slots=True)
class SysStep:
    """One step of the system: ``event(args)`` on ``device`` (None: every device)."""

    device: str | None
    event: str
    args: tuple[tuple[str, object], ...]
    fired: tuple[tuple[str, int, Transition], ...]
    post: Sys

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in self.args)
        where = f"{self.device}: " if self.device else "vm: "
        rows = ", ".join(f"{d}.q{q} {r.label}" for d, q, r in self.fired if not r.quiet) or "nothing changes"
        return f"{where}{self.event}({shown})  [{rows}]"


@dataclass(frozen=True, slots=True)
class SysCounterexample:
    name: str
    message: str
    start: Sys
    steps: tuple[SysStep, ...]

    def format(self, system: System) -> str:
        lines = [f"  0. start  {system.show(self.start)}"]
        for number, step in enumerate(self.steps, start=1):
            lines.append(f"  {number}. {step}")
            lines.append(f"     -> {system.show(step.post)}")
        return "\n".join(lines)


@dataclass(frozen=True)
class SystemExploration:
    config: Config
    states: int
    transitions: int
    depth: int
    counterexamples: dict[str, SysCounterexample]
    checks: tuple[str, ...]
    seconds: float
    partial: str | None = None

    @property
    def ok(self) -> bool:
        return not self.counterexamples and self.partial is None

    def verdict(self, name: str) -> str:
        if name in self.counterexamples:
            return "fails"
        return "unknown" if self.partial else "holds"


class System:
    """The devices of a configuration, composed."""

    def __init__(self, config: Config, spec: Spec | None = None) -> None:
        self.config = config
        self.spec = spec or load_spec(config.table)
        refusal = symmetry_refusal(self.spec)
        if refusal is not None:
            raise refusal
        self.machines = tuple(Machine(self.spec, d.queues) for d in config.devices)
        layout = self.machines[0].layout
        self.slot_slots = tuple(layout.queue.index(v) for v in SLOT_VARIABLES if v in layout.queue)
        self.shared = tuple(layout.device.index(v.name) for v in self.spec.device_variables if v.host)
        shared_names = {self.spec.device_variables[i].name for i in self.shared}
        self.vm_wide = {e.name for e in self.spec.events if any(x.target.name in shared_names for x in e.effects)}
        limited = layout.device.index("limited") if "limited" in layout.device else None
        self.limited_slot = limited
        props = self.spec.properties
        self.invariants = [(p, compile_expr(p.expr, layout)) for p in props if p.kind is PropertyKind.INVARIANT]
        self.step_props = [(p, compile_expr(p.expr, layout)) for p in props if p.kind is PropertyKind.STEP]
        self.checks = (*(p.name for p in props if p.kind is not PropertyKind.HISTORY_FREE), *SYSTEM_CHECKS)

    # -- states -----------------------------------------------------------------
    @staticmethod
    def canonical(system: Sys) -> Sys:
        return tuple(State(d.device, tuple(sorted(d.queues))) for d in system)

    def used(self, system: Sys) -> int:
        return sum(1 for d in system for q in d.queues for s in self.slot_slots if q[s])

    def starts(self) -> list[Sys]:
        per_device = []
        for machine in self.machines:
            states = machine.initial_states()
            if self.limited_slot is not None:
                states = [s for s in states if s.device[self.limited_slot] == self.config.limited]
            per_device.append(states)
        found = []
        for combo in itertools.product(*per_device):
            if all(
                tuple(d.device[i] for i in self.shared) == tuple(combo[0].device[i] for i in self.shared) for d in combo
            ):
                found.append(self.canonical(combo))
        return sorted(set(found), key=repr)

    def show(self, system: Sys) -> str:
        parts = []
        for device, state in zip(self.config.devices, system, strict=True):
            text = format_state(self.spec, state)
            parts.append(f"{device.name}[{text}]")
        return f"slots {self.used(system)}  " + "  ".join(parts)

    # -- steps --------------------------------------------------------------------
    def moves(self, system: Sys):
        """(device index or None, instance name, args, [(device, instance)]) for every offered event."""
        config = self.config
        first = self.machines[0]
        for inst in first.instances:
            if inst.event.name in self.vm_wide:
                yield (
                    None,
                    inst.event.name,
                    inst.args,
                    [(i, m.instance(inst.event.name, **inst.values)) for i, m in enumerate(self.machines)],
                )
        for i, (device, machine) in enumerate(zip(config.devices, self.machines, strict=True)):
            queues = system[i].queues
            for inst in machine.instances:
                name = inst.event.name
                if name in self.vm_wide or (name == VHOST_EVENT and not device.vhost):
                    continue
                q = inst.target
                if q is not None and q > 0 and queues[q] == queues[q - 1]:
                    continue  # the same as the same event on the previous, identical queue
                yield i, name, inst.args, [(i, inst)]

    def successors(self, system: Sys):
        """(step, fits): every step offered in ``system``; KVM's refusals are filtered."""
        for device, name, args, parts in self.moves(system):
            options = []
            for i, inst in parts:
                machine = self.machines[i]
                if not machine.enabled(system[i], inst):
                    break
                outcome = machine.step(system[i], inst)
                options.append([(i, c) for c in outcome.choices])
            else:
                values = dict(args)
                for combo in itertools.product(*options):
                    post = list(system)
                    fired = []
                    for i, choice in combo:
                        post[i] = choice.post
                        fired += [(self.config.devices[i].name, q, row) for q, row in choice.fired]
                    post_t = tuple(post)
                    fits = not self.config.limited or self.used(post_t) <= self.config.slots
                    if not fits and values.get("assign_ok") is True and not self.is_vhost_take(name, values):
                        continue  # KVM refuses; the assign_ok = false instance is the refusal
                    device_name = None if device is None else self.config.devices[device].name
                    yield SysStep(device_name, name, args, tuple(fired), post_t), fits

    @staticmethod
    def is_vhost_take(name: str, values: dict) -> bool:
        return name == VHOST_EVENT and values.get("assign") is True


class _Search:
    def __init__(self, system: System, max_states: int | None, timeout: float | None, progress=None) -> None:
        self.system = system
        self.progress = progress
        self.max_states = max_states
        self.deadline = time.monotonic() + timeout if timeout else None
        self.parent: dict[Sys, tuple[Sys, SysStep] | None] = {}
        self.found: dict[str, tuple[str, Sys, SysStep | None]] = {}
        self.edges = 0

    def report(self, name: str, message: str, at: Sys, step: SysStep | None = None) -> None:
        self.found.setdefault(name, (message, at, step))

    def check_state(self, state: Sys) -> None:
        system = self.system
        for device, dev_state in zip(system.config.devices, state, strict=True):
            for prop, f in system.invariants:
                queues = range(len(dev_state.queues)) if prop.per_queue else (0,)
                if not all(f(dev_state, None, {}, q) for q in queues):
                    self.report(prop.name, f"{prop.name} is false on {device.name} in the last state", state)

    def check_step(self, state: Sys, step: SysStep, fits: bool) -> None:
        system, config = self.system, self.system.config
        values = dict(step.args)
        for i, device in enumerate(config.devices):
            if step.device not in (None, device.name):
                continue
            for prop, f in system.step_props:
                if step.event in prop.events and not f(state[i], step.post[i], values, 0):
                    self.report(prop.name, f"{prop.name} is false on {device.name} across the last step", state, step)
        if fits:
            return
        if system.is_vhost_take(step.event, values):
            if config.vhost_needs <= config.slots:
                self.report(
                    "vhost_never_starved",
                    f"vhost asks {step.device} for a host notifier; it needs {config.vhost_needs} of "
                    f"the host's {config.slots} slots, yet finds none free",
                    state,
                    step,
                )
        else:
            self.report(
                "slots_within_limit",
                f"{step} registers more ioeventfds than the host's {config.slots} slots",
                state,
                step,
            )

    def run(self) -> tuple[int, str | None]:
        frontier: deque[tuple[Sys, int]] = deque()
        for start in self.system.starts():
            if start not in self.parent:
                self.parent[start] = None
                self.check_state(start)
                frontier.append((start, 0))
        depth = 0
        try:
            while frontier:
                state, level = frontier.popleft()
                depth = max(depth, level)
                stop = self.expand(state, level, frontier)
                if stop is not None:
                    return depth, stop
        except KeyboardInterrupt:  # keep what was found: the caller prints it
            return depth, INTERRUPTED
        return depth, None

    def expand(self, state: Sys, level: int, frontier: deque) -> str | None:
        for step, fits in self.system.successors(state):
            self.edges += 1
            self.check_step(state, step, fits)
            if not fits:
                continue  # KVM refused the registration: the step does not happen
            post = self.system.canonical(step.post)
            if post not in self.parent:
                self.parent[post] = (state, step)
                self.check_state(post)
                frontier.append((post, level + 1))
                count = len(self.parent)
                if self.progress is not None and count % 2000 == 0:
                    self.progress(count, self.edges, level + 1)
                if self.max_states is not None and count >= self.max_states:
                    return f"stopped at --max-states {self.max_states}"
        if self.deadline is not None and time.monotonic() > self.deadline:
            return TIMEOUT
        return None

    # -- concrete traces ------------------------------------------------------------
    def replay(self, state: Sys, rep: Sys, step: SysStep) -> SysStep:
        """``step``, taken on the sorted representative ``rep``, on concrete ``state``."""
        system = self.system
        values = dict(step.args)
        post = list(state)
        fired = []
        for i, device in enumerate(system.config.devices):
            if step.device not in (None, device.name):
                continue
            machine = system.machines[i]
            args = dict(values)
            target = machine.instance(step.event, **values).event.target
            if target is not None:  # the representative's queue -> a concrete queue with the same tuple
                rep_queue = rep[i].queues[values[target]]
                args[target] = state[i].queues.index(rep_queue)
            inst = machine.instance(step.event, **args)
            wanted = tuple(sorted(step.post[i].queues))
            choice = next(
                c
                for c in machine.step(state[i], inst).choices
                if tuple(sorted(c.post.queues)) == wanted and c.post.device == step.post[i].device
            )
            post[i] = choice.post
            fired += [(device.name, q, row) for q, row in choice.fired]
            if target is not None:
                values = {**values, target: args[target]}
        return SysStep(step.device, step.event, tuple(values.items()), tuple(fired), tuple(post))


def explore_system(
    config: Config,
    *,
    spec: Spec | None = None,
    max_states: int | None = None,
    timeout: float | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> SystemExploration:
    """Explore every reachable state of the configuration's devices together."""
    began = time.perf_counter()
    system = System(config, spec)
    search = _Search(system, max_states, timeout, progress)
    depth, partial = search.run()
    found = {}
    for name in system.checks:
        if name in search.found:
            message, at, step = search.found[name]
            start, steps = _concretize(search, at, step)
            found[name] = SysCounterexample(name, message, start, steps)
    return SystemExploration(
        config, len(search.parent), search.edges, depth, found, system.checks, time.perf_counter() - began, partial
    )


def _concretize(search: _Search, at: Sys, last: SysStep | None):
    """The path to ``at`` (then ``last``) replayed on concrete queues."""
    path = []
    cursor = at
    while (link := search.parent[cursor]) is not None:
        cursor, step = link
        path.append((cursor, step))
    path.reverse()
    if last is not None:
        path.append((at, last))
    state = cursor
    steps = []
    for rep, step in path:
        replayed = search.replay(state, rep, step)
        steps.append(replayed)
        state = replayed.post
    return cursor, tuple(steps)
