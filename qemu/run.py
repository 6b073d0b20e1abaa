"""The real QEMU judged on every device of the matrix (``make qemu``).

For each device: the causable suite (:mod:`.suite`) driven through the
oracle against ``resolved`` in the ``qemu`` environment, the shortest
sequence of each failure replayed to judge the table's properties on what
QEMU showed, and how long it took.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from virtio_notifier_spec.model.replay import Judge
from virtio_notifier_spec.oracle.drive import INTERRUPTED, DriveReport, drive
from virtio_notifier_spec.oracle.observation import ObservationReader
from virtio_notifier_spec.oracle.replay import replay
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.expr import Var, walk
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

from .devices import Device
from .host import Tools
from .implementation import QemuImplementation
from .suite import CausableSuite, causable_suite

ENV = "qemu"
INVARIANT_KINDS = (PropertyKind.INVARIANT, PropertyKind.STEP)


@dataclass
class DeviceRun:
    device: Device
    causable: CausableSuite
    report: DriveReport
    seconds: float
    boots: int
    per_test: list[float]
    signalled: dict[str, int]
    violations: dict[str, str] = field(default_factory=dict)  # property -> the sequence that shows it
    failure: Exception | None = None  # the first time QEMU crashed, hung or did not boot
    probes: list[int] = field(default_factory=list)  # each QEMU's start-up probe: registrations accepted


def property_variables(spec: Spec) -> dict[str, set[str]]:
    found = {}
    for prop in spec.properties:
        names: set[str] = set()
        for expr in (getattr(prop, "expr", None), getattr(prop, "premise", None), getattr(prop, "goal", None)):
            if expr is not None:
                names |= {node.name for node in walk(expr) if isinstance(node, Var)}
        found[prop.name] = names
    return found


def with_handler(machine, state: State) -> State:
    """``state`` with each queue's ``handler`` inferred from its ioeventfds:
    QEMU arms its handler in the call that registers its ioeventfd and
    disarms it in the one that removes it (``virtio_device_start_ioeventfd_impl``,
    ``virtio_blk_data_plane_start``), and the handler call QEMU makes at once
    on every new one (which the drive waits for) shows it armed; vhost's
    worker reads what vhost holds."""
    names = machine.layout.queue
    if not {"handler", "our_fd", "vhost_fd"} <= set(names):
        return state
    h, ours, vhost = names.index("handler"), names.index("our_fd"), names.index("vhost_fd")
    queues = []
    for queue in state.queues:
        row = list(queue)
        row[h] = "vhost" if queue[vhost] else "ours" if queue[ours] else "none"
        queues.append(tuple(row))
    return State(state.device, tuple(queues))


def judge_failures(spec: Spec, impl: QemuImplementation, report: DriveReport) -> dict[str, str]:
    """Replay each failure's shortest sequence; the invariants and step
    properties false on the table's state with QEMU's observations written in."""
    from virtio_notifier_spec.model.machine import Machine

    machine = Machine(spec, report.queues)
    judge = Judge(machine)
    reader = ObservationReader(spec, report.queues)
    broken: dict[str, str] = {}
    for group in report.groups:
        failure = group.shortest
        result = replay(spec, impl, report.queues, failure.limited, failure.events)
        previous = None
        for number, step in enumerate(result.steps):
            if step.expected is None or step.failure:
                break
            try:
                state = with_handler(machine, reader.read(step.observed, "observed").patch(step.expected))
            except Exception:  # an observation that does not fit is reported by the drive already
                break
            names = list(judge.state(state))
            if previous is not None and number > 0:
                names += judge.step(previous, failure.events[number - 1], state)
            for name in names:
                broken.setdefault(name.split(" (")[0], failure.describe())
            previous = state
    impl.close()
    return broken


def run_device(device: Device, tools: Tools, *, walks: int = 20, progress=None, spec: str = "resolved") -> DeviceRun:
    """``device`` through the oracle's causable suite, judged by the table ``spec`` (a variant or a TOML path)."""
    spec = load_spec(spec, env=ENV)
    impl = QemuImplementation(spec, device, tools, stop_on_machine_failure=True)
    began = time.monotonic()
    try:
        causable = causable_suite(spec, device, impl, walks=walks)
        report = drive(spec, impl, causable.suite, max_failures=None, progress=progress)
        if report.stopped == INTERRUPTED:  # the drive kept what it decided; the matrix stops with it
            raise KeyboardInterrupt
        violations = judge_failures(spec, impl, report) if report.groups else {}
    finally:
        impl.shutdown()
    return DeviceRun(
        device,
        causable,
        report,
        time.monotonic() - began,
        impl.boots,
        list(impl.timings),
        impl.signalled,
        violations,
        impl.failure,
        impl.probes,
    )
