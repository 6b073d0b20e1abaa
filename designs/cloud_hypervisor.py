"""cloud-hypervisor's virtio-pci transport: queue eventfds registered when the device is created.

Source read
    cloud-hypervisor/cloud-hypervisor at commit ae44c2971c83dd2b1bd704fa81102ec0dec4e7d4:
    ``virtio-devices/src/transport/pci_device.rs`` (``VirtioPciDevice::new`` makes
    one eventfd per queue; ``ioeventfds``; ``write_bar``: activation when the
    status becomes ready, reset when it becomes 0; ``prepare_activator``,
    ``VirtioPciDeviceActivator::activate``, ``needs_activation``),
    ``vmm/src/device_manager.rs`` (the device manager registers every queue's
    eventfd with KVM right after creating the device, and again when the BAR
    moves), ``virtio-devices/src/device.rs`` (``VirtioCommon::reset`` joins the
    worker threads; ``pause`` parks them; ``resume`` unparks them and writes
    every activated queue's eventfd) and ``virtio-devices/src/vhost_user/``
    (``net.rs``: the control queue stays with the VMM; ``mod.rs``: reset,
    pause and resume of the backend).

What it does, in the model's words
    Every queue's eventfd is registered at the queue's notify address when
    the device is created, before any driver runs; nobody reads it yet, so
    kicks wait in it. When a status write makes the device ready (exactly
    ACKNOWLEDGE, DRIVER, FEATURES_OK and DRIVER_OK, and a queue is ready) the
    device is activated: its worker threads read the eventfds of the queues
    they serve, and a vhost-user backend is handed the eventfds of the queues
    it serves. A status of 0 resets an activated device: workers joined,
    the backend reset; the eventfds stay registered, with what they hold.
    Pausing the VM parks the workers and pauses the backend, each keeping
    its eventfds; resuming unparks them and writes every activated queue's
    eventfd once, so that what arrived meanwhile is seen. A status write that drops DRIVER_OK
    without 0 changes nothing: the device stays activated.

What it abstracts
    The activation's hand-off to the VMM thread (a barrier makes the vCPU
    wait: the model activates within the status write), BAR moves
    (deregister, register again at the new address), queue readiness (every
    queue is ready), MSI-X, and failures to activate. A registration handed
    to a backend counts as vhost's; when the backend is reset it is ours
    again, unread. Restores and migrations build a new device (no ``load``
    in its environment, the ``rust_vmm`` profile).
"""

from __future__ import annotations

from virtio_notifier_spec.reference.kernel import Owner

from .host import Design, DesignAbort

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

    def _activate(self) -> None:
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
