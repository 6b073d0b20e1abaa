"""The table's semantics for a device with a given number of queues.

One step: the environment issues an event instance (an event with every
parameter bound); each queue it concerns fires the one row of the table
whose source is the queue's state and whose guard holds (an ``otherwise``
row when none does); every effect reads the state *before* the step and all
are applied together. The explorer and the oracle both step through here.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> m = Machine(load_spec("resolved"), queues=1)
>>> s = m.initial_states()[0]
>>> outcome = m.step(s, m.instance("set_status", value="driver_ok", assign_ok=True))
>>> [row.letter for _, row in outcome.choices[0].fired]
['b']
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from virtio_notifier_spec.spec.concrete import Layout, State, compile_effects, compile_expr
from virtio_notifier_spec.spec.expr import QUEUE, is_local
from virtio_notifier_spec.spec.schema import Event, Spec, Transition


@dataclass(frozen=True, slots=True)
class Instance:
    """An event with its arguments, e.g. ``set_host_notifier(queue=0, assign=true)``."""

    event: Event
    args: tuple[tuple[str, object], ...]
    id: int

    @property
    def values(self) -> dict[str, object]:
        return dict(self.args)

    @property
    def target(self) -> int | None:
        return self.values[self.event.target] if self.event.target else None

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.args)
        return f"{self.event.name}({shown})"


def _domain(ptype, queues: int) -> tuple:
    """A parameter's values, in the order traces prefer: the plain case
    first (``assign_ok=true`` before a refusal)."""
    if ptype == QUEUE:
        return tuple(range(queues))
    if ptype.values == (False, True):
        return (True, False)
    return ptype.values


def _show(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True, slots=True)
class Choice:
    """One possible result of a step: the state after it and, for each
    queue the event concerned, the row that fired."""

    post: State
    fired: tuple[tuple[int, Transition], ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Every result of a step (one for a deterministic table) and the
    queues for which the table had no row (``undefined``) or several
    (``ambiguous``, with the rows)."""

    choices: tuple[Choice, ...]
    undefined: tuple[int, ...] = ()
    ambiguous: tuple[tuple[int, tuple[Transition, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class _Row:
    row: Transition
    guard: object  # closure, or None when the row always fires
    target: int | None  # the new state's value, None: stays
    effects: tuple


class Machine:
    """The compiled table for ``queues`` queues."""

    def __init__(self, spec: Spec, queues: int) -> None:
        if queues < 1:
            raise ValueError("a device has at least one queue")
        self.spec = spec
        self.queues = queues
        self.layout = Layout.of(spec)
        self.state_slot = self.layout.queue.index("state")
        self._rows: dict[tuple[str, str], tuple[list[_Row], _Row | None]] = {}
        for event in spec.events:
            for state in spec.states.values:
                rows = spec.rows(event.name, state)
                compiled = [self._compile(r) for r in rows if not r.otherwise]
                fallback = next((self._compile(r) for r in rows if r.otherwise), None)
                self._rows[(event.name, state)] = (compiled, fallback)
        self._when = {e.name: compile_expr(e.when, self.layout) if e.when else None for e in spec.events}
        self._device_effects = {e.name: compile_effects(e.effects, self.layout) for e in spec.events}
        self._local = {
            e.name: all(
                (r.guard is None or is_local(r.guard)) and all(is_local(x.value) for x in r.effects)
                for r in spec.transitions
                if r.event == e.name
            )
            for e in spec.events
        }
        self.instances = self._instances()
        self._memo: dict = {}

    def _compile(self, row: Transition) -> _Row:
        return _Row(
            row,
            compile_expr(row.guard, self.layout) if row.guard is not None else None,
            row.target,
            compile_effects(row.effects, self.layout),
        )

    def _instances(self) -> tuple[Instance, ...]:
        found = []
        for event in self.spec.events:
            domains = [_domain(p.type, self.queues) for p in event.params]
            for values in itertools.product(*domains):
                args = tuple(zip((p.name for p in event.params), values, strict=True))
                found.append(Instance(event, args, len(found)))
        return tuple(found)

    def instance(self, event: str, **args: object) -> Instance:
        """The instance of ``event`` with these arguments.

        >>> from virtio_notifier_spec.spec.load import load_spec
        >>> str(Machine(load_spec("resolved"), 2).instance("reset"))
        'reset()'
        """
        wanted = tuple(sorted(args.items()))
        for inst in self.instances:
            if inst.event.name == event and tuple(sorted(inst.args)) == wanted:
                return inst
        raise KeyError(f"no instance {event}({args})")

    def initial_states(self) -> list[State]:
        """Every start: the product of the variables' initial values."""
        device_choices = itertools.product(*(v.init for v in self.spec.device_variables))
        queue_choices = list(itertools.product(*(v.init for v in self.spec.queue_variables)))
        states = []
        for device in device_choices:
            for queues in itertools.product(queue_choices, repeat=self.queues):
                states.append(State(tuple(device), tuple(queues)))
        return states

    def enabled(self, state: State, inst: Instance) -> bool:
        """Whether the environment can issue ``inst`` in ``state``."""
        when = self._when[inst.event.name]
        return when is None or bool(when(state, None, inst.values, 0))

    def step(self, state: State, inst: Instance) -> Outcome:
        """Every result of ``inst`` in ``state`` (see :class:`Outcome`)."""
        args = inst.values
        name = inst.event.name
        device = list(state.device)
        for slot, value in self._device_effects[name]:
            device[slot] = value(state, None, args, 0)
        target = inst.target
        concerned = range(self.queues) if target is None else (target,)
        per_queue = [self._queue_choices(state, inst, args, q) for q in concerned]
        undefined = tuple(q for q, (options, _) in zip(concerned, per_queue, strict=True) if options[0][1] is None)
        ambiguous = tuple(
            (q, tuple(row for _, row in options))
            for q, (options, _) in zip(concerned, per_queue, strict=True)
            if len(options) > 1
        )
        choices = []
        for combination in itertools.product(*(options for options, _ in per_queue)):
            queues = list(state.queues)
            fired = []
            for q, (new_queue, row) in zip(concerned, combination, strict=True):
                queues[q] = new_queue
                if row is not None:
                    fired.append((q, row))
            choices.append(Choice(State(tuple(device), tuple(queues)), tuple(fired)))
        return Outcome(tuple(choices), undefined, ambiguous)

    def _queue_choices(self, state: State, inst: Instance, args: dict, q: int):
        """[(new queue tuple, row or None when undefined)], and whether memoized."""
        local = self._local[inst.event.name]
        if local:
            key = (inst.id, state.device, state.queues[q])
            hit = self._memo.get(key)
            if hit is not None:
                return hit
        current = state.queues[q]
        fired, fallback = self._rows[(inst.event.name, current[self.state_slot])]
        rows = [r for r in fired if r.guard is None or r.guard(state, None, args, q)]
        if not rows and fallback is not None:
            rows = [fallback]
        if not rows:
            result = ([(current, None)], local)
        else:
            result = ([(self._apply(r, state, args, q), r.row) for r in rows], local)
        if local:
            self._memo[key] = result
        return result

    def _apply(self, row: _Row, state: State, args: dict, q: int) -> tuple:
        queue = list(state.queues[q])
        if row.target is not None:
            queue[self.state_slot] = row.target
        for slot, value in row.effects:
            queue[slot] = value(state, None, args, q)
        return tuple(queue)
