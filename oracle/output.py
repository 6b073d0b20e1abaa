"""Files the oracle writes (``--junit``, ``--example``): checked before any
test runs, so that a bad path costs nothing, and written whole or not at
all, so that a failure to write never leaves half a report.

>>> import tempfile, os
>>> folder = tempfile.mkdtemp()
>>> check_writable(os.path.join(folder, "missing", "report.xml"), "--junit")
Traceback (most recent call last):
...
virtio_notifier_spec.oracle.output.OutputPathError: --junit: ...missing: no such folder
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from virtio_notifier_spec.spec.errors import SpecError


class OutputPathError(SpecError):
    """An output path that cannot be written: names the option."""


def check_writable(path: str, option: str) -> None:
    """Raise :class:`OutputPathError` unless ``path`` can be written."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise OutputPathError(f"{path}: is a folder, expected a file", field=option)
    if not folder.is_dir():
        raise OutputPathError(f"{folder}: no such folder", field=option)
    if target.exists():
        if not os.access(target, os.W_OK):
            raise OutputPathError(f"{path}: not writable", field=option)
    elif not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{folder}: cannot create a file there", field=option)


def write_whole(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place
    (a special file such as ``/dev/null`` is written directly)."""
    target = Path(path)
    if target.exists() and not target.is_file():
        target.write_bytes(data)
        return
    fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
