"""One step judged: which of the table's steps explain what an
implementation observed, and, when none does, what differs.

The oracle's three ways of judging (a trace, a driven suite, a replayed
sequence) all step through here.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.model.machine import Machine
>>> from virtio_notifier_spec.oracle.observation import parse_observation
>>> spec = load_spec("resolved")
>>> m = Machine(spec, 1)
>>> start = m.initial_states()[0]
>>> on = m.instance("set_status", value="driver_ok", assign_ok=True)
>>> obs = parse_observation(spec, 1, {"queues": [{"state": "deassigned"}]}, "observed")
>>> allowed_steps(m, [start], on, obs)
[]
>>> mismatches, rows = explain(m, [start], on, obs)
>>> [str(x) for x in mismatches], [str(r) for r in rows]
(['q0.state: expected assigned, observed deassigned'], ['q0 b (assign_on_driver_ok)'])
"""

from __future__ import annotations

from dataclasses import dataclass

from virtio_notifier_spec.model.machine import Choice, Instance, Machine
from virtio_notifier_spec.spec.concrete import State

from .observation import KICK_EVENT, Mismatch, Observation


@dataclass(frozen=True, slots=True)
class Expected:
    """A row the spec fires at the diverging step."""

    queue: int
    letter: str | None
    transition: str

    def __str__(self) -> str:
        if self.letter:
            return f"q{self.queue} {self.letter} ({self.transition})"
        return f"q{self.queue} {self.transition}"


def kicked(inst: Instance) -> int | None:
    """The queue a kick event targets (what ``handled`` needs), else None."""
    return inst.target if inst.event.name == KICK_EVENT else None


def allowed_steps(
    machine: Machine, enabled: list[State] | tuple[State, ...], inst: Instance, obs: Observation
) -> list[tuple[State, Choice]]:
    """Every (pre-state, choice) of ``inst`` from ``enabled`` that the observation fits."""
    queue = kicked(inst)
    return [
        (pre, choice)
        for pre in enabled
        for choice in machine.step(pre, inst).choices
        if obs.empty or not obs.mismatches(pre, choice.post, queue)
    ]


def explain(
    machine: Machine, enabled: list[State] | tuple[State, ...], inst: Instance, obs: Observation
) -> tuple[tuple[Mismatch, ...], tuple[Expected, ...]]:
    """What differs from the table's first allowed step, and the rows it fires."""
    pre = enabled[0]
    choice = machine.step(pre, inst).choices[0]
    mismatches = tuple(obs.mismatches(pre, choice.post, kicked(inst)))
    return mismatches, expected_rows(inst, choice.fired, mismatches)


def expected_rows(inst: Instance, fired, mismatches) -> tuple[Expected, ...]:
    """The rows worth naming: all for a one-queue event; for a device-wide
    one, those that do something or concern a mismatching queue."""
    fired = list(fired)
    if inst.target is None:
        named = {m.field.split(".")[0] for m in mismatches}
        fired = [(q, r) for q, r in fired if not r.quiet or f"q{q}" in named] or fired
    return tuple(Expected(q, r.letter, r.name) for q, r in fired)
