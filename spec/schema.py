"""The data model of a loaded table: frozen records, validated on load.

Nothing here reads TOML (that is :mod:`.load`); everything downstream (the
explorer, the proofs, the diagrams, the oracle) reads these records only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from .expr import Effect, Expr, Type

if TYPE_CHECKING:
    from .profile import Profile


class Scope(Enum):
    """Where a variable lives: once per device, or once per virtqueue."""

    DEVICE = "device"
    QUEUE = "queue"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record was written, for error messages. ``files`` names the
    keys written in another file than ``file`` (a variant that extends
    another changes some fields of a row and inherits the others)."""

    file: str
    line: int
    keys: tuple[tuple[str, int], ...] = ()
    files: tuple[tuple[str, str], ...] = ()

    def line_of(self, key: str) -> int:
        """The line of one of the entry's keys; the entry's line without it."""
        return dict(self.keys).get(key, self.line)

    def file_of(self, key: str) -> str:
        """The file where one of the entry's keys was written."""
        return dict(self.files).get(key, self.file)


@dataclass(frozen=True, slots=True)
class Variable:
    """A state variable, of the device or of every queue.

    ``init`` lists the values a run may start with (several: every one is
    explored); ``host`` marks facts of the host rather than of the device
    (the limit flag, vhost's holdings), which migration does not carry.
    """

    name: str
    type: Type
    scope: Scope
    init: tuple
    doc: str
    host: bool = False
    source: Source | None = field(default=None, compare=False)

    @property
    def per_queue(self) -> bool:
        return self.scope is Scope.QUEUE


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: Type


class Fairness(Enum):
    """What the environment promises about an event, for liveness.

    ``none``: nothing (a guest may never write its status again, a VM may
    never stop). ``weak``: if the event stays enabled it eventually happens.
    ``strong``: if it is enabled again and again it eventually happens.
    For an event with a ``target`` the promise is made for each queue
    separately (each queue's handler is its own thread); the event's other
    parameters are the environment's choice.
    """

    NONE = "none"
    WEAK = "weak"
    STRONG = "strong"


@dataclass(frozen=True, slots=True)
class Event:
    """An entry point. ``target`` names the queue parameter when the event
    concerns one queue; None when it concerns every queue of the device.
    ``when`` says when the environment can issue it at all (not a guard of
    the machine: an event outside ``when`` is not offered, not ignored).
    ``fairness`` is read only by the liveness checks."""

    name: str
    params: tuple[Parameter, ...]
    target: str | None
    when: Expr | None
    effects: tuple[Effect, ...]
    doc: str
    source: Source | None = field(default=None, compare=False)
    fairness: Fairness = Fairness.NONE


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: on ``event``, a queue in one of ``sources``
    whose ``guard`` holds moves to ``target`` (None: stays) and applies
    ``effects``. ``otherwise`` rows fire when no other row of the same
    event and source does; ``letter`` is the seed message's, if any."""

    name: str
    letter: str | None
    event: str
    sources: tuple[str, ...]
    target: str | None
    guard: Expr | None
    otherwise: bool
    effects: tuple[Effect, ...]
    why: str
    source: Source | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """The letter, or the name for rows the message did not letter."""
        return self.letter or self.name

    @property
    def quiet(self) -> bool:
        """True for a row that changes nothing: an ignored event."""
        return not self.effects and (self.target is None or self.sources == (self.target,))


class PropertyKind(Enum):
    INVARIANT = "invariant"
    STEP = "step"
    HISTORY_FREE = "history_free"
    LEADS_TO = "leads_to"
    RECOVERABLE = "recoverable"
    DEADLOCK_FREE = "deadlock_free"


#: The kinds about infinite runs: a :class:`Liveness` record, checked on the
#: whole reachable graph (``model/liveness.py``), never in ``Spec.properties``.
LIVENESS_KINDS = (PropertyKind.LEADS_TO, PropertyKind.RECOVERABLE, PropertyKind.DEADLOCK_FREE)


