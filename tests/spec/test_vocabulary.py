"""The vocabulary a VMM other than QEMU needs (spec/README.md, "Registered at
creation, and the rest of the vocabulary"): each item expressed in a table,
observed through the oracle, and answered by ``resolved``; each check shown
failing where it should."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.drive import drive
from virtio_notifier_spec.oracle.implementation import ModelImplementation
from virtio_notifier_spec.oracle.testgen import generate
from virtio_notifier_spec.spec.concrete import Layout, State
from virtio_notifier_spec.spec.errors import SchemaError
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

OK = {"value": "driver_ok", "assign_ok": True, "activate_ok": True}


def _run(spec, queues: int, events, **start) -> State:
    """The state after ``events`` (name, args) from the start that has ``start``'s device values."""
    machine = Machine(spec, queues)
    layout = Layout.of(spec)
    state = next(
        s for s in machine.initial_states() if all(s.device[layout.device.index(k)] == v for k, v in start.items())
    )
    for name, args in events:
        inst = machine.instance(name, **args)
        assert machine.enabled(state, inst), (name, args)
        state = machine.step(state, inst).choices[0].post
    return state


def _get(spec, state: State, name: str, queue: int | None = None):
    layout = Layout.of(spec)
    if queue is None:
        return state.device[layout.device.index(name)]
    return state.queues[queue][layout.queue.index(name)]


# -- registered, not read yet -----------------------------------------------------------


def test_a_variant_may_start_its_queues_elsewhere(tmp_path: Path):
    variant = tmp_path / "eager.toml"
    variant.write_text('extends = "resolved"\n[variant]\nname = "eager"\n[machine]\nstart = "assigned"\n')
    spec = load_spec(str(variant), env="unrestricted")
    assert spec.start == "assigned" and spec.states == load_spec("resolved").states
    variant.write_text('extends = "resolved"\n[variant]\nname = "eager"\n[machine]\nstart = "nowhere"\n')
    with pytest.raises(SchemaError, match="unknown start state 'nowhere'") as caught:
        load_spec(str(variant))
    assert caught.value.file == str(variant) and caught.value.line == 5


def test_registered_starts_every_queue_registered_and_unread():
    spec = load_spec("registered", env="rust_vmm")
    for start in Machine(spec, 2).initial_states():
        for q in range(2):
            assert (_get(spec, start, "state", q), _get(spec, start, "our_fd", q)) == ("assigned", True)
            assert _get(spec, start, "handler", q) == "none"
    resolved = load_spec("resolved", env="rust_vmm")
    assert {_get(resolved, s, "state", 0) for s in Machine(resolved, 1).initial_states()} == {"deassigned"}


@pytest.mark.parametrize("env", ["rust_vmm", "adversarial", "qemu", "unrestricted"])
def test_registered_satisfies_every_property(env):
    result = explore(load_spec("registered", env=env), 2)
    assert not result.counterexamples and result.partial is None


def test_a_kick_before_activation_waits_and_activation_reads_it():
    spec = load_spec("registered", env="rust_vmm")
    state = _run(spec, 1, [("kick", {"queue": 0}), ("set_status", OK)], strict_status=False, kicks_on_activation=False)
    assert _get(spec, state, "pending", 0) and _get(spec, state, "handler", 0) == "ours"
    state = _run(spec, 1, [("set_status", OK), ("set_status", {**OK, "value": "zero"})], strict_status=False)
    assert _get(spec, state, "our_fd", 0) and _get(spec, state, "handler", 0) == "none"  # the registration stays


def test_a_child_registered_at_creation_fails_every_test_at_start_against_resolved_only():
    registered = load_spec("registered", env="rust_vmm")
    impl = ModelImplementation(registered)
    for table, failing in (("resolved", True), ("registered", False)):
        spec = load_spec(table, env="rust_vmm")
        report = drive(spec, impl, generate(spec, 1, walks=0), max_failures=None)
        starts = [r for r in report.results if r.failure is not None and not r.failure.events]
        assert bool(starts) == failing, table


# -- notifiers that start signalled: a kick --------------------------------------------


@pytest.mark.parametrize("kicks", [True, False])
def test_activation_that_writes_the_eventfds_is_a_pending_kick_the_handler_reads(kicks):
    spec = load_spec("registered", env="rust_vmm")
    state = _run(spec, 1, [("set_status", OK)], kicks_on_activation=kicks)
    assert _get(spec, state, "pending", 0) is kicks
    if kicks:
        inst = Machine(spec, 1).instance("handle", queue=0)
        assert Machine(spec, 1).enabled(state, inst)


def test_resume_writes_every_activated_queue():
    spec = load_spec("registered", env="rust_vmm")
    events = [("set_status", OK), ("vm_stop", {}), ("vm_run", {"assign_ok": True})]
    assert _get(spec, _run(spec, 1, events, kicks_on_activation=False), "pending", 0)


# -- activation failure -----------------------------------------------------------------


