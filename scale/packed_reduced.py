"""The orbit and support searches on packed states.

The same searches as :mod:`.reduced`, with the same states, transitions,
depth, rows fired, verdicts and counterexamples, on the packed engine's
representation (``model/frontier.py``, ``model/steptable.py``). The
canonical form of a packed state under queue permutations is the sorted
list of its queue codes; stored as how many queues hold each code, it is a
64-bit integer whatever N is:

    orbit   = device | count(code 0) << shift(0) | count(code 1) << shift(1) | ...
    support = the same with each count 0 or 1 (which codes are present)

A step is arithmetic on those fields: an event on every queue moves each
count to the field of the code its queues go to (one gather per code), an
event on one queue of a class moves one unit. The successor slots of a
state follow :class:`.reduced.ReducedExplorer`'s order (events on every
queue, then class by class the events on one queue of it), so breadth-first
order and first occurrences match, and a counterexample found here is
turned into the same concrete trace by the reduced explorer's own code
(only the orbits on its path are rebuilt there).

Applicability and the cutoff are not decided here: :mod:`.search` calls
this only where :func:`.symmetry.symmetry_refusal` (and, for support,
:func:`.symmetry.support_refusal`) accepted the table, and reports the
table's cutoff (:func:`.symmetry.support_cutoff`). Tables outside the packed
engine's fragment, or whose expressions tell queues of one class apart
(:func:`.symmetry.needs_full_witness`), stay with :class:`.reduced.ReducedExplorer`.
"""

from __future__ import annotations

import itertools
import types
from collections import Counter
from math import factorial

import numpy as np

from virtio_notifier_spec.model.codec import MAX_BITS, Codec, value_index
from virtio_notifier_spec.model.frontier import Expansion, FrontierSearch, Stop, first_occurrences
from virtio_notifier_spec.model.packable import packed_refusal
from virtio_notifier_spec.model.steptable import Overlap, step_tables
from virtio_notifier_spec.model.vector import Frame, evaluate
from virtio_notifier_spec.spec.expr import is_local
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

from .reduced import Finding, ReducedExplorer, _shown
from .symmetry import needs_full_witness


def packed_reduced_refusal(spec: Spec, queues: int) -> str | None:
    """Why the packed searches cannot stand in for :class:`.reduced.ReducedExplorer`, or None."""
    refusal = packed_refusal(spec)
    if refusal is not None:
        return str(refusal)
    if needs_full_witness(spec):
        return "an expression compares queue indices"
    try:
        tables = step_tables(spec)
    except Overlap as exc:
        return str(exc)
    bits = max(1, (len(tables.devices) - 1).bit_length()) + len(tables.singles) * queues.bit_length()
    return f"{bits} bits per orbit" if bits > MAX_BITS else None


