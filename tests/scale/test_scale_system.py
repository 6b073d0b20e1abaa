"""Several devices sharing the host's ioeventfd slots: the three-device
configuration holds, starvation is found when the limit rule is dropped,
and bad configurations are refused with the file, line and field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
from virtio_notifier_spec.scale.packed_system import explore_system_packed
from virtio_notifier_spec.scale.system import System, explore_system
from virtio_notifier_spec.spec.errors import SchemaError
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

LIMIT_RULE = 'guard = "value == driver_ok and running and not limited and assign_ok"'


def _without_limit_rule(tmp_path: Path) -> Path:
    """resolved with b's `not limited` dropped: userspace assigns on a limited host."""
    shutil.copy(SPEC_DIR / "common.toml", tmp_path / "common.toml")
    text = (SPEC_DIR / "resolved.toml").read_text()
    assert LIMIT_RULE in text
    (tmp_path / "no_limit_rule.toml").write_text(text.replace(LIMIT_RULE, LIMIT_RULE.replace(" and not limited", "")))
    return tmp_path / "no_limit_rule.toml"


def _config(tmp_path: Path, body: str, table: str = "resolved") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'table = "{table}"\n' + body)
    return path


SMALL = """
[host]
slots = 2

[[devices]]
name = "net0"
queues = 1
vhost = true

[[devices]]
name = "blk0"
queues = 2
"""


def test_three_devices_on_a_six_slot_host_keep_every_invariant_and_never_starve_vhost():
    config = load_config(CONFIG_DIR / "three_devices.toml")
    assert config.slots == 6 and config.vhost_needs <= config.slots and len(config.devices) == 3
    result = explore_system(config)
    assert result.ok, sorted(result.counterexamples)
    assert {"vhost_never_starved", "slots_within_limit", "no_lost_kick"} <= set(result.checks)


def test_without_the_limit_rule_userspace_starves_vhost_and_the_trace_replays(tmp_path):
    spec = load_spec(_without_limit_rule(tmp_path))
    config = load_config(_config(tmp_path, SMALL))
    result = explore_system(config, spec=spec)
    cx = result.counterexamples["vhost_never_starved"]
    assert "limited_host_no_userspace_ioeventfd" in result.counterexamples
    system = System(config, spec)
    # a real run: each step is the table's step of the concrete state before it
    _replays(system, cx)
    last = cx.steps[-1]
    assert last.event == "set_host_notifier" and dict(last.args)["assign"] is True
    assert system.used(last.post) > config.slots
    assert len(cx.steps) == 2  # DRIVER_OK gives blk0's two queues both slots, then vhost asks: the shortest way


def _replays(system: System, cx) -> None:
    """Each step of ``cx`` is a step of the system from the concrete state before it."""
    assert cx.start in system.starts() or System.canonical(cx.start) in system.starts()
    state = cx.start
    for step in cx.steps:
        assert system.admits(state, step), str(step)
        state = step.post


def test_the_resolved_table_never_starves_vhost_on_the_small_host(tmp_path):
    result = explore_system(load_config(_config(tmp_path, SMALL)))
    assert result.ok


def test_an_unlimited_host_has_no_slot_to_starve_for(tmp_path):
    body = SMALL.replace("[host]\nslots = 2\n", "")
    spec = load_spec(_without_limit_rule(tmp_path))
    result = explore_system(load_config(_config(tmp_path, body)), spec=spec)
    assert "vhost_never_starved" not in result.counterexamples


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (SMALL.replace("slots = 2", "slots = 0"), "host.slots", "positive number of slots"),
        (SMALL.replace("queues = 2", "queues = 0"), "devices.queues", "from 1 to 1024"),
        (SMALL.replace('name = "blk0"', 'name = "net0"'), "devices.name", "second device"),
        (SMALL.replace("vhost = true", 'vhost = "yes"'), "devices.vhost", "true or false"),
        (
            SMALL.replace('[[devices]]\nname = "blk0"', '[[devices]]\ncolour = 1\nname = "blk0"'),
            "devices.colour",
            "unknown field",
        ),
    ],
)
def test_a_bad_configuration_names_the_file_line_and_field(tmp_path, body, field, words):
    path = _config(tmp_path, body)
    with pytest.raises(SchemaError) as caught:
        load_config(path)
    assert caught.value.field == field and words in caught.value.message
    assert caught.value.file == str(path) and caught.value.line is not None


