"""Test suites generated from the table, for driving an implementation.

Three kinds of test, each a run from a fresh device (``limited`` chosen):

- ``tour``: every reachable (state, event) pair: a shortest run to the
  state, then the event. Runs that are a prefix of another are dropped,
  since the longer one checks every step on its way.
- ``pair``: every pair of rows that can fire on one queue in two
  consecutive steps (switch coverage), for the pairs the tour missed.
- ``walk``: seeded random walks of a given length.

The tour and the pairs walk a graph (:mod:`.graph`): every concrete state,
or, above :data:`~.graph.PLAIN_LIMIT` queues for a table whose queues are
interchangeable, one state per orbit of the queue permutations. Then the
pairs are (orbit, event class) pairs, each run is replayed on concrete
queues, and the *k*-th test is renamed by a rotation, so that every queue
index plays every role across the suite: an implementation that treats its
queues alike meets every concrete (state, event) pair up to a renaming; one
that treats some queue apart still sees that queue in every role. The
rotation never changes the fresh device a test starts from: it turns the
queues that start alike among themselves (``q -> (q + k) mod N`` when every
queue starts alike). An implementation whose fresh device has, say, vhost
serving queues 0-2 of 4 keeps that configuration for its life, so a test
that renamed queue 3 into a served one would not be a run of that device.

Each test records the fresh device it was generated from (``start``).

Everything is deterministic for a given seed.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> suite = generate(load_spec("resolved"), queues=1, walks=2, walk_length=5, seed=1)
>>> suite.reachable_pairs, len(suite.row_pairs) > 0, [c.kind for c in suite.cases][-2:]
(615, True, ['walk', 'walk'])
>>> generate(load_spec("resolved"), queues=8, walks=0).reduction
'orbits'
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec

from .graph import PLAIN_LIMIT, BreadthFirst, Move, StateGraph, graph_for, symmetric_refusal
from .implementation import ImplementationFailure
from .observation import ObservationError, parse_observation

RowPair = tuple[str, str]
Run = tuple[bool, tuple[Instance, ...], State]


@dataclass(frozen=True, slots=True)
class TestCase:
    """One test: a fresh device, then ``events`` in order."""

    name: str
    kind: str
    limited: bool
    events: tuple[Instance, ...]
    start: State | None = None  # the fresh device it was generated from

    __test__ = False  # not a pytest class

    def describe(self) -> str:
        return f"start(limited={'true' if self.limited else 'false'}); " + "; ".join(str(e) for e in self.events)


@dataclass(frozen=True)
class Suite:
    """The tests, and what full coverage is: ``reachable_pairs`` (state, event)
    pairs, or (orbit, event class) pairs when ``reduction`` is ``orbits``,
    and the ``rows`` that fire from the suite's starts (every row of the
    table when neither tour nor pairs walked them);
    ``note`` says why a wanted reduction was not used."""

    spec: Spec
    queues: int
    cases: tuple[TestCase, ...]
    reachable_pairs: int
    row_pairs: frozenset[RowPair]
    rows: frozenset[str]
    seed: int
    reduction: str = "none"
    note: str | None = None
    graph: StateGraph | None = None
    keys: frozenset = frozenset()  # the pairs ``reachable_pairs`` counts


def starts_by_limited(machine: Machine) -> dict[bool, list[State]]:
    """The initial states for each value of the host's limit flag."""
    layout = machine.layout
    slot = layout.device.index("limited") if "limited" in layout.device else None
    found: dict[bool, list[State]] = {}
    for s in machine.initial_states():
        found.setdefault(bool(s.device[slot]) if slot is not None else False, []).append(s)
    return found


