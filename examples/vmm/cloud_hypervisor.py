"""A cloud-hypervisor-style virtio-pci device as an oracle child: the drive protocol only.

Stand-alone (the standard library, nothing of virtio-notifier-spec), written
the way a cloud-hypervisor developer would describe their transport to the
oracle (spec/PROTOCOL.md, version 2), judged against the table for VMMs that
register every queue when they create the device:

    virtio-notifier-spec oracle drive --spec registered --env rust_vmm -- python3 examples/vmm/cloud_hypervisor.py

Modelled from cloud-hypervisor/cloud-hypervisor at commit
ae44c2971c83dd2b1bd704fa81102ec0dec4e7d4:

- ``DeviceManager::add_virtio_pci_device`` (``vmm/src/device_manager.rs``, from line
  4472): every queue's eventfd is registered with KVM right after the device is
  created (4586-4594), before any driver runs.
- ``VirtioPciDevice::write_bar`` (``virtio-devices/src/transport/pci_device.rs``,
  1219-1305): the common configuration stores the status as written; when a write
  makes the device ready from not ready (1280: exactly ACKNOWLEDGE, DRIVER,
  FEATURES_OK and DRIVER_OK, ``needs_activation`` 855-859) the device is activated;
  when it becomes 0 an activated device is reset (1295-1304).
- ``VirtioPciDeviceActivator::activate`` (326-352): a failure calls
  ``mark_device_needs_reset`` (335; ``virtio-devices/src/lib.rs`` 82-97: the status
  gets DEVICE_NEEDS_RESET, the queues are not processed until a reset) and the
  device stays not activated.
- ``VirtioCommon`` (``virtio-devices/src/device.rs``): ``reset`` (356-372) joins the
  worker threads, ``pause`` (459-485) parks them, ``resume`` (487-515) unparks them
  and writes every activated queue's eventfd.
- The restore (``VirtioPciDevice::new``, 567-650): the saved ``device_activated``
  activates the device at once (638-648), in the paused VM.

What it abstracts: one device served by the VMM's own worker threads (no
vhost-user backend), every queue ready; the activation's hand-off to the VMM
thread (the vCPU waits at a barrier) happens within the status write; a
worker runs a queue when the oracle says ``handle``; a parked worker reads
nothing. A snapshot restore is the table's ``load`` into a paused VM; the
queue eventfds keep their counters (a real restore opens new ones, and the
resume's write re-delivers).

What it reports, per step: every field the ``registered`` table has,
``handled`` included. Its fixed policies, stated at start: it stores every
status write (``strict_status`` false) and does not write the queue
eventfds when it activates (``kicks_on_activation`` false).
"""

import json
import sys

ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK, NEEDS_RESET = 0x01, 0x02, 0x04, 0x08, 0x40
READY = ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK
STEPS = (ACKNOWLEDGE, ACKNOWLEDGE | DRIVER, ACKNOWLEDGE | DRIVER | FEATURES_OK, READY)
STATUS = {"zero": 0, "driver": ACKNOWLEDGE | DRIVER, "driver_ok": READY}


class PciDevice:
    """The transport, its device's workers and the host's view of its queue eventfds."""

    def __init__(self, queues, limited):
        self.limited = limited
        self.running = True
        self.status = 0
        self.activated = False  # device_activated
        self.paused = False
        self.registered = [True] * queues  # add_virtio_pci_device: every queue, at creation
        self.eventfd = [0] * queues
        self.handled = [False] * queues

    # -- VirtioPciDevice::write_bar, the status field ---------------------------------
    def write_status(self, byte, activate_ok):
        was_ready = self.status == READY
        self.status = byte
        if not was_ready and not self.activated and byte == READY:
            if activate_ok:
                self.activated = True  # the workers read every queue's eventfd
            else:
                self.status |= NEEDS_RESET  # mark_device_needs_reset
        if byte == 0 and self.activated:
            self.activated = False  # VirtioCommon::reset: the workers are joined

    def set_status(self, value, activate_ok):
        """The guest's driver steps up to ``value`` as a Linux driver does."""
        target = STATUS[value]
        if target in STEPS and self.status in (0, *STEPS) and self.status < target:
            first = 0 if self.status == 0 else STEPS.index(self.status) + 1
            for step in STEPS[first : STEPS.index(target) + 1]:
                self.write_status(step, activate_ok)
        else:
            self.write_status(target, activate_ok)

    # -- the VM, the guest and the workers ---------------------------------------------
    def vm_stop(self):
        self.running = False
        self.paused = True  # VirtioCommon::pause: the workers park

    def vm_run(self):
        self.running = True
        self.paused = False  # VirtioCommon::resume: unpark, then write every activated queue's eventfd
        if self.activated:
            for n in range(len(self.eventfd)):
                self.eventfd[n] += 1

    def load(self, saved):
        """A restore into the paused VM: a new device from its saved state, activated if it was."""
        self.activated = False
        self.status = STATUS[saved]
        if self.status & DRIVER_OK:
            self.status = READY
            self.activated = True

    def kick(self, n):
        self.eventfd[n] += 1  # KVM signals the registered eventfd

    def handle(self, n):
        """The queue's worker finds its eventfd readable."""
        if self.activated and not self.paused:
            taken, self.eventfd[n] = self.eventfd[n], 0
            self.handled[n] = taken > 0

    # -- what the oracle is told ------------------------------------------------------
    def observed(self):
        status = "zero" if self.status == 0 else "driver_ok" if self.status & DRIVER_OK else "driver"
        device = {
            "limited": self.limited,
            "running": self.running,
            "vhost_on": False,
            "status": status,
            "needs_reset": bool(self.status & NEEDS_RESET),
            "strict_status": False,
            "kicks_on_activation": False,
        }
        reads = self.activated and not self.paused
        queues = [
            {
                "state": "assigned" if self.registered[n] else "deassigned",
                "our_fd": self.registered[n],
                "vhost_fd": False,
                "vhost_serves": False,
                "handler": "ours" if reads else "none",
                "pending": self.eventfd[n] > 0,
                "handled": self.handled[n],
            }
            for n in range(len(self.eventfd))
        ]
        return {"device": device, "queues": queues}


def perform(device, event, args):
    device.handled = [False] * len(device.eventfd)
    if event == "set_status":
        device.set_status(args["value"], args.get("activate_ok", True))
    elif event == "vm_stop":
        device.vm_stop()
    elif event == "vm_run":
        device.vm_run()
    elif event == "load":
        device.load(args["saved"])
    elif event == "kick":
        device.kick(args["queue"])
    elif event == "handle":
        device.handle(args["queue"])
    else:
        return f"cloud-hypervisor has no {event}: its VMM never issues it"
    return None


def main():
    device, version = None, 1
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "quit":
            break
        if op == "hello":
            version = min(request.get("protocol", 1), 2)
            reply = {"ok": True, "protocol": version, "implementation": "cloud-hypervisor-style virtio-pci"}
        elif op == "start":
            device = PciDevice(request["queues"], request["limited"])
            reply = {"ok": True, "observed": device.observed()}
        else:
            error = perform(device, request["event"], request.get("args", {}))
            reply = {"ok": False, "error": error} if error else {"ok": True, "observed": device.observed()}
        if version >= 2 and "id" in request:
            reply["id"] = request["id"]
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
