"""The designs corrected against their source (designs/README.md, "Corrected
against the source"): each correction, shown on the design itself."""

from __future__ import annotations

import pytest

from virtio_notifier_spec.designs.catalogue import DIES, LOST, NET_IOEVENTFD, SLOW, UNUSABLE, UNUSED, entry
from virtio_notifier_spec.designs.cloud_hypervisor import CloudHypervisor
from virtio_notifier_spec.designs.firecracker import Firecracker
from virtio_notifier_spec.designs.host import DesignAbort, Run
from virtio_notifier_spec.designs.kvmtool import Kvmtool, KvmtoolVsock
from virtio_notifier_spec.designs.qemu_2011 import Qemu2010, Qemu2011
from virtio_notifier_spec.designs.qemu_today import QemuToday
from virtio_notifier_spec.reference.kernel import Owner
from virtio_notifier_spec.spec.concrete import Layout
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.text import to_text

OK = {"value": "driver_ok", "assign_ok": True}
REFUSED = {"value": "driver_ok", "assign_ok": False}
ZERO = {"value": "zero", "assign_ok": True}
DRIVER = {"value": "driver", "assign_ok": True}


def _state(run: Run, table: str = "resolved", env: str = "adversarial"):
    return run.state(load_spec(table, env=env))


# -- kvmtool -------------------------------------------------------------------------


def test_kvmtool_queue_refused_an_ioeventfd_is_dead_and_its_kick_is_lost():
    run = Run(Kvmtool, queues=1, limited=False, served=(False,))
    run.perform("set_status", REFUSED)  # the set-up's registration is refused
    assert not run.design.registered(0)
    assert run.perform("kick", {"queue": 0}) == (False,)  # notify_vq for a ring never set up
    assert run.design.handled == [0]


def test_kvmtool_registers_two_ioeventfds_per_queue():
    run = Run(Kvmtool, queues=3, limited=False, served=(False,) * 3)
    run.perform("set_status", DRIVER)
    assert len(run.kernel.ioeventfds) == 6  # a port-I/O and a memory one for each queue


def test_kvmtool_on_a_six_slot_host_kills_the_fourth_queue():
    run = Run(Kvmtool, queues=4, limited=True, served=(False,) * 4)
    run.perform("set_status", DRIVER)
    assert run.design.dead == [False, False, False, True]


def test_kvmtool_second_registration_collides_and_the_device_is_unusable():
    run = Run(Kvmtool, queues=1, limited=False, served=(False,))
    for args in (DRIVER, ZERO, DRIVER):  # status 0 before DRIVER_OK resets nothing; the set-up runs again
        run.perform("set_status", args)
    assert run.design.dead == [True]  # KVM_IOEVENTFD: -EEXIST, init_vq never maps the new ring
    run.perform("kick", {"queue": 0})
    assert run.perform("handle", {"queue": 0}) == (False,)  # the old ring runs; the guest's new one is not seen
    assert entry("kvmtool").known[-1].cost == UNUSABLE


@pytest.mark.parametrize(("design", "exits"), [(Kvmtool, True), (KvmtoolVsock, False)])
def test_kvmtool_resets_vhost_owner_for_net_only(design, exits):
    run = Run(design, queues=1, limited=False, served=(True,))
    run.perform("set_status", OK)
    run.perform("set_status", ZERO)
    if exits:
        with pytest.raises(DesignAbort, match="VHOST_RESET_OWNER"):
            run.perform("set_status", DRIVER)
    else:
        run.perform("set_status", DRIVER)  # vsock and scsi have no exit_vq: vhost gets the queue again
        assert run.design.registered(0, Owner.VHOST)


# -- QEMU, split by version -------------------------------------------------------------


def test_qemu_2010_falls_back_to_the_pio_path_for_good_after_a_refusal():
    run = Run(Qemu2010, queues=1, limited=False, served=(False,))
    run.perform("set_status", REFUSED)  # no abort: the start undoes and sets ioeventfd_disabled
    run.perform("set_status", OK)
    run.perform("vm_stop", {})
    run.perform("vm_run", {"assign_ok": True})
    assert _state(run, env="qemu").queues[0][0] == "deassigned"
    assert entry("qemu_2010").verdicts["fast_path_recoverable"] == "violated"


def test_qemu_2011_aborts_on_the_port_io_listener():
    run = Run(Qemu2011, queues=1, limited=False, served=(False,))
    with pytest.raises(DesignAbort, match="kvm_io_ioeventfd_add"):
        run.perform("set_status", REFUSED)


