"""Random simulation: runs of the table chosen at random, for tables too
big to explore (TLC's ``-simulate``, ``quint run``, SPIN's random simulation).

Each run starts in an initial state chosen at random (each variable's
initial value independently, so a device of 1024 queues never lists its
starts) and takes up to ``depth`` steps: at each, one event instance the
environment may issue there, chosen uniformly among them, then one of its
outcomes, chosen uniformly.
A run ends early in a state that offers no event.

Every property is checked on every run, as the explorer checks it (the
same code: :class:`~.explore.Explorer`'s checks): each invariant in every
state, each step property on every step, history freedom across every
step of every run, and the table's ``complete`` and ``deterministic`` on
every step taken. What a finite run cannot decide is **not checked**, and
says why: ``no_dead_transition`` (a row a run did not fire may fire in
another; the coverage shows which fired), ``leads_to`` (the goal may come
after the run ends) and ``recoverable`` (a question about every
continuation). ``deadlock_free`` fails when a run reaches a state with no
event. A property no run broke has the verdict ``no violation``: a
simulation finds failures, it proves nothing.

A failure is a replayable trace from a start, with the row and letter at
each step: the first run's steps to the bad state (through the first
visit of each state, so never longer than that run). The same seed gives
the same runs, the same verdicts and the same traces, byte for byte.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> found = simulate(load_spec("proposal"), 2, seed=1, depth=20, runs=20)
>>> found.verdict("no_lost_kick"), found.verdict("offlimits_never_ours"), found.verdict("kick_eventually_handled")
('fails', 'no violation', 'not checked')
>>> simulate(load_spec("proposal"), 2, seed=1, depth=20, runs=20).counterexamples == found.counterexamples
True
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

from .explore import HYGIENE, INTERRUPTED, NOT_CHECKED, TIMEOUT, Counterexample, Explorer
from .trace import Step

#: Draws among every instance before scanning for the enabled ones (:meth:`_Runs.pick`).
_DRAWS = 32
#: A property no run broke: not a proof.
NO_VIOLATION = "no violation"
#: The JSON Schema of ``simulate --json``'s results.
SCHEMA = Path(__file__).with_name("simulation.schema.json")

_WHY = {
    "no_dead_transition": "a row no run fired may fire in a run not taken; the coverage shows what fired",
    PropertyKind.LEADS_TO: "a finite run cannot break it: the goal may come after the run ends",
    PropertyKind.RECOVERABLE: "it asks whether some continuation recovers, which runs do not say",
}


@dataclass(frozen=True)
class Simulation:
    """What ``runs`` random runs of ``spec`` found (see the module)."""

    spec: Spec
    queues: int
    seed: int
    depth: int
    runs: int  # runs made (fewer than asked when stopped)
    steps: int
    distinct: int  # distinct states met
    ended: int  # runs that ended in a state with no event
    fired: dict[str, int]
    counterexamples: dict[str, Counterexample]
    checks: tuple[str, ...]
    not_checked: dict[str, str] = field(default_factory=dict)
    partial: str | None = None
    found_in: dict[str, int] = field(default_factory=dict)  # property -> the run (from 1) that broke it

    def verdict(self, name: str) -> str:
        if name in self.counterexamples:
            return "fails"
        if name in self.not_checked:
            return NOT_CHECKED
        return NO_VIOLATION


class _Runs(Explorer):
    """The explorer's checks, fed by random runs instead of a search: a
    state's parent is the step of its first visit (any run), so that a
    report's trace is a path of runs taken."""

    def __init__(self, spec: Spec, queues: int, seed: int) -> None:
        super().__init__(spec, queues, max_states=None, timeout=None, progress=None)
        self.rng = random.Random(seed)
        self.queue_starts = list(itertools.product(*(v.init for v in spec.queue_variables)))
        self.ended = 0
        self.steps_taken = 0
        self.run_number = 0
        self.found_in: dict[str, int] = {}

    def report(self, name, message, state, *extra, other=None) -> None:
        if name not in self.found:
            self.found_in[name] = self.run_number
        super().report(name, message, state, *extra, other=other)

    def start(self) -> State:
        rng = self.rng
        device = tuple(rng.choice(v.init) for v in self.spec.device_variables)
        return State(device, tuple(rng.choice(self.queue_starts) for _ in range(self.machine.queues)))

    def walk(self, depth: int) -> None:
        """One run of up to ``depth`` steps."""
        self.run_number += 1
        machine, rng = self.machine, self.rng
        state = self.start()
        if state not in self.parent:
            self.parent[state] = None
        self.check_state(state)
        for _ in range(depth):
            inst = self.pick(state)
            if inst is None:
                self.ended += 1
                self.deadlock(state)
                return
            outcome = machine.step(state, inst)
            self.hygiene(state, inst, outcome)
            choice = outcome.choices[rng.randrange(len(outcome.choices))]
            step = Step(inst, choice.fired, choice.post)
            self.steps_taken += 1
            self.edges += 1
            for q, row in choice.fired:
                self.fired[row.name] += 1
                self.fired_from.add((row.name, state.queues[q][0]))
            self.check_step(state, inst, step)
            if choice.post not in self.parent:
                self.parent[choice.post] = (state, step)
            self.check_state(choice.post)
            state = choice.post

    def pick(self, state: State):
        """An instance the environment may issue in ``state``, each as likely
        as any other (None: none may). A few draws among every instance,
        keeping the first that is enabled, then (if none was) one among
        those a scan finds enabled: either way uniform over the enabled
        ones, without scanning thousands of instances at every step."""
        machine, rng = self.machine, self.rng
        instances = machine.instances
        for _ in range(_DRAWS):
            inst = instances[rng.randrange(len(instances))]
            if machine.enabled(state, inst):
                return inst
        offered = [inst for inst in instances if machine.enabled(state, inst)]
        return offered[rng.randrange(len(offered))] if offered else None

    def hygiene(self, state: State, inst, outcome) -> None:
        """``complete`` and ``deterministic`` on the step taken, as the explorer words them."""
        if outcome.undefined:
            q = outcome.undefined[0]
            what = f"no row of the table says what {inst} does to queue {q} in state {state.queues[q][0]}"
            self.report("complete", what, state)
        if outcome.ambiguous:
            q, rows = outcome.ambiguous[0]
            self.report("deterministic", f"{inst} fires both {' and '.join(r.name for r in rows)} on queue {q}", state)

    def deadlock(self, state: State) -> None:
        for prop in self.spec.liveness:
            if prop.kind is PropertyKind.DEADLOCK_FREE:
                self.report(prop.name, "no event is enabled in the last state", state)


