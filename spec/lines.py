"""Find the line of a TOML entry, for error messages.

``tomllib`` returns plain dictionaries without positions, so the loader asks
this index where the *n*-th ``[[transitions]]`` block starts and on which
line of it a key is written.

>>> index = LineIndex('[machine]\\nstart = "x"\\n\\n[[events]]\\nname = "a"\\n[[events]]\\nname = "b"\\n')
>>> index.line("events", 1, "name")
7
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[(\[)?\s*([A-Za-z0-9_.\-]+)\s*\]")


class LineIndex:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.blocks: dict[str, list[int]] = {}
        for number, line in enumerate(self.lines, start=1):
            match = _HEADER.match(line)
            if match:
                self.blocks.setdefault(match.group(2), []).append(number)
        self.starts = sorted(n for starts in self.blocks.values() for n in starts)

    def _block(self, section: str, index: int) -> tuple[int, int]:
        starts = self.blocks.get(section)
        if not starts:  # an inline table or dotted keys before the first header: `variant = { ... }`
            top = self.starts[0] if self.starts else len(self.lines) + 1
            pattern = re.compile(rf"^\s*{re.escape(section)}\s*[=.]")
            inline = next((n for n in range(1, top) if pattern.match(self.lines[n - 1])), None)
            return (inline, inline + 1) if inline else (1, len(self.lines) + 1)
        start = starts[min(index, len(starts) - 1)]
        end = next((n for n in self.starts if n > start), len(self.lines) + 1)
        return start, end

    def line(self, section: str | None, index: int = 0, key: str | None = None) -> int:
        """The line of ``key`` in block ``index`` of ``section``; the block's
        first line when the key is absent; top-level keys with no section."""
        if section is None:
            start, end = 1, (self.starts[0] if self.starts else len(self.lines) + 1)
        else:
            start, end = self._block(section, index)
        if key is not None:
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
            for number in range(start, end):
                if pattern.match(self.lines[number - 1]):
                    return number
        return start
