"""The JSON Schemas of the command line's ``--json`` outputs (README.md).

Data only: one ``<command>.schema.json`` per command (a group's subcommand
joined with ``-``), ``envelope.schema.json`` (what every document shares)
and ``defs.schema.json`` (pieces several share). :func:`bundled` gives a
command's schema self-contained, the shared resources embedded under
``$defs`` with their ``$id`` (JSON Schema 2020-12 compound documents), so
any validator reads it alone.

>>> names()[:3]
['check', 'designs', 'diff']
>>> schema_name("oracle drive")
'oracle-drive'
>>> sorted(bundled("check")["$defs"])
['defs', 'envelope']
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
SUFFIX = ".schema.json"
#: Referenced by the command schemas, never printed alone.
SHARED = ("envelope", "defs")


def schema_name(command: str) -> str:
    """The schema's name for a command as typed (``oracle drive``)."""
    return command.replace(" ", "-")


def names() -> list[str]:
    """Every command's schema, by name."""
    found = (p.name.removesuffix(SUFFIX) for p in FOLDER.glob("*" + SUFFIX))
    return sorted(name for name in found if name not in SHARED)


@cache
def _load(name: str) -> str:
    return (FOLDER / f"{name}{SUFFIX}").read_text(encoding="utf-8")


def load(name: str) -> dict:
    """One schema file as written (its ``$ref`` point at the shared files)."""
    if name not in (*names(), *SHARED):
        raise KeyError(name)
    return json.loads(_load(name))


def bundled(name: str, *resources: dict) -> dict:
    """``name``'s schema with the shared schemas embedded, and ``resources``
    (schemas kept elsewhere that it references by ``$id``, such as a result
    made in ``model/``): self-contained."""
    schema = load(name)
    embedded = {shared: load(shared) for shared in SHARED}
    embedded |= {r["$id"].rsplit("/", 1)[-1].removesuffix(SUFFIX): r for r in resources}
    schema["$defs"] = {**schema.get("$defs", {}), **embedded}
    return schema
