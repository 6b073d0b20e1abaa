"""The finite search behind the verdicts induction does not settle.

When a proof by induction fails, when a hygiene check needs reachable
states, or when vacuity needs a witness, the table is explored for N = 1,
2, ... queues, each N once, shared by every question (:class:`Search`).
Each run is the orbit search of ``scale`` (one state per orbit of the queue
permutations, breadth-first, so its counterexamples are shortest at that N
and concrete), or the plain explorer when the orbit search does not apply.
The smallest N with a counterexample wins; every trace used for a verdict
is replayed on the explorer's machine first (:func:`replays`).

How far it goes (:func:`search_bound`) is a search bound, not a cutoff: a
verdict that rests on it says "for N = 1..K", never "for every N".

>>> from virtio_notifier_spec.spec.load import load_spec
>>> search = Search(load_spec("proposal"))
>>> search.extend(lambda: search.first("no_lost_kick") is not None)
>>> n, found = search.first("no_lost_kick")
>>> n, len(found.trace), search.method
(1, 3, 'orbit search')
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial

from virtio_notifier_spec.model.explore import Counterexample, Exploration
from virtio_notifier_spec.model.explore import explore as explore_plain
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.model.trace import Trace
from virtio_notifier_spec.scale.search import explore as explore_reduced
from virtio_notifier_spec.scale.symmetry import symmetry_refusal
from virtio_notifier_spec.spec.expr import Expr, Quantifier, children
from virtio_notifier_spec.spec.schema import Property, PropertyKind, Spec

from .budget import UNLIMITED, Budget, OutOfTime

MIN_SEARCH = 3  # always at least 1-3 queues
MAX_SEARCH = 8  # the orbit search goes no further
PLAIN_LIMIT = 4  # the plain explorer goes no further
MAX_STATES = 200_000  # per N; a run stopped by it ends the search


def expressions(spec: Spec) -> Iterator[tuple[Expr, int]]:
    """Every expression of the table, with how many queues it has in
    context (its own queue, or the event's target): 0 or 1."""
    for event in spec.events:
        if event.when is not None:
            yield event.when, int(event.target is not None)
        for effect in event.effects:
            yield effect.value, 0
    for row in spec.transitions:
        for expr in (row.guard, *(e.value for e in row.effects)):
            if expr is not None:
                yield expr, 1
    targets = {e.name: e.target for e in spec.events}
    for prop in spec.properties:
        if prop.expr is not None:  # a step property has its events' arguments in scope
            targeted = prop.kind is PropertyKind.STEP and any(targets.get(e) for e in prop.events)
            yield prop.expr, int(prop.per_queue or targeted)


def quantifier_rank(expr: Expr) -> int:
    """The deepest nesting of queue quantifiers in ``expr``.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> step = next(p for p in load_spec("resolved").properties if p.name == "status_zero_resets")
    >>> quantifier_rank(step.expr)
    1
    """
    inner = max((quantifier_rank(c) for c in children(expr)), default=0)
    return inner + 1 if isinstance(expr, Quantifier) else inner


def search_bound(spec: Spec) -> int:
    """How many queues the search goes up to: one more than the most queues
    any expression can tell apart at once (its quantifier nesting plus the
    queue in context), at least :data:`MIN_SEARCH`, at most
    :data:`MAX_SEARCH`. A property that counts 7 queues is searched up to 8.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> search_bound(load_spec("resolved"))
    3
    """
    widest = max((quantifier_rank(e) + context for e, context in expressions(spec)), default=0)
    return min(MAX_SEARCH, max(MIN_SEARCH, widest + 1))


def orbit_refusal(spec: Spec) -> str | None:
    """Why the orbit search may not stand in for the explorer on ``spec``:
    it needs interchangeable queues (``scale``'s symmetry check). A table
    that compares queues, in any form, is still exact there: the orbit
    search then steps every queue (``scale/README.md``)."""
    refusal = symmetry_refusal(spec)
    return None if refusal is None else str(refusal)


def replays(spec: Spec, trace: Trace) -> bool:
    """True when ``trace`` is a run of the explorer's machine: it starts in
    an initial state and each step is one of the machine's choices."""
    machine = Machine(spec, len(trace.start.queues))
    if trace.start not in machine.initial_states():
        return False
    state = trace.start
    for step in trace.steps:
        if not machine.enabled(state, step.event):
            return False
        choices = machine.step(state, step.event).choices
        if not any(c.post == step.post and c.fired == step.fired for c in choices):
            return False
        state = step.post
    return True


class Search:
    """Explorations of ``spec`` for N = 1, 2, ... up to ``bound``, run on
    demand, checking beside its own properties those of ``extra`` that no
    earlier run has found false."""

    def __init__(
        self,
        spec: Spec,
        extra: tuple[Property, ...] = (),
        *,
        budget: Budget = UNLIMITED,
        bound: int | None = None,
        depth: int | None = None,
    ) -> None:
        self.spec = spec
        self.extra = extra
        self.budget = budget
        self.depth = depth  # --depth: each run goes no deeper; a run it cuts ends the search
        self.orbits = orbit_refusal(spec) is None
        self.method = "orbit search" if self.orbits else "explicit search"
        limit = MAX_SEARCH if self.orbits else PLAIN_LIMIT
        self.bound = min(limit, bound if bound is not None else search_bound(spec))
        self.runs: list[Exploration] = []  # N = 1, 2, ...; the last may be partial
        self.stopped: str | None = None  # why the search ended before its bound

    @property
    def searched(self) -> int:
        """The largest N up to which every run is complete."""
        return sum(1 for r in self.runs if r.partial is None)

    def span(self) -> str:
        """``N = 1..K`` for the runs that completed, and why it stopped early.

        >>> from virtio_notifier_spec.spec.load import load_spec
        >>> search = Search(load_spec("resolved"), budget=Budget(0.0))
        >>> search.extend(lambda: False)
        >>> search.span()
        'no N (stopped at --timeout)'
        """
        text = f"N = 1..{self.searched}" if self.searched > 1 else "N = 1" if self.searched else "no N"
        return f"{text} ({self.stopped})" if self.stopped else text

    def covered(self, what: str) -> str:
        """``what`` qualified by the runs it rests on, e.g. ``no violation
        found by the orbit search for N = 1..3``; or that none finished."""
        if self.searched == 0:
            return f"the {self.method} finished no N" + (f" ({self.stopped})" if self.stopped else "")
        return f"{what} by the {self.method} for {self.span()}"

    def extend(self, done: Callable[[], bool], upto: int | None = None) -> None:
        """Run N = next, ... until ``done()``, the bound (or ``upto``), or a stop."""
        last = self.bound if upto is None else min(upto, self.bound)
        while len(self.runs) < last and self.stopped is None and not done():
            self._run(len(self.runs) + 1)

    def _run(self, n: int) -> None:
        try:
            self.budget.charge()
        except OutOfTime as exc:
            self.stopped = str(exc)
            return
        limits = {"max_states": MAX_STATES, "timeout": self.budget.remaining(), "depth": self.depth}
        open_ = tuple(p for p in self.extra if self.first(p.name) is None)  # a found one is settled
        spec = replace(self.spec, properties=self.spec.properties + open_) if open_ else self.spec
        explore = partial(explore_reduced, symmetry="orbits") if self.orbits else explore_plain
        run = explore(spec, n, **limits)
        self.runs.append(run)
        if run.partial is not None:
            self.stopped = f"the {n}-queue search {run.partial}"

    def first(self, name: str) -> tuple[int, Counterexample] | None:
        """The smallest N with a counterexample to ``name``, and it."""
        for run in self.runs:
            if name in run.counterexamples:
                return run.queues, run.counterexamples[name]
        return None

    def complete_run(self, n: int) -> Exploration | None:
        """The run for N = ``n`` when it finished."""
        if n <= len(self.runs) and self.runs[n - 1].partial is None:
            return self.runs[n - 1]
        return None
