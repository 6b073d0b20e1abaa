"""The drive protocol's messages: one JSON object a line each way.

Documented in ``spec/PROTOCOL.md``. The oracle says hello with the newest
version it speaks; in version 2 every later request carries an ``id`` that
the reply echoes, so that a late or repeated reply is told apart from the
answer to the next request::

    {"op":"hello","protocol":2}
    {"op":"start","queues":2,"limited":false,"id":1}
    {"op":"event","event":"kick","args":{"queue":0},"id":2}
    {"op":"quit"}

Version 3 adds, to ``start``, the environment the oracle tests in
(``"env":"qemu"``), and lets the hello reply declare the fields the
implementation observes (``"observes":["state","pending","handled"]``).
Version 1 is version 2 without ids. The implementation answers each request
but ``quit`` with one line: ``{"ok":true,"observed":{...}}`` (``observed``
as in a trace, every field optional) or ``{"ok":false,"error":"why"}``.
:func:`decode_reply` checks a reply's shape and raises
:class:`ProtocolError` with what is wrong; it never raises anything else,
whatever the bytes.

>>> decode_reply(b'{"ok":true,"id":7}\\n').id
7
>>> event("reset", {}, 3)
b'{"op":"event","event":"reset","args":{},"id":3}\\n'
>>> decode_reply(b'[1]')
Traceback (most recent call last):
...
virtio_notifier_spec.oracle.protocol.ProtocolError: the reply must be a JSON object, found a list
"""

from __future__ import annotations

from dataclasses import dataclass

from .tracefile import DECODE_ERRORS, DuplicateKey, describe, dumps, loads_strict

VERSIONS = (1, 2, 3)
PROTOCOL_VERSION = VERSIONS[-1]
MAX_REPLY_BYTES = 1 << 24  # a full observation of 1024 queues is about 150 kB
_REPLY_KEYS = {"ok", "observed", "error", "protocol", "implementation", "log", "id", "observes"}


class ProtocolError(ValueError):
    """A reply that is not in the protocol (bad JSON, wrong shape)."""


@dataclass(frozen=True, slots=True)
class Reply:
    ok: bool
    observed: object = None
    error: str | None = None
    protocol: int | None = None
    implementation: str | None = None
    id: int | None = None
    observes: tuple[str, ...] | None = None


def _request(doc: dict, request_id: int | None) -> bytes:
    if request_id is not None:
        doc["id"] = request_id
    return dumps(doc) + b"\n"


def hello(version: int = PROTOCOL_VERSION) -> bytes:
    return dumps({"op": "hello", "protocol": version}) + b"\n"


def start(queues: int, limited: bool, request_id: int | None = None, env: str | None = None) -> bytes:
    """``env``: the environment the oracle tests in (version 3)."""
    doc: dict = {"op": "start", "queues": queues, "limited": limited}
    if env is not None:
        doc["env"] = env
    return _request(doc, request_id)


def event(name: str, args: dict, request_id: int | None = None) -> bytes:
    return _request({"op": "event", "event": name, "args": args}, request_id)


def quit_request() -> bytes:
    return dumps({"op": "quit"}) + b"\n"


def decode_reply(line: bytes) -> Reply:
    """Check one reply line (see the module's docstring)."""
    if len(line) > MAX_REPLY_BYTES:
        raise ProtocolError(f"the reply is longer than {MAX_REPLY_BYTES} bytes")
    text = line.rstrip(b"\r\n")
    if not text.strip():
        raise ProtocolError("an empty line instead of a reply")
    try:
        doc = loads_strict(text)
    except DuplicateKey as exc:
        raise ProtocolError(f"the reply is ambiguous: {exc}") from None
    except DECODE_ERRORS as exc:
        raise ProtocolError(f"the reply is not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError("the reply is not valid JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise ProtocolError(f"the reply must be a JSON object, found {describe(doc)}")
    unknown = sorted(set(doc) - _REPLY_KEYS)
    if unknown:
        raise ProtocolError(f"unknown field {unknown[0]!r} in the reply (expected {', '.join(sorted(_REPLY_KEYS))})")
    ok = doc.get("ok")
    if not isinstance(ok, bool):
        raise ProtocolError(f"the reply's 'ok' must be true or false, found {describe(ok)}")
    error = doc.get("error")
    if error is not None and not isinstance(error, str):
        raise ProtocolError(f"the reply's 'error' must be a string, found {describe(error)}")
    version = doc.get("protocol")
    if version is not None and type(version) is not int:
        raise ProtocolError(f"the reply's 'protocol' must be a number, found {describe(version)}")
    name = doc.get("implementation")
    if name is not None and not isinstance(name, str):
        raise ProtocolError(f"the reply's 'implementation' must be a string, found {describe(name)}")
    request_id = doc.get("id")
    if request_id is not None and (type(request_id) is not int or request_id < 0):
        raise ProtocolError(f"the reply's 'id' must be a request's number, found {describe(request_id)}")
    observes = doc.get("observes")
    if observes is not None and (not isinstance(observes, list) or not all(isinstance(n, str) for n in observes)):
        raise ProtocolError(f"the reply's 'observes' must be a list of field names, found {describe(observes)}")
    return Reply(
        ok, doc.get("observed"), error, version, name, request_id, None if observes is None else tuple(observes)
    )
