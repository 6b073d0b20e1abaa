"""The catalogue: every design, its source, the environment its callers make,
and what it is known to do differently from ``resolved``.

Each entry pins what the analysis must find (``make designs`` exits 1 when
it finds anything else): the verdict on every property of its table
(``holds``, ``violated`` or ``n/a``) and every divergence from it
(``resolved``, or ``registered`` for a VMM that registers every queue when
it creates the device), each with what it costs a guest.

>>> [e.name for e in DESIGNS]
['qemu_2010', 'qemu_2011', 'qemu_today', 'kvmtool', 'cloud_hypervisor', 'firecracker']
>>> entry("kvmtool").env
'kvmtool'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .cloud_hypervisor import CloudHypervisor
from .firecracker import Firecracker
from .host import Design
from .kvmtool import Kvmtool
from .qemu_2011 import Qemu2010, Qemu2011
from .qemu_today import QemuToday


@dataclass(frozen=True, slots=True)
class Known:
    """A divergence the design is known to have: its symptom (the event, the
    row the table fires on the queue that differs, the first variable that
    differs; for an abort, its message), what it costs a guest (is a kick
    lost, or only slow?), why in one sentence, and the non-default option it
    needs, if any."""

    event: str
    row: str
    variable: str
    cost: str
    why: str
    needs: str = ""  # a non-default option without which the design never does this

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.event, self.row, self.variable)


@dataclass(frozen=True, slots=True)
class Entry:
    """One design of the catalogue."""

    name: str
    title: str
    design: type[Design] | None
    env: str
    sources: tuple[str, ...]
    verdicts: dict[str, str] = field(default_factory=dict)  # every property not listed holds
    notes: dict[str, str] = field(default_factory=dict)  # why a property is violated, one sentence
    known: tuple[Known, ...] = ()
    uniform_vhost: bool = False  # its devices serve every queue by vhost, or none
    table: str = "resolved"  # the table it is judged against (registered: queues registered at creation)
    child: object | None = field(default=None, compare=False)  # an oracle child judged instead (child.py)


DESIGNS: tuple[Entry, ...] = ()

ROOT = Path(__file__).resolve().parents[1]
"""The project's root (``examples/vmm/`` holds the protocol children)."""


def entry(name: str) -> Entry:
    """The catalogue's entry ``name``; KeyError naming the known ones."""
    for found in DESIGNS:
        if found.name == name:
            return found
    raise KeyError(f"no design {name!r}; the catalogue has {', '.join(e.name for e in DESIGNS)}")


# -- costs, as the matrix names them: is a kick lost, or only slow? -------------------

DIES = "VM dies"
UNUSABLE = "device unusable"
LOST = "kick lost (queue dead)"
UNUSED = "kick lost, on a queue no guest kicks today"
SLOW = "slow path: every kick a synchronous exit, none lost"
CONTROL = "none measurable: only the control queue takes the slow path"
SPURIOUS = "none: one spurious run of the handler"
NONE = "none"

NET_IOEVENTFD = "-device virtio-net-pci,ioeventfd=on"
"""What the 2010-2012 rows that involve vhost need: virtio-net-pci's ``ioeventfd`` property was false by
default, so a vhost-net device had no ioeventfd of ours to stop or start."""

