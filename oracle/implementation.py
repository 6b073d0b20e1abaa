"""What the oracle drives: an implementation of the notifier machine.

Anything with three methods is one (:class:`Implementation`):

- ``start(queues, limited)``: a fresh device (transition a) on a host with
  or without the 6-ioeventfd limit; returns its observation or None;
- ``event(name, args)``: one of the table's events, named and with
  arguments exactly as in ``spec/common.toml``; returns what the
  implementation observed after it (see :mod:`.observation`) or None;
- ``close()``: end it; the next ``start`` begins afresh (a child process
  is started again), which is how the oracle confirms a failure from a
  fresh start.

A Python implementation is checked in-process through this interface: wrap
it in :class:`CallbackImplementation` (or write the three methods). Another
language speaks the same thing over a pipe (:mod:`.process`). Failing to
answer is an :class:`ImplementationFailure`, which the oracle reports.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> impl = ModelImplementation(load_spec("resolved"))
>>> impl.start(1, False)["queues"][0]["state"]
'deassigned'
>>> impl.event("set_status", {"value": "driver_ok", "assign_ok": True})["queues"][0]["state"]
'assigned'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec

from .observation import KICK_EVENT, full_observation


class ImplementationFailure(Exception):
    """The implementation did not answer as the protocol says.

    ``kind``: crash, timeout, protocol (garbage or a malformed reply),
    error (it answered ok=false, or raised), observation (its observation
    does not fit the table).
    """

    def __init__(self, kind: str, detail: str, stderr: str = "") -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.stderr = stderr


class StrayReply(ImplementationFailure):
    """A reply that answers an earlier request (late, or a second one), or
    output after a reply: a ``protocol`` failure of the run that caused it.

    ``run`` numbers the implementation's ``start`` requests (1 is the first;
    an implementation that can answer late says which run is in progress in
    its ``current_run`` attribute) and ``step`` the request within that run (0 is
    ``start``).
    """

    def __init__(self, detail: str, run: int, step: int, stderr: str = "") -> None:
        super().__init__("protocol", detail, stderr)
        self.run = run
        self.step = step


class Implementation(Protocol):
    name: str

    def start(self, queues: int, limited: bool) -> object: ...

    def event(self, name: str, args: dict) -> object: ...

    def close(self) -> None: ...


class ModelImplementation:
    """The table itself as an implementation (another table, e.g. ``proposal``,
    checked against ``resolved``, is a faulty one). Reports every variable
    and ``handled``; for a nondeterministic table it takes the first choice,
    and the first fresh device unless ``choose`` picks one of them."""

    def __init__(
        self,
        spec: Spec,
        name: str | None = None,
        *,
        report_handled: bool = True,
        choose: Callable[[list[State]], State] | None = None,
    ) -> None:
        self.spec = spec
        self.name = name or f"model:{spec.name}"
        self.report_handled = report_handled
        self.choose = choose or (lambda starts: starts[0])
        self.machine: Machine | None = None
        self.state: State | None = None

    def start(self, queues: int, limited: bool) -> object:
        if self.machine is None or self.machine.queues != queues:
            self.machine = Machine(self.spec, queues)
        layout = self.machine.layout
        starts = self.machine.initial_states()
        if "limited" in layout.device:
            slot = layout.device.index("limited")
            starts = [s for s in starts if s.device[slot] == limited]
        self.state = self.choose(starts)
        return full_observation(self.spec, None, self.state, None)

    def event(self, name: str, args: dict) -> object:
        assert self.machine is not None and self.state is not None
        try:
            inst = self.machine.instance(name, **args)
        except KeyError:
            raise ImplementationFailure("error", f"no event {name}({args})") from None
        pre = self.state
        if self.machine.enabled(pre, inst):
            self.state = self.machine.step(pre, inst).choices[0].post
        kicked = inst.target if name == KICK_EVENT else None
        return full_observation(self.spec, pre if self.report_handled else None, self.state, kicked)

    def close(self) -> None:
        pass


class CallbackImplementation:
    """A Python implementation given as three callables.

    ``new(queues, limited) -> device``; ``perform(device, event, args)``;
    ``observe(device) -> observation dict`` (any subset of the fields).
    An exception raised by the implementation is a failure (kind ``error``).
    """

    def __init__(
        self,
        new: Callable[[int, bool], object],
        perform: Callable[[object, str, dict], object],
        observe: Callable[[object], object],
        name: str = "python",
    ) -> None:
        self.new, self.perform, self.observe, self.name = new, perform, observe, name
        self.device: object = None

    def start(self, queues: int, limited: bool) -> object:
        try:
            self.device = self.new(queues, limited)
            return self.observe(self.device)
        except Exception as exc:  # the implementation's own bug: reported, not raised
            raise ImplementationFailure("error", f"start raised {type(exc).__name__}: {exc}") from None

    def event(self, name: str, args: dict) -> object:
        try:
            self.perform(self.device, name, dict(args))
            return self.observe(self.device)
        except Exception as exc:  # the implementation's own bug: reported, not raised
            raise ImplementationFailure("error", f"{name} raised {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        self.device = None


def state_observer(spec: Spec, abstract: Callable[[object, Spec], State]) -> Callable[[object], dict]:
    """An ``observe`` for :class:`CallbackImplementation` from an abstraction
    function ``abstract(device, spec) -> State`` (every variable, no ``handled``)."""

    def observe(device: object) -> dict:
        return full_observation(spec, None, abstract(device, spec), None)

    return observe
