"""Bounded model checking: paths of the symbolic table for a fixed number of queues.

Unrolls the transition relation of :mod:`.symbolic` step by step from the
initial states and asks Z3 for the shortest path to a goal. A path found is
returned as a :class:`~virtio_notifier_spec.model.trace.Trace` of concrete
states, with the rows (and letters) that fired, exactly as the explorer
prints its counterexamples.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> bmc = Bmc(load_spec("resolved"), queues=1)
>>> trace = bmc.find(lambda s: bmc.encoding.exists(lambda q: s.queue["our_fd"](q)), depth=3)
>>> [row.letter for step in trace.steps for _, row in step.fired]
['b']
"""

from __future__ import annotations

from collections.abc import Callable

import z3
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.model.trace import Step, Trace
from virtio_notifier_spec.spec.schema import Event, Spec

from .symbolic import Encoding, SymState, decide

Goal = Callable[[SymState], z3.BoolRef]
StepGoal = Callable[[SymState, SymState, dict], z3.BoolRef]


class Bmc:
    """An incremental unrolling of ``spec`` with ``queues`` queues."""

    def __init__(self, spec: Spec, queues: int) -> None:
        self.spec = spec
        self.encoding = Encoding(spec, queues)
        self.machine = Machine(spec, queues)
        self.solver = z3.Solver()
        self.states = [self.encoding.state("s0")]
        self.parts: list[dict] = []
        self.solver.add(self.encoding.init(self.states[0]))

    def _unroll(self, length: int) -> None:
        while len(self.states) <= length:
            pre = self.states[-1]
            post = self.encoding.state(f"s{len(self.states)}")
            relation, parts = self.encoding.transition(pre, post, f"a{len(self.states)}")
            self.solver.add(relation)
            self.states.append(post)
            self.parts.append(parts)

    def find(self, goal: Goal, depth: int) -> Trace | None:
        """A shortest path (at most ``depth`` steps) to a state satisfying ``goal``."""
        self._unroll(depth)
        if not self._any([goal(s) for s in self.states[: depth + 1]]):
            return None
        for length in range(depth + 1):
            self._unroll(length)
            self.solver.push()
            self.solver.add(goal(self.states[length]))
            found = decide(self.solver)
            trace = self._trace(self._plain_model(length), length) if found else None
            self.solver.pop()
            if found:
                return trace
        return None

    def find_step(self, event: Event, goal: StepGoal, depth: int) -> Trace | None:
        """A shortest path whose last step is ``event`` with ``goal(pre, post, args)``."""
        enc = self.encoding
        self._unroll(depth)
        if not self._any([self._last(event, goal, s) for s in self.states[:depth]]):
            return None
        for length in range(depth):
            self.solver.push()
            pre, post, args = self.states[length], enc.state("last"), enc.args(event, "last")
            self.solver.add(enc.step(event, pre, post, args), goal(pre, post, args))
            found = decide(self.solver)
            trace = None
            if found:
                model = self._plain_model(length, args)
                trace = self._trace(model, length)
                last = self._step(model, event, pre, post, args)
                trace = Trace(trace.start, (*trace.steps, last))
            self.solver.pop()
            if found:
                return trace
        return None

    def _plain_model(self, length: int, last: dict | None = None) -> z3.ModelRef:
        """A model of the path found, with the plain case wherever the path
        allows it, as the explorer's traces have: the host's start values
        first, and every boolean argument true (``assign_ok=false`` shows
        only where a refusal matters)."""
        spec = self.spec
        wanted = []
        for v in spec.device_variables:
            if v.type.kind.value == "bool" and len(v.init) > 1:
                const = self.states[0].device[v.name]
                wanted.append(const if v.init[0] else z3.Not(const))
        steps = [self.parts[i] for i in range(length)]
        for parts in steps:
            for event in spec.events:
                args = parts[event.name][0]
                wanted += [args[p.name] for p in event.params if p.type.kind.value == "bool"]
        if last is not None:
            wanted += [term for term in last.values() if z3.is_bool(term)]
        chosen: list[z3.BoolRef] = []
        for literal in wanted:
            if self.solver.check(*chosen, literal) == z3.sat:
                chosen.append(literal)
        self.solver.check(*chosen)
        return self.solver.model()

    def _any(self, goals: list[z3.BoolRef]) -> bool:
        """Whether some goal holds on some path: one query before the
        shortest path is searched for, so that a miss costs one check."""
        self.solver.push()
        self.solver.add(z3.Or(goals))
        found = decide(self.solver)
        self.solver.pop()
        return found

    def _last(self, event: Event, goal: StepGoal, pre: SymState) -> z3.BoolRef:
        enc = self.encoding
        post, args = enc.state("last"), enc.args(event, "last")
        return z3.And(enc.step(event, pre, post, args), goal(pre, post, args))

    # -- reading a path back ------------------------------------------------
    def _trace(self, model: z3.ModelRef, length: int) -> Trace:
        enc = self.encoding
        queues = enc.queue_values
        start = enc.concrete(model, self.states[0], queues)
        steps = []
        for i in range(length):
            pre, post = self.states[i], self.states[i + 1]
            event = next(
                e
                for e in self.spec.events
                if z3.is_true(model.evaluate(self.parts[i][e.name][1], model_completion=True))
            )
            steps.append(self._step(model, event, pre, post, self.parts[i][event.name][0]))
        return Trace(start, tuple(steps))

    def _step(self, model, event: Event, pre: SymState, post: SymState, args: dict) -> Step:
        enc = self.encoding
        queues = enc.queue_values
        values = enc.concrete_args(model, event, args, queues)
        instance = self.machine.instance(event.name, **values)
        fired = enc.fired(model, event, pre, post, args, queues)
        return Step(instance, fired, enc.concrete(model, post, queues))
