"""Expressions evaluated on many packed states at once, with NumPy.

The fourth interpreter of the expression tree (after the closures of
``spec/concrete.py``, Z3 and text): it reads arrays instead of one state.
A :class:`Frame` holds M states before a step (and, for step properties,
the M states after it) as device codes (M,) and queue codes (M, N), and the
event's arguments; :func:`evaluate` returns one boolean per state, or per
(state, queue) for a per-queue invariant.

Every queue bound by ``forall``/``exists`` (and the queue in context) is an
axis of length N; a quantifier reduces its axis with ``all``/``any``. Values
are positions in their type's value list (booleans stay booleans), read from
the codec's per-code value arrays, so a variable costs one gather.

>>> import numpy as np
>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.model.machine import Machine
>>> spec = load_spec("resolved")
>>> start = Machine(spec, 2).initial_states()[0]
>>> codec = Codec(spec, 2, singles=[start.queues[0]])
>>> frame = Frame(codec, codec.split(np.array([codec.encode(start)], dtype=np.uint64)))
>>> invariant = next(p for p in spec.properties if p.name == "no_lost_kick")
>>> evaluate(invariant.expr, frame, per_queue=True).tolist()
[[True, True]]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from virtio_notifier_spec.spec.expr import BoolOp, Compare, Expr, IfThenElse, Kind, Literal, Not, Param, Quantifier, Var

from .codec import Codec, value_index

Split = tuple[np.ndarray, np.ndarray]  # device codes (M,), queue codes (M, N)


@dataclass(frozen=True, eq=False)
class Frame:
    """What an expression reads: states before (and after) a step, and arguments.

    ``args`` maps a parameter to a value index: one for every state, or an
    array (M,) of them.
    """

    codec: Codec
    pre: Split
    post: Split | None = None
    args: dict[str, object] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.pre[0])


def evaluate(expr: Expr, frame: Frame, *, per_queue: bool = False) -> np.ndarray:
    """``expr`` on every state of ``frame``: (M,), or (M, N) with ``per_queue``
    (bare per-queue names read each queue in turn)."""
    n = frame.codec.queues
    if per_queue:
        value = _value(expr, frame, {"": 0}, 1)
        return np.broadcast_to(value, (frame.size, n))
    return np.broadcast_to(_value(expr, frame, {}, 0), (frame.size,))


def _shape(depth: int, axis: int | None = None, n: int = 1) -> tuple[int, ...]:
    """(-1, 1, ..., 1), with ``n`` at queue axis ``axis`` when given."""
    dims = [1] * depth
    if axis is not None:
        dims[axis] = n
    return (-1, *dims)


def _literal(node: Literal):
    if node.type.kind is Kind.BOOL:
        return bool(node.value)
    return value_index(node.type, node.value)


def _value(node: Expr, frame: Frame, axes: dict[str, int], depth: int) -> np.ndarray:
    match node:
        case Literal():
            return np.full((1,) * (1 + depth), _literal(node))
        case Param(name=name):
            if name in axes:  # a bound queue: its index along its axis
                return np.arange(frame.codec.queues).reshape((1, *_shape(depth, axes[name], -1)[1:]))
            return np.asarray(frame.args[name]).reshape(_shape(depth))
        case Var():
            return _variable(node, frame, axes, depth)
        case Not(operand=operand):
            return np.logical_not(_value(operand, frame, axes, depth))
        case BoolOp(op=op, left=left, right=right):
            a, b = _value(left, frame, axes, depth), _value(right, frame, axes, depth)
            if op == "and":
                return np.logical_and(a, b)
            if op == "or":
                return np.logical_or(a, b)
            return np.logical_or(np.logical_not(a), b)
        case Compare(op=op, left=left, right=right):
            a, b = _value(left, frame, axes, depth), _value(right, frame, axes, depth)
            return np.equal(a, b) if op == "==" else np.not_equal(a, b)
        case Quantifier(kind=kind, var=var, body=body):
            inner = _value(body, frame, {**axes, var: depth}, depth + 1)
            return inner.all(axis=-1) if kind == "forall" else inner.any(axis=-1)
        case IfThenElse(cond=cond, then=then, orelse=orelse):
            return np.where(*(_value(x, frame, axes, depth) for x in (cond, then, orelse)))
    raise TypeError(f"not a resolved expression: {node!r}")  # pragma: no cover


def _variable(node: Var, frame: Frame, axes: dict[str, int], depth: int) -> np.ndarray:
    codec = frame.codec
    side = frame.post if node.primed else frame.pre
    if side is None:
        raise ValueError(f"{node.name}' needs the state after a step")
    devices, queues = side
    if not node.per_queue:
        return codec.device_values[node.name][devices].reshape(_shape(depth))
    values = codec.queue_values[node.name]
    index = "" if node.index is None else node.index
    if index in axes:
        return values[queues].reshape(_shape(depth, axes[index], codec.queues))
    target = frame.args[index]  # a queue parameter: one queue per state
    if np.ndim(target) == 0:
        picked = queues[:, int(target)]  # type: ignore[arg-type]
    else:
        picked = np.take_along_axis(queues, np.asarray(target).reshape(-1, 1), axis=1)[:, 0]
    return values[picked].reshape(_shape(depth))
