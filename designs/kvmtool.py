"""kvmtool's virtio-pci: two ioeventfds per queue from the moment the guest sets the queue up.

Source read
    kvmtool/kvmtool at commit b48735e5d562eaffb96cf98a91da212176f1534c:
    ``virtio/pci.c`` (``virtio_pci__init_ioeventfd``, lines 58-112: a port-I/O
    ioeventfd (92) and a memory one (100) for every queue, the first deleted when
    the second fails (109-110), vhost handed the kick fd (104-106);
    ``virtio_pci_init_vq``, 114-125: when the ioeventfds fail it prints "couldn't
    add ioeventfd for vq" and returns (121-122) before ``ops->init_vq`` (124), so
    the queue's ring is never set up; ``virtio_pci_exit_vq``, 127-140;
    ``virtio_pci__reset``, 431-444; ``virtio_pci__ioevent_callback``, 50-56),
    ``virtio/pci-legacy.c`` (a queue's PFN write sets the queue up, 148; the notify
    register's pio path calls ``notify_vq``, 162-169), ``virtio/core.c``
    (``virtio_notify_status``, 287-316: DRIVER_OK starts, 0 after a start resets,
    309; ``virtio_exit_vq``, 222-229), ``ioeventfd.c`` (``ioeventfd__add_event``,
    55-115: ``KVM_IOEVENTFD`` (88) returns -errno, -EEXIST for an address and
    datamatch already registered; ``ioeventfd__del_event`` closes without reading),
    its vhost users ``virtio/net.c`` (``init_vq`` 594-636, ``exit_vq`` 638-661:
    "Cannot reset VHOST queue", ``VHOST_RESET_OWNER`` (651), for net only;
    ``notify_vq_eventfd`` 674-682), ``virtio/vsock.c`` and ``virtio/scsi.c``
    (``init_vq``, ``notify_vq_eventfd``; neither has an ``exit_vq``, so their
    reset resets no vhost owner), ``virtio/blk.c`` (``notify_vq``, 260-271: writes
    the I/O thread's eventfd, which ``init_vq`` made) and ``virtio/vhost.c``
    (``virtio_vhost_set_vring_kick`` exits kvmtool when the ioctl fails, 152).

What it does, in the model's words
    When the guest sets a queue up, kvmtool creates two eventfds and registers
    them with KVM at the queue's notify addresses, port-I/O and memory: two of
    the host's ioeventfds per queue. A device without vhost also polls them
    from kvmtool's ioeventfd thread, whose callback runs the queue; a device
    with vhost polls none of its queues in userspace (the flag is per device)
    and gives vhost the eventfd of every queue vhost serves (not vhost-net's
    control queue, not vsock's event queue), once, at set-up. When KVM refuses
    a registration, or finds one already at the address (-EEXIST), the set-up
    stops before the device's ``init_vq``: the queue's ring is never set up
    and it is dead. A kick on the pio path reaches ``notify_vq`` for a ring
    that does not exist and is lost; after a collision the registration found
    there still runs the queue, on the ring the guest set up before, so
    nothing the guest puts in the new ring is seen: the device is unusable. A
    status write with DRIVER_OK starts the device; a status of 0 after a
    start resets it: every queue's ioeventfds are deregistered and their
    eventfds closed without being read, and vhost-net's owner is reset, which
    kvmtool cannot undo: setting a vhost-net queue up again makes it exit.
    vsock and scsi reset no owner: their queues are handed to vhost again.

What it abstracts
    The queue set-up writes: the guest sets every queue up after
    FEATURES_OK and before DRIVER_OK, so the model folds them into the
    first status write with bits set after a reset. The notify path's
    threads, MSI-X, the legacy ``QUEUE_PFN = 0`` write. The guest kicks at
    the port-I/O address (a legacy device); the table's ``our_fd`` and
    ``vhost_fd`` read that registration. kvmtool's environment (the
    ``kvmtool`` profile) has no VM-state events, no migration and no reset
    other than status 0.
"""

from __future__ import annotations

from virtio_notifier_spec.reference.device import DRIVER_OK
from virtio_notifier_spec.reference.kernel import EventFd, Owner

from .host import Design, DesignAbort

