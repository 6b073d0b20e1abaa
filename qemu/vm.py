"""One QEMU process under test: its command line, its guest, QMP and trace log.

QEMU is started in a process group of its own (:mod:`.process`), with the
guest's serial port and QMP on socket pairs (no socket files, nothing to
wait for), every trace event of :data:`~.tracelog.EVENTS` written to a log
in the run's folder (``-D``), the guest kernel booted by qboot. The vhost
device's backend, virtiofsd, is started first and QEMU only once it says
it waits for a connection.

A QEMU that exits is a crash, one that does not answer within a bound a
hang, a guest that prints no banner a failed boot: each a
:class:`~.errors.MachineFailure` naming it, with what QEMU said.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from . import guest as guest_kernel
from .devices import Device
from .errors import MachineFailure
from .guestio import Guest
from .host import Tools
from .process import Child
from .qmp import Qmp
from .tracelog import EVENTS, LogTail

MEMORY = "16M"
BACKEND_SECONDS = 10.0
MIGRATE_SECONDS = 30.0


def command_line(tools: Tools, kernel: str, device: Device, log: str, extra: list[str]) -> list[str]:
    """QEMU's arguments (the serial port and QMP are added as socket pairs)."""
    traces = [arg for event in EVENTS for arg in ("-trace", event)]
    return [
        tools.qemu,
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-machine",
        "pc,accel=kvm",
        "-cpu",
        "kvm64",
        "-m",
        MEMORY,
        "-bios",
        tools.firmware,
        "-kernel",
        kernel,
        "-D",
        log,
        *traces,
        *extra,
    ]


