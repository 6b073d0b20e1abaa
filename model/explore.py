"""Breadth-first exploration of every reachable state, checking every property.

Because states are visited in breadth-first order, the first violation found
of each property comes with a shortest trace from a start. Besides the
table's named properties the exploration checks the table itself:

- ``deterministic``: in every reachable state each event fires at most one
  row per queue;
- ``complete``: ... and at least one (an ignored event has an explicit row);
- ``no_dead_transition``: every row fires somewhere, from each of its
  source states (a row listed for three states must fire from all three).

>>> from virtio_notifier_spec.spec.load import load_spec
>>> result = explore(load_spec("resolved"), queues=1)
>>> result.ok, result.states
(True, 38)
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from virtio_notifier_spec.spec.concrete import State, compile_expr
from virtio_notifier_spec.spec.expr import is_local
from virtio_notifier_spec.spec.profile import not_issued_note, vacuous
from virtio_notifier_spec.spec.schema import Property, PropertyKind, Spec

from .machine import Instance, Machine
from .trace import Step, Trace

if TYPE_CHECKING:
    from .liveness import LivenessFailure, LivenessRun

HYGIENE = ("deterministic", "complete", "no_dead_transition")

#: The note of a search asked to run on a cluster that only runs here.
ON_THIS_MACHINE = "only the packed engine runs on a cluster: this search ran on this machine"

#: Why a search stopped early (an :class:`Exploration`'s ``partial``).
TIMEOUT = "stopped at --timeout"
INTERRUPTED = "interrupted"
#: The verdict of a property a command did not check (it says which command does).
NOT_CHECKED = "not checked"


def depth_stop(depth: int) -> str:
    """Why a search bounded by ``--depth`` is incomplete: some state at that
    depth has a successor the search did not visit."""
    return f"stopped at --depth {depth}"


@dataclass(frozen=True, slots=True)
class Counterexample:
    """Why a property fails: a shortest trace to the bad state or step.

    ``other`` is a second trace for properties about two runs (history
    freedom: two histories that agree on the inputs yet end apart).
    """

    name: str
    message: str
    trace: Trace
    other: Trace | None = None


@dataclass(frozen=True)
class Exploration:
    """What one search found. ``partial`` says why it stopped before the end
    (--max-states, :data:`TIMEOUT`, :data:`INTERRUPTED`); then the states,
    coverage and counterexamples are those found so far, and a property with
    no counterexample is undecided."""

    spec: Spec
    queues: int
    states: int
    transitions: int
    depth: int
    fired: dict[str, int]
    counterexamples: dict[str, Counterexample]
    seconds: float
    partial: str | None = None
    checks: tuple[str, ...] = field(default=())
    reduction: str = "none"
    concrete_states: int | None = None
    cutoff: int | None = None
    unfired_sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # why the search run is not the one asked for (scale/search.py)
    # The properties of infinite runs at the same queue count, each decided on
    # the graph that decides it (scale/verdicts.py), and those not checked:
    # property -> why, and the command that checks it.
    liveness: tuple[LivenessRun, ...] = ()
    not_checked: dict[str, str] = field(default_factory=dict)

    def noted(self, *notes: str) -> Exploration:
        """The same result with ``notes`` added."""
        return dataclasses.replace(self, notes=(*self.notes, *notes))

    @property
    def every_check(self) -> tuple[str, ...]:
        """The names of :attr:`checks`, then the table's liveness properties
        that were checked or are marked not checked, in the table's order."""
        live = {n for run in self.liveness for n in run.checks} | set(self.not_checked)
        return (*self.checks, *(p.name for p in self.spec.liveness if p.name in live))

    @property
    def lassos(self) -> dict[str, LivenessFailure]:
        """The failing liveness properties, each with its lasso."""
        return {name: f for run in self.liveness for name, f in run.failures.items()}

    def liveness_run(self, name: str) -> LivenessRun | None:
        """The liveness run that decided ``name``."""
        return next((run for run in self.liveness if name in run.checks), None)

    @property
    def failed(self) -> bool:
        """Some property fails: a counterexample or a lasso."""
        return bool(self.counterexamples) or any(run.failures for run in self.liveness)

    @property
    def undecided(self) -> str | None:
        """Why some property has no verdict (the search, or a liveness run, stopped early)."""
        return self.partial or next((run.partial for run in self.liveness if run.partial), None)

    @property
    def ok(self) -> bool:
        return not self.failed and self.undecided is None

    @property
    def dead(self) -> tuple[str, ...]:
        """Rows that never fire, then ``row from state`` for a row that never
        fires from one of its sources."""
        return tuple(name for name, count in self.fired.items() if count == 0) + self.unfired_sources

    @property
    def not_run(self) -> tuple[str, ...]:
        """The rows of the events the environment does not issue: no search
        runs them (``Spec.unissued_rows``); they count as not fired."""
        return tuple(row.name for row in self.spec.unissued_rows)

    @property
    def rows(self) -> int:
        """Every row of the table, those the environment never runs included."""
        return len(self.fired) + len(self.spec.unissued_rows)

    def reason(self, name: str) -> str | None:
        """Why check ``name`` is ``vacuous`` or ``not applicable`` here, or None."""
        return explained(self.spec, name)

    def verdict(self, name: str) -> str:
        """``holds``, ``fails``, ``unknown`` (the run stopped before it could
        tell), ``not checked``, ``vacuous`` (its events are not issued:
        nothing was checked) or ``not applicable`` (the dead-row check in an
        environment that leaves rows out), for any check of :attr:`every_check`."""
        if name in self.not_checked:
            return NOT_CHECKED
        run = self.liveness_run(name)
        if run is not None:
            return run.verdict(name)
        if name in self.counterexamples:
            return "fails"
        if self.partial:
            return "unknown"
        return explained_verdict(self.spec, name) or "holds"


