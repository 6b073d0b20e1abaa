"""The JSON Schema of a trace line, made from the table.

``spec/trace.schema.json`` is this function's output for ``resolved`` (the
events, arguments and variables are the same in every variant: they come
from ``spec/common.toml``); a test keeps the two equal, and
``virtio-notifier-spec oracle schema > spec/trace.schema.json`` regenerates
it. Made from the table rather than written by hand so that the schema is
never a second copy of the table to keep in sync.

The schema checks each line on its own; what needs the header (a queue
index below the header's ``queues``, the number of per-queue observations)
is checked by the reader (:mod:`.tracefile`).

>>> from virtio_notifier_spec.spec.load import load_spec
>>> schema = trace_schema(load_spec("resolved"))
>>> sorted(schema["$defs"])[:3]
['args.handle', 'args.kick', 'args.load']
"""

from __future__ import annotations

import json

from virtio_notifier_spec.spec.expr import BOOL, QUEUE, Type
from virtio_notifier_spec.spec.schema import Spec

from .observation import HANDLED
from .tracefile import FORMAT, MAX_QUEUES, VERSIONS


def _type(vtype: Type) -> dict:
    if vtype == BOOL:
        return {"type": "boolean"}
    if vtype == QUEUE:
        return {"type": "integer", "minimum": 0, "maximum": MAX_QUEUES - 1}
    return {"enum": list(vtype.values)}


def _header() -> dict:
    return {
        "type": "object",
        "description": "Line 1: what ran, and on what host.",
        "required": ["format", "version", "variant", "queues", "limited"],
        "properties": {
            "format": {"const": FORMAT},
            "version": {"enum": list(VERSIONS)},
            "variant": {
                "type": "string",
                "minLength": 1,
                "description": "The table to judge by (proposal, resolved); `oracle check --spec` overrides it.",
            },
            "queues": {"type": "integer", "minimum": 1, "maximum": MAX_QUEUES},
            "limited": {"type": "boolean", "description": "The host allows only 6 ioeventfds per guest."},
            "implementation": {"type": "string", "description": "Free text: what wrote the trace."},
            "env": {
                "type": "string",
                "minLength": 1,
                "description": "The environment profile the trace was made in; `oracle check --env` overrides it.",
            },
            "observes": {
                "type": "array",
                "items": {"type": "string"},
                "uniqueItems": True,
                "description": "The fields every line observes (each line must give them; only they are judged).",
            },
            "observed": {"$ref": "#/$defs/observation", "description": "The fresh device, before any event."},
        },
        "additionalProperties": False,
    }


def _observation(spec: Spec) -> dict:
    device = {v.name: {**_type(v.type), "description": v.doc} for v in spec.device_variables}
    queue = {v.name: {**_type(v.type), "description": v.doc} for v in spec.queue_variables}
    queue[HANDLED] = {
        "type": "boolean",
        "description": "During this step the queue's handler ran for a kick "
        "(a pending kick consumed or drained, or a kick on the pio path).",
    }
    entry = {"oneOf": [{"$ref": "#/$defs/queue_observation"}, {"type": "null"}]}
    return {
        "observation": {
            "type": "object",
            "description": "What the implementation observed after the event; every field is optional.",
            "properties": {
                "device": {"type": "object", "properties": device, "additionalProperties": False},
                "queues": {
                    "oneOf": [
                        {"type": "array", "items": entry, "description": "One entry per queue (null: not observed)."},
                        {
                            "type": "object",
                            "patternProperties": {"^(0|[1-9][0-9]*)$": entry},
                            "additionalProperties": False,
                            "description": "Keyed by queue index, for a few queues.",
                        },
                    ]
                },
            },
            "additionalProperties": False,
        },
        "queue_observation": {"type": "object", "properties": queue, "additionalProperties": False},
    }


def trace_schema(spec: Spec) -> dict:
    """The schema of one trace line: a header or an event record."""
    defs: dict = {"header": _header(), **_observation(spec)}
    conditions = []
    for event in spec.events:
        name = f"args.{event.name}"
        defs[name] = {
            "type": "object",
            "description": event.doc,
            "required": [p.name for p in event.params],
            "properties": {p.name: _type(p.type) for p in event.params},
            "additionalProperties": False,
        }
        then: dict = {"properties": {"args": {"$ref": f"#/$defs/{name}"}}}
        if event.params:
            then["required"] = ["args"]
        conditions.append({"if": {"properties": {"event": {"const": event.name}}}, "then": then})
    defs["record"] = {
        "type": "object",
        "description": "Lines 2 on: one event, named and with arguments exactly as in spec/common.toml.",
        "required": ["event"],
        "properties": {
            "event": {"enum": [e.name for e in spec.events]},
            "args": {"type": "object"},
            "observed": {"$ref": "#/$defs/observation"},
            "meta": {"description": "Free for the implementation (timestamps, vCPU, ...); ignored."},
        },
        "additionalProperties": False,
        "allOf": conditions,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://virtio-notifier-spec.invalid/{FORMAT}/{VERSIONS[-1]}",
        "title": f"{FORMAT}, version {VERSIONS[-1]}: one line of a trace",
        "description": "A trace is JSON Lines: line 1 matches #/$defs/header, every other line #/$defs/record. "
        "See spec/TRACE.md.",
        "oneOf": [{"$ref": "#/$defs/header"}, {"$ref": "#/$defs/record"}],
        "$defs": dict(sorted(defs.items())),
    }


def schema_text(spec: Spec) -> str:
    """The schema as the file holds it: indented, a newline at the end."""
    return json.dumps(trace_schema(spec), indent=2) + "\n"
