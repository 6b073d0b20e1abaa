"""The visited set of the packed engine: 64-bit codes in an open-addressing
hash table, looked up and filled a whole array at a time.

Linear probing in a power-of-two table kept at most half full; the slot of
a code is the top bits of its product with an odd 64-bit constant
(Fibonacci hashing). Every probe round is one NumPy gather over the codes
still looking, so a batch of a million codes costs a few passes. Lookups
only read the table, so threads can look up at once while nobody inserts.

>>> import numpy as np
>>> seen = CodeSet()
>>> seen.add(np.array([3, 7], dtype=np.uint64))
>>> seen.contains(np.array([7, 8, 3], dtype=np.uint64)).tolist()
[True, False, True]
>>> len(seen)
2
"""

from __future__ import annotations

import numpy as np

EMPTY = np.uint64(0xFFFF_FFFF_FFFF_FFFF)  # never a code: codes use at most 63 bits
_MULTIPLIER = np.uint64(0x9E37_79B9_7F4A_7C15)


class CodeSet:
    """A set of distinct uint64 codes below 2**63."""

    def __init__(self, capacity: int = 1024) -> None:
        self.size = 0
        self._allocate(max(10, (2 * max(capacity, 1) - 1).bit_length()))

    def _allocate(self, bits: int) -> None:
        self.bits = bits
        self.mask = (1 << bits) - 1
        self.table = np.full(1 << bits, EMPTY, dtype=np.uint64)

    def __len__(self) -> int:
        return self.size

    @property
    def nbytes(self) -> int:
        return self.table.nbytes

    def _slots(self, codes: np.ndarray) -> np.ndarray:
        return ((codes * _MULTIPLIER) >> np.uint64(64 - self.bits)).view(np.int64)

    def contains(self, codes: np.ndarray) -> np.ndarray:
        """One boolean per code: is it in the set."""
        table, mask = self.table, self.mask
        slots = self._slots(codes)
        held = table[slots]
        found = held == codes
        waiting = np.flatnonzero(~found & (held != EMPTY))  # collided: probe on
        slots = (slots[waiting] + 1) & mask
        while waiting.size:
            held = table[slots]
            hit = held == codes[waiting]
            found[waiting[hit]] = True
            go_on = ~hit & (held != EMPTY)
            waiting, slots = waiting[go_on], (slots[go_on] + 1) & mask
        return found

    def add(self, codes: np.ndarray) -> None:
        """Insert ``codes``: distinct, and none in the set yet."""
        if 2 * (self.size + len(codes)) > len(self.table):
            old = self.table[self.table != EMPTY]
            self._allocate(max(self.bits + 1, (4 * (self.size + len(codes)) - 1).bit_length()))
            self._place(old)
        self._place(codes)
        self.size += len(codes)

    def _place(self, codes: np.ndarray) -> None:
        table, mask = self.table, self.mask
        slots = self._slots(codes)
        while codes.size:
            free = table[slots] == EMPTY
            table[slots[free]] = codes[free]  # several codes may race for one slot: one wins
            placed = np.zeros(len(codes), dtype=bool)
            placed[free] = table[slots[free]] == codes[free]
            taken = ~placed
            # a loser of a race tries the same slot again (now taken: it moves on next round)
            slots = np.where(free, slots, (slots + 1) & mask)[taken]
            codes = codes[taken]


def first_of_each(codes: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct code once, with the smallest of its ``keys`` (distinct
    int64s), in no particular order.

    A scratch hash table (linear probing, at most half full) decides it
    round by round: the codes that reach a free slot together contest it,
    the smallest key wins (``np.minimum.at``) and claims it for its code;
    a code that finds its own code in the slot is a repeat; the others
    probe on. Equal codes probe the same slots in the same rounds, so the
    one with the smallest key is the one kept.

    >>> codes, keys = first_of_each(np.array([5, 9, 5, 7, 9], dtype=np.uint64), np.array([4, 3, 2, 1, 0]))
    >>> sorted(zip(codes.tolist(), keys.tolist()))
    [(5, 2), (7, 1), (9, 0)]
    """
    if not len(codes):
        return codes, keys
    bits = max(4, (2 * len(codes) - 1).bit_length())
    mask = (1 << bits) - 1
    held = np.full(1 << bits, EMPTY, dtype=np.uint64)
    owner = np.full(1 << bits, np.iinfo(np.int64).max, dtype=np.int64)
    slots = ((codes * _MULTIPLIER) >> np.uint64(64 - bits)).view(np.int64)
    active = np.arange(len(codes))
    kept = []
    while active.size:
        here = held[slots]
        free = here == EMPTY
        contest = active[free]
        np.minimum.at(owner, slots[free], keys[contest])
        won = free.copy()
        won[free] = owner[slots[free]] == keys[contest]
        held[slots[won]] = codes[active[won]]
        kept.append(active[won])
        # every loser compares its code with the slot's (claimed now or before)
        lost = ~won
        again = lost & (held[slots] != codes[active])
        active, slots = active[again], (slots[again] + 1) & mask
    kept_at = np.concatenate(kept)
    return codes[kept_at], keys[kept_at]