@dataclass(frozen=True, slots=True)
class Property:
    """A named property with its rationale.

    - ``invariant``: ``expr`` holds in every reachable state; when
      ``per_queue`` it is read once for each queue (bare per-queue names).
    - ``step``: ``expr`` holds across every step of ``events`` (primed
      names are the state after the step; the event's parameters are in
      scope).
    - ``history_free``: after every step of ``events`` the state is a
      function of the event's arguments and the ``inputs`` variables of the
      state before: two histories that agree on those end in one state.
    """

    name: str
    kind: PropertyKind
    expr: Expr | None
    per_queue: bool
    events: tuple[str, ...]
    inputs: tuple[str, ...]
    rationale: str
    lemma: bool = False
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Liveness:
    """A property of infinite runs, with its rationale.

    - ``leads_to``: ``premise ~> goal``: whenever ``premise`` holds, ``goal``
      holds then or later, on every run that is fair to the events declared
      fair. With ``events``, the premise is a step of those events (read as
      a step property: primed names, the events' parameters) and ``goal``
      may name their queue parameter.
    - ``recoverable``: from every reachable state where ``premise`` holds
      (every state when None), some continuation reaches ``goal``.
    - ``deadlock_free``: every reachable state offers some event.

    ``per_queue``: bare per-queue names in ``premise`` and ``goal`` mean one
    queue, the same in both; the property is read once for each queue.
    """

    name: str
    kind: PropertyKind
    premise: Expr | None
    goal: Expr | None
    per_queue: bool
    events: tuple[str, ...]
    rationale: str
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class VhostEvent:
    """An event vhost issues; ``take`` (over the event's parameters) says when
    it takes host notifiers, None when it never does."""

    event: str
    take: Expr | None


@dataclass(frozen=True, slots=True)
class Slots:
    """What holds one of a limited host's ioeventfds (``spec/slots.py``):
    each true ``holders`` flag of a queue is one; ``limit`` is the host fact
    that says the host has a limit; ``answer`` is the event parameter that
    is KVM's answer to one assignment; ``vhost`` are vhost's events;
    ``addresses`` is how many ioeventfds one holder registers (one per
    notify address of the queue: kvmtool's port and memory addresses, 2);
    ``size`` is how many slots a host with the limit has (None: not said)."""

    holders: tuple[str, ...]
    limit: str | None
    answer: str | None
    vhost: tuple[VhostEvent, ...]
    source: Source | None = field(default=None, compare=False)
    addresses: int = 1
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Spec:
    """A whole table: one variant of the machine and its environment.

    ``profiles`` are the environments the table declares (``profile.py``);
    ``env`` names the one applied. ``restricted`` is true when it is not
    exhaustive: rows may then be unreachable without being dead, and the
    dead-row checks report them instead of failing. ``unissued_events`` are
    the events of the table the environment does not issue, and
    ``unissued_rows`` their rows: no search runs them, every verdict says so
    (rows fired, coverage, ``no_dead_transition``), and a property whose
    premise needs only such events is vacuous (``profile.vacuous``).
    """

    name: str
    summary: str
    files: tuple[str, ...]
    states: Type
    start: str
    types: tuple[Type, ...]
    variables: tuple[Variable, ...]
    events: tuple[Event, ...]
    transitions: tuple[Transition, ...]
    properties: tuple[Property, ...]
    base: str | None = None  # the main file of the table this one extends, if any
    profiles: tuple[Profile, ...] = ()
    env: str = "unrestricted"
    restricted: bool = False
    liveness: tuple[Liveness, ...] = ()
    slots: Slots | None = None  # the [slots] declaration, if the table has one
    unissued_events: tuple[Event, ...] = ()
    unissued_rows: tuple[Transition, ...] = ()

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)

    def event(self, name: str) -> Event:
        return next(e for e in self.events if e.name == name)

    @property
    def device_variables(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.scope is Scope.DEVICE)

    @property
    def queue_variables(self) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.scope is Scope.QUEUE)

    def rows(self, event: str, state: str) -> tuple[Transition, ...]:
        """The transitions of ``event`` out of ``state``, in table order."""
        return tuple(t for t in self.transitions if t.event == event and state in t.sources)
