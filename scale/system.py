"""Several devices on one host, sharing the host's ioeventfd slots.

The composition (spec/README.md, "Several devices"):

- Each device runs the table (:class:`~.machine.Machine`) with its own
  queue count. The device-scope ``host`` variables are facts of the host
  and the VM (``limited``, ``running``), one value in every device, except
  those one of vhost's events writes (``vhost_on``, written by
  ``vhost_start`` and ``vhost_stop``): vhost is started and stopped per
  device (QEMU's ``vhost_dev_start`` is one vhost device's), so each device
  keeps its own (:func:`shared_variables`). ``limited`` is fixed by the
  configuration (a host with a slot limit is a limited host).
- An event that writes a shared variable (``vm_stop``, ``vm_run``) is
  VM-wide: one step fires it on every device, and it is offered only when
  every device offers it (under ``qemu``, ``vm_stop`` waits until no
  device's vhost is on). Every other event is one device's; vhost's events
  (``[slots] vhost``: ``set_host_notifier``, ``vhost_start``,
  ``vhost_stop``) are offered only on the devices vhost serves and move
  only that device (:func:`vm_wide_events`).
- What holds a slot is the table's ``[slots]`` declaration
  (``spec/slots.py``): every true ``holders`` flag of any queue of any
  device holds one per notify address of the queue (``addresses``, or the
  device's own in the configuration: kvmtool registers two); ``vhost``
  names vhost's events (offered only on the devices vhost serves) and when
  one is a take. A table that declares no
  ``[slots]`` is refused: nothing would be counted.
- KVM answers each ioeventfd on its own (:mod:`.answers`): every queue an
  event concerns reads its own ``answer`` (``assign_ok``), and the refusal
  pattern is explored like any other choice, one multiset per class of
  identical queues. On a limited host a grant happens only if the step
  then fits in the slots; KVM may always refuse.
- ``vhost_never_starved``: when vhost takes a host notifier and the slots
  vhost needs (the queues of the devices it serves, times their addresses)
  are at most the limit, the take fits. A take KVM refuses outright
  (``assign_ok`` false: the queue stays as it was) is explored like any
  refusal, but a granted take that does not fit is not turned into a
  refusal: it is the starvation the limit flag exists to prevent, reported
  with a shortest trace and not explored further.
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

from virtio_notifier_spec.model.explore import INTERRUPTED, TIMEOUT, depth_stop
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.model.trace import format_state
from virtio_notifier_spec.spec.concrete import State, compile_expr
from virtio_notifier_spec.spec.errors import SchemaError, SpecError
from virtio_notifier_spec.spec.expr import Param, walk
from virtio_notifier_spec.spec.fragment import sites
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import PropertyKind, Spec, Transition

from .answers import Answers, Option
from .config import Config
from .symmetry import symmetry_refusal

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
    answers: tuple[tuple[str, int, bool], ...] = ()  # KVM's answer to each queue it was asked for

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in self.args)
        where = f"{self.device}: " if self.device else "vm: "
        rows = ", ".join(f"{d}.q{q} {r.label}" for d, q, r in self.fired if not r.quiet) or "nothing changes"
        kvm = ", ".join(f"{d}.q{q} {'granted' if a else 'refused'}" for d, q, a in self.answers)
        return f"{where}{self.event}({shown})  [{rows}]" + (f"  kvm: {kvm}" if kvm else "")


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
    env: str = "adversarial"  # the environment profile the devices' table was loaded in
    engine: str = "general"  # "packed": scale/packed_system.py
    reduction: str = "none"  # "devices": one state per orbit of the identical devices
    concrete_states: int | None = None  # with a reduction: the states the orbits stand for
    concrete_transitions: int | None = None
    notes: tuple[str, ...] = ()  # why the search run is not the one asked for

    @property
    def ok(self) -> bool:
        return not self.counterexamples and self.partial is None

    def verdict(self, name: str) -> str:
        if name in self.counterexamples:
            return "fails"
        return "unknown" if self.partial else "holds"


def slots_refusal(spec: Spec, config: Config) -> SpecError | None:
    """Why ``spec`` cannot be composed on a host that counts slots: it
    declares no ``[slots]``, or something other than a row reads KVM's
    answer, which is each queue's own here; None when it can."""
    if spec.slots is None:
        return SchemaError(
            f"the table {spec.name} declares no [slots]: nothing says which variables hold one of the "
            "host's ioeventfds or which event is vhost's take (spec/slots.py)",
            file=config.path,
            line=config.table_line,
            field="table",
        )
    answer = spec.slots.answer
    if answer is None:
        return None
    for vhost in spec.slots.vhost:
        if vhost.take is not None and any(isinstance(n, Param) and n.name == answer for n in walk(vhost.take)):
            source = spec.slots.source
            return SchemaError(
                f"vhost's take of {vhost.event} reads {answer}: vhost's rows do not ask KVM",
                file=source.file if source else None,
                line=source.line_of("vhost") if source else None,
                field="slots.vhost",
            )
    for site in sites(spec):
        if site.section == "transitions":
            continue
        if any(isinstance(n, Param) and n.name == answer for n in walk(site.expr)):
            reason = site.reason(f"reads {answer}, KVM's answer, which is each queue's own when devices share slots")
            return reason.error(SchemaError)
    return None


