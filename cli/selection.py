"""``--property NAME``: check or prove only the named properties.

The names are the table's properties of every kind (its liveness
properties too, where the command checks them) and the hygiene checks
(``deterministic``, ``complete``, ``no_dead_transition``; ``non_vacuous``
for ``prove``). An unknown name is bad input, with the names there are.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> spec = restrict(load_spec("resolved"), ("no_lost_kick", "no_deadlock"))
>>> [p.name for p in spec.properties], [p.name for p in spec.liveness]
(['no_lost_kick'], ['no_deadlock'])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from virtio_notifier_spec.model.explore import HYGIENE, Exploration
from virtio_notifier_spec.model.simulate import Simulation
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.schema import Spec

PROOF_HYGIENE = (*HYGIENE, "non_vacuous")


def check_names(
    spec: Spec, names: Iterable[str], hygiene: tuple[str, ...] = HYGIENE, *, liveness: bool = True
) -> frozenset[str]:
    """The names, each known to ``spec`` (its liveness properties too with
    ``liveness``); else a :class:`SpecError`."""
    known = [p.name for p in spec.properties] + list(hygiene)
    known += [p.name for p in spec.liveness] if liveness else []
    for name in names:
        if name not in known:
            raise SpecError(f"no property {name!r} in {spec.name} (known: {', '.join(known)})", field="--property")
    return frozenset(names)


def restrict(spec: Spec, names: Iterable[str]) -> Spec:
    """``spec`` with only the named properties (all of them when none is named)."""
    chosen = check_names(spec, names)
    if not chosen:
        return spec
    return dataclasses.replace(
        spec,
        properties=tuple(p for p in spec.properties if p.name in chosen),
        liveness=tuple(p for p in spec.liveness if p.name in chosen),
    )


def only(result: Exploration, names: Iterable[str]) -> Exploration:
    """``result`` reporting only the named checks (all when none is named)."""
    chosen = frozenset(names)
    if not chosen:
        return result
    return dataclasses.replace(
        result,
        checks=tuple(c for c in result.checks if c in chosen),
        counterexamples={k: v for k, v in result.counterexamples.items() if k in chosen},
        not_checked={k: v for k, v in result.not_checked.items() if k in chosen},
    )


def only_simulated(result: Simulation, names: Iterable[str]) -> Simulation:
    """A simulation reporting only the named checks (all when none is named)."""
    chosen = frozenset(names)
    if not chosen:
        return result
    return dataclasses.replace(
        result,
        checks=tuple(c for c in result.checks if c in chosen),
        counterexamples={k: v for k, v in result.counterexamples.items() if k in chosen},
        not_checked={k: v for k, v in result.not_checked.items() if k in chosen},
    )
