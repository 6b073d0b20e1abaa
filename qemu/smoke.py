"""One short test of a real QEMU, for ``make verify`` and the benchmark: ten
events on legacy virtio-blk with two queues, judged by the oracle.

Skipped, with what is missing, where QEMU cannot run under KVM.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.replay import Replay, replay
from virtio_notifier_spec.oracle.sequence import parse_sequence
from virtio_notifier_spec.spec.load import load_spec

from .devices import device
from .host import missing, tools
from .implementation import QemuImplementation

TEN_EVENTS = (
    "set_status(value=driver, assign_ok=true); set_status(value=driver_ok, assign_ok=true); kick(queue=0); "
    "handle(queue=0); vm_stop(); vm_run(assign_ok=true); kick(queue=1); handle(queue=1); "
    "kick(queue=1); set_status(value=zero, assign_ok=true)"
)


@dataclass(frozen=True)
class Smoke:
    result: Replay | None  # None: not run
    missing: tuple[str, ...]
    boot_seconds: float = 0.0
    test_seconds: float = 0.0
    device: str = "blk-legacy-2"


def smoke(name: str = "blk-legacy-2", sequence: str = TEN_EVENTS) -> Smoke:
    absent = missing()
    if absent:
        return Smoke(None, tuple(absent), device=name)
    spec = load_spec("resolved", env="qemu")
    dev = device(name)
    events = parse_sequence(Machine(spec, dev.queues), sequence)[1]
    impl = QemuImplementation(spec, dev, tools(), stop_on_machine_failure=True)
    try:
        began = time.monotonic()
        impl.start(dev.queues, False)
        booted = time.monotonic()
        result = replay(spec, impl, dev.queues, False, events)  # the device is started again, not booted
        done = time.monotonic()
    finally:
        impl.shutdown()
    return Smoke(result, (), booted - began, done - booted, device=name)
