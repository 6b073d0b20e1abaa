"""The catalogue: every design, its source, the environment its callers make,
and what it is known to do differently from ``resolved``.

Each entry pins what the analysis must find (``make designs`` exits 1 when
it finds anything else): the verdict on every property of ``common.toml``
(``holds``, ``violated`` or ``n/a``) and every divergence from ``resolved``,
each with what it costs a guest.

>>> [e.name for e in DESIGNS]
['qemu_2011', 'qemu_today', 'kvmtool', 'cloud_hypervisor', 'firecracker']
>>> entry("kvmtool").env
'kvmtool'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .cloud_hypervisor import CloudHypervisor
from .firecracker import Firecracker
from .host import Design
from .kvmtool import Kvmtool
from .qemu_2011 import Qemu2011
from .qemu_today import QemuToday


@dataclass(frozen=True, slots=True)
class Known:
    """A divergence the design is known to have: its symptom (the event, the
    row ``resolved`` fires on the queue that differs, the first variable that
    differs; for an abort, its message), what it costs a guest, and why in
    one sentence."""

    event: str
    row: str
    variable: str
    cost: str
    why: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.event, self.row, self.variable)


@dataclass(frozen=True, slots=True)
class Entry:
    """One design of the catalogue."""

    name: str
    title: str
    design: type[Design]
    env: str
    sources: tuple[str, ...]
    verdicts: dict[str, str] = field(default_factory=dict)  # every property not listed holds
    notes: dict[str, str] = field(default_factory=dict)  # why a property is violated, one sentence
    known: tuple[Known, ...] = ()
    uniform_vhost: bool = False  # its devices serve every queue by vhost, or none


DESIGNS: tuple[Entry, ...] = ()


def entry(name: str) -> Entry:
    """The catalogue's entry ``name``; KeyError naming the known ones."""
    for found in DESIGNS:
        if found.name == name:
            return found
    raise KeyError(f"no design {name!r}; the catalogue has {', '.join(e.name for e in DESIGNS)}")


# -- costs, as the matrix names them ----------------------------------------------

NONE = "none"
SLOW = "slow path"
DIES = "VM dies"
UNUSABLE = "device unusable"
UNUSED = "none today"

_ABORT = "kvm_mem_ioeventfd_add: KVM refused the ioeventfd; QEMU aborts"
_REFUSED = (
    "With the memory API an ioeventfd KVM refuses cannot fail to its caller: KVM's listener aborts QEMU "
    "(kvm_mem_ioeventfd_add), where resolved falls back to the pio path (Q7); KVM refuses when its I/O bus is full."
)
_REGISTERED_AT_CREATION = (
    "Every queue's eventfd is registered with KVM when the device is created, before any driver runs; nobody "
    "reads it until activation, so a kick before DRIVER_OK waits in it: registered, not armed, as the refined "
    "properties allow."
)

