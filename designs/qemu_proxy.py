"""What QEMU's virtio-pci transport does around its ioeventfds, alike in 2011 and today.

Read in ``hw/virtio-pci.c`` (``virtio_ioport_write``, ``virtio_pci_reset``,
``virtio_pci_vmstate_change``; commit 023ee4b4ffa084fcf3df8f2acbbc77356d45f270)
and in today's ``hw/virtio/virtio-pci.c`` (``virtio_pci_common_write``) and
``hw/virtio/virtio.c`` (``virtio_vmstate_change``, ``virtio_load``; commit
0021c4765a6b83e5b09409b75d50c6caaa6971b9): a status write stops the
ioeventfds first when DRIVER_OK is absent and starts them after when it is
present (a status of 0 then resets the device, whose ioeventfds are stopped
already); a reset stops them, then resets; the core hands the transport
"running and DRIVER_OK" when the VM's run state changes, so the VM running
a device without DRIVER_OK stops them; ``load`` restores the status only.
The designs differ in what start and stop do (:mod:`.qemu_2011`,
:mod:`.qemu_today`).
"""

from __future__ import annotations

from virtio_notifier_spec.reference.device import DRIVER_OK

from .host import Design


class VirtioPciProxy(Design):
    """The transport's entry points over ``start`` and ``stop`` of its ioeventfds."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def set_status(self, byte: int) -> None:
        if not byte & DRIVER_OK:
            self.stop()
        self.status = byte
        if byte & DRIVER_OK:
            self.start()

    def reset(self) -> None:
        self.stop()
        self.status = 0

    def load(self, byte: int) -> None:
        self.status = byte

    def vm_stop(self) -> None:
        self.stop()

    def vm_run(self) -> None:
        if self.status & DRIVER_OK:
            self.start()
        else:
            self.stop()
