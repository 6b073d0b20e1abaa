"""A system configuration: which devices a guest has, how many queues each,
which are served by vhost, and how many ioeventfd slots the host allows.

```toml
table = "resolved"        # a variant, or a table's path relative to this file

[host]
slots = 6                 # omitted: the host has no limit

[[devices]]
name = "net0"
queues = 2
vhost = true
addresses = 2             # omitted: the table's [slots] addresses (ioeventfds per queue)
```

Bad input is a :class:`~virtio_notifier_spec.spec.errors.SchemaError` naming
the file, the line and the field, like every other input of the project.

>>> from pathlib import Path
>>> config = load_config(CONFIG_DIR / "three_devices.toml")
>>> [d.name for d in config.devices], config.slots, config.vhost_needs
(['net0', 'net1', 'blk0'], 6, 4)
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from virtio_notifier_spec.spec.errors import SchemaError, SpecError, TomlSyntaxError
from virtio_notifier_spec.spec.limits import MAX_QUEUES, MAX_TABLE_BYTES, read_text
from virtio_notifier_spec.spec.lines import LineIndex
from virtio_notifier_spec.spec.load import SPEC_DIR, VARIANTS

CONFIG_DIR = SPEC_DIR / "configs"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Device:
    """One device; ``addresses``: ioeventfds each of its queues registers
    per holder (None: the table's ``[slots] addresses``)."""

    name: str
    queues: int
    vhost: bool
    addresses: int | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """A guest's devices on one host. ``slots`` None: an unlimited host."""

    path: str
    table: str
    slots: int | None
    devices: tuple[Device, ...]
    table_line: int | None = None  # where `table` is written, for refusals of the table

    @property
    def limited(self) -> bool:
        return self.slots is not None

    @property
    def vhost_needs(self) -> int:
        """Slots vhost needs to hold every queue it serves at once, one per
        notify address of each (a device that does not say: one)."""
        return self.needs(1)

    def needs(self, addresses: int) -> int:
        """Slots vhost needs, ``addresses`` for a device that does not say."""
        return sum(d.queues * (d.addresses or addresses) for d in self.devices if d.vhost)


def _fail(path: str, lines: LineIndex, section: str | None, index: int, key: str | None, message: str):
    field = ".".join(x for x in (section, key) if x) or None
    return SchemaError(message, file=path, line=lines.line(section, index, key), field=field)


def _check_keys(entry, allowed: set[str], required: set[str], where) -> None:
    if not isinstance(entry, dict):
        raise where(None, f"expected a table, found {type(entry).__name__}")
    for key in entry:
        if key not in allowed:
            raise where(key, f"unknown field; expected one of {sorted(allowed)}")
    for key in sorted(required - set(entry)):
        raise where(None, f"missing required field {key!r}")


def load_config(path: str | Path) -> Config:
    """Read and validate a configuration (see the module's docstring)."""
    path = Path(path)
    name = str(path)
    try:
        text = read_text(path, limit=MAX_TABLE_BYTES, what="a configuration")
    except SpecError as exc:
        raise SchemaError(exc.message, file=name) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise TomlSyntaxError(f"not valid TOML: {exc}", file=name, line=line) from None
    lines = LineIndex(text)

    def top(key, message):
        return _fail(name, lines, None, 0, key, message)

    _check_keys(data, {"table", "host", "devices"}, {"table", "devices"}, top)
    table = data["table"]
    if not isinstance(table, str) or not table:
        raise top("table", f"expected a variant {list(VARIANTS)} or a table's path, found {table!r}")
    if table not in VARIANTS:
        resolved = path.parent / table
        if not resolved.is_file():
            raise top("table", f"no table {table!r} (a variant {list(VARIANTS)} or a path relative to the file)")
        table = str(resolved)
    slots = None
    host = data.get("host", {})
    _check_keys(host, {"slots"}, set(), lambda k, m: _fail(name, lines, "host", 0, k, m))
    if "slots" in host:
        slots = host["slots"]
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise _fail(name, lines, "host", 0, "slots", f"expected a positive number of slots, found {slots!r}")
    entries = data["devices"]
    if not isinstance(entries, list) or not entries:
        raise top("devices", "expected one or more [[devices]] entries")
    devices = []
    for index, entry in enumerate(entries):

        def where(key, message, index=index):
            return _fail(name, lines, "devices", index, key, message)

        _check_keys(entry, {"name", "queues", "vhost", "addresses"}, {"name", "queues"}, where)
        device_name, queues, vhost = entry["name"], entry["queues"], entry.get("vhost", False)
        addresses = entry.get("addresses")
        if not isinstance(device_name, str) or not _NAME.match(device_name):
            raise where("name", f"expected a name (letters, digits, _), found {device_name!r}")
        if device_name in {d.name for d in devices}:
            raise where("name", f"a second device named {device_name!r}")
        if isinstance(queues, bool) or not isinstance(queues, int) or not 1 <= queues <= MAX_QUEUES:
            raise where("queues", f"expected a number of queues from 1 to {MAX_QUEUES}, found {queues!r}")
        if not isinstance(vhost, bool):
            raise where("vhost", f"expected true or false, found {vhost!r}")
        if addresses is not None and (isinstance(addresses, bool) or not isinstance(addresses, int) or addresses < 1):
            raise where("addresses", f"expected a positive number of ioeventfds per queue, found {addresses!r}")
        devices.append(Device(device_name, queues, vhost, addresses))
    return Config(name, table, slots, tuple(devices), lines.line(None, 0, "table"))
