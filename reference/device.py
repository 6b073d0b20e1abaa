"""The reference implementation: a virtio device's ioeventfd notifiers, written
the way a hypervisor implements them, and proven to conform to the
``resolved`` table by the property tests (it never reads the table).

Each queue has one host notifier (an eventfd). While vhost holds it the
queue is vhost's; otherwise, when the host has ioeventfds to spare, the VM
runs and the driver has set DRIVER_OK, an ioeventfd of ours signals the
notifier and our handler reads it; in every other case a kick is a
synchronous pio exit. Every way out of an ioeventfd drains the notifier
first, so that no kick is lost, and a refused assignment leaves the queue on
the pio path.

>>> from virtio_notifier_spec.reference.kernel import Kernel
>>> device = Device(Kernel(), queues=2)
>>> device.set_status(ACKNOWLEDGE | DRIVER | DRIVER_OK)
>>> device.kick(0); device.kicks_handled()
KickCount(pio=0, ioeventfd=0, vhost=0)
>>> device.run_handler(0); device.kicks_handled()
KickCount(pio=0, ioeventfd=1, vhost=0)
"""

from __future__ import annotations

import errno
import functools
from dataclasses import dataclass

from .kernel import Address, EventFd, Kernel, Owner

ACKNOWLEDGE = 0x01
DRIVER = 0x02
DRIVER_OK = 0x04
FEATURES_OK = 0x08


@dataclass(slots=True)
class VirtQueue:
    """One virtqueue's notifier bookkeeping."""

    index: int
    notifier: EventFd
    ioeventfd: bool = False  # ours is registered and our handler reads the notifier
    vhost: bool = False  # vhost holds the host notifier: hands off
    vhost_serves: bool = True  # a queue vhost takes when it starts (not vhost-net's control queue)
    ours_before_take: bool = False  # it had our ioeventfd when vhost last took it


@dataclass(frozen=True, slots=True)
class KickCount:
    """Kicks handled, by path: pio exits, our ioeventfd handler, vhost."""

    pio: int
    ioeventfd: int
    vhost: int

    @property
    def total(self) -> int:
        return self.pio + self.ioeventfd + self.vhost


