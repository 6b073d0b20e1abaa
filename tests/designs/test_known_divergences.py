"""Each design's known divergences are found, at the right event, with the
shortest run that shows them."""

from __future__ import annotations

import pytest

ABORT = "kvm_mem_ioeventfd_add: KVM refused the ioeventfd; QEMU aborts"

# design -> (event, row resolved fires, first variable, the events of the shortest run)
FOUND = [
    # QEMU 2011: per-device stop when vhost takes, no restart on release, abort on a refused ioeventfd
    ("qemu_2011", "vhost_start", "vhost_start_leaves_queue", "state", ["set_status", "vhost_start"]),
    ("qemu_2011", "vhost_stop", "vhost_stop_release_to_assigned", "state", ["set_status", "vhost_start", "vhost_stop"]),
    ("qemu_2011", "set_status", "abort", ABORT, ["set_status"]),
    # QEMU today: the grab still stops every queue, the release restarts them, start kicks every queue
    ("qemu_today", "vhost_start", "vhost_start_leaves_queue", "state", ["set_status", "vhost_start"]),
    ("qemu_today", "vhost_stop", "vhost_stop_leaves_queue", "state", ["set_status", "vhost_start", "vhost_stop"]),
    ("qemu_today", "set_status", "assign_on_driver_ok", "pending", ["set_status"]),
    # kvmtool: registered at queue set-up, unread queues beside vhost, exit after a vhost reset
    ("kvmtool", "set_status", "status_leaves_queue", "state", ["set_status"]),
    ("kvmtool", "set_status", "assign_on_driver_ok", "handler", ["set_status"]),
    ("kvmtool", "set_status", "reset_by_status_zero", "handled", ["set_status", "kick", "set_status"]),
    # cloud-hypervisor: registered at creation, armed at activation, resume kicks
    ("cloud_hypervisor", "start", "(start)", "state", []),
    ("cloud_hypervisor", "set_status", "keep_assigned_on_status", "handler", ["set_status"]),
    ("cloud_hypervisor", "vm_run", "no row", "pending", ["set_status", "vm_stop", "vm_run"]),
    # Firecracker: registered at attach, invalid transitions ignored, vhost-user reset refused
    ("firecracker", "start", "(start)", "state", []),
    ("firecracker", "set_status", "deassign_on_driver_ok_lost", "status", ["set_status", "set_status"]),
    ("firecracker", "set_status", "reset_by_status_zero", "status", ["set_status", "set_status"]),
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
    groups = {(g.symptom.event, g.symptom.variable) for g in design_analyses["qemu_2011"].groups}
    assert ("vm_run", "state") not in groups