def shared_variables(spec: Spec) -> tuple[str, ...]:
    """The device-scope variables that are one value for every device: the
    ``host`` facts (the host's limit, the VM's run state), except those that
    one of vhost's events writes (``[slots] vhost``): vhost is started and
    stopped per device, so what its events write is that device's own.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> shared_variables(load_spec("resolved"))
    ('limited', 'running')
    """
    vhost = {v.event for v in spec.slots.vhost} if spec.slots else set()
    events = (*spec.events, *spec.unissued_events)  # decided on the table, whatever the environment issues
    rows = (*spec.transitions, *spec.unissued_rows)
    written = {x.target.name for e in events if e.name in vhost for x in e.effects}
    written |= {x.target.name for t in rows if t.event in vhost for x in t.effects}
    return tuple(v.name for v in spec.device_variables if v.host and v.name not in written)


def vm_wide_events(spec: Spec) -> frozenset[str]:
    """The events one step fires on every device at once: those that write a
    shared variable (:func:`shared_variables`). Every other event is one
    device's; vhost's events are offered only on the devices vhost serves.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> sorted(vm_wide_events(load_spec("resolved", env="unrestricted")))
    ['vm_run', 'vm_stop']
    """
    shared = set(shared_variables(spec))
    return frozenset(e.name for e in spec.events if any(x.target.name in shared for x in e.effects))


