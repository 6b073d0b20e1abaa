"""Words for the drawings: row labels, wrapped guards, compact states.

Every label is made from the table through the text interpreter
(:func:`virtio_notifier_spec.spec.text.to_text`), never typed by hand, so a
drawing cannot say something the table does not.

>>> wrap("not assign and not limited and status == driver_ok", 24)
['not assign', 'and not limited', 'and status == driver_ok']
"""

from __future__ import annotations

from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec, Transition
from virtio_notifier_spec.spec.text import to_text

_BREAK_BEFORE = ("and", "or", "=>")


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters where possible, broken before
    ``and``/``or``/``=>`` by preference, else at any space."""
    words = text.split(" ")
    lines: list[str] = []
    line = ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if len(candidate) <= width or not line:
            line = candidate
            continue
        # too long: move back to the last operator of the line, if any
        parts = line.split(" ")
        cut = max((j for j, w in enumerate(parts) if w in _BREAK_BEFORE and j > 0), default=None)
        if cut is not None and word not in _BREAK_BEFORE:
            lines.append(" ".join(parts[:cut]))
            line = " ".join([*parts[cut:], word])
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def guard_text(row: Transition) -> str:
    """``otherwise``, ``always`` or the guard's source text."""
    if row.otherwise:
        return "otherwise"
    return to_text(row.guard) if row.guard is not None else "always"


def row_title(row: Transition) -> str:
    """``b. set_status`` for a lettered row, ``release_to_pio: set_host_notifier`` else."""
    return f"{row.letter}. {row.event}" if row.letter else f"{row.name}: {row.event}"


def row_label(row: Transition, width: int = 30) -> str:
    """The row's title and its guard, wrapped; for an edge of the machine."""
    lines = [row_title(row)]
    if not row.otherwise and row.guard is not None:
        guard = wrap(guard_text(row), width)
        guard[0] = "[" + guard[0]
        guard[-1] = guard[-1] + "]"
        lines += guard
    return "\n".join(lines)


def fired_label(row: Transition) -> str:
    """What a fired row is called on an edge: its letter, else its name."""
    return row.letter or row.name


def _value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def device_words(spec: Spec, state: State) -> str:
    """``driver_ok``, ``zero stopped``, ``driver limited``: the status and
    the device facts that differ from a running, unlimited host."""
    words = []
    for var, value in zip(spec.device_variables, state.device, strict=True):
        if var.type.values == (False, True):
            if var.name == "running" and not value:
                words.append("stopped")
            elif var.name != "running" and value:
                words.append(var.name)
        else:
            words.append(_value(value))
    return " ".join(words)


def queue_words(spec: Spec, queue: tuple) -> str:
    """``assigned our_fd handler=ours``: the state and what differs from the start."""
    words = [str(queue[0])]
    for var, value in zip(spec.queue_variables[1:], queue[1:], strict=True):
        if value == var.init[0]:
            continue
        words.append(var.name if value is True else f"{var.name}={_value(value)}")
    return " ".join(words)


def state_label(spec: Spec, state: State) -> str:
    """A few short lines: device words, then one line per queue."""
    lines = [device_words(spec, state)]
    lines += [f"q{q} {queue_words(spec, queue)}" for q, queue in enumerate(state.queues)]
    return "\n".join(lines)
