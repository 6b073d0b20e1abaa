"""One event sequence run against an implementation, step by step: what the
spec fires at each step, the state it expects, and what the implementation
observed, with every field that differs.

For the sequence a report printed (``drive``'s shortest failing sequence,
``check``'s example), to see it happen. After a step that differs the
replay goes on from what the implementation says it has (as ``check --all``
does); it stops when the implementation fails to answer, or at an event
the table's environment cannot issue.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.oracle.implementation import ModelImplementation
>>> spec = load_spec("resolved")
>>> m = ModelImplementation(load_spec("proposal"))
>>> from virtio_notifier_spec.model.machine import Machine
>>> events = (Machine(spec, 1).instance("set_status", value="driver_ok", assign_ok=False),)
>>> r = replay(spec, m, 1, False, events)
>>> r.ok, [str(x) for x in r.steps[1].mismatches][:1]
(False, ['q0.state: expected deassigned, observed assigned'])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from virtio_notifier_spec.model.machine import Instance
from virtio_notifier_spec.model.trace import format_state, state_json
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.schema import Spec

from .fields import declared_fields, judged_fields
from .graph import graph_for
from .implementation import Implementation, ImplementationFailure
from .judge import Expected, allowed_steps, explain
from .observation import Mismatch, ObservationError, ObservationReader
from .testgen import starts_by_limited
from .visible import visible


@dataclass(frozen=True, slots=True)
class ReplayStep:
    """One step: ``number`` 0 is the fresh device."""

    number: int
    event: str
    fired: tuple[Expected, ...]
    expected: State | None  # the table's state after the step
    observed: object
    mismatches: tuple[Mismatch, ...] = ()
    failure: str | None = None  # the implementation did not answer, or the spec cannot issue the event

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.failure is None

    def to_json(self, spec: Spec) -> dict:
        return {
            "step": self.number,
            "event": self.event,
            "fired": [{"queue": e.queue, "letter": e.letter, "transition": e.transition} for e in self.fired],
            "expected": None if self.expected is None else state_json(spec, self.expected),
            "observed": self.observed,
            "mismatches": [m.to_json() for m in self.mismatches],
            "failure": self.failure,
        }


@dataclass(frozen=True)
class Replay:
    implementation: str
    spec: Spec
    queues: int
    limited: bool
    steps: tuple[ReplayStep, ...]
    length: int  # events in the sequence (the replay may stop before the end)
    stopped: str | None = None  # timeout, interrupted

    @property
    def failed(self) -> bool:
        return not all(s.ok for s in self.steps)

    @property
    def ok(self) -> bool:
        return not self.failed and len(self.steps) == self.length + 1

    def to_json(self) -> dict:
        return {
            "implementation": self.implementation,
            "variant": self.spec.name,
            "env": self.spec.env,
            "stopped": self.stopped,
            "queues": self.queues,
            "limited": self.limited,
            "verdict": "conforms" if self.ok else "diverges" if self.failed else "incomplete",
            "steps": [s.to_json(self.spec) for s in self.steps],
        }

    def text(self) -> str:
        lines = [
            f"replay {visible(self.implementation)} against {self.spec.name} in the {self.spec.env} environment, "
            f"{self.queues} queue(s), limited={'true' if self.limited else 'false'}"
        ]
        for s in self.steps:
            rows = ", ".join(str(e) for e in s.fired if e.transition) if s.fired else ""
            lines.append(f"{s.number:>3}. {s.event}" + (f"  [spec fires {rows}]" if rows else ""))
            if s.expected is not None:
                lines.append(f"     spec:     {format_state(self.spec, s.expected)}")
            if s.observed is not None or s.failure is None:
                lines.append(f"     observed: {visible(observation_text(s.observed))}")
            lines += [f"     DIFFERS {m}" for m in s.mismatches]
            if s.failure:
                lines.append(f"     FAILS {visible(s.failure)}")
        bad = sum(not s.ok for s in self.steps)
        if self.stopped is not None:
            lines.append(f"{self.stopped}: stopped after {len(self.steps) - 1} of {self.length} step(s)")
        if self.ok:
            lines.append(f"conforms: every one of {self.length} step(s) as the spec expects")
        else:
            ran = len(self.steps) - 1
            lines.append(f"diverges: {bad} step(s) differ or fail, of {ran} run (the sequence has {self.length})")
        return "\n".join(lines)


def observation_text(observed: object) -> str:
    """An observation in a line: device fields, then each queue's fields."""
    if not isinstance(observed, dict):
        return "nothing" if observed is None else repr(observed)
    parts = []
    device = observed.get("device")
    if isinstance(device, dict) and device:
        parts.append(" ".join(f"{k}={_shown(v)}" for k, v in device.items()))
    queues = observed.get("queues")
    items = enumerate(queues) if isinstance(queues, list) else (queues or {}).items()
    for q, entry in items:
        if isinstance(entry, dict) and entry:
            parts.append(f"q{q} " + " ".join(f"{k}={_shown(v)}" for k, v in entry.items()))
    return " | ".join(parts) or "nothing"


