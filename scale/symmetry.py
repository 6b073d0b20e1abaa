"""Queue symmetry: when the queues of a device are interchangeable, and the
canonical forms the reduced explorer stores.

The table instantiates every event over every queue and its properties only
quantify over queues, so renaming the queues of a reachable state gives a
reachable state with the same verdicts. That is the claim the reduction
rests on; which tables it holds for is decided in
:mod:`virtio_notifier_spec.spec.fragment` (this module keeps the names the
searches use): a table that names a fixed queue (a queue literal), or an
event with a queue parameter other than its target, is refused with an
error naming where.

A reduced state stores, instead of N queue tuples, how many queues hold each
distinct tuple: ``Counted(device, ((queue tuple, count), ...))`` sorted by
tuple, one canonical value per orbit of the permutation group.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> symmetry_refusal(load_spec("resolved")) is None
True
>>> counted(((1,), (0,), (1,)))
(((0,), 1), ((1,), 2))
>>> orbit_size((((0,), 1), ((1,), 2)))
3
"""

from __future__ import annotations

from collections import Counter
from math import factorial

from virtio_notifier_spec.spec.fragment import (
    SupportError,
    SymmetryError,
    support_cutoff,
    support_reason,
    symmetry_reason,
    witness_reason,
)
from virtio_notifier_spec.spec.schema import Spec

__all__ = [
    "SupportError",
    "SymmetryError",
    "counted",
    "expand",
    "needs_full_witness",
    "orbit_size",
    "support_cutoff",
    "support_refusal",
    "symmetry_refusal",
]


def symmetry_refusal(spec: Spec) -> SymmetryError | None:
    """Why the queues of ``spec`` are not interchangeable, as an error naming
    where; None when they are (:func:`~virtio_notifier_spec.spec.fragment.symmetry_reason`)."""
    reason = symmetry_reason(spec)
    if reason is None:
        return None
    return reason.error(SymmetryError, "; queue symmetry reduction would be unsound (use --no-symmetry)")


def needs_full_witness(spec: Spec) -> bool:
    """True when some expression compares queues, in any form: one queue can
    then not stand for a class of identical ones, and the orbit search steps
    every queue (:func:`~virtio_notifier_spec.spec.fragment.witness_reason`)."""
    return witness_reason(spec) is not None


def support_refusal(spec: Spec) -> str | None:
    """Why the support abstraction cannot decide ``spec`` for every N, as one
    located line; None when it can, from
    :func:`~virtio_notifier_spec.spec.fragment.support_cutoff` queues on."""
    reason = support_reason(spec)
    return None if reason is None else str(reason)


# -- canonical forms -----------------------------------------------------------


def counted(queues) -> tuple[tuple[tuple, int], ...]:
    """The queues as (tuple, how many queues hold it), sorted: one value per orbit."""
    return tuple(sorted(Counter(queues).items()))


def expand(counts) -> tuple[tuple, ...]:
    """The representative concrete queues of a counted form, in sorted order."""
    return tuple(t for t, n in counts for _ in range(n))


def orbit_size(counts) -> int:
    """How many concrete states share this counted form: N! / prod(count!)."""
    size = factorial(sum(n for _, n in counts))
    for _, n in counts:
        size //= factorial(n)
    return size
