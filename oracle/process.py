"""An implementation run as a child process speaking the drive protocol.

The child reads requests on stdin and writes one reply line per request on
stdout (``spec/PROTOCOL.md``). Whatever it does, the oracle goes on: a reply
that does not come within ``timeout`` seconds, a child that exits, a line
that is not JSON or not a reply each become an :class:`ImplementationFailure`
carrying the tail of the child's stderr; the child is then killed (by its
pid) and started again for the next test.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import tempfile
import time
from collections.abc import Sequence

from . import protocol
from .implementation import ImplementationFailure

STDERR_TAIL = 4000


class ProcessImplementation:
    """Drives ``command`` (an argv list) through the protocol."""

    def __init__(self, command: Sequence[str], *, timeout: float = 5.0, cwd: str | None = None) -> None:
        if not command:
            raise ValueError("no command to run")
        self.command = list(command)
        self.timeout = timeout
        self.cwd = cwd
        self.name = " ".join(self.command)
        self.proc: subprocess.Popen | None = None
        self.stderr = None
        self.buffer = b""
        self.selector: selectors.BaseSelector | None = None

    # -- the child ------------------------------------------------------------
    def _spawn(self) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _kill
        try:
            self.proc = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr,
                cwd=self.cwd,
                bufsize=0,
            )
        except OSError as exc:
            self.stderr.close()
            self.stderr = None
            raise ImplementationFailure("crash", f"cannot start {self.name}: {exc.strerror or exc}") from None
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        reply = self._ask(protocol.hello(), "hello")
        if reply.protocol is not None and reply.protocol != protocol.PROTOCOL_VERSION:
            self._fail(
                "protocol",
                f"the implementation speaks protocol {reply.protocol}, the oracle {protocol.PROTOCOL_VERSION}",
            )
        if reply.implementation:
            self.name = reply.implementation

    def _stderr_tail(self) -> str:
        if self.stderr is None:
            return ""
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - STDERR_TAIL))
            return self.stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
        if self.selector is not None:
            self.selector.close()
            self.selector = None
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None

    def _fail(self, kind: str, detail: str) -> None:
        time.sleep(0.01)  # let the child's last words reach stderr
        stderr = self._stderr_tail()
        code = self.proc.poll() if self.proc is not None else None
        if code is not None and kind == "crash":
            detail += f" (exit status {code})"
        self._kill()
        raise ImplementationFailure(kind, detail, stderr)

    # -- one exchange -----------------------------------------------------------
    def _ask(self, request: bytes, what: str) -> protocol.Reply:
        assert self.proc is not None and self.proc.stdin is not None and self.selector is not None
        if self.buffer or self.selector.select(0):
            unsolicited = (self.buffer or os.read(self.proc.stdout.fileno(), 80))[:80]
            if unsolicited:  # (an empty read is an exit, found when the reply is awaited)
                shown = unsolicited.decode("utf-8", "replace")
                self._fail("protocol", f"output nobody asked for, before the {what} request: {shown!r}")
        try:
            self.proc.stdin.write(request)
        except (BrokenPipeError, OSError):
            self._fail("crash", f"the implementation exited before the {what} request")
        line = self._read_line(what)
        try:
            reply = protocol.decode_reply(line)
        except protocol.ProtocolError as exc:
            shown = line[:200].decode("utf-8", "replace").rstrip("\n")
            self._fail("protocol", f"{exc} (answering {what}: {shown!r})")
        if not reply.ok:
            self._fail("error", f"the implementation refused {what}: {reply.error or 'no reason given'}")
        return reply

    def _read_line(self, what: str) -> bytes:
        assert self.proc is not None and self.selector is not None
        deadline = time.monotonic() + self.timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            if len(self.buffer) > protocol.MAX_REPLY_BYTES:
                self._fail("protocol", f"more than {protocol.MAX_REPLY_BYTES} bytes without a newline")
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                self._fail("timeout", f"no reply to {what} within {self.timeout:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                self._fail("crash", f"the implementation exited while answering {what}")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        if self.buffer:
            extra = self.buffer[:80].decode("utf-8", "replace")
            self._fail("protocol", f"more than one line in answer to {what} (then {extra!r})")
        return line + b"\n"

    # -- the Implementation interface -------------------------------------------
    def start(self, queues: int, limited: bool) -> object:
        if self.proc is None or self.proc.poll() is not None:
            self._kill()
            self._spawn()
        return self._ask(protocol.start(queues, limited), "start").observed

    def event(self, name: str, args: dict) -> object:
        if self.proc is None:
            raise ImplementationFailure("crash", "the implementation is not running")
        return self._ask(protocol.event(name, args), f"{name}").observed

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.write(protocol.quit_request())
                self.proc.stdin.close()
                self.proc.wait(timeout=1)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill()