def test_a_missing_table_is_refused(tmp_path):
    with pytest.raises(SchemaError, match="no table"):
        load_config(_config(tmp_path, SMALL, table="nowhere.toml"))


def test_cli_scale_passes_and_fails_with_the_project_exit_codes(tmp_path):
    runner = CliRunner()
    good = runner.invoke(cli, ["scale", "--queues", "64", "--config", str(_config(tmp_path, SMALL))])
    assert good.exit_code == 0, good.output
    broken = _without_limit_rule(tmp_path)
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text(f'table = "{broken.name}"\n' + SMALL)
    failing = runner.invoke(cli, ["scale", "--queues", "4", "--config", str(bad_config)])
    assert failing.exit_code == 1 and "vhost_never_starved FAILS" in failing.output
    bad = runner.invoke(cli, ["scale", "--config", str(_config(tmp_path, SMALL.replace("slots = 2", "slots = -1")))])
    assert bad.exit_code == 2 and "host.slots" in bad.output and "Traceback" not in bad.output


def test_a_row_that_assigns_without_asking_kvm_overfills_the_slots(tmp_path):
    shutil.copy(SPEC_DIR / "common.toml", tmp_path / "common.toml")
    text = (SPEC_DIR / "resolved.toml").read_text()
    (tmp_path / "no_kvm.toml").write_text(text.replace(LIMIT_RULE, 'guard = "value == driver_ok and running"'))
    spec = load_spec(tmp_path / "no_kvm.toml")
    result = explore_system(load_config(_config(tmp_path, SMALL)), spec=spec)
    cx = result.counterexamples["slots_within_limit"]
    assert cx.steps[-1].event == "set_status" and "more ioeventfds than the host's 2 slots" in cx.message


# -- vhost's events are one device's; --env reaches the configuration ------------------

THREE_SMALL = """
[host]
slots = 2

[[devices]]
name = "net0"
queues = 1
vhost = true

[[devices]]
name = "net1"
queues = 1
vhost = true

[[devices]]
name = "blk0"
queues = 1
"""


def test_vhost_start_and_stop_act_on_their_own_device_only_on_three_devices_without_profiles(tmp_path):
    # vhost_on is a host fact of the table, but vhost is started per device:
    # once it was shared, so vhost_start took the userspace block device's queue
    # and vhost_never_starved failed on this correct table
    config = load_config(_config(tmp_path, THREE_SMALL))
    spec = load_spec("resolved", env="unrestricted")
    system = System(config, spec)
    start = system.starts()[0]
    offered = {(device, event) for device, event, _, _ in system.moves(start) if event.startswith("vhost_")}
    assert offered == {(0, "vhost_start"), (0, "vhost_stop"), (1, "vhost_start"), (1, "vhost_stop")}
    for step, _ in system.successors(start):
        if step.event == "vhost_start":  # the other devices do not move
            moved = [d.name for d, pre, post in zip(config.devices, start, step.post, strict=True) if pre != post]
            assert moved == [step.device], str(step)
    result = explore_system_packed(config, spec=spec)  # the same verdicts (test_packed_system.py), 100x sooner
    assert result.ok, {name: cx.message for name, cx in result.counterexamples.items()}


def test_scale_applies_env_to_the_configuration_too(tmp_path):
    runner = CliRunner()
    done = runner.invoke(cli, ["scale", "--queues", "1", "--env", "qemu", "--json"])
    assert done.exit_code == 0, done.output
    system = json.loads(done.output)["system"]
    assert system["env"] == "qemu" and system["ok"]
    default = json.loads(runner.invoke(cli, ["scale", "--queues", "1", "--json"]).output)["system"]
    assert default["env"] == "adversarial" and default["states"] != system["states"]
    # a table that declares no such environment is refused, whichever table it is
    shutil.copy(SPEC_DIR / "common.toml", tmp_path / "common.toml")
    (tmp_path / "mine.toml").write_text((SPEC_DIR / "resolved.toml").read_text())
    config = _config(tmp_path, SMALL, table="mine.toml")
    refused = runner.invoke(cli, ["scale", "--queues", "1", "--config", str(config), "--env", "nowhere"])
    assert refused.exit_code == 2 and "unknown environment 'nowhere'" in refused.stderr
