"""The machine as plain text, no wider than 72 columns.

For a terminal, a commit message or a mailing list: the seed message's
drawing, with each arrow labelled from the table (the message's letters;
numbers for rows it did not letter), then every row with its guard and
effects, then the rows that change nothing.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> text = machine_ascii(load_spec("proposal"))
>>> max(len(line) for line in text.splitlines()) <= 72
True
>>> print(text.splitlines()[7])
         offlimits -------------> deassigned <-- start (a.)
"""

from __future__ import annotations

import textwrap

from virtio_notifier_spec.spec.schema import Spec, Transition
from virtio_notifier_spec.spec.text import effect_text

from .labels import guard_text, wrap
from .layout import Places

WIDTH = 72


def tags(spec: Spec) -> dict[str, str]:
    """Each drawn row's tag: its letter, or a number in table order."""
    found: dict[str, str] = {}
    number = 0
    for row in spec.transitions:
        if row.quiet:
            continue
        if row.letter:
            found[row.name] = row.letter
        else:
            number += 1
            found[row.name] = str(number)
    return found


def _arrow_tags(spec: Spec, tag: dict[str, str], source: str, target: str, short: bool = False) -> str:
    """``g,1,4``: the tags of the rows from ``source`` to ``target``;
    ``short``: the letters and a count of the others, ``g+2``."""
    seen = list(
        dict.fromkeys(
            tag[r.name]
            for r in spec.transitions
            if not r.quiet and source in r.sources and (r.target or source) == target
        )
    )
    if not short:
        return ",".join(seen)
    letters = [t for t in seen if not t.isdigit()]
    others = len(seen) - len(letters)
    return ",".join(letters) + (f"+{others}" if others else "")


def _put(line: list[str], column: int, text: str) -> None:
    while len(line) < column + len(text):
        line.append(" ")
    line[column : column + len(text)] = list(text)


def picture(spec: Spec, places: Places, tag: dict[str, str], short: bool = False) -> list[str]:
    """The seed message's drawing, arrows labelled with the rows' tags."""
    top, left, right = places.top, places.left, places.right
    e = _arrow_tags(spec, tag, left, top, short)
    c = _arrow_tags(spec, tag, top, left, short)
    g = _arrow_tags(spec, tag, top, right, short)
    b = _arrow_tags(spec, tag, right, top, short)
    f = _arrow_tags(spec, tag, left, right, short)
    d = _arrow_tags(spec, tag, right, left, short)
    a = max(len(e) + 3, len(left) + 3, 20)  # column of the outer-left '^'
    gap = max(len(c) + len(g) + 5, len(f) + 4, len(d) + 4, 11)
    bb = a + gap  # column of the inner-right '\' on the first diagonal row
    lines: list[list[str]] = [[] for _ in range(8)]
    _put(lines[0], (a + bb + 2) // 2 - len(top) // 2 + 1, top)
    for r in range(4):
        row = lines[1 + r]
        outer_l, inner_l, inner_r, outer_r = a - r, a + 2 - r, bb + r, bb + 2 + r
        _put(row, outer_l, "^" if r == 0 else "/")
        _put(row, inner_l, "v" if r == 3 else "/")
        _put(row, inner_r, "v" if r == 3 else "\\")
        _put(row, outer_r, "^" if r == 0 else "\\")
    _put(lines[2], a - 2 - len(e), e)
    _put(lines[2], a + 3, c)
    _put(lines[2], bb - len(g), g)
    _put(lines[2], bb + 5, b)
    left_end, right_start = a - 3, bb + 3
    _put(lines[4], (left_end + right_start) // 2 - len(f) // 2 + 1, f)
    _put(lines[5], left_end - len(left) + 1, left)
    _put(lines[5], left_end + 2, "-" * (right_start - left_end - 4) + ">")
    _put(lines[5], right_start, f"{right} <-- start (a.)")
    _put(lines[6], left_end + 2, "<" + "-" * (right_start - left_end - 4))
    _put(lines[7], (left_end + right_start) // 2 - len(d) // 2 + 1, d)
    return ["".join(line).rstrip() for line in lines]


def _wrapped(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False)


def _packed(chunks: list[str], indent: str, sep: str = ", ") -> list[str]:
    """Chunks (e.g. effects) joined on lines of at most WIDTH, never split."""
    lines: list[str] = []
    line = indent
    for i, chunk in enumerate(chunks):
        piece = chunk + (sep if i < len(chunks) - 1 else "")
        if line.strip() and len(line + piece.rstrip()) > WIDTH:
            lines.append(line.rstrip())
            line = indent + "  "
        line += piece
    lines.append(line.rstrip())
    return lines


def row_lines(row: Transition, tag: str) -> list[str]:
    """``b.  assign_on_driver_ok: deassigned -> assigned``, then the event and
    guard, then the effects."""
    sources = ", ".join(row.sources)
    move = f"{sources} -> {row.target}" if row.target else f"stays in {sources}"
    out = _wrapped(f"{tag + '.':<4}{row.name}: {move}", "")
    when = f"on {row.event}"
    if not row.otherwise and row.guard is not None:
        when += f" when {guard_text(row)}"
    out += _packed(wrap(when, WIDTH - 6), "    ", sep=" ")
    if row.effects:
        out += _packed(["then " + effect_text(row.effects[0]), *(effect_text(x) for x in row.effects[1:])], "    ")
    return out


def loops(spec: Spec, tag: dict[str, str]) -> list[str]:
    """``stays, with effects: 6,7 in every state``: the self-loops."""
    by_state = {s: _arrow_tags(spec, tag, s, s) for s in spec.states.values}
    groups: dict[str, list[str]] = {}
    for state, found in by_state.items():
        if found:
            groups.setdefault(found, []).append(state)
    out = []
    for found, states in groups.items():
        where = "every state" if len(states) == len(spec.states.values) else ", ".join(states)
        out += _wrapped(f"stays, with effects: {found} in {where}", "")
    return out


def machine_ascii(spec: Spec) -> str:
    """The whole text: title, picture, rows, ignored rows."""
    tag = tags(spec)
    lines = _wrapped(f"{spec.name}: the per-queue notifier machine", "")
    places = Places.of(spec)
    if places is not None:
        drawn = picture(spec, places, tag)
        if max(map(len, drawn)) > WIDTH:  # many rows on one arrow: count the unlettered
            drawn = picture(spec, places, tag, short=True)
        if max(map(len, drawn)) > WIDTH:
            drawn = ["(the picture does not fit in 72 columns; the rows follow)"]
        lines += ["", *drawn, ""]
    lines += loops(spec, tag)
    lines += ["Letters are the message's; numbers are rows it did not letter.", ""]
    for row in spec.transitions:
        if not row.quiet:
            lines += row_lines(row, tag[row.name])
    quiet = [r for r in spec.transitions if r.quiet]
    if quiet:
        lines += ["", "Rows that change nothing (ignored events, not drawn):"]
        for row in quiet:
            lines += _wrapped(f"{row.name}: {row.event} in {', '.join(row.sources)}, {guard_text(row)}", "  ")
    return "\n".join(lines) + "\n"
