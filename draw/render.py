"""DOT text to SVG or PNG through Graphviz's ``dot`` program.

Only rendering needs ``dot``; DOT and ASCII output do not. A missing
``dot`` raises :class:`DotMissing`, whose message says how to install it.
"""

from __future__ import annotations

import shutil
import subprocess

INSTALL = (
    "Graphviz's `dot` program was not found on PATH; it is needed to render "
    "svg and png. Install it with `apt-get install graphviz` (Debian/Ubuntu; "
    "`make deps` does it), or draw only --format dot or ascii."
)


class DotMissing(Exception):
    """``dot`` is not installed."""

    def __init__(self) -> None:
        super().__init__(INSTALL)


class RenderError(Exception):
    """``dot`` refused the text (a bug of ours: the text is generated)."""


def dot_program() -> str:
    """The path of ``dot``, or :class:`DotMissing`."""
    found = shutil.which("dot")
    if found is None:
        raise DotMissing()
    return found


def dot_version() -> str:
    """``2.43.0``: the version of the installed ``dot``."""
    done = subprocess.run([dot_program(), "-V"], capture_output=True, text=True, check=False)
    words = (done.stderr or done.stdout).split()
    return words[words.index("version") + 1] if "version" in words else "unknown"


def render(text: str, fmt: str) -> bytes:
    """``text`` rendered as ``fmt`` (``svg`` or ``png``)."""
    done = subprocess.run([dot_program(), f"-T{fmt}"], input=text.encode(), capture_output=True, check=False)
    if done.returncode != 0:
        first = done.stderr.decode(errors="replace").strip().splitlines()[:1]
        raise RenderError(f"dot -T{fmt} failed: {first[0] if first else 'no message'}")
    return done.stdout
