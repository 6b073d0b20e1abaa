"""The oracle's generated suite, less the tests this machine cannot cause.

:func:`causable_suite` generates the suite of ``oracle drive`` for the
table's environment (``qemu`` by default), then leaves out every test that
:func:`~.causes.plan` refuses, counting them by reason: the drive's report
then covers what a real QEMU can be made to do, and the reasons say what it
cannot.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.testgen import Suite, generate, observed_starts
from virtio_notifier_spec.spec.schema import Spec

from .causes import plan, reason_key
from .devices import Device
from .errors import NotCausable


@dataclass(frozen=True)
class CausableSuite:
    suite: Suite  # the tests kept
    generated: int  # tests the oracle generated
    excluded: dict[str, int]  # tests left out, by reason (causes.REASONS)


def causable_suite(spec: Spec, device: Device, impl=None, *, walks: int = 20, walk_length: int = 50, seed: int = 0):
    """The suite for ``device``'s queue count, every test causable."""
    machine = Machine(spec, device.queues)
    starts = observed_starts(machine, lambda limited: impl.start(device.queues, limited)) if impl else None
    suite = generate(spec, device.queues, walks=walks, walk_length=walk_length, seed=seed, starts=starts)
    kept, excluded = [], Counter()
    for case in suite.cases:
        try:
            plan(machine, device, case.limited, case.events)
        except NotCausable as exc:
            excluded[reason_key(exc)] += 1
            continue
        kept.append(case)
    return CausableSuite(replace(suite, cases=tuple(kept)), len(suite.cases), dict(sorted(excluded.items())))