_MEM_ABORT = "kvm_mem_ioeventfd_add: KVM refused the ioeventfd; QEMU aborts"
_IO_ABORT = "kvm_io_ioeventfd_add: KVM refused the ioeventfd; QEMU aborts"
_REFUSED = (
    "With the memory API an ioeventfd KVM refuses cannot fail to its caller: KVM's listener aborts QEMU, "
    "where resolved falls back to the pio path (Q7); KVM refuses when its I/O bus is full."
)
_SIGNALLED = (
    "Every notifier starts signalled (event_notifier_init(notifier, 1)): each start runs every queue's handler once."
)
_CONTROL_ON_TAKE = (
    "vhost's take stops ours on every queue of the device (ioeventfd_disabled is per device), so the queue vhost "
    "does not serve, vhost-net's control queue, takes the synchronous pio path while vhost runs."
)
_RELEASE_NEVER_RESTARTS = (
    "Giving the queues back never restarts ours (set_host_notifier leaves it to the next status change or VM "
    "run): every queue stays on the pio path until then, which vhost-net's link going down can make last."
)
_VHOST_FIRST_ON_RUN = (
    "On VM run vhost starts first (virtio_vmstate_change calls the device's status callback before the "
    "transport's): its take holds ours back, so the transport's start starts nothing and the control queue stays "
    "on the pio path while vhost runs."
)
_VHOST_HANDED_AT_ACTIVATION = (
    "Activation hands the eventfd of a queue a vhost-user backend serves to the backend, which reads it from then "
    "on; registered's activation arms our reader instead (it has no take within a status write)."
)
_RESTORED_BACKEND = (
    "A restore builds a new device and activates it in the paused VM if the saved one was activated: a vhost-user "
    "backend is handed its queues there."
)
_RESTORED_NEW = (
    "A restore builds a new device: a queue a backend held before is registered for the transport again, and the "
    "backend is set up only when the saved device was activated."
)

