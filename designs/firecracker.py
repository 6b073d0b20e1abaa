"""Firecracker's virtio-mmio transport: queue eventfds registered when the device is attached.

Source read
    firecracker-microvm/firecracker at commit 81b38b9dad6056d7a48073e95ac5a9aed51cb2ab:
    ``src/vmm/src/device_manager/mmio.rs`` (``register_mmio_virtio``, lines 189-230:
    ``register_ioevent`` for every queue eventfd at the notify address, then
    ``add_subscriber``), ``src/vmm/src/devices/virtio/transport/mmio.rs``
    (``set_device_status``, lines 165-224: ``VALID_TRANSITIONS`` are the driver's
    forward steps, anything else is ignored with a warning; on DRIVER_OK
    ``activate``, whose failure sets ``DEVICE_NEEDS_RESET`` (line 202) and whose
    success ends in ``notify_queue_events`` (line 214); 0 calls the device's
    ``reset``, and sets FAILED when it returns false; ``reset``, lines 144-156:
    "Keep interrupt_evt and queue_evts as is"),
    ``src/vmm/src/devices/virtio/device.rs`` (``reset``, lines 202-212, over each
    device's ``_reset``; ``notify_queue_events``, 227-240; ``kick``, 252-256:
    ``notify_queue_events`` if activated), ``src/vmm/src/lib.rs``
    (``Vmm::resume_vm``, 463-472, calls ``kick_virtio_devices``, which kicks every
    device: ``device_manager/mod.rs`` 386-389; ``Vmm::pause_vm``, 475-483, pauses
    the vCPUs only), ``src/vmm/src/device_manager/persist.rs`` (the restore,
    424-450: ``register_mmio_virtio`` again, then ``activate`` if the saved device
    was activated), ``src/vmm/src/devices/virtio/net/event_handler.rs`` (queue
    events join the event loop at the first activation and stay; a device not
    activated drains them as spurious, lines 112-124), every device's ``_reset``
    (true for balloon, block, mem, net, pmem, rng and vsock: ``balloon/device.rs``
    983, ``block/virtio/device.rs`` 668 (false only when draining the I/O engine
    fails), ``mem/device.rs`` 652, ``net/device.rs`` 1087, ``pmem/device.rs`` 594,
    ``rng/device.rs`` 308, ``vsock/device.rs`` 403; false for the vhost-user block
    device, ``block/vhost_user/device.rs`` 383), and that device's ``activate``
    (``setup_backend``, ``set_vring_kick``: the backend is given the queue
    eventfd).

What it does, in the model's words
    Every queue's eventfd is registered with KVM when the device is attached,
    before the guest runs; only the activate event is watched, so kicks wait.
    The status register accepts only the driver's forward steps (ACKNOWLEDGE,
    then DRIVER, FEATURES_OK, DRIVER_OK) and 0: while DRIVER_OK every other
    write is ignored (a strict device). On DRIVER_OK the device is activated:
    when that fails, DEVICE_NEEDS_RESET is set and nothing reads the queues
    until the driver writes 0; when it succeeds, on the first activation the
    event loop starts reading the queue eventfds, a vhost-user device hands its
    queue eventfd to the backend, and every queue eventfd is written once,
    since a kick may have been dropped while activating. A status of 0 resets
    the device when it supports a reset (every device but vhost-user block): it
    is deactivated, but its queue eventfds stay registered and in the event
    loop, which now takes their kicks and drops them ("spurious"). The
    vhost-user block device refuses the reset and the status gets FAILED.
    Pausing the VM stops the vCPUs only: the event loop goes on reading.
    Resuming kicks every activated device: each queue eventfd written once. A
    snapshot restores the device into a paused VM (``load``): registered again,
    and activated if it was (no kick then: the resume kicks).

What it abstracts
    The event manager: its reader is "ours" while the device is activated;
    after a reset it reads only to discard, which runs nothing on the rings,
    so the model reports no handler then (and a kick it takes is not
    handled). A Firecracker device serves every queue one way (vhost-user
    block has one queue, served by the backend), so the analysis starts it
    only with every queue served by vhost or none. The PCI transport
    (``transport/pci/device.rs``) behaves alike on the status register
    (``write_bar``, 997-1075; a reset the device refuses leaves the status 0
    rather than FAILED there), registers every queue when the device is
    attached (``pci_mngr.rs`` ``attach_common``, line 94) and deregisters when
    it is detached (``detach_pci_virtio_device``, 169-198, hot-unplug); at this
    commit it does not move its ioeventfds when the guest moves the BAR (the
    BAR write is recorded, ``write_config_register`` 873-907; the bus's
    ``move_range`` is called only by its tests).
"""

