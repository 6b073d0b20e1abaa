"""Breadth-first search over packed codes, a chunk of the frontier at a time.

The driver shared by the packed engine (:mod:`.packed`) and the packed
orbit and support searches (``scale/packed_reduced.py``). A subclass says
how many successor *slots* a state has (``slots``: instances, or instances
per class of queues), lays a chunk's successors out as an (slots, M) array
with a validity mask (:meth:`FrontierSearch.expand`), and checks what was
admitted (:meth:`FrontierSearch.absorb`). The driver keeps the rest:

- the visited set (:class:`~.visited.CodeSet`) and, per stored state, its
  code, its parent's number and the slot that reached it, so that traces
  are rebuilt on demand (:meth:`FrontierSearch.path`);
- the order: a state's successors are met by slot, states by number, so
  the first occurrence of a new code (:func:`first_occurrences`) is the
  step that the one-state-at-a-time explorers take to it first;
- ``max_states`` (stopping on the very edge that admits that state, by
  expanding the chunk again up to it), ``timeout``, ``progress`` and
  Ctrl-C (a partial result, ``"interrupted"``);
- ``depth``: the level at the bound is expanded (its steps counted and
  checked) but nothing new is admitted from it; the search is cut, and
  partial, only if that level leads to a state not yet visited;
- threads: ``workers`` chunks of a level are expanded at once (expansion
  only reads the visited set; NumPy releases the GIL in its loops), then
  admitted one by one, in order;
- other machines: ``remote``, set by a cluster (``scale/cluster.py``),
  expands a batch of chunks elsewhere and hands the expansions back in
  order, and ``visited`` may be a set kept elsewhere (sharded by hash) with
  the same ``contains``/``add``; admission stays here, in order, so the
  result is the same as on one core (``model/README.md``, "Beyond one machine").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .explore import depth_stop
from .visited import CodeSet

#: A chunk's successor array holds about this many codes.
CHUNK_EDGES = 1 << 20


class Remote(Protocol):
    """Expands chunks elsewhere (``scale/cluster.py``): ``batch`` chunks at a time."""

    batch: int

    def expand(self, jobs: list[tuple[int, np.ndarray]]) -> list[Expansion]:
        """The expansion of each (first number, codes), in order."""
        ...


class Stop(Exception):
    """--max-states or --timeout was reached, or every wanted check was found."""


class Column:
    """A growable 1-D array."""

    def __init__(self, dtype) -> None:
        self.data = np.empty(1024, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.empty(max(end, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end

    def view(self, lo: int = 0, hi: int | None = None) -> np.ndarray:
        return self.data[lo : self.size if hi is None else hi]


@dataclass(eq=False)
class Expansion:
    """What one chunk of the frontier leads to, before anything is admitted."""

    first: int  # number of the chunk's first state
    codes: np.ndarray  # (M,) the chunk
    succ: np.ndarray  # (S, M) successor codes by slot
    valid: np.ndarray  # (S, M) the slot is a step
    fresh: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))  # new codes, in order
    where: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # row * S + slot of each
    reports: dict[str, tuple] = field(default_factory=dict)  # check -> (row * S + slot, what to report)
    extra: dict = field(default_factory=dict)  # what the subclass counted


def first_occurrences(succ: np.ndarray, valid: np.ndarray, codes: np.ndarray, visited: CodeSet):
    """(new codes, row * S + slot of the step reaching each first), in that order.
    A slot that is not a step holds a code with bit 63 set (never a state's)."""
    slots, count = succ.shape
    moved = valid & (succ != codes[None, :])
    moved[1:] &= succ[1:] != succ[:-1]  # the same successor as the previous slot's: never first
    where = np.flatnonzero(moved)
    candidates = succ.ravel()[where]
    unseen = ~visited.contains(candidates)
    where, candidates = where[unseen], candidates[unseen]
    return first_by_key(candidates, (where % count) * slots + where // count, slots * count)


def first_by_key(candidates: np.ndarray, keys: np.ndarray, key_limit: int):
    """(each distinct candidate, its smallest key), in key order; keys are
    distinct, below ``key_limit``.

    The candidates are ordered by (code, key) to find each code's first key:
    one sort of ``code << key bits | key`` when both fit in 64 bits (NumPy's
    vectorised sort, several times faster than ``lexsort``), else ``lexsort``.

    >>> codes, keys = first_by_key(np.array([7, 5, 7], dtype=np.uint64), np.array([4, 9, 2]), 10)
    >>> codes.tolist(), keys.tolist()
    ([7, 5], [2, 9])
    """
    key_bits = max(1, (key_limit - 1).bit_length())
    code_bits = int(candidates.max()).bit_length() if len(candidates) else 0
    if key_bits + code_bits <= 64:
        shift, low = np.uint64(key_bits), np.uint64((1 << key_bits) - 1)
        pairs = np.sort((candidates << shift) | keys.astype(np.uint64))
        candidates, keys = pairs >> shift, pairs & low
        first = np.ones(len(candidates), dtype=bool)
        first[1:] = candidates[1:] != candidates[:-1]
        pairs = np.sort((keys[first] << np.uint64(code_bits)) | candidates[first])
        return pairs & np.uint64((1 << code_bits) - 1), (pairs >> np.uint64(code_bits)).astype(np.int64)
    order = np.lexsort((keys, candidates))
    candidates, keys = candidates[order], keys[order]
    first = np.ones(len(candidates), dtype=bool)
    first[1:] = candidates[1:] != candidates[:-1]
    fresh, keys = candidates[first], keys[first]
    order = np.argsort(keys)
    return fresh[order], keys[order]


class FrontierSearch:
    """The level-by-level driver; see the module."""

    slots: int  # successor slots per state, set by the subclass

    def __init__(
        self,
        *,
        max_states: int | None = None,
        timeout: float | None = None,
        progress: Callable[[int, int, int], None] | None = None,
        workers: int = 1,
        depth: int | None = None,
    ) -> None:
        self.max_states = max_states
        self.bound = depth
        self.cut = False
        self.deadline = time.monotonic() + timeout if timeout else None
        self.progress = progress
        self.workers = max(1, workers)
        self.remote: Remote | None = None
        self.visited = CodeSet()
        self.codes = Column(np.uint64)
        self.parents = Column(np.uint32)
        self.labels = Column(np.uint32)
        self.roots = 0
        self.edges = 0

    def __getstate__(self) -> dict:
        """What a worker elsewhere needs to expand chunks: everything but the
        states stored so far, the progress callback and the remote hook."""
        state = dict(self.__dict__)
        for name in ("codes", "parents", "labels"):
            state[name] = Column(state[name].data.dtype)
        state["progress"] = state["remote"] = None
        return state

    def chunk_states(self) -> int:
        """States per chunk: about :data:`CHUNK_EDGES` successors."""
        return max(256, CHUNK_EDGES // max(1, self.slots))

    # -- what a subclass provides ---------------------------------------------------
    def expand(self, first: int, codes: np.ndarray, limit: int | None = None) -> Expansion:
        """Successors of ``codes`` (numbered from ``first``); with ``limit``
        the last state's slots after ``limit`` are not steps. Must not write."""
        raise NotImplementedError

    def absorb(self, result: Expansion, lo: int) -> None:
        """Count and check a chunk whose new states are numbered from ``lo``."""
        raise NotImplementedError

    def check_states(self, lo: int) -> None:
        """Check the states numbered from ``lo`` (the starts use it too)."""
        raise NotImplementedError

    def stopped(self) -> None:
        """The search stops early (``--max-states``, ``--timeout``, Ctrl-C):
        check what is stored and unchecked (a subclass that checks states
        when it expands them, rather than when it admits them)."""

    # -- the search -------------------------------------------------------------------
    def path(self, index: int) -> tuple[int, list[int]]:
        """(the start's number, the slots from it) of the path to state ``index``."""
        slots = []
        while index >= self.roots:
            slots.append(int(self.labels.data[index]))
            index = int(self.parents.data[index])
        return index, slots[::-1]

    def run(self, starts: list[int]) -> tuple[int, str | None]:
        """Search from ``starts`` (codes, in order; repeats are dropped): (depth, partial)."""
        first = np.array(list(dict.fromkeys(starts)), dtype=np.uint64)
        self.roots = len(first)
        self.visited.add(first)
        self.codes.extend(first)
        self.parents.extend(np.zeros(len(first), dtype=np.uint32))
        self.labels.extend(np.zeros(len(first), dtype=np.uint32))
        depth, lo = 0, 0
        chunk = self.chunk_states()
        remote = self.remote
        batch_size = remote.batch if remote is not None else self.workers
        pool = ThreadPoolExecutor(self.workers) if self.workers > 1 and remote is None else None
        try:
            self.check_states(0)
            while lo < self.codes.size:
                hi = self.codes.size
                starts_at = list(range(lo, hi, chunk))
                for batch in range(0, len(starts_at), batch_size):
                    group = starts_at[batch : batch + batch_size]
                    jobs = [(s, self.codes.view(s, min(s + chunk, hi)).copy()) for s in group]
                    if remote is not None:
                        results = remote.expand(jobs)
                    elif pool is None:
                        results = [self.expand(*jobs[0])]
                    else:
                        results = list(pool.map(lambda job: self.expand(*job), jobs))
                    for result in results:
                        if self.bound is not None and depth >= self.bound:
                            self._keep_out(result)
                        self._admit_or_cut(result)
                    self._tick(depth + 1)
                lo = hi
                if self.codes.size > hi:
                    depth += 1
        except Stop as stop:
            self.stopped()
            return depth, str(stop)
        except KeyboardInterrupt:
            self.stopped()
            return depth, "interrupted"
        finally:
            if pool is not None:
                pool.shutdown()
        return depth, depth_stop(self.bound) if self.cut else None

    def _keep_out(self, result: Expansion) -> None:
        """At the depth bound: the chunk's steps stand, its new states are not admitted."""
        if (self.workers > 1 or self.remote is not None) and len(result.fresh):
            result.fresh = result.fresh[~self.visited.contains(result.fresh)]
        if len(result.fresh):
            self.cut = True
        result.fresh, result.where = result.fresh[:0], result.where[:0]

    def _admit_or_cut(self, result: Expansion) -> None:
        stale = self.workers > 1 or self.remote is not None
        if stale and len(result.fresh):  # an earlier chunk of the batch may have found some
            keep = ~self.visited.contains(result.fresh)
            result.fresh, result.where = result.fresh[keep], result.where[keep]
        before, limit = self.codes.size, self.max_states
        if limit is None or not len(result.fresh) or before + len(result.fresh) < limit:
            self._admit(result)
            return
        # stop on the step that admits state number `limit`, as the one-at-a-time explorers do
        row, slot = divmod(int(result.where[max(1, limit - before) - 1]), self.slots)
        cut = self.expand(result.first, result.codes[: row + 1], limit=slot)
        self._admit(cut)
        raise Stop(f"stopped at --max-states {limit}")

    def _admit(self, result: Expansion) -> None:
        lo = self.codes.size
        self.visited.add(result.fresh)
        self.codes.extend(result.fresh)
        self.parents.extend(result.first + result.where // self.slots)
        self.labels.extend(result.where % self.slots)
        self.absorb(result, lo)

    def _tick(self, level: int) -> None:
        if self.progress is not None:
            self.progress(self.codes.size, self.edges, level)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Stop("stopped at --timeout")