DESIGNS = (
    Entry(
        "qemu_2011",
        "QEMU, 2011 (virtio-pci ioeventfd, per-device flags)",
        Qemu2011,
        "qemu",
        (
            "qemu/qemu hw/virtio-pci.c @ 023ee4b4ffa0",
            "qemu/qemu hw/virtio.c @ 0cea71a20750",
        ),
        verdicts={"fast_path_after_release": "violated"},
        notes={
            "fast_path_after_release": "vhost's release clears the disabled flag and starts nothing: a running "
            "DRIVER_OK guest stays on the pio path until its next status write or a VM stop and run (liveness)."
        },
        known=(
            Known("set_status", "abort", _ABORT, DIES, _REFUSED),
            Known(
                "vhost_start",
                "vhost_start_leaves_queue",
                "state",
                SLOW,
                "vhost's take stops ours on every queue of the device (ioeventfd_disabled is per device), so a queue "
                "vhost does not serve, such as vhost-net's control queue, takes the synchronous pio path while vhost "
                "runs.",
            ),
            Known(
                "set_status",
                "assign_on_driver_ok",
                "state",
                SLOW,
                "DRIVER_OK written again while vhost holds queues starts nothing (disabled): the queue vhost does not "
                "serve stays on the pio path.",
            ),
            Known(
                "vhost_stop",
                "vhost_stop_release_to_assigned",
                "state",
                SLOW,
                "Giving the queues back never restarts ours (set_host_notifier leaves it to the next status change or "
                "VM run): every queue stays on the pio path until then, a slow path that vhost-net's link going down "
                "can make last.",
            ),
            Known("vm_run", "abort", _ABORT, DIES, "The same abort when the VM runs a DRIVER_OK device again."),
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
            Known("set_status", "abort", _ABORT, DIES, _REFUSED),
            Known(
                "set_status",
                "assign_on_driver_ok",
                "pending",
                NONE,
                "Starting our ioeventfds writes every queue's eventfd once, so that requests already in a ring are "
                "seen: one spurious run of the handler.",
            ),
            Known(
                "vhost_start",
                "vhost_start_leaves_queue",
                "state",
                SLOW,
                "The first grab stops ours on every queue of the device, so a queue vhost does not serve (vhost-net's "
                "control queue) takes the pio path while vhost runs; what it held is drained at once.",
            ),
            Known(
                "set_status",
                "assign_on_driver_ok",
                "state",
                SLOW,
                "While vhost holds the grab, DRIVER_OK written again only records that ours are started: the queue "
                "vhost does not serve stays on the pio path.",
            ),
            Known(
                "vhost_stop",
                "abort",
                _ABORT,
                DIES,
                "The release that ends the grab starts ours again: a refusal then aborts QEMU.",
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
                NONE,
                "Starting ours again after vhost writes every queue's eventfd once: a spurious run of the handler.",
            ),
            Known("vm_run", "abort", _ABORT, DIES, "The same abort when the VM runs a DRIVER_OK device again."),
            Known(
                "vm_run",
                "assign_on_vm_run",
                "pending",
                NONE,
                "Starting ours on VM run writes every queue's eventfd once: a spurious run of the handler.",
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
            "limited_host_no_userspace_ioeventfd": "kvmtool does not probe the host's ioeventfd limit: on a 6-slot "
            "host its userspace queues take slots a vhost device may need.",
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
                "vhost does not serve is registered and read by nobody, so its kicks are lost; no guest uses such a "
                "queue today.",
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
                "kvmtool registers a queue's ioeventfd, and polls it or gives it to vhost, when the guest sets the "
                "queue up, before DRIVER_OK: a kick before DRIVER_OK is processed, which no driver that follows the "
                "virtio spec sends.",
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
                "Status 0 before DRIVER_OK resets nothing: queues already set up stay registered and polled, and the "
                "next set-up finds them so (KVM refuses the second registration; the first one serves).",
            ),
            Known(
                "set_status",
                "abort",
                "VHOST_SET_VRING_KICK failed after VHOST_RESET_OWNER: kvmtool exits",
                DIES,
                "A reset of a vhost device resets vhost's owner, which kvmtool cannot undo: the guest's next set-up "
                "of a vhost queue makes kvmtool exit.",
            ),
            Known(
                "set_status",
                "reset_by_status_zero",
                "handled",
                NONE,
                "A reset closes the queues' eventfds without reading them: a kick that arrived just before is dropped; "
                "the device is being reset, so the guest waits for nothing.",
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
            "cloud-hypervisor/cloud-hypervisor vmm/src/device_manager.rs @ ae44c2971c83",
        ),
        verdicts={
            "limited_host_no_userspace_ioeventfd": "n/a",
            "armed_only_when_driver_ok": "violated",
            "stopped_vm_holds_none_of_ours": "n/a",
            "reset_disarms_ours": "n/a",
            "load_is_history_free": "n/a",
            "assigned_is_armed": "violated",
            "deassigned_is_unread": "n/a",
            "fast_path_after_release": "n/a",
        },
        notes={
            "armed_only_when_driver_ok": (
                "A status write that drops DRIVER_OK without 0 leaves the device activated and its workers reading "
                "(no driver that follows the virtio spec does this)."
            ),
            "assigned_is_armed": _REGISTERED_AT_CREATION,
        },
        known=(
            Known("start", "(start)", "state", NONE, _REGISTERED_AT_CREATION),
            Known(
                "set_status",
                "deassign_on_driver_ok_lost",
                "state",
                NONE,
                "A status without DRIVER_OK neither deregisters nor, once activated, disarms anything: the device "
                "stays activated.",
            ),
            Known(
                "set_status",
                "keep_assigned_on_status",
                "handler",
                NONE,
                "Activation arms a worker on the eventfd registered at creation: what resolved's b does in one step "
                "happens in two.",
            ),
            Known(
                "set_status",
                "keep_assigned_on_status",
                "state",
                NONE,
                "Activation hands the eventfd of a queue a vhost-user backend serves to the backend: the table's take "
                "(vhost_start) happens within the DRIVER_OK write.",
            ),
            Known(
                "set_status",
                "reset_by_status_zero",
                "state",
                NONE,
                "Status 0 joins the workers but keeps the eventfds registered with what they hold: the next activation "
                "reads it, a spurious kick at worst.",
            ),
            Known(
                "vm_stop",
                "deassign_on_vm_stop",
                "state",
                NONE,
                "A pause parks the workers and keeps the eventfds registered: no vCPU runs to kick them.",
            ),
            Known(
                "set_status",
                "status_leaves_queue",
                "state",
                NONE,
                "Status 0 takes a queue back from the vhost-user backend at once (reset_vhost_user); resolved leaves "
                "it with vhost until vhost gives it back (Q1).",
            ),
            Known(
                "vm_run",
                "no row",
                "pending",
                NONE,
                "Resuming writes every activated queue's eventfd once so that what arrived during the pause is seen "
                "(resolved has no row: it never keeps a queue assigned in a stopped VM).",
            ),
        ),
    ),
    Entry(
        "firecracker",
        "Firecracker (virtio-mmio transport, MMIO device manager)",
        Firecracker,
        "rust_vmm",
        (
            "firecracker-microvm/firecracker src/vmm/src/devices/virtio/transport/mmio.rs @ 81b38b9dad60",
            "firecracker-microvm/firecracker src/vmm/src/device_manager/mmio.rs @ 81b38b9dad60",
        ),
        verdicts={
            "limited_host_no_userspace_ioeventfd": "n/a",
            "stopped_vm_holds_none_of_ours": "n/a",
            "reset_disarms_ours": "n/a",
            "load_is_history_free": "n/a",
            "assigned_is_armed": "violated",
            "deassigned_is_unread": "n/a",
            "fast_path_after_release": "n/a",
        },
        notes={"assigned_is_armed": _REGISTERED_AT_CREATION},
        known=(
            Known("start", "(start)", "state", NONE, _REGISTERED_AT_CREATION),
            Known(
                "set_status",
                "deassign_on_driver_ok_lost",
                "state",
                NONE,
                "Firecracker never deregisters a queue's eventfd: a status write without DRIVER_OK leaves it "
                "registered.",
            ),
            Known(
                "set_status",
                "keep_assigned_on_status",
                "handler",
                NONE,
                "Activation arms the event loop on the eventfd registered at attach time and writes every queue's "
                "eventfd once, since a kick may have been dropped while activating.",
            ),
            Known(
                "set_status",
                "keep_assigned_on_status",
                "state",
                NONE,
                "Activation hands a vhost-user device's queue eventfd to the backend, and writes it once.",
            ),
            Known(
                "set_status",
                "reset_by_status_zero",
                "state",
                NONE,
                "A reset deactivates the device but keeps its eventfds registered and in the event loop, which drops "
                "their kicks until the next activation writes every queue's eventfd again.",
            ),
            Known(
                "vm_stop",
                "deassign_on_vm_stop",
                "state",
                NONE,
                "A pause stops the vCPUs only: the eventfds stay registered and the event loop keeps serving them.",
            ),
            Known(
                "set_status",
                "deassign_on_driver_ok_lost",
                "status",
                NONE,
                "Clearing DRIVER_OK is not a valid transition: the write is ignored and the device stays active (the "
                "virtio spec forbids a driver to clear status bits).",
            ),
            Known(
                "set_status",
                "reset_by_status_zero",
                "status",
                UNUSABLE,
                "A vhost-user device does not support reset: status 0 sets FAILED instead, and the device stays as it "
                "is for the rest of the VM's life.",
            ),
            Known(
                "set_status",
                "status_leaves_queue",
                "status",
                UNUSABLE,
                "The same refused reset, once the backend holds the queue.",
            ),
        ),
        uniform_vhost=True,
    ),
)
