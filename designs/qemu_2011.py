"""QEMU's virtio-pci ioeventfd design as merged: the December 2010 patch (0.14) and the memory API (1.0).

Source read
    qemu/qemu ``hw/virtio-pci.c`` at commit 25db9ebe15125deb32958c6df74996f745edf1f9
    ("virtio-pci: Use ioeventfd for virtqueue notify", December 2010, released in
    0.14), the design of :class:`Qemu2010`: ``virtio_pci_set_host_notifier_internal``
    (``event_notifier_init(notifier, 1)``: a notifier starts signalled;
    ``kvm_set_ioeventfd_pio_word`` returns KVM's answer; on a deassign the notifier
    is tested and cleared and the queue run, "Handle the race condition where the
    guest kicked and we deassigned"), ``virtio_pci_start_ioeventfd`` (returns at
    once when ``VIRTIO_PCI_FLAG_USE_IOEVENTFD`` is clear, when
    ``ioeventfd_disabled`` or ``ioeventfd_started``; on a refusal it undoes the
    queues already assigned and sets ``proxy->ioeventfd_disabled = true``, which
    only ``virtio_pci_set_host_notifier`` clears: a fall back to the pio path that
    sticks), ``virtio_pci_stop_ioeventfd``, ``virtio_pci_set_host_notifier``
    (``proxy->ioeventfd_disabled = assign``; stops ours on a take; "We don't need
    to start here"), ``virtio_pci_vmstate_change`` (starts on run, stops on stop),
    ``virtio_ioport_write`` (``VIRTIO_PCI_STATUS``: stop without DRIVER_OK, set the
    status, start with it, reset on 0), ``virtio_pci_reset``, ``virtio_init_pci``
    (``kvm_has_many_ioeventfds`` clears the flag on a limited host) and the
    devices' ``ioeventfd`` property: true for virtio-blk-pci, **false for
    virtio-net-pci** (``DEFINE_PROP_BIT("ioeventfd", ..., false)``).

    The same file at commit 023ee4b4ffa084fcf3df8f2acbbc77356d45f270 (2012, the
    memory API of 1.0), the design of :class:`Qemu2011`: the logic above, but
    ``virtio_pci_set_host_notifier_internal`` calls ``memory_region_add_eventfd``
    on the I/O BAR (``pci_register_bar(..., PCI_BASE_ADDRESS_SPACE_IO,
    &proxy->bar)``), which cannot fail to its caller: the I/O address space's
    listener registers the ioeventfd with KVM and aborts when KVM refuses:
    ``as_io_ioeventfd_add`` in ``memory.c`` (commit
    01e7a53aed945adafc3ee54e2159227839daf0b4, 1.0: ``kvm_set_ioeventfd_pio_word``,
    then ``abort()``), ``kvm_io_ioeventfd_add`` in ``kvm-all.c`` later (commit
    00008418aa22700f6c49e794e79f53aeb157d10f: "error adding ioeventfd", then
    ``abort()``). The start's "Fallback to a userspace (slower)" path is left for
    a failure of ``event_notifier_init`` only; ``ioeventfd_disabled`` is no longer
    set there. virtio-net-pci's ``ioeventfd`` property is still false by default.
    And ``hw/virtio.c`` at commit 0cea71a207508c2b8f563b2644ac46009832c8f4
    (``virtio_vmstate_change``, ``virtio_load``).
    Not in the index: ``hw/vhost.c`` and ``hw/virtio-net.c`` of that era (vhost's
    side is modelled from the environment's events; see the ``qemu`` profile in
    ``spec/common.toml``).

What it does, in the model's words
    The proxy keeps three per-device facts: ioeventfds may be used (cleared at
    start-up on a host with few ioeventfds, and by the device's ``ioeventfd``
    property), ours are started, and they are disabled (vhost holds a host
    notifier). Start registers an ioeventfd and arms our handler on every
    queue, unless not allowed, disabled or started; each notifier starts
    signalled, so each start runs every queue's handler once. Stop disarms,
    deregisters and drains every queue (test and clear, run the queue). A
    status write stops first when DRIVER_OK is absent, starts after when
    present, and resets on 0. Reset stops, then resets. The VM-state handler
    starts on run and stops on stop; the core passes it "running and
    DRIVER_OK", so a VM that runs a device without DRIVER_OK stops rather than
    starts. ``set_host_notifier`` sets disabled to its argument (per device,
    not per queue), stops ours on a take, and never starts ours on a release
    (its comment: the backend only stops on a status change, reset or VM
    stop). The take re-creates the queue's notifier (signalled) and registers
    it for vhost; the release deregisters it and drains. ``load`` only restores
    the status.

    Where the two differ is KVM's refusal. 0.14 falls back: the start undoes
    what it assigned and disables ioeventfds for the device until vhost gives
    a queue back (a device without vhost stays on the pio path for the rest of
    its life); a take KVM refuses fails back to vhost, which undoes what it
    took. 1.0 aborts, on our assignment and on vhost's alike.

    The status write, reset, VM-state change and load, alike in both QEMU
    designs, are :mod:`.qemu_proxy`'s.

What it abstracts
    Feature negotiation, MSI-X, queue addresses (every queue has a ring), the
    bus-master quirk, and vhost itself: vhost's worker reads what it was
    given, from take to release; a take that fails is undone by vhost as
    ``vhost_dev_enable_notifiers`` does today. The model sets the device's
    ``ioeventfd`` property on: with virtio-net-pci's default (off) nothing of
    ours is ever started and vhost's take and release have nothing of ours to
    stop or restart, so the divergences that involve vhost need
    ``-device virtio-net-pci,ioeventfd=on`` (the catalogue says which).
"""

