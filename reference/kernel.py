"""A small simulated KVM host: ioeventfds, eventfds, their readers, and vhost.

Just enough of the host for a device to be tested against the table:

- :class:`EventFd`: a counter. A kick signals it (+1); a reader takes the
  whole count with :meth:`EventFd.test_and_clear`, as ``read(2)`` does.
- :class:`Kernel`: registers ioeventfds per notify *address* (device, queue)
  and *owner* (us, or vhost); holds at most ``slots`` of them (6 on a
  limited host, :data:`LIMITED_SLOTS`); can be told to refuse the next
  assignment(s) of ours, and vhost's; keeps the reader attached to each eventfd (the main loop's
  fd handler for ours, vhost's worker for vhost's) and logs every attach and
  detach. A guest write to a notify address signals the eventfd registered
  there, or else is a synchronous pio exit handled at once by the device.
- :class:`VhostWorker`: vhost's in-kernel worker, which reads the eventfds
  of the queues vhost holds and counts the kicks it handles.

>>> kernel = Kernel()
>>> fd = EventFd("vq0")
>>> kernel.assign_ioeventfd((0, 0), fd, Owner.US)
0
>>> kernel.guest_notify((0, 0)); fd.counter
1
>>> kernel.refuse_next(); kernel.assign_ioeventfd((0, 1), EventFd("vq1"), Owner.US)
-28
"""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum

LIMITED_SLOTS = 6
"""ioeventfds per guest on an old host kernel (NR_IOBUS_DEVS was 6)."""

MANY_SLOTS = 1000
"""ioeventfds per guest on a later kernel: never the limit in these tests."""

_ALWAYS = 1 << 30

Address = tuple[int, int]
"""A notify address: (device id, queue index)."""


class Owner(Enum):
    """Who registered an ioeventfd, or reads an eventfd."""

    US = "ours"
    VHOST = "vhost"