DESIGNS = (
    Entry(
        "qemu_2010",
        "QEMU 0.14 (the December 2010 patch: a refusal falls back to the pio path, for good)",
        Qemu2010,
        "qemu",
        ("qemu/qemu hw/virtio-pci.c @ 25db9ebe1512",),
        verdicts={"fast_path_after_release": "violated", "fast_path_recoverable": "violated"},
        notes={
            "fast_path_after_release": "vhost's release clears the disabled flag and starts nothing: a running "
            "DRIVER_OK guest stays on the pio path until its next status write or a VM stop and run (liveness; "
            "needs ioeventfd=on for virtio-net).",
            "fast_path_recoverable": "A refused assignment sets ioeventfd_disabled (virtio_pci_start_ioeventfd's "
            "assign_error), which only vhost's set_host_notifier clears: a device without vhost stays on the pio "
            "path for the rest of its life, whatever the guest or the operator does (liveness).",
        },
        known=(
            Known("set_status", "assign_on_driver_ok", "pending", SPURIOUS, _SIGNALLED),
            Known(
                "set_status",
                "assign_on_driver_ok",
                "state",
                SLOW,
                "After a refusal ioeventfd_disabled stays set: DRIVER_OK written again starts nothing, and the device "
                "stays on the pio path until vhost gives a queue back (resolved tries again at each DRIVER_OK). "
                "Likewise while vhost holds queues (needs ioeventfd=on for virtio-net).",
            ),
            Known("vhost_start", "vhost_start_leaves_queue", "state", CONTROL, _CONTROL_ON_TAKE, NET_IOEVENTFD),
            Known(
                "vhost_start",
                "vhost_start_refused",
                "state",
                SLOW,
                "KVM refused vhost's ioeventfd: vhost undoes its take, but the failing take had stopped ours and set "
                "ioeventfd_disabled, which the undo clears only through a queue vhost had taken: when the first one "
                "is refused the device stays on the pio path until vhost gives a queue back (vhost's undo modelled "
                "as vhost_dev_enable_notifiers does it today; hw/vhost.c of 2010 is not in the index).",
                NET_IOEVENTFD,
            ),
            Known(
                "vhost_start",
                "vhost_start_takes_assigned",
                "pending",
                SPURIOUS,
                "vhost's notifier starts signalled too: vhost's worker runs each queue once.",
                NET_IOEVENTFD,
            ),
            Known(
                "vhost_start",
                "vhost_start_takes_deassigned",
                "pending",
                SPURIOUS,
                "vhost's notifier starts signalled too: vhost's worker runs each queue once.",
            ),
            Known(
                "vhost_stop", "vhost_stop_release_to_assigned", "state", SLOW, _RELEASE_NEVER_RESTARTS, NET_IOEVENTFD
            ),
            Known("vm_run", "assign_on_vm_run", "pending", SPURIOUS, "The start on VM run signals every notifier too."),
            Known(
                "vm_run",
                "assign_on_vm_run",
                "state",
                SLOW,
                "After a refusal the VM's run starts nothing either (ioeventfd_disabled); with vhost started first on "
                "run, its take holds ours back too.",
            ),
        ),
    ),
    Entry(
        "qemu_2011",
        "QEMU 1.0 (the memory API: a refusal aborts)",
        Qemu2011,
        "qemu",
        (
            "qemu/qemu hw/virtio-pci.c @ 023ee4b4ffa0",
            "qemu/qemu memory.c @ 01e7a53aed94",
            "qemu/qemu kvm-all.c @ 00008418aa22",
            "qemu/qemu hw/virtio.c @ 0cea71a20750",
        ),
        verdicts={"fast_path_after_release": "violated"},
        notes={
            "fast_path_after_release": "vhost's release clears the disabled flag and starts nothing: a running "
            "DRIVER_OK guest stays on the pio path until its next status write or a VM stop and run (liveness; "
            "needs ioeventfd=on for virtio-net)."
        },
        known=(
            Known(
                "set_status",
                "abort",
                _IO_ABORT,
                DIES,
                _REFUSED + " The legacy BAR is port I/O: as_io_ioeventfd_add (memory.c, 1.0), kvm_io_ioeventfd_add "
                "(kvm-all.c, later).",
            ),
            Known("set_status", "assign_on_driver_ok", "pending", SPURIOUS, _SIGNALLED),
            Known(
                "vhost_start",
                "abort",
                _IO_ABORT,
                DIES,
                "vhost's take registers through the same set_host_notifier_internal: KVM's refusal aborts QEMU, "
                "where resolved undoes the take.",
            ),
            Known("vhost_start", "vhost_start_leaves_queue", "state", CONTROL, _CONTROL_ON_TAKE, NET_IOEVENTFD),
            Known(
                "vhost_start",
                "vhost_start_takes_assigned",
                "pending",
                SPURIOUS,
                "vhost's notifier starts signalled too: vhost's worker runs each queue once.",
                NET_IOEVENTFD,
            ),
            Known(
                "vhost_start",
                "vhost_start_takes_deassigned",
                "pending",
                SPURIOUS,
                "vhost's notifier starts signalled too: vhost's worker runs each queue once.",
            ),
            Known(
                "set_status",
                "assign_on_driver_ok",
                "state",
                CONTROL,
                "DRIVER_OK written again while vhost holds queues starts nothing (disabled): the control queue stays "
                "on the pio path.",
                NET_IOEVENTFD,
            ),
            Known(
                "vhost_stop", "vhost_stop_release_to_assigned", "state", SLOW, _RELEASE_NEVER_RESTARTS, NET_IOEVENTFD
            ),
            Known("vm_run", "abort", _IO_ABORT, DIES, "The same abort when the VM runs a DRIVER_OK device again."),
            Known("vm_run", "assign_on_vm_run", "pending", SPURIOUS, "The start on VM run signals every notifier too."),
            Known("vm_run", "assign_on_vm_run", "state", CONTROL, _VHOST_FIRST_ON_RUN, NET_IOEVENTFD),
        ),
    ),
    Entry(
        "qemu_today",
        "QEMU today (virtio-bus grab counter, vhost_dev_enable_notifiers)",
        QemuToday,
        "qemu",
        (
            "qemu/qemu hw/virtio/virtio-bus.c @ 06134e2bc35d",
            "qemu/qemu hw/virtio/vhost.c @ 0021c4765a6b",
            "qemu/qemu hw/virtio/virtio.c @ 0021c4765a6b",
            "qemu/qemu hw/virtio/virtio-pci.c @ def4c5570c44",
        ),
        known=(
            Known("set_status", "abort", _MEM_ABORT, DIES, _REFUSED),
            Known(
                "set_status",
                "assign_on_driver_ok",
                "pending",
                SPURIOUS,
                "Starting our ioeventfds writes every queue's eventfd once, so that requests already in a ring are "
                "seen.",
            ),
            Known(
                "vhost_start",
                "abort",
                _MEM_ABORT,
                DIES,
                "KVM refused vhost's ioeventfd: the memory listener aborts QEMU as it does for ours, where resolved "
                "undoes the take.",
            ),
            Known(
                "vhost_start",
                "vhost_start_leaves_queue",
                "state",
                CONTROL,
                "The first grab stops ours on every queue of the device, so the queue vhost does not serve "
                "(vhost-net's control queue) takes the pio path while vhost runs; what it held is drained at once.",
            ),
            Known(
                "set_status",
                "assign_on_driver_ok",
                "state",
                CONTROL,
                "While vhost holds the grab, DRIVER_OK written again only records that ours are started: the control "
                "queue stays on the pio path.",
            ),
            Known(
                "vhost_stop",
                "abort",
                _MEM_ABORT,
                DIES,
                "The release that ends the grab starts ours again, and a refusal then aborts QEMU: only when vhost "
                "stops alone while the device is DRIVER_OK and running (the link goes down, a vhost-user backend "
                "disconnects). A status write, a reset and a VM stop stop ours first, and the release after them "
                "starts nothing.",
            ),
            Known(
                "vhost_stop",
                "vhost_stop_leaves_queue",
                "state",
                NONE,
                "The release that ends the grab starts ours on every queue, the one vhost did not serve too: it leaves "
                "the pio path the take put it on, where resolved had never sent it.",
            ),
            Known(
                "vhost_stop",
                "vhost_stop_release_to_assigned",
                "pending",
                SPURIOUS,
                "Starting ours again after vhost writes every queue's eventfd once.",
            ),
            Known("vm_run", "abort", _MEM_ABORT, DIES, "The same abort when the VM runs a DRIVER_OK device again."),
            Known(
                "vm_run",
                "assign_on_vm_run",
                "pending",
                SPURIOUS,
                "Starting ours on VM run writes every queue's eventfd once.",
            ),
            Known(
                "vm_run",
                "assign_on_vm_run",
                "state",
                CONTROL,
                "On VM run vhost starts first (virtio_vmstate_change: the status callback, then the transport): its "
                "grab holds ours, whose start is only recorded, so the control queue stays on the pio path while "
                "vhost runs.",
            ),
        ),
    ),
    Entry(
        "kvmtool",
        "kvmtool (virtio/pci.c, vhost users)",
        Kvmtool,
        "kvmtool",
        ("kvmtool/kvmtool virtio/pci.c, virtio/core.c, virtio/net.c, ioeventfd.c @ b48735e5d562",),
        verdicts={
            "limited_host_no_userspace_ioeventfd": "violated",
            "armed_only_when_driver_ok": "violated",
            "stopped_vm_holds_none_of_ours": "n/a",
            "no_lost_kick": "violated",
            "reset_disarms_ours": "n/a",
            "status_zero_resets": "violated",
            "load_is_history_free": "n/a",
            "assigned_is_armed": "violated",
            "kick_eventually_handled": "violated",
            "fast_path_after_release": "n/a",
            "fast_path_recoverable": "violated",
        },
        notes={
            "kick_eventually_handled": "A kick on a queue vhost does not serve waits in an eventfd nobody reads, "
            "for ever (liveness).",
            "fast_path_recoverable": "On a vhost device a queue vhost does not serve is never read by us: full "
            "speed is out of reach from the start (liveness).",
            "limited_host_no_userspace_ioeventfd": "kvmtool does not probe the host's ioeventfd limit, and registers "
            "two ioeventfds per queue (port I/O and memory): on a 6-slot host its userspace queues take slots a vhost "
            "device may need, two at a time.",
            "armed_only_when_driver_ok": "The ioeventfd thread polls a queue from the moment the guest sets it up, "
            "before DRIVER_OK.",
            "no_lost_kick": "With vhost no queue of the device is polled in userspace: one vhost does not serve is "
            "registered and read by nobody (kvmtool negotiates vhost-net's control queue away and vsock's event queue "
            "needs no kick, so no guest waits on it today).",
            "status_zero_resets": "Status 0 before DRIVER_OK resets nothing: the pollers stay armed.",
            "assigned_is_armed": "A queue vhost does not serve, on a vhost device, is registered and not read.",
        },
        known=(
            Known(
                "set_status",
                "assign_on_driver_ok",
                "handler",
                UNUSED,
                "With vhost the device polls none of its queues in userspace (use_vhost is per device): a queue "
                "vhost does not serve is registered and read by nobody, so its kicks are lost.",
            ),
            Known(
                "set_status",
                "assign_on_driver_ok",
                "state",
                NONE,
                "A queue vhost serves was given to vhost when the guest set it up: at DRIVER_OK it is vhost's, and "
                "stays so until a reset (there is no take or release).",
            ),
            Known(
                "set_status",
                "status_leaves_queue",
                "state",
                NONE,
                "kvmtool registers a queue's ioeventfds, and polls them or gives them to vhost, when the guest sets "
                "the queue up, before DRIVER_OK: a kick before DRIVER_OK is processed, which no driver that follows "
                "the virtio spec sends.",
            ),
            Known(
                "kick",
                "kick_takes_pio_path",
                "handled",
                LOST,
                "KVM refused the queue's ioeventfds: virtio_pci_init_vq returns before ops->init_vq (pci.c:121-124), "
                "so the queue has no ring and no worker, and a kick on the pio path reaches notify_vq for nothing: the "
                "queue is dead, where resolved's stays on the pio path, slower but served.",
            ),
            Known(
                "set_status",
                "deassign_on_driver_ok_lost",
                "state",
                NONE,
                "A status without DRIVER_OK stops nothing (only 0 after DRIVER_OK resets): the queues stay registered "
                "and polled.",
            ),
            Known(
                "set_status",
                "reset_by_status_zero",
                "state",
                NONE,
                "Status 0 before DRIVER_OK resets nothing: queues already set up stay registered and polled (the next "
                "set-up then collides: handle, below).",
            ),
            Known(
                "set_status",
                "abort",
                "VHOST_SET_VRING_KICK failed after VHOST_RESET_OWNER: kvmtool exits",
                DIES,
                "A reset of a vhost-net device resets vhost's owner (net.c exit_vq, VHOST_RESET_OWNER at 651), which "
                "kvmtool cannot undo: the guest's next set-up of a vhost queue makes kvmtool exit. vsock and scsi "
                "have no exit_vq and reset no owner (KvmtoolVsock).",
            ),
            Known(
                "set_status",
                "reset_by_status_zero",
                "handled",
                NONE,
                "A reset closes the queues' eventfds without reading them: a kick that arrived just before is dropped; "
                "the device is being reset, so the guest waits for nothing.",
            ),
            Known(
                "handle",
                "handler_consumes_kick",
                "handled",
                UNUSABLE,
                "After status 0 before DRIVER_OK the queues are still set up, and the next set-up's registration "
                "collides (KVM_IOEVENTFD: -EEXIST), so init_vq never maps the new ring: the registration found there "
                "runs the queue on the ring the guest set up before, and nothing put in the new one is ever seen.",
            ),
        ),
    ),
    Entry(
        "cloud_hypervisor",
        "cloud-hypervisor (virtio-pci transport, device manager)",
        CloudHypervisor,
        "rust_vmm",
        (
            "cloud-hypervisor/cloud-hypervisor virtio-devices/src/transport/pci_device.rs @ ae44c2971c83",
            "cloud-hypervisor/cloud-hypervisor virtio-devices/src/device.rs @ ae44c2971c83",
            "cloud-hypervisor/cloud-hypervisor vmm/src/device_manager.rs @ ae44c2971c83",
        ),
        verdicts={
            "limited_host_no_userspace_ioeventfd": "n/a",
            "armed_only_when_driver_ok": "violated",
            "reset_disarms_ours": "n/a",
            "assigned_is_armed": "violated",
            "deassigned_is_unread": "n/a",
            "fast_path_after_release": "n/a",
        },
        notes={
            "armed_only_when_driver_ok": (
                "A status write that drops DRIVER_OK without 0 leaves the device activated and its workers reading "
                "(no driver that follows the virtio spec does this)."
            ),
            "assigned_is_armed": "The same write leaves a registered queue read while the device is not live.",
        },
        known=(
            Known("set_status", "activate", "state", NONE, _VHOST_HANDED_AT_ACTIVATION),
            Known("load", "load_registers", "state", NONE, _RESTORED_BACKEND),
            Known(
                "set_status",
                "disarm_on_driver_ok_lost",
                "handler",
                NONE,
                "A status without DRIVER_OK neither resets nor disarms anything: the device stays activated, its "
                "workers reading.",
            ),
            Known(
                "set_status",
                "status_leaves_queue",
                "state",
                NONE,
                "Status 0 takes a queue back from the vhost-user backend at once (reset_vhost_user); registered leaves "
                "it with vhost until vhost gives it back (Q1).",
            ),
            Known("load", "load_leaves_queue", "state", NONE, _RESTORED_NEW),
            Known(
                "set_status",
                "status_leaves_queue",
                "needs_reset",
                NONE,
                "The device stayed activated through a status without DRIVER_OK, so DRIVER_OK written again activates "
                "nothing, and nothing can fail.",
            ),
            Known(
                "vm_run",
                "vm_run_leaves_queue",
                "handler",
                NONE,
                "A device that stayed activated through a status without DRIVER_OK is resumed with the others: its "
                "workers read again and its eventfds are written.",
            ),
        ),
        table="registered",
    ),
    Entry(
        "firecracker",
        "Firecracker (virtio-mmio transport, MMIO device manager)",
        Firecracker,
        "rust_vmm",
        (
            "firecracker-microvm/firecracker src/vmm/src/devices/virtio/transport/mmio.rs @ 81b38b9dad60",
            "firecracker-microvm/firecracker src/vmm/src/devices/virtio/device.rs @ 81b38b9dad60",
            "firecracker-microvm/firecracker src/vmm/src/device_manager/mmio.rs @ 81b38b9dad60",
            "firecracker-microvm/firecracker src/vmm/src/lib.rs @ 81b38b9dad60",
        ),
        verdicts={
            "limited_host_no_userspace_ioeventfd": "n/a",
            "stopped_vm_holds_none_of_ours": "violated",
            "reset_disarms_ours": "n/a",
            "assigned_is_armed": "violated",
            "deassigned_is_unread": "n/a",
            "fast_path_after_release": "n/a",
        },
        notes={
            "stopped_vm_holds_none_of_ours": "Pausing the VM pauses the vCPUs only (Vmm::pause_vm): the event loop "
            "goes on reading the queue eventfds, and a restore activates the device in the paused VM. No vCPU runs to "
            "kick, and Firecracker saves the device on the event loop's own thread, so nothing runs while the state "
            "is captured; but a kick that waited is handled in the stopped VM.",
            "assigned_is_armed": "The same: the event loop reads a registered queue in a stopped VM.",
        },
        known=(
            Known("set_status", "activate", "state", NONE, _VHOST_HANDED_AT_ACTIVATION),
            Known(
                "load",
                "load_registers",
                "handler",
                NONE,
                "A restore activates the saved device in the paused VM (persist.rs): the event loop reads its queues "
                "before the VM runs.",
            ),
            Known("load", "load_registers", "state", NONE, _RESTORED_BACKEND),
            Known(
                "set_status",
                "disarm_on_status_zero",
                "status",
                UNUSABLE,
                "The vhost-user block device does not support reset (its _reset is false; every other device's is "
                "true): status 0 sets FAILED instead, and the device stays as it is for the rest of the VM's life.",
            ),
            Known(
                "set_status",
                "status_leaves_queue",
                "status",
                UNUSABLE,
                "The same refused reset, once the backend holds the queue.",
            ),
            Known(
                "vm_stop",
                "disarm_on_vm_stop",
                "handler",
                NONE,
                "A pause stops the vCPUs only: the event loop keeps reading the eventfds; no vCPU runs to kick them.",
            ),
            Known("load", "load_leaves_queue", "state", NONE, _RESTORED_NEW),
            Known(
                "vm_run",
                "vm_run_leaves_queue",
                "pending",
                SPURIOUS,
                "Resuming kicks every activated device (Vmm::resume_vm -> kick_virtio_devices), a vhost-user one "
                "too: its backend reads the write.",
            ),
        ),
        uniform_vhost=True,
        table="registered",
    ),
)
