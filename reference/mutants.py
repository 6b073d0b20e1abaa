"""Deliberately faulty devices: bugs an implementer of the notifier could write.

Each mutant is the reference :class:`~.reference.Device` with one method
written wrongly. The property checks must catch every one of them
(``tests/test_mutants.py``, ``make mutants``): a check that no mutant can
fail proves nothing.

>>> len(MUTANTS) >= 12, MUTANTS[0].name
(True, 'release_ignores_limit')
"""

from __future__ import annotations

from dataclasses import dataclass

from .device import DRIVER_OK, Device, VirtQueue
from .kernel import Kernel, Owner


@dataclass(frozen=True, slots=True)
class Mutant:
    """A faulty device: its name, what it breaks (one line), its class."""

    name: str
    breaks: str
    device: type[Device]


class ReleaseIgnoresLimit(Device):
    def _take_back_from_vhost(self, vq: VirtQueue) -> None:
        if not vq.vhost:
            return
        vq.vhost = False
        self._drain(vq)
        if self.running and self.status & DRIVER_OK:  # the limit flag forgotten
            self._assign_ioeventfd(vq)


class ReleaseWhileStopped(Device):
    def _take_back_from_vhost(self, vq: VirtQueue) -> None:
        if not vq.vhost:
            return
        vq.vhost = False
        self._drain(vq)
        if self.use_ioeventfd and self.status & DRIVER_OK:  # the VM's run state forgotten
            self._assign_ioeventfd(vq)


class ReleaseIgnoresStatus(Device):
    def _take_back_from_vhost(self, vq: VirtQueue) -> None:
        if not vq.vhost:
            return
        vq.vhost = False
        self._drain(vq)
        if self.use_ioeventfd:  # the message's e, read literally
            self._assign_ioeventfd(vq)


class ReleaseLeavesVhostKick(Device):
    def _take_back_from_vhost(self, vq: VirtQueue) -> None:
        if not vq.vhost:
            return
        vq.vhost = False  # no drain: a kick vhost did not read stays in the notifier
        self._start_queue(vq)


class DoubleRelease(Device):
    def _take_back_from_vhost(self, vq: VirtQueue) -> None:
        vq.vhost = False  # not checked that vhost held it
        self._drain(vq)
        self._start_queue(vq)


class TakeAgainCountsTwice(Device):
    """Counts takes like a reference count, though set_host_notifier is idempotent."""

    def __init__(self, kernel: Kernel, queues: int) -> None:
        super().__init__(kernel, queues)
        self.grabs = [0] * queues

    def _hand_to_vhost(self, vq: VirtQueue) -> None:
        self.grabs[vq.index] += 1
        if self.grabs[vq.index] == 1:
            self._stop_queue(vq)
            vq.vhost = True

    def _take_back_from_vhost(self, vq: VirtQueue) -> None:
        if self.grabs[vq.index] == 0:
            return
        self.grabs[vq.index] -= 1
        if self.grabs[vq.index] == 0:
            super()._take_back_from_vhost(vq)


class TakeKeepsOurs(Device):
    def _hand_to_vhost(self, vq: VirtQueue) -> None:
        vq.vhost = True  # our ioeventfd and handler stay beside vhost's


class StartIgnoresVhost(Device):
    def _start_queue(self, vq: VirtQueue) -> None:
        if vq.ioeventfd or not self._ioeventfd_wanted():  # vhost's queues not skipped
            return
        self._assign_ioeventfd(vq)


class StartIgnoresLimit(Device):
    def _ioeventfd_wanted(self) -> bool:
        return self.running and bool(self.status & DRIVER_OK)


class RefusedAssignMarkedAssigned(Device):
    def _assign_ioeventfd(self, vq: VirtQueue) -> None:
        self.kernel.assign_ioeventfd(self.address(vq.index), vq.notifier, Owner.US)  # result ignored
        self.kernel.attach(vq.notifier, Owner.US, lambda: self.run_handler(vq.index))
        vq.ioeventfd = True


class RefusedAssignLeavesHandler(Device):
    def _assign_ioeventfd(self, vq: VirtQueue) -> None:
        self.kernel.attach(vq.notifier, Owner.US, lambda: self.run_handler(vq.index))
        if self.kernel.assign_ioeventfd(self.address(vq.index), vq.notifier, Owner.US) < 0:
            return  # the handler attached above is not detached
        vq.ioeventfd = True


class DeassignKeepsPending(Device):
    def _deassign_ioeventfd(self, vq: VirtQueue) -> None:
        self.kernel.deassign_ioeventfd(self.address(vq.index), Owner.US)
        self.kernel.detach(vq.notifier, Owner.US)
        vq.ioeventfd = False  # no drain


class DeassignLeavesHandler(Device):
    def _deassign_ioeventfd(self, vq: VirtQueue) -> None:
        self.kernel.deassign_ioeventfd(self.address(vq.index), Owner.US)
        vq.ioeventfd = False  # our handler still reads the notifier
        self._drain(vq)


class DrainWithoutClear(Device):
    def _drain(self, vq: VirtQueue) -> None:
        self.ioeventfd_handled += vq.notifier.counter  # read, not cleared


