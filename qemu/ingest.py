"""A QEMU trace log turned into the oracle's trace (``spec/TRACE.md``):
``virtio-notifier-spec oracle ingest LOG``.

The log is what QEMU writes with ``-trace`` for each of
:data:`~.tracelog.EVENTS` and ``-D LOG``, from any VM (README.md gives the
command line). One virtio device is read (``device``: its notify register,
when the log has several). Records are grouped into the table's events:

- ``virtio_set_status`` written by the guest: ``set_status`` (value 0 twice
  in a row, the write and the reset it causes, is one event; in a stopped
  VM, where no guest runs, it is ``reset``);
- ``vm_state_notify``: ``vm_stop`` / ``vm_run`` (the status QEMU writes
  again on the way, and what it registers, belong to it; the first start
  of the VM is its boot, not an event);
- ``vhost_dev_start`` / ``vhost_dev_stop``: ``vhost_start`` / ``vhost_stop``;
  a stop inside a status write, a reset or a VM stop is written first (QEMU
  traces ``vhost_dev_stop`` after the deregistrations it made, which the
  write's own records cannot be told from; the ``qemu`` environment lets
  vhost stop alone before the write, and QEMU's own order, the write first,
  too);
- ``virtio_queue_notify`` of a queue without an ioeventfd: a ``kick`` (the
  synchronous port-I/O path); of a queue with one of ours: its handler read
  a kick that KVM signalled (invisible in QEMU's trace), so ``kick`` then
  ``handle``; right after QEMU registered that queue's ioeventfd, or inside
  a drain: part of that event (QEMU's own signal, not a guest's kick).

Each event carries what the records after it show: ``status``,
``running``, ``vhost_on``, and per queue ``state``, ``our_fd``,
``vhost_fd`` (:mod:`.notifiers`), with ``handled`` for a kick or handle;
the header's ``limited`` comes from the start-up probe (``limited``
overrides it: a vhost-user device's proxy never registers QEMU's own
ioeventfds, as on a limited host, and is checked with ``limited`` true). Not in QEMU's
trace, so never in the output: ``load`` (a migration destination's log
begins with its device already loaded: ingest logs of VMs booted, not
loaded), eventfd kicks that no handler read, ``handler``.

>>> lines = ["kvm_set_ioeventfd_pio fd: 9 @0x0 val=0x0 assign: 1 size: 2 match: 1",
...          "vm_state_notify running 1 reason 9 (running)",
...          "virtio_set_status vdev 0x1 val 7",
...          "kvm_set_ioeventfd_pio fd: 20 @0xc010 val=0x0 assign: 1 size: 2 match: 1",
...          "virtio_queue_notify vdev 0x1 n 0 vq 0x2",
...          "virtio_queue_notify vdev 0x1 n 0 vq 0x2"]
>>> out = ingest(lines, "x.log")
>>> [r.get("event") for r in out[1:]]
['set_status', 'kick', 'handle']
>>> out[0]["queues"], out[1]["observed"]["queues"][0]["state"]
(1, 'assigned')
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import LogError
from .notifiers import Notifiers
from .tracelog import Ioeventfd, QueueNotify, Record, SetStatus, Vhost, VmState, parse_line

MMIO_MULTIPLIER = 4  # QEMU's notify_off_multiplier for a modern device (no page-per-vq)


def _status(byte: int) -> str:
    return "zero" if byte == 0 else "driver_ok" if byte & 4 else "driver"


def _registers(records: list[tuple[int, Record]]) -> dict[tuple[str, int], set[tuple[int, int | None]]]:
    """Notify registers by device: pio (address) with datamatch, or mmio (4 KiB page) with addresses."""
    found: dict[tuple[str, int], set] = {}
    probing = True
    for _, r in records:
        if isinstance(r, Ioeventfd):
            if probing and r.space == "pio" and r.addr == 0:
                continue
            key = (r.space, r.addr) if r.space == "pio" else (r.space, r.addr & ~0xFFF)
            found.setdefault(key, set()).add((r.addr, r.value if r.match else None))
        probing = False
    return found


def _queue_map(space: str, registers: set) -> dict[tuple[str, int, int | None], int]:
    if space == "pio":
        return {(space, addr, match): match for addr, match in registers if match is not None}
    base = min(addr for addr, _ in registers)
    return {(space, addr, None): (addr - base) // MMIO_MULTIPLIER for addr, _ in registers}


def ingest(
    lines: Iterable[str],
    file: str,
    *,
    device: str | None = None,
    queues: int | None = None,
    limited: bool | None = None,
) -> list[dict]:
    """The trace's lines (header first) as JSON objects; :class:`LogError` for a log that cannot be one."""
    records = []
    for number, line in enumerate(lines, 1):
        record = parse_line(line, file=file, number=number)
        if record is not None:
            records.append((number, record))
    if not records:
        raise LogError(
            f"no line of the trace events {', '.join(('virtio_set_status', 'kvm_set_ioeventfd_pio'))}, ...: "
            "was QEMU started with -trace for each and -D (README.md)?",
            file=file,
        )
    groups = _registers(records)
    if not groups:
        raise LogError(
            "no virtio device registered a notify ioeventfd (was KVM on, and did a driver reach DRIVER_OK?)", file=file
        )
    if device is None:
        if len(groups) > 1:
            names = ", ".join(f"{s}:{a:#x}" for s, a in sorted(groups))
            raise LogError(
                f"the log has {len(groups)} devices' notify registers ({names}): choose one",
                field="--device",
                file=file,
            )
        key = next(iter(groups))
    else:
        space, _, text = device.partition(":")
        try:
            key = (space, int(text, 0))
        except ValueError:
            key = ("", -1)
        if key not in groups:
            names = ", ".join(f"{s}:{a:#x}" for s, a in sorted(groups))
            raise LogError(f"expected one of {names}, found {device!r}", field="--device", file=file)
    queue_of = _queue_map(key[0], groups[key])
    count = queues or max(queue_of.values()) + 1
    return _Builder(queue_of, count, file, limited).run(records)


