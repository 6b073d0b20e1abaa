"""cloud-hypervisor's virtio-pci transport: queue eventfds registered when the device is created.

Source read
    cloud-hypervisor/cloud-hypervisor at commit ae44c2971c83dd2b1bd704fa81102ec0dec4e7d4:
    ``vmm/src/device_manager.rs`` (``add_virtio_pci_device``, from line 4472: every
    queue's eventfd registered with KVM right after the device is created, lines
    4586-4594; ``move_bar``, 750-890: deregistered and registered again when the
    guest moves the BAR, 866-883; ``eject_device``, 5108: deregistered on
    hot-unplug, 5192-5199), ``virtio-devices/src/transport/pci_device.rs``
    (``VirtioPciDevice::new``, 420-650: one eventfd per queue, and on a restore the
    saved ``device_activated`` (592) activates the device at once (638-648);
    ``ioeventfds``, 867-877; ``write_bar``, 1219-1305: activation when the status
    becomes ready from not ready (1280), a reset when it becomes 0 (1295-1304);
    ``needs_activation``, 855-859: exactly ACKNOWLEDGE, DRIVER, FEATURES_OK and
    DRIVER_OK with a queue ready; ``VirtioPciDeviceActivator::activate``, 326-352:
    a failure calls ``mark_device_needs_reset`` (335) and leaves the device not
    activated), ``virtio-devices/src/lib.rs`` (``mark_device_needs_reset``, 82-97:
    DEVICE_NEEDS_RESET, "stopping processing queues until reset"),
    ``virtio-devices/src/device.rs`` (``VirtioCommon::activate``, 308-354, fails
    below ``min_queues``; ``reset``, 356-372, joins the worker threads;
    ``pause``, 459-485, parks them; ``resume``, 487-515, unparks them and writes
    every activated queue's eventfd, "so workers process restored queues that may
    already contain pending requests") and ``virtio-devices/src/vhost_user/``
    (``net.rs``: the control queue stays with the VMM, 379-409; ``mod.rs``: the
    backend reset, ``reset_vhost_user`` at 621-624).

What it does, in the model's words
    Every queue's eventfd is registered at the queue's notify address when
    the device is created, before any driver runs; nobody reads it yet, so
    kicks wait in it. When a status write makes the device ready (exactly
    ACKNOWLEDGE, DRIVER, FEATURES_OK and DRIVER_OK, and a queue is ready) the
    device is activated: its worker threads read the eventfds of the queues
    they serve, and a vhost-user backend is handed the eventfds of the queues
    it serves. An activation that fails sets DEVICE_NEEDS_RESET and reads
    nothing; writing the ready status again (the register is stored as
    written, NEEDS_RESET included) tries again. A status of 0 resets an
    activated device: workers joined, the backend reset; the eventfds stay
    registered, with what they hold. Any other write is stored and changes
    nothing else: a status that drops DRIVER_OK without 0 leaves the device
    activated. Pausing the VM parks the workers (a parked worker reads
    nothing) and pauses the backend (still vhost's reader, as the table
    counts it), each keeping its eventfds; resuming unparks them and writes
    every activated queue's eventfd once, so that what arrived meanwhile is
    seen. A restore (``load``) builds the device into the
    paused VM from its saved state and activates it if it was.

What it abstracts
    The activation's hand-off to the VMM thread (a barrier makes the vCPU
    wait: the model activates within the status write), BAR moves
    (deregister, register again at the new address: the queue is registered
    throughout, as the table sees it), queue readiness (every queue is
    ready), MSI-X. A registration handed to a backend counts as vhost's; when
    the backend is reset it is ours again, unread. The restored device's
    workers start parked, as the VM they are restored into is paused.
"""

from __future__ import annotations

from virtio_notifier_spec.reference.kernel import Owner

from .host import DEVICE_NEEDS_RESET, Design, DesignAbort

READY = 0x0F  # ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, nothing else


class CloudHypervisor(Design):
    """``VirtioPciDevice`` (``device_activated``) and its device's worker threads."""

    def __init__(self, kernel, queues, served) -> None:
        super().__init__(kernel, queues, served)
        for n in range(queues):  # DeviceManager: register_ioevent for every queue eventfd
            if not self.register(n):
                raise DesignAbort("register_ioevent failed: cloud-hypervisor cannot create the device")
        self.activated = False
        self.paused = False

    def internal(self) -> tuple:
        return (self.activated, self.paused)

    def reader(self, n: int) -> Owner | None:
        found = super().reader(n)
        if self.paused and found is Owner.US:
            return None  # a parked worker reads nothing until resumed (the backend is vhost's business)
        return found

    def _activate(self) -> None:
        """``VirtioPciDeviceActivator::activate``."""
        if not self.activate_ok:
            self.status |= DEVICE_NEEDS_RESET  # mark_device_needs_reset; not activated
            return
        for n in range(self.queues):
            if self.served[n]:  # the vhost-user backend is given the queue's eventfd
                self.hand_over(n, Owner.US, Owner.VHOST)
                self.vhost_reads(n)
            else:  # a worker thread reads it
                self.arm(n)
        self.activated = True

    def _device_reset(self) -> None:
        for n in range(self.queues):
            if self.served[n]:  # reset_vhost_user; the transport's registration stays
                self.vhost_stops_reading(n)
                self.hand_over(n, Owner.VHOST, Owner.US)
            else:  # the workers are joined
                self.disarm(n)
        self.activated = False

    def set_status(self, byte: int) -> None:
        was_ready = self.status == READY
        self.status = byte
        if not was_ready and not self.activated and byte == READY:
            self._activate()
        if byte == 0 and self.activated:
            self._device_reset()

    def vm_stop(self) -> None:
        self.paused = True  # the workers park and the backend pauses: each keeps its eventfds

    def vm_run(self) -> None:
        if self.activated:
            for n in range(self.queues):
                if not self.served[n]:
                    self.notifiers[n].signal()  # resume writes every activated queue's eventfd
        self.paused = False

    def load(self, byte: int) -> None:
        """A restore into the paused VM: a new device from its saved state,
        registered as at creation, activated if it was."""
        if self.activated:
            self._device_reset()  # what the old device ran is gone with it
        self.status = byte
        if byte & 0x04:  # saved as activated, DRIVER_OK: VirtioPciDevice::new activates it
            self.status = READY
            self._activate()
