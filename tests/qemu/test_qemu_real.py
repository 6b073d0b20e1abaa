"""A real QEMU under KVM, judged by the oracle: a short test conforms, and the
checks fail where they must (a device with ioeventfd=off, a guest that never
writes DRIVER_OK, QEMU's own kick-before-DRIVER_OK start). Skipped, naming
what is missing, where QEMU cannot run under KVM."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.implementation import ImplementationFailure
from virtio_notifier_spec.oracle.replay import replay
from virtio_notifier_spec.qemu import process
from virtio_notifier_spec.qemu.devices import device
from virtio_notifier_spec.qemu.implementation import QemuImplementation

TEN = (
    "set_status(value=driver, assign_ok=true); set_status(value=driver_ok, assign_ok=true); kick(queue=0); "
    "handle(queue=0); vm_stop(); vm_run(assign_ok=true); kick(queue=1); handle(queue=1); "
    "kick(queue=1); set_status(value=zero, assign_ok=true)"
)


def _events(spec, queues, text):
    from virtio_notifier_spec.oracle.sequence import parse_sequence

    return parse_sequence(Machine(spec, queues), text)[1]


@pytest.fixture
def qemu(qemu_tools, qemu_spec):
    made = []

    def make(name="blk-legacy-2", **changes):
        dev = dataclasses.replace(device(name), **changes)
        impl = QemuImplementation(qemu_spec, dev, qemu_tools)
        made.append(impl)
        return impl

    yield make
    for impl in made:
        impl.shutdown()
    assert process.live() == []


def test_a_ten_event_test_on_legacy_virtio_blk_conforms(qemu, qemu_spec):
    impl = qemu()
    result = replay(qemu_spec, impl, 2, False, _events(qemu_spec, 2, TEN))
    assert result.ok, result.text()
    kicked = result.steps[-2].observed["queues"][1]  # a kick into our eventfd: in flight, not reported
    assert "pending" not in kicked and kicked["our_fd"] is True
    drained = result.steps[-1].observed["queues"][1]  # the reset took the eventfd away: its handler had run
    assert drained == {**drained, "state": "deassigned", "our_fd": False, "handled": True, "pending": False}


def test_a_kick_before_driver_ok_starts_virtio_blks_ioeventfds_and_is_judged_divergent(qemu, qemu_spec):
    result = replay(qemu_spec, qemu(), 2, False, _events(qemu_spec, 2, "kick(queue=0)"))
    assert not result.ok
    assert {str(m) for m in result.steps[1].mismatches} >= {"q0.state: expected deassigned, observed assigned"}


def test_a_device_with_ioeventfd_off_is_judged_divergent(qemu, qemu_spec):
    impl = qemu(ioeventfd=False)
    result = replay(qemu_spec, impl, 2, False, _events(qemu_spec, 2, "set_status(value=driver_ok, assign_ok=true)"))
    assert not result.ok
    assert "q0.state: expected assigned, observed deassigned" in {str(m) for m in result.steps[1].mismatches}


def test_a_guest_that_skips_driver_ok_is_judged_divergent(qemu, qemu_spec):
    impl = qemu(skip_driver_ok=True)
    result = replay(qemu_spec, impl, 2, False, _events(qemu_spec, 2, "set_status(value=driver_ok, assign_ok=true)"))
    assert not result.ok
    assert "status: expected driver_ok, observed driver" in {str(m) for m in result.steps[1].mismatches}


def test_a_limited_host_is_the_proxys_ioeventfd_off_and_conforms(qemu, qemu_spec):
    seq = "set_status(value=driver_ok, assign_ok=true); kick(queue=0); vm_stop(); vm_run(assign_ok=true)"
    result = replay(qemu_spec, qemu(), 2, True, _events(qemu_spec, 2, seq))
    assert result.ok, result.text()


def test_vhost_user_fs_takes_every_queue_and_gives_them_back_inside_the_status_write(qemu, qemu_spec):
    impl = qemu("fs")
    seq = (
        "set_status(value=driver_ok, assign_ok=true); vhost_start(assign_ok=true); kick(queue=1); "
        "vhost_stop(assign_ok=true); set_status(value=zero, assign_ok=true)"
    )
    result = replay(qemu_spec, impl, 2, True, _events(qemu_spec, 2, seq))
    assert result.ok, result.text()
    assert result.steps[2].observed["queues"][0]["state"] == "offlimits"


def test_vhost_user_blk_gives_its_queues_to_the_pio_path_when_its_backend_goes_and_takes_them_back(qemu, qemu_spec):
    impl = qemu("vub")
    seq = (
        "set_status(value=driver_ok, assign_ok=true); vhost_start(assign_ok=true); vhost_stop(assign_ok=true); "
        "kick(queue=0); vhost_start(assign_ok=true); kick(queue=1)"
    )
    result = replay(qemu_spec, impl, 2, True, _events(qemu_spec, 2, seq))
    assert result.ok, result.text()
    states = [[q["state"] for q in step.observed["queues"]] for step in result.steps[2:] if step.observed]
    assert states == [["offlimits"] * 2, ["deassigned"] * 2, ["deassigned"] * 2, ["offlimits"] * 2, ["offlimits"] * 2]


def test_vhost_user_blk_migrates_to_a_qemu_with_a_backend_of_its_own(qemu, qemu_spec):
    seq = (
        "vm_stop(); load(saved=driver_ok, assign_ok=true); vm_run(assign_ok=true); vhost_start(assign_ok=true); "
        "kick(queue=0)"
    )
    result = replay(qemu_spec, qemu("vub"), 2, True, _events(qemu_spec, 2, seq))
    assert result.ok, result.text()
    assert result.steps[-1].observed["queues"][0]["state"] == "offlimits"


def test_load_goes_on_in_a_fresh_qemu_started_incoming(qemu, qemu_spec):
    impl = qemu()
    seq = (
        "set_status(value=driver_ok, assign_ok=true); vm_stop(); load(saved=driver, assign_ok=true); "
        "vm_run(assign_ok=true)"
    )
    result = replay(qemu_spec, impl, 2, False, _events(qemu_spec, 2, seq))
    assert result.ok, result.text()
    assert impl.launches == 2  # the boot, then the destination


def test_a_qemu_that_dies_is_a_crash_and_leaves_no_process(qemu, qemu_spec):
    impl = qemu()
    impl.start(2, False)
    os.kill(impl.current.vm.qemu.pid, signal.SIGKILL)
    with pytest.raises(ImplementationFailure) as caught:
        impl.event("set_status", {"value": "driver_ok", "assign_ok": True})
    assert caught.value.kind == "crash" and "killed by signal 9" in caught.value.detail
    assert process.live() == []


HELPER = """
import sys
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.qemu.devices import device
from virtio_notifier_spec.qemu.host import tools
from virtio_notifier_spec.qemu.implementation import QemuImplementation

pytest_plugins = ["qemu_fixtures"]  # a real QEMU's tools, or a skip naming what is missing
impl = QemuImplementation(load_spec("resolved", env="qemu"), device("fs"), tools(vhost=True))
impl.start(2, True)
print(impl.current.vm.qemu.pid, impl.current.vm.backend.pid, flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_nothing_outlives_a_runner_that_is_killed(qemu_tools, how):
    runner = subprocess.Popen([sys.executable, "-c", HELPER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(x) for x in runner.stdout.readline().split()]
        assert len(pids) == 2
        runner.send_signal(how)
        runner.wait(timeout=60)
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not any(_alive(pid) for pid in pids)
    finally:
        runner.kill()
        runner.wait()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
