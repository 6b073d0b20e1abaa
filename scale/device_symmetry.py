"""Interchangeable devices: which devices of a configuration are alike, and
whether the reduction by their permutations is exact (``scale/README.md``,
"Identical devices").

Two devices are alike when their records agree on everything but the name
(queue count, vhost): they run the same table, with the same moves.
:func:`device_symmetry_refusal` decides, on the typed records, whether the
argument of the README covers the configuration and its table; it names the
record and field that puts it outside.

>>> from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
>>> device_groups(load_config(CONFIG_DIR / "three_devices.toml"))
[(0, 1)]
"""

from __future__ import annotations

from dataclasses import fields

from .config import Config, Device


def kind_key(device: Device) -> tuple:
    """What a device is, its name aside: devices with the same key have the same moves."""
    return tuple(getattr(device, f.name) for f in fields(device) if f.name != "name")


def device_groups(config: Config) -> list[tuple[int, ...]]:
    """The devices (by position) that are alike, in groups of two or more."""
    groups: dict[tuple, list[int]] = {}
    for i, device in enumerate(config.devices):
        groups.setdefault(kind_key(device), []).append(i)
    return [tuple(members) for members in groups.values() if len(members) > 1]
