"""QEMU's virtio-pci ioeventfd design as merged in 2011 (0.15 / 1.0 era).

Source read
    qemu/qemu ``hw/virtio-pci.c`` at commit 023ee4b4ffa084fcf3df8f2acbbc77356d45f270
    (the stored version is of 2012: the memory API's ``memory_region_add_eventfd``
    where 0.15 called ``kvm_set_ioeventfd_pio_word``; the ioeventfd logic is the
    2011 one), and ``hw/virtio.c`` at commit 0cea71a207508c2b8f563b2644ac46009832c8f4.
    Functions followed: ``virtio_pci_start_ioeventfd``, ``virtio_pci_stop_ioeventfd``,
    ``virtio_pci_set_host_notifier`` and ``..._internal``, ``virtio_pci_host_notifier_read``,
    ``virtio_ioport_write`` (``VIRTIO_PCI_STATUS``), ``virtio_pci_reset``,
    ``virtio_pci_vmstate_change``, ``virtio_init_pci`` (the ``kvm_has_many_ioeventfds``
    probe), and in ``hw/virtio.c`` ``virtio_vmstate_change`` and ``virtio_load``.
    Not in the index: an earlier (0.15) copy of either file, ``hw/vhost.c`` and
    ``hw/virtio-net.c`` of that era (vhost's side is modelled from the
    environment's events; see the ``qemu`` profile in ``spec/common.toml``).

What it does, in the model's words
    The proxy keeps three per-device facts: ioeventfds may be used (cleared at
    start-up on a host with few ioeventfds), ours are started, and they are
    disabled (vhost holds a host notifier). Start registers an ioeventfd and
    arms our handler on every queue, unless not allowed, disabled or started;
    stop disarms, deregisters and drains every queue (test and clear, run the
    queue). A status write stops first when DRIVER_OK is absent, starts after
    when present, and resets on 0. Reset stops, then resets. The VM-state
    handler starts on run and stops on stop; the core passes it "running and
    DRIVER_OK", so a VM that runs a device without DRIVER_OK stops rather than
    starts. ``set_host_notifier`` sets disabled to its argument (per device, not
    per queue), stops ours on a take, and never starts ours on a release (its
    comment: the backend only stops on a status change, reset or VM stop). The
    take re-creates the queue's notifier and registers it for vhost; the
    release deregisters it and drains. ``load`` only restores the status.

    The status write, reset, VM-state change and load, alike in both QEMU
    designs, are :mod:`.qemu_proxy`'s.

What it abstracts
    Feature negotiation, MSI-X, queue addresses (every queue has a ring), the
    bus-master quirk, and vhost itself: vhost's worker reads what it was
    given, from take to release. KVM's refusal of an ioeventfd: with the memory
    API the registration cannot fail to its caller; KVM's listener aborts QEMU
    (``kvm_mem_ioeventfd_add``), which the model raises as :class:`DesignAbort`.
"""

from __future__ import annotations

from virtio_notifier_spec.reference.kernel import Owner

from .host import DesignAbort
from .qemu_proxy import VirtioPciProxy


class Qemu2011(VirtioPciProxy):
    """The per-device flags of the 2011 ``VirtIOPCIProxy``."""

    def __init__(self, kernel, queues, served) -> None:
        super().__init__(kernel, queues, served)
        self.use_ioeventfd = kernel.has_many_ioeventfds()
        self.started = False
        self.disabled = False

    def internal(self) -> tuple:
        return (self.use_ioeventfd, self.started, self.disabled)

    # -- the proxy's ioeventfds -------------------------------------------------------
    def _assign(self, n: int, owner: Owner) -> None:
        """``set_host_notifier_internal(n, true)``: a fresh notifier, registered."""
        self.reinit(n)
        if not self.register(n, owner):
            raise DesignAbort("kvm_mem_ioeventfd_add: KVM refused the ioeventfd; QEMU aborts")

    def _deassign(self, n: int, owner: Owner) -> None:
        """``set_host_notifier_internal(n, false)``: deregister, drain, close."""
        if not self.registered(n, owner):
            if owner is Owner.VHOST and self.registered(n, Owner.US):
                # the same notifier fd is registered for us: memory_region_del_eventfd removes ours
                owner = Owner.US
            else:
                raise DesignAbort("memory_region_del_eventfd: no such eventfd (assertion fails)")
        self.unregister(n, owner)
        self.run_queue(n)

    def start(self) -> None:
        if not self.use_ioeventfd or self.disabled or self.started:
            return
        for n in range(self.queues):
            self._assign(n, Owner.US)
            self.arm(n)
        self.started = True

    def stop(self) -> None:
        if not self.started:
            return
        for n in range(self.queues):
            self.disarm(n)
            self._deassign(n, Owner.US)
        self.started = False

    # -- entry points ----------------------------------------------------------------
    def set_host_notifier(self, n: int, assign: bool) -> None:
        self.disabled = assign
        if assign:
            self.stop()
            if self.registered(n, Owner.VHOST):
                raise DesignAbort("kvm_mem_ioeventfd_add: a second ioeventfd for the queue; QEMU aborts")
            self._assign(n, Owner.VHOST)
            self.vhost_reads(n)
        else:
            self.vhost_stops_reading(n)
            self._deassign(n, Owner.VHOST)

    def vhost_start(self) -> None:
        # vhost_dev_enable_notifiers: set_host_notifier(n, true) for every queue vhost serves
        for n in range(self.queues):
            if self.served[n]:
                self.set_host_notifier(n, True)

    def vhost_stop(self) -> None:
        # vhost_dev_stop, then vhost_dev_disable_notifiers: set_host_notifier(n, false)
        for n in range(self.queues):
            if self.served[n]:
                self.set_host_notifier(n, False)