@pytest.mark.parametrize("design", [Qemu2010, Qemu2011, QemuToday])
def test_qemu_notifiers_start_signalled(design):
    run = Run(design, queues=2, limited=False, served=(False, False))
    run.perform("set_status", OK)
    assert all(q[-1] for q in _state(run, env="qemu").queues)  # pending: each handler runs once


@pytest.mark.parametrize("design", [Qemu2011, QemuToday])
def test_qemu_aborts_when_kvm_refuses_vhosts_take(design):
    run = Run(design, queues=1, limited=False, served=(True,))
    run.perform("set_status", OK)
    with pytest.raises(DesignAbort, match="ioeventfd_add"):
        run.perform("vhost_start", {"assign_ok": False})


def test_the_2011_rows_that_involve_vhost_need_ioeventfd_on_for_virtio_net():
    needs = {k.key: k.needs for k in entry("qemu_2011").known}
    assert needs[("vhost_start", "vhost_start_leaves_queue", "state")] == NET_IOEVENTFD
    assert needs[("vhost_stop", "vhost_stop_release_to_assigned", "state")] == NET_IOEVENTFD
    assert needs[("set_status", "assign_on_driver_ok", "pending")] == ""  # virtio-blk's default is on


def test_qemu_today_release_aborts_only_while_the_device_is_live():
    # on a status write ours stop first: vhost's release after it starts nothing, so nothing is refused
    run = Run(QemuToday, queues=1, limited=False, served=(True,))
    run.perform("set_status", OK)
    run.perform("vhost_start", {"assign_ok": True})
    run.perform("set_status", DRIVER)
    run.perform("vhost_stop", {"assign_ok": False})
    assert not run.design.registered(0)
    # vhost stopping alone in a live device (the link goes down) starts ours: a refusal aborts
    live = Run(QemuToday, queues=1, limited=False, served=(True,))
    live.perform("set_status", OK)
    live.perform("vhost_start", {"assign_ok": True})
    with pytest.raises(DesignAbort):
        live.perform("vhost_stop", {"assign_ok": False})


def test_the_qemu_profile_stops_ours_before_vhost_and_starts_vhost_first():
    spec = load_spec("resolved", env="qemu")
    by_name = {e.name: e for e in spec.events}
    assert to_text(by_name["set_status"].when) == "running and (not vhost_on or status == driver_ok)"
    assert to_text(by_name["vhost_start"].when) == "status == driver_ok and not vhost_on"  # a stopped VM too
    assert "not vhost_on" in to_text(by_name["load"].when)


# -- Firecracker and cloud-hypervisor -----------------------------------------------------


def test_firecracker_resume_kicks_every_activated_queue():
    run = Run(Firecracker, queues=2, limited=False, served=(False, False))
    run.perform("set_status", OK)
    run.perform("handle", {"queue": 0})
    run.perform("handle", {"queue": 1})
    run.perform("vm_stop", {})
    run.perform("vm_run", {"assign_ok": True})
    assert [fd.counter for fd in run.design.notifiers] == [1, 1]


def test_firecracker_resets_every_device_but_vhost_user_block():
    run = Run(Firecracker, queues=1, limited=False, served=(False,))
    run.perform("set_status", OK)
    run.perform("set_status", ZERO)
    assert run.design.status == 0 and not run.design.activated
    vhost_user = Run(Firecracker, queues=1, limited=False, served=(True,))
    vhost_user.perform("set_status", OK)
    vhost_user.perform("set_status", ZERO)
    assert vhost_user.design.status & 0x80  # FAILED


@pytest.mark.parametrize("design", [Firecracker, CloudHypervisor])
def test_a_failed_activation_needs_a_reset_and_reads_nothing(design):
    run = Run(design, queues=1, limited=False, served=(False,))
    run.perform("set_status", {**OK, "activate_ok": False})
    spec = load_spec("registered", env="rust_vmm")
    assert run.state(spec).device[Layout.of(spec).device.index("needs_reset")] is True
    assert run.design.reader(0) is None


def test_every_cost_says_whether_a_kick_is_lost_or_only_slow():
    for design in ("qemu_2010", "qemu_2011", "qemu_today", "kvmtool", "cloud_hypervisor", "firecracker"):
        for known in entry(design).known:
            assert known.cost in {DIES, UNUSABLE, LOST, UNUSED, SLOW} or known.cost.startswith("none"), known
    kvmtool = {k.key: k.cost for k in entry("kvmtool").known}
    assert kvmtool[("kick", "kick_takes_pio_path", "handled")] == LOST