MMIO = 1 << 16
"""Where the model puts a queue's memory notify address: (device, queue + MMIO)."""


class Kvmtool(Design):
    """``struct virtio_pci`` and ``struct virtio_device`` as far as notifiers go."""

    resets_vhost_owner = True
    """vhost-net's ``exit_vq`` resets vhost's owner on a reset (vsock and scsi have no ``exit_vq``)."""

    def __init__(self, kernel, queues, served) -> None:
        super().__init__(kernel, queues, served)
        self.use_vhost = any(served)
        self.started = False  # VIRTIO__STATUS_START
        self.set_up = False  # the guest has set the queues up since the last reset
        self.vhost_owner_reset = False
        self.dead = [False] * queues  # set up without a ring: init_vq never ran

    def internal(self) -> tuple:
        return (self.started, self.set_up, self.vhost_owner_reset, tuple(self.dead))

    def mmio_address(self, n: int) -> tuple[int, int]:
        return (self.id, n + MMIO)

    def pio_exit(self, n: int) -> None:
        """``notify_vq`` from the notify register: a dead queue has no ring to run."""
        if not self.dead[n]:
            super().pio_exit(n)

    def run_queue(self, n: int, eventfd: EventFd | None = None) -> None:
        taken = (eventfd or self.notifiers[n]).test_and_clear()
        if not self.dead[n]:
            self.handled[n] += taken  # a dead queue's callback runs an old ring, or none: nothing the guest sees

    def _init_vq(self, n: int) -> None:
        """``virtio_pci_init_vq``: two new eventfds, registered; polled by us or given to vhost."""
        owner = Owner.VHOST if self.served[n] else Owner.US
        pio, mmio = EventFd(f"dev{self.id}.vq{n}"), EventFd(f"dev{self.id}.vq{n}.mmio")
        if self.kernel.assign_ioeventfd(self.address(n), pio, owner) != 0:
            self.dead[n] = True  # "couldn't add ioeventfd for vq": returns before ops->init_vq
            return
        if self.kernel.assign_ioeventfd(self.mmio_address(n), mmio, owner) != 0:
            self.kernel.deassign_ioeventfd(self.address(n), owner)  # free_ioport_evt
            self.dead[n] = True
            return
        if self.served[n] and self.vhost_owner_reset:
            raise DesignAbort("VHOST_SET_VRING_KICK failed after VHOST_RESET_OWNER: kvmtool exits")
        self.notifiers[n] = pio
        self.dead[n] = False
        if not self.use_vhost:
            self.arm(n)  # IOEVENTFD_FLAG_USER_POLL
        elif self.served[n]:
            self.vhost_reads(n)  # notify_vq_eventfd: VHOST_SET_VRING_KICK

    def _exit_vq(self, n: int) -> None:
        """``virtio_pci_exit_vq``: deregister and close, without reading the eventfds."""
        for owner in (Owner.US, Owner.VHOST):
            for address in (self.address(n), self.mmio_address(n)):
                if self.kernel.ioeventfd(address, owner) is not None:
                    self.kernel.deassign_ioeventfd(address, owner)
        self.disarm(n)
        self.vhost_stops_reading(n)
        self.notifiers[n].test_and_clear()  # close(): a kick it held is gone, handled by nobody
        if self.served[n] and self.resets_vhost_owner and not self.dead[n]:
            self.vhost_owner_reset = True  # exit_vq: VHOST_RESET_OWNER
        self.dead[n] = False

    def set_status(self, byte: int) -> None:
        if byte and not self.set_up:
            for n in range(self.queues):  # the guest sets each queue up before DRIVER_OK
                self._init_vq(n)
            self.set_up = True
        self.status = byte
        if byte & DRIVER_OK and not self.started:
            self.started = True
        elif byte == 0 and self.started:
            self.started = False
            for n in range(self.queues):
                self._exit_vq(n)
        if byte == 0:
            self.set_up = False


class KvmtoolVsock(Kvmtool):
    """A vhost-vsock (or vhost-scsi) device: no ``exit_vq``, so a reset resets
    no vhost owner and the next set-up hands vhost its queues again."""

    resets_vhost_owner = False