class PackedReduced(FrontierSearch):
    """Breadth-first search over packed orbits (``orbits``) or supports (``support``)."""

    def __init__(self, spec: Spec, queues: int, mode: str, *, want: frozenset[str] | None = None, **limits) -> None:
        super().__init__(**limits)
        self.spec, self.queues, self.mode, self.want = spec, queues, mode, want
        self.general = ReducedExplorer(spec, queues, mode)  # its starts and its traces
        tables = self.tables = step_tables(spec)
        self.singles, self.devices = tables.singles, tables.devices
        k = self.kinds = len(self.singles)
        self.dev_bits = max(1, (len(self.devices) - 1).bit_length())
        self.field = queues.bit_length() if mode == "orbits" else 1
        self.shift = np.array([self.dev_bits + c * self.field for c in range(k)], dtype=np.uint64)
        self.unit = np.uint64(1) << self.shift
        self.broadcast = [i for i, c in enumerate(tables.classes) if not c.targeted]
        self.targeted = [i for i, c in enumerate(tables.classes) if c.targeted]
        self.variants = 1 if mode == "orbits" else 2
        self.slots = len(self.broadcast) + k * self.variants * len(self.targeted)
        self.slot_of = [(c, None, None) for c in self.broadcast] + [
            (cls, code, variant) for code in range(k) for variant in range(self.variants) for cls in self.targeted
        ]
        self.found: dict[str, tuple] = {}  # name -> (state, slot, kind, cls, message, other)
        self.history_seen: dict = {}
        self.fired = np.zeros((len(spec.transitions), k), dtype=np.int64)
        self.m1 = self.general.machine(1)
        one_queue = Codec(spec, 1, self.singles)  # for its value columns, read by the vector predicates
        self.values = types.SimpleNamespace(
            device_values=one_queue.device_values, queue_values=one_queue.queue_values, queues=k
        )
        self.cell_dev = np.repeat(np.arange(len(self.devices)), k)
        self.cell_code = np.tile(np.arange(k), len(self.devices))
        props = spec.properties
        invariants = [p for p in props if p.kind is PropertyKind.INVARIANT]
        one = types.SimpleNamespace(**{**vars(self.values), "queues": 1})
        cells = Frame(one, (self.cell_dev, self.cell_code[:, None]))
        self.local = [
            (p, evaluate(p.expr, cells, per_queue=True)[:, 0]) for p in invariants if p.per_queue and is_local(p.expr)
        ]
        self.other = [p for p in invariants if not (p.per_queue and is_local(p.expr))]
        self.step_props = [p for p in props if p.kind is PropertyKind.STEP]
        self.history = [p for p in props if p.kind is PropertyKind.HISTORY_FREE]
        self.args = [
            {n: value_index(p.type, v) for p, (n, v) in zip(c.event.params, self._args(c), strict=True)}
            for c in tables.classes
        ]

    def _args(self, table):
        target = table.event.target
        values = dict(table.args)
        return [(p.name, 0 if p.name == target else values[p.name]) for p in table.event.params]

    # -- codes ----------------------------------------------------------------------
    def encode(self, orbit) -> int:
        device, counts = orbit
        code = self.devices.index(device)
        for t, n in counts:
            code |= n << int(self.shift[self.singles.index(t)])
        return code

    def decode(self, code: int):
        code = int(code)
        device = self.devices[code & ((1 << self.dev_bits) - 1)]
        mask = (1 << self.field) - 1
        counts = tuple(
            (t, (code >> int(self.shift[c])) & mask)
            for c, t in enumerate(self.singles)
            if (code >> int(self.shift[c])) & mask
        )
        return device, counts

    def split(self, codes: np.ndarray):
        devices = (codes & np.uint64((1 << self.dev_bits) - 1)).astype(np.intp)
        counts = ((codes[:, None] >> self.shift[None, :]) & np.uint64((1 << self.field) - 1)).astype(np.intp)
        return devices, counts

    # -- expansion ----------------------------------------------------------------------
    def expand(self, first: int, codes: np.ndarray, limit: int | None = None) -> Expansion:
        k, count = self.kinds, len(codes)
        devices, counts = self.split(codes)
        present = counts > 0
        classes = present.sum(axis=1)
        cells = devices[:, None] * k + np.arange(k)[None, :]
        queues_part = codes & ~np.uint64((1 << self.dev_bits) - 1)
        succ = np.zeros((self.slots, count), dtype=np.uint64)
        valid = np.zeros((self.slots, count), dtype=bool)
        for s, (cls, code, variant) in enumerate(self.slot_of):
            table = self.tables.classes[cls]
            device_after = table.device_next[devices].astype(np.uint64)
            if code is None:
                moved = self.unit[table.next.ravel()[cells]]
                if self.mode == "orbits":
                    queues = (counts.astype(np.uint64) * moved).sum(axis=1, dtype=np.uint64)
                else:
                    queues = np.bitwise_or.reduce(np.where(present, moved, np.uint64(0)), axis=1)
                valid[s] = table.enabled[devices, 0]
            else:
                cell = cells[:, code]
                to = self.unit[table.next.ravel()[cell]]
                if self.mode == "orbits":
                    queues = queues_part - self.unit[code] + to
                elif variant == 0:
                    queues = (queues_part & ~self.unit[code]) | to
                else:
                    queues = queues_part | to
                valid[s] = present[:, code] & table.enabled.ravel()[cell]
                if variant == 0 and self.mode == "support" and self.queues > 1:
                    valid[s] &= classes != 1
            succ[s] = np.where(valid[s], queues | device_after, codes)
        if limit is not None:
            valid[limit + 1 :, -1] = False
        fresh, where = first_occurrences(succ, valid, codes, self.visited)
        result = Expansion(first, codes, succ, valid, fresh, where)
        result.extra = self._counts(devices, cells, counts, valid)
        self._check_steps(result, devices, counts, present)
        return result

    def _counts(self, devices, cells, counts, valid) -> dict:
        k, rows = self.kinds, len(self.spec.transitions)
        present = counts > 0
        fired = np.zeros(rows * k, dtype=np.int64)
        for s, (cls, code, _) in enumerate(self.slot_of):
            row = self.tables.classes[cls].row.ravel()
            if code is None:
                hit = present & valid[s][:, None]
                r, c = row[cells][hit], np.broadcast_to(np.arange(k), cells.shape)[hit]
            else:
                hit = valid[s]
                r, c = row[cells[:, code]][hit], np.full(int(hit.sum()), code)
            keep = r >= 0
            fired += np.bincount(r[keep] * k + c[keep], minlength=rows * k)
        return {"edges": int(valid.sum()), "fired": fired.reshape(rows, k)}

    # -- witnesses: one queue per class, padded with copies, as the reduced explorer steps ----
    def _witness(self, present):
        """(M, K) the codes present, ascending, padded with the first."""
        k = self.kinds
        ranked = np.where(present, np.arange(k)[None, :], k)
        ranked.sort(axis=1)
        return np.where(ranked == k, ranked[:, :1], ranked)

    def _pre_post(self, slot: int, devices, counts, present):
        """The witness of ``slot`` before and after the step, and the step's arguments."""
        cls, code, variant = self.slot_of[slot]
        table = self.tables.classes[cls]
        k = self.kinds
        after = table.device_next[devices]
        nxt = table.next.ravel()
        if code is None:
            pre = self._witness(present)
            post = nxt[devices[:, None] * k + pre]
            return (devices, pre), (after, post), self.args[cls], None
        split = counts[:, code] > 1 if self.mode == "orbits" else np.full(len(devices), variant == 1)
        keep = present & ((np.arange(k)[None, :] != code) | split[:, None])
        to = nxt[devices * k + code]
        others = np.where(keep, np.arange(k)[None, :], code)
        pre = np.concatenate([np.full((len(devices), 1), code), others], axis=1)
        post = np.concatenate([to[:, None], np.where(keep, others, to[:, None])], axis=1)
        return (devices, pre), (after, post), self.args[cls], split

    def _frame(self, pre, post=None, args=None) -> Frame:
        width = pre[1].shape[1]
        values = types.SimpleNamespace(**{**vars(self.values), "queues": width})
        return Frame(values, pre, post, args or {})

    def _check_steps(self, result: Expansion, devices, counts, present) -> None:
        for prop in self.step_props:
            if prop.name in self.found:
                continue
            best = None
            for s, (cls, _, _) in enumerate(self.slot_of):
                if self.tables.classes[cls].event.name not in prop.events or not result.valid[s].any():
                    continue
                pre, post, args, _ = self._pre_post(s, devices, counts, present)
                bad = np.flatnonzero(result.valid[s] & ~evaluate(prop.expr, self._frame(pre, post, args)))
                if bad.size and (best is None or bad[0] * self.slots + s < best):
                    best = int(bad[0]) * self.slots + s
            if best is not None:
                result.reports[prop.name] = (best, "step", None, f"{prop.name} is false across the last step", None)
        self._check_complete(result, devices, present)
        for prop in self.history:
            if prop.name not in self.found:
                self._check_swaps(prop, result, devices, counts, present)

    def _check_complete(self, result: Expansion, devices, present) -> None:
        if "complete" in self.found:
            return
        k, best = self.kinds, None
        cells = devices[:, None] * k + np.arange(k)[None, :]
        for s, (cls, code, _) in enumerate(self.slot_of):
            undefined = self.tables.classes[cls].undefined.ravel()
            hit = (undefined[cells] & present).any(axis=1) if code is None else undefined[cells[:, code]]
            bad = np.flatnonzero(hit & result.valid[s])
            if bad.size and (best is None or bad[0] * self.slots + s < best):
                best = int(bad[0]) * self.slots + s
        if best is not None:
            row, s = divmod(best, self.slots)
            cls, code, _ = self.slot_of[s]
            if code is None:
                code = int(np.argmax(self.tables.classes[cls].undefined.ravel()[cells[row]] & present[row]))
            t = self.singles[code]
            shown = _shown(self.m1.instances[cls])
            message = f"no row of the table says what {shown} does to queue {{q}} in state {t[0]}"
            result.reports["complete"] = (best, "state", t, message, None)

    # -- history freedom ------------------------------------------------------------------
    def _projection(self, prop):
        queue_names = [v.name for v in self.spec.queue_variables]
        device_names = [v.name for v in self.spec.device_variables]
        q_slots = [queue_names.index(n) for n in prop.inputs if n in queue_names]  # in the order of `inputs`
        d_slots = [device_names.index(n) for n in prop.inputs if n in device_names]
        seen: dict[tuple, int] = {}
        queue = np.array([seen.setdefault(tuple(t[i] for i in q_slots), len(seen)) for t in self.singles])
        seen_d: dict[tuple, int] = {}
        device = np.array([seen_d.setdefault(tuple(d[i] for i in d_slots), len(seen_d)) for d in self.devices])
        return queue, len(seen), device, q_slots

    def _entries(self, slot: int, pre: np.ndarray, split) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The witness columns that are real entries of the reduced explorer's
        edge (not padding), which of them is the target, and, per row, the
        columns in its entry order (codes ascending, a split copy before its
        target; padding last)."""
        code = self.slot_of[slot][1]
        target = np.zeros(pre.shape[1], dtype=bool)
        if code is None:
            real = _first_only(pre).astype(bool)
        else:
            target[0] = True
            real = np.ones(pre.shape, dtype=bool)
            real[:, 1:] = (pre[:, 1:] != code) | self._split_copy(slot, pre, split)
        rank = np.where(real, pre * 2 + target[None, :], 2 * self.kinds + 2)
        return real, target, np.argsort(rank, axis=1, kind="stable")

    def _split_copy(self, slot: int, pre: np.ndarray, split) -> np.ndarray:
        """(M, K) the column of the other queues holding the split copy of the target's class."""
        code = self.slot_of[slot][1]
        return (np.arange(pre.shape[1] - 1)[None, :] == code) & split[:, None]

    def _check_swaps(self, prop, result: Expansion, devices, counts, present) -> None:
        """Two real entries alike in the inputs that end apart (the reduced
        explorer's first history check); the other steps are kept for
        :meth:`_check_profiles`."""
        groups, width, device_key, q_slots = self._projection(prop)
        rows_out = []
        best = None
        for s, (cls, _, _) in enumerate(self.slot_of):
            if self.tables.classes[cls].event.name not in prop.events or not result.valid[s].any():
                continue
            (_, pre), (after, post), _, split = self._pre_post(s, devices, counts, present)
            real, target, sequence = self._entries(s, pre, split)
            key = groups[pre] * 2 + target[None, :]
            count = len(devices)
            first_post = np.full((count, 2 * width), -1)
            clash = np.zeros(count, dtype=bool)
            bad_col = np.zeros(count, dtype=np.intp)
            lines = np.arange(count)
            for j in range(pre.shape[1]):
                col = sequence[:, j]
                live = real[lines, col]
                kj, pj = key[lines, col], post[lines, col]
                known = first_post[lines, kj]
                newly = live & (known >= 0) & (known != pj) & ~clash
                bad_col = np.where(newly, col, bad_col)
                clash |= newly
                first_post[lines, kj] = np.where(live & (known < 0), pj, known)
            bad = np.flatnonzero(clash & result.valid[s])
            if bad.size and (best is None or bad[0] * self.slots + s < best[0]):
                row = int(bad[0])
                col = int(bad_col[row])
                g = int(key[row, col])
                e_pre = self.singles[pre[row, col]]
                pair = (e_pre, self.singles[int(first_post[row, g])])
                best = (row * self.slots + s, pair, (tuple(e_pre[i] for i in q_slots), bool(target[col])))
            rows = np.flatnonzero(result.valid[s] & ~clash)
            if rows.size:
                weight = self._weights(s, pre, counts, real, split)
                dkey = device_key[devices]
                rows_out.append((s, rows, key[rows], real[rows], weight[rows], post[rows], after[rows], dkey[rows]))
        result.extra.setdefault("history", {})[prop.name] = (best, rows_out)

    def _weights(self, slot: int, pre, counts, real, split) -> np.ndarray:
        """How many queues each real entry stands for (support: 1)."""
        if self.mode == "support":
            return real.astype(np.int64)
        code = self.slot_of[slot][1]
        weight = np.take_along_axis(counts, pre, axis=1)
        if code is not None:
            weight[:, 0] = 1
            weight[:, 1:] -= self._split_copy(slot, pre, split)
        return np.where(real, weight, 0)

    def _check_profiles(self, prop, result: Expansion) -> None:
        """The reduced explorer's second history check: per (event, arguments,
        device inputs, profile of the inputs), the first outcome seen."""
        best, rows_out = result.extra.get("history", {}).get(prop.name, (None, []))
        _, width, _, _ = self._projection(prop)
        positions, tables = [], []
        for s, rows, key, real, weight, post, after, dkey in rows_out:
            lines = np.arange(len(rows))[:, None]
            profile = np.zeros((len(rows), 2 * width), dtype=np.int64)
            np.add.at(profile, (np.broadcast_to(lines, key.shape), key), weight)
            value = np.full((len(rows), 2 * width), -1, dtype=np.int64)
            value[np.broadcast_to(lines, key.shape)[real], key[real]] = post[real]
            if self.mode == "support":
                profile = np.minimum(profile, 1)
            cls = np.full((len(rows), 1), self.slot_of[s][0])
            tables.append(np.concatenate([cls, dkey[:, None], profile, after[:, None], value], axis=1))
            positions.append(rows * self.slots + s)
        clash = None
        if tables:
            positions = np.concatenate(positions)
            order = np.argsort(positions)
            positions, table = positions[order], np.concatenate(tables)[order]
            unique, first = np.unique(table, axis=0, return_index=True)
            split = 2 + 2 * width
            for index in np.argsort(first):
                row = unique[index]
                key, value = tuple(row[:split].tolist()), tuple(row[split:].tolist())
                position = int(positions[first[index]])
                here = (result.first + position // self.slots, position % self.slots)
                seen = self.history_seen.setdefault((prop.name, key), (value, *here))
                if seen[0] != value:
                    clash = (position, None, (seen[1], seen[2]))
                    break
        reports = [r for r in (best, clash) if r is not None]
        if reports:
            position, pair, other = min(reports, key=lambda r: r[0])
            event = self.tables.classes[self.slot_of[position % self.slots][0]].event.name
            message = (
                f"two histories that agree on {', '.join(prop.inputs)} and on the "
                f"arguments of {event} end in different states"
            )
            other = ("swap", other) if pair is not None else other
            here = (result.first + position // self.slots, position % self.slots)
            self._found(prop.name, (*here, "history", pair, message, other))

    # -- admission -------------------------------------------------------------------------
    def absorb(self, result: Expansion, lo: int) -> None:
        extra = result.extra
        self.edges += extra["edges"]
        self.fired += extra["fired"]
        for name, (position, kind, cls, message, other) in result.reports.items():
            slot = position % self.slots if kind == "step" else None  # a state finding has no step
            self._found(name, (result.first + position // self.slots, slot, kind, cls, message, other))
        for prop in self.history:
            if prop.name not in self.found:
                self._check_profiles(prop, result)
        self.check_states(lo)

    def check_states(self, lo: int) -> None:
        if lo == self.codes.size:
            return
        devices, counts = self.split(self.codes.view(lo))
        present = counts > 0
        cells = devices[:, None] * self.kinds + np.arange(self.kinds)[None, :]
        for prop, holds in self.local:
            if prop.name in self.found:
                continue
            failing = present & ~holds[cells]
            bad = np.flatnonzero(failing.any(axis=1))
            if bad.size:
                t = self.singles[int(np.argmax(failing[bad[0]]))]
                self._found(
                    prop.name,
                    (lo + int(bad[0]), None, "queue", t, f"queue {{q}} breaks {prop.name} in the last state", None),
                )
        witness = self._witness(present)
        for prop in self.other:
            if prop.name in self.found:
                continue
            value = evaluate(prop.expr, self._frame((devices, witness)), per_queue=prop.per_queue)
            failing = ~value if prop.per_queue else ~value[:, None]
            bad = np.flatnonzero(failing.any(axis=1))
            if bad.size:
                row = int(bad[0])
                t = self.singles[int(witness[row, int(np.argmax(failing[row]))])] if prop.per_queue else None
                self._found(prop.name, (lo + row, None, "state", t, f"{prop.name} is false in the last state", None))

    def _found(self, name: str, finding: tuple) -> None:
        if name in self.found:
            return
        self.found[name] = finding
        if self.want is not None and self.want <= set(self.found):
            raise Stop("found every failing check")

    # -- results, through the reduced explorer's records --------------------------------
    def run_search(self) -> tuple[int, str | None]:
        return self.run([self.encode(orbit) for orbit in self.general.starts()])

    def orbit(self, index: int):
        return self.decode(self.codes.data[index])

    def _link(self, index: int):
        """Fill the reduced explorer's parents along the path to state ``index``; its orbit."""
        chain = [index]
        while chain[-1] >= self.roots:
            chain.append(int(self.parents.data[chain[-1]]))
        chain.reverse()
        self.general.parent.setdefault(self.orbit(chain[0]), None)
        for parent, child in itertools.pairwise(chain):
            orbit = self.orbit(parent)
            edge = self.edge_from(parent, int(self.labels.data[child]))
            assert self.general.target_of(orbit, edge) == self.orbit(child)
            self.general.parent.setdefault(self.orbit(child), (orbit, edge))
        return self.orbit(index)

    def edge_from(self, index: int, slot: int):
        """The reduced explorer's edge for ``slot`` out of state ``index``."""
        probe = self.expand(index, self.codes.data[index : index + 1])
        rank = int(probe.valid[:slot, 0].sum())
        return self.general.successors(self.orbit(index))[rank]

    def findings(self) -> dict[str, Finding]:
        """The findings as the reduced explorer records them."""
        result = {}
        for name, (index, slot, kind, cls, message, other) in self.found.items():
            orbit = self._link(index)
            edge = self.edge_from(index, slot) if slot is not None else None
            if other is not None and other[0] != "swap":
                other = (self._link(other[0]), self.edge_from(*other))
            result[name] = Finding(name, kind, orbit, edge, cls, message, other)
        return result

    def concrete_states(self) -> int:
        """How many concrete states the stored orbits stand for."""
        _, counts = self.split(self.codes.view())
        total = 0
        for row, n in Counter(map(tuple, counts.tolist())).items():
            size = factorial(self.queues)
            for c in row:
                size //= factorial(c)
            total += size * n
        return total

    def fired_counts(self) -> dict[str, int]:
        return {row.name: int(n) for row, n in zip(self.spec.transitions, self.fired.sum(axis=1), strict=True)}

    def fired_from(self) -> set[tuple[str, str]]:
        names = [row.name for row in self.spec.transitions]
        return {(names[r], self.singles[c][0]) for r, c in zip(*np.nonzero(self.fired), strict=True)}


def _first_only(pre, skip_first: bool = False):
    """1 for the first column holding each code in a row (padding copies count 0)."""
    mask = np.ones(pre.shape, dtype=np.int64)
    start = 1 if skip_first else 0
    for j in range(start + 1, pre.shape[1]):
        earlier = (pre[:, start:j] == pre[:, j : j + 1]).any(axis=1)
        mask[:, j] = ~earlier
    return mask
