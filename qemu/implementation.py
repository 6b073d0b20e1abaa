"""A real QEMU as an oracle implementation (``oracle/implementation.py``).

One QEMU per value of ``limited`` for a whole drive (a limited host is
emulated by the device's ``ioeventfd=off``: README.md), kept across tests:
each test's ``start`` brings its device back to the table's start (VM
running, status 0, rings set up again), and a test that loads a saved VM
goes on in a fresh QEMU. ``close`` ends every process; the next ``start``
boots again (how the oracle confirms a failure from a fresh start).

The drive gives a test's events at once (:meth:`QemuImplementation.session`),
so an event QEMU performs inside another (vhost-user-fs starts vhost in
the DRIVER_OK write) is mapped with the one next to it (:mod:`.causes`).
A test this machine cannot cause fails with ``error`` and says why; the
suites of :mod:`.suite` leave such tests out beforehand.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.implementation import ImplementationFailure
from virtio_notifier_spec.spec.schema import Spec

from .causes import plan
from .devices import Device
from .errors import MachineFailure, NotCausable
from .host import Tools
from .live import LiveDevice


class QemuImplementation:
    """``qemu:DEVICE``: the notifier code of the QEMU binary, under KVM."""

    def __init__(self, spec: Spec, device: Device, tools: Tools, *, stop_on_machine_failure: bool = False) -> None:
        self.spec = spec
        self.device = device
        self.tools = tools
        self.name = f"qemu:{device.name}"
        self.machine = Machine(spec, device.queues)
        self.folder = tempfile.mkdtemp(prefix="vns-qemu-")
        self.live: dict[bool, LiveDevice] = {}
        self.events: list = []
        self.current: LiveDevice | None = None
        self.limited = False
        self.failure: MachineFailure | None = None  # the first time the machine failed
        # True: a crash, hang or failed boot ends the run (raised as MachineFailure) instead of
        # failing one test (the oracle's way with a child, which it starts again)
        self.stop_on_machine_failure = stop_on_machine_failure
        self.timings: list[float] = []  # seconds per test (session), for the report
        self.boots = 0
        self.retired: list[LiveDevice] = []

    # -- the protocol ----------------------------------------------------------------------
    def start(self, queues: int, limited: bool) -> object:
        if queues != self.device.queues:
            raise ImplementationFailure("error", f"{self.name} has {self.device.queues} queue(s), not {queues}")
        self.events = []
        self.limited = limited
        try:
            if self.device.vhost:
                plan(self.machine, self.device, limited, [])
            live = self._device(limited)
            live.fresh()
            self.current = live
            mark = live.notifiers.count
            return live.observe("start", {}, mark, {q: False for q in range(self.device.queues)})
        except NotCausable as exc:
            raise ImplementationFailure("error", f"not causable: {exc}") from None
        except MachineFailure as exc:
            raise self._crash(exc) from None

    def event(self, name: str, args: dict) -> object:
        inst = self.machine.instance(name, **args)
        self.events.append(inst)
        try:
            actions = plan(self.machine, self.device, self.limited, self.events)
        except NotCausable as exc:
            if "vhost_stop_alone" in str(exc) and name == "vhost_stop":
                return None  # its cause may come next (replay, one step at a time)
            raise ImplementationFailure("error", f"not causable: {exc}") from None
        return self._step(actions[-1].kind, name, args)

    def session(self, queues: int, limited: bool, requests: Sequence[tuple[str, dict]]) -> Iterator[object]:
        began = time.monotonic()
        insts = [self.machine.instance(name, **args) for name, args in requests]
        try:
            actions = plan(self.machine, self.device, limited, insts)
        except NotCausable as exc:
            raise ImplementationFailure("error", f"not causable: {exc}") from None
        try:
            yield self.start(queues, limited)
            for action, (name, args) in zip(actions, requests, strict=True):
                yield self._step(action.kind, name, args)
        finally:
            self.timings.append(time.monotonic() - began)

    @property
    def launches(self) -> int:
        """QEMU processes started so far (boots and migration destinations)."""
        return sum(live.launches for live in [*self.live.values(), *self.retired])

    @property
    def probes(self) -> list[int]:
        """For each QEMU started, how many of its start-up probe's registrations KVM accepted."""
        return [n for live in [*self.live.values(), *self.retired] for n in live.probes]

    @property
    def signalled(self) -> dict[str, int]:
        """By event: queues whose handler QEMU called at once on the ioeventfd it had just registered."""
        total: dict[str, int] = {}
        for live in [*self.live.values(), *self.retired]:
            for event, n in live.signalled.items():
                total[event] = total.get(event, 0) + n
        return total

    def close(self) -> None:
        self.retired += list(self.live.values())
        for live in self.live.values():
            live.close()
        self.live.clear()
        self.current = None

    def shutdown(self) -> None:
        """End everything and remove the run's folder."""
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- inside ---------------------------------------------------------------------------
    def _device(self, limited: bool) -> LiveDevice:
        live = self.live.get(limited)
        if live is None or not live.alive:
            if live is not None:
                live.close()
            live = LiveDevice(self.tools, self.device, limited, self.folder)
            live.boot()
            self.boots += 1
            self.live[limited] = live
        return live

    def _step(self, kind: str, name: str, args: dict) -> object:
        live = self.current
        if live is None:
            raise ImplementationFailure("error", "an event before start")
        try:
            live.pump()
            live.notifiers.flush()
            mark = live.notifiers.count
            before = {q: live.notifiers.our_fd(q) for q in range(self.device.queues)}
            if kind == "before_cause":
                return None
            if kind == "disconnect":
                live.disconnect()
            elif kind == "reconnect":
                live.reconnect()
            elif kind != "second_half":
                live.perform(name, args)
            live.settle(mark, before, name)
            return live.observe(name, args, mark, before, partial=kind == "first_half")
        except NotCausable as exc:
            raise ImplementationFailure("error", f"not causable: {exc}") from None
        except MachineFailure as exc:
            raise self._crash(exc) from None

    def _crash(self, exc: MachineFailure) -> Exception:
        if self.failure is None:
            self.failure = exc
        if self.stop_on_machine_failure:
            self.close()
            return exc
        stderr = self.current.vm.stderr() if self.current is not None and self.current.vm is not None else ""
        self.close()
        kind = "timeout" if exc.kind == "hung" else "crash"
        return ImplementationFailure(kind, str(exc), stderr or exc.stderr)
