"""A deliberately broken copy of a design is caught: the matrix no longer
matches the catalogue, and the analysis names what broke."""

from __future__ import annotations

import dataclasses

from virtio_notifier_spec.designs.analysis import analyse
from virtio_notifier_spec.designs.catalogue import entry
from virtio_notifier_spec.designs.firecracker import Firecracker
from virtio_notifier_spec.designs.matrix import expectations
from virtio_notifier_spec.designs.qemu_today import QemuToday


class QemuTodayNoDrain(QemuToday):
    """stop forgets virtio_bus_cleanup_host_notifier: what the eventfd held is never read."""

    def stop(self) -> None:
        if not self.started:
            return
        if not self.grabbed:
            for n in range(self.queues):
                self.disarm(n)
                self.unregister(n)
        self.started = False


class FirecrackerArmedAtAttach(Firecracker):
    """Reads the queue eventfds as soon as the device is attached, not at activation."""

    def __init__(self, kernel, queues, served) -> None:
        super().__init__(kernel, queues, served)
        for n in range(queues):
            if not served[n]:
                self.arm(n)

    def reader(self, n):
        return self.kernel.reader(self._watched(n))


def test_a_qemu_that_does_not_drain_loses_kicks_and_is_caught():
    broken = dataclasses.replace(entry("qemu_today"), design=QemuTodayNoDrain)
    result = analyse(broken)
    assert result.verdict("no_lost_kick").verdict == "violated"
    problems = expectations(broken, result)
    assert any("no_lost_kick violated, the catalogue says holds" in p for p in problems)
    assert any("unexplained divergence" in p and "handled" in p for p in problems)


def test_a_firecracker_armed_before_activation_is_caught():
    broken = dataclasses.replace(entry("firecracker"), design=FirecrackerArmedAtAttach)
    result = analyse(broken)
    verdict = result.verdict("armed_only_when_driver_ok")
    assert verdict.verdict == "violated" and verdict.sequence.events == ()
    assert any("armed_only_when_driver_ok violated" in p for p in expectations(broken, result))


def test_a_catalogue_that_forgets_a_divergence_is_caught():
    design = entry("qemu_2011")
    forgetful = dataclasses.replace(design, known=design.known[1:])
    problems = expectations(forgetful, analyse(design))
    assert list(problems) == [
        f"qemu_2011: unexplained divergence {design.known[0].event} / abort / {design.known[0].variable} "
        "(start(limited=false, vhost_serves=[true,true]); set_status(value=driver_ok, assign_ok=false))"
    ]
