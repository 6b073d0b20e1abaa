"""Packed states: a device with N queues as one 64-bit integer.

The device is numbered among every valuation of the device variables (its
*device code*); a queue tuple is numbered among the tuples one queue can
ever hold (its *queue code*, in sorted tuple order). A state packs the
device code in the low ``dev_bits`` bits and queue q's code in the
``queue_bits`` bits above it, at ``shift(q)``:

    code = device | code(q0) << shift(0) | code(q1) << shift(1) | ...

:class:`Codec` converts between packed codes and the explorer's
:class:`~virtio_notifier_spec.spec.concrete.State`, one at a time or as
NumPy arrays, and holds each variable's value as an array indexed by code,
which is what the vector predicates read (:mod:`.vector`).

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.model.machine import Machine
>>> spec = load_spec("resolved")
>>> start = Machine(spec, 3).initial_states()[0]
>>> codec = Codec(spec, 3, singles=[start.queues[0]])
>>> codec.decode(codec.encode(start)) == start
True
"""

from __future__ import annotations

import itertools

import numpy as np

from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.expr import Kind, Type
from virtio_notifier_spec.spec.schema import Spec

#: Codes use at most this many bits, so that they fit a signed 64-bit key too.
MAX_BITS = 63


def value_index(vtype: Type, value: object) -> int:
    """The position of ``value`` among its type's values (queues: the index itself)."""
    if vtype.kind is Kind.QUEUE:
        return int(value)  # type: ignore[arg-type]
    return vtype.values.index(value)


class TooWide(ValueError):
    """The packed state would not fit in 64 bits."""


class Codec:
    """Packed codes for ``spec`` with ``queues`` queues; ``singles`` are the
    queue tuples one queue can hold (sorted here)."""

    def __init__(self, spec: Spec, queues: int, singles) -> None:
        self.spec = spec
        self.queues = queues
        self.devices: tuple[tuple, ...] = tuple(itertools.product(*(v.type.values for v in spec.device_variables)))
        self.singles: tuple[tuple, ...] = tuple(sorted(singles))
        self.device_index = {d: i for i, d in enumerate(self.devices)}
        self.single_index = {t: i for i, t in enumerate(self.singles)}
        self.dev_bits = max(1, (len(self.devices) - 1).bit_length())
        self.queue_bits = max(1, (len(self.singles) - 1).bit_length())
        if self.dev_bits + queues * self.queue_bits > MAX_BITS:
            raise TooWide(
                f"{queues} queues of {len(self.singles)} possible tuples and {len(self.devices)} device "
                f"valuations need more than {MAX_BITS} bits"
            )
        self.dev_mask = np.uint64((1 << self.dev_bits) - 1)
        self.queue_mask = np.uint64((1 << self.queue_bits) - 1)
        self.shifts = np.array([self.shift(q) for q in range(queues)], dtype=np.uint64)
        self.device_values = {
            v.name: self._column(v.type, [d[i] for d in self.devices]) for i, v in enumerate(spec.device_variables)
        }
        self.queue_values = {
            v.name: self._column(v.type, [t[i] for t in self.singles]) for i, v in enumerate(spec.queue_variables)
        }

    @staticmethod
    def _column(vtype: Type, values: list) -> np.ndarray:
        if vtype.kind is Kind.BOOL:
            return np.array(values, dtype=bool)
        return np.array([value_index(vtype, v) for v in values], dtype=np.int16)

    def shift(self, q: int) -> int:
        return self.dev_bits + q * self.queue_bits

    # -- one state --------------------------------------------------------------
    def encode(self, state: State) -> int:
        code = self.device_index[state.device]
        for q, t in enumerate(state.queues):
            code |= self.single_index[t] << self.shift(q)
        return code

    def decode(self, code: int) -> State:
        code = int(code)
        device = self.devices[code & int(self.dev_mask)]
        mask = int(self.queue_mask)
        queues = tuple(self.singles[(code >> self.shift(q)) & mask] for q in range(self.queues))
        return State(device, queues)

    # -- many states ------------------------------------------------------------
    def split(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(device codes (M,), queue codes (M, N)) of packed ``codes``, as indices."""
        devices = (codes & self.dev_mask).astype(np.intp)
        queues = ((codes[:, None] >> self.shifts[None, :]) & self.queue_mask).astype(np.intp)
        return devices, queues

    def join(self, devices: np.ndarray, queues: np.ndarray) -> np.ndarray:
        """Packed codes of (device codes (M,), queue codes (M, N))."""
        packed = (queues.astype(np.uint64) << self.shifts[None, :]).sum(axis=1, dtype=np.uint64)
        return packed | devices.astype(np.uint64)