class _Walk:
    """One breadth-first walk of the graph from one value of ``limited``:
    the tour's runs, and what the pair analysis needs."""

    def __init__(self, graph: StateGraph, limited: bool, starts: list[State]) -> None:
        self.graph = graph
        self.limited = limited
        self.search = BreadthFirst(graph, starts)
        self.paths: dict[Hashable, tuple[Instance, ...]] = {}
        self.roots: dict[Hashable, State] = {}  # the start each node's path begins from
        self.last: dict[Hashable, dict[int, str]] = {}  # rows fired by the step into a node, by queue
        self.into: dict[Hashable, dict[tuple, tuple[Hashable, Move, int]]] = {}  # (class, row) -> how
        self.out: dict[Hashable, dict[Hashable, dict[str, Move]]] = {}  # class -> row -> move
        self.expanded: set[tuple[int, ...]] = set()
        self.runs: list[Run] = []
        self.keys: set[Hashable] = set()
        self.rows: set[str] = set()  # the rows that fire from these starts
        self.covered: set[RowPair] = set()
        self.order: list[Hashable] = []

    def run(self, progress: Callable[[int], None] | None = None) -> None:
        graph, parent = self.graph, self.search.parent
        for node, state, moves in self.search:
            self.order.append(node)
            if progress is not None and len(self.order) % 256 == 0:
                progress(len(self.order))
            link = parent[node]
            prefix = () if link is None else (*self.paths[link[0]], link[1])
            self.paths[node] = prefix
            root = state if link is None else self.roots[link[0]]
            self.roots[node] = root
            last = self.last.setdefault(node, {})
            if moves:
                self.expanded.add(tuple(i.id for i in prefix))
            out = self.out.setdefault(node, {})
            for move in moves:
                self.keys.add(move.key)
                self.runs.append((self.limited, (*prefix, move.inst), root))
                fired = {q: row.name for q, row in move.fired}
                self.rows.update(fired.values())
                self.covered.update((last[q], r) for q, r in fired.items() if q in last)
                if move.node not in self.last and parent.get(move.node) == (node, move.inst):
                    self.last[move.node] = fired
                into = self.into.setdefault(move.node, {})
                for q, name in fired.items():
                    into.setdefault((graph.queue_class(move.post, q), name), (node, move, q))
                    out.setdefault(graph.queue_class(state, q), {}).setdefault(name, move)

    def pair_runs(self, all_pairs: set[RowPair], covered: set[RowPair]) -> list[Run]:
        """A run for each pair of rows on one queue in consecutive steps that
        ``covered`` lacks; every such pair is added to ``all_pairs``."""
        runs = []
        for node in self.order:
            out = self.out.get(node, {})
            for (cls, first), (before, move, q) in self.into.get(node, {}).items():
                for second, then in out.get(cls, {}).items():
                    pair = (first, second)
                    all_pairs.add(pair)
                    if pair not in covered:
                        covered.add(pair)
                        events = (*self.paths[before], move.inst, self.graph.retarget(then.inst, q))
                        runs.append((self.limited, events, self.roots[before]))
        return runs


def _drop_prefixes(runs: list[Run], expanded: set[tuple[bool, tuple[int, ...]]]) -> list[Run]:
    """The runs that are not the path to a node the tour goes on from, once each."""
    seen, kept = set(), []
    for limited, events, start in runs:
        key = (limited, tuple(i.id for i in events))
        if key not in expanded and key not in seen:
            seen.add(key)
            kept.append((limited, events, start))
    return kept


def rotation(start: State, k: int) -> list[int]:
    """The renaming of the queues for the *k*-th test: each class of queues
    that start alike is rotated by ``k`` among itself, so that ``start`` is
    unchanged.

    >>> from virtio_notifier_spec.spec.concrete import State
    >>> rotation(State((), ((1,), (1,), (1,), (0,))), 1)
    [1, 2, 0, 3]
    """
    classes: dict[tuple, list[int]] = {}
    for q, queue in enumerate(start.queues):
        classes.setdefault(queue, []).append(q)
    perm = list(range(len(start.queues)))
    for members in classes.values():
        for i, q in enumerate(members):
            perm[q] = members[(i + k) % len(members)]
    return perm


def _rotated(graph: StateGraph, events: tuple[Instance, ...], k: int, start: State) -> tuple[Instance, ...]:
    if graph.reduction != "orbits" or k % graph.queues == 0:
        return events
    perm = rotation(start, k)
    return tuple(graph.retarget(i, perm[i.target]) if i.target is not None else i for i in events)


