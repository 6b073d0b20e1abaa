"""Several devices on one host at the packed engine's speed.

The same search as :func:`.system.explore_system`, with the same states,
transitions, depth, verdicts and counterexamples, byte for byte; only the
representation differs. A system state is one integer: the slots in use
(the pool, on a host with a limit) in the low bits, then each device's
local state number (:mod:`.device_tables`) in bits of its own:

    code = used | local(device 0) << shift(0) | local(device 1) << shift(1) | ...

A chunk of the frontier is expanded a device at a time: one gather gives
every outcome of every move of that device from each state, with its new
local state, KVM's grant, the change in slots and the step properties it
breaks; the VM-wide moves (``vm_stop``, ``vm_run``) take every device's
outcome at once, in the system engine's product order. Each step gets a
key, (parent, place of the step among the parent's steps in the system
engine's order), so that the first occurrence of a new state is the step
the system engine takes to it first, the first violation of a check is the
one it reports, and ``--max-states`` stops on the same step (the driver is
:class:`~virtio_notifier_spec.model.frontier.FrontierSearch`). Traces are
rebuilt by the system engine itself, on the states of the path only.

With ``device_symmetry`` devices of one kind are interchangeable
(:mod:`.device_symmetry`): each group's local numbers are kept sorted, one
state per orbit, and the concrete counts are summed over the orbits.

>>> from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
>>> r = explore_system_packed(load_config(CONFIG_DIR / "three_devices.toml"))
>>> r.ok, r.states, r.transitions, r.depth
(True, 1944, 53460, 12)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from math import factorial, prod

import numpy as np

from virtio_notifier_spec.model.codec import MAX_BITS
from virtio_notifier_spec.model.frontier import CHUNK_EDGES, Expansion, FrontierSearch, first_by_key
from virtio_notifier_spec.spec.schema import Spec

from .config import Config
from .device_symmetry import device_groups
from .device_tables import DeviceTables, Outcomes, TooLarge, device_tables
from .system import SysCounterexample, System, SystemExploration, _concretize, _Search

_EMPTY = np.empty((0, 0), dtype=np.uint64)
#: Steps a state may have in the widest case (a step's place must fit the key).
MAX_STEPS = 1 << 30


class PackedSystem(FrontierSearch):
    """One packed search of a system; use :func:`explore_system_packed`."""

    def __init__(self, system: System, tables: DeviceTables, *, device_symmetry: bool = False, **limits) -> None:
        super().__init__(**limits)
        self.system, self.tables = system, tables
        config = system.config
        self.kinds = [tables.kinds[k] for k in tables.kind_of]
        self.limited = config.limited
        self.capacity = config.slots if config.limited else 0
        pool = sum(int(kind.used.max(initial=0)) for kind in self.kinds) if self.limited else 0
        self.pool_bits = pool.bit_length() if self.limited else 0
        widths = [max(1, (len(kind.states) - 1).bit_length()) for kind in self.kinds]
        shifts, at = [], self.pool_bits
        for width in widths:
            shifts.append(at)
            at += width
        if at > MAX_BITS:
            raise TooLarge(f"a system state needs {at} bits, more than {MAX_BITS}")
        self.shifts = np.array(shifts, dtype=np.uint64)
        self.masks = [np.uint64((1 << w) - 1) for w in widths]
        self.pool_mask = np.uint64((1 << self.pool_bits) - 1)
        # where each move's steps go among a state's steps: VM-wide moves first, then device by device
        vm_widest = [prod(int(kind.vm.widest[v]) for kind in self.kinds) for v in range(len(tables.vm_moves))]
        self.vm_base = np.cumsum([0, *vm_widest])
        at = int(self.vm_base[-1])
        self.own_base = []
        for kind in self.kinds:
            widest = kind.own.widest
            self.own_base.append(at + np.concatenate([[0], np.cumsum(widest)[:-1]]).astype(np.int64))
            at += int(widest.sum())
        self.slots = max(1, at)
        if self.slots > MAX_STEPS:
            raise TooLarge(f"a state may have up to {self.slots:,} steps, more than {MAX_STEPS:,}")
        self.groups = device_groups(config) if device_symmetry else []
        self.take_check = {True: "vhost_never_starved" if system.vhost_needs <= (config.slots or 0) else None}
        self.take_check[False] = "slots_within_limit"
        self.step_names = [p.name for p, _ in system.step_props]
        self.invariant_names = [p.name for p, _ in system.invariants]
        self.found: dict[str, tuple[int, int | None]] = {}  # check -> (state, step's place or None)
        self.concrete = 0  # with device_symmetry: the concrete states of the orbits admitted
        self.concrete_edges = 0  # ... and the steps from them
        self._prepare_own()

    def chunk_states(self) -> int:
        """About a million steps per chunk, from the kinds' average number of steps."""
        average = float(len(self.tables.vm_moves))
        for k, kind in zip(self.tables.kind_of, self.kinds, strict=True):
            counts = self.own_count[self.own_offset[k] : self.own_offset[k] + len(kind.states)]
            average += float(counts.sum()) / max(1, len(counts))  # no states at all: no start fits the host
        return max(256, int(CHUNK_EDGES // max(1.0, average)))

    # -- codes --------------------------------------------------------------------------
    def encode(self, system_state) -> int:
        code, used = 0, 0
        for i, (kind, state) in enumerate(zip(self.kinds, system_state, strict=True)):
            local = kind.index[state]
            code |= local << int(self.shifts[i])
            used += int(kind.used[local])
        return code | (used if self.limited else 0)

    def decode(self, code: int):
        code = int(code)
        return tuple(
            kind.states[(code >> int(shift)) & int(mask)]
            for kind, shift, mask in zip(self.kinds, self.shifts, self.masks, strict=True)
        )

    def locals_of(self, codes: np.ndarray) -> list[np.ndarray]:
        return [((codes >> s) & m).astype(np.intp) for s, m in zip(self.shifts, self.masks, strict=True)]

    def canonical(self, codes: np.ndarray) -> np.ndarray:
        """Each group of interchangeable devices with its local numbers sorted."""
        for group in self.groups:
            fields = np.stack([(codes >> self.shifts[i]) & self.masks[i] for i in group], axis=1)
            fields.sort(axis=1)
            rest = codes
            for i in group:
                rest = rest & ~(self.masks[i] << self.shifts[i])
            for j, i in enumerate(group):
                rest = rest | (fields[:, j] << self.shifts[i])
            codes = rest
        return codes

    def orbit_sizes(self, codes: np.ndarray) -> np.ndarray:
        """How many concrete states each canonical code stands for."""
        sizes = np.ones(len(codes), dtype=np.int64)
        for group in self.groups:
            fields = np.stack([(codes >> self.shifts[i]) & self.masks[i] for i in group], axis=1)
            repeats = np.ones(len(codes), dtype=np.int64)  # the product of m! over the runs of m equal fields
            run = np.ones(len(codes), dtype=np.int64)
            for j in range(1, len(group)):
                run = np.where(fields[:, j] == fields[:, j - 1], run + 1, 1)
                repeats *= run
            sizes *= factorial(len(group)) // repeats
        return sizes

    # -- expansion ------------------------------------------------------------------------
    def expand(self, first: int, codes: np.ndarray, limit: int | None = None) -> Expansion:
        count = len(codes)
        locs = self.locals_of(codes)
        pool = (codes & self.pool_mask).astype(np.int64)
        batches = []
        for v in range(len(self.tables.vm_moves)):
            batches.append(self._vm_steps(v, codes, locs, pool))
        batches.append(self._own_steps(codes, locs, pool))
        rows = np.concatenate([b[0] for b in batches])
        place = np.concatenate([b[1] for b in batches])
        post = np.concatenate([b[2] for b in batches])
        granted = np.concatenate([b[3] for b in batches])
        used = np.concatenate([b[4] for b in batches])
        bad = np.concatenate([b[5] for b in batches])
        take = np.concatenate([b[6] for b in batches])
        if limit is not None:
            keep = (rows != count - 1) | (place <= limit)
            rows, place, post, granted, used, bad, take = (
                x[keep] for x in (rows, place, post, granted, used, bad, take)
            )
        fits = used <= self.capacity if self.limited else np.ones(len(rows), dtype=bool)
        steps = fits | ~granted | take  # KVM refuses what does not fit (another outcome); a take is the starvation
        key = rows * self.slots + place
        result = Expansion(first, codes, _EMPTY, _EMPTY)
        result.extra = {"edges": int(steps.sum())}
        if self.groups:
            per_state = np.bincount(rows[steps], minlength=count)
            result.extra["concrete"] = int(per_state @ self.orbit_sizes(codes))
        self._check_steps(result, key, steps, fits, bad, take)
        admit = steps & fits
        post, key = post[admit], key[admit]
        if self.groups:
            post = self.canonical(post)
        moved = post != codes[rows[admit]]
        result.fresh, result.where = _first_occurrences(post[moved], key[moved], self.visited, count * self.slots)
        return result

    def _vm_steps(self, v: int, codes, locs, pool):
        kinds = self.kinds
        counts = [kind.vm.count[v][loc] for kind, loc in zip(kinds, locs, strict=True)]
        total = np.ones(len(codes), dtype=np.int64)
        for c in counts:
            total *= c
        rows = np.repeat(np.arange(len(codes)), total)
        k = np.arange(len(rows)) - np.repeat(np.cumsum(total) - total, total)
        post = codes[rows]
        used = pool[rows].copy()
        granted = np.zeros(len(rows), dtype=bool)
        bad = np.zeros(len(rows), dtype=np.uint64)
        below = np.ones(len(rows), dtype=np.int64)  # product of the counts of the devices after this one
        for i in reversed(range(len(kinds))):
            outcomes: Outcomes = kinds[i].vm
            loc = locs[i][rows]
            c = counts[i][rows]
            e = outcomes.start[v][loc] + (k // below) % c
            below = below * c
            new = outcomes.post[e]
            post = post ^ ((loc ^ new).astype(np.uint64) << self.shifts[i])
            used += outcomes.delta[e]
            granted |= outcomes.granted[e]
            bad |= outcomes.bad[e]
        post = self._with_pool(post, pool[rows], used)
        place = self.vm_base[v] + k
        take = np.full(len(rows), self.tables.vm_takes[v])
        return rows, place, post, granted, used, bad, take

    def _prepare_own(self) -> None:
        """Every kind's own outcomes of a local state, all its moves in order,
        concatenated over the kinds: one gather steps every device at once."""
        tables, parts = self.tables, []
        offsets = np.cumsum([0, *(len(kind.states) for kind in tables.kinds)])
        for k, kind in enumerate(tables.kinds):
            own = kind.own
            moves, states = own.count.shape
            per_state = own.count.T.ravel()  # state by state, move by move: the order they were recorded in
            move = np.repeat(np.tile(np.arange(moves), states), per_state)
            k_th = np.arange(len(move)) - np.repeat(np.cumsum(per_state) - per_state, per_state)
            widest = own.widest
            base = np.concatenate([[0], np.cumsum(widest)[:-1]]).astype(np.int64)
            first = own.start[0] if moves else np.zeros(states, dtype=np.int64)
            takes = np.asarray(tables.own_takes[k], dtype=bool)
            parts.append((first, own.count.sum(axis=0), own, base[move] + k_th, takes[move] if moves else move > 0))
        self.own_offset = offsets[:-1]
        shift = np.cumsum([0, *(len(p[2].post) for p in parts)])
        self.own_first = np.concatenate([p[0] + shift[j] for j, p in enumerate(parts)]).astype(np.int64)
        self.own_count = np.concatenate([p[1] for p in parts]).astype(np.int64)
        self.own_post = np.concatenate([p[2].post for p in parts])
        self.own_granted = np.concatenate([p[2].granted for p in parts])
        self.own_delta = np.concatenate([p[2].delta for p in parts])
        self.own_bad = np.concatenate([p[2].bad for p in parts])
        self.own_place = np.concatenate([p[3] for p in parts])
        self.own_take = np.concatenate([p[4] for p in parts])
        self.device_offset = np.array([self.own_offset[k] for k in tables.kind_of], dtype=np.intp)
        self.device_base = np.array([int(b[0]) for b in self.own_base], dtype=np.int64)
        # what each outcome adds to the code of the state it leaves, for each device: its local
        # number's change in the device's bits, and the change in slots in the pool's bits
        # (a code is used + sum(local << shift); no field overflows into the next)
        source = np.concatenate(
            [np.repeat(np.arange(len(kind.states)), kind.own.count.sum(axis=0)) for kind in tables.kinds]
        ).astype(np.int64)
        change = self.own_post.astype(np.int64) - source
        pool = self.own_delta if self.limited else np.zeros_like(self.own_delta)
        self.own_outcomes = len(source)
        self.own_add = np.concatenate(
            [(change << np.int64(shift)) + pool for shift in self.shifts.tolist()] or [np.zeros(0, dtype=np.int64)]
        )

    def _own_steps(self, codes, locs, pool):
        """Every device's own moves, from every state of the chunk."""
        n = len(self.kinds)
        loc = np.stack(locs, axis=1)  # (M, devices)
        cell = (loc + self.device_offset[None, :]).ravel()
        per_cell = self.own_count[cell]
        before = np.cumsum(per_cell) - per_cell  # where each cell's outcomes begin among the chunk's
        step = np.arange(int(per_cell.sum()))
        e = np.repeat(self.own_first[cell] - before, per_cell) + step
        device = np.repeat(np.tile(np.arange(n), len(codes)), per_cell)
        rows = np.repeat(np.arange(len(codes)), per_cell.reshape(-1, n).sum(axis=1))
        post = (codes.view(np.int64)[rows] + self.own_add[device * self.own_outcomes + e]).view(np.uint64)
        used = pool[rows] + self.own_delta[e]
        place = self.device_base[device] + self.own_place[e]
        return rows, place, post, self.own_granted[e], used, self.own_bad[e], self.own_take[e]

    def _with_pool(self, post, before, after):
        if not self.limited:
            return post
        return post ^ (before ^ after).astype(np.uint64)

    def _check_steps(self, result: Expansion, key, steps, fits, bad, take) -> None:
        pending = [(p, name) for p, name in enumerate(self.step_names) if name not in self.found]
        mask = np.uint64(sum(1 << p for p, _ in pending))
        broken = steps & ((bad & mask) != 0) if pending else None
        if broken is not None and broken.any():
            for p, name in pending:
                hit = broken & ((bad >> np.uint64(p)) & np.uint64(1)).astype(bool)
                if hit.any():
                    result.reports[name] = (int(key[hit].min()), "step", "")
        if not self.limited:
            return
        over = steps & ~fits
        if not over.any():
            return
        for is_take in (True, False):
            name = self.take_check[is_take]
            if name is None or name in self.found:
                continue
            hit = over & (take == is_take)
            if hit.any():
                best = int(key[hit].min())
                if name not in result.reports or best < result.reports[name][0]:
                    result.reports[name] = (best, "step", "")

    # -- admission --------------------------------------------------------------------------
    def absorb(self, result: Expansion, lo: int) -> None:
        self.edges += result.extra["edges"]
        self.concrete_edges += result.extra.get("concrete", 0)
        for name, (position, _, _) in result.reports.items():
            if name not in self.found:
                self.found[name] = (result.first + position // self.slots, position % self.slots)
        self.check_states(lo)

    def check_states(self, lo: int) -> None:
        codes = self.codes.view(lo)
        if self.groups:
            self.concrete += int(self.orbit_sizes(codes).sum())
        pending = [(p, name) for p, name in enumerate(self.invariant_names) if name not in self.found]
        if not pending or not len(codes):
            return
        broken = np.zeros(len(codes), dtype=np.uint64)
        for kind, loc in zip(self.kinds, self.locals_of(codes), strict=True):
            broken |= kind.broken[loc]
        if not (broken & np.uint64(sum(1 << p for p, _ in pending))).any():
            return
        for p, name in pending:
            bad = np.flatnonzero((broken >> np.uint64(p)) & np.uint64(1))
            if bad.size:
                self.found[name] = (lo + int(bad[0]), None)

    # -- counterexamples, by the system engine ------------------------------------------------
    def path_states(self, index: int) -> list[int]:
        path = [index]
        while index >= self.roots:
            index = int(self.parents.data[index])
            path.append(index)
        return path[::-1]

    def counterexample(self, name: str) -> SysCounterexample:
        """The system engine's counterexample for ``name``: the path to the
        state found, each step the first the system engine takes to the next
        state; then the first step of the last state that breaks ``name``."""
        system = self.system
        index, place = self.found[name]
        search = _Search(system, None, None)
        reps = [self.decode(self.codes.data[i]) for i in self.path_states(index)]
        state = reps[0]
        search.parent[state] = None
        for rep in reps[1:]:
            step = next(s for s, fits in system.successors(state) if fits and self._same(s.post, rep))
            post = System.canonical(step.post)
            search.parent[post] = (state, step)
            state = post
        if place is None:
            search.check_state(state)
            message, at, step = search.found[name]
        else:
            for step, fits in system.successors(state):
                search.check_step(state, step, fits)
                if name in search.found:
                    break
            message, at, step = search.found[name]
        start, steps = _concretize(search, at, step)
        return SysCounterexample(name, message, start, steps)

    def _same(self, post, rep) -> bool:
        code = np.array([self.encode(System.canonical(post))], dtype=np.uint64)
        if self.groups:
            code = self.canonical(code)
        return int(code[0]) == self.encode(rep)


def _first_occurrences(post: np.ndarray, key: np.ndarray, visited, key_limit: int):
    """(new codes, their first key), in key order."""
    unseen = ~visited.contains(post)
    return first_by_key(post[unseen], key[unseen], key_limit)


def explore_system_packed(
    config: Config,
    *,
    spec: Spec | None = None,
    max_states: int | None = None,
    timeout: float | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    device_symmetry: bool = False,
    workers: int = 1,
    depth: int | None = None,
    cluster=None,
    system: System | None = None,
    tables: DeviceTables | None = None,
) -> SystemExploration:
    """Explore the configuration's devices together on packed states (see
    the module); :class:`.device_tables.TooLarge` when they do not fit.
    ``cluster``: a :class:`.cluster.Cluster` whose workers expand the chunks."""
    began = time.perf_counter()
    system = system or System(config, spec)
    tables = tables or device_tables(system)
    search = PackedSystem(
        system,
        tables,
        device_symmetry=device_symmetry,
        max_states=max_states,
        timeout=timeout,
        progress=progress,
        workers=workers,
        depth=depth,
    )
    starts = np.array([search.encode(s) for s in tables.starts], dtype=np.uint64)
    if search.groups:
        starts = search.canonical(starts)
    if cluster is not None:
        with cluster.attached(search):
            depth, partial = search.run([int(c) for c in starts])
    else:
        depth, partial = search.run([int(c) for c in starts])
    found = {name: search.counterexample(name) for name in system.checks if name in search.found}
    return SystemExploration(
        config,
        search.codes.size,
        search.edges,
        depth,
        found,
        system.checks,
        time.perf_counter() - began,
        partial,
        system.spec.env,
        engine="packed",
        reduction="devices" if search.groups else "none",
        concrete_states=search.concrete if search.groups else None,
        concrete_transitions=search.concrete_edges if search.groups else None,
    )
