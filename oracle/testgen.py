"""Test suites generated from the table, for driving an implementation.

Three kinds of test, each a run from a fresh device (``limited`` chosen):

- ``tour``: every reachable (state, event) pair: the shortest run to the
  state, then the event. Runs that are a prefix of another are dropped,
  since the longer one checks every step on its way.
- ``pair``: every pair of rows that can fire on one queue in two
  consecutive steps (switch coverage), for the pairs the tour missed.
- ``walk``: seeded random walks of a given length.

Everything is deterministic for a given seed.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> suite = generate(load_spec("resolved"), queues=1, walks=2, walk_length=5, seed=1)
>>> suite.reachable_pairs, len(suite.row_pairs) > 0, [c.kind for c in suite.cases][-2:]
(615, True, ['walk', 'walk'])
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec

RowPair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class TestCase:
    """One test: a fresh device, then ``events`` in order."""

    name: str
    kind: str
    limited: bool
    events: tuple[Instance, ...]

    __test__ = False  # not a pytest class

    def describe(self) -> str:
        return f"start(limited={'true' if self.limited else 'false'}); " + "; ".join(str(e) for e in self.events)


@dataclass(frozen=True)
class Suite:
    spec: Spec
    queues: int
    cases: tuple[TestCase, ...]
    reachable_pairs: int
    row_pairs: frozenset[RowPair]
    rows: frozenset[str]
    seed: int


def starts_by_limited(machine: Machine) -> dict[bool, list[State]]:
    """The initial states for each value of the host's limit flag."""
    layout = machine.layout
    slot = layout.device.index("limited") if "limited" in layout.device else None
    found: dict[bool, list[State]] = {}
    for s in machine.initial_states():
        found.setdefault(bool(s.device[slot]) if slot is not None else False, []).append(s)
    return found


def _bfs(machine: Machine, starts: list[State]):
    """Shortest paths (as parent links) and the states in breadth-first order."""
    parent: dict[State, tuple[State, Instance] | None] = {s: None for s in starts}
    order = list(starts)
    frontier = deque(starts)
    while frontier:
        state = frontier.popleft()
        for inst in machine.instances:
            if not machine.enabled(state, inst):
                continue
            for choice in machine.step(state, inst).choices:
                if choice.post not in parent:
                    parent[choice.post] = (state, inst)
                    order.append(choice.post)
                    frontier.append(choice.post)
    return parent, order


def _path(parent, state: State) -> tuple[Instance, ...]:
    path = []
    while (link := parent[state]) is not None:
        state, inst = link
        path.append(inst)
    return tuple(reversed(path))


def _drop_prefixes(runs: list[tuple[bool, tuple[Instance, ...]]]) -> list[tuple[bool, tuple[Instance, ...]]]:
    keys = {(lim, tuple(i.id for i in ev)) for lim, ev in runs}
    proper = {(lim, ids[:k]) for lim, ids in keys for k in range(len(ids))}
    seen, kept = set(), []
    for lim, ev in runs:
        key = (lim, tuple(i.id for i in ev))
        if key not in proper and key not in seen:
            seen.add(key)
            kept.append((lim, ev))
    return kept


def generate(
    spec: Spec,
    queues: int,
    *,
    walks: int = 20,
    walk_length: int = 50,
    seed: int = 0,
    tour: bool = True,
    pairs: bool = True,
) -> Suite:
    """The test suite for ``queues`` queues (see the module's docstring)."""
    machine = Machine(spec, queues)
    tour_runs: list[tuple[bool, tuple[Instance, ...]]] = []
    pair_runs: list[tuple[bool, tuple[Instance, ...]]] = []
    reachable = 0
    all_pairs: set[RowPair] = set()
    covered: set[RowPair] = set()
    for limited, starts in sorted(starts_by_limited(machine).items()):
        parent, order = _bfs(machine, starts)
        into: dict[State, set] = {}
        for state in order:
            prefix = _path(parent, state)
            for inst in machine.instances:
                if not machine.enabled(state, inst):
                    continue
                reachable += 1
                tour_runs.append((limited, (*prefix, inst)))
                for choice in machine.step(state, inst).choices:
                    into.setdefault(choice.post, set()).add((state, inst, choice.fired))
        covered |= _row_pairs_of_runs(machine, starts, [ev for lim, ev in tour_runs if lim == limited])
        index = {s: n for n, s in enumerate(order)}
        for s1 in order:
            for s0, inst1, fired1 in sorted(into.get(s1, ()), key=lambda x: (index[x[0]], x[1].id)):
                rows1 = dict(fired1)
                for inst2 in machine.instances:
                    if not machine.enabled(s1, inst2):
                        continue
                    for choice in machine.step(s1, inst2).choices:
                        for q, row2 in choice.fired:
                            if q in rows1:
                                pair = (rows1[q].name, row2.name)
                                all_pairs.add(pair)
                                if pair not in covered:
                                    covered.add(pair)
                                    pair_runs.append((limited, (*_path(parent, s0), inst1, inst2)))
    cases: list[TestCase] = []
    if tour:
        tour_kept = _drop_prefixes(sorted(tour_runs, key=lambda r: (len(r[1]), r[0], [i.id for i in r[1]])))
        cases += [TestCase(f"tour-{n:05d}", "tour", lim, ev) for n, (lim, ev) in enumerate(tour_kept)]
    if pairs:
        cases += [TestCase(f"pair-{n:05d}", "pair", lim, ev) for n, (lim, ev) in enumerate(pair_runs)]
    cases += random_walks(machine, walks, walk_length, seed)
    rows = frozenset(t.name for t in spec.transitions)
    return Suite(spec, queues, tuple(cases), reachable, frozenset(all_pairs), rows, seed)


def _row_pairs_of_runs(machine: Machine, starts: list[State], runs) -> set[RowPair]:
    found: set[RowPair] = set()
    for events in runs:
        states = set(starts)
        last: dict[int, str] = {}
        for inst in events:
            nxt, fired_now = set(), {}
            for pre in sorted(states):  # sorted: the same pairs whatever the hash seed
                if not machine.enabled(pre, inst):
                    continue
                for choice in machine.step(pre, inst).choices:
                    nxt.add(choice.post)
                    fired_now.update({q: r.name for q, r in choice.fired})
            for q, name in fired_now.items():
                if q in last:
                    found.add((last[q], name))
            last = fired_now
            states = nxt
    return found


def random_walks(machine: Machine, count: int, length: int, seed: int) -> list[TestCase]:
    """``count`` seeded random walks of ``length`` enabled events each."""
    rng = random.Random(seed)
    by_limited = starts_by_limited(machine)
    cases = []
    for n in range(count):
        limited = rng.choice(sorted(by_limited))
        state = rng.choice(by_limited[limited])
        events = []
        for _ in range(length):
            enabled = [i for i in machine.instances if machine.enabled(state, i)]
            inst = rng.choice(enabled)
            events.append(inst)
            state = rng.choice(machine.step(state, inst).choices).post
        cases.append(TestCase(f"walk-{n:05d}", "walk", limited, tuple(events)))
    return cases