from __future__ import annotations

from virtio_notifier_spec.reference.kernel import Owner

from .host import DesignAbort
from .qemu_proxy import VirtioPciProxy

ABORT = "kvm_io_ioeventfd_add: KVM refused the ioeventfd; QEMU aborts"
"""The abort of the I/O address space's listener (``as_io_ioeventfd_add`` in 1.0)."""


class Qemu2011(VirtioPciProxy):
    """The per-device flags of the ``VirtIOPCIProxy``, with the memory API (1.0): a refusal aborts."""

    falls_back = False  # 0.14: a refused assignment falls back to the pio path

    def __init__(self, kernel, queues, served) -> None:
        super().__init__(kernel, queues, served)
        self.use_ioeventfd = kernel.has_many_ioeventfds()
        self.started = False
        self.disabled = False
        self.vhost_started = False  # virtio-net's vhost_started: the take succeeded

    def internal(self) -> tuple:
        return (self.use_ioeventfd, self.started, self.disabled, self.vhost_started)

    # -- the proxy's ioeventfds -------------------------------------------------------
    def _assign(self, n: int, owner: Owner) -> bool:
        """``set_host_notifier_internal(n, true)``: a fresh notifier, signalled, registered."""
        self.reinit(n)
        self.notifiers[n].signal()  # event_notifier_init(notifier, 1)
        if self.register(n, owner):
            return True
        if not self.falls_back:
            raise DesignAbort(ABORT)
        self.notifiers[n].test_and_clear()  # event_notifier_cleanup: the notifier is closed
        return False

    def _deassign(self, n: int, owner: Owner) -> None:
        """``set_host_notifier_internal(n, false)``: deregister, drain, close."""
        if not self.registered(n, owner):
            if owner is Owner.VHOST and self.registered(n, Owner.US):
                # the same notifier fd is registered for us: the deassign removes ours
                owner = Owner.US
            else:
                raise DesignAbort("set_host_notifier_internal: no such ioeventfd to deassign (assertion fails)")
        self.unregister(n, owner)
        self.run_queue(n)

    def start(self) -> None:
        if not self.use_ioeventfd or self.disabled or self.started:
            return
        for n in range(self.queues):
            if not self._assign(n, Owner.US):  # 0.14: assign_error
                for m in reversed(range(n)):
                    self.disarm(m)
                    self._deassign(m, Owner.US)
                self.disabled = True  # sticky: only set_host_notifier clears it
                return
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
    def set_host_notifier(self, n: int, assign: bool) -> bool:
        self.disabled = assign
        if assign:
            self.stop()
            if self.registered(n, Owner.VHOST):
                raise DesignAbort("kvm_io_ioeventfd_add: a second ioeventfd for the queue; QEMU aborts")
            if not self._assign(n, Owner.VHOST):
                return False
            self.vhost_reads(n)
        else:
            self.vhost_stops_reading(n)
            self._deassign(n, Owner.VHOST)
        return True

    def vhost_start(self) -> None:
        # vhost_dev_start: set_host_notifier(n, true) for every queue vhost serves, undone on a failure
        done = []
        for n in range(self.queues):
            if self.served[n]:
                if not self.set_host_notifier(n, True):
                    for m in reversed(done):
                        self.set_host_notifier(m, False)
                    return  # vhost did not start: virtio-net goes on in userspace
                done.append(n)
        self.vhost_started = True

    def vhost_stop(self) -> None:
        # vhost_dev_stop: set_host_notifier(n, false) for every queue vhost serves, if it started
        if not self.vhost_started:
            return
        self.vhost_started = False
        for n in range(self.queues):
            if self.served[n]:
                self.set_host_notifier(n, False)


class Qemu2010(Qemu2011):
    """The December 2010 patch (0.14): ``kvm_set_ioeventfd_pio_word`` answers,
    and a refused start falls back to the pio path, disabled until vhost
    gives a queue back."""

    falls_back = True
