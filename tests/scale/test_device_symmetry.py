"""Identical devices are interchangeable: the search with one state per
orbit of their permutations gives the unreduced search's verdicts, its
shortest trace lengths and, summed over the orbits, its state and
transition counts; its counterexamples are runs of the system; a broken
reduction is caught by the same cross-check; and a configuration outside
the argument is refused."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.scale import packed_system
from virtio_notifier_spec.scale.config import CONFIG_DIR, Config, Device, load_config
from virtio_notifier_spec.scale.device_symmetry import DeviceSymmetryError, device_groups, device_symmetry_refusal
from virtio_notifier_spec.scale.packed_system import explore_system_packed
from virtio_notifier_spec.scale.system import System
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

LIMIT_RULE = 'guard = "value == driver_ok and running and not limited and assign_ok"'


def _no_limit_rule(folder: Path) -> Path:
    """resolved with b's `not limited` dropped: userspace takes vhost's slots."""
    shutil.copy(SPEC_DIR / "common.toml", folder / "common.toml")
    text = (SPEC_DIR / "resolved.toml").read_text()
    (folder / "no_limit_rule.toml").write_text(text.replace(LIMIT_RULE, LIMIT_RULE.replace(" and not limited", "")))
    return folder / "no_limit_rule.toml"


def _config(folder: Path, devices, slots) -> Path:
    lines = ['table = "resolved"'] + (["[host]", f"slots = {slots}"] if slots else [])
    for name, queues, vhost in devices:
        lines += ["[[devices]]", f'name = "{name}"', f"queues = {queues}", f"vhost = {str(vhost).lower()}"]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _replays(system: System, cx) -> None:
    state = cx.start
    assert System.canonical(state) in system.starts()
    for step in cx.steps:
        assert system.admits(state, step), str(step)
        state = step.post


def assert_reduction_exact(config, spec=None) -> None:
    """What the orbits say is what every state says (see the module)."""
    full = explore_system_packed(config, spec=spec)
    reduced = explore_system_packed(config, spec=spec, device_symmetry=True)
    assert reduced.reduction == ("devices" if device_groups(config) else "none")
    if reduced.reduction == "devices":
        assert (reduced.concrete_states, reduced.concrete_transitions) == (full.states, full.transitions)
    assert reduced.depth == full.depth
    assert {n: reduced.verdict(n) for n in reduced.checks} == {n: full.verdict(n) for n in full.checks}
    system = System(config, spec)
    for name, cx in reduced.counterexamples.items():
        assert len(cx.steps) == len(full.counterexamples[name].steps), name
        _replays(system, cx)


def test_the_shipped_configurations_reduce_exactly():
    for name in ("three_devices.toml", "four_devices.toml"):
        assert_reduction_exact(load_config(CONFIG_DIR / name))


def test_a_failing_configuration_fails_alike_with_runnable_shortest_traces(tmp_path):
    spec = load_spec(_no_limit_rule(tmp_path))
    config = load_config(_config(tmp_path, [("net0", 1, True), ("blk0", 1, False), ("blk1", 1, False)], 2))
    assert device_groups(config) == [(1, 2)]
    assert_reduction_exact(config, spec)
    assert "vhost_never_starved" in explore_system_packed(config, spec=spec, device_symmetry=True).counterexamples


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    devices=st.lists(st.tuples(st.integers(1, 2), st.booleans()), min_size=2, max_size=4),
    slots=st.one_of(st.none(), st.integers(1, 4)),
    broken=st.booleans(),
    env=st.sampled_from(["adversarial", "qemu", "unrestricted"]),
)
def test_random_configurations_reduce_exactly(tmp_path_factory, devices, slots, broken, env):
    folder = tmp_path_factory.mktemp("devices")
    spec = load_spec(_no_limit_rule(folder) if broken else "resolved", env=env)
    named = [(f"dev{i}", queues, vhost) for i, (queues, vhost) in enumerate(devices)]
    assert_reduction_exact(load_config(_config(folder, named, slots)), spec)


def test_grouping_devices_that_differ_is_caught_by_the_cross_check(tmp_path, monkeypatch):
    # blk0 (2 queues) and blk1 (3 queues) are not alike: on a host without a
    # limit sorting their local numbers together merges states that are not
    # images of each other, and the counts no longer add up.
    config = load_config(_config(tmp_path, [("blk0", 2, False), ("blk1", 3, False)], None))
    monkeypatch.setattr(packed_system, "device_groups", lambda config: [(0, 1)])
    with pytest.raises(AssertionError):
        assert_reduction_exact(config)


@dataclass(frozen=True, slots=True)
class PinnedDevice(Device):
    """A device record with a field the argument does not treat."""

    pinned_slot: int = 0


def test_a_device_field_the_argument_does_not_cover_is_refused_with_its_name():
    config = load_config(CONFIG_DIR / "three_devices.toml")
    assert device_symmetry_refusal(config) is None
    pinned = Config(
        config.path,
        config.table,
        config.slots,
        (*config.devices[:2], PinnedDevice("blk0", 3, False, pinned_slot=5)),
        config.table_line,
    )
    refusal = device_symmetry_refusal(pinned)
    assert isinstance(refusal, DeviceSymmetryError) and refusal.field == "pinned_slot"
    assert "pinned_slot" in str(refusal) and refusal.file == config.path


def test_devices_that_run_different_tables_are_refused():
    config = load_config(CONFIG_DIR / "three_devices.toml")
    specs = [load_spec("resolved"), load_spec("resolved"), load_spec("proposal")]
    refusal = device_symmetry_refusal(config, specs)
    assert refusal is not None and refusal.field == "table" and refusal.line == config.table_line


def test_cli_device_symmetry(tmp_path):
    runner = CliRunner()
    good = runner.invoke(cli, ["scale", "--queues", "2", "--quiet", "--device-symmetry"])
    assert good.exit_code == 0, good.output
    assert "stand for 1,944 states" in good.output
    as_json = runner.invoke(cli, ["scale", "--queues", "2", "--quiet", "--device-symmetry", "--json"])
    document = json.loads(as_json.output)
    system = document["system"]
    assert system["reduction"] == "devices" and system["states"] == 1026 and system["concrete_states"] == 1944
    refused = runner.invoke(cli, ["scale", "--queues", "2", "--device-symmetry", "--engine", "general"])
    assert refused.exit_code == 2 and "packed system engine" in refused.output and "Traceback" not in refused.output
    lonely = _config(tmp_path, [("net0", 1, True), ("blk0", 1, False)], 2)
    noted = runner.invoke(cli, ["scale", "--queues", "2", "--quiet", "--device-symmetry", "--config", str(lonely)])
    assert noted.exit_code == 0 and "nothing to reduce" in noted.output
