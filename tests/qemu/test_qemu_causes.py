"""Which events this machine can cause, and the reason for each it cannot."""

from __future__ import annotations

import pytest

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.qemu.causes import plan, reason_key
from virtio_notifier_spec.qemu.devices import device
from virtio_notifier_spec.qemu.errors import NotCausable
from virtio_notifier_spec.spec.load import load_spec


@pytest.fixture(scope="module")
def machine():
    return Machine(load_spec("resolved", env="qemu"), 2)


def _reason(machine, name, limited, events):
    with pytest.raises(NotCausable) as caught:
        plan(machine, device(name), limited, [machine.instance(e, **a) for e, a in events])
    return reason_key(caught.value)


DRIVER_OK = ("set_status", {"value": "driver_ok", "assign_ok": True})


def test_a_refusal_the_tables_step_depends_on_cannot_be_caused(machine):
    assert _reason(machine, "blk-legacy-2", False, [("set_status", {"value": "driver_ok", "assign_ok": False})]) == (
        "refusal"
    )


def test_a_refusal_that_changes_nothing_is_caused_as_an_acceptance(machine):
    events = [machine.instance("set_status", value="zero", assign_ok=False)]
    assert [a.kind for a in plan(machine, device("blk-legacy-2"), False, events)] == ["perform"]


def _kinds(machine, name, events):
    return [a.kind for a in plan(machine, device(name), True, [machine.instance(e, **a) for e, a in events])]


def test_vhost_events_need_a_vhost_device_and_come_with_their_causes(machine):
    assert _reason(machine, "blk-legacy-2", False, [DRIVER_OK, ("vhost_start", {"assign_ok": True})]) == "no_vhost"
    assert _reason(machine, "fs", True, [DRIVER_OK, ("kick", {"queue": 0})]) == "vhost_start_inside_driver_ok"
    stop = [DRIVER_OK, ("vhost_start", {"assign_ok": True}), ("vhost_stop", {"assign_ok": True})]
    assert _reason(machine, "fs", True, stop) == "vhost_stop_alone"
    caused = [*stop, ("set_status", {"value": "zero", "assign_ok": True})]
    assert _kinds(machine, "fs", caused) == ["first_half", "second_half", "before_cause", "perform"]


def test_vhost_user_blk_stops_and_starts_vhost_by_its_backends_disconnect_and_return(machine):
    stop = [
        DRIVER_OK,
        ("vhost_start", {"assign_ok": True}),
        ("vhost_stop", {"assign_ok": True}),
        ("kick", {"queue": 0}),
    ]
    assert _kinds(machine, "vub", stop) == ["first_half", "second_half", "disconnect", "perform"]
    again = [*stop, ("vhost_start", {"assign_ok": True})]
    assert _kinds(machine, "vub", again)[-1] == "reconnect"
    assert _reason(machine, "vub", True, [("vhost_start", {"assign_ok": True})]) != "reconnect"


def test_vhost_devices_are_judged_on_a_limited_host_and_not_migrated(machine):
    assert _reason(machine, "fs", False, []) == "vhost_proxy"
    assert _reason(machine, "fs", True, [("vm_stop", {}), ("load", {"saved": "zero", "assign_ok": True})]) == (
        "no_migration"
    )


def test_the_write_reset_or_vm_stop_that_stops_vhost_comes_first_as_in_qemu(machine):
    # QEMU stops its own ioeventfds, then vhost, inside the write (the qemu environment's order)
    started = [DRIVER_OK, ("vhost_start", {"assign_ok": True})]
    for cause in (("set_status", {"value": "zero", "assign_ok": True}), ("reset", {}), ("vm_stop", {})):
        events = [*started, cause, ("vhost_stop", {"assign_ok": True})]
        assert _kinds(machine, "fs", events) == ["first_half", "second_half", "first_half", "second_half"]
        assert _reason(machine, "fs", True, [*started, cause, ("kick", {"queue": 0})]) == "vhost_stop_inside_cause"
    # on a VM start vhost starts first: the vm_run after it causes both
    restart = [
        *started,
        ("vm_stop", {}),
        ("vhost_stop", {"assign_ok": True}),
        ("vhost_start", {"assign_ok": True}),
        ("vm_run", {"assign_ok": True}),
    ]
    kinds = _kinds(machine, "fs", restart)
    assert kinds[-2:] == ["before_cause", "perform"]
