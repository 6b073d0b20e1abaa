"""Replaying events on the table, one step at a time: what a TLC trace
explorer or ``spin -t`` shows, for the ``replay`` command.

Each step says which row fired on which queue, what changed (and only
that), and which properties are false after it. Replay stops at the first
event the table cannot take: one the environment cannot issue there (its
``when`` is false), or one with no row or two rows for a queue.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> spec = load_spec("proposal")
>>> machine = Machine(spec, 1)
>>> events = [machine.instance("set_status", value="driver_ok", assign_ok=True),
...           machine.instance("kick", queue=0), machine.instance("reset")]
>>> steps = replay(machine, machine.initial_states()[0], events)
>>> for change in steps[0].changes:
...     print(change)
status: zero -> driver_ok
q0.state: deassigned -> assigned
q0.our_fd: false -> true
q0.handler: none -> ours
>>> steps[2].broken
('no_lost_kick (queue 0)',)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from virtio_notifier_spec.spec.concrete import State, compile_expr
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

from .machine import Instance, Machine
from .trace import Step, show_value


@dataclass(frozen=True, slots=True)
class Change:
    """One variable that a step changed: ``status`` or ``q0.state``."""

    name: str
    before: object
    after: object

    def __str__(self) -> str:
        return f"{self.name}: {show_value(self.before)} -> {show_value(self.after)}"


@dataclass(frozen=True, slots=True)
class Replayed:
    """One replayed event: the step taken (None when the table could not
    take it, then ``problem`` says why), what it changed, the properties
    false after it, and how many outcomes the table allowed."""

    number: int
    event: Instance
    step: Step | None
    changes: tuple[Change, ...] = ()
    broken: tuple[str, ...] = ()
    problem: str | None = None
    outcomes: int = 1
    differs: str | None = None  # how the trace's state after this step differs from the table's


def changes(spec: Spec, pre: State, post: State) -> tuple[Change, ...]:
    """Every variable whose value differs between ``pre`` and ``post``."""
    found = [
        Change(v.name, a, b) for v, a, b in zip(spec.device_variables, pre.device, post.device, strict=True) if a != b
    ]
    for q, (before, after) in enumerate(zip(pre.queues, post.queues, strict=True)):
        for v, a, b in zip(spec.queue_variables, before, after, strict=True):
            if a != b:
                found.append(Change(f"q{q}.{v.name}", a, b))
    return tuple(found)


class Judge:
    """The invariants and step properties of a table, compiled once."""

    def __init__(self, machine: Machine) -> None:
        props = machine.spec.properties
        layout = machine.layout
        self.invariants = [(p, compile_expr(p.expr, layout)) for p in props if p.kind is PropertyKind.INVARIANT]
        self.steps = [(p, compile_expr(p.expr, layout)) for p in props if p.kind is PropertyKind.STEP]

    def state(self, state: State) -> tuple[str, ...]:
        """The invariants false in ``state``: ``name (queue q)`` for a per-queue one."""
        broken = []
        for prop, f in self.invariants:
            if prop.per_queue:
                broken += [f"{prop.name} (queue {q})" for q in range(len(state.queues)) if not f(state, None, {}, q)]
            elif not f(state, None, {}, 0):
                broken.append(prop.name)
        return tuple(broken)

    def step(self, pre: State, inst: Instance, post: State) -> tuple[str, ...]:
        """The step properties of ``inst``'s event false across the step."""
        args = inst.values
        return tuple(
            f"{p.name} (across the step)"
            for p, f in self.steps
            if inst.event.name in p.events and not f(pre, post, args, 0)
        )


#: What a trace says of the state after a step: given the state before,
#: the event and the table's state after, how the trace's differs (None: it agrees).
Expectation = Callable[[State, Instance, State], "str | None"]


def replay(
    machine: Machine, start: State, events: Iterable[Instance], expect: Sequence[Expectation | None] = ()
) -> list[Replayed]:
    """Replay ``events`` from ``start``; stops after the first the environment
    cannot issue. A queue with no row keeps its state and one with several
    takes the first, as the explorer does; both are reported as broken
    (``complete``, ``deterministic``), like any property. ``expect[i]``
    judges the state after event ``i`` against what the trace says of it
    (an ITF state, an observation, a pasted state line); replay stops at
    the first state that differs (``differs``)."""
    judge = Judge(machine)
    done: list[Replayed] = []
    state = start
    for number, inst in enumerate(events, start=1):
        if not machine.enabled(state, inst):
            problem = f"the environment cannot issue {inst.event.name} here: its condition (when) is false"
            done.append(Replayed(number, inst, None, problem=problem))
            break
        outcome = machine.step(state, inst)
        choice = outcome.choices[0]
        step = Step(inst, choice.fired, choice.post)
        hygiene = tuple(f"complete (no row for queue {q} in {state.queues[q][0]})" for q in outcome.undefined)
        hygiene += tuple(
            f"deterministic ({' and '.join(r.name for r in rows)} both fire on queue {q})"
            for q, rows in outcome.ambiguous
        )
        broken = hygiene + judge.state(choice.post) + judge.step(state, inst, choice.post)
        check = expect[number - 1] if number <= len(expect) else None
        differs = check(state, inst, choice.post) if check is not None else None
        done.append(
            Replayed(
                number,
                inst,
                step,
                changes(machine.spec, state, choice.post),
                broken,
                None,
                len(outcome.choices),
                differs,
            )
        )
        if differs is not None:
            break
        state = choice.post
    return done
