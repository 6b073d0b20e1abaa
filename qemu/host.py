"""What this machine must have to run a real QEMU, and where it is.

>>> isinstance(missing(), list)
True
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

QEMU_ENV = "VIRTIO_NOTIFIER_SPEC_QEMU"  # another qemu-system-x86_64 to test
QBOOT = "/usr/share/qemu/qboot.rom"
VIRTIOFSD = "/usr/lib/qemu/virtiofsd"
STORAGE_DAEMON = "qemu-storage-daemon"
KVM = "/dev/kvm"


@dataclass(frozen=True, slots=True)
class Tools:
    qemu: str
    assembler: str
    linker: str
    firmware: str
    virtiofsd: str | None  # only the vhost-user devices need these
    storage_daemon: str | None = None


def _qemu() -> str | None:
    chosen = os.environ.get(QEMU_ENV)
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    return shutil.which("qemu-system-x86_64")


def missing(*, vhost: bool = False) -> list[str]:
    """What is absent, one phrase each (empty: QEMU can run here)."""
    found = []
    if not _qemu():
        chosen = os.environ.get(QEMU_ENV)
        found.append(
            f"{QEMU_ENV}={chosen} is not an executable"
            if chosen
            else "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
        )
    if not os.path.exists(KVM):
        found.append(f"{KVM} does not exist (KVM is not available: no ioeventfd is ever assigned under TCG)")
    elif not os.access(KVM, os.R_OK | os.W_OK):
        found.append(f"{KVM} is not readable and writable by this user")
    for tool in ("as", "ld"):
        if not shutil.which(tool):
            found.append(f"`{tool}` is not installed (apt-get install binutils)")
    if not os.path.exists(QBOOT):
        found.append(f"{QBOOT} is missing (apt-get install qemu-system-x86)")
    if vhost and not os.access(VIRTIOFSD, os.X_OK):
        found.append(f"{VIRTIOFSD} is missing (apt-get install qemu-system-common)")
    if vhost and not shutil.which(STORAGE_DAEMON):
        found.append(f"{STORAGE_DAEMON} is missing (apt-get install qemu-system-common)")
    return found


def tools(*, vhost: bool = False) -> Tools:
    """The tools, or :class:`~.errors.Missing` naming every one that is absent."""
    from .errors import Missing

    absent = missing(vhost=vhost)
    if absent:
        raise Missing(absent)
    return Tools(
        qemu=_qemu() or "",
        assembler=shutil.which("as") or "as",
        linker=shutil.which("ld") or "ld",
        firmware=QBOOT,
        virtiofsd=VIRTIOFSD if os.access(VIRTIOFSD, os.X_OK) else None,
        storage_daemon=shutil.which(STORAGE_DAEMON),
    )
