"""QEMU's machine protocol (QMP) over a connected socket, every wait bounded.

One command at a time: ``execute`` sends it and reads until its return or
error; the asynchronous events read on the way are kept (``events``), so
that a caller can wait for one (``wait_event``: ``RESET``, ``STOP``...).
"""

from __future__ import annotations

import json
import socket
import time

from .errors import MachineFailure

GRACE = 2.0  # seconds for a QEMU whose connection broke to be seen exited

QMP_SECONDS = 10.0


class QmpError(Exception):
    """QEMU answered a command with an error (a refusal, not a failure of QEMU)."""


class Qmp:
    def __init__(self, sock: socket.socket, alive) -> None:
        self.sock = sock
        self.alive = alive  # () -> None, raises MachineFailure when QEMU is gone
        self.buffer = b""
        self.events: list[dict] = []
        greeting = self._read(time.monotonic() + QMP_SECONDS, "the QMP greeting")
        if "QMP" not in greeting:
            raise MachineFailure("crashed", f"QMP did not greet: {str(greeting)[:80]}")
        self.execute("qmp_capabilities")

    def _read(self, deadline: float, what: str) -> dict:
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.alive()
                raise MachineFailure("hung", f"no answer on QMP to {what} within {QMP_SECONDS:.0f} s")
            self.sock.settimeout(min(left, 0.5))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                self.alive()
                continue
            except OSError as exc:
                self.alive(GRACE)
                raise MachineFailure("crashed", f"QMP connection: {exc}") from None
            if not data:
                self.alive(GRACE)
                raise MachineFailure("crashed", f"QEMU closed QMP while waiting for {what}")
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            raise MachineFailure("crashed", f"QMP sent something that is not JSON: {line[:80]!r}") from None

    def execute(self, command: str, seconds: float = QMP_SECONDS, **arguments) -> object:
        message = {"execute": command, **({"arguments": arguments} if arguments else {})}
        try:
            self.sock.sendall(json.dumps(message).encode() + b"\n")
        except OSError as exc:
            self.alive(GRACE)
            raise MachineFailure("crashed", f"QMP connection: {exc}") from None
        deadline = time.monotonic() + seconds
        while True:
            reply = self._read(deadline, command)
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise QmpError(f"{command}: {reply['error'].get('desc', reply['error'])}")
            if "event" in reply:
                self.events.append(reply)

    def wait_event(self, name: str, seconds: float = QMP_SECONDS) -> dict:
        """The first event ``name`` received (kept or new), removed from ``events``."""
        deadline = time.monotonic() + seconds
        while True:
            for i, event in enumerate(self.events):
                if event.get("event") == name:
                    return self.events.pop(i)
            reply = self._read(deadline, f"the {name} event")
            if "event" in reply:
                self.events.append(reply)
