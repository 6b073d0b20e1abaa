"""One device on one running QEMU, driven event by event and observed from
QEMU's trace log (and QMP where the log is silent).

Each event has a real cause (README.md, "What causes each event"); after
it, :meth:`LiveDevice.observe` turns what the log showed into an
observation of the table's variables: ``our_fd`` and ``vhost_fd`` from the
ioeventfds KVM was asked to register for the queue's notify register (and
by whom, :mod:`.notifiers`), ``state`` from those two, ``status`` from
``virtio_set_status``, ``running`` from ``vm_state_notify``, ``vhost_on``
from ``vhost_dev_start``/``stop``, ``limited`` from the start-up probe,
``vhost_serves`` from QMP, ``pending`` and ``handled`` from the guest's
kicks and the handler calls QEMU traces (``virtio_queue_notify``).

QEMU's main loop reads a signalled eventfd within microseconds: no kick
waits for the table's ``handle``. So while a kick is in flight in an
eventfd of ours, its queue's ``pending`` and ``handled`` are not reported;
the handler call that consumed it is credited to the step that ends the
flight: ``handle`` (which waits, bounded, for that call) or the step that
takes the eventfd away (the table's drain). A kick that no handler call
ever follows is reported pending, and not handled: a lost kick fails.
Kicks into vhost's eventfd are read by virtiofsd, which QEMU does not
trace: their ``pending`` and ``handled`` are never reported.
"""

from __future__ import annotations

import os
import time

from .devices import Device
from .errors import MachineFailure, NotCausable
from .host import Tools
from .notifiers import Notifiers
from .transport import ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK, Transport, transport
from .vm import Vm

HANDLER_SECONDS = 10.0  # for QEMU's main loop to call a signalled queue's handler
DEVICE_PATH = "/machine/peripheral/dev0/virtio-backend"
STATUS_NAMES = {
    "VIRTIO_CONFIG_S_ACKNOWLEDGE": 1,
    "VIRTIO_CONFIG_S_DRIVER": 2,
    "VIRTIO_CONFIG_S_DRIVER_OK": 4,
    "VIRTIO_CONFIG_S_FEATURES_OK": 8,
    "VIRTIO_CONFIG_S_NEEDS_RESET": 64,
    "VIRTIO_CONFIG_S_FAILED": 128,
}


def status_value(byte: int) -> str:
    return "zero" if byte == 0 else "driver_ok" if byte & DRIVER_OK else "driver"


