"""The bridge between an implementation and the table.

- :func:`abstract` reads a :class:`~.reference.Device` (or any subclass)
  and its :class:`~.kernel.Kernel` as the model's :class:`State`: the queue
  states from the device's own bookkeeping, the resources (``our_fd``,
  ``vhost_fd``, ``handler``, ``pending``) from the kernel, so that a device
  whose bookkeeping disagrees with the kernel is caught.
- :func:`perform` applies one event instance of the table (names and
  arguments as in ``spec/common.toml``) to the implementation, playing the
  environment: the guest, vhost, the VM's run state and KVM's refusals.
- :func:`new_device` builds a device on its own simulated host.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> spec = load_spec("resolved")
>>> device = new_device(queues=1, limited=False)
>>> perform(device, "set_status", {"value": "driver_ok", "assign_ok": True})
>>> abstract(device, spec).queues
(('assigned', False, True, True, 'ours', False),)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

from virtio_notifier_spec.spec.concrete import Layout, State
from virtio_notifier_spec.spec.schema import Spec

from .device import ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK, Device
from .kernel import LIMITED_SLOTS, MANY_SLOTS, Kernel, Owner

STATUS_BYTES = {
    "zero": 0,
    "driver": ACKNOWLEDGE | DRIVER,
    "driver_ok": ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK,
}
"""The status byte the guest writes for each of the model's status values."""


class UnknownEvent(ValueError):
    """An event name or argument that the table does not declare."""


def status_value(byte: int) -> str:
    """The model's name for a status byte: ``zero``, ``driver`` or ``driver_ok``.

    >>> status_value(0), status_value(0x03), status_value(0x0F)
    ('zero', 'driver', 'driver_ok')
    """
    if byte == 0:
        return "zero"
    return "driver_ok" if byte & DRIVER_OK else "driver"


def new_device(queues: int, limited: bool, device_class: type[Device] = Device, slots: int | None = None) -> Device:
    """A device with ``queues`` queues on a fresh host: a 6-slot one when ``limited``."""
    if slots is None:
        slots = LIMITED_SLOTS if limited else MANY_SLOTS
    return device_class(Kernel(slots), queues)


# -- abstraction ----------------------------------------------------------------


def queue_state(device: Device, n: int) -> str:
    """The notifier state the device's bookkeeping claims for queue ``n``."""
    vq = device.vqs[n]
    if vq.vhost:
        return "offlimits"
    return "assigned" if vq.ioeventfd else "deassigned"


def _handler(owner: Owner | None) -> str:
    return "none" if owner is None else owner.value  # Owner's values are the table's


def abstract(device: Device, spec: Spec) -> State:
    """The model's state of ``device``, fields ordered by the spec's layout."""
    layout = Layout.of(spec)
    kernel = device.kernel
    device_values = {
        "limited": not kernel.has_many_ioeventfds(),
        "running": device.running,
        "vhost_on": device.id in kernel.vhost.started,
        "status": status_value(device.status),
    }
    queues = []
    for n in range(len(device.vqs)):
        address, notifier = device.address(n), device.host_notifier(n)
        values = {
            "state": queue_state(device, n),
            "our_fd": kernel.ioeventfd(address, Owner.US) is not None,
            "vhost_fd": kernel.ioeventfd(address, Owner.VHOST) is not None,
            "vhost_serves": device.vqs[n].vhost_serves,
            "handler": _handler(kernel.reader(notifier)),
            "pending": notifier.counter > 0,
        }
        queues.append(tuple(values[name] for name in layout.queue))
    return State(tuple(device_values[name] for name in layout.device), tuple(queues))


# -- the environment ------------------------------------------------------------


def vhost_take(device: Device, n: int) -> int:
    """vhost starts on queue ``n``: asks for the notifier, then registers
    and reads it; when KVM refuses vhost's ioeventfd the take is undone."""
    result = device.set_host_notifier(n, True)
    address = device.address(n)
    if result == 0 and not device.kernel.vhost.holds(address):
        result = device.kernel.vhost.start(address, device.host_notifier(n))
        if result != 0:
            device.vhost_refused(n)
    return result


def vhost_release(device: Device, n: int) -> int:
    """vhost stops on queue ``n`` (if it served it) and gives the notifier back."""
    address = device.address(n)
    if device.kernel.vhost.holds(address):
        device.kernel.vhost.stop(address)
    return device.set_host_notifier(n, False)


def vhost_start(device: Device) -> None:
    """vhost starts for ``device``: takes every queue it serves, one call."""
    device.kernel.vhost.started.add(device.id)
    for vq in device.vqs:
        if vq.vhost_serves:
            vhost_take(device, vq.index)


def vhost_stop(device: Device) -> None:
    """vhost stops for ``device``: gives back every queue it serves."""
    device.kernel.vhost.started.discard(device.id)
    for vq in device.vqs:
        if vq.vhost_serves:
            vhost_release(device, vq.index)


def perform(device: Device, event: str, args: dict) -> None:
    """Apply one event instance of the table to ``device``.

    ``assign_ok=False`` makes the kernel refuse every assignment of ours
    that the device makes during this event, or, when the event is vhost's
    take (``vhost_start``, ``set_host_notifier`` with ``assign``), vhost's.
    ``handle`` wakes whoever reads the queue's notifier (our handler or
    vhost's worker).
    """
    action = _ACTIONS.get(event)
    if action is None:
        raise UnknownEvent(f"no event {event!r}; expected one of {', '.join(_ACTIONS)}")
    refuse = args.get("assign_ok", True) is False
    take = is_take(event, args)
    with device.kernel.refusing(not take, vhost=take) if refuse else nullcontext():
        action(device, args)


def is_take(event: str, args: dict) -> bool:
    """Whether the event is vhost taking host notifiers (its ``assign_ok``
    then answers vhost's ioeventfds, not ours)."""
    return event == "vhost_start" or (event == "set_host_notifier" and bool(args.get("assign")))


def _status_byte(args: dict, key: str) -> int:
    try:
        return STATUS_BYTES[args[key]]
    except KeyError:
        raise UnknownEvent(f"{key} must be one of {', '.join(STATUS_BYTES)}, found {args.get(key)!r}") from None


def _queue(device: Device, args: dict) -> int:
    n = args.get("queue")
    if not isinstance(n, int) or not 0 <= n < len(device.vqs):
        raise UnknownEvent(f"queue must be 0..{len(device.vqs) - 1}, found {n!r}")
    return n


def _set_host_notifier(device: Device, args: dict) -> None:
    n = _queue(device, args)
    if args.get("assign"):
        vhost_take(device, n)
    else:
        vhost_release(device, n)


_ACTIONS: dict[str, Callable[[Device, dict], None]] = {
    "set_status": lambda d, a: d.set_status(_status_byte(a, "value")),
    "reset": lambda d, a: d.reset(),
    "set_host_notifier": _set_host_notifier,
    "vhost_start": lambda d, a: vhost_start(d),
    "vhost_stop": lambda d, a: vhost_stop(d),
    "load": lambda d, a: d.load(_status_byte(a, "saved")),
    "vm_stop": lambda d, a: d.vm_stop(),
    "vm_run": lambda d, a: d.vm_run(),
    "kick": lambda d, a: d.kick(_queue(d, a)),
    "handle": lambda d, a: d.kernel.wake(d.host_notifier(_queue(d, a))),
}
