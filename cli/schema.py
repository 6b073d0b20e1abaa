"""``schema [NAME]``: the JSON Schemas of what the command line writes.

Without NAME, one line per schema (``--json``: a document whose results
are the schemas, each with its name and title): every command's ``--json`` document
(``schemas/``), ``trace`` (an oracle trace's lines, made from ``--spec``'s
table, as ``oracle schema`` prints it) and ``itf`` (ADR-015's Informal Trace
Format, ``model/itf.schema.json``). With NAME, that schema, self-contained
(JSON with or without ``--json``).
"""

from __future__ import annotations

import json

import click

from virtio_notifier_spec import schemas
from virtio_notifier_spec.model.itf import SCHEMA as ITF_SCHEMA
from virtio_notifier_spec.oracle.traceschema import schema_text
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec

from .document import print_document
from .env import env_option
from .exitcodes import ExitCode
from .guard import guarded
from .options import output_options, spec_option

#: The schemas that are not of a ``--json`` document, with what they describe.
FILES = {
    "trace": "an oracle trace's lines (spec/TRACE.md), made from --spec's table",
    "itf": "a trace in the Informal Trace Format of Apalache and Quint (ADR-015)",
}


def command_schema(name: str) -> dict:
    """A command's ``--json`` schema, self-contained: the results whose
    schema lives in ``model/`` (``simulate``, ``graph``) embedded too."""
    from virtio_notifier_spec.model.graphdoc import schema as graph_schema
    from virtio_notifier_spec.model.simulate import SCHEMA as SIMULATION

    foreign = {"simulate": [json.loads(SIMULATION.read_text(encoding="utf-8"))], "graph": [graph_schema()]}
    return schemas.bundled(name, *foreign.get(name, []))


def _listing() -> list[tuple[str, str]]:
    found = [(name, schemas.load(name)["title"]) for name in schemas.names()]
    return found + list(FILES.items())


@click.command("schema")
@click.argument("words", nargs=-1, metavar="[NAME]")
@spec_option()
@output_options
@env_option
@guarded
def schema(words: tuple[str, ...], spec_name: str, as_json: bool, quiet: bool, env: str) -> int:
    """Print the JSON Schema NAME (a command's --json output, trace, itf); list them without NAME.

    Example: virtio-notifier-spec schema oracle drive
    """
    name = " ".join(words)
    if not name:
        listing = _listing()
        if as_json:
            print_document("schema", [{"name": entry, "title": title} for entry, title in listing])
        else:
            width = max(len(n) for n, _ in listing)
            for entry, title in listing:
                click.echo(f"{entry:<{width}}  {title}")
        return ExitCode.HOLDS
    key = schemas.schema_name(name)
    if key == "trace":
        click.echo(schema_text(load_spec(spec_name, env=env)), nl=False)
    elif key == "itf":
        click.echo(ITF_SCHEMA.read_text(encoding="utf-8"), nl=False)
    elif key in schemas.names():
        click.echo(json.dumps(command_schema(key), indent=2))
    else:
        known = ", ".join([*schemas.names(), *FILES])
        raise SpecError(f"no schema {name!r} (known: {known})", field="NAME")
    return ExitCode.HOLDS