class DeassignHandlesTwice(Device):
    def _deassign_ioeventfd(self, vq: VirtQueue) -> None:
        self.ioeventfd_handled += vq.notifier.counter  # the pending kick handled here...
        super()._deassign_ioeventfd(vq)  # ...and again by the drain


class PioDropsEarlyKicks(Device):
    def _pio_exit(self, n: int) -> None:
        if not self.status & DRIVER_OK:
            return  # "the driver is not ready": the kick is dropped, not handled
        super()._pio_exit(n)


class ResetTakesOfflimits(Device):
    def reset(self) -> None:
        super().reset()
        for vq in self.vqs:
            vq.vhost = False  # vhost still holds the notifier


class StatusZeroNotReset(Device):
    def set_status(self, value: int) -> None:
        if value == 0:
            self.status = 0  # stored like any other value
            return
        super().set_status(value)


class DriverOkLostKeepsAssigned(Device):
    def set_status(self, value: int) -> None:
        if value == 0:
            self.reset()
            return
        self.status = value  # no stop when DRIVER_OK goes away
        self._start_ioeventfds()


class VmStopKeepsIoeventfds(Device):
    def vm_stop(self) -> None:
        self.running = False


class VmRunIgnoresStatus(Device):
    def vm_run(self) -> None:
        self.running = True
        for vq in self.vqs:  # as QEMU's 2011 start: DRIVER_OK not looked at
            if self.use_ioeventfd and not vq.vhost and not vq.ioeventfd:
                self._assign_ioeventfd(vq)


class LoadAssigns(Device):
    def load(self, saved_status: int) -> None:
        self.status = saved_status
        for vq in self.vqs:  # the message's "transition the state machine" on load
            if self.use_ioeventfd and saved_status & DRIVER_OK and not vq.vhost and not vq.ioeventfd:
                self._assign_ioeventfd(vq)


MUTANTS: tuple[Mutant, ...] = (
    Mutant("release_ignores_limit", "vhost's release assigns ours on a 6-slot host (f forgotten)", ReleaseIgnoresLimit),
    Mutant("release_while_stopped", "vhost's release restarts ours while the VM is stopped", ReleaseWhileStopped),
    Mutant(
        "release_ignores_status",
        "vhost's release assigns ours without DRIVER_OK (e read literally)",
        ReleaseIgnoresStatus,
    ),
    Mutant(
        "release_leaves_vhost_kick",
        "a kick vhost left in the notifier is not drained on release",
        ReleaseLeavesVhostKick,
    ),
    Mutant("double_release", "a release of a queue vhost does not hold drains or reassigns ours", DoubleRelease),
    Mutant(
        "take_again_counts_twice",
        "a repeated take is counted, so one release does not give it back",
        TakeAgainCountsTwice,
    ),
    Mutant("take_keeps_ours", "vhost's take leaves our ioeventfd and handler in place", TakeKeepsOurs),
    Mutant("start_ignores_vhost", "DRIVER_OK assigns ours on queues vhost holds", StartIgnoresVhost),
    Mutant("start_ignores_limit", "DRIVER_OK assigns ours on a 6-slot host", StartIgnoresLimit),
    Mutant(
        "refused_assign_marked_assigned", "a refused assignment is recorded as assigned", RefusedAssignMarkedAssigned
    ),
    Mutant(
        "refused_assign_leaves_handler",
        "a refused assignment leaks the handler attached before it",
        RefusedAssignLeavesHandler,
    ),
    Mutant("deassign_keeps_pending", "deassigning does not drain: a pending kick is lost", DeassignKeepsPending),
    Mutant("deassign_leaves_handler", "deassigning leaves our handler reading the notifier", DeassignLeavesHandler),
    Mutant(
        "drain_without_clear",
        "the handler reads the notifier without clearing it: kicks handled twice",
        DrainWithoutClear,
    ),
    Mutant(
        "deassign_handles_twice",
        "deassigning handles a pending kick, then drains and handles it again",
        DeassignHandlesTwice,
    ),
    Mutant("pio_drops_early_kicks", "a pio kick before DRIVER_OK is dropped, not handled", PioDropsEarlyKicks),
    Mutant("reset_takes_offlimits", "reset forgets that vhost holds its queues", ResetTakesOfflimits),
    Mutant("status_zero_not_reset", "writing status 0 stores it without resetting", StatusZeroNotReset),
    Mutant(
        "driver_ok_lost_keeps_assigned", "a status without DRIVER_OK leaves our ioeventfds", DriverOkLostKeepsAssigned
    ),
    Mutant("vm_stop_keeps_ioeventfds", "VM stop leaves our handler armed in a stopped VM", VmStopKeepsIoeventfds),
    Mutant("vm_run_ignores_status", "VM run assigns ours without DRIVER_OK", VmRunIgnoresStatus),
    Mutant("load_assigns", "load of a DRIVER_OK status assigns ours in the stopped VM", LoadAssigns),
)


def mutant(name: str) -> Mutant:
    """The mutant called ``name``."""
    for m in MUTANTS:
        if m.name == name:
            return m
    raise KeyError(f"no mutant {name!r}; known: {', '.join(m.name for m in MUTANTS)}")