def explained_verdict(spec: Spec, name: str) -> str | None:
    """``vacuous`` or ``not applicable`` for check ``name`` of ``spec``, when
    it has no counterexample; None when it is judged as usual."""
    if name == "no_dead_transition":
        return "not applicable" if explained(spec, name) else None
    return "vacuous" if explained(spec, name) else None


def explained(spec: Spec, name: str) -> str | None:
    """Why check ``name`` says nothing (or not everything) in ``spec``'s
    environment: a property whose events it does not issue (``vacuous``),
    or ``no_dead_transition`` where rows are left out by the environment."""
    if name == "no_dead_transition":
        if spec.restricted:
            return f"the {spec.env} environment restricts its events: a row may be unreachable without being dead"
        return not_issued_note(spec)
    prop = next((p for p in (*spec.properties, *spec.liveness) if p.name == name), None)
    return None if prop is None else vacuous(spec, prop)


class _Stop(Exception):
    pass


class Explorer:
    """One exploration; use :func:`explore`."""

    def __init__(
        self,
        spec: Spec,
        queues: int,
        *,
        max_states: int | None,
        timeout: float | None,
        progress: Callable[[int, int, int], None] | None,
        depth: int | None = None,
    ) -> None:
        self.spec = spec
        self.machine = Machine(spec, queues)
        self.max_states = max_states
        self.bound = depth
        self.cut = False  # a state at the depth bound has a successor not visited
        self.deadline = time.monotonic() + timeout if timeout else None
        self.progress = progress
        self.parent: dict[State, tuple[State, Step] | None] = {}
        self.found: dict[str, Counterexample] = {}
        self.fired = {row.name: 0 for row in spec.transitions}
        self.fired_from: set[tuple[str, str]] = set()
        self.edges = 0
        layout = self.machine.layout
        props = spec.properties
        self.invariants = [(p, compile_expr(p.expr, layout)) for p in props if p.kind is PropertyKind.INVARIANT]
        self.steps = [(p, compile_expr(p.expr, layout)) for p in props if p.kind is PropertyKind.STEP]
        self.history = [p for p in props if p.kind is PropertyKind.HISTORY_FREE]
        self.history_seen: dict[tuple, tuple[State, State, Instance]] = {}
        self.queue_memo: dict[tuple, tuple[str, ...]] = {}
        self.local_queue_invariants = [(p, f) for p, f in self.invariants if p.per_queue and is_local(p.expr)]
        self.other_invariants = [(p, f) for p, f in self.invariants if (p.per_queue, is_local(p.expr)) != (True, True)]
        names = [p.name for p in props]
        self.checks = (*names, *HYGIENE)

    # -- traces -------------------------------------------------------------
    def trace_to(self, state: State, *extra: Step) -> Trace:
        steps: list[Step] = list(reversed(extra))
        while (link := self.parent[state]) is not None:
            state, step = link
            steps.append(step)
        return Trace(state, tuple(reversed(steps)))

    def report(self, name: str, message: str, state: State, *extra: Step, other: Trace | None = None) -> None:
        if name not in self.found:
            self.found[name] = Counterexample(name, message, self.trace_to(state, *extra), other)

    # -- checks -------------------------------------------------------------
    def check_state(self, state: State) -> None:
        for q, queue in enumerate(state.queues):
            key = (state.device, queue)
            failing = self.queue_memo.get(key)
            if failing is None:
                failing = tuple(p.name for p, f in self.local_queue_invariants if not f(state, None, {}, q))
                self.queue_memo[key] = failing
            for name in failing:
                self.report(name, f"queue {q} breaks {name} in the last state", state)
        for prop, f in self.other_invariants:
            queues = range(len(state.queues)) if prop.per_queue else (0,)
            for q in queues:
                if not f(state, None, {}, q):
                    self.report(prop.name, f"{prop.name} is false in the last state", state)

    def check_step(self, state: State, inst: Instance, step: Step) -> None:
        args = inst.values
        for prop, f in self.steps:
            if inst.event.name in prop.events and not f(state, step.post, args, 0):
                self.report(prop.name, f"{prop.name} is false across the last step", state, step)
        for prop in self.history:
            if inst.event.name in prop.events:
                self.check_history(prop, state, inst, step)

    def check_history(self, prop: Property, state: State, inst: Instance, step: Step) -> None:
        layout = self.machine.layout
        inputs = []
        for name in prop.inputs:
            if name in layout.device:
                inputs.append(state.device[layout.device.index(name)])
            else:
                slot = layout.queue.index(name)
                inputs.append(tuple(queue[slot] for queue in state.queues))
        key = (prop.name, inst.id, tuple(inputs))
        seen = self.history_seen.setdefault(key, (state, step.post, inst, step))
        if seen[1] != step.post and prop.name not in self.found:
            other = self.trace_to(seen[0], seen[3])
            self.report(
                prop.name,
                f"two histories that agree on {', '.join(prop.inputs)} and on the "
                f"arguments of {inst.event.name} end in different states",
                state,
                step,
                other=other,
            )

    # -- the search ---------------------------------------------------------
    def run(self) -> tuple[int, str | None]:
        """Search until done, or until --max-states, --timeout, --depth or
        Ctrl-C stops it: then the depth reached and why it stopped
        (``partial``). The states at the depth bound are expanded (their
        steps checked and counted) but what they lead to is not visited; the
        search is cut, and incomplete, only if one of them leads somewhere new."""
        machine = self.machine
        frontier: deque[tuple[State, int]] = deque()
        depth = 0
        try:
            for start in machine.initial_states():
                if start not in self.parent:
                    self.parent[start] = None
                    self.check_state(start)
                    frontier.append((start, 0))
            while frontier:
                state, level = frontier.popleft()
                depth = max(depth, level)
                self.expand(state, level, frontier)
                if self.deadline is not None and time.monotonic() > self.deadline:
                    raise _Stop(TIMEOUT)
        except _Stop as stop:
            return depth, str(stop)
        except KeyboardInterrupt:  # keep what was found: the caller prints it
            return depth, INTERRUPTED
        return depth, depth_stop(self.bound) if self.cut else None

    def expand(self, state: State, level: int, frontier: deque) -> None:
        machine = self.machine
        for inst in machine.instances:
            if not machine.enabled(state, inst):
                continue
            outcome = machine.step(state, inst)
            if outcome.undefined:
                q = outcome.undefined[0]
                self.report(
                    "complete",
                    f"no row of the table says what {inst} does to queue {q} in state {state.queues[q][0]}",
                    state,
                )
            if outcome.ambiguous:
                q, rows = outcome.ambiguous[0]
                names = " and ".join(r.name for r in rows)
                self.report("deterministic", f"{inst} fires both {names} on queue {q}", state)
            for choice in outcome.choices:
                self.edges += 1
                for q, row in choice.fired:
                    self.fired[row.name] += 1
                    self.fired_from.add((row.name, state.queues[q][0]))
                step = Step(inst, choice.fired, choice.post)
                self.check_step(state, inst, step)
                post = choice.post
                if post not in self.parent and self.bound is not None and level >= self.bound:
                    self.cut = True
                elif post not in self.parent:
                    self.parent[post] = (state, step)
                    self.check_state(post)
                    frontier.append((post, level + 1))
                    self.admit(level + 1)

    def admit(self, level: int) -> None:
        count = len(self.parent)
        if self.progress is not None and count % 2000 == 0:
            self.progress(count, self.edges, level)
        if self.max_states is not None and count >= self.max_states:
            raise _Stop(f"stopped at --max-states {self.max_states}")