class EventFd:
    """An eventfd: a counter that writers signal and one reader drains."""

    __slots__ = ("counter", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.counter = 0

    def signal(self) -> None:
        self.counter += 1

    def test_and_clear(self) -> int:
        """Take every signal that arrived since the last read (0 if none)."""
        taken, self.counter = self.counter, 0
        return taken

    def __repr__(self) -> str:
        return f"EventFd({self.name!r}, counter={self.counter})"


@dataclass(frozen=True, slots=True)
class Reader:
    """The handler reading an eventfd, and whose it is."""

    owner: Owner
    callback: Callable[[], None]


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One change the kernel saw, e.g. ``attach vq0 ours``."""

    action: str
    what: str
    owner: Owner

    def __str__(self) -> str:
        return f"{self.action} {self.what} {self.owner.value}"


class Kernel:
    """The host: KVM's ioeventfd table, the fd readers, vhost's worker."""

    def __init__(self, slots: int = MANY_SLOTS) -> None:
        self.slots = slots
        self.refusals = 0
        self.refuse_vhost = False
        self.ioeventfds: dict[tuple[Address, Owner], EventFd] = {}
        self.readers: dict[EventFd, Reader] = {}
        self.log: list[LogEntry] = []
        self.pio_handlers: list[Callable[[int], None]] = []
        self.vhost = VhostWorker(self)

    # -- devices ------------------------------------------------------------
    def plug(self, pio_handler: Callable[[int], None]) -> int:
        """Register a device's pio exit handler (called with the queue index);
        returns the device's id, the first half of its notify addresses."""
        self.pio_handlers.append(pio_handler)
        return len(self.pio_handlers) - 1

    def has_many_ioeventfds(self) -> bool:
        """The start-up probe: can a guest have more than 6 ioeventfds?"""
        return self.slots > LIMITED_SLOTS

    # -- refusals -------------------------------------------------------------
    def refuse_next(self, count: int = 1) -> None:
        """Refuse the next ``count`` assignments of ours with -ENOSPC."""
        self.refusals = count

    @contextmanager
    def refusing(self, refuse: bool = True, vhost: bool = False) -> Iterator[None]:
        """Refuse every assignment of ours made inside the block (when
        ``refuse``), and every one of vhost's (when ``vhost``)."""
        self.refusals = _ALWAYS if refuse else 0
        self.refuse_vhost = vhost
        try:
            yield
        finally:
            self.refusals = 0
            self.refuse_vhost = False

    # -- ioeventfds ---------------------------------------------------------
    def assign_ioeventfd(self, address: Address, eventfd: EventFd, owner: Owner) -> int:
        """Register ``eventfd`` for guest writes to ``address``: 0 or -errno.

        vhost's registrations are refused only inside ``refusing(vhost=True)``
        (KVM refusing vhost's own ioeventfd, ``assign_ok`` false on a take);
        the slot count applies to ours only (the table's vhost holds its
        queues as a fact of the host).
        A registration of ours beside vhost's at the same address is
        accepted and recorded (real KVM would refuse it as a collision):
        the simulation shows such a bug instead of hiding it as a refusal.
        """
        if (address, owner) in self.ioeventfds:
            return -errno.EEXIST
        if owner is Owner.VHOST and self.refuse_vhost:
            return -errno.ENOSPC
        if owner is Owner.US:
            if self.refusals > 0:
                self.refusals -= 1
                return -errno.ENOSPC
            if len(self.ioeventfds) >= self.slots:
                return -errno.ENOSPC
        self.ioeventfds[(address, owner)] = eventfd
        self.log.append(LogEntry("assign", f"{address}", owner))
        return 0

    def deassign_ioeventfd(self, address: Address, owner: Owner) -> int:
        if self.ioeventfds.pop((address, owner), None) is None:
            return -errno.ENOENT
        self.log.append(LogEntry("deassign", f"{address}", owner))
        return 0

    def hand_over(self, address: Address, giver: Owner, taker: Owner) -> None:
        """The registration ``giver`` made at ``address`` now serves ``taker``
        (a VMM gives the eventfd it registered to a vhost-user backend, or
        takes it back): KVM's table is unchanged, so nothing can be refused."""
        eventfd = self.ioeventfds.pop((address, giver))
        self.ioeventfds[(address, taker)] = eventfd
        self.log.append(LogEntry("hand over", f"{address}", taker))

    def ioeventfd(self, address: Address, owner: Owner) -> EventFd | None:
        return self.ioeventfds.get((address, owner))

    # -- readers ------------------------------------------------------------
    def attach(self, eventfd: EventFd, owner: Owner, callback: Callable[[], None]) -> None:
        """Make ``callback`` the reader of ``eventfd`` (replacing any other)."""
        self.readers[eventfd] = Reader(owner, callback)
        self.log.append(LogEntry("attach", eventfd.name, owner))

    def detach(self, eventfd: EventFd, owner: Owner) -> None:
        """Stop ``owner`` reading ``eventfd``; a reader of another owner stays."""
        reader = self.readers.get(eventfd)
        if reader is not None and reader.owner is owner:
            del self.readers[eventfd]
            self.log.append(LogEntry("detach", eventfd.name, owner))

    def reader(self, eventfd: EventFd) -> Owner | None:
        reader = self.readers.get(eventfd)
        return reader.owner if reader else None

    def wake(self, eventfd: EventFd) -> None:
        """The eventfd is readable: run its reader, if it has one and a kick waits."""
        reader = self.readers.get(eventfd)
        if reader is not None and eventfd.counter:
            reader.callback()

    # -- the guest ------------------------------------------------------------
    def guest_notify(self, address: Address) -> None:
        """A guest write to a notify address: signal the eventfd registered
        there, else exit to the device's pio handler at once."""
        eventfds = {fd for (where, _), fd in self.ioeventfds.items() if where == address}
        if not eventfds:
            device, queue = address
            self.pio_handlers[device](queue)
            return
        for fd in eventfds:  # ours and vhost's share the queue's notifier: one signal
            fd.signal()


class VhostWorker:
    """vhost's in-kernel worker: reads the notifiers of the queues vhost holds."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.held: dict[Address, EventFd] = {}
        self.handled: dict[int, int] = {}
        self.handled_at: dict[Address, int] = {}
        self.started: set[int] = set()  # devices vhost is started for (whole-device take)

    def holds(self, address: Address) -> bool:
        return address in self.held

    def start(self, address: Address, eventfd: EventFd) -> int:
        """vhost takes a queue: registers its ioeventfd and reads the
        notifier; 0, or -errno when KVM refuses (vhost then holds nothing)."""
        result = self.kernel.assign_ioeventfd(address, eventfd, Owner.VHOST)
        if result != 0:
            return result
        self.kernel.attach(eventfd, Owner.VHOST, functools.partial(self._handle, address, eventfd))
        self.held[address] = eventfd
        return 0

    def stop(self, address: Address) -> None:
        """vhost stops serving a queue; a kick left in the notifier stays there."""
        eventfd = self.held.pop(address)
        self.kernel.detach(eventfd, Owner.VHOST)
        self.kernel.deassign_ioeventfd(address, Owner.VHOST)

    def _handle(self, address: Address, eventfd: EventFd) -> None:
        taken = eventfd.test_and_clear()
        self.handled[address[0]] = self.handled.get(address[0], 0) + taken
        self.handled_at[address] = self.handled_at.get(address, 0) + taken

    def handled_for(self, device: int) -> int:
        """Kicks of ``device`` that vhost has handled."""
        return self.handled.get(device, 0)
