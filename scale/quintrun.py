"""Run Quint on an exported module: ``quint typecheck`` and ``quint run``.

Quint is found in ``tools/quint/node_modules`` (``make deps`` installs it
there, pinned), else as ``$QUINT``, else on the ``PATH``. ``quint run`` uses
the TypeScript simulator (``--backend=typescript``): random runs from a
seed, so a run is reproduced by its seed and settings, and a violation it
finds is real while finding none proves nothing (the explorer decides).

>>> program() is None or program().endswith("quint")
True
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LOCAL = Path(__file__).resolve().parents[1] / "tools" / "quint" / "node_modules" / ".bin" / "quint"


def program() -> str | None:
    """The ``quint`` program to run, or None when there is none."""
    if LOCAL.is_file():
        return str(LOCAL)
    return os.environ.get("QUINT") or shutil.which("quint")


@dataclass(frozen=True, slots=True)
class QuintRun:
    """What ``quint run`` said: ``violated`` when it found a state that
    breaks the invariant (exit 1 and ``[violation]``), the output for a reader."""

    violated: bool
    returncode: int
    output: str


def typecheck(module: Path, timeout: float = 300.0) -> subprocess.CompletedProcess:
    """``quint typecheck MODULE``: exit 0 when Quint parses and types it."""
    argv = [_need(), "typecheck", str(module)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def run(
    module: Path,
    invariant: str,
    *,
    seed: int,
    samples: int,
    steps: int,
    itf: Path | None = None,
    timeout: float = 600.0,
) -> QuintRun:
    """``quint run`` with the TypeScript backend: ``samples`` random runs of
    at most ``steps`` steps from ``seed``, checking ``invariant``; with
    ``itf``, the run it shows written there (``--mbt``: the events and their
    arguments in every state)."""
    argv = [_need(), "run", str(module), "--backend=typescript", f"--invariant={invariant}"]
    argv += [f"--seed={seed}", f"--max-samples={samples}", f"--max-steps={steps}", "--mbt"]
    if itf is not None:
        argv.append(f"--out-itf={itf}")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    output = done.stdout + done.stderr
    return QuintRun(done.returncode == 1 and "[violation]" in output, done.returncode, output)


def _need() -> str:
    found = program()
    if found is None:
        raise FileNotFoundError("quint is not installed (make deps installs it in tools/quint)")
    return found
