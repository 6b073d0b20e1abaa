"""One shape for every ``--json`` document (``schemas/README.md``).

Every command's ``--json`` prints one object: ``format``, ``version``,
``command``, ``stopped`` (why it stopped before deciding everything, or
null), ``results`` (always a list, one entry per thing judged or made) and
the command's own keys beside them, each named in its schema
(``schemas/<command>.schema.json``).

>>> doc = document("validate", [{"variant": "resolved"}])
>>> list(doc), doc["results"]
(['format', 'version', 'command', 'stopped', 'results'], [{'variant': 'resolved'}])
>>> document("check", [], stopped="interrupted", not_run={"resolved": [3]})["not_run"]
{'resolved': [3]}
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import click

FORMAT = "virtio-notifier-spec"
#: The shape's version: a key added is compatible; one removed or renamed increments it.
VERSION = 1


def document(command: str, results: Iterable[dict], *, stopped: str | None = None, **extra: object) -> dict:
    """The document ``command`` prints with ``--json``."""
    reserved = {"format", "version", "command", "stopped", "results"} & set(extra)
    if reserved:
        raise ValueError(f"{sorted(reserved)} belong to the envelope")
    head = {"format": FORMAT, "version": VERSION, "command": command, "stopped": stopped}
    return head | {"results": list(results)} | extra


def print_document(command: str, results: Iterable[dict], *, stopped: str | None = None, **extra: object) -> None:
    """Print :func:`document` on stdout, indented."""
    click.echo(json.dumps(document(command, results, stopped=stopped, **extra), indent=2))
