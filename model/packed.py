"""The packed engine: breadth-first search over 64-bit states, a frontier at a time.

For the tables it serves (:mod:`.packable`) it finds what the general
explorer (:mod:`.explore`) finds, byte for byte: the same states,
transitions, depth, rows fired, verdicts and shortest traces. Only the
representation differs:

- a state is one integer (:mod:`.codec`); the visited set is a hash table
  of them (:mod:`.visited`); each state keeps its parent's number and the
  instance that reached it (6 bytes), so a trace is rebuilt on demand by
  replaying those instances on the general machine;
- successors come from lookup tables (:mod:`.steptable`) applied to a whole
  chunk of the frontier at once: an event that concerns every queue is one
  gather per queue, an event on one queue a single gather;
- invariants, step properties and history freedom are read off (device,
  queue) cell tables where the property reads one queue at a time
  (:mod:`.cells`; a chunk with no bad cell costs nothing), else vector
  predicates (:mod:`.vector`); invariants are checked on expansion, and
  what a stopped search admitted but never expanded when it stops;
- rows fired and transitions are counted from a histogram of the chunk's
  (device, queue) codes, not edge by edge.

Order is what makes the results identical: a chunk's successors are laid
out by (parent, instance), the order in which the general explorer meets
them, so the first occurrence of a new state is the step that reaches it
first, and the first violation of a property is the one the general
explorer reports. ``--max-states`` stops on the same edge.

Chunks of one level can be expanded by several threads at once (NumPy
releases the GIL in its loops): expansion only reads the visited set; new
states are then admitted chunk by chunk, in order (see ``workers``).

>>> from virtio_notifier_spec.spec.load import load_spec
>>> r = explore_packed(load_spec("resolved"), 3)
>>> r.ok, r.states, r.transitions, r.depth
(True, 422, 10801, 8)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import numpy as np

from virtio_notifier_spec.spec.expr import is_local
from virtio_notifier_spec.spec.schema import Property, PropertyKind, Spec

from .cells import CellChecks, StepCells
from .codec import Codec, TooWide, value_index
from .explore import HYGIENE, Counterexample, Exploration, record_dead, unfired_sources
from .frontier import CHUNK_EDGES, Expansion, FrontierSearch, first_occurrences
from .machine import Machine
from .packable import NotPackable, packed_refusal
from .steptable import Overlap, StepTables, step_tables
from .trace import Step, Trace
from .vector import Frame, evaluate

_EMPTY_STORE = (np.empty(0, np.uint64), np.empty(0, np.uint64), np.empty(0, np.int64))
_OFF = np.uint64(1 << 63)  # marks the successor of an instance not offered


class PackedExplorer(FrontierSearch):
    """One exploration with the packed engine; use :func:`explore_packed`."""

    def __init__(
        self,
        spec: Spec,
        queues: int,
        *,
        max_states: int | None = None,
        timeout: float | None = None,
        progress: Callable[[int, int, int], None] | None = None,
        workers: int = 1,
        depth: int | None = None,
    ) -> None:
        super().__init__(max_states=max_states, timeout=timeout, progress=progress, workers=workers, depth=depth)
        self.spec = spec
        self.queues = queues
        self.tables: StepTables = step_tables(spec)
        self.codec = Codec(spec, queues, self.tables.singles)
        self.machine = Machine(spec, queues)
        self.slots = len(self.machine.instances)
        self._prepare()
        self._prepare_checks()
        self.found: dict[str, Counterexample] = {}
        self.fired = np.zeros(len(spec.transitions), dtype=np.int64)
        self.seen = np.zeros(self.cells, dtype=bool)
        self.extra_from: set[tuple[str, str]] = set()
        self.history_seen: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.checks = (*[p.name for p in spec.properties], *HYGIENE)

    # -- tables ---------------------------------------------------------------------
    def _prepare(self) -> None:
        tables = self.tables
        devices, singles = len(tables.devices), len(tables.singles)
        self.cells = devices * singles
        rows = len(self.spec.transitions)
        self.fire_table = np.zeros((self.cells, rows), dtype=np.int64)
        self.edge_table = np.zeros(self.cells, dtype=np.int64)  # targeted instances per (device, queue)
        self.edge_device = np.zeros(devices, dtype=np.int64)  # broadcast instances per device
        per_class = []
        for table in tables.classes:
            enabled = table.enabled.ravel()
            row = table.row.ravel()
            fires = enabled & (row >= 0)
            np.add.at(self.fire_table, (np.flatnonzero(fires), row[fires]), 1)
            if table.targeted:
                self.edge_table += enabled
            else:
                self.edge_device += table.enabled[:, 0]
            per_class.append((row, table.undefined.ravel()))
        self.per_class = per_class
        self.undefined_cells = np.logical_or.reduce([u for _, u in per_class])
        self.instances = self.machine.instances
        self.inst_class = [tables.class_of(i) for i in self.instances]
        self.inst_target = [i.target for i in self.instances]
        self.inst_args = [
            {name: value_index(p.type, value) for p, (name, value) in zip(i.event.params, i.args, strict=True)}
            for i in self.instances
        ]
        self.deltas = [
            self._delta(tables.classes[k], t) for k, t in zip(self.inst_class, self.inst_target, strict=True)
        ]

    def _delta(self, table, target: int | None) -> np.ndarray:
        """XOR masks that turn a state into its successor, by (device, queue)
        code: (D*K,) for an instance on one queue, (N, D*K) for one on every
        queue (row q for queue q; the device's change and the mark of a
        disabled instance, bit 63, ride on row 0)."""
        codec = self.codec
        devices, singles = table.next.shape
        queue = (np.arange(singles)[None, :] ^ table.next).astype(np.uint64)
        device = np.repeat((np.arange(devices) ^ table.device_next).astype(np.uint64), singles).reshape(queue.shape)
        off = (~table.enabled).astype(np.uint64) << np.uint64(63)
        if target is not None:
            return ((queue << codec.shifts[target]) ^ device | off).ravel()
        rows = np.stack([(queue << shift).ravel() for shift in codec.shifts])
        rows[0] ^= (device | off).ravel()
        return rows

    def _prepare_checks(self) -> None:
        props = self.spec.properties
        self.invariants = [p for p in props if p.kind is PropertyKind.INVARIANT]
        self.step_props = [p for p in props if p.kind is PropertyKind.STEP]
        self.cell_checks = CellChecks(self.spec, self.tables)
        self.step_bad_cells = {name: self.cell_checks.step_bad_cells(name) for name in self.cell_checks.steps}
        self.checked = 0  # states below this number have been checked by an expansion
        self.history = [p for p in props if p.kind is PropertyKind.HISTORY_FREE]
        self.history_exact: set[str] = set()  # checked step by step: the cells could not tell
        self.present = np.zeros(self.cells, dtype=bool)  # every cell of every state expanded
        self.history_keys = {p.name: self._projection(p) for p in self.history}

    def _projection(self, prop: Property) -> tuple[np.ndarray, np.ndarray]:
        """Per device code and per queue code, the number of its ``inputs`` values."""
        spec = self.spec
        dev_slots = [i for i, v in enumerate(spec.device_variables) if v.name in prop.inputs]
        queue_slots = [i for i, v in enumerate(spec.queue_variables) if v.name in prop.inputs]

        def numbered(values, slots):
            seen: dict[tuple, int] = {}
            return np.array([seen.setdefault(tuple(v[s] for s in slots), len(seen)) for v in values], dtype=np.intp)

        return numbered(self.tables.devices, dev_slots), numbered(self.tables.singles, queue_slots)

    # -- expansion (reads the visited set only) ---------------------------------------
    def expand(self, first: int, codes: np.ndarray, limit: int | None = None) -> Expansion:
        """The successors of ``codes`` (global numbers from ``first``); with
        ``limit``, the last state's instances after ``limit`` are left out."""
        codec = self.codec
        count, width = len(codes), len(self.instances)
        devices, queues = codec.split(codes)
        singles = len(self.tables.singles)
        cells = devices[:, None] * singles + queues  # (M, N) index into the (device, queue) tables
        across = (cells.T + (np.arange(self.queues) * self.cells)[:, None]).ravel()  # (N*M) into (N, D*K)
        succ = np.empty((width, count), dtype=np.uint64)  # (I, M): one row per instance
        for i, target in enumerate(self.inst_target):
            table = self.deltas[i]
            if target is None:
                delta = table.ravel()[across].reshape(self.queues, count).sum(axis=0, dtype=np.uint64)
            else:
                delta = table[cells[:, target]]
            np.bitwise_xor(codes, delta, out=succ[i])
        valid = succ < _OFF
        if limit is not None:
            valid[limit + 1 :, -1] = False
        fresh, where = first_occurrences(succ, valid, codes, self.visited)
        edges, fired, seen, pairs = self._counts(devices, cells, valid, limit)
        present = seen if limit is None else np.bincount(cells.ravel(), minlength=self.cells) > 0
        result = Expansion(first, codes, succ, valid, fresh, where)
        result.extra = {"edges": edges, "fired": fired, "seen": seen, "pairs": pairs, "present": present}
        width = len(self.instances)
        for name, (row, message) in self._invariant_reports((devices, queues), cells, present).items():
            result.reports[name] = (row * width, "state", message)
        self._check_steps(result, devices, queues, cells, present)
        self._check_complete(result, cells)
        return result

    def _counts(self, devices, cells, valid, limit) -> tuple[int, np.ndarray, np.ndarray, set]:
        """Transitions and rows fired by the chunk, from its histogram of codes;
        with ``limit``, the last state's instance by instance."""
        whole, by_dev = (cells, devices) if limit is None else (cells[:-1], devices[:-1])
        histogram = np.bincount(whole.ravel(), minlength=self.cells)
        by_device = np.bincount(by_dev, minlength=len(self.edge_device))
        edges = int(histogram @ self.edge_table + by_device @ self.edge_device)
        fired = histogram @ self.fire_table
        pairs: set[tuple[str, str]] = set()
        if limit is not None:
            edges += int(valid[:, -1].sum())
            singles = len(self.tables.singles)
            for i in np.flatnonzero(valid[:, -1]):
                row = self.per_class[self.inst_class[i]][0]
                target = self.inst_target[i]
                for cell in cells[-1] if target is None else cells[-1, target : target + 1]:
                    if row[cell] >= 0:
                        fired[row[cell]] += 1
                        pairs.add((self.spec.transitions[row[cell]].name, self.tables.singles[cell % singles][0]))
        return edges, fired, histogram > 0, pairs

    def _check_steps(self, result: Expansion, devices, queues, cells, present) -> None:
        """The chunk's first step that breaks each step property, in (state,
        instance) order: a cell lookup (:mod:`.cells`) where the property
        qualifies, else the vector predicate on the steps' states."""
        pending = [p for p in self.step_props if p.name not in self.found]
        if not pending:
            return
        width = len(self.instances)
        posts: dict[int, tuple] = {}
        for prop in pending:
            by_cells = self.cell_checks.steps.get(prop.name)
            if by_cells is not None and not (present & self.step_bad_cells[prop.name]).any():
                continue  # no state here has a cell that a step could break
            best = None
            for i, inst in enumerate(self.instances):
                if inst.event.name not in prop.events:
                    continue
                if by_cells is not None:
                    broken = self._step_cells(by_cells[self.inst_class[i]], self.inst_target[i], cells)
                else:
                    if i not in posts:
                        posts[i] = self.codec.split(result.succ[i])
                    frame = Frame(self.codec, (devices, queues), posts[i], self.inst_args[i])
                    broken = ~evaluate(prop.expr, frame)
                bad = np.flatnonzero(result.valid[i] & broken)
                if bad.size and (best is None or bad[0] * width + i < best):
                    best = int(bad[0]) * width + i
            if best is not None:
                result.reports[prop.name] = (best, "step", f"{prop.name} is false across the last step")

    @staticmethod
    def _step_cells(table: StepCells, target: int | None, cells: np.ndarray) -> np.ndarray:
        """(M,) the step of an instance on ``target`` (None: every queue) breaks the property."""
        if target is None:
            return table.target[cells].any(axis=1)
        broken = table.others[cells]
        broken[:, target] = table.target[cells[:, target]]
        return broken.any(axis=1)

    def _check_complete(self, result: Expansion, cells) -> None:
        if "complete" in self.found or not self.undefined_cells[cells].any():
            return
        width = len(self.instances)
        best = None
        for i, (k, target) in enumerate(zip(self.inst_class, self.inst_target, strict=True)):
            undefined = self.per_class[k][1]
            hit = undefined[cells].any(axis=1) if target is None else undefined[cells[:, target]]
            bad = np.flatnonzero(hit & result.valid[i])
            if bad.size and (best is None or bad[0] * width + i < best):
                best = int(bad[0]) * width + i
        if best is not None:
            row, i = divmod(best, width)
            target = self.inst_target[i]
            undefined = self.per_class[self.inst_class[i]][1]
            q = target if target is not None else int(np.argmax(undefined[cells[row]]))
            state = self.codec.singles[int(cells[row, q]) % len(self.tables.singles)][0]
            message = f"no row of the table says what {self.instances[i]} does to queue {q} in state {state}"
            result.reports["complete"] = (best, "state", message)

    # -- admission (in order, one chunk at a time) ----------------------------------------
    def absorb(self, result: Expansion, lo: int) -> None:
        extra = result.extra
        self.edges += extra["edges"]
        self.fired += extra["fired"]
        self.seen |= extra["seen"]
        self.extra_from |= extra["pairs"]
        width = self.slots
        for name, (position, kind, message) in result.reports.items():
            parent = result.first + position // width
            if kind == "step":
                self._report(name, message, parent, position % width)
            else:
                self._report(name, message, parent)
        self._check_history(result)
        self.checked = result.first + len(result.codes)

    def check_states(self, lo: int) -> None:
        """Check the stored states from ``lo`` that no expansion checked (the
        starts; those admitted when a search stops)."""
        chunk = max(256, CHUNK_EDGES // max(1, self.slots))
        for first in range(lo, self.codes.size, chunk):
            codes = self.codes.view(first, min(first + chunk, self.codes.size))
            devices, queues = self.codec.split(codes)
            cells = devices[:, None] * len(self.tables.singles) + queues
            present = np.bincount(cells.ravel(), minlength=self.cells) > 0
            for name, (row, message) in self._invariant_reports((devices, queues), cells, present).items():
                self._report(name, message, first + row)

    def stopped(self) -> None:
        self.check_states(self.checked)

    def _invariant_reports(self, split, cells: np.ndarray, present: np.ndarray) -> dict[str, tuple[int, str]]:
        """Each invariant's first state (row) among ``split`` that breaks it,
        with the message: a cell lookup (:mod:`.cells`) where the invariant
        qualifies, and only when a bad cell is ``present``; else the vector
        predicate."""
        found = {}
        for prop in self.invariants:
            if prop.name in self.found:
                continue
            by_cells = self.cell_checks.invariants.get(prop.name)
            if by_cells is not None:
                if not (present & by_cells).any():
                    continue  # no state here has a bad cell
                failing = by_cells[cells]
            else:
                value = evaluate(prop.expr, Frame(self.codec, split), per_queue=prop.per_queue)
                failing = ~value if prop.per_queue else ~value[:, None]
            bad = np.flatnonzero(failing.any(axis=1))
            if not bad.size:
                continue
            index = int(bad[0])
            if prop.per_queue and is_local(prop.expr):
                message = f"queue {int(np.argmax(failing[index]))} breaks {prop.name} in the last state"
            else:
                message = f"{prop.name} is false in the last state"
            found[prop.name] = (index, message)
        return found

    def _check_history(self, result: Expansion) -> None:
        """History freedom: nothing to do while the cells seen say that every
        post-step state is a function of the inputs (:meth:`.cells.CellChecks.history_holds`);
        from the first chunk where they do not, step by step (:meth:`_history_steps`),
        first replayed over every step taken before it."""
        self.present |= result.extra["present"]
        for prop in self.history:
            if prop.name in self.found:
                continue
            if prop.name not in self.history_exact:
                if self.cell_checks.history_holds(prop.name, self.present):
                    continue
                self.history_exact.add(prop.name)
                chunk = max(256, CHUNK_EDGES // max(1, self.slots))
                for lo in range(0, result.first, chunk):
                    hi = min(lo + chunk, result.first)
                    self._history_steps(prop, self.expand(lo, self.codes.view(lo, hi).copy()))
                    if prop.name in self.found:
                        break
                if prop.name in self.found:
                    continue
            self._history_steps(prop, result)

    def _history_steps(self, prop: Property, result: Expansion) -> None:
        """Per instance, the first post seen for each value of the inputs; a
        later step with the same inputs and another post fails."""
        width = len(self.instances)
        split = self.codec.split(result.codes)
        dev_key, queue_key = self.history_keys[prop.name]
        keys = self.codec.join(dev_key[split[0]], queue_key[split[1]])
        worst = None  # (position, earlier state)
        for i, inst in enumerate(self.instances):
            if inst.event.name in prop.events:
                clash = self._history_column(prop.name, i, result, keys)
                if clash is not None and (worst is None or clash[0] * width + i < worst[0]):
                    worst = (clash[0] * width + i, clash[1])
        if worst is not None:
            row, i = divmod(worst[0], width)
            message = (
                f"two histories that agree on {', '.join(prop.inputs)} and on the "
                f"arguments of {self.instances[i].event.name} end in different states"
            )
            other = self.trace_to(worst[1], i)
            self._report(prop.name, message, result.first + row, i, other=other)

    def _history_column(self, name: str, i: int, result: Expansion, keys: np.ndarray) -> tuple[int, int] | None:
        """(row, earlier state) of the chunk's first clash on instance ``i``;
        records the first post of each new input value."""
        rows = np.flatnonzero(result.valid[i])
        key, post = keys[rows], result.succ[i, rows]
        known_keys, known_posts, known_from = self.history_seen.get((name, i), _EMPTY_STORE)
        at = np.minimum(np.searchsorted(known_keys, key), max(len(known_keys) - 1, 0))
        known = (known_keys[at] == key) if len(known_keys) else np.zeros(len(key), dtype=bool)
        clashes = []
        bad = np.flatnonzero(known & (known_posts[at] != post) if len(known_keys) else known)
        if bad.size:
            clashes.append((int(rows[bad[0]]), int(known_from[at[bad[0]]])))
        new = ~known
        key, post, rows = key[new], post[new], rows[new]
        order = np.lexsort((rows, key))
        key, post, rows = key[order], post[order], rows[order]
        starts = np.ones(len(key), dtype=bool)
        starts[1:] = key[1:] != key[:-1]
        group = np.cumsum(starts) - 1
        first_post, first_row = post[starts][group], rows[starts][group]
        bad = np.flatnonzero(post != first_post)
        if bad.size:
            worst = bad[np.argmin(rows[bad])]
            clashes.append((int(rows[worst]), result.first + int(first_row[worst])))
        merged = np.concatenate([known_keys, key[starts]])
        order = np.argsort(merged, kind="stable")
        self.history_seen[(name, i)] = (
            merged[order],
            np.concatenate([known_posts, post[starts]])[order],
            np.concatenate([known_from, result.first + rows[starts]])[order],
        )
        return min(clashes) if clashes else None

    # -- traces -------------------------------------------------------------------------
    def trace_to(self, index: int, then: int | None = None) -> Trace:
        """The trace to state ``index``, then instance ``then`` from it."""
        root, labels = self.path(index)
        state = self.codec.decode(self.codes.data[root])
        start, steps = state, []
        for label in [*labels, *([then] if then is not None else [])]:
            inst = self.instances[label]
            choice = self.machine.step(state, inst).choices[0]
            steps.append(Step(inst, choice.fired, choice.post))
            state = choice.post
        return Trace(start, tuple(steps))

    def _report(self, name: str, message: str, index: int, then: int | None = None, other=None) -> None:
        if name not in self.found:
            self.found[name] = Counterexample(name, message, self.trace_to(index, then), other)

    # -- the search ------------------------------------------------------------------------
    def result(self, depth: int, partial: str | None, began: float) -> Exploration:
        names = [row.name for row in self.spec.transitions]
        fired = {name: int(count) for name, count in zip(names, self.fired, strict=True)}
        fired_from = self.fired_from()
        unfired = unfired_sources(self.spec, fired, fired_from)
        found = dict(self.found)
        if partial is None:
            record_dead(fired, unfired, self.machine.initial_states()[0], found, self.spec.restricted)
        ordered = {name: found[name] for name in self.checks if name in found}
        return Exploration(
            self.spec,
            self.queues,
            self.codes.size,
            self.edges,
            depth,
            fired,
            ordered,
            time.perf_counter() - began,
            partial,
            self.checks,
            concrete_states=self.codes.size,
            unfired_sources=unfired,
        )

    def fired_from(self) -> set[tuple[str, str]]:
        """(row, source state) for every row that fired from a (device, queue) code seen."""
        singles = len(self.tables.singles)
        names = [row.name for row in self.spec.transitions]
        pairs = set()
        for cell in np.flatnonzero(self.seen):
            source = self.tables.singles[cell % singles][0]
            for row in np.flatnonzero(self.fire_table[cell]):
                pairs.add((names[row], source))
        return pairs | self.extra_from


def packed_engine_refusal(spec: Spec, queues: int) -> NotPackable | None:
    """Why the packed engine cannot explore ``spec`` with ``queues`` queues, or None."""
    refusal = packed_refusal(spec)
    if refusal is not None:
        return refusal
    try:
        Codec(spec, queues, step_tables(spec).singles)
    except (TooWide, Overlap) as exc:
        return NotPackable(f"{exc}; the packed engine cannot explore this table (use --engine general)")
    return None


def explore_packed(
    spec: Spec,
    queues: int = 2,
    *,
    max_states: int | None = None,
    timeout: float | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    workers: int = 1,
    depth: int | None = None,
    cluster=None,
) -> Exploration:
    """Explore ``spec`` with the packed engine (the table must be inside its
    fragment: :func:`.packable.packed_refusal`). ``cluster``: an object
    whose ``attached(search)`` context expands the chunks elsewhere
    (``scale/cluster.py``); the result is the same."""
    began = time.perf_counter()
    explorer = PackedExplorer(
        spec, queues, max_states=max_states, timeout=timeout, progress=progress, workers=workers, depth=depth
    )
    starts = [explorer.codec.encode(s) for s in explorer.machine.initial_states()]
    with cluster.attached(explorer) if cluster is not None else contextlib.nullcontext():
        depth, partial = explorer.run(starts)
    return explorer.result(depth, partial, began)
