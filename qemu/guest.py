"""The guest kernel, assembled from ``guest.S`` into a cache folder.

The ELF is built once per version of the source (its SHA-256 names the
file) with binutils alone: ``as --32``, then ``ld -m elf_i386 -Ttext
0x100000``. The folder is ``$XDG_CACHE_HOME/virtio-notifier-spec``
(``~/.cache/...``), or ``VIRTIO_NOTIFIER_SPEC_CACHE``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from .errors import QemuError
from .host import Tools

CACHE_ENV = "VIRTIO_NOTIFIER_SPEC_CACHE"
BUILD_SECONDS = 30.0
BANNER = b"virtio-notifier-spec guest ready\n"


def source() -> bytes:
    return resources.files(__package__).joinpath("guest.S").read_bytes()


def cache_folder() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "virtio-notifier-spec"


def build(tools: Tools) -> Path:
    """The guest's ELF, built if this version of the source has none yet."""
    text = source()
    folder = cache_folder()
    target = folder / f"guest-{hashlib.sha256(text).hexdigest()[:16]}.elf"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as work:
        src, obj, elf = (Path(work) / name for name in ("guest.S", "guest.o", "guest.elf"))
        src.write_bytes(text)
        for argv in (
            [tools.assembler, "--32", "-o", str(obj), str(src)],
            [tools.linker, "-m", "elf_i386", "-Ttext", "0x100000", "-o", str(elf), str(obj)],
        ):
            try:
                done = subprocess.run(argv, capture_output=True, timeout=BUILD_SECONDS, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise QemuError(f"cannot build the guest: {argv[0]}: {exc}") from None
            if done.returncode != 0:
                said = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
                raise QemuError(f"cannot build the guest: {Path(argv[0]).name} failed: {said[0]}")
        os.replace(elf, target)  # atomic: a concurrent build writes the same bytes
    return target
