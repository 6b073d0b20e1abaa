"""The packed driver's first occurrences (model/frontier.py): the new codes of
a chunk, each with the step that reaches it first in (state, slot) order,
against a one-step-at-a-time reference; on codes narrow enough for the
one-sort path and on codes too wide for it. As in the engines, the successor
of a step not offered has bit 63 set."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from virtio_notifier_spec.model.frontier import first_occurrences
from virtio_notifier_spec.model.visited import CodeSet


def _reference(succ, valid, codes, visited: set[int]):
    slots, count = succ.shape
    met: set[int] = set()
    fresh, keys = [], []
    for row in range(count):
        for slot in range(slots):
            code = int(succ[slot, row])
            if not valid[slot, row] or code == int(codes[row]) or code in visited or code in met:
                continue
            met.add(code)
            fresh.append(code)
            keys.append(row * slots + slot)
    return fresh, keys


@settings(max_examples=200, deadline=None)
@given(
    bits=st.sampled_from([3, 12, 40, 50, 62]),
    slots=st.integers(1, 6),
    count=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_first_occurrences_are_the_one_at_a_time_search_s(bits, slots, count, seed):
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 1 << bits, size=8, dtype=np.uint64)  # few codes: many repeats
    succ = pool[rng.integers(0, len(pool), size=(slots, count))]
    codes = pool[rng.integers(0, len(pool), size=count)]
    valid = rng.random((slots, count)) < 0.8
    succ[~valid] |= np.uint64(1 << 63)  # as the engines mark a step not offered
    known = {int(c) for c in pool[rng.random(len(pool)) < 0.3]}
    visited = CodeSet()
    visited.add(np.array(sorted(known), dtype=np.uint64))
    fresh, keys = first_occurrences(succ, valid, codes, visited)
    assert fresh.dtype == np.uint64 and keys.dtype == np.int64
    assert (fresh.tolist(), keys.tolist()) == _reference(succ, valid, codes, known)
