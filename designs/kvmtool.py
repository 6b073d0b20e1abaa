"""kvmtool's virtio-pci: an ioeventfd per queue from the moment the guest sets the queue up.

Source read
    kvmtool/kvmtool at commit b48735e5d562eaffb96cf98a91da212176f1534c:
    ``virtio/pci.c`` (``virtio_pci__init_ioeventfd``, ``virtio_pci_init_vq``,
    ``virtio_pci_exit_vq``, ``virtio_pci__reset``, ``virtio_pci__ioevent_callback``),
    ``virtio/pci-legacy.c`` and ``virtio/pci-modern.c`` (a queue's PFN or
    queue-enable write sets the queue up; the notify register's pio path),
    ``virtio/core.c`` (``virtio_notify_status``), ``ioeventfd.c``
    (``ioeventfd__add_event``, ``ioeventfd__del_event``: no read before close),
    and its vhost users ``virtio/net.c`` (``notify_vq_eventfd``, ``exit_vq``:
    ``VHOST_RESET_OWNER``, "Cannot reset VHOST queue"), ``virtio/vsock.c`` and
    ``virtio/vhost.c`` (``virtio_vhost_set_vring_kick`` and
    ``virtio_vhost_set_vring`` exit kvmtool when an ioctl fails).

What it does, in the model's words
    When the guest sets a queue up, kvmtool creates an eventfd and registers
    it with KVM at the queue's notify address. A device without vhost also
    polls it from kvmtool's ioeventfd thread, whose callback runs the queue;
    a device with vhost polls none of its queues in userspace (the flag is
    per device) and gives vhost the eventfd of every queue vhost serves (not
    vhost-net's control queue, not vsock's event queue), once, at set-up.
    A registration KVM refuses (or one already there) leaves the queue on
    the pio path, where the notify write runs the queue at once. A status
    write with DRIVER_OK starts the device; a status of 0 after a start
    resets it: every queue's ioeventfd is deregistered and its eventfd
    closed without being read, and vhost's owner is reset, which kvmtool
    cannot undo: setting a vhost queue up again makes it exit.

What it abstracts
    The queue set-up writes: the guest sets every queue up after
    FEATURES_OK and before DRIVER_OK, so the model folds them into the
    first status write with bits set after a reset. kvmtool registers two
    ioeventfds per queue (port and memory notify addresses); the model
    one. The notify path's threads, MSI-X, the legacy ``QUEUE_PFN = 0``
    write. kvmtool's environment (the ``kvmtool`` profile) has no VM-state
    events, no migration and no reset other than status 0.
"""

from __future__ import annotations

from virtio_notifier_spec.reference.device import DRIVER_OK
from virtio_notifier_spec.reference.kernel import EventFd, Owner

from .host import Design, DesignAbort


class Kvmtool(Design):
    """``struct virtio_pci`` and ``struct virtio_device`` as far as notifiers go."""

    def __init__(self, kernel, queues, served) -> None:
        super().__init__(kernel, queues, served)
        self.use_vhost = any(served)
        self.started = False  # VIRTIO__STATUS_START
        self.set_up = False  # the guest has set the queues up since the last reset
        self.vhost_owner_reset = False

    def internal(self) -> tuple:
        return (self.started, self.set_up, self.vhost_owner_reset)

    def _init_vq(self, n: int) -> None:
        """``virtio_pci_init_vq``: a new eventfd, registered; polled by us or given to vhost."""
        if self.served[n] and self.vhost_owner_reset:
            raise DesignAbort("VHOST_SET_VRING_KICK failed after VHOST_RESET_OWNER: kvmtool exits")
        fd = EventFd(f"dev{self.id}.vq{n}")
        owner = Owner.VHOST if self.served[n] else Owner.US
        if self.kernel.assign_ioeventfd(self.address(n), fd, owner) != 0:
            return  # "couldn't add ioeventfd for vq": the queue stays on the pio path
        self.notifiers[n] = fd
        if not self.use_vhost:
            self.arm(n)  # IOEVENTFD_FLAG_USER_POLL
        elif self.served[n]:
            self.vhost_reads(n)  # notify_vq_eventfd: VHOST_SET_VRING_KICK

    def _exit_vq(self, n: int) -> None:
        """``virtio_pci_exit_vq``: deregister and close, without reading the eventfd."""
        for owner in (Owner.US, Owner.VHOST):
            if self.registered(n, owner):
                self.unregister(n, owner)
        self.disarm(n)
        self.vhost_stops_reading(n)
        self.notifiers[n].test_and_clear()  # close(): a kick it held is gone, handled by nobody
        if self.served[n]:
            self.vhost_owner_reset = True  # exit_vq: VHOST_RESET_OWNER

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
