"""A design on the simulated host, driven with the table's events and read as the table's state.

Every design of this folder is a small model of one hypervisor's notifier
code: a subclass of :class:`Design`, over the simulated KVM host of
``reference/kernel.py`` (ioeventfds per notify address and owner, eventfd
counters, the reader armed on each eventfd, 6 slots on a limited host,
refusals on demand). :class:`Run` plays the environment (the guest, vhost,
the VM's run state, KVM's answers) with the table's events, and reads the
design back as a :class:`~virtio_notifier_spec.spec.concrete.State`:

- ``limited``, ``running``, ``vhost_on`` and ``vhost_serves`` are facts of
  the environment, kept here, not by the design;
- ``status`` is the design's own status register; ``needs_reset`` (a
  table that has it: ``registered``) whether it set DEVICE_NEEDS_RESET, and
  ``strict_status``, ``kicks_on_activation`` the design's fixed policies
  (class attributes);
- ``our_fd`` / ``vhost_fd``: an ioeventfd registered at the queue's notify
  address for us, or for vhost (a registration handed to a vhost or
  vhost-user backend counts as vhost's);
- ``handler``: who reads the queue's eventfd (:meth:`Design.reader`);
- ``pending``: a kick waits in an eventfd of the queue (the current one, or
  one still registered);
- ``state`` is read from the host, since these designs keep no such
  variable: ``offlimits`` when vhost holds the queue, ``assigned`` when an
  ioeventfd of ours is registered, ``deassigned`` otherwise.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.designs.qemu_today import QemuToday
>>> run = Run(QemuToday, queues=1, limited=False, served=(True,))
>>> run.perform("set_status", {"value": "driver_ok", "assign_ok": True})
(False,)
>>> run.state(load_spec("resolved", env="qemu")).queues[0][0]
'assigned'
"""

from __future__ import annotations

import functools
from contextlib import nullcontext

from virtio_notifier_spec.reference.abstraction import STATUS_BYTES, is_take
from virtio_notifier_spec.reference.device import DRIVER_OK
from virtio_notifier_spec.reference.kernel import LIMITED_SLOTS, MANY_SLOTS, Address, EventFd, Kernel, Owner
from virtio_notifier_spec.spec.concrete import Layout, State
from virtio_notifier_spec.spec.schema import Spec

DEVICE_NEEDS_RESET = 0x40
"""The status bit a device sets when it cannot go on until the driver resets it (virtio 1.x, 2.1.2)."""


class DesignAbort(Exception):
    """The hypervisor stops: an assertion fails, or it exits on an error it
    cannot recover from. The message says where."""


class Design:
    """One hypervisor's notifier code, over the simulated host.

    A subclass implements the entry points the environment calls (each
    named after the table's event it models) and keeps its own bookkeeping,
    which :meth:`internal` returns so that two states of the design with the
    same abstraction can be told apart.
    """

    strict_status = False
    """While DRIVER_OK the device ignores every status write but 0."""

    kicks_on_activation = False
    """Activation writes every queue's eventfd once."""

    def __init__(self, kernel: Kernel, queues: int, served: tuple[bool, ...]) -> None:
        self.kernel = kernel
        self.queues = queues
        self.served = served
        self.id = kernel.plug(self.pio_exit)
        self.status = 0
        self.notifiers = [EventFd(f"dev{self.id}.vq{n}") for n in range(queues)]
        self.handled = [0] * queues
        self.activate_ok = True  # the environment's answer to the next activation (set_status's activate_ok)

    # -- entry points (overridden) ------------------------------------------------
    def set_status(self, byte: int) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def set_host_notifier(self, n: int, assign: bool) -> None:
        """vhost takes or gives back one queue alone (the adversarial environment)."""
        raise DesignAbort("this design has no single-queue take or release")

    def vhost_start(self) -> None:
        raise DesignAbort("this design has no whole-device vhost take")

    def vhost_stop(self) -> None:
        raise DesignAbort("this design has no whole-device vhost release")

    def load(self, byte: int) -> None:
        raise DesignAbort("this design loads no device state")

    def vm_stop(self) -> None:
        """The VM stops; by default the device is not told."""

    def vm_run(self) -> None:
        """The VM runs again; by default the device is not told."""

    def internal(self) -> tuple:
        """The design's own bookkeeping (flags, counters), for telling states apart."""
        return ()

    # -- what the abstraction reads -------------------------------------------------
    def notifier(self, n: int) -> EventFd:
        """The queue's current eventfd (the host notifier)."""
        return self.notifiers[n]

    def reader(self, n: int) -> Owner | None:
        """Who reads the queue's eventfd: the reader armed on it, by default."""
        return self.kernel.reader(self._watched(n))

    def status_byte(self) -> int:
        return self.status

    def needs_reset(self) -> bool:
        """The device set DEVICE_NEEDS_RESET (an activation failed)."""
        return bool(self.status_byte() & DEVICE_NEEDS_RESET)

    # -- helpers for subclasses -------------------------------------------------------
    def address(self, n: int) -> Address:
        return (self.id, n)

    def pio_exit(self, n: int) -> None:
        """A kick without an ioeventfd: a synchronous exit, the queue runs at once."""
        self.handled[n] += 1

    def run_queue(self, n: int, eventfd: EventFd | None = None) -> None:
        """Test and clear the eventfd, and run the queue for what it held."""
        self.handled[n] += (eventfd or self.notifiers[n]).test_and_clear()

    def register(self, n: int, owner: Owner = Owner.US) -> bool:
        """Register the queue's eventfd at its notify address; False when KVM refuses."""
        return self.kernel.assign_ioeventfd(self.address(n), self.notifiers[n], owner) == 0

    def unregister(self, n: int, owner: Owner = Owner.US) -> None:
        self.kernel.deassign_ioeventfd(self.address(n), owner)

    def hand_over(self, n: int, giver: Owner, taker: Owner) -> None:
        """The queue's registration now serves another owner (see ``Kernel.hand_over``)."""
        self.kernel.hand_over(self.address(n), giver, taker)

    def registered(self, n: int, owner: Owner = Owner.US) -> bool:
        return self.kernel.ioeventfd(self.address(n), owner) is not None

    def arm(self, n: int) -> None:
        """Our handler reads the queue's eventfd (an fd handler of the main loop)."""
        self.kernel.attach(self.notifiers[n], Owner.US, functools.partial(self.run_queue, n, self.notifiers[n]))

    def disarm(self, n: int) -> None:
        self.kernel.detach(self.notifiers[n], Owner.US)

    def vhost_reads(self, n: int) -> None:
        """vhost's worker reads the queue's eventfd (it was given the kick fd)."""
        fd = self.notifiers[n]
        self.kernel.attach(fd, Owner.VHOST, functools.partial(self.run_queue, n, fd))

    def vhost_stops_reading(self, n: int) -> None:
        self.kernel.detach(self.notifiers[n], Owner.VHOST)

    def reinit(self, n: int) -> None:
        """A fresh eventfd for the queue (the old one, if still open somewhere, keeps what it holds)."""
        self.notifiers[n] = EventFd(f"dev{self.id}.vq{n}")

    def _watched(self, n: int) -> EventFd:
        """The eventfd kicks reach: the registered one, else the current one."""
        for owner in (Owner.US, Owner.VHOST):
            fd = self.kernel.ioeventfd(self.address(n), owner)
            if fd is not None:
                return fd
        return self.notifiers[n]

    def eventfds(self, n: int) -> list[EventFd]:
        """Every eventfd of the queue a kick may sit in."""
        found = [self.notifiers[n]]
        for owner in (Owner.US, Owner.VHOST):
            fd = self.kernel.ioeventfd(self.address(n), owner)
            if fd is not None and fd not in found:
                found.append(fd)
        return found


