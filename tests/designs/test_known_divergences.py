"""Each design's known divergences are found, at the right event, with the
shortest run that shows them."""

from __future__ import annotations

import pytest

MEM_ABORT = "kvm_mem_ioeventfd_add: KVM refused the ioeventfd; QEMU aborts"
IO_ABORT = "kvm_io_ioeventfd_add: KVM refused the ioeventfd; QEMU aborts"

# design -> (event, row the table fires, first variable, the events of the shortest run)
FOUND = [
    # QEMU 0.14: a refusal falls back to the pio path for good; notifiers start signalled
    ("qemu_2010", "set_status", "assign_on_driver_ok", "state", ["set_status", "set_status"]),
    ("qemu_2010", "set_status", "assign_on_driver_ok", "pending", ["set_status"]),
    # QEMU 1.0: per-device stop when vhost takes, no restart on release, abort (port I/O) on a refusal
    ("qemu_2011", "vhost_start", "vhost_start_leaves_queue", "state", ["set_status", "vhost_start"]),
    ("qemu_2011", "vhost_stop", "vhost_stop_release_to_assigned", "state", ["set_status", "vhost_start", "vhost_stop"]),
    ("qemu_2011", "set_status", "abort", IO_ABORT, ["set_status"]),
    ("qemu_2011", "vhost_start", "abort", IO_ABORT, ["set_status", "vhost_start"]),
    # QEMU today: the grab still stops every queue, the release restarts them, start kicks every queue
    ("qemu_today", "vhost_start", "vhost_start_leaves_queue", "state", ["set_status", "vhost_start"]),
    ("qemu_today", "vhost_stop", "vhost_stop_leaves_queue", "state", ["set_status", "vhost_start", "vhost_stop"]),
    ("qemu_today", "set_status", "assign_on_driver_ok", "pending", ["set_status"]),
    ("qemu_today", "vhost_start", "abort", MEM_ABORT, ["set_status", "vhost_start"]),
    ("qemu_today", "vhost_stop", "abort", MEM_ABORT, ["set_status", "vhost_start", "vhost_stop"]),
    # kvmtool: registered at queue set-up, unread queues beside vhost, dead queues, exit after a vhost reset
    ("kvmtool", "set_status", "status_leaves_queue", "state", ["set_status"]),
    ("kvmtool", "set_status", "assign_on_driver_ok", "handler", ["set_status"]),
    ("kvmtool", "set_status", "reset_by_status_zero", "handled", ["set_status", "kick", "set_status"]),
    ("kvmtool", "kick", "kick_takes_pio_path", "handled", ["set_status", "kick"]),
    ("kvmtool", "handle", "handler_consumes_kick", "handled", ["set_status"] * 3 + ["kick", "handle"]),
    # cloud-hypervisor: stays activated through a status without DRIVER_OK
    ("cloud_hypervisor", "set_status", "disarm_on_driver_ok_lost", "handler", ["set_status", "set_status"]),
    # Firecracker: reads in a paused VM, resume kicks, vhost-user reset refused
    ("firecracker", "vm_stop", "disarm_on_vm_stop", "handler", ["set_status", "vm_stop"]),
    ("firecracker", "set_status", "disarm_on_status_zero", "status", ["set_status", "set_status"]),
    ("firecracker", "vm_run", "vm_run_leaves_queue", "pending", ["vm_stop", "load", "vm_run"]),
]


@pytest.mark.parametrize(("design", "event", "row", "variable", "events"), FOUND)
def test_known_divergence_is_found_at_its_event(design_analyses, design, event, row, variable, events):
    groups = {(g.symptom.event, g.symptom.row, g.symptom.variable): g for g in design_analyses[design].groups}
    group = groups[(event, row, variable)]
    assert [i.event.name for i in group.sequence.events] == events
    if events:
        assert group.sequence.events[-1].event.name == event


def test_the_vm_run_divergence_of_2011_is_not_in_the_code_read(design_analyses):
    # virtio_vmstate_change hands the transport "running and DRIVER_OK": a VM
    # that runs a device without DRIVER_OK stops its ioeventfds, as resolved does
    groups = {(g.symptom.event, g.symptom.row, g.symptom.variable) for g in design_analyses["qemu_2011"].groups}
    assert ("vm_run", "vm_run_leaves_queue", "state") not in groups


@pytest.mark.parametrize("design", ["cloud_hypervisor", "firecracker"])
def test_a_vmm_that_registers_at_creation_does_not_diverge_at_start(design_analyses, design):
    # judged against registered, whose queues start registered and unread
    assert not [g for g in design_analyses[design].groups if g.symptom.event == "start"]
