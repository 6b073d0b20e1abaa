"""Can a step premise hold on a step that changes nothing? Decided by Z3.

A liveness property whose premise is a step of some events (``events = [...]``
on a ``leads_to``) reads the state before the step, the state after it
(primed names) and the event's parameters. When the event concerns one
queue and the property follows another one, that queue's step changes
neither the device nor the followed queue (in a table whose queues never
influence each other): for the followed queue it is a *stutter*. Whether
such a step can satisfy the premise is the question here: every primed name
is read as its unprimed value, and Z3 looks for a valuation of what the
premise reads (over each type's whole domain, reachable or not) that makes
it true. ``scale/liveness.py`` projects a property onto one queue only when
none exists (``spec/fragment.py``, :func:`~.fragment.projection_reason`).

>>> from .load import load_spec
>>> prop = next(p for p in load_spec("resolved").liveness if p.name == "fast_path_after_release")
>>> stutter_witness(load_spec("resolved"), prop.premise) is None   # vhost_fd and not vhost_fd'
True
"""

from __future__ import annotations

import z3

from .expr import Expr, Type
from .overlap import _Encoding  # x' is read as x: a primed name is the same constant
from .schema import Spec


def stutter_witness(spec: Spec, premise: Expr | None, params: dict[str, Type] | None = None) -> str | None:
    """A valuation (``name = value, ...``) under which ``premise`` holds on a
    step that changes no variable it reads, or None when there is none.
    ``params`` are the types of the event parameters it reads. A premise
    with a quantifier is not asked (the caller refuses it first)."""
    if premise is None:
        return "always"
    encoding = _Encoding({v.name: v.type for v in spec.variables} | dict(params or {}))
    solver = z3.Solver(ctx=encoding.context)
    solver.set("ctrl_c", False)  # Z3's own SIGINT handler would swallow a Ctrl-C meant for the program
    solver.add(encoding.term(premise))
    solver.add(*encoding.domains)
    answer = solver.check()
    if answer == z3.unknown:  # not shown impossible: the caller must not rely on it
        return f"some valuation (Z3 could not decide: {solver.reason_unknown()})"
    if answer != z3.sat:
        return None
    model = solver.model()
    shown = [
        f"{key} = {encoding.text(key, model.evaluate(const, model_completion=True))}"
        for key, const in sorted(encoding.consts.items())
    ]
    return ", ".join(shown) or "always"
