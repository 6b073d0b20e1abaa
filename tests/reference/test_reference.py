"""The reference device and its simulated host, scenario by scenario.

The stateful tests prove conformance in general; these pin the cases a
reader of reference/device.py asks about first, each as a short story.
"""

from __future__ import annotations

import errno

import pytest

from virtio_notifier_spec.reference.abstraction import (
    UnknownEvent,
    abstract,
    new_device,
    perform,
    vhost_release,
    vhost_take,
)
from virtio_notifier_spec.reference.device import DRIVER, DRIVER_OK, Device, KickCount
from virtio_notifier_spec.reference.kernel import LIMITED_SLOTS, EventFd, Kernel, Owner
from virtio_notifier_spec.spec.concrete import Layout
from virtio_notifier_spec.spec.load import load_spec

SPEC = load_spec("resolved")
READY = 0x0F  # ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK
SPEC_SLOT = {name: i for i, name in enumerate(Layout.of(SPEC).queue)}


def states(device: Device) -> list[str]:
    return [queue[0] for queue in abstract(device, SPEC).queues]


def test_kernel_refuses_the_next_assignments_it_is_told_to():
    kernel = Kernel()
    kernel.refuse_next(2)
    results = [kernel.assign_ioeventfd((0, n), EventFd(f"q{n}"), Owner.US) for n in range(3)]
    assert results == [-errno.ENOSPC, -errno.ENOSPC, 0]


def test_limited_kernel_holds_six_of_ours_and_says_so():
    kernel = Kernel(LIMITED_SLOTS)
    results = [kernel.assign_ioeventfd((0, n), EventFd(f"q{n}"), Owner.US) for n in range(7)]
    assert results == [0] * 6 + [-errno.ENOSPC]
    assert not kernel.has_many_ioeventfds()


def test_kernel_logs_every_handler_attached_and_detached():
    device = new_device(queues=1, limited=False)
    device.set_status(READY)
    device.set_status(DRIVER)
    assert [str(e) for e in device.kernel.log] == [
        "assign (0, 0) ours",
        "attach dev0.vq0 ours",
        "deassign (0, 0) ours",
        "detach dev0.vq0 ours",
    ]


def test_kick_without_ioeventfd_is_a_pio_exit_handled_at_once():
    device = new_device(queues=1, limited=False)
    device.kick(0)
    assert device.kicks_handled() == KickCount(pio=1, ioeventfd=0, vhost=0)


def test_limited_host_keeps_every_queue_on_pio_after_driver_ok():
    device = new_device(queues=2, limited=True)
    device.set_status(READY)
    assert states(device) == ["deassigned", "deassigned"]
    assert device.kernel.ioeventfds == {}


def test_refused_assignment_falls_back_to_pio():
    device = new_device(queues=2, limited=False)
    device.kernel.refuse_next(1)
    device.set_status(READY)
    assert states(device) == ["deassigned", "assigned"]
    device.kick(0)
    assert device.kicks_handled().pio == 1


def test_kick_pending_in_our_notifier_is_handled_once_when_vhost_takes_the_queue():
    device = new_device(queues=1, limited=False)
    device.set_status(READY)
    device.kick(0)
    vhost_take(device, 0)
    assert device.kicks_handled() == KickCount(pio=0, ioeventfd=1, vhost=0)
    device.kick(0)
    device.kernel.wake(device.host_notifier(0))
    assert device.kicks_handled() == KickCount(pio=0, ioeventfd=1, vhost=1)


def test_kick_vhost_left_is_handled_once_when_it_gives_the_queue_back():
    device = new_device(queues=1, limited=False)
    device.set_status(READY)
    vhost_take(device, 0)
    device.kick(0)
    vhost_release(device, 0)
    assert states(device) == ["assigned"]
    assert device.kicks_handled() == KickCount(pio=0, ioeventfd=1, vhost=0)
    assert device.host_notifier(0).counter == 0


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (lambda d: d.set_status(DRIVER), "deassigned"),  # no DRIVER_OK
        (lambda d: d.vm_stop(), "deassigned"),  # stopped VM
        (lambda d: None, "assigned"),
    ],
)
def test_release_rechecks_driver_ok_and_the_vm(before, expected):
    device = new_device(queues=1, limited=False)
    device.set_status(READY)
    vhost_take(device, 0)
    before(device)
    vhost_release(device, 0)
    assert states(device) == [expected]


def test_reset_leaves_vhost_its_queue():
    device = new_device(queues=2, limited=False)
    device.set_status(READY)
    vhost_take(device, 1)
    device.reset()
    assert states(device) == ["deassigned", "offlimits"]
    assert device.status == 0


def test_vm_run_assigns_a_loaded_driver_ok_device():
    device = new_device(queues=1, limited=False)
    device.vm_stop()
    device.load(READY)
    assert states(device) == ["deassigned"]
    device.vm_run()
    assert states(device) == ["assigned"]


def test_set_host_notifier_refuses_a_queue_that_does_not_exist():
    device = new_device(queues=1, limited=False)
    assert device.set_host_notifier(1, True) == -errno.EINVAL
    assert device.set_host_notifier(0, True) == 0


def test_abstraction_reads_resources_from_the_kernel_not_the_bookkeeping():
    device = new_device(queues=1, limited=False)
    device.set_status(READY)
    device.kernel.deassign_ioeventfd(device.address(0), Owner.US)  # behind the device's back
    (queue,) = abstract(device, SPEC).queues
    assert queue[0] == "assigned" and queue[SPEC_SLOT["our_fd"]] is False


@pytest.mark.parametrize(
    ("event", "args", "says"),
    [
        ("explode", {}, "no event 'explode'"),
        ("kick", {"queue": 3}, "queue must be 0..0"),
        ("set_status", {"value": "ready", "assign_ok": True}, "value must be one of zero, driver, driver_ok"),
    ],
)
def test_perform_rejects_what_the_table_does_not_declare(event, args, says):
    with pytest.raises(UnknownEvent, match=says):
        perform(new_device(queues=1, limited=False), event, args)


def test_status_bytes_without_driver_ok_never_assign():
    for byte in range(1, 0x100):
        device = new_device(queues=1, limited=False)
        device.set_status(byte)
        assert states(device) == ["assigned" if byte & DRIVER_OK else "deassigned"], hex(byte)
