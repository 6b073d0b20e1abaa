"""The reference implementation conforms to the `resolved` table, under Hypothesis.

A `RuleBasedStateMachine` drives the device (reference/device.py) and the
table (model/machine.py) side by side through every event, with generated
arguments: raw status bytes (0, values without DRIVER_OK, values with it),
takes and releases in every order, refused assignments, limited and
unlimited hosts, 1 to 8 queues. After every step the device's abstraction
equals the table's state, every invariant and step property holds, and the
kicks balance: each one the guest made is handled exactly once, by pio, by
our handler or by vhost, or is still waiting in a notifier somebody reads.
A failure prints the shrunk event sequence (Hypothesis's falsifying example).

The same runs measure the table's coverage: every row of `resolved` must
fire at least once (`test_generated_runs_fire_every_row`).
"""

from __future__ import annotations

import os
from collections import Counter
from functools import cache
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.reference.abstraction import new_device, perform, status_value
from virtio_notifier_spec.reference.device import DRIVER_OK, Device
from virtio_notifier_spec.reference.mutants import mutant
from virtio_notifier_spec.reference.sidebyside import Judge, SideBySide
from virtio_notifier_spec.spec.load import load_spec

SPEC = load_spec("resolved")
JUDGE = Judge(SPEC)
MAX_QUEUES = 8

