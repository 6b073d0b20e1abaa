"""The host's side of the guest's command loop on COM1 (``guest.S``).

A command is 10 bytes (op, size, address, value; little endian), its
answer 5 ('k' and the value). Commands may be sent ahead: the guest
answers them in order (:meth:`Guest.batch`). Every read has a deadline;
when it runs out the QEMU process is looked at: gone is a crash, alive a
hang.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable, Sequence

from .errors import MachineFailure
from .guest import BANNER

GRACE = 2.0  # seconds for a QEMU whose connection broke to be seen exited

REPLY_SECONDS = 10.0
BOOT_SECONDS = 30.0

Command = tuple[bytes, int, int, int]  # op, size, address, value


class Guest:
    def __init__(self, sock: socket.socket, alive: Callable[[], None]) -> None:
        self.sock = sock
        self.alive = alive
        self.buffer = b""
        self.commands = 0

    def _recv(self, deadline: float, what: str, kind: str = "hung") -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            self.alive()
            raise MachineFailure(kind, what)
        self.sock.settimeout(min(left, 0.5))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            self.alive()
            return
        except OSError as exc:
            self.alive(GRACE)
            raise MachineFailure("crashed", f"serial connection: {exc}") from None
        if not data:
            self.alive(GRACE)
            raise MachineFailure("crashed", "QEMU closed the guest's serial port")
        self.buffer += data

    def wait_banner(self, seconds: float | None = None) -> None:
        """Until the guest prints its banner (after boot or a reset)."""
        seconds = BOOT_SECONDS if seconds is None else seconds
        deadline = time.monotonic() + seconds
        while BANNER not in self.buffer:
            self._recv(deadline, f"the guest did not print its banner within {seconds:.0f} s", "no_boot")
        self.buffer = self.buffer.split(BANNER, 1)[1]

    def batch(self, commands: Sequence[Command]) -> list[int]:
        """Send every command, then read every answer, in order."""
        packet = b"".join(
            struct.pack("<cBII", op, size, addr & 0xFFFFFFFF, value & 0xFFFFFFFF) for op, size, addr, value in commands
        )
        try:
            self.sock.sendall(packet)
        except OSError as exc:
            self.alive(GRACE)
            raise MachineFailure("crashed", f"serial connection: {exc}") from None
        self.commands += len(commands)
        deadline = time.monotonic() + REPLY_SECONDS
        values = []
        for op, *_ in commands:
            while len(self.buffer) < 5:
                self._recv(deadline, f"the guest did not answer {op.decode()} within {REPLY_SECONDS:.0f} s")
            reply, self.buffer = self.buffer[:5], self.buffer[5:]
            if reply[:1] != b"k":
                raise MachineFailure("crashed", f"the guest answered {reply!r} to {op.decode()}")
            values.append(struct.unpack("<I", reply[1:])[0])
        return values

    def one(self, op: bytes, size: int, addr: int, value: int = 0) -> int:
        return self.batch([(op, size, addr, value)])[0]

    def out(self, size: int, port: int, value: int) -> None:
        self.one(b"O", size, port, value)

    def inp(self, size: int, port: int) -> int:
        return self.one(b"I", size, port)

    def write(self, size: int, addr: int, value: int) -> None:
        self.one(b"W", size, addr, value)

    def read(self, size: int, addr: int) -> int:
        return self.one(b"R", size, addr)
