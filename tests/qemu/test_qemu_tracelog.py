"""QEMU's trace lines read as records; a line of ours that does not parse is located bad input."""

from __future__ import annotations

import pytest

from virtio_notifier_spec.qemu.errors import LogError
from virtio_notifier_spec.qemu.notifiers import Notifiers
from virtio_notifier_spec.qemu.tracelog import Ioeventfd, QueueNotify, Vhost, VmState, parse_line


def test_every_event_read_parses_with_and_without_the_log_backends_prefix():
    assert parse_line("kvm_set_ioeventfd_mmio fd: 22 @0xfe003000 val=0x0 assign: 1 size: 0 match: 0") == Ioeventfd(
        "mmio", 22, 0xFE003000, 0, True, 0, False
    )
    assert parse_line("4242@1700000000.123456:virtio_queue_notify vdev 0x55 n 3 vq 0x7f") == QueueNotify("0x55", 3)
    assert parse_line("vhost_dev_start 0x5595c99887a0:virtio-user-fs vrings:1") == Vhost(
        True, "0x5595c99887a0", "virtio-user-fs"
    )
    assert parse_line("vm_state_notify running 0 reason 4 (paused)") == VmState(False, "paused")


def test_other_lines_are_skipped():
    assert parse_line("qemu-system-x86_64: warning: host doesn't support requested feature") is None
    assert parse_line("virtio_notify vdev 0x1 vq 0x2") is None
    assert parse_line("") is None


def test_a_damaged_line_of_an_event_read_names_file_line_and_event():
    with pytest.raises(LogError) as caught:
        parse_line("virtio_set_status vdev 0x1 val seven", file="vm.log", number=12)
    assert str(caught.value).startswith("vm.log:12: virtio_set_status: expected `virtio_set_status vdev PTR val N`")


def _feed(lines, keys):
    n = Notifiers(keys)
    for line in lines:
        n.feed(parse_line(line))
    n.flush()
    return n


PROBE = [f"kvm_set_ioeventfd_pio fd: {10 + i} @0x0 val={i:#x} assign: 1 size: 2 match: 1" for i in range(7)] + [
    f"kvm_set_ioeventfd_pio fd: {10 + i} @0x0 val={i:#x} assign: 0 size: 2 match: 1" for i in range(7)
]


def test_the_start_up_probe_is_counted_apart_and_says_the_host_is_not_limited():
    n = _feed(PROBE, {("pio", 0xC010, 0): 0})
    assert n.probe == 7 and n.limited is False and not n.registered and n.unknown == 0


def test_a_probe_that_kvm_cut_short_says_the_host_is_limited():
    n = _feed(PROBE[:3] + [line.replace("assign: 1", "assign: 0") for line in PROBE[:3]], {})
    assert n.limited is True


def test_registrations_just_before_vhost_dev_start_are_vhosts_and_others_ours():
    keys = {("mmio", 0xFE003000, None): 0, ("mmio", 0xFE003004, None): 1}
    vhost = _feed(
        [
            "virtio_set_status vdev 0x1 val 15",
            "kvm_set_ioeventfd_mmio fd: 22 @0xfe003000 val=0x0 assign: 1 size: 0 match: 0",
            "kvm_set_ioeventfd_mmio fd: 23 @0xfe003004 val=0x1 assign: 1 size: 0 match: 0",
            "vhost_dev_start 0x2:virtio-user-fs vrings:1",
        ],
        keys,
    )
    assert [vhost.vhost_fd(q) for q in (0, 1)] == [True, True] and not vhost.our_fd(0)
    ours = _feed(
        [
            "virtio_set_status vdev 0x1 val 15",
            "kvm_set_ioeventfd_mmio fd: 22 @0xfe003000 val=0x0 assign: 1 size: 0 match: 0",
            "virtio_queue_notify vdev 0x1 n 0 vq 0x2",
        ],
        keys,
    )
    assert ours.our_fd(0) and not ours.vhost_fd(0) and ours.runs == [(3, 0)]