# Enough generated runs, derandomized, to fire every row (measured: see the
# coverage test); `make reference REFERENCE_EXAMPLES=5000` hunts longer.
CONFORMANCE = settings(
    max_examples=int(os.environ.get("REFERENCE_EXAMPLES", "400")),
    stateful_step_count=50,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Weighted towards what moves the machine: DRIVER_OK values, KVM's consent,
# unlimited hosts, few queues; every other value is still generated.
STATUS_BYTES = st.one_of(
    st.sampled_from([0x0F, 0x07, 0x0F, 0x03, 0x00, 0x0B, DRIVER_OK]),  # driver_ok, driver, zero
    st.integers(0, 0xFF),
)
ASSIGN_OK = st.sampled_from([True, True, True, False])
HOST_LIMITED = st.sampled_from([False, False, True])
QUEUE_COUNTS = st.one_of(st.integers(1, 3), st.integers(1, MAX_QUEUES))
QUEUES = st.integers(0, MAX_QUEUES - 1)


@cache
def machine(queues: int) -> Machine:
    return Machine(SPEC, queues)


class NotifierConformance(RuleBasedStateMachine):
    """One device and the table, stepped together; `device_class` is swapped
    for a mutant to show that these checks fail."""

    device_class: ClassVar[type[Device]] = Device
    fired: ClassVar[Counter[str]] = Counter()

    @initialize(queues=QUEUE_COUNTS, limited=HOST_LIMITED)
    def start(self, queues: int, limited: bool) -> None:
        device = new_device(queues, limited, self.device_class)
        self.run = SideBySide(SPEC, device, machine(queues), JUDGE)
        assert not self.run.initial_problems, self.run.initial_problems

    # -- helpers ------------------------------------------------------------
    def _queue(self, q: int) -> int:
        return q % self.run.machine.queues

    def _value(self, name: str):
        layout = self.run.machine.layout
        return self.run.state.device[layout.device.index(name)]

    def _step(self, event: str, call=perform, **args) -> None:
        inst = self.run.machine.instance(event, **args)
        assert self.run.machine.enabled(self.run.state, inst)
        report = self.run.step(inst, call)
        for _, row in report.fired:
            type(self).fired[row.name] += 1
        assert not report.problems, f"after {inst}: " + "; ".join(report.problems)

    def _pending(self) -> list[int]:
        slot = self.run.machine.layout.queue.index("pending")
        return [q for q, queue in enumerate(self.run.state.queues) if queue[slot]]

    # -- the events ---------------------------------------------------------
    @rule(byte=STATUS_BYTES, assign_ok=ASSIGN_OK)
    def set_status(self, byte: int, assign_ok: bool) -> None:
        def call(device, event, args):
            with device.kernel.refusing(not assign_ok):
                device.set_status(byte)

        self._step("set_status", call, value=status_value(byte), assign_ok=assign_ok)

    @rule()
    def reset(self) -> None:
        self._step("reset")

    @rule(q=QUEUES, assign=st.booleans(), assign_ok=ASSIGN_OK)
    def set_host_notifier(self, q: int, assign: bool, assign_ok: bool) -> None:
        self._step("set_host_notifier", queue=self._queue(q), assign=assign, assign_ok=assign_ok)

    @precondition(lambda self: not self._value("running"))
    @rule(byte=STATUS_BYTES, assign_ok=ASSIGN_OK)
    def load(self, byte: int, assign_ok: bool) -> None:
        def call(device, event, args):
            with device.kernel.refusing(not assign_ok):
                device.load(byte)

        self._step("load", call, saved=status_value(byte), assign_ok=assign_ok)

    @precondition(lambda self: self._value("running"))
    @rule()
    def vm_stop(self) -> None:
        self._step("vm_stop")

    @precondition(lambda self: not self._value("running"))
    @rule(assign_ok=ASSIGN_OK)
    def vm_run(self, assign_ok: bool) -> None:
        self._step("vm_run", assign_ok=assign_ok)

    @precondition(lambda self: self._value("running"))
    @rule(q=QUEUES)
    def kick(self, q: int) -> None:
        self._step("kick", queue=self._queue(q))

    @precondition(lambda self: bool(self._pending()))
    @rule(data=st.data())
    def handle(self, data) -> None:
        q = data.draw(st.sampled_from(self._pending()), label="queue")
        self._step("handle", queue=q)

    def teardown(self) -> None:
        if hasattr(self, "run"):
            problems = self.run.finish()
            assert not problems, "; ".join(problems)


def _run(device_class: type[Device], config: settings = CONFORMANCE) -> Counter[str]:
    class Run(NotifierConformance):
        fired: ClassVar[Counter[str]] = Counter()

    Run.device_class = device_class
    run_state_machine_as_test(Run, settings=config)
    return Run.fired


def coverage_text(fired: Counter[str]) -> str:
    """One line per row of the table: how often the generated runs fired it."""
    width = max(len(row.name) for row in SPEC.transitions)
    lines = [f"{row.name:<{width}}  {row.letter or '-'}  {fired[row.name]:>6}" for row in SPEC.transitions]
    hit = sum(1 for row in SPEC.transitions if fired[row.name])
    return "\n".join([*lines, f"{hit}/{len(SPEC.transitions)} rows fired"])


def unfired(fired: Counter[str]) -> list[str]:
    return [row.name for row in SPEC.transitions if not fired[row.name]]


def test_generated_runs_conform_and_fire_every_row(capsys):
    fired = _run(Device)
    with capsys.disabled():
        print("\nrows of resolved fired by the generated runs:\n" + coverage_text(fired))
    assert unfired(fired) == []


def test_coverage_check_names_a_row_that_never_fired():
    fired = Counter({row.name: 1 for row in SPEC.transitions})
    del fired["release_refused"]
    assert unfired(fired) == ["release_refused"]


# Finding is enough here: shrinking (seconds per mutant) is left to a real failure.
# Hypothesis draws integers partly from the constants of the project's loaded
# modules, so how soon a mutant is found moves as the code grows (200 to 600
# runs for release_ignores_limit, measured); the run stops at the first find.
QUICK = settings(
    CONFORMANCE,
    max_examples=1000,
    stateful_step_count=30,
    phases=[Phase.explicit, Phase.generate],
    report_multiple_bugs=False,
)


@pytest.mark.parametrize("name", ["deassign_keeps_pending", "release_ignores_limit", "take_again_counts_twice"])
def test_stateful_check_fails_on_a_faulty_device(name):
    with pytest.raises(AssertionError):
        _run(mutant(name).device, QUICK)