class System:
    """The devices of a configuration, composed."""

    def __init__(self, config: Config, spec: Spec | None = None) -> None:
        self.config = config
        self.spec = spec or load_spec(config.table)
        refusal = symmetry_refusal(self.spec) or slots_refusal(self.spec, config)
        if refusal is not None:
            raise refusal
        slots = self.spec.slots
        self.machines = tuple(Machine(self.spec, d.queues) for d in config.devices)
        layout = self.machines[0].layout
        self.slot_slots = tuple(layout.queue.index(v) for v in slots.holders)
        self.weights = tuple(d.addresses or slots.addresses for d in config.devices)  # ioeventfds per holder
        self.vhost_needs = config.needs(slots.addresses)
        self.vhost_events = {v.event for v in slots.vhost}
        shared_names = shared_variables(self.spec)
        self.shared = tuple(layout.device.index(name) for name in shared_names)
        self.vm_wide = vm_wide_events(self.spec)
        self.limited_slot = layout.device.index(slots.limit) if slots.limit is not None else None
        self.answer = slots.answer
        self.answers = tuple(Answers(m, slots.answer) for m in self.machines)
        self.takes = {v.event: compile_expr(v.take, layout) for v in slots.vhost if v.take is not None}
        props = self.spec.properties
        self.invariants = [(p, compile_expr(p.expr, layout)) for p in props if p.kind is PropertyKind.INVARIANT]
        self.step_props = [(p, compile_expr(p.expr, layout)) for p in props if p.kind is PropertyKind.STEP]
        self.checks = (*(p.name for p in props if p.kind is not PropertyKind.HISTORY_FREE), *SYSTEM_CHECKS)

    # -- states -----------------------------------------------------------------
    @staticmethod
    def canonical(system: Sys) -> Sys:
        return tuple(State(d.device, tuple(sorted(d.queues))) for d in system)

    def used(self, system: Sys) -> int:
        """The host's ioeventfds in use: each true holder of a queue, once per
        notify address of its device."""
        return sum(
            w for d, w in zip(system, self.weights, strict=True) for q in d.queues for s in self.slot_slots if q[s]
        )

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
        """(device index or None, event name, args, [(device, instance)]) for every
        offered event. The answer parameter is each queue's (:mod:`.answers`), so
        only the instances with it true are listed; it is not in ``args``."""
        config = self.config
        first = self.machines[0]
        for inst in first.instances:
            if inst.event.name in self.vm_wide and self._listed(inst):
                yield (
                    None,
                    inst.event.name,
                    self._shown(inst),
                    [(i, m.instance(inst.event.name, **inst.values)) for i, m in enumerate(self.machines)],
                )
        for i, (device, machine) in enumerate(zip(config.devices, self.machines, strict=True)):
            queues = system[i].queues
            for inst in machine.instances:
                name = inst.event.name
                if name in self.vm_wide or (name in self.vhost_events and not device.vhost) or not self._listed(inst):
                    continue
                q = inst.target
                if q is not None and q > 0 and queues[q] == queues[q - 1]:
                    continue  # the same as the same event on the previous, identical queue
                yield i, name, self._shown(inst), [(i, inst)]

    def _listed(self, inst) -> bool:
        return self.answer not in inst.values or inst.values[self.answer] is True

    def _shown(self, inst) -> tuple[tuple[str, object], ...]:
        return tuple((k, v) for k, v in inst.args if k != self.answer)

    def successors(self, system: Sys):
        """(step, fits): every step offered in ``system``. An outcome in which
        KVM grants an assignment that does not fit is not one KVM can give."""
        for device, name, args, parts in self.moves(system):
            options = []
            for i, inst in parts:
                machine = self.machines[i]
                if not machine.enabled(system[i], inst):
                    break
                options.append([(i, o) for o in self.answers[i].outcomes(system[i], inst)])
            else:
                for combo in itertools.product(*options):
                    post = list(system)
                    fired, answers = [], []
                    for i, outcome in combo:
                        post[i] = outcome.post
                        name_i = self.config.devices[i].name
                        fired += [(name_i, q, row) for q, row in outcome.fired]
                        answers += [(name_i, q, a) for q, a in outcome.answers]
                    post_t = tuple(post)
                    fits = not self.config.limited or self.used(post_t) <= self.config.slots
                    if not fits and any(o.granted for _, o in combo) and not self.is_vhost_take(name, dict(args)):
                        continue  # KVM refuses what does not fit: the refusal is another outcome
                        # (vhost's take that does not fit is kept: it is the starvation checked)
                    device_name = None if device is None else self.config.devices[device].name
                    yield SysStep(device_name, name, args, tuple(fired), post_t, tuple(answers)), fits

    def is_vhost_take(self, name: str, values: dict) -> bool:
        take = self.takes.get(name)
        return take is not None and bool(take(None, None, values, 0))

    def admits(self, pre: Sys, step: SysStep) -> bool:
        """Whether ``step`` is a step of the system from the concrete state
        ``pre``: each queue's new tuple, row and answer is one of its options,
        and a step that does not fit grants nothing. For checking traces."""
        fits = not self.config.limited or self.used(step.post) <= self.config.slots
        if not fits and any(a for _, _, a in step.answers) and not self.is_vhost_take(step.event, dict(step.args)):
            return False
        for i, device in enumerate(self.config.devices):
            if step.device not in (None, device.name):
                if step.post[i] != pre[i]:
                    return False
                continue
            machine = self.machines[i]
            inst = next(
                (x for x in machine.instances if x.event.name == step.event and self._shown(x) == step.args), None
            )
            if inst is None or not self._listed(inst) or not machine.enabled(pre[i], inst):
                return False
            device_post, per_queue = self.answers[i].options(pre[i], inst)
            rows = {q: r for d, q, r in step.fired if d == device.name}
            answers = {q: a for d, q, a in step.answers if d == device.name}
            if step.post[i].device != device_post:
                return False
            for q, queue in enumerate(step.post[i].queues):
                if q not in per_queue:
                    if queue != pre[i].queues[q] or q in rows or q in answers:
                        return False
                elif Option(queue, rows.get(q), answers.get(q)) not in per_queue[q]:
                    return False
        return True