class _Builder:
    def __init__(self, queue_of, queues: int, file: str, limited: bool | None = None) -> None:
        self.limited = limited
        self.n = Notifiers(queue_of)
        self.queues = queues
        self.file = file
        self.out: list[dict] = []
        self.vdev: str | None = None
        self.booted = False
        self.absorbing = False  # records after an event's head belong to it
        self.fresh: set[int] = set()  # queues whose ours QEMU registered in the current event
        self.held: list[Record] = []
        self.drainable: set[int] = set()  # queues whose held removal may be followed by its drain
        self.status_echo: int | None = None

    def run(self, records: list[tuple[int, Record]]) -> list[dict]:
        for number, r in records:
            self.step(number, r)
        self._release()
        self.n.flush()
        self._observe_last()
        header = {
            "format": "virtio-notifier-trace",
            "version": 1,
            "variant": "resolved",
            "queues": self.queues,
            "limited": bool(self.n.limited) if self.limited is None else self.limited,
            "implementation": f"QEMU trace log {self.file}",
        }
        return [header, *self.out]

    def _emit(self, event: str, args: dict | None = None, number: int = 0, *, vhost_takes: bool = False) -> None:
        self._observe_last(vhost_takes)
        self.out.append({"event": event, "args": args or {}, "meta": {"line": number}})
        self.fresh = set()
        self._release()

    def _observe_last(self, vhost_takes: bool = False) -> None:
        """The observation after the last event; ``vhost_takes``: registrations whose
        owner is not yet known are vhost's, of the event coming (not of this one)."""
        if not self.out:
            return
        n = self.n  # registrations whose owner is not yet known count as ours, as QEMU's do until vhost takes them
        queues = []
        for q in range(self.queues):
            ours, vhosts = n.our_fd(q, undecided=not vhost_takes), n.vhost_fd(q)
            queues.append(
                {
                    "state": "offlimits" if vhosts else "assigned" if ours else "deassigned",
                    "our_fd": ours,
                    "vhost_fd": vhosts,
                }
            )
        last = self.out[-1]
        handled = last.pop("_handled", None)
        if handled is not None:
            queues[handled]["handled"] = True
            queues[handled]["pending"] = False
        device = {"status": _status(n.status or 0), "vhost_on": n.vhost_on}
        if n.running is not None:
            device["running"] = n.running
        last["observed"] = {"device": device, "queues": queues}

    def step(self, number: int, r: Record) -> None:
        # A status write (or a reset) stops our ioeventfds, and drains them, before
        # QEMU traces the status: those records wait for the next one to say whose.
        if isinstance(r, Ioeventfd) and not r.assign and r.notify in self.n.queue_of:
            self.held.append(r)
            self.drainable.add(self.n.queue_of[r.notify])
            return
        if isinstance(r, QueueNotify) and r.n in self.drainable:  # the drain that follows a removal
            self.held.append(r)
            self.drainable.discard(r.n)
            return
        if not (isinstance(r, SetStatus) and self._starts_event(r)):
            self._release()
        self._step(number, r)

    def _release(self) -> None:
        self.drainable = set()
        for held in self.held:
            self.n.feed(held)
            if isinstance(held, Ioeventfd):
                self.fresh.add(self.n.queue_of[held.notify])
            else:
                self.fresh.discard(held.n)
        self.held = []

    def _starts_event(self, r: SetStatus) -> bool:
        if self.vdev is not None and r.vdev != self.vdev:
            return False
        if self.absorbing and r.value == self.status_echo:
            return False
        return self.booted

    def _step(self, number: int, r: Record) -> None:
        n = self.n
        if isinstance(r, Ioeventfd):
            n.feed(r)
            if r.notify in n.queue_of:  # QEMU's own signal of a new one
                self.fresh.add(n.queue_of[r.notify])
            return
        if isinstance(r, (SetStatus, QueueNotify)):
            if self.vdev is None:
                self.vdev = r.vdev
            elif r.vdev != self.vdev:
                return  # another device's
        if isinstance(r, VmState):
            if not self.booted and r.running:
                self.booted = True
                n.feed(r)
                return
            self.booted = True
            if r.running == n.running:
                n.feed(r)
                return
            self._emit("vm_run" if r.running else "vm_stop", {"assign_ok": True} if r.running else {}, number)
            n.feed(r)
            self.absorbing = True
            self.status_echo = n.status
            return
        if isinstance(r, SetStatus):
            if self.absorbing and r.value == self.status_echo:
                n.feed(r)
                return
            if (
                self.out
                and self.out[-1]["event"] in ("set_status", "reset")
                and r.value == 0
                and n.status == 0
                and self.out[-1].get("_zero")
            ):
                n.feed(r)  # the reset a guest's 0 causes
                self.out[-1]["_zero"] = False
                return
            if not self.booted:
                n.feed(r)  # QEMU resets its devices as it creates the machine
                return
            if n.running is False:
                self._emit("reset", {}, number)
            else:
                self._emit("set_status", {"value": _status(r.value), "assign_ok": True}, number)
            n.feed(r)
            self.out[-1]["_zero"] = r.value == 0
            self.absorbing = True
            self.status_echo = None
            return
        if isinstance(r, Vhost):
            if r.start:
                self._emit("vhost_start", {"assign_ok": True}, number, vhost_takes=True)
                n.feed(r)
                self.absorbing = True
                return
            # a stop inside a status write, a reset or a VM stop is written first: QEMU traces vhost_dev_stop
            # after the deregistrations it made, which follow the write's record; the qemu environment
            # also lets vhost stop alone before the write
            if self.out and self.out[-1]["event"] in ("set_status", "vm_stop", "reset") and self.absorbing:
                head = self.out.pop()
                self.out.append({"event": "vhost_stop", "args": {"assign_ok": True}, "meta": {"line": number}})
                self.out.append(head)
            else:  # the backend went away: a stop of its own
                self._emit("vhost_stop", {"assign_ok": True}, number)
                self.absorbing = True
            n.feed(r)
            return
        if isinstance(r, QueueNotify):
            q = r.n
            if q >= self.queues:
                raise LogError(
                    f"queue {q} is out of range: the device has {self.queues} queue(s)",
                    file=self.file,
                    line=number,
                    field="virtio_queue_notify",
                )
            if q in self.fresh:
                n.feed(r)
                self.fresh.discard(q)
                return
            n.flush()
            if n.our_fd(q):
                self._emit("kick", {"queue": q}, number)
                self.out[-1]["_kick"] = q
                self._emit("handle", {"queue": q}, number)
            else:
                self._emit("kick", {"queue": q}, number)
            self.out[-1]["_handled"] = q
            n.feed(r)
            self.absorbing = False


def clean(records: list[dict]) -> list[dict]:
    """The records without the builder's private fields."""
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in records]