from __future__ import annotations

import functools

from virtio_notifier_spec.reference.kernel import Owner

from .host import DEVICE_NEEDS_RESET, Design, DesignAbort

ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK, FAILED = 0x01, 0x02, 0x08, 0x04, 0x80
STEPS = (ACKNOWLEDGE, ACKNOWLEDGE | DRIVER, ACKNOWLEDGE | DRIVER | FEATURES_OK, 0x0F)
"""The driver's valid forward steps, from 0: VALID_TRANSITIONS of ``set_device_status``."""


class Firecracker(Design):
    """``MmioTransport`` (``device_status``) and its device's activation."""

    strict_status = True  # VALID_TRANSITIONS: nothing but 0 is accepted once DRIVER_OK
    kicks_on_activation = True  # notify_queue_events after a successful activate

    def __init__(self, kernel, queues, served) -> None:
        super().__init__(kernel, queues, served)
        for n in range(queues):  # register_mmio_virtio: register_ioevent for every queue eventfd
            if not self.register(n):
                raise DesignAbort("register_ioevent failed: Firecracker cannot attach the device")
        self.activated = False
        self.subscribed = False  # the queue events are in the event loop
        self.vhost_user = all(served)

    def internal(self) -> tuple:
        return (self.activated, self.subscribed)

    def reader(self, n: int) -> Owner | None:
        found = super().reader(n)
        if found is Owner.US and not self.activated:
            return None  # it reads only to drop the kick: nothing runs on the ring
        return found

    def _event(self, n: int) -> None:
        """The event loop's callback for a queue eventfd."""
        if self.activated:
            self.run_queue(n)
        else:
            self.notifiers[n].test_and_clear()  # "spurious event": dropped

    # -- set_device_status -------------------------------------------------------------
    def _write(self, status: int) -> None:
        if status & FAILED:
            self.status |= FAILED
        elif status == 0:
            if self.status != 0:
                if self.vhost_user:
                    self.status |= FAILED  # _reset() is false: reset not supported
                else:
                    self.activated = False  # deactivate; queue events stay
                    self.status = 0
        elif any(self.status == a and status == b for a, b in zip((0, *STEPS), STEPS, strict=False)):
            self.status = status
            if status == STEPS[-1] and not self.activated:
                if self.activate_ok:
                    self._activate()
                    self._notify_queue_events()
                else:
                    self.status |= DEVICE_NEEDS_RESET  # activate() failed

    def _activate(self) -> None:
        for n in range(self.queues):
            if self.served[n]:  # setup_backend: set_vring_kick with the queue eventfd
                if self.registered(n, Owner.US):
                    self.hand_over(n, Owner.US, Owner.VHOST)
                self.vhost_reads(n)
            elif not self.subscribed:
                self.kernel.attach(self.notifiers[n], Owner.US, functools.partial(self._event, n))
        self.subscribed = True
        self.activated = True

    def _notify_queue_events(self) -> None:
        for n in range(self.queues):
            self.notifiers[n].signal()

    def set_status(self, byte: int) -> None:
        """The guest drives the register to ``byte``: step by step up the
        driver's sequence when ``byte`` is ahead on it, else one write."""
        if byte in STEPS and (self.status in (0, *STEPS)) and self.status < byte:
            start = 0 if self.status == 0 else STEPS.index(self.status) + 1
            for step in STEPS[start : STEPS.index(byte) + 1]:
                self._write(step)
        else:
            self._write(byte)

    # -- the VM's run state ------------------------------------------------------------
    def vm_stop(self) -> None:
        """``Vmm::pause_vm``: the vCPUs pause; the event loop goes on."""

    def vm_run(self) -> None:
        """``Vmm::resume_vm``: ``kick_virtio_devices``, then the vCPUs run."""
        if self.activated:  # VirtioDevice::kick
            self._notify_queue_events()

    def load(self, byte: int) -> None:
        """A snapshot restored into a paused VM: the device is built from its
        saved state, its queue eventfds registered as at attach time (they are
        here already), and activated if it was (``persist.rs``)."""
        for n in range(self.queues):  # a new device: the backend has nothing yet
            if self.registered(n, Owner.VHOST):
                self.vhost_stops_reading(n)
                self.hand_over(n, Owner.VHOST, Owner.US)
        self.status = byte
        self.activated = False
        if byte & DRIVER_OK:
            self._activate()