#: ``engine=`` of :func:`explore`: the packed engine where it applies, else the general one.
ENGINES = ("auto", "packed", "general")


def explore(
    spec: Spec,
    queues: int = 2,
    *,
    max_states: int | None = None,
    timeout: float | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    engine: str = "auto",
    workers: int = 1,
    cluster=None,
    depth: int | None = None,
) -> Exploration:
    """Explore every reachable state of ``spec`` for ``queues`` queues (no
    deeper than ``depth`` steps from a start, when given: a search the bound
    cuts is partial, :func:`depth_stop`).

    ``engine``: ``"auto"`` uses the packed engine (:mod:`.packed`) when the
    table is inside its fragment (:func:`.packable.packed_refusal`) and the
    general explorer otherwise; ``"packed"`` or ``"general"`` force one (the
    cross-checks); a forced packed run of a table outside raises the
    refusal, a :class:`~.packable.NotPackable`. Both give the same result. ``workers``: threads
    that expand the packed engine's frontier; ``cluster``: machines that do
    (``scale/cluster.py``; the general explorer runs here, and says so).

    The reductions by queue symmetry are in :mod:`virtio_notifier_spec.scale.search`.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> r = explore(load_spec("resolved"), 3)
    >>> r.ok, r.states
    (True, 422)
    >>> explore(load_spec("resolved"), 3, engine="general").transitions == r.transitions
    True
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine != "general":
        from .packed import explore_packed, packed_engine_refusal

        refusal = packed_engine_refusal(spec, queues)
        if refusal is None:
            return explore_packed(
                spec,
                queues,
                max_states=max_states,
                timeout=timeout,
                progress=progress,
                workers=workers,
                depth=depth,
                cluster=cluster,
            )
        if engine == "packed":
            raise refusal
    result = explore_general(spec, queues, max_states=max_states, timeout=timeout, progress=progress, depth=depth)
    return result.noted(ON_THIS_MACHINE) if cluster is not None else result


def explore_general(
    spec: Spec,
    queues: int = 2,
    *,
    max_states: int | None = None,
    timeout: float | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    depth: int | None = None,
) -> Exploration:
    """The general explorer: any table, one state object at a time."""
    began = time.perf_counter()
    explorer = Explorer(spec, queues, max_states=max_states, timeout=timeout, progress=progress, depth=depth)
    depth, partial = explorer.run()
    unfired = unfired_sources(spec, explorer.fired, explorer.fired_from)
    if partial is None:
        record_dead(explorer.fired, unfired, explorer.machine.initial_states()[0], explorer.found, spec.restricted)
    found = {name: explorer.found[name] for name in explorer.checks if name in explorer.found}
    return Exploration(
        spec,
        queues,
        len(explorer.parent),
        explorer.edges,
        depth,
        explorer.fired,
        found,
        time.perf_counter() - began,
        partial,
        explorer.checks,
        concrete_states=len(explorer.parent),
        unfired_sources=unfired,
    )


def record_dead(
    fired: dict[str, int], unfired: tuple[str, ...], start: State, found: dict, restricted: bool = False
) -> None:
    """Record ``no_dead_transition`` in ``found`` when a row, or a row from
    one of its sources, never fired in a complete exploration. In a
    restricted environment (``Spec.restricted``: an environment profile
    narrows what the events may do) an unreachable row is not dead, only
    unexercised: ``Exploration.dead`` still lists it, but nothing fails."""
    dead = [name for name, count in fired.items() if count == 0] + list(unfired)
    if dead and not restricted:
        found["no_dead_transition"] = Counterexample(
            "no_dead_transition", "never fires in any reachable state: " + ", ".join(dead), Trace(start, ())
        )


def unfired_sources(spec: Spec, fired: dict[str, int], fired_from: set[tuple[str, str]]) -> tuple[str, ...]:
    """``row from state`` for each source of a row that fired, but never from there."""
    return tuple(
        f"{row.name} from {source}"
        for row in spec.transitions
        if fired[row.name]
        for source in row.sources
        if (row.name, source) not in fired_from
    )
