"""What a real QEMU can be made to do: each event of a test mapped to its
cause on this machine, or refused with the reason.

The table's events are finer than QEMU's in two places, both for the vhost
devices: vhost-user starts vhost inside the guest's DRIVER_OK write (or
the VM start that finds the device DRIVER_OK: ``vuf_set_status``), and
stops it inside the status write, reset or VM stop that ends DRIVER_OK,
after QEMU's own ioeventfds (the ``qemu`` environment's order). So
``set_status(driver_ok)`` there must be followed by ``vhost_start`` (the
one write causes both; the step between is not observed but for the status
and the run state, which the two share), a status write without DRIVER_OK,
a reset or a VM stop while vhost runs by ``vhost_stop`` (likewise), and
``vhost_stop`` on its own is either followed by the event that causes it
(nothing is observed after ``vhost_stop`` alone; the cause is performed at
the next step) or, on vhost-user-blk, the backend's disconnect (QEMU stops
vhost when its socket closes), after which ``vhost_start`` is its
reconnection. ``vhost_start`` in a stopped VM followed by ``vm_run`` (vhost
starts first on a VM start) is caused by that ``vm_run``.

Refused, with the reason (:data:`REASONS`): ioeventfd refusals the table's
step depends on (this kernel accepts every one, and QEMU 7.2 aborts on a
refusal), a limited host for the vhost device, vhost on a device without
it, migration of the vhost device, and vhost's per-queue
``set_host_notifier``.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.model.machine import Machine
>>> from .devices import device
>>> m = Machine(load_spec("resolved", env="qemu"), 2)
>>> ok = [m.instance("set_status", value="driver_ok", assign_ok=True), m.instance("vhost_start", assign_ok=True)]
>>> [a.kind for a in plan(m, device("fs"), True, ok)]
['first_half', 'second_half']
>>> plan(m, device("fs"), True, ok[:1] + [m.instance("kick", queue=0)])
Traceback (most recent call last):
...
virtio_notifier_spec.qemu.errors.NotCausable: vhost_start_inside_driver_ok: ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.spec.concrete import State

from .devices import Device
from .errors import NotCausable

REASONS = {
    "refusal": "the table's step depends on KVM refusing an ioeventfd: this kernel accepts every one, and QEMU 7.2 "
    "aborts when KVM refuses (kvm_mem_ioeventfd_add), so a refusal cannot be caused from outside the kernel",
    "vhost_proxy": "the proxy of a vhost-user device has no ioeventfd flag (no ioeventfd property; "
    "VIRTIO_PCI_FLAG_USE_IOEVENTFD clear): QEMU never registers an ioeventfd of its own for it, which is its whole "
    "answer to a limited host, so these devices are judged with limited=true",
    "no_vhost": "this device has no vhost backend: nothing can start or stop vhost for it",
    "single_take": "QEMU's vhost takes and gives back whole devices (vhost_dev_enable_notifiers), never one queue",
    "vhost_start_alone": "vhost-user-fs starts vhost only inside the status write or VM start that makes its device "
    "DRIVER_OK and running (vuf_set_status): vhost_start must follow that event",
    "vhost_start_inside_driver_ok": "on a vhost-user device the DRIVER_OK write (or the VM start of a DRIVER_OK "
    "device) starts vhost within it: the next event must be vhost_start",
    "vhost_stop_alone": "vhost-user-fs stops vhost only inside a status write without DRIVER_OK, a reset or a VM "
    "stop, and QEMU 7.2's vhost-user-fs does not act on a backend disconnect: vhost_stop must be followed by its cause",
    "vhost_stop_inside_cause": "on a vhost-user device a status write without DRIVER_OK, a reset or a VM stop stops "
    "QEMU's own ioeventfds and then vhost within it: the next event must be vhost_stop",
    "vhost_start_connected": "with its backend connected, vhost-user-blk has vhost started whenever the device is "
    "DRIVER_OK and running: a vhost_start on its own needs the backend gone first (a vhost_stop by disconnect)",
    "no_migration": 'vhost-user-fs cannot be migrated: QEMU refuses ("State blocked by non-migratable device '
    "'0000:00:04.0/vhost-user-fs'\")",
}


@dataclass(frozen=True, slots=True)
class Action:
    """What to do for one event: ``perform`` it (full observation after),
    ``first_half`` (perform it; observe only what both halves share),
    ``second_half`` (already done by the first half; full observation),
    ``before_cause`` (nothing yet: the next event causes it; observe nothing),
    ``disconnect`` / ``reconnect`` (end the vhost-user backend, start it again)."""

    kind: str
    event: Instance


def _value(machine: Machine, state: State, name: str) -> object:
    return state.device[machine.layout.device.index(name)]


def start_state(machine: Machine, device: Device, limited: bool) -> State:
    """The table's fresh device for this device and host: vhost serves every
    queue of the vhost device and none of another."""
    layout = machine.layout
    for s in machine.initial_states():
        if "limited" in layout.device and s.device[layout.device.index("limited")] != limited:
            continue
        if "vhost_serves" in layout.queue:
            slot = layout.queue.index("vhost_serves")
            if any(q[slot] != device.vhost for q in s.queues):
                continue
        return s
    raise NotCausable(f"the table has no fresh device with limited={limited} that fits {device.name}")


def _depends_on_refusal(machine: Machine, state: State, inst: Instance) -> bool:
    if inst.values.get("assign_ok", True):
        return False
    accepted = machine.instance(inst.event.name, **{**inst.values, "assign_ok": True})
    if not machine.enabled(state, accepted):
        return True
    refused = {c.post for c in machine.step(state, inst).choices}
    return refused != {c.post for c in machine.step(state, accepted).choices}


def _starts_vhost(machine: Machine, device: Device, state: State, inst: Instance, connected: bool) -> bool:
    """Whether, on a vhost device, this event is the write or VM start that starts vhost."""
    if not device.vhost or not connected or _value(machine, state, "vhost_on"):
        return False
    name = inst.event.name
    if name == "set_status":
        return inst.values["value"] == "driver_ok" and bool(_value(machine, state, "running"))
    return name == "vm_run" and _value(machine, state, "status") == "driver_ok"


def _stops_vhost(machine: Machine, device: Device, state: State, inst: Instance) -> bool:
    """Whether, on a vhost device with vhost running, this event is the status
    write, reset or VM stop that stops it (after QEMU's own ioeventfds)."""
    if not device.vhost or not _value(machine, state, "vhost_on"):
        return False
    name = inst.event.name
    if name == "set_status":
        return inst.values["value"] != "driver_ok"
    return name in ("reset", "vm_stop")


STOP_CAUSES = ("set_status", "reset", "vm_stop")


def plan(machine: Machine, device: Device, limited: bool, events: Sequence[Instance]) -> list[Action]:
    """The action for each event, or :class:`NotCausable` naming the reason (``key: sentence``)."""
    if device.vhost and not limited:
        raise _refuse("vhost_proxy")
    state = start_state(machine, device, limited)
    connected = True
    actions: list[Action] = []
    for i, inst in enumerate(events):
        name = inst.event.name
        after = events[i + 1] if i + 1 < len(events) else None
        if not machine.enabled(state, inst):
            raise NotCausable(f"not_enabled: the table cannot issue {inst} here")
        if _depends_on_refusal(machine, state, inst):
            raise _refuse("refusal")
        kind = "perform"
        if name == "set_host_notifier":
            raise _refuse("single_take")
        if name in ("vhost_start", "vhost_stop") and not device.vhost:
            raise _refuse("no_vhost")
        if name == "load" and device.vhost and not device.reconnects:
            raise _refuse("no_migration")
        if name == "load":
            connected = True  # the destination starts a backend of its own
        if _starts_vhost(machine, device, state, inst, connected):
            if after is not None and after.event.name != "vhost_start":
                raise _refuse("vhost_start_inside_driver_ok")
            kind = "first_half"
        elif _stops_vhost(machine, device, state, inst):
            if after is not None and after.event.name != "vhost_stop":
                raise _refuse("vhost_stop_inside_cause")
            kind = "first_half"
        elif name == "vhost_start":
            if actions and actions[-1].kind == "first_half":
                kind = "second_half"
            elif not _value(machine, state, "running") and after is not None and after.event.name == "vm_run":
                kind = "before_cause"  # vhost starts first on a VM start: the vm_run causes both
            elif device.reconnects and not connected:
                kind, connected = "reconnect", True
            else:
                raise _refuse("vhost_start_connected" if device.reconnects else "vhost_start_alone")
        elif name == "vhost_stop" and actions and actions[-1].kind == "first_half":
            kind = "second_half"
        elif name == "vhost_stop":
            caused = after is not None and after.event.name in STOP_CAUSES
            if caused and after.event.name == "set_status" and after.values["value"] == "driver_ok":
                caused = False
            if caused:
                kind = "before_cause"
            elif device.reconnects:
                kind, connected = "disconnect", False
            else:
                raise _refuse("vhost_stop_alone")
        actions.append(Action(kind, inst))
        state = machine.step(state, inst).choices[0].post
    return actions


def _refuse(key: str) -> NotCausable:
    return NotCausable(f"{key}: {REASONS[key]}")


def reason_key(error: NotCausable) -> str:
    return str(error).split(":", 1)[0]