class Vm:
    """A running QEMU with its guest (``guest``), QMP (``qmp``) and log (``log``)."""

    def __init__(self, tools: Tools, device: Device, *, incoming: bool = False, folder: str | None = None) -> None:
        self.tools = tools
        self.device = device
        self.incoming = incoming
        self._own_folder = folder is None
        self.folder = folder or tempfile.mkdtemp(prefix="vns-qemu-")
        self.log_path = os.path.join(self.folder, f"qemu-{time.monotonic_ns()}.log")
        self.qemu: Child | None = None
        self.backend: Child | None = None
        self.sockets: list[socket.socket] = []
        self.guest: Guest | None = None
        self.qmp: Qmp | None = None
        self.log: LogTail | None = None
        self.started = time.monotonic()

    # -- life ------------------------------------------------------------------------
    def launch(self) -> Vm:
        """Start QEMU and wait until it answers (and, booting, until its guest does)."""
        return self.spawn().attach()

    def spawn(self) -> Vm:
        """Start the processes without waiting for QEMU (a migration's destination
        started ahead: it readies itself while tests run)."""
        try:
            self._launch()
        except BaseException:
            self.close()
            raise
        return self

    def attach(self) -> Vm:
        """Wait for QMP's greeting and, booting, the guest's banner."""
        try:
            self.qmp = Qmp(self._qmp_socket, self.alive)
            if not self.incoming:
                assert self.guest is not None
                self.guest.wait_banner()
        except BaseException:
            self.close()
            raise
        return self

    def _launch(self) -> None:
        kernel = str(guest_kernel.build(self.tools))
        extra: list[str] = []
        vu_socket = None
        if self.device.vhost:
            vu_socket = self.backend_socket
            self.start_backend()
        serial_host, serial_qemu = socket.socketpair()
        qmp_host, qmp_qemu = socket.socketpair()
        self.sockets = [serial_host, qmp_host]
        extra += ["-chardev", f"socket,id=ser,fd={serial_qemu.fileno()}", "-serial", "chardev:ser"]
        extra += ["-chardev", f"socket,id=mon,fd={qmp_qemu.fileno()}", "-mon", "chardev=mon,mode=control"]
        extra += self.device.args(vu_socket)
        if self.incoming:
            extra += ["-S", "-incoming", "defer"]
        Path(self.log_path).touch()
        self.log = LogTail(self.log_path)
        argv = command_line(self.tools, kernel, self.device, self.log_path, extra)
        try:
            self.qemu = Child(argv, pass_fds=(serial_qemu.fileno(), qmp_qemu.fileno()))
        except OSError as exc:
            raise MachineFailure("crashed", f"cannot start {argv[0]}: {exc.strerror or exc}") from None
        finally:
            serial_qemu.close()
            qmp_qemu.close()
        self.guest = Guest(serial_host, self.alive)
        self._qmp_socket = qmp_host

    @property
    def backend_socket(self) -> str:
        return os.path.join(self.folder, "vhost-user.sock")

    def start_backend(self) -> None:
        """Start the vhost-user backend and wait until it listens."""
        path = self.backend_socket
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        if self.device.backend == "virtiofsd":
            shared = os.path.join(self.folder, "shared")
            os.makedirs(shared, exist_ok=True)
            sandbox = "chroot" if os.geteuid() == 0 else "namespace"
            self.backend = Child(
                [
                    self.tools.virtiofsd or "virtiofsd",
                    f"--socket-path={path}",
                    "-o",
                    f"source={shared}",
                    "-o",
                    f"sandbox={sandbox}",
                ]
            )
            listening = self.backend.wait_output("Waiting for vhost-user socket connection", BACKEND_SECONDS)
        else:
            self.backend = Child(
                [
                    self.tools.storage_daemon or "qemu-storage-daemon",
                    "--blockdev",
                    "driver=null-co,node-name=n0",
                    "--export",
                    "type=vhost-user-blk,id=e0,node-name=n0,writable=on,addr.type=unix,"
                    f"addr.path={path},num-queues={self.device.queues}",
                ]
            )
            deadline = time.monotonic() + BACKEND_SECONDS
            while not os.path.exists(path) and self.backend.exited() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            listening = os.path.exists(path)
        if not listening:
            raise MachineFailure(
                "no_boot", f"{self.device.backend} did not start listening", self.backend.stderr_text()
            )

    def kill_backend(self) -> None:
        """End the vhost-user backend (a disconnect, as QEMU sees it)."""
        if self.backend is not None:
            self.backend.end()
            self.backend = None

    def alive(self, grace: float = 0.0) -> None:
        """Raise :class:`MachineFailure` (crashed) if QEMU or its backend has exited;
        ``grace``: seconds to let a QEMU whose connection just broke finish exiting."""
        if grace and self.qemu is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.qemu.proc.wait(timeout=grace)
        if self.qemu is not None and self.qemu.exited() is not None:
            code = self.qemu.exited()
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exited with status {code}"
            raise MachineFailure("crashed", how, self.qemu.stderr_text())
        if self.backend is not None and self.backend.exited() is not None:
            raise MachineFailure("crashed", "virtiofsd exited", self.backend.stderr_text())

    def stderr(self) -> str:
        return self.qemu.stderr_text() if self.qemu is not None else ""

    def close(self, *, wait: bool = True) -> None:
        """End QEMU and its backend (``wait=False``: killed now, reaped later)."""
        for child in (self.qemu, self.backend):
            if child is not None:
                child.end(wait=wait)
        for sock in self.sockets:
            sock.close()
        if self.log is not None:
            self.log.close()
        self.qemu = self.backend = self.guest = self.qmp = None
        if self._own_folder:
            _remove_tree(self.folder)

    # -- migration ---------------------------------------------------------------------
    def migrate_to(self, path: str) -> None:
        """Save the (stopped) VM to ``path``: QMP ``migrate`` to a file."""
        assert self.qmp is not None
        self.qmp.execute("migrate", uri=f"exec:cat > {path}")
        self._wait_migration("saving the VM")

    def load_from(self, path: str) -> None:
        """Load a VM saved by :meth:`migrate_to` (this QEMU was started ``incoming``)."""
        assert self.qmp is not None
        self.qmp.execute("migrate-incoming", uri=f"exec:cat {path}")
        self._wait_migration("loading the VM")

    def _wait_migration(self, what: str) -> None:
        assert self.qmp is not None
        deadline = time.monotonic() + MIGRATE_SECONDS
        while time.monotonic() < deadline:
            status = self.qmp.execute("query-migrate").get("status")
            if status == "completed":
                return
            if status in ("failed", "cancelled"):
                raise MachineFailure("crashed", f"{what}: migration {status}", self.stderr())
            time.sleep(0.002)
        raise MachineFailure("hung", f"{what}: the migration did not complete within {MIGRATE_SECONDS:.0f} s")


def _remove_tree(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