def test_a_failed_activation_needs_a_reset_and_reads_nothing_until_then():
    spec = load_spec("registered", env="rust_vmm")
    events = [("set_status", {**OK, "activate_ok": False}), ("kick", {"queue": 0})]
    state = _run(spec, 1, events, strict_status=True)
    assert _get(spec, state, "needs_reset") and _get(spec, state, "handler", 0) == "none"
    state = _run(spec, 1, [*events, ("set_status", {**OK, "value": "zero"}), ("set_status", OK)], strict_status=True)
    assert not _get(spec, state, "needs_reset") and _get(spec, state, "handler", 0) == "ours"


def test_without_the_excuse_for_a_device_that_needs_a_reset_no_lost_kick_fails(tmp_path: Path):
    common = (SPEC_DIR / "common.toml").read_text()
    expr = 'expr = "pending => (our_fd or vhost_fd) and (handler != none or status != driver_ok or not running)"'
    assert expr in common
    variant = tmp_path / "unexcused.toml"
    variant.write_text(
        f'extends = "{SPEC_DIR / "registered.toml"}"\n[variant]\nname = "unexcused"\n'
        f'[[properties]]\nname = "no_lost_kick"\n{expr}\n'
    )
    result = explore(load_spec(str(variant), env="rust_vmm"), 1)
    assert "no_lost_kick" in result.counterexamples


# -- a device that ignores a status write -----------------------------------------------


@pytest.mark.parametrize(("strict", "status"), [(True, "driver_ok"), (False, "driver")])
def test_a_strict_device_ignores_a_write_that_clears_driver_ok(strict, status):
    spec = load_spec("registered", env="rust_vmm")
    events = [("set_status", OK), ("set_status", {**OK, "value": "driver"})]
    state = _run(spec, 1, events, strict_status=strict)
    assert _get(spec, state, "status") == status
    assert (_get(spec, state, "handler", 0) == "ours") is strict


# -- KVM refusing vhost's take --------------------------------------------------------


def test_resolved_undoes_a_take_kvm_refuses():
    spec = load_spec("resolved")
    events = [("set_status", {"value": "driver_ok", "assign_ok": True}), ("kick", {"queue": 0})]
    refused = _run(spec, 1, [*events, ("set_host_notifier", {"queue": 0, "assign": True, "assign_ok": False})])
    assert _get(spec, refused, "state", 0) == "assigned" and not _get(spec, refused, "vhost_fd", 0)
    assert not _get(spec, refused, "pending", 0)  # ours went first, drained
    taken = _run(spec, 1, [*events, ("set_host_notifier", {"queue": 0, "assign": True, "assign_ok": True})])
    assert _get(spec, taken, "state", 0) == "offlimits"
    qemu = load_spec("resolved", env="qemu")
    start = [("set_status", {"value": "driver_ok", "assign_ok": True})]
    state = _run(qemu, 1, [*start, ("vhost_start", {"assign_ok": False})], limited=False)
    assert _get(qemu, state, "state", 0) == "assigned"


# -- environments -----------------------------------------------------------------------


def test_rust_vmm_restores_snapshots():
    spec = load_spec("resolved", env="rust_vmm")
    assert "load" in {e.name for e in spec.events}
    assert "load" not in {e.name for e in load_spec("resolved", env="kvmtool").events}


def test_show_prints_the_environments_conditions():
    result = CliRunner().invoke(cli, ["show", "--env", "qemu"])
    assert result.exit_code == 0
    assert "environment qemu:" in result.output
    assert "set_host_notifier: removed" in result.output
    assert "vm_stop: only when not vhost_on or status == driver_ok" in result.output
    narrowed = CliRunner().invoke(cli, ["show", "--env", "rust_vmm", "--json"])
    assert '"variable": "limited"' in narrowed.output


# -- state counts: resolved unchanged where its environment is -------------------------------


@pytest.mark.parametrize(
    ("env", "counts"),
    [
        ("adversarial", (38, 124, 422)),
        ("unrestricted", (152, 992, 6752)),
        ("kvmtool", (16, 40, 112)),
        ("rust_vmm", (16, 40, 112)),
        ("qemu", (64, 200, 616)),
    ],
)
def test_resolved_state_counts(env, counts):
    spec = load_spec("resolved", env=env)
    assert tuple(explore(spec, n).states for n in (1, 2, 3)) == counts


def test_registered_is_proved_for_every_number_of_queues():
    result = CliRunner().invoke(cli, ["prove", "--spec", "registered", "--env", "adversarial", "--quiet"])
    assert result.exit_code == 0, result.output
    # rust_vmm issues neither reset nor set_host_notifier: a property about them is vacuous there (exit 3)
    result = CliRunner().invoke(cli, ["prove", "--spec", "registered", "--env", "rust_vmm", "--quiet"])
    assert result.exit_code == 3, result.output
    assert "reset_disarms_ours VACUOUS" in result.output
    assert "VIOLATED" not in result.output and "UNKNOWN" not in result.output
    asked = ["prove", "--spec", "registered", "--env", "rust_vmm", "--quiet", "--property", "no_lost_kick"]
    assert CliRunner().invoke(cli, asked).exit_code == 0
