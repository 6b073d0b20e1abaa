"""The guest's virtio-pci driver, register by register, from the host.

qboot leaves PCI BARs unassigned, so the host assigns them through the
configuration mechanism (address at port 0xCF8, data at 0xCFC) and turns
on I/O space, memory space and bus mastering. Then:

- :class:`Legacy` (virtio 0.9, ``disable-modern=on``): BAR 0 is I/O; queue
  PFN at +8, queue size +12, queue select +14, queue notify +16 (the kick
  writes the queue's index), status +18.
- :class:`Modern` (virtio 1.0, ``disable-legacy=on``): the vendor
  capabilities in configuration space say where, in which BAR, the common
  configuration and the notify area are; a queue's notify address is the
  notify area plus its ``queue_notify_off`` times the capability's
  multiplier, written over MMIO.

Every queue's ring sits in guest memory that stays zero, so a handler that
runs finds no request: QEMU's handler runs (and is traced), and nothing else
happens.
"""

from __future__ import annotations

from .devices import SLOT, Device
from .guestio import Command, Guest

CONFIG_ADDRESS, CONFIG_DATA = 0xCF8, 0xCFC
VIRTIO_VENDOR = 0x1AF4
IO_BASE = 0xC000
MMIO_BASE = 0xFE000000
RING_BASE, RING_STRIDE = 0x200000, 0x4000
ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK = 1, 2, 4, 8

NotifyKey = tuple[str, int, int | None]


def config_read(guest: Guest, reg: int, bus_slot: int = SLOT) -> int:
    address = 0x80000000 | (bus_slot << 11) | (reg & 0xFC)
    return guest.batch([(b"O", 4, CONFIG_ADDRESS, address), (b"I", 4, CONFIG_DATA, 0)])[1]


def config_write(guest: Guest, reg: int, value: int, bus_slot: int = SLOT) -> None:
    address = 0x80000000 | (bus_slot << 11) | (reg & 0xFC)
    guest.batch([(b"O", 4, CONFIG_ADDRESS, address), (b"O", 4, CONFIG_DATA, value)])


class Transport:
    """What the implementation asks of a transport."""

    notify_keys: dict[NotifyKey, int]
    queues: int

    def __init__(self, device: Device) -> None:
        self.queues = device.queues
        self.notify_keys = {}

    def setup(self, guest: Guest) -> None:
        """Assign the BARs, enable the device on the bus, find its registers."""
        ident = config_read(guest, 0)
        if ident & 0xFFFF != VIRTIO_VENDOR:
            raise ValueError(f"no virtio device in slot {SLOT}: vendor/device id {ident:#010x}")

    def write_status(self, guest: Guest, value: int) -> None:
        guest.batch([self.status_command(value)])

    def status_command(self, value: int) -> Command:
        """The guest's write of ``value`` to the status register."""
        raise NotImplementedError

    def features_commands(self) -> list[Command]:
        """The writes that accept the features a driver must (VERSION_1 for a modern device)."""
        return []

    def rings(self, guest: Guest) -> None:
        """Give every queue a ring (a reset forgets them)."""
        raise NotImplementedError

    def kick(self, guest: Guest, queue: int) -> None:
        raise NotImplementedError


class Legacy(Transport):
    def setup(self, guest: Guest) -> None:
        super().setup(guest)
        config_write(guest, 0x10, IO_BASE)
        config_write(guest, 0x04, 0x7)
        self.notify_keys = {("pio", IO_BASE + 16, q): q for q in range(self.queues)}

    def status_command(self, value: int) -> Command:
        return (b"O", 1, IO_BASE + 18, value)

    def rings(self, guest: Guest) -> None:
        commands = []
        for q in range(self.queues):
            # A PFN of 0 would reset the device (virtio_ioport_write): the ring's never is.
            commands += [(b"O", 2, IO_BASE + 14, q), (b"O", 4, IO_BASE + 8, (RING_BASE + q * RING_STRIDE) >> 12)]
        guest.batch(commands)

    def kick(self, guest: Guest, queue: int) -> None:
        guest.out(2, IO_BASE + 16, queue)


class Modern(Transport):
    COMMON, NOTIFY = 1, 2

    def setup(self, guest: Guest) -> None:
        super().setup(guest)
        bar_low = config_read(guest, 0x20)
        config_write(guest, 0x20, MMIO_BASE | (bar_low & 0xF))
        config_write(guest, 0x24, 0)
        config_write(guest, 0x04, 0x7)
        found: dict[int, tuple[int, int]] = {}
        pointer = config_read(guest, 0x34) & 0xFF
        while pointer:
            head = config_read(guest, pointer)
            kind = (head >> 24) & 0xFF
            if head & 0xFF == 0x09 and kind in (self.COMMON, self.NOTIFY):  # a virtio capability we use
                bar = config_read(guest, pointer + 4) & 0xFF
                offset = config_read(guest, pointer + 8)
                if bar != 4:
                    raise ValueError(f"a virtio capability in BAR {bar}; this driver maps BAR 4 only")
                multiplier = config_read(guest, pointer + 16) if kind == self.NOTIFY else 0
                found.setdefault(kind, (MMIO_BASE + offset, multiplier))
            pointer = (head >> 8) & 0xFC
        if self.COMMON not in found or self.NOTIFY not in found:
            raise ValueError("the device has no common or notify capability")
        self.common = found[self.COMMON][0]
        notify, multiplier = found[self.NOTIFY]
        self.notify_at = {}
        for q in range(self.queues):
            guest.write(2, self.common + 0x16, q)
            offset = guest.read(2, self.common + 0x1E)
            self.notify_at[q] = notify + offset * multiplier
        self.notify_keys = {("mmio", address, None): q for q, address in self.notify_at.items()}

    def status_command(self, value: int) -> Command:
        return (b"W", 1, self.common + 0x14, value)

    def features_commands(self) -> list[Command]:
        c = self.common
        return [(b"W", 4, c + 0x08, 1), (b"W", 4, c + 0x0C, 1), (b"W", 4, c + 0x08, 0), (b"W", 4, c + 0x0C, 0)]

    def rings(self, guest: Guest) -> None:
        c = self.common
        if not hasattr(self, "sizes"):  # the device's queue sizes, read once (a reset keeps them)
            self.sizes = []
            for q in range(self.queues):
                guest.write(2, c + 0x16, q)
                self.sizes.append(guest.read(2, c + 0x18))
        commands = []
        for q, size in enumerate(self.sizes):
            ring = RING_BASE + q * RING_STRIDE
            commands.extend(
                [
                    (b"W", 2, c + 0x16, q),
                    (b"W", 2, c + 0x18, size),
                    (b"W", 4, c + 0x20, ring),
                    (b"W", 4, c + 0x24, 0),
                    (b"W", 4, c + 0x28, ring + 0x1000),
                    (b"W", 4, c + 0x2C, 0),
                    (b"W", 4, c + 0x30, ring + 0x2000),
                    (b"W", 4, c + 0x34, 0),
                    (b"W", 2, c + 0x1C, 1),
                ]
            )
        guest.batch(commands)

    def kick(self, guest: Guest, queue: int) -> None:
        guest.write(2, self.notify_at[queue], queue)


def transport(device: Device) -> Transport:
    return (Modern if device.modern else Legacy)(device)
