"""Several devices on one host, composed naively: the reference the system
search (``scale/system.py``) is compared with in the differential suite.

Written from the semantics (``spec/README.md``, "Several devices") and not
from the search: concrete queues, never sorted; every queue of every device
stepped, identical ones too; every pattern of KVM's answers, one per queue,
never a multiset per class. What it shares with the search is the table's
step (``Machine``) and nothing else. The semantics, restated:

- a device-scope ``host`` variable is one value for the host and the VM,
  except one that vhost's events (``[slots] vhost``) write: vhost starts and
  stops per device, so that one is each device's own;
- an event that writes a shared variable is VM-wide (one step, every
  device, offered when every device offers it); vhost's events are offered
  on the devices vhost serves only; every other event is one device's;
- each queue an event concerns reads its own answer (``[slots] answer``);
  a step that does not fit in the host's slots grants nothing (KVM refuses),
  and is reported as vhost's starvation (a take, when vhost needs no more
  slots than the host has) or as ``slots_within_limit``;
- every invariant holds on every device, every step property across every
  step of a device.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.spec.concrete import State, compile_expr
from virtio_notifier_spec.spec.schema import PropertyKind


@dataclass
class Naive:
    states: set  # every reachable system state, each device's queues sorted (to compare)
    failing: set[str]


def naive_system(config, spec, budget: int) -> Naive | None:
    """The naive composition of ``config``'s devices running ``spec``; None
    when it would store more than ``budget`` states."""
    slots = spec.slots
    machines = [Machine(spec, d.queues) for d in config.devices]
    layout = machines[0].layout
    vhost = {v.event for v in slots.vhost}
    own = {x.target.name for e in (*spec.events, *spec.unissued_events) if e.name in vhost for x in e.effects}
    shared_names = {v.name for v in spec.device_variables if v.host and v.name not in own}
    shared = [layout.device.index(n) for n in shared_names]
    vm_wide = {e.name for e in spec.events if any(x.target.name in shared_names for x in e.effects)}
    holders = [layout.queue.index(h) for h in slots.holders]
    limit = layout.device.index(slots.limit) if slots.limit else None
    answer = slots.answer
    takes = {v.event: compile_expr(v.take, layout) for v in slots.vhost if v.take is not None}
    invariants = [(p, compile_expr(p.expr, layout)) for p in spec.properties if p.kind is PropertyKind.INVARIANT]
    steps = [(p, compile_expr(p.expr, layout)) for p in spec.properties if p.kind is PropertyKind.STEP]
    failing: set[str] = set()

    def used(system) -> int:
        return sum(1 for d in system for q in d.queues for h in holders if q[h])

    def fits(system) -> bool:
        return not config.limited or used(system) <= config.slots

    def listed(inst) -> bool:
        return answer not in inst.values or inst.values[answer] is True

    def outcomes(machine, state, inst):
        """(device state after, granted) for every pattern of answers, one per queue."""
        runs = [(inst, None)]
        if answer in inst.values:
            flipped = machine.instance(inst.event.name, **{**inst.values, answer: False})
            runs = [(inst, True), (flipped, False)]
        concerned = [inst.target] if inst.target is not None else list(range(machine.queues))
        options: dict[int, dict[tuple, set]] = {q: {} for q in concerned}
        device = None
        for instance, value in runs:
            for choice in machine.step(state, instance).choices:
                device = choice.post.device
                rows = dict(choice.fired)
                for q in concerned:
                    options[q].setdefault((choice.post.queues[q], rows.get(q)), set()).add(value)
        per_queue = [
            [(post, None if len(seen) > 1 else next(iter(seen))) for (post, _), seen in options[q].items()]
            for q in concerned
        ]
        for combo in itertools.product(*per_queue):
            queues = list(state.queues)
            for q, (post, _) in zip(concerned, combo, strict=True):
                queues[q] = post
            yield State(device, tuple(queues)), any(a is True for _, a in combo)

    def moves(system):
        for inst in machines[0].instances:
            if inst.event.name in vm_wide and listed(inst):
                yield inst, [(i, m.instance(inst.event.name, **inst.values)) for i, m in enumerate(machines)]
        for i, (device, machine) in enumerate(zip(config.devices, machines, strict=True)):
            for inst in machine.instances:
                name = inst.event.name
                if name in vm_wide or (name in vhost and not device.vhost) or not listed(inst):
                    continue
                yield inst, [(i, inst)]

    def check_state(system) -> None:
        for state in system:
            for prop, f in invariants:
                queues = range(len(state.queues)) if prop.per_queue else (0,)
                if not all(f(state, None, {}, q) for q in queues):
                    failing.add(prop.name)

    starts = []
    for combo in itertools.product(*(m.initial_states() for m in machines)):
        if limit is not None and any(d.device[limit] != config.limited for d in combo):
            continue
        if all(tuple(d.device[i] for i in shared) == tuple(combo[0].device[i] for i in shared) for d in combo):
            starts.append(tuple(combo))
    seen = set(starts)
    frontier = deque(starts)
    for start in starts:
        check_state(start)
    while frontier:
        system = frontier.popleft()
        for inst, parts in moves(system):
            if not all(machines[i].enabled(system[i], part) for i, part in parts):
                continue
            values = {k: v for k, v in inst.values.items() if k != answer}
            options = [[(i, o) for o in outcomes(machines[i], system[i], part)] for i, part in parts]
            for combo in itertools.product(*options):
                post = list(system)
                granted = False
                for i, (state, grant) in combo:
                    post[i] = state
                    granted |= grant
                post = tuple(post)
                if not fits(post) and granted:
                    continue  # KVM refuses what does not fit: that is another pattern
                for i, _ in parts:
                    for prop, f in steps:
                        if inst.event.name in prop.events and not f(system[i], post[i], values, 0):
                            failing.add(prop.name)
                if not fits(post):
                    take = takes.get(inst.event.name)
                    if take is not None and take(None, None, values, 0):
                        if config.vhost_needs <= config.slots:
                            failing.add("vhost_never_starved")
                    else:
                        failing.add("slots_within_limit")
                    continue
                if post not in seen:
                    seen.add(post)
                    if len(seen) > budget:
                        return None
                    check_state(post)
                    frontier.append(post)
    sorted_states = {tuple(State(d.device, tuple(sorted(d.queues))) for d in system) for system in seen}
    return Naive(sorted_states, failing)