class LiveDevice:
    """The device of one QEMU process (a :class:`~.vm.Vm`) and what its log says."""

    def __init__(self, tools: Tools, device: Device, limited: bool, folder: str) -> None:
        self.tools = tools
        self.device = device
        self.limited = limited  # emulated with ioeventfd=off: not observed
        self.folder = folder
        self.vm: Vm | None = None
        self.spare: Vm | None = None  # the next load's destination, started ahead
        self.transport: Transport = transport(device)
        self.notifiers = Notifiers({})
        self.rebooting = False
        self.served: list[bool] = [False] * device.queues
        self.flights: dict[int, int] = {}  # queue -> record count after its last kick into our eventfd
        self.vhost_kicked: set[int] = set()
        self.launches = 0  # QEMU processes started: a boot, or a migration's destination
        self.probes: list[int] = []  # registrations KVM accepted in each QEMU's start-up probe
        self.signalled: dict[str, int] = {}  # event -> handler calls QEMU made at once on ioeventfds it registered

    # -- the process ---------------------------------------------------------------
    def _spec_device(self) -> Device:
        from dataclasses import replace

        return replace(self.device, ioeventfd=self.device.ioeventfd and not self.limited)

    def boot(self) -> None:
        self.close()
        self.vm = Vm(self.tools, self._spec_device(), folder=self._vm_folder()).launch()
        self.launches += 1
        self._attach(fresh_guest=True)

    def _vm_folder(self) -> str:
        path = os.path.join(self.folder, f"vm{time.monotonic_ns()}")
        os.makedirs(path)
        return path

    def _attach(self, fresh_guest: bool) -> None:
        assert self.vm is not None and self.vm.qmp is not None
        self.notifiers = Notifiers(dict(self.transport.notify_keys))
        self.pump()
        self.probes.append(self.notifiers.probe)
        state = self.vm.qmp.execute("query-status")
        self.notifiers.running = bool(state.get("running"))
        virtio = self.vm.qmp.execute("x-query-virtio-status", path=DEVICE_PATH)
        # Which queues vhost serves is the device's configuration (QMP names vhost's
        # queues only once it has started): every queue of vhost-user-fs, none of virtio-blk.
        self.served = [self.device.vhost] * self.device.queues
        if fresh_guest:
            self.transport.setup(self.vm.guest)
            self.notifiers.queue_of = dict(self.transport.notify_keys)
        else:
            byte = sum(STATUS_NAMES.get(s.split(":")[0], 0) for s in virtio["status"]["statuses"])
            self.notifiers.status = byte
        self.flights.clear()
        self.vhost_kicked.clear()

    def close(self) -> None:
        for vm in (self.vm, self.spare):
            if vm is not None:
                vm.close()
        self.vm = self.spare = None

    @property
    def alive(self) -> bool:
        return self.vm is not None and self.vm.qemu is not None and self.vm.qemu.exited() is None

    # -- the log ---------------------------------------------------------------------
    def pump(self) -> None:
        assert self.vm is not None and self.vm.log is not None
        for _, record in self.vm.log.read():
            self.notifiers.feed(record)

    def wait_for(self, done, what: str, seconds: float = HANDLER_SECONDS) -> bool:
        """Read the log until ``done()``; False when ``seconds`` pass first (QEMU alive)."""
        deadline = time.monotonic() + seconds
        while True:
            self.pump()
            if done():
                return True
            if time.monotonic() > deadline:
                assert self.vm is not None
                self.vm.alive()
                return False
            time.sleep(0.0005)

    # -- the guest -------------------------------------------------------------------
    def guest(self):
        """The guest, ready for a driver's access (after a system reset: booted
        again, its BARs and rings set up again)."""
        assert self.vm is not None and self.vm.guest is not None
        if self.rebooting:
            if not self.notifiers.running:
                raise NotCausable("the guest cannot run while the VM is stopped")
            self.vm.guest.wait_banner()
            self.transport.setup(self.vm.guest)
            self.transport.rings(self.vm.guest)
            self.rebooting = False
        return self.vm.guest

    def write_status(self, value: str) -> None:
        """The guest writes the status register as a driver would for ``value``."""
        g = self.guest()
        current = self.notifiers.status or 0
        if value == "zero":
            self.transport.write_status(g, 0)
            self.transport.rings(g)  # a reset forgets the rings; kicks stay observable
        elif value == "driver" or self.device.skip_driver_ok:
            self.transport.write_status(g, ACKNOWLEDGE | DRIVER)
        elif current & DRIVER_OK:
            self.transport.write_status(g, current)
        else:  # a driver's whole sequence, sent at once
            t = self.transport
            commands = [t.status_command(ACKNOWLEDGE | DRIVER)]
            ok = ACKNOWLEDGE | DRIVER | DRIVER_OK
            if self.device.modern:
                commands += [*t.features_commands(), t.status_command(ACKNOWLEDGE | DRIVER | FEATURES_OK)]
                ok |= FEATURES_OK
            g.batch([*commands, t.status_command(ok)])

    # -- bringing the device to the table's start ----------------------------------------
    def fresh(self) -> None:
        if not self.alive:
            self.boot()
        assert self.vm is not None and self.vm.qmp is not None
        self.pump()
        if not self.notifiers.running:
            self.vm.qmp.execute("cont")
            self.notifiers.running = True
        if self.device.reconnects and self.vm.backend is None:
            # QEMU traces no reconnection; a DRIVER_OK device shows it by starting vhost
            self.write_status("driver_ok")
            self.reconnect()
        self.write_status("zero")
        self.pump()
        self.flights.clear()
        self.vhost_kicked.clear()

    # -- one event -------------------------------------------------------------------
    def perform(self, name: str, args: dict) -> None:
        assert self.vm is not None and self.vm.qmp is not None
        qmp = self.vm.qmp
        if name == "set_status":
            self.write_status(args["value"])
        elif name == "reset":
            qmp.execute("system_reset")
            qmp.wait_event("RESET")
            self.rebooting = True
        elif name == "kick":
            q = args["queue"]
            self.pump()
            self.notifiers.flush()
            ours, vhosts = self.notifiers.our_fd(q), self.notifiers.vhost_fd(q)
            before = self.notifiers.count  # a handler call from here on may be this kick's
            self.transport.kick(self.guest(), q)
            self.pump()
            if vhosts:
                self.vhost_kicked.add(q)
            elif ours:
                self.flights[q] = before
        elif name == "vm_stop":
            qmp.execute("stop")
        elif name == "vm_run":
            qmp.execute("cont")
        elif name == "load":
            self.load(args["saved"])
        elif name == "handle":
            q = args["queue"]
            if q in self.flights:
                at = self.flights[q]
                self.wait_for(lambda: self.notifiers.runs_after(q, at) > 0, f"queue {q}'s handler")
        elif name in ("vhost_start", "vhost_stop"):
            pass  # caused by the event next to it (causes.py)
        else:
            raise NotCausable(f"no cause for {name} on this machine")

    def disconnect(self) -> None:
        """End the vhost-user backend: QEMU stops vhost when the socket closes."""
        assert self.vm is not None
        self.vm.kill_backend()
        n = self.notifiers
        gone = lambda: not n.vhost_on and not any(n.vhost_fd(q) for q in range(self.device.queues))  # noqa: E731
        if not self.wait_for(gone, "vhost's stop"):
            raise MachineFailure("hung", f"QEMU did not stop vhost within {HANDLER_SECONDS:.0f} s of the backend's end")

    def reconnect(self) -> None:
        """Start the backend again; QEMU reconnects (``reconnect=1``) and, the device
        being DRIVER_OK, starts vhost."""
        assert self.vm is not None
        starts = self.notifiers.vhost_starts
        self.vm.start_backend()
        if not self.wait_for(lambda: self.notifiers.vhost_starts > starts, "vhost's start"):
            raise MachineFailure("hung", f"QEMU did not reconnect to the backend within {HANDLER_SECONDS:.0f} s")

    def load(self, saved: str) -> None:
        """Migrate the stopped VM to a file (its status first made ``saved``:
        a migration carries the source's status) and go on in a fresh QEMU
        started with ``-incoming`` from it."""
        assert self.vm is not None and self.vm.qmp is not None
        if status_value(self.notifiers.status or 0) != saved:
            self.vm.qmp.execute("cont")
            self.notifiers.running = True
            self.write_status(saved)
            self.vm.qmp.execute("stop")
        path = os.path.join(self.vm.folder, "saved.vm")
        self.vm.migrate_to(path)
        source, self.vm = self.vm, None
        try:
            destination, self.spare = self.spare or self._spawn_spare(), None
            self.vm = destination.attach()
            self.launches += 1
            self.vm.load_from(path)
            os.unlink(path)
        finally:
            source.close(wait=False)  # killed now; reaped while the tests go on
        self._attach(fresh_guest=False)
        self.spare = self._spawn_spare()  # readies itself while the next tests run

    def _spawn_spare(self) -> Vm:
        return Vm(self.tools, self._spec_device(), incoming=True, folder=self._vm_folder()).spawn()

    # -- observing -----------------------------------------------------------------------
    def settle(self, mark: int, before: dict[int, bool], event: str = "") -> None:
        """After a step: wait until QEMU has called the handler of every queue
        whose ioeventfd of ours the step registered (QEMU signals each new
        one at once: ``virtio_device_start_ioeventfd_impl``), so that a later
        kick is not credited with it."""
        self.pump()
        self.notifiers.flush()
        for q in range(self.device.queues):
            if self.notifiers.our_fd(q) and not before[q]:
                if not self.wait_for(lambda q=q: self.notifiers.runs_after(q, mark) > 0, f"queue {q}'s handler"):
                    raise MachineFailure(
                        "hung",
                        f"QEMU's main loop did not call queue {q}'s handler within {HANDLER_SECONDS:.0f} s "
                        "of signalling its new ioeventfd",
                    )
                self.signalled[event] = self.signalled.get(event, 0) + 1

    def observe(self, name: str, args: dict, mark: int, before_fd: dict[int, bool], *, partial: bool = False) -> dict:
        """The observation after a step that began at record ``mark``."""
        n = self.notifiers
        device: dict[str, object] = {"running": bool(n.running), "status": status_value(n.status or 0)}
        if partial:
            return {"device": device}
        device["vhost_on"] = n.vhost_on
        if not self.limited and n.limited is not None:
            device["limited"] = n.limited
        queues = []
        for q in range(self.device.queues):
            ours, vhosts = n.our_fd(q), n.vhost_fd(q)
            entry: dict[str, object] = {
                "state": "offlimits" if vhosts else "assigned" if ours else "deassigned",
                "our_fd": ours,
                "vhost_fd": vhosts,
                "vhost_serves": self.served[q],
            }
            kicked_here = name == "kick" and args.get("queue") == q
            if q in self.vhost_kicked:
                if not vhosts:
                    self.vhost_kicked.discard(q)
                    entry["pending"] = False
            elif q in self.flights:
                at = self.flights[q]
                if not ours or (name == "handle" and args.get("queue") == q):
                    ran = n.runs_after(q, at) > 0
                    entry["pending"] = not ran
                    entry["handled"] = ran
                    if ran or not ours:
                        del self.flights[q]
            elif kicked_here and not before_fd[q]:
                # the pio path: QEMU called the handler before the guest's write returned
                entry["handled"] = n.runs_after(q, mark) > 0
                entry["pending"] = False
            elif not kicked_here:
                entry["pending"] = False
                entry["handled"] = False
            queues.append(entry)
        return {"device": device, "queues": queues}