def simulate(
    spec: Spec,
    queues: int,
    *,
    seed: int,
    depth: int = 100,
    runs: int = 100,
    timeout: float | None = None,
) -> Simulation:
    """``runs`` random runs of up to ``depth`` steps from ``seed`` (see the
    module); ``timeout`` stops between two runs (``partial``), Ctrl-C too."""
    sim = _Runs(spec, queues, seed)
    deadline = None if timeout is None else time.monotonic() + timeout
    partial = None
    done = 0
    try:
        for _ in range(runs):
            if deadline is not None and time.monotonic() > deadline:
                partial = TIMEOUT
                break
            sim.walk(depth)
            done += 1
    except KeyboardInterrupt:  # the runs made so far stand
        partial = INTERRUPTED
    names = [p.name for p in spec.properties]
    live = [p.name for p in spec.liveness]
    not_checked = {"no_dead_transition": _WHY["no_dead_transition"]}
    not_checked |= {p.name: _WHY[p.kind] for p in spec.liveness if p.kind in _WHY}
    checks = (*names, *HYGIENE, *live)
    found = {name: sim.found[name] for name in checks if name in sim.found}
    return Simulation(
        spec,
        queues,
        seed,
        depth,
        done,
        sim.steps_taken,
        len(sim.parent),
        sim.ended,
        dict(sim.fired),
        found,
        checks,
        not_checked,
        partial,
        {name: sim.found_in[name] for name in found},
    )
