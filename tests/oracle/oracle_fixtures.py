"""What the oracle's tests share: the C example built (with its faulty
variants), and a Python child that misbehaves on request (``child.py``).

Imported by the test modules that use them (a conftest.py here would be
imported as ``conftest`` and hide the one of tests/)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1] / "examples" / "c" / "notifier.c"
C_FLAGS = (
    "MUTANT_RESET_NO_DRAIN",
    "MUTANT_DROP_KICK",
    "MUTANT_RELEASE_IGNORES_STATUS",
    "MUTANT_TAKE_EVERY_QUEUE+MUTANT_ABORT_ON_REFUSAL",  # QEMU 2011's flaws: one take for every queue, abort
)


@pytest.fixture(scope="session")
def c_programs(tmp_path_factory) -> dict[str, str]:
    """The C example (key ``""``) and each faulty variant (key: its flags, joined by ``+``)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    out = tmp_path_factory.mktemp("c")
    built = {}
    for flag in ("", *C_FLAGS):
        binary = out / (flag.lower().replace("+", "-") or "notifier")
        defines = [f"-D{f}" for f in flag.split("+")] if flag else []
        subprocess.run(
            [compiler, "-O2", "-std=c99", "-Wall", "-Werror", *defines, "-o", str(binary), str(SOURCE)],
            check=True,
            capture_output=True,
        )
        built[flag] = str(binary)
    return built


def _child(mode: str, limit: int = 0, log: Path | None = None) -> list[str]:
    return [sys.executable, str(HERE / "child.py"), mode, str(limit), *([str(log)] if log else [])]


@pytest.fixture
def child():
    """``child(mode, limit=0, log=None)``: the command line of a Python child (see child.py)."""
    return _child
