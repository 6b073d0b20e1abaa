"""What can go wrong with a real QEMU, each kind with a sentence of its own.

:class:`Missing` is a component this machine lacks (no QEMU, no /dev/kvm,
no assembler): a command refuses (exit 2), a test is skipped naming it.
:class:`MachineFailure` is the machine under test failing: QEMU crashed,
hung (a wait ran out) or never booted its guest; the command says which in
one line and exits with its own code (5, ``cli/exitcodes.py``), apart
from a verdict. :class:`LogError` is a trace log that cannot be read
(``oracle ingest``): file, line and what was expected, exit 2.
"""

from __future__ import annotations

from virtio_notifier_spec.spec.errors import SpecError


class QemuError(Exception):
    """Base of this subsystem's errors."""


class Missing(QemuError):
    """A component this machine does not have; ``what`` names each one."""

    def __init__(self, what: list[str]) -> None:
        super().__init__("cannot run QEMU here: " + "; ".join(what))
        self.what = tuple(what)


class MachineFailure(QemuError):
    """The QEMU under test crashed, hung or never booted its guest.

    ``kind`` is ``crashed``, ``hung`` or ``no_boot``; the message is one line
    and ends with the tail of QEMU's stderr when it said something.
    """

    def __init__(self, kind: str, detail: str, stderr: str = "") -> None:
        tail = " | ".join(line for line in stderr.strip().splitlines()[-3:] if line.strip())
        super().__init__(f"QEMU {kind.replace('_', ' ')}: {detail}" + (f" (QEMU said: {tail})" if tail else ""))
        self.kind = kind
        self.detail = detail
        self.stderr = stderr


class NotCausable(QemuError):
    """An event, in its place in a sequence, that this machine cannot cause."""


class LogError(SpecError):
    """A QEMU trace log that does not read as one: file, line, what was expected."""