def status_value(byte: int) -> str:
    """The table's name for a status byte."""
    if byte == 0:
        return "zero"
    return "driver_ok" if byte & DRIVER_OK else "driver"


class Run:
    """One design on a fresh host, driven by the table's events."""

    def __init__(self, design: type[Design], queues: int, limited: bool, served: tuple[bool, ...]) -> None:
        self.kernel = Kernel(LIMITED_SLOTS if limited else MANY_SLOTS)
        self.limited = limited
        self.served = served
        self.running = True
        self.vhost_on = False
        self.design = design(self.kernel, queues, served)

    def perform(self, event: str, args: dict) -> tuple[bool, ...]:
        """Apply one event instance; per queue, whether its handler ran for a
        kick during the step (the oracle's ``handled``). ``assign_ok=false``
        makes KVM refuse every assignment of ours during the event, or
        vhost's when the event is vhost's take; ``activate_ok=false`` makes
        the device's activation fail."""
        design = self.design
        before = list(design.handled)
        refuse = args.get("assign_ok", True) is False
        take = is_take(event, args)
        design.activate_ok = args.get("activate_ok", True) is not False
        with self.kernel.refusing(not take, vhost=take) if refuse else nullcontext():
            self._dispatch(event, args)
        design.activate_ok = True
        return tuple(after > was for after, was in zip(design.handled, before, strict=True))

    def _dispatch(self, event: str, args: dict) -> None:
        design = self.design
        match event:
            case "set_status":
                design.set_status(STATUS_BYTES[args["value"]])
            case "reset":
                design.reset()
            case "set_host_notifier":
                design.set_host_notifier(args["queue"], args["assign"])
            case "vhost_start":
                self.vhost_on = True
                design.vhost_start()
            case "vhost_stop":
                self.vhost_on = False
                design.vhost_stop()
            case "load":
                design.load(STATUS_BYTES[args["saved"]])
            case "vm_stop":
                self.running = False
                design.vm_stop()
            case "vm_run":
                self.running = True
                design.vm_run()
            case "kick":
                self.kernel.guest_notify(design.address(args["queue"]))
            case "handle":
                for fd in design.eventfds(args["queue"]):
                    self.kernel.wake(fd)
            case _:
                raise ValueError(f"no event {event!r}")

    def state(self, spec: Spec) -> State:
        """The design as the table's state, fields in ``spec``'s layout."""
        layout = Layout.of(spec)
        design = self.design
        device = {
            "limited": self.limited,
            "running": self.running,
            "vhost_on": self.vhost_on,
            "status": status_value(design.status_byte()),
            "needs_reset": design.needs_reset(),
            "strict_status": design.strict_status,
            "kicks_on_activation": design.kicks_on_activation,
        }
        queues = []
        for n in range(design.queues):
            ours = design.registered(n, Owner.US)
            theirs = design.registered(n, Owner.VHOST)
            reader = design.reader(n)
            values = {
                "state": "offlimits" if theirs else "assigned" if ours else "deassigned",
                "our_fd": ours,
                "vhost_fd": theirs,
                "vhost_serves": self.served[n],
                "handler": "none" if reader is None else reader.value,
                "pending": any(fd.counter > 0 for fd in design.eventfds(n)),
            }
            queues.append(tuple(values[name] for name in layout.queue))
        return State(tuple(device[name] for name in layout.device), tuple(queues))
