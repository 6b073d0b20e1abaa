"""The devices a real QEMU is judged on, and how each is put on its command line.

- ``blk-legacy-N`` (N = 1, 2, 4): virtio-blk-pci ``disable-modern=on,num-queues=N``
  on a ``null-co`` drive; notify by port I/O, the legacy register (+16), datamatch
  the queue's index; no vhost.
- ``blk-modern-N`` (N = 1, 2): virtio-blk-pci ``disable-legacy=on``; notify by
  MMIO at the virtio 1.0 notify capability; no vhost.
- ``fs``: vhost-user-fs-pci ``num-request-queues=1`` (2 queues) with virtiofsd;
  MMIO notify; vhost serves both queues.
- ``vub``: vhost-user-blk-pci ``num-queues=2`` with qemu-storage-daemon's
  vhost-user-blk export on a ``null-co`` node, the chardev with ``reconnect=1``:
  killing the daemon is a backend disconnect (QEMU stops vhost), starting it
  again a reconnection (QEMU starts vhost again).

>>> device("blk-legacy-4").queues, device("fs").vhost
(4, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from virtio_notifier_spec.spec.errors import SpecError

SLOT = 4  # the device's PCI slot on bus 0 (addr=4)


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    modern: bool  # virtio 1.0 capabilities and MMIO notify (else the legacy I/O BAR)
    queues: int
    vhost: bool  # a vhost-user backend serves every queue
    backend: str = ""  # virtiofsd or qemu-storage-daemon (vhost devices)
    ioeventfd: bool = True  # the proxy's ioeventfd property (off: QEMU never assigns its own)
    skip_driver_ok: bool = False  # a faulty guest that never writes DRIVER_OK (for the checks' own tests)

    def args(self, socket_path: str | None = None) -> list[str]:
        """The ``-device`` (and backend) arguments."""
        if self.backend == "qemu-storage-daemon":
            return [
                "-object",
                "memory-backend-memfd,id=mem,size=16M,share=on",
                "-numa",
                "node,memdev=mem",
                "-chardev",
                f"socket,id=vu0,path={socket_path},reconnect=1",
                "-device",
                f"vhost-user-blk-pci,id=dev0,chardev=vu0,num-queues={self.queues},disable-legacy=on,addr={SLOT}",
            ]
        if self.vhost:  # vhost-user-fs-pci has no ioeventfd property
            return [
                "-object",
                "memory-backend-memfd,id=mem,size=16M,share=on",
                "-numa",
                "node,memdev=mem",
                "-chardev",
                f"socket,id=vu0,path={socket_path}",
                "-device",
                f"vhost-user-fs-pci,id=dev0,chardev=vu0,tag=fs,num-request-queues={self.queues - 1},addr={SLOT}",
            ]
        common = f"addr={SLOT},ioeventfd={'on' if self.ioeventfd else 'off'}"
        mode = "disable-legacy=on,disable-modern=off" if self.modern else "disable-modern=on"
        return [
            "-drive",
            "if=none,id=d0,driver=null-co",
            "-device",
            f"virtio-blk-pci,id=dev0,drive=d0,{mode},num-queues={self.queues},{common}",
        ]

    @property
    def reconnects(self) -> bool:
        """Whether QEMU stops vhost when the backend goes and starts it when it comes back."""
        return self.backend == "qemu-storage-daemon"

    @property
    def described(self) -> str:
        if self.reconnects:
            return f"vhost-user-blk-pci ({self.queues} queues, qemu-storage-daemon, reconnecting), MMIO notify"
        if self.vhost:
            return f"vhost-user-fs-pci ({self.queues} queues, virtiofsd), MMIO notify"
        kind = "modern virtio-blk-pci, MMIO notify" if self.modern else "legacy virtio-blk-pci, port-I/O notify"
        return f"{kind}, {self.queues} queue(s)"


DEVICES = {
    **{f"blk-legacy-{n}": Device(f"blk-legacy-{n}", False, n, False) for n in (1, 2, 4)},
    **{f"blk-modern-{n}": Device(f"blk-modern-{n}", True, n, False) for n in (1, 2)},
    "fs": Device("fs", True, 2, True, "virtiofsd"),
    "vub": Device("vub", True, 2, True, "qemu-storage-daemon"),
}


def device(name: str) -> Device:
    """The device of that name, or bad input naming the known ones."""
    if name not in DEVICES:
        raise SpecError(f"no device {name!r} (known: {', '.join(DEVICES)})", field="--device")
    return DEVICES[name]
