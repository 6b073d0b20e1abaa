"""Two ioeventfds per queue: a queue notified at several addresses (kvmtool's
port-I/O and MMIO, QEMU's transitional devices) holds a slot for each, and
the accounting of several devices on a limited host counts every one."""

from __future__ import annotations

from pathlib import Path

import pytest

from virtio_notifier_spec.scale.config import load_config
from virtio_notifier_spec.scale.system import System, explore_system
from virtio_notifier_spec.spec.errors import SchemaError
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

LIMIT_RULE = 'guard = "value == driver_ok and running and not limited and assign_ok"'


def _table(tmp_path: Path, addresses: int | None = None) -> None:
    """resolved without b's `not limited` (userspace takes slots on a limited host)."""
    common = (SPEC_DIR / "common.toml").read_text()
    if addresses is not None:
        common = common.replace(
            'holders = ["our_fd", "vhost_fd"]\n', f'holders = ["our_fd", "vhost_fd"]\naddresses = {addresses}\n'
        )
    variant = (SPEC_DIR / "resolved.toml").read_text().replace(LIMIT_RULE, LIMIT_RULE.replace(" and not limited", ""))
    (tmp_path / "common.toml").write_text(common)
    (tmp_path / "table.toml").write_text(variant)


def _config(tmp_path: Path, blk_addresses: str = "") -> Path:
    """A 3-slot host: net0 (one queue, vhost) and blk0 (one queue, userspace)."""
    path = tmp_path / "config.toml"
    path.write_text(
        'table = "table.toml"\n[host]\nslots = 3\n'
        '[[devices]]\nname = "net0"\nqueues = 1\nvhost = true\n'
        f'[[devices]]\nname = "blk0"\nqueues = 1\n{blk_addresses}'
    )
    return path


def test_one_address_per_queue_leaves_vhost_its_slot(tmp_path):
    _table(tmp_path)
    assert "vhost_never_starved" not in explore_system(load_config(_config(tmp_path))).counterexamples


@pytest.mark.parametrize("where", ["table", "device"])
def test_two_addresses_per_queue_starve_vhost_on_the_same_host(tmp_path, where):
    # blk0's queue registers a port-I/O and an MMIO ioeventfd: 2 of the 3 slots, and vhost needs 2
    _table(tmp_path, addresses=2 if where == "table" else None)
    config = load_config(_config(tmp_path, "addresses = 2\n" if where == "device" else ""))
    system = System(config)
    assert system.weights == ((2, 2) if where == "table" else (1, 2))
    result = explore_system(config)
    if where == "table":  # vhost needs 2 of 3 slots and finds 1 free
        cx = result.counterexamples["vhost_never_starved"]
        assert "needs 2 of the host's 3 slots" in cx.message
    else:  # vhost needs 1: it fits beside blk0's 2
        assert "vhost_never_starved" not in result.counterexamples


def test_resolved_keeps_vhosts_slots_whatever_the_addresses(tmp_path):
    common = (SPEC_DIR / "common.toml").read_text()
    (tmp_path / "common.toml").write_text(
        common.replace('holders = ["our_fd", "vhost_fd"]\n', 'holders = ["our_fd", "vhost_fd"]\naddresses = 2\n')
    )
    (tmp_path / "table.toml").write_text((SPEC_DIR / "resolved.toml").read_text())
    result = explore_system(load_config(_config(tmp_path)))
    assert result.ok, sorted(result.counterexamples)


def test_a_bad_number_of_addresses_is_refused_where_it_is_written(tmp_path):
    common = (SPEC_DIR / "common.toml").read_text()
    (tmp_path / "common.toml").write_text(
        common.replace('holders = ["our_fd", "vhost_fd"]\n', 'holders = ["our_fd", "vhost_fd"]\naddresses = 0\n')
    )
    (tmp_path / "table.toml").write_text((SPEC_DIR / "resolved.toml").read_text())
    with pytest.raises(SchemaError, match="positive number of ioeventfds per holder") as caught:
        load_spec(str(tmp_path / "table.toml"))
    assert caught.value.field == "slots.addresses" and caught.value.line is not None
    _table(tmp_path)
    with pytest.raises(SchemaError, match="positive number of ioeventfds per queue") as device:
        load_config(_config(tmp_path, "addresses = -1\n"))
    assert device.value.field == "devices.addresses"


@pytest.mark.parametrize("where", ["none", "table", "device"])
def test_the_packed_engine_counts_every_address_as_the_system_engine_does(tmp_path, where):
    from test_packed_system import assert_same

    _table(tmp_path, addresses=2 if where == "table" else None)
    config = load_config(_config(tmp_path, "addresses = 2\n" if where == "device" else ""))
    assert_same(config)
