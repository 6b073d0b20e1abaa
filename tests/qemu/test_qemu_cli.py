"""`virtio-notifier-spec qemu`: what is missing is named (exit 2, or a note
for --smoke), a QEMU that crashes or never boots is one line and exit 5."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.qemu import guestio, process
from virtio_notifier_spec.qemu.devices import device
from virtio_notifier_spec.qemu.errors import MachineFailure
from virtio_notifier_spec.qemu.vm import Vm

pytest_plugins = ["qemu_fixtures"]  # a real QEMU's tools, or a skip naming what is missing


def _run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env)


def test_a_missing_qemu_is_named_and_refused():
    done = _run("qemu", "--device", "blk-legacy-1", env={"VIRTIO_NOTIFIER_SPEC_QEMU": "/nonexistent/qemu"})
    assert done.exit_code == 2
    assert "VIRTIO_NOTIFIER_SPEC_QEMU=/nonexistent/qemu is not an executable" in done.output


def test_the_smoke_test_says_it_did_not_run_qemu_where_it_cannot():
    done = _run("qemu", "--smoke", env={"VIRTIO_NOTIFIER_SPEC_QEMU": "/nonexistent/qemu"})
    assert done.exit_code == 0 and done.output.startswith("real QEMU: not run here:")


def test_an_unknown_device_is_bad_input():
    done = _run("qemu", "--device", "floppy")
    assert done.exit_code == 2 and "no device 'floppy'" in done.output


def test_a_qemu_that_exits_at_once_is_a_crash_exit_5(qemu_tools):
    done = _run("qemu", "--device", "blk-legacy-1", "--quiet", env={"VIRTIO_NOTIFIER_SPEC_QEMU": "/bin/false"})
    assert done.exit_code == 5
    assert done.output.strip().splitlines() == ["error: QEMU crashed: exited with status 1"]
    assert process.live() == []


def test_a_guest_that_never_boots_is_named(qemu_tools, monkeypatch):
    monkeypatch.setattr(guestio, "BANNER", b"a banner the guest never prints\n")
    monkeypatch.setattr(guestio, "BOOT_SECONDS", 1.0)  # the bound under test: the banner never comes
    with pytest.raises(MachineFailure) as caught:
        Vm(qemu_tools, device("blk-legacy-1")).launch()
    assert caught.value.kind == "no_boot" and "did not print its banner" in str(caught.value)
    assert process.live() == []
