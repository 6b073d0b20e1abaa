"""Firecracker's virtio-mmio transport: queue eventfds registered when the device is attached.

Source read
    firecracker-microvm/firecracker at commit 81b38b9dad6056d7a48073e95ac5a9aed51cb2ab:
    ``src/vmm/src/device_manager/mmio.rs`` (``register_mmio_virtio`` registers every
    queue's eventfd with KVM at the notify address, then subscribes the device
    to the event manager), ``src/vmm/src/devices/virtio/transport/mmio.rs``
    (``set_device_status``: only the driver's step-by-step transitions are
    valid, activation on DRIVER_OK then ``notify_queue_events``, reset on 0;
    ``reset``: "keep interrupt_evt and queue_evts as is"),
    ``src/vmm/src/devices/virtio/device.rs`` (``reset``, ``notify_queue_events``),
    ``src/vmm/src/devices/virtio/net/event_handler.rs`` (queue events are
    registered with the event loop on the first activation and stay; a device
    not activated drains them as spurious), and the vhost-user block device
    ``src/vmm/src/devices/virtio/block/vhost_user/device.rs`` (``activate`` hands
    the queue's eventfd to the backend: ``setup_backend``, ``set_vring_kick``;
    ``_reset`` returns false: reset is not supported).

What it does, in the model's words
    Every queue's eventfd is registered with KVM when the device is attached,
    before the guest runs; only the activate event is watched, so kicks wait.
    The status register accepts only the driver's forward steps (ACKNOWLEDGE,
    then DRIVER, FEATURES_OK, DRIVER_OK) and 0; any other write is ignored
    with a warning. On DRIVER_OK the device is activated: on the first
    activation the event loop starts reading the queue eventfds, a vhost-user
    device hands its queue eventfd to the backend, and every queue eventfd is
    written once, since a kick may have been dropped while activating. A
    status of 0 resets the device when the device supports it (net, block):
    it is deactivated, but its queue eventfds stay registered and in the event
    loop, which now takes their kicks and drops them ("spurious"). A vhost-user
    device refuses the reset and the status gets FAILED. Pausing the VM stops
    the vCPUs only.

What it abstracts
    The event manager: its reader is "ours" while the device is activated;
    after a reset it reads only to discard, which runs nothing on the rings,
    so the model reports no handler then (and a kick it takes is not
    handled). A Firecracker device serves every queue one way (vhost-user
    block has one queue, served by the backend), so the analysis starts it
    only with every queue served by vhost or none. Snapshots are restored
    into a new process (no ``load`` in its environment, the ``rust_vmm``
    profile).
"""

from __future__ import annotations

import functools

from virtio_notifier_spec.reference.kernel import Owner

from .host import Design, DesignAbort

ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK, FAILED = 0x01, 0x02, 0x08, 0x04, 0x80
STEPS = (ACKNOWLEDGE, ACKNOWLEDGE | DRIVER, ACKNOWLEDGE | DRIVER | FEATURES_OK, 0x0F)
"""The driver's valid forward steps, from 0: VALID_TRANSITIONS of ``set_device_status``."""


class Firecracker(Design):
    """``MmioTransport`` (``device_status``) and its device's activation."""

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
                self._activate()

    def _activate(self) -> None:
        for n in range(self.queues):
            if self.served[n]:  # setup_backend: set_vring_kick with the queue eventfd
                self.hand_over(n, Owner.US, Owner.VHOST)
                self.vhost_reads(n)
            elif not self.subscribed:
                self.kernel.attach(self.notifiers[n], Owner.US, functools.partial(self._event, n))
        self.subscribed = True
        self.activated = True
        for n in range(self.queues):  # notify_queue_events
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
