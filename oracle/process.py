"""An implementation run as a child process speaking the drive protocol.

The child reads requests on stdin and writes one reply line per request on
stdout (``spec/PROTOCOL.md``). Whatever it does, the oracle goes on:

- the child runs in a process group of its own, and the oracle ends the
  whole group (a child started through a shell leaves no orphans);
- a reply that does not come within ``timeout`` seconds, a child that exits,
  a line that is not a reply, each become an :class:`ImplementationFailure`
  carrying the tail of the child's stderr; the group is then killed and the
  child started again for the next run;
- in protocol version 2 each request carries an id that the reply echoes: a
  late or second reply is matched to the request it answers and reported
  as a :class:`StrayReply`, a protocol failure of the run that sent it,
  instead of being read as the answer to the next request;
- a reply ``{"ok":false}`` is an ``error`` failure; the child keeps running
  (a restart costs time, and a refusal is an answer).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from . import protocol
from .implementation import ImplementationFailure, StrayReply

STDERR_TAIL = 4000
CLOSE_SECONDS = 1.0  # how long a child may take to exit after quit
_SENT_LIMIT = 100_000  # requests remembered for matching late replies
WINDOW = 32  # requests sent ahead of their replies (version 2); at most a few kB on the child's stdin


class ProcessImplementation:
    """Drives ``command`` (an argv list) through the protocol.

    ``protocol``: the version to speak (1 or 2), or None to offer the newest
    and speak version 1 with a child that does not accept it. ``runs``
    counts the ``start`` requests, ``spawns`` the children started.
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        timeout: float = 5.0,
        cwd: str | None = None,
        protocol: int | None = None,
        env: str | None = None,
    ) -> None:
        if not command:
            raise ValueError("no command to run")
        if protocol is not None and protocol not in _versions():
            raise ValueError(f"protocol version {protocol} is not one of {list(_versions())}")
        self.command = list(command)
        self.timeout = timeout
        self.cwd = cwd
        self.name = " ".join(self.command)
        self.wanted = protocol
        self.env = env  # told to the child in each start (version 3)
        self.version: int | None = None
        self.observes: tuple[str, ...] | None = None  # the fields the child declared (version 3)
        self.proc: subprocess.Popen | None = None
        self.stderr = None
        self.buffer = b""
        self.selector: selectors.BaseSelector | None = None
        self.runs = 0  # start requests sent
        self.current_run = 0  # the number of the run in progress (its start request's)
        self.spawns = 0
        self.strays: list[StrayReply] = []
        self._step = 0
        self._next_id = 1
        self._last: int | None = None
        self._sent: dict[int, tuple[int, int, str]] = {}
        self._flight = 0  # requests sent whose replies are not read (version 2)
        self._ahead: deque[_Run] = deque()  # announced runs, maybe partly sent
        self._upcoming: Iterator | None = None  # announced runs not yet looked at
        self._broken = False  # the child's stdin is closed: send nothing more
        self._keep: Callable[[bool, Sequence[tuple[str, dict]]], bool] | None = None

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
                start_new_session=True,  # its own process group, ended as a whole
            )
        except OSError as exc:
            self.stderr.close()
            self.stderr = None
            raise ImplementationFailure("crash", f"cannot start {self.name}: {exc.strerror or exc}") from None
        self.spawns += 1
        self._broken = False
        self.buffer = b""
        self._last = None
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        self.version = self._negotiate()

    def _negotiate(self) -> int:
        """Say hello with the wanted (or newest) version; settle on one. A
        child that refuses an offer is offered the next older version."""
        offer = self.wanted or protocol.PROTOCOL_VERSION
        self._unsolicited("hello")
        while True:
            retry = self.wanted is None and offer > 1
            reply = self._ask(protocol.hello(offer), "hello", None, refuse_ok=True)
            if reply.ok or not retry:
                break
            offer -= 1
        if not reply.ok:
            self._fail("error", f"the implementation refused hello: {reply.error or 'no reason'}")
        spoken = reply.protocol if reply.protocol is not None else 1
        if spoken not in _versions() or spoken > offer or (self.wanted is not None and spoken != self.wanted):
            wanted = f"version {self.wanted}" if self.wanted else f"versions {', '.join(map(str, _versions()))}"
            self._fail("protocol", f"the implementation speaks protocol {spoken}; the oracle asked for {wanted}")
        if reply.observes is not None and spoken < 3:
            self._fail(
                "protocol", f"the hello reply declares 'observes', which protocol {spoken} does not have (3 does)"
            )
        self.observes = reply.observes
        if reply.implementation:
            self.name = reply.implementation
        return spoken

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
        """End the child's whole process group and reap the child; what was
        sent ahead is lost, and sent again when asked for."""
        proc, self.proc = self.proc, None
        self._flight = 0
        for run in self._ahead:
            run.ids, run.read, run.run = [], 0, 0
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
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

    def _fail(self, kind: str, detail: str, stray: tuple[int, int] | None = None):
        """Kill the child and raise: every failure but a refusal (``error``)
        leaves the child in a state the oracle cannot trust."""
        time.sleep(0.01)  # let the child's last words reach stderr
        stderr = self._stderr_tail()
        code = self.proc.poll() if self.proc is not None else None
        if code is not None and kind == "crash":
            detail += f" (exit status {code})"
        self._kill()
        if stray is not None:
            raise StrayReply(detail, stray[0], stray[1], stderr)
        raise ImplementationFailure(kind, detail, stderr)

    # -- one exchange -----------------------------------------------------------
    def _where(self, number: int | None) -> tuple[int, int] | None:
        """(run, step) of a request, for a reply that answers it late."""
        if number is None or number not in self._sent:
            return None
        run, step, _ = self._sent[number]
        return run, step

    def _unsolicited(self, what: str) -> None:
        """Output waiting before a request is sent answers nothing asked now."""
        if self.proc is None or self.selector is None:  # ended while earlier replies were read: started again later
            return
        if not self.buffer and not self.selector.select(0):
            return
        data = self.buffer or os.read(self.proc.stdout.fileno(), 65536)
        if not data:  # an exit: found when the reply is awaited
            return
        self.buffer = b""
        first = data.split(b"\n", 1)[0]
        answered = self._answered(first)
        where = answered if answered is not None else self._last
        label = self._sent.get(where, (0, 0, "an earlier request"))[2] if where is not None else "hello"
        shown = data[:80].decode("utf-8", "replace")
        detail = f"output after the reply to {label}, before the {what} request: {shown!r}"
        if answered is not None:
            detail = f"a second or late reply to request {answered} ({label}), before the {what} request: {shown!r}"
        self._fail("protocol", detail, self._where(where))

    def _answered(self, line: bytes) -> int | None:
        """The id of the earlier request a stray line answers, if it says."""
        try:
            reply = protocol.decode_reply(line)
        except protocol.ProtocolError:
            return None
        return reply.id if reply.id in self._sent else None

    def _send(self, request: bytes, what: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(request)
        except (BrokenPipeError, OSError):
            self._fail("crash", f"the implementation exited before the {what} request")

    def _ask(self, request: bytes, what: str, request_id: int | None, *, refuse_ok: bool = False) -> protocol.Reply:
        self._send(request, what)
        return self._receive(what, request_id, refuse_ok=refuse_ok)

    def _receive(
        self, what: str, request_id: int | None, *, refuse_ok: bool = False, in_flight: bool = False
    ) -> protocol.Reply:
        """Read the reply to ``request_id`` (``in_flight``: later requests are
        sent already, so more lines may follow this one)."""
        line = self._read_line(what, in_flight)
        try:
            reply = protocol.decode_reply(line)
        except protocol.ProtocolError as exc:
            shown = line[:200].decode("utf-8", "replace").rstrip("\n")
            self._fail("protocol", f"{exc} (answering {what}: {shown!r})")
        if (self.version or 1) >= 2 and request_id is not None and reply.id != request_id:
            if reply.id is None:
                self._fail("protocol", f"the reply to {what} has no id (protocol 2 replies echo the request's id)")
            if reply.id in self._sent and reply.id < request_id:
                label = self._sent[reply.id][2]
                self._fail(
                    "protocol",
                    f"a second or late reply to request {reply.id} ({label}) while waiting for the {what} reply",
                    self._where(reply.id),
                )
            if reply.id in self._sent:
                self._fail(
                    "protocol", f"the reply to {what} answers request {reply.id}, a later one: replies come in order"
                )
            self._fail("protocol", f"the reply to {what} answers request {reply.id}, which was never sent")
        if not reply.ok and not refuse_ok:
            raise ImplementationFailure("error", f"the implementation refused {what}: {reply.error or 'no reason'}")
        return reply

    def _read_line(self, what: str, in_flight: bool = False) -> bytes:
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
        if self.buffer and not in_flight:
            extra = self.buffer[:80].decode("utf-8", "replace")
            self._fail("protocol", f"more than one line in answer to {what} (then {extra!r})")
        return line + b"\n"

    def _number(self, what: str, run: int | None = None, step: int | None = None) -> int | None:
        """Number a request, remembered with its run and step; the number
        goes on the wire (its id) in version 2 only."""
        number = self._next_id
        self._next_id += 1
        self._sent[number] = (self.runs if run is None else run, self._step if step is None else step, what)
        self._last = number
        if len(self._sent) > 2 * _SENT_LIMIT:  # forget the oldest half (deleting one by one from the front is slow)
            self._sent = dict(itertools.islice(self._sent.items(), _SENT_LIMIT, None))
        return number if (self.version or 1) >= 2 else None

    def _env(self) -> str | None:
        return self.env if (self.version or 1) >= 3 else None

    # -- the Implementation interface -------------------------------------------
    def _running(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._kill()
            self._spawn()

    def start(self, queues: int, limited: bool) -> object:
        self._running()
        self._settle_ahead()
        self._running()
        self._unsolicited("start")
        self.runs += 1
        self.current_run = self.runs
        self._step = 0
        request_id = self._number("start")
        request = protocol.start(queues, limited, request_id, self._env())
        return self._ask(request, "start", request_id).observed

    def event(self, name: str, args: dict) -> object:
        if self.proc is None:
            raise ImplementationFailure("crash", "the implementation is not running")
        self._unsolicited(name)
        self._step += 1
        request_id = self._number(name)
        return self._ask(protocol.event(name, args, request_id), name, request_id).observed

    def plan(
        self,
        runs: Iterable[tuple[int, bool, Sequence[tuple[str, dict]]]],
        keep: Callable[[bool, Sequence[tuple[str, dict]]], bool] | None = None,
    ) -> None:
        """Announce the runs the next :meth:`session` calls will ask for, in
        order, so that their requests can be sent ahead (version 2).
        ``keep(limited, events)``: whether an announced run is still wanted
        (the caller may learn, from a run's result, that it will skip later
        ones, e.g. those that begin with a sequence that crashed): one that
        is not is neither sent nor waited for."""
        self._settle_ahead()
        self._upcoming = iter(runs)
        self._keep = keep

    def session(self, queues: int, limited: bool, events: Sequence[tuple[str, dict]]) -> Iterator[object]:
        """``start`` then ``events``, yielding each observation in order.

        In version 2 the requests are pipelined: up to :data:`WINDOW` are in
        flight before their replies are read (the ids match them), those of
        the runs announced by :meth:`plan` included, which saves a round
        trip per event. Replies to requests already sent are read (and
        dropped) when the caller stops early, so that none is taken for the
        answer to a later request. Version 1 asks one by one.
        """
        self._running()
        if (self.version or 1) < 2:
            yield self.start(queues, limited)
            for name, args in events:
                yield self.event(name, args)
            return
        run = self._take(queues, limited, events)
        if self.proc is None:  # the child ended while the replies sent ahead were read
            self._running()
        if not self._flight:
            self._unsolicited("start")
        try:
            while run.read < run.total:
                if run.read == len(run.ids) or self._flight <= WINDOW // 2:
                    self._fill(run)
                number, name = run.ids[run.read]
                run.read += 1  # read even when it fails: a refusal is a reply
                self._flight -= 1
                reply = self._receive(name, number, in_flight=self._flight > 0)
                if run.read == 1:
                    self.current_run = run.run
                yield reply.observed
        finally:
            self._settle(run)

    def _take(self, queues: int, limited: bool, events: Sequence[tuple[str, dict]]) -> _Run:
        """The announced run, if it is the one asked for (the announced runs
        before it were skipped by the caller: their replies are read and
        they are dropped); else a new one (after reading the replies to what
        was sent ahead, to send it again)."""
        self._drop_unwanted()
        if not self._ahead and self._upcoming is not None:
            self._pull()
        wanted = (queues, limited, events)
        found = next((i for i, run in enumerate(self._ahead) if (run.queues, run.limited, run.events) == wanted), None)
        if found is not None:
            for _ in range(found):
                self._settle(self._ahead.popleft())
            return self._ahead.popleft()
        self._settle_ahead()
        return _Run(queues, limited, events)

    def _drop_unwanted(self) -> None:
        """Forget the announced runs the caller no longer wants (reading the
        replies to what was sent of them)."""
        if self._keep is None or not self._ahead:
            return
        kept: deque[_Run] = deque()
        for run in self._ahead:
            if self._keep(run.limited, run.events):
                kept.append(run)
            else:
                self._settle(run)
        self._ahead = kept

    def _pull(self) -> bool:
        while self._upcoming is not None:
            nxt = next(self._upcoming, None)
            if nxt is None:
                self._upcoming = None
                return False
            if self._keep is None or self._keep(nxt[1], nxt[2]):
                self._ahead.append(_Run(*nxt))
                return True
        return False

    def _fill(self, current: _Run) -> None:
        """Send requests until :data:`WINDOW` are in flight: the current run's,
        then the announced runs', in order, in one write. A child found gone
        while requests are in flight is blamed on the first of them that
        gets no reply, not on the request that could not be sent."""
        if self._broken:
            return
        batch = []
        runs = iter([current, *self._ahead])
        run = next(runs)
        while self._flight < WINDOW:
            if len(run.ids) == run.total:
                run = next(runs, None)
                if run is None:
                    if not self._pull():
                        break
                    run = self._ahead[-1]
                continue
            step = len(run.ids)
            if step == 0:
                self.runs += 1
                run.run = self.runs
            name, args = run.events[step - 1] if step else ("start", {})
            number = self._number(name, run.run, step)
            run.ids.append((number, name))
            batch.append(
                protocol.start(run.queues, run.limited, number, self._env())
                if step == 0
                else protocol.event(name, args, number)
            )
            self._flight += 1
        if batch:
            batch_what = "start" if current.read == 0 else current.ids[current.read][1]
            earlier = self._flight - len(batch)  # requests sent before this batch, not answered yet
            try:
                self.proc.stdin.write(b"".join(batch))
            except (BrokenPipeError, OSError):
                if not earlier:
                    self._fail("crash", f"the implementation exited before the {batch_what} request")
                # it exited while answering an earlier request: the replies read next say which
                self._broken = True

    def _settle(self, run: _Run) -> None:
        """Read the replies to a run's requests that were sent but are no
        longer wanted (its unsent ones are dropped)."""
        while run.read < len(run.ids) and self.proc is not None:
            number, name = run.ids[run.read]
            run.read += 1
            self._flight -= 1
            try:
                self._receive(name, number, refuse_ok=True, in_flight=self._flight > 0)
            except StrayReply as stray:  # a late reply to an earlier run: that run's failure
                self.strays.append(stray)
                return
            except ImplementationFailure:
                return  # the child is killed: the caller has its verdict already

    def _settle_ahead(self) -> None:
        """Read the replies to what was sent ahead; those runs are sent again when asked for."""
        for run in self._ahead:
            self._settle(run)
            run.ids, run.read, run.run = [], 0, 0

    def close(self) -> None:
        """Say quit, wait for the child to exit (reading what it still
        writes: anything is a stray, kept in ``strays``), end its group."""
        self._settle_ahead()
        self._ahead.clear()
        self._upcoming = None
        self._keep = None
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.stdin.write(protocol.quit_request())
                proc.stdin.close()
            deadline = time.monotonic() + CLOSE_SECONDS
            late = self._drain(deadline)
            answered = self._answered(late.split(b"\n", 1)[0]) if late else None
            where = self._where(answered if answered is not None else self._last) if late else None
            if where is not None:
                shown = late[:80].decode("utf-8", "replace")
                self.strays.append(StrayReply(f"output after the last reply, until quit: {shown!r}", *where))
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        self._kill()

    def _drain(self, deadline: float) -> bytes:
        """What the child writes before it closes stdout (or the deadline)."""
        assert self.proc is not None and self.selector is not None
        data, fd = self.buffer, self.proc.stdout.fileno()
        self.buffer = b""
        while len(data) < STDERR_TAIL:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
        return data


def _versions() -> tuple[int, ...]:
    return protocol.VERSIONS


@dataclass(eq=False)
class _Run:
    """One run in a pipelined stream: its requests sent so far (``ids``:
    (number, name)) and how many replies were read."""

    queues: int
    limited: bool
    events: Sequence[tuple[str, dict]]
    ids: list[tuple[int, str]] = field(default_factory=list)
    read: int = 0
    run: int = 0  # the implementation's number for it, once its start is sent

    @property
    def total(self) -> int:
        return len(self.events) + 1
