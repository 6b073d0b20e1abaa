"""QEMU's design today: virtio-bus's grab counter, vhost's whole-device take.

Source read
    qemu/qemu ``hw/virtio/virtio-bus.c`` at commit 06134e2bc35dc21543d4cbcf31f858c03d383442
    (``virtio_bus_grab_ioeventfd``, ``virtio_bus_release_ioeventfd``,
    ``virtio_bus_start_ioeventfd``, ``virtio_bus_stop_ioeventfd``,
    ``virtio_bus_set_host_notifier``, ``virtio_bus_cleanup_host_notifier``);
    ``hw/virtio/vhost.c`` at commit 0021c4765a6b83e5b09409b75d50c6caaa6971b9
    (``vhost_dev_enable_notifiers``, ``vhost_dev_disable_notifiers``);
    ``hw/virtio/virtio.c`` at the same commit (``virtio_device_start_ioeventfd_impl``,
    ``virtio_device_stop_ioeventfd_impl``, ``virtio_vmstate_change``, ``virtio_load``);
    ``hw/virtio/virtio-pci.c`` as stored in the index (commit
    def4c5570c44cc775c47e6d8503e4d12868f53aa: ``virtio_pci_common_write``, the
    status write); ``accel/kvm/kvm-all.c`` (``kvm_mem_ioeventfd_add`` aborts when
    KVM refuses an ioeventfd). Not read: ``hw/net/vhost_net.c`` (vhost's start and
    stop are the environment's ``vhost_start`` / ``vhost_stop``).

What it does, in the model's words
    The bus keeps "started" and a grab count. Start does nothing when
    ioeventfds are not allowed (a host with few of them) or already started;
    when nobody has grabbed them it registers an ioeventfd and arms our
    handler on every queue, then kicks every queue once, so that requests
    already in a ring are seen; it is started either way. Stop, when
    started, disarms, deregisters and drains every queue unless grabbed.
    vhost grabs before taking its queues: the first grab stops ours but
    remembers that they were started; the release that brings the count
    back to 0 starts them again. vhost's take registers the queue's notifier
    for vhost; its release deregisters it and drains it in userspace. A
    status write stops ours first without DRIVER_OK, starts after with it,
    and resets on 0 (reset stops, then resets). On VM run the core hands the
    transport "running and DRIVER_OK": it starts only a DRIVER_OK device; on
    VM stop it stops. ``load`` restores the status only.

    The status write, reset, VM-state change and load, alike in both QEMU
    designs, are :mod:`.qemu_proxy`'s.

Checked against the binary
    ``make qemu`` runs the QEMU 7.2 binary under KVM through the oracle
    (``designs/qemu-real.md``). It confirms the start's signal: right after
    registering a queue's ioeventfd (DRIVER_OK, VM run) QEMU calls its
    handler once with no kick. It finds two things this model leaves out,
    both outside what it models (the bus, the transport, vhost-net's device):
    virtio-blk's own handler starts the ioeventfds on a kick before DRIVER_OK
    (``virtio_blk_handle_output``), and a vhost-user device's proxy has no
    ioeventfd flag, so its queues never get one of ours (as here on a limited
    host). What needs vhost-net (a queue vhost does not serve, a release that
    starts ours again) or a refused ioeventfd cannot be caused there.

What it abstracts
    One vhost device serves every queue vhost serves (vhost-net has one per
    queue pair, each grabbing once: the count stays above 0 just as long).
    Rings, features, MSI-X, the memory transaction that batches
    registrations. KVM's refusal aborts QEMU (:class:`DesignAbort`). A second
    take of a held queue, or a release of one not held (events only the
    adversarial environment issues), do what the code does: the first
    fails the take after leaking the old notifier, the second trips an
    assertion.
"""

from __future__ import annotations

import errno

from virtio_notifier_spec.reference.kernel import Owner

from .host import DesignAbort
from .qemu_proxy import VirtioPciProxy


class QemuToday(VirtioPciProxy):
    """``VirtioBusState`` (started, grabbed) and the proxy's ioeventfd flag."""

    def __init__(self, kernel, queues, served) -> None:
        super().__init__(kernel, queues, served)
        self.enabled = kernel.has_many_ioeventfds()
        self.started = False
        self.grabbed = 0

    def internal(self) -> tuple:
        return (self.enabled, self.started, self.grabbed)

    # -- virtio-bus ------------------------------------------------------------------
    def start(self) -> None:
        if not self.enabled or self.started:
            return
        if not self.grabbed:
            for n in range(self.queues):
                self.reinit(n)
                if not self.register(n):
                    raise DesignAbort("kvm_mem_ioeventfd_add: KVM refused the ioeventfd; QEMU aborts")
                self.arm(n)
            for n in range(self.queues):
                self.notifiers[n].signal()  # "kick right away to begin processing requests already in vring"
        self.started = True

    def stop(self) -> None:
        if not self.started:
            return
        if not self.grabbed:
            for n in range(self.queues):
                self.disarm(n)
                self.unregister(n)
            for n in range(self.queues):
                self.run_queue(n)  # virtio_bus_cleanup_host_notifier: test, clear, run
        self.started = False

    def grab(self) -> None:
        if self.grabbed == 0 and self.started:
            self.stop()
            self.started = True
        self.grabbed += 1

    def release(self) -> None:
        if self.grabbed == 0:
            raise DesignAbort("virtio_bus_release_ioeventfd: assertion ioeventfd_grabbed != 0 fails")
        self.grabbed -= 1
        if self.grabbed == 0 and self.started:
            self.started = False
            self.start()

    # -- vhost's take and release (vhost_dev_enable/disable_notifiers) ----------------
    def take(self, queues: list[int]) -> None:
        self.grab()
        done: list[int] = []
        for n in queues:
            old = self.notifiers[n]
            self.reinit(n)  # event_notifier_init
            result = self.kernel.assign_ioeventfd(self.address(n), self.notifiers[n], Owner.VHOST)
            if result == -errno.ENOSPC:  # KVM refused vhost's ioeventfd: the memory listener aborts too
                raise DesignAbort("kvm_mem_ioeventfd_add: KVM refused the ioeventfd; QEMU aborts")
            if result != 0:  # a second ioeventfd at the same address
                self.run_queue(n)  # virtio_bus_cleanup_host_notifier on the new notifier
                self.notifiers[n] = old  # the old one stays registered, read by vhost: leaked
                for m in reversed(done):  # fail_vq: undo the queues already taken
                    self.unregister(m, Owner.VHOST)
                    self.run_queue(m)
                self.release()
                return
            done.append(n)
        for n in done:  # vhost_dev_start: vhost is given each kick fd
            self.vhost_reads(n)

    def give_back(self, queues: list[int]) -> None:
        for n in queues:
            self.vhost_stops_reading(n)
            if not self.registered(n, Owner.VHOST):
                if not self.registered(n, Owner.US):
                    raise DesignAbort("memory_region_del_eventfd: no such eventfd (assertion fails)")
                self.unregister(n)  # the same notifier fd is ours: ours goes
            else:
                self.unregister(n, Owner.VHOST)
            self.run_queue(n)
        self.release()

    # -- entry points ----------------------------------------------------------------
    def set_host_notifier(self, n: int, assign: bool) -> None:
        (self.take if assign else self.give_back)([n])

    def vhost_start(self) -> None:
        self.take([n for n in range(self.queues) if self.served[n]])

    def vhost_stop(self) -> None:
        self.give_back([n for n in range(self.queues) if self.served[n]])
