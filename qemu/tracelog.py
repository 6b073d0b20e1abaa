"""QEMU's trace log (``-trace EVENT -D FILE``, the ``log`` backend) read as records.

One record per line of the events this project reads; any other line
(another trace event, a message of QEMU's) is skipped. A line of one of
these events that does not parse is bad input, located by file and line.
The ``log`` backend may prefix a line with ``PID@SECONDS.MICROS:``.

>>> parse_line("kvm_set_ioeventfd_pio fd: 20 @0xc010 val=0x1 assign: 1 size: 2 match: 1")
Ioeventfd(space='pio', fd=20, addr=49168, value=1, assign=True, size=2, match=True)
>>> parse_line("12@1.5:virtio_set_status vdev 0x55d0 val 7")
SetStatus(vdev='0x55d0', value=7)
>>> parse_line("qemu-system-x86_64: warning: something") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import LogError

# The -trace arguments QEMU needs for everything here (README.md).
EVENTS = (
    "kvm_set_ioeventfd_pio",
    "kvm_set_ioeventfd_mmio",
    "virtio_set_status",
    "virtio_queue_notify",
    "vhost_dev_start",
    "vhost_dev_stop",
    "vm_state_notify",
)


@dataclass(frozen=True, slots=True)
class Ioeventfd:
    """KVM was asked to (de)register an ioeventfd: ``kvm_set_ioeventfd_pio/mmio``."""

    space: str  # pio or mmio
    fd: int
    addr: int
    value: int
    assign: bool
    size: int
    match: bool

    @property
    def notify(self) -> tuple[str, int, int | None]:
        """The notify register it listens to: (space, address, datamatch or None)."""
        return (self.space, self.addr, self.value if self.match else None)


@dataclass(frozen=True, slots=True)
class SetStatus:
    """``virtio_set_status``: the device's status became ``value``."""

    vdev: str
    value: int


@dataclass(frozen=True, slots=True)
class QueueNotify:
    """``virtio_queue_notify``: queue ``n``'s handler was called (a pio kick, or its eventfd read)."""

    vdev: str
    n: int


@dataclass(frozen=True, slots=True)
class Vhost:
    """``vhost_dev_start`` (``start``) or ``vhost_dev_stop`` of the vhost device ``dev``."""

    start: bool
    dev: str
    name: str


@dataclass(frozen=True, slots=True)
class VmState:
    """``vm_state_notify``: the VM runs (``running``) or stopped, and why."""

    running: bool
    reason: str


Record = Ioeventfd | SetStatus | QueueNotify | Vhost | VmState

_PREFIX = re.compile(r"^(?:\d+@\d+\.\d+:)?(?P<name>[a-z_0-9]+) ?(?P<rest>.*)$")
_NUM = r"(-?\d+)"
_HEX = r"0x([0-9a-fA-F]+)"
_PTR = r"(\S+)"
_FORMATS = {
    "kvm_set_ioeventfd_pio": re.compile(rf"^fd: {_NUM} @{_HEX} val={_HEX} assign: ([01]) size: {_NUM} match: ([01])$"),
    "kvm_set_ioeventfd_mmio": re.compile(rf"^fd: {_NUM} @{_HEX} val={_HEX} assign: ([01]) size: {_NUM} match: ([01])$"),
    "virtio_set_status": re.compile(rf"^vdev {_PTR} val {_NUM}$"),
    "virtio_queue_notify": re.compile(rf"^vdev {_PTR} n {_NUM} vq {_PTR}$"),
    "vhost_dev_start": re.compile(r"^(\S+?):(.*) vrings:([01])$"),
    "vhost_dev_stop": re.compile(r"^(\S+?):(.*) vrings:([01])$"),
    "vm_state_notify": re.compile(rf"^running ([01]) reason {_NUM} \((.*)\)$"),
}
_EXPECTED = {
    "kvm_set_ioeventfd_pio": "fd: N @0xADDR val=0xV assign: 0|1 size: N match: 0|1",
    "kvm_set_ioeventfd_mmio": "fd: N @0xADDR val=0xV assign: 0|1 size: N match: 0|1",
    "virtio_set_status": "vdev PTR val N",
    "virtio_queue_notify": "vdev PTR n N vq PTR",
    "vhost_dev_start": "PTR:NAME vrings:0|1",
    "vhost_dev_stop": "PTR:NAME vrings:0|1",
    "vm_state_notify": "running 0|1 reason N (NAME)",
}


def parse_line(line: str, *, file: str = "<log>", number: int = 0) -> Record | None:
    """The record of one line, None for a line this project does not read;
    :class:`LogError` for a line of one of :data:`EVENTS` that does not parse."""
    head = _PREFIX.match(line.strip())
    if head is None or head["name"] not in _FORMATS:
        return None
    name, rest = head["name"], head["rest"]
    m = _FORMATS[name].match(rest)
    if m is None:
        raise LogError(f"expected `{name} {_EXPECTED[name]}`, found {rest[:80]!r}", file=file, line=number, field=name)
    g = m.groups()
    if name.startswith("kvm_set_ioeventfd"):
        return Ioeventfd(
            "pio" if name.endswith("pio") else "mmio",
            int(g[0]),
            int(g[1], 16),
            int(g[2], 16),
            g[3] == "1",
            int(g[4]),
            g[5] == "1",
        )
    if name == "virtio_set_status":
        return SetStatus(g[0], int(g[1]))
    if name == "virtio_queue_notify":
        return QueueNotify(g[0], int(g[1]))
    if name.startswith("vhost_dev"):
        return Vhost(name == "vhost_dev_start", g[0], g[1])
    return VmState(g[0] == "1", g[2])


class LogTail:
    """A growing log file read a line at a time as QEMU writes it: ``read()``
    returns the records of the whole lines written since the last call."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.partial = b""
        self.number = 0

    def read(self) -> list[tuple[int, Record]]:
        data = self.file.read()
        if not data:
            return []
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        found = []
        for raw in lines:
            self.number += 1
            record = parse_line(raw.decode("utf-8", "replace"), file=self.path, number=self.number)
            if record is not None:
                found.append((self.number, record))
        return found

    def close(self) -> None:
        self.file.close()