class _Search:
    def __init__(
        self, system: System, max_states: int | None, timeout: float | None, progress=None, depth: int | None = None
    ) -> None:
        self.system = system
        self.progress = progress
        self.max_states = max_states
        self.bound = depth  # as the explorer's: the level at the bound is expanded, nothing new admitted
        self.cut = False
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
            if system.vhost_needs <= config.slots:
                self.report(
                    "vhost_never_starved",
                    f"vhost asks {step.device or 'the VM'} for a host notifier; it needs {system.vhost_needs} of "
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
        return depth, depth_stop(self.bound) if self.cut else None

    def expand(self, state: Sys, level: int, frontier: deque) -> str | None:
        for step, fits in self.system.successors(state):
            self.edges += 1
            self.check_step(state, step, fits)
            if not fits:
                continue  # KVM refused the registration: the step does not happen
            post = self.system.canonical(step.post)
            if post not in self.parent and self.bound is not None and level >= self.bound:
                self.cut = True
            elif post not in self.parent:
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
        """``step``, taken on the sorted representative ``rep``, on the concrete
        ``state``: each queue of the representative is renamed to a concrete
        queue with the same tuple, and does what it did."""
        values = dict(step.args)
        post = list(state)
        renamed: dict[str, dict[int, int]] = {}
        for i, device in enumerate(self.system.config.devices):
            if step.device not in (None, device.name):
                continue
            free: dict[tuple, list[int]] = {}
            for c, queue in enumerate(state[i].queues):
                free.setdefault(queue, []).append(c)
            rename = renamed[device.name] = {r: free[queue].pop(0) for r, queue in enumerate(rep[i].queues)}
            queues = list(state[i].queues)
            for r, c in rename.items():
                queues[c] = step.post[i].queues[r]
            post[i] = State(step.post[i].device, tuple(queues))
        target = next((e.target for e in self.system.spec.events if e.name == step.event), None)
        if target is not None:
            values[target] = renamed[step.device][values[target]]
        order = {d.name: i for i, d in enumerate(self.system.config.devices)}
        fired = tuple(sorted(((d, renamed[d][q], r) for d, q, r in step.fired), key=lambda x: (order[x[0]], x[1])))
        answers = tuple(sorted(((d, renamed[d][q], a) for d, q, a in step.answers), key=lambda x: (order[x[0]], x[1])))
        return SysStep(step.device, step.event, tuple(values.items()), fired, tuple(post), answers)


def explore_system(
    config: Config,
    *,
    spec: Spec | None = None,
    max_states: int | None = None,
    timeout: float | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    depth: int | None = None,
) -> SystemExploration:
    """Explore every reachable state of the configuration's devices together
    (no further than ``depth`` steps from a start, when given)."""
    began = time.perf_counter()
    system = System(config, spec)
    search = _Search(system, max_states, timeout, progress, depth)
    depth, partial = search.run()
    found = {}
    for name in system.checks:
        if name in search.found:
            message, at, step = search.found[name]
            start, steps = _concretize(search, at, step)
            found[name] = SysCounterexample(name, message, start, steps)
    return SystemExploration(
        config,
        len(search.parent),
        search.edges,
        depth,
        found,
        system.checks,
        time.perf_counter() - began,
        partial,
        system.spec.env,
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
