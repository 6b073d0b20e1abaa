"""Text from an implementation made safe to show: in a terminal (no escape
sequences) and in XML 1.0 (which has no way to write most control
characters, so a JUnit file holding one is not well-formed).

>>> visible("segfault\\x1b[31m at \\x00 q0\\n")
'segfault\\\\x1b[31m at \\\\x00 q0\\n'
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, lone surrogates, and the two non-characters XML forbids
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def visible(text: str) -> str:
    """``text`` with every unsafe character written as ``\\xNN`` or ``\\uNNNN``."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