def _shown(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def replay(
    spec: Spec,
    impl: Implementation,
    queues: int,
    limited: bool,
    events: tuple[Instance, ...],
    *,
    declared: tuple[str, ...] | None = None,
    should_stop: Callable[[], str | None] | None = None,
) -> Replay:
    """Run ``events`` from a fresh device and judge every step (see the
    module). ``declared``: the fields the implementation observes (default:
    what it declares in its hello, if it does); only those are judged, and
    each step must give them. ``should_stop()`` is asked before each step;
    Ctrl-C stops the replay too, keeping the steps already judged."""
    machine = graph_for(spec, queues, False).machine
    starts = starts_by_limited(machine)[limited]
    steps: list[ReplayStep] = []
    name = lambda: getattr(impl, "name", type(impl).__name__)  # noqa: E731 - known after start
    ask = should_stop or (lambda: None)
    stopped = None
    try:
        try:
            raw = impl.start(queues, limited)
        except ImplementationFailure as exc:
            steps.append(ReplayStep(0, "start", (), starts[0], None, failure=f"{exc.kind}: {exc.detail}"))
            return Replay(name(), spec, queues, limited, tuple(steps), len(events))
        label = f"start(limited={'true' if limited else 'false'})"
        if declared is None and getattr(impl, "observes", None) is not None:
            try:
                declared = declared_fields(spec, list(impl.observes), "hello.observes")
            except SpecError as exc:
                steps.append(ReplayStep(0, label, (), starts[0], raw, failure=f"observation: {exc.message}"))
                return Replay(name(), spec, queues, limited, tuple(steps), len(events))
        reader = ObservationReader(spec, queues, judged=judged_fields(spec, declared), required=declared)
        try:
            obs = reader.read(raw, "observed", start=True)
        except ObservationError as exc:
            steps.append(ReplayStep(0, label, (), starts[0], raw, failure=f"observation: {exc.field}: {exc.message}"))
            return Replay(name(), spec, queues, limited, tuple(steps), len(events))
        states = [s for s in starts if not obs.mismatches(s, s, None)]
        mismatches = () if states else tuple(obs.mismatches(starts[0], starts[0], None))
        steps.append(ReplayStep(0, label, (), starts[0], raw, mismatches))
        states = states or [obs.patch(starts[0])]
        for number, inst in enumerate(events, 1):
            stopped = ask()
            if stopped is not None:
                break
            step, states = _step(machine, impl, reader, states, number, inst)
            steps.append(step)
            if step.failure is not None:
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        impl.close()
    return Replay(name(), spec, queues, limited, tuple(steps), len(events), stopped)


def _step(machine, impl, reader, states: list[State], number: int, inst: Instance):
    enabled = [pre for pre in sorted(states) if machine.enabled(pre, inst)]
    if not enabled:
        when = f"the spec's environment cannot issue {inst} here"
        return ReplayStep(number, str(inst), (), None, None, failure=when), states
    first = machine.step(enabled[0], inst).choices[0]
    fired = tuple(Expected(q, r.letter, r.name) for q, r in first.fired if not r.quiet or inst.target is not None)
    try:
        raw = impl.event(inst.event.name, dict(inst.args))
    except ImplementationFailure as exc:
        return ReplayStep(number, str(inst), fired, first.post, None, failure=f"{exc.kind}: {exc.detail}"), states
    try:
        obs = reader.read(raw, "observed")
    except ObservationError as exc:
        failure = f"observation: {exc.field}: {exc.message}"
        return ReplayStep(number, str(inst), fired, first.post, raw, failure=failure), states
    steps = allowed_steps(machine, enabled, inst, obs)
    if steps:
        return ReplayStep(number, str(inst), fired, steps[0][1].post, raw), [c.post for _, c in steps]
    mismatches, _ = explain(machine, enabled, inst, obs)
    resync = [obs.patch(c.post) for p in enabled for c in machine.step(p, inst).choices]
    return ReplayStep(number, str(inst), fired, first.post, raw, mismatches), resync
