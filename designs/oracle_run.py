"""A design as an oracle :class:`~virtio_notifier_spec.oracle.implementation.Implementation`,
and one run of the oracle's generated suite against it.

The oracle starts a device with only a queue count and the host's limit,
so each design is driven in one vhost configuration, which the table is
told too (``vhost_serves`` narrowed to it, as a profile narrows a host
fact): otherwise a test generated from another configuration could ask
for an event the design's state does not allow. The configuration: every
queue served by vhost, or, for a design whose vhost devices are vhost-user
ones handed their queues at activation (``uniform_vhost``), none.

>>> from virtio_notifier_spec.designs.catalogue import entry
>>> report = drive_design(entry("qemu_today"), queues=1)
>>> report.implementation, len(report.results) > 0
('design:qemu_today', True)
"""

from __future__ import annotations

import dataclasses

from virtio_notifier_spec.oracle.drive import DriveReport, drive
from virtio_notifier_spec.oracle.implementation import ImplementationFailure
from virtio_notifier_spec.oracle.testgen import generate
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import Spec

from .analysis import observation
from .catalogue import Entry
from .host import DesignAbort, Run


def drive_served(entry: Entry) -> bool:
    """Whether vhost serves the queues of a driven device of ``entry`` (all or none)."""
    return not entry.uniform_vhost


def narrowed(spec: Spec, name: str, value: object) -> Spec:
    """``spec`` with the variable ``name`` starting at ``value`` only."""
    variables = tuple(dataclasses.replace(v, init=(value,)) if v.name == name else v for v in spec.variables)
    return dataclasses.replace(spec, variables=variables)


class DesignImplementation:
    """A design, driven in-process by the oracle (every variable observed, and ``handled``)."""

    def __init__(self, entry: Entry, spec: Spec) -> None:
        self.entry = entry
        self.spec = spec
        self.name = f"design:{entry.name}"
        self.run: Run | None = None

    def start(self, queues: int, limited: bool) -> object:
        self.run = Run(self.entry.design, queues, limited, (drive_served(self.entry),) * queues)
        return observation(self.spec, self.run.state(self.spec), (False,) * queues)

    def event(self, name: str, args: dict) -> object:
        assert self.run is not None
        try:
            handled = self.run.perform(name, dict(args))
        except DesignAbort as stop:
            raise ImplementationFailure("crash", str(stop)) from None
        return observation(self.spec, self.run.state(self.spec), handled)

    def close(self) -> None:
        self.run = None


def drive_design(entry: Entry, queues: int = 2, walks: int = 4, walk_length: int = 20) -> DriveReport:
    """The oracle's suite for ``entry``'s environment, run against the design."""
    spec = narrowed(load_spec(entry.table, env=entry.env), "vhost_serves", drive_served(entry))
    suite = generate(spec, queues, walks=walks, walk_length=walk_length, seed=0)
    return drive(spec, DesignImplementation(entry, spec), suite, max_failures=10_000)
