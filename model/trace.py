"""Traces: the events a reader can replay, with the row that fired at each step."""

from __future__ import annotations

from dataclasses import dataclass

from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec, Transition

from .machine import Instance


@dataclass(frozen=True, slots=True)
class Step:
    event: Instance
    fired: tuple[tuple[int, Transition], ...]
    post: State

    def rows(self) -> str:
        """The rows that did something, e.g. ``q0 b (assign_on_driver_ok)``."""
        single = self.event.target is not None
        shown = []
        for q, row in self.fired:
            if not single and row.quiet:
                continue
            name = f"{row.letter} ({row.name})" if row.letter else row.name
            shown.append(f"q{q} {name}")
        if not shown:  # every queue ignored the event: name the rows that said so
            names = dict.fromkeys(row.name for _, row in self.fired)
            return "ignored: " + ", ".join(names) if names else "no row fired"
        return ", ".join(shown)

    def to_json(self, spec: Spec) -> dict:
        return {
            "event": self.event.event.name,
            "args": {k: v for k, v in self.event.args},
            "fired": [{"queue": q, "letter": r.letter, "transition": r.name} for q, r in self.fired],
            "state": state_json(spec, self.post),
        }


@dataclass(frozen=True, slots=True)
class Trace:
    """A run from an initial state: the shortest one when found by BFS."""

    start: State
    steps: tuple[Step, ...]

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def last(self) -> State:
        return self.steps[-1].post if self.steps else self.start

    def format(self, spec: Spec, indent: str = "  ") -> str:
        lines = [f"{indent}0. start (a)  {format_state(spec, self.start)}"]
        for number, step in enumerate(self.steps, start=1):
            lines.append(f"{indent}{number}. {step.event}  [{step.rows()}]")
            lines.append(f"{indent}   -> {format_state(spec, step.post)}")
        return "\n".join(lines)

    def to_json(self, spec: Spec) -> dict:
        return {
            "start": state_json(spec, self.start),
            "steps": [s.to_json(spec) for s in self.steps],
        }


def show_value(value: object) -> str:
    """A value as the tables write it: ``true``, ``driver_ok``, ``3``."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def format_state(spec: Spec, state: State) -> str:
    """A compact line: device variables, then each queue's state and the
    per-queue variables that differ from their initial value.

    e.g. ``limited=false running=true status=driver_ok | q0 assigned our_fd handler=ours``
    """
    device = " ".join(f"{v.name}={show_value(x)}" for v, x in zip(spec.device_variables, state.device, strict=True))
    parts = [device]
    for q, queue in enumerate(state.queues):
        words = [f"q{q} {queue[0]}"]
        for var, value in zip(spec.queue_variables[1:], queue[1:], strict=True):
            if value == var.init[0]:
                continue
            words.append(var.name if value is True else f"{var.name}={show_value(value)}")
        parts.append(" ".join(words))
    return " | ".join(parts)


def _literal(spec_var, text: str, where: str) -> object:
    value: object = text == "true" if text in ("true", "false") else (int(text) if text.isdigit() else text)
    allowed = spec_var.type.values
    if allowed and value not in allowed:
        shown = " | ".join(show_value(v) for v in allowed)
        raise ValueError(f"{where}: expected one of {shown}, found {text!r}")
    return value


def parse_state(spec: Spec, text: str) -> State:
    """The state :func:`format_state` wrote as ``text`` (a variable not shown
    has its first initial value); a ``ValueError`` says what does not fit.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> spec = load_spec("resolved")
    >>> line = "limited=false running=true vhost_on=false status=driver_ok | q0 assigned our_fd handler=ours"
    >>> format_state(spec, parse_state(spec, line)) == line
    True
    """
    parts = [part.strip() for part in text.split("|")]
    pairs = dict(word.split("=", 1) for word in parts[0].split() if "=" in word)
    device = []
    for var in spec.device_variables:
        if var.name not in pairs:
            raise ValueError(f"{var.name}: missing from the state")
        device.append(_literal(var, pairs[var.name], var.name))
    queues = []
    head, *rest = spec.queue_variables
    names = {var.name: var for var in rest}
    for q, part in enumerate(parts[1:]):
        words = part.split()
        if len(words) < 2 or words[0] != f"q{q}":
            raise ValueError(f"q{q}: expected 'q{q} STATE ...', found {part!r}")
        values = {var.name: var.init[0] for var in rest}
        for word in words[2:]:
            name, sep, value = word.partition("=")
            if name not in names:
                raise ValueError(f"q{q}.{name}: no such queue variable")
            values[name] = _literal(names[name], value, f"q{q}.{name}") if sep else True
        queues.append((_literal(head, words[1], f"q{q}.{head.name}"), *(values[var.name] for var in rest)))
    return State(tuple(device), tuple(queues))


def state_json(spec: Spec, state: State) -> dict:
    return {
        "device": {v.name: x for v, x in zip(spec.device_variables, state.device, strict=True)},
        "queues": [{v.name: x for v, x in zip(spec.queue_variables, queue, strict=True)} for queue in state.queues],
    }