def generate(
    spec: Spec,
    queues: int,
    *,
    walks: int = 20,
    walk_length: int = 50,
    seed: int = 0,
    tour: bool = True,
    pairs: bool = True,
    symmetry: bool | str = "auto",
    progress: Callable[[int], None] | None = None,
    starts: Mapping[bool, list[State]] | None = None,
) -> Suite:
    """The test suite for ``queues`` queues (see the module's docstring).
    ``symmetry``: ``"auto"`` (orbits above :data:`~.graph.PLAIN_LIMIT`
    queues when the table allows), True (orbits, or the table's
    :class:`~virtio_notifier_spec.scale.symmetry.SymmetryError`) or False.
    ``progress(nodes)`` is called as the walk of the graph goes on.
    ``starts``: the fresh devices to test from, by value of ``limited``
    (default: every initial state of the table; see :func:`observed_starts`)."""
    graph = graph_for(spec, queues, symmetry)
    note = None
    if graph.reduction == "none" and symmetry == "auto" and queues > PLAIN_LIMIT:
        note = f"every concrete state is toured: {symmetric_refusal(spec)}"
    machine = graph.machine
    tour_runs: list[Run] = []
    pair_runs: list[Run] = []
    reachable: set[Hashable] = set()
    all_pairs: set[RowPair] = set()
    expanded: set[tuple[bool, tuple[int, ...]]] = set()
    covered: set[RowPair] = set()
    fired: set[str] = set()
    by_limited = dict(starts) if starts is not None else starts_by_limited(machine)
    for limited, firsts in sorted(by_limited.items()) if tour or pairs else ():
        walk = _Walk(graph, limited, firsts)
        walk.run(progress)
        tour_runs += walk.runs
        reachable |= walk.keys
        fired |= walk.rows
        expanded |= {(limited, ids) for ids in walk.expanded}
        if tour:
            covered |= walk.covered
        pair_runs += walk.pair_runs(all_pairs, covered)
    cases: list[TestCase] = []
    if tour:
        ordered = sorted(tour_runs, key=lambda r: (len(r[1]), r[0], [i.id for i in r[1]], r[2]))
        cases += [
            TestCase(f"tour-{n:05d}", "tour", lim, _rotated(graph, ev, n, st), st)
            for n, (lim, ev, st) in enumerate(_drop_prefixes(ordered, expanded))
        ]
    if pairs:
        cases += [
            TestCase(f"pair-{n:05d}", "pair", lim, _rotated(graph, ev, n, st), st)
            for n, (lim, ev, st) in enumerate(pair_runs)
        ]
    cases += random_walks(machine, walks, walk_length, seed, by_limited)
    rows = frozenset(fired) if fired else frozenset(t.name for t in spec.transitions)
    return Suite(
        spec,
        queues,
        tuple(cases),
        len(reachable),
        frozenset(all_pairs),
        rows,
        seed,
        graph.reduction,
        note,
        graph,
        frozenset(reachable),
    )


def random_walks(
    machine: Machine, count: int, length: int, seed: int, starts: Mapping[bool, list[State]] | None = None
) -> list[TestCase]:
    """``count`` seeded random walks of ``length`` enabled events each (a
    walk that reaches a state where no event is enabled ends there)."""
    rng = random.Random(seed)
    by_limited = starts if starts is not None else starts_by_limited(machine)
    cases = []
    for n in range(count):
        limited = rng.choice(sorted(by_limited))
        state = first = rng.choice(by_limited[limited])
        events = []
        for _ in range(length):
            enabled = [i for i in machine.instances if machine.enabled(state, i)]
            if not enabled:
                break
            inst = rng.choice(enabled)
            events.append(inst)
            state = rng.choice(machine.step(state, inst).choices).post
        cases.append(TestCase(f"walk-{n:05d}", "walk", limited, tuple(events), first))
    return cases


def observed_starts(machine: Machine, observe: Callable[[bool], object]) -> dict[bool, list[State]]:
    """The initial states an implementation is in, by value of ``limited``.

    A host fact with several initial values besides ``limited`` (which
    queues vhost serves, outside the adversarial profile) is the
    implementation's to choose. ``observe(limited)`` gives its fresh
    device's observation; the starts that fit it are the ones to test from
    (all of them when it does not say, or when none fits: the drive then
    reports the fresh device's divergence).
    """
    found = {}
    for limited, starts in sorted(starts_by_limited(machine).items()):
        if len(starts) == 1:
            found[limited] = starts
            continue
        try:
            obs = parse_observation(machine.spec, machine.queues, observe(limited), "observed")
        except (ObservationError, ImplementationFailure):
            found[limited] = starts
            continue
        found[limited] = [s for s in starts if not obs.mismatches(s, s, None)] or starts
    return found
