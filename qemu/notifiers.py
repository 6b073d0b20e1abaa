"""Which ioeventfd each notify register has, and whose, replayed from trace records.

QEMU's trace says that KVM was asked to register an eventfd for an address
(and a datamatch value: the queue index of the legacy notify register),
not for whom. Ownership is read from the order QEMU writes things in: vhost
takes a device's notifiers in one memory transaction
(``vhost_dev_enable_notifiers``) and then traces ``vhost_dev_start``, with
no other traced event in between; every other registration is QEMU's own
(``virtio_bus_set_host_notifier`` from ``virtio_device_start_ioeventfd_impl``).
A deregistration names the eventfd, whose owner is then known.

The start-up probe (``kvm_check_many_ioeventfds``: 7 eventfds registered at
port 0 and removed again, QEMU's test that KVM allows "many ioeventfds")
is not a device's: it is counted apart (:attr:`Notifiers.probe`) and
tells whether the host is limited (fewer than 7 accepted).

>>> from .tracelog import parse_line
>>> n = Notifiers({("pio", 0xC010, 0): 0})
>>> for line in ["kvm_set_ioeventfd_pio fd: 9 @0x0 val=0x0 assign: 1 size: 2 match: 1",
...              "virtio_set_status vdev 0x1 val 7",
...              "kvm_set_ioeventfd_pio fd: 20 @0xc010 val=0x0 assign: 1 size: 2 match: 1",
...              "virtio_queue_notify vdev 0x1 n 0 vq 0x2"]:
...     n.feed(parse_line(line))
>>> n.flush(); n.probe, n.our_fd(0), n.vhost_fd(0), n.status, n.runs
(1, True, False, 7, [(4, 0)])
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .tracelog import Ioeventfd, QueueNotify, Record, SetStatus, Vhost, VmState

US, VHOST = "us", "vhost"
PROBE_COUNT = 7  # kvm_check_many_ioeventfds' array of eventfds


@dataclass
class Registration:
    fd: int
    owner: str


@dataclass
class Notifiers:
    """The state the records leave, for the queues ``queue_of`` maps a notify
    register to (``(space, address, datamatch or None) -> queue``)."""

    queue_of: dict[tuple[str, int, int | None], int]
    registered: dict[tuple[str, int, int | None], Registration] = field(default_factory=dict)
    probe: int = 0  # probe registrations accepted
    probing: bool = True  # still in the start-up probe (only port-0 records so far)
    status: int | None = None
    running: bool | None = None
    vhost_on: bool = False
    vhost_starts: int = 0
    runs: list[tuple[int, int]] = field(default_factory=list)  # (record number, queue) of handler calls
    unknown: int = 0  # registrations for registers not mapped to a queue
    count: int = 0  # records fed
    _undecided: list[tuple[tuple, int]] = field(default_factory=list)  # registrations whose owner the next record tells

    def feed(self, record: Record) -> None:
        self.count += 1
        if isinstance(record, Ioeventfd):
            self._ioeventfd(record)
            return
        self.probing = False
        self._decide(VHOST if isinstance(record, Vhost) and record.start else US)
        if isinstance(record, SetStatus):
            self.status = record.value
        elif isinstance(record, QueueNotify):
            self.runs.append((self.count, record.n))
        elif isinstance(record, Vhost):
            self.vhost_on = record.start
            self.vhost_starts += record.start
        elif isinstance(record, VmState):
            self.running = record.running

    def flush(self) -> None:
        """The end of a step: registrations still undecided are QEMU's own."""
        self._decide(US)

    def _ioeventfd(self, r: Ioeventfd) -> None:
        if r.space == "pio" and r.addr == 0 and self.probing:
            self.probe += r.assign
            return
        self.probing = False
        key = r.notify
        if key not in self.queue_of:
            self.unknown += 1
            return
        if r.assign:
            self.registered[key] = Registration(r.fd, US)
            self._undecided.append((key, r.fd))
        else:
            self.registered.pop(key, None)
            self._undecided = [(k, fd) for k, fd in self._undecided if k != key]

    def _decide(self, owner: str) -> None:
        for key, fd in self._undecided:
            reg = self.registered.get(key)
            if reg is not None and reg.fd == fd:
                reg.owner = owner
        self._undecided = []

    # -- per queue --------------------------------------------------------------
    def _owners(self, queue: int) -> set[str]:
        return {reg.owner for key, reg in self.registered.items() if self.queue_of[key] == queue}

    def our_fd(self, queue: int, *, undecided: bool = True) -> bool:
        """An ioeventfd of ours is registered for ``queue`` (``undecided``: counting
        one whose owner the next record will tell, as QEMU's until then)."""
        if not undecided:
            pending = {key for key, _ in self._undecided}
            return any(
                reg.owner == US and key not in pending
                for key, reg in self.registered.items()
                if self.queue_of[key] == queue
            )
        return US in self._owners(queue)

    def vhost_fd(self, queue: int) -> bool:
        return VHOST in self._owners(queue)

    @property
    def limited(self) -> bool | None:
        """Whether the probe found a limited host (None: no probe in the log)."""
        return None if self.probe == 0 and self.probing else self.probe < PROBE_COUNT

    def runs_after(self, queue: int, position: int) -> int:
        """Handler calls of ``queue`` recorded after record number ``position``."""
        return sum(1 for at, q in self.runs if q == queue and at > position)