class Device:
    """A virtio device's notifier logic over a :class:`Kernel`."""

    def __init__(self, kernel: Kernel, queues: int, served: tuple[bool, ...] | None = None) -> None:
        self.kernel = kernel
        self.id = kernel.plug(self._pio_exit)
        # Probed once at start-up: on a 6-slot host our queues never take a
        # slot, so that a vhost device always finds one.
        self.use_ioeventfd = kernel.has_many_ioeventfds()
        self.status = 0
        self.running = True
        served = served if served is not None else (True,) * queues
        self.vqs = [VirtQueue(n, EventFd(f"dev{self.id}.vq{n}"), vhost_serves=served[n]) for n in range(queues)]
        self.kicks_made = 0
        self.pio_handled = 0
        self.ioeventfd_handled = 0

    # -- entry points ---------------------------------------------------------
    def set_status(self, value: int) -> None:
        """The guest writes the status register; 0 resets the device."""
        if value == 0:
            self.reset()
            return
        if not value & DRIVER_OK:
            self._stop_ioeventfds()
        self.status = value
        self._start_ioeventfds()

    def reset(self) -> None:
        """Back to the pio path; vhost's queues stay vhost's until it gives
        them back (it stops on reset, and the release finds status 0)."""
        self._stop_ioeventfds()
        self.status = 0

    def set_host_notifier(self, n: int, assign: bool) -> int:
        """vhost takes (``assign``) or gives back queue ``n``'s notifier: 0 or -errno."""
        if not 0 <= n < len(self.vqs):
            return -errno.EINVAL
        if assign:
            vq = self.vqs[n]
            vq.ours_before_take = vq.ioeventfd and not vq.vhost  # for undoing a take KVM refuses
            self._hand_to_vhost(vq)
        else:
            self._take_back_from_vhost(self.vqs[n])
        return 0

    def vhost_refused(self, n: int) -> None:
        """KVM refused vhost's ioeventfd for queue ``n``: the take is undone,
        our ioeventfd registered again if the queue had one (what it held was
        drained when it went)."""
        vq = self.vqs[n]
        vq.vhost = False
        if vq.ours_before_take:
            self._assign_ioeventfd(vq)

    def load(self, saved_status: int) -> None:
        """Migration loads the status into a stopped VM; vm_run starts the ioeventfds."""
        self.status = saved_status

    def vm_stop(self) -> None:
        self.running = False
        self._stop_ioeventfds()

    def vm_run(self) -> None:
        self.running = True
        self._start_ioeventfds()

    def kick(self, n: int) -> None:
        """The guest notifies queue ``n`` (a write to its notify address)."""
        self.kicks_made += 1
        self.kernel.guest_notify(self.address(n))

    def run_handler(self, n: int) -> None:
        """Our ioeventfd handler, run by the main loop when the notifier is readable."""
        self._drain(self.vqs[n])

    # -- what tests and vhost see -------------------------------------------
    def address(self, n: int) -> Address:
        return (self.id, n)

    def host_notifier(self, n: int) -> EventFd:
        return self.vqs[n].notifier

    def kicks_handled(self) -> KickCount:
        return KickCount(self.pio_handled, self.ioeventfd_handled, self.kernel.vhost.handled_for(self.id))

    # -- decisions ------------------------------------------------------------
    def _ioeventfd_wanted(self) -> bool:
        """The one place that decides whether our queues use ioeventfds."""
        return self.use_ioeventfd and self.running and bool(self.status & DRIVER_OK)

    def _hand_to_vhost(self, vq: VirtQueue) -> None:
        if vq.vhost:
            return  # vhost asks again for what it holds: nothing to do
        self._stop_queue(vq)
        vq.vhost = True

    def _take_back_from_vhost(self, vq: VirtQueue) -> None:
        if not vq.vhost:
            return  # not vhost's to give back: leave our ioeventfd alone
        vq.vhost = False
        self._drain(vq)  # a kick vhost left in the notifier is ours now
        # vhost may give a queue back while the device is reset or the VM is
        # stopped: the same checks as DRIVER_OK, not an unconditional restart.
        self._start_queue(vq)

    # -- ioeventfds -----------------------------------------------------------
    def _start_ioeventfds(self) -> None:
        for vq in self.vqs:
            self._start_queue(vq)

    def _stop_ioeventfds(self) -> None:
        for vq in self.vqs:
            self._stop_queue(vq)

    def _start_queue(self, vq: VirtQueue) -> None:
        if vq.vhost or vq.ioeventfd or not self._ioeventfd_wanted():
            return
        self._assign_ioeventfd(vq)

    def _stop_queue(self, vq: VirtQueue) -> None:
        if vq.ioeventfd:
            self._deassign_ioeventfd(vq)

    def _assign_ioeventfd(self, vq: VirtQueue) -> None:
        if self.kernel.assign_ioeventfd(self.address(vq.index), vq.notifier, Owner.US) < 0:
            return  # refused: the queue stays on the pio path, which always works
        self.kernel.attach(vq.notifier, Owner.US, functools.partial(self.run_handler, vq.index))
        vq.ioeventfd = True

    def _deassign_ioeventfd(self, vq: VirtQueue) -> None:
        self.kernel.deassign_ioeventfd(self.address(vq.index), Owner.US)
        self.kernel.detach(vq.notifier, Owner.US)
        vq.ioeventfd = False
        # Drain after deassigning: no new kick can land in the notifier now,
        # and one that landed just before is handled rather than lost.
        self._drain(vq)

    # -- kicks ----------------------------------------------------------------
    def _drain(self, vq: VirtQueue) -> None:
        self.ioeventfd_handled += vq.notifier.test_and_clear()

    def _pio_exit(self, n: int) -> None:
        self.pio_handled += 1
