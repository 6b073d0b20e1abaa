"""An implementation and the table, stepped side by side.

After every event, :class:`SideBySide` compares the abstraction of the
device with the table's state, checks every invariant and step property on
the device's abstraction, and balances the kicks: every kick the guest made
is either handled (by pio, by our handler or by vhost) or waiting in a
notifier, never both and never twice.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.reference.abstraction import new_device
>>> spec = load_spec("resolved")
>>> run = SideBySide(spec, new_device(queues=1, limited=False))
>>> report = run.step(run.machine.instance("set_status", value="driver_ok", assign_ok=True))
>>> [row.letter for _, row in report.fired], report.problems
(['b'], ())
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.spec.concrete import Layout, State, compile_expr
from virtio_notifier_spec.spec.schema import PropertyKind, Spec, Transition

from .abstraction import abstract, perform
from .device import Device


def _show(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def differences(spec: Spec, expected: State, actual: State) -> list[str]:
    """Where an implementation's abstract state departs from the table's.

    e.g. ``q0 our_fd: table false, implementation true``
    """
    layout = Layout.of(spec)
    found = [
        f"{name}: table {_show(want)}, implementation {_show(got)}"
        for name, want, got in zip(layout.device, expected.device, actual.device, strict=True)
        if want != got
    ]
    for q, (want_q, got_q) in enumerate(zip(expected.queues, actual.queues, strict=True)):
        found += [
            f"q{q} {name}: table {_show(want)}, implementation {_show(got)}"
            for name, want, got in zip(layout.queue, want_q, got_q, strict=True)
            if want != got
        ]
    return found


class Judge:
    """The table's invariants and step properties, compiled once."""

    def __init__(self, spec: Spec) -> None:
        layout = Layout.of(spec)
        self.invariants = [
            (p, compile_expr(p.expr, layout)) for p in spec.properties if p.kind is PropertyKind.INVARIANT
        ]
        self.steps = [(p, compile_expr(p.expr, layout)) for p in spec.properties if p.kind is PropertyKind.STEP]

    def state(self, state: State) -> list[str]:
        """The invariants ``state`` breaks, e.g. ``q1 breaks no_lost_kick``."""
        broken = []
        for prop, holds in self.invariants:
            queues = range(len(state.queues)) if prop.per_queue else (None,)
            for q in queues:
                if not holds(state, None, {}, q or 0):
                    broken.append(f"q{q} breaks {prop.name}" if q is not None else f"breaks {prop.name}")
        return broken

    def step(self, pre: State, post: State, inst: Instance) -> list[str]:
        """The step properties that the step ``pre`` -> ``post`` by ``inst`` breaks."""
        args = inst.values
        return [
            f"breaks {prop.name} across the step"
            for prop, holds in self.steps
            if inst.event.name in prop.events and not holds(pre, post, args, 0)
        ]


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one event did: the rows the table fired, and every problem found."""

    fired: tuple[tuple[int, Transition], ...]
    problems: tuple[str, ...]


Call = Callable[[Device, str, dict], None]


class SideBySide:
    """The table (``machine``) and ``device``, driven by the same events."""

    def __init__(self, spec: Spec, device: Device, machine: Machine | None = None, judge: Judge | None = None) -> None:
        self.spec = spec
        self.device = device
        self.machine = machine or Machine(spec, len(device.vqs))
        self.judge = judge or Judge(spec)
        actual = abstract(device, spec)
        starts = [s for s in self.machine.initial_states() if s.device == actual.device]
        self.state = starts[0] if starts else self.machine.initial_states()[0]
        self.kicks = 0
        self.initial_problems = tuple(differences(spec, self.state, actual))

    def step(self, inst: Instance, call: Call = perform) -> StepReport:
        """Apply ``inst`` to both; ``call`` applies it to the device (default
        :func:`perform`; a test may call the device with raw values instead)."""
        outcome = self.machine.step(self.state, inst)
        if len(outcome.choices) != 1:
            raise ValueError(f"the table is not deterministic for {inst}: {len(outcome.choices)} outcomes")
        choice = outcome.choices[0]
        pre = abstract(self.device, self.spec)
        problems = []
        try:
            call(self.device, inst.event.name, inst.values)
        except Exception as exc:  # a crash of the implementation is a finding, not a test error
            problems.append(f"raised {type(exc).__name__}: {exc}")
        if inst.event.name == "kick":
            self.kicks += 1
        post = abstract(self.device, self.spec)
        problems += differences(self.spec, choice.post, post)
        problems += self.judge.state(post)
        problems += self.judge.step(pre, post, inst)
        problems += self.kick_problems()
        self.state = choice.post
        return StepReport(choice.fired, tuple(problems))

    def waiting(self) -> int:
        """Kicks signalled in the device's notifiers and not yet read."""
        return sum(self.device.host_notifier(n).counter for n in range(len(self.device.vqs)))

    def kick_balance(self) -> int:
        """Kicks made minus kicks handled or waiting: 0, or kicks lost (> 0)
        or handled more than once (< 0)."""
        return self.kicks - self.device.kicks_handled().total - self.waiting()

    def kick_problems(self) -> list[str]:
        handled = self.device.kicks_handled()
        balance = self.kick_balance()
        if balance == 0:
            return []
        what = f"{-balance} handled twice" if balance < 0 else f"{balance} vanished"
        return [
            f"kicks: {self.kicks} made, {handled.total} handled "
            f"(pio {handled.pio}, ours {handled.ioeventfd}, vhost {handled.vhost}), "
            f"{self.waiting()} waiting: {what}"
        ]

    def finish(self) -> list[str]:
        """Let every reader run once, then require every kick handled exactly once."""
        for n in range(len(self.device.vqs)):
            self.device.kernel.wake(self.device.host_notifier(n))
        problems = self.kick_problems()
        if self.waiting():
            problems.append(f"kicks: {self.waiting()} still waiting in a notifier nobody reads: lost")
        return problems
