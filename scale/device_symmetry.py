"""Interchangeable devices: which devices of a configuration are alike, and
whether the reduction by their permutations is exact (``scale/README.md``,
"Identical devices").

Two devices are alike when their records agree on everything but the name
(queue count, vhost, notify addresses): they run the same table with the same moves.
:func:`device_symmetry_refusal` decides, on the typed records, whether the
README's argument covers a configuration: every device runs the one table
of the configuration, and the configuration and its devices have only the
fields that argument treats (a field added later is outside it until the
argument says why it keeps devices interchangeable). The refusal names the
record and the field.

>>> from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
>>> config = load_config(CONFIG_DIR / "three_devices.toml")
>>> device_groups(config), device_symmetry_refusal(config) is None
([(0, 1)], True)
"""

from __future__ import annotations

from dataclasses import fields

from virtio_notifier_spec.spec.errors import SpecError

from .config import Config, Device

#: The fields the argument covers: a name only tells devices apart in print;
#: queues and vhost decide a device's moves, and addresses how many slots each
#: holder of its queues takes, so the three make its kind; the host's slots
#: are one pool every device draws from alike.
DEVICE_FIELDS = frozenset({"name", "queues", "vhost", "addresses"})
CONFIG_FIELDS = frozenset({"path", "table", "slots", "devices", "table_line"})


class DeviceSymmetryError(SpecError):
    """The reduction by identical devices would not be exact for this configuration."""


def kind_key(device: Device) -> tuple:
    """What a device is, its name aside: devices with the same key have the same moves."""
    return tuple(getattr(device, f.name) for f in fields(device) if f.name != "name")


def device_groups(config: Config) -> list[tuple[int, ...]]:
    """The devices (by position) that are alike, in groups of two or more."""
    groups: dict[tuple, list[int]] = {}
    for i, device in enumerate(config.devices):
        groups.setdefault(kind_key(device), []).append(i)
    return [tuple(members) for members in groups.values() if len(members) > 1]


def device_symmetry_refusal(config: Config, specs=None) -> DeviceSymmetryError | None:
    """Why permuting alike devices might change a verdict of ``config``, or
    None when the README's argument covers it. ``specs``: the table each
    device runs (the system engine's machines), when known."""
    for record, allowed, what in ((config, CONFIG_FIELDS, "configuration"), *_devices(config)):
        for f in fields(record):
            if f.name not in allowed:
                return DeviceSymmetryError(
                    f"the {what} has a field {f.name!r} that the argument for interchangeable devices does "
                    "not cover (scale/README.md, 'Identical devices'); search without --device-symmetry",
                    file=config.path,
                    field=f.name,
                )
    if specs is not None and len({id(s) for s in specs}) > 1:
        return DeviceSymmetryError(
            "the devices do not all run one table; search without --device-symmetry",
            file=config.path,
            line=config.table_line,
            field="table",
        )
    return None


def _devices(config: Config):
    for device in config.devices:
        yield device, DEVICE_FIELDS, f"device {device.name}"
