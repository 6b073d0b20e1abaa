"""Traces in the Informal Trace Format (ITF) of Apalache and Quint.

The format is Apalache's ADR-015 ("Informal Trace Format in JSON"): an
object with ``#meta``, ``vars`` and ``states``, each state an object with a
value for every name in ``vars``. Written here:

- a device variable is its value (``true``, ``"driver_ok"``);
- a per-queue variable is a map from queue index to value, as a TLA+
  function over ``0..N-1`` is written: ``{"#map": [[{"#bigint": "0"}, "assigned"], ...]}``;
- integers are ``{"#bigint": "..."}``, as Quint writes them;
- which event led to a state is said the way Quint's model-based testing
  says it: ``mbt::actionTaken`` (the event, ``"init"`` for the start) and
  ``mbt::nondetPicks`` (its arguments, each ``{"tag": "Some", "value": v}``,
  an integer there a plain JSON number, which ADR-015 allows: itf-py 0.5
  cannot read a variant that carries a ``#bigint``);
- names are the table's, renamed where Quint reserves them
  (:mod:`.quintnames`: a parameter ``assign`` is ``assign_``), so the
  names of a trace and of the Quint export (``scale/quint.py``) agree.
- each state's ``#meta`` has its ``index`` and, after the start, the rows
  that fired (``q0 b (assign_on_driver_ok)``).

``model/itf.schema.json`` is ADR-015 written as a JSON Schema; the tests
validate every trace written here against it. :func:`read_itf` reads such
a trace back (what ``replay`` does with one), and a trace Quint writes of
the exported module: a value there may also be a variant (an enumeration's
value is ``{"tag": "driver_ok", "value": {"#tup": []}}``), an argument not
drawn is ``{"tag": "None", ...}``, and the export's own variables (names
ending in ``_`` that no table name becomes) are not the table's.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.model.explore import explore
>>> spec = load_spec("proposal")
>>> cx = explore(spec, 1).counterexamples["no_lost_kick"]
>>> doc = itf_trace(spec, cx.trace)
>>> doc["vars"][:4], len(doc["states"])
(['limited', 'running', 'vhost_on', 'status'], 4)
>>> doc["states"][3]["mbt::actionTaken"], doc["states"][3]["state"]
('reset', {'#map': [[{'#bigint': '0'}, 'deassigned']]})
"""

from __future__ import annotations

import os
from pathlib import Path

from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.limits import MAX_QUEUES
from virtio_notifier_spec.spec.schema import Spec

from .lasso import Lasso
from .quintnames import from_quint, is_made_up, to_quint
from .trace import Trace

ACTION = "mbt::actionTaken"
PICKS = "mbt::nondetPicks"
INIT = "init"
DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"
SCHEMA = Path(__file__).with_name("itf.schema.json")


def value(x: object) -> object:
    """One value in ITF: integers as ``#bigint``, the rest as JSON has them.

    >>> value(3), value(True), value("ours")
    ({'#bigint': '3'}, True, 'ours')
    """
    if isinstance(x, bool | str):
        return x
    if isinstance(x, int):
        return {"#bigint": str(x)}
    raise TypeError(f"no ITF form for {x!r}")


def _pick(x: object) -> dict:
    """An argument in ``mbt::nondetPicks``: ``Some`` of its value, an integer
    as a JSON number (itf-py 0.5 fails on a variant carrying a ``#bigint``)."""
    return {"tag": "Some", "value": x if isinstance(x, bool | str | int) else value(x)}


def _state(spec: Spec, state: State, index: int, action: str, picks: dict, meta: dict) -> dict:
    doc: dict = {"#meta": {"index": index, **meta}}
    for var, x in zip(spec.device_variables, state.device, strict=True):
        doc[to_quint(var.name)] = value(x)
    for slot, var in enumerate(spec.queue_variables):
        doc[to_quint(var.name)] = {"#map": [[value(q), value(queue[slot])] for q, queue in enumerate(state.queues)]}
    doc[ACTION] = action if action == INIT else to_quint(action)
    doc[PICKS] = {to_quint(name): _pick(x) for name, x in picks.items()}
    return doc


def itf_trace(spec: Spec, trace: Trace, *, meta: dict | None = None) -> dict:
    """``trace`` as one ITF document; ``meta`` goes into the trace's ``#meta``
    (``source``: the table, a variant's name or a TOML path)."""
    names = [to_quint(v.name) for v in (*spec.device_variables, *spec.queue_variables)]
    states = [_state(spec, trace.start, 0, INIT, {}, {})]
    for index, step in enumerate(trace.steps, start=1):
        fired = step.rows()
        states.append(_state(spec, step.post, index, step.event.event.name, step.event.values, {"fired": fired}))
    head = {
        "format": "ITF",
        "format-description": DESCRIPTION,
        "source": spec.name,
        "description": f"{spec.name}, {len(trace.start.queues)} queue(s), written by virtio-notifier-spec",
        **(meta or {}),
    }
    return {"#meta": head, "vars": [*names, ACTION, PICKS], "states": states}


def itf_lasso(spec: Spec, lasso: Lasso, *, meta: dict | None = None) -> dict:
    """A lasso (a counterexample to a liveness property) as one ITF document:
    the stem's states, then the cycle's but its last (the state the cycle
    returns to), with ``loop`` the index of that state: ADR-015's "the loop
    ends in the last state". The event that closes the cycle is in the
    trace's ``#meta`` (``loop-back``); an empty cycle loops on the stem's
    last state (the run stutters there)."""
    steps = (*lasso.stem.steps, *lasso.cycle[:-1])
    document = itf_trace(spec, Trace(lasso.stem.start, steps), meta=meta)
    document["loop"] = len(lasso.stem)
    if lasso.cycle:
        last = lasso.cycle[-1]
        document["#meta"]["loop-back"] = {
            "action": last.event.event.name,
            "picks": {k: value(v) for k, v in last.event.values.items()},
            "fired": last.rows(),
        }
    return document


# -- reading ---------------------------------------------------------------------


def _unit(x: object) -> bool:
    return x == {"#tup": []} or x is None


def _plain(x: object, where: str, file: str | None) -> object:
    """An ITF value of a variable or argument back to the table's value: a
    boolean, a string, an integer (a JSON number or ``#bigint``), or a
    variant without a payload (Quint's sum types), read as its tag."""
    if isinstance(x, bool | str | int):
        return x
    if isinstance(x, dict) and set(x) == {"#bigint"} and isinstance(x["#bigint"], str):
        try:
            return int(x["#bigint"])
        except ValueError:
            pass
    if isinstance(x, dict) and set(x) == {"tag", "value"} and isinstance(x["tag"], str) and _unit(x["value"]):
        return from_quint(x["tag"])
    raise SpecError(f"expected a boolean, a string or an integer, found {x!r}", file=file, field=where)


def _field(state: dict, name: str) -> object:
    """A variable's value in one ITF state, under its Quint name (or the table's)."""
    return state.get(to_quint(name), state.get(name))


def _typed(var, x: object, where: str, file: str | None) -> object:
    x = _plain(x, where, file)
    allowed = var.type.values
    if allowed and x not in allowed:
        shown = " | ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in allowed)
        raise SpecError(f"expected one of {shown}, found {x!r}", file=file, field=where)
    return x


def _queue_map(var, raw: object, where: str, file: str | None) -> list:
    pairs = raw.get("#map") if isinstance(raw, dict) else None
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise SpecError("expected a per-queue map {'#map': [[queue, value], ...]}", file=file, field=where)
    if len(pairs) > MAX_QUEUES:
        raise SpecError(f"{len(pairs):,} queues: a device has at most {MAX_QUEUES}", file=file, field=where)
    found = {_plain(k, where, file): _typed(var, x, where, file) for k, x in pairs}
    if sorted(found) != list(range(len(found))) or not found:
        raise SpecError("expected the queues 0..N-1 as the map's keys", file=file, field=where)
    return [found[q] for q in range(len(found))]


def _start(spec: Spec, first: object, file: str | None, index: int = 0) -> State:
    """The table's state that ITF state number ``index`` gives."""
    if not isinstance(first, dict):
        raise SpecError("expected an object", file=file, field=f"states[{index}]")
    device = []
    for var in spec.device_variables:
        if _field(first, var.name) is None:
            message = "missing: every state gives every variable (ADR-015)"
            raise SpecError(message, file=file, field=f"states[{index}].{var.name}")
        device.append(_typed(var, _field(first, var.name), f"states[{index}].{var.name}", file))
    columns = []
    for var in spec.queue_variables:
        where = f"states[{index}].{var.name}"
        columns.append(_queue_map(var, _field(first, var.name), where, file))
        if len(columns[-1]) != len(columns[0]):
            raise SpecError("every per-queue map has the same queues", file=file, field=where)
    return State(tuple(device), tuple(zip(*columns, strict=True)))


def read_states(spec: Spec, doc: dict, *, file: str | None = None) -> list[State]:
    """Every state of an ITF trace (after :func:`read_itf` accepted it) as
    the table's state; a value outside its variable's type, or a state
    without a variable, is bad input naming ``states[i].<variable>``. Only
    the table's variables are read: a Quint export's own (a step property's
    flag) are not the table's."""
    return [_start(spec, state, file, index) for index, state in enumerate(doc["states"])]


def read_loop(spec: Spec, doc: dict, *, file: str | None = None) -> tuple[int | None, tuple[str, dict] | None]:
    """ADR-015's ``loop``: the index of the state where the cycle starts (the
    cycle ends in the last state and goes back there), or None; and the
    event that closes the cycle when the trace's ``#meta`` says it
    (``loop-back``, :func:`itf_lasso`)."""
    loop = doc.get("loop")
    if loop is None:
        return None, None
    count = len(doc["states"])
    if isinstance(loop, bool) or not isinstance(loop, int) or not 0 <= loop < count:
        raise SpecError(f"expected the index of a state, 0 to {count - 1}, found {loop!r}", file=file, field="loop")
    back = doc.get("#meta", {}).get("loop-back") if isinstance(doc.get("#meta"), dict) else None
    if back is None:
        return loop, None
    where = "#meta.loop-back"
    picks = back.get("picks", {}) if isinstance(back, dict) else None
    if not isinstance(back, dict) or not isinstance(back.get("action"), str) or not isinstance(picks, dict):
        raise SpecError("expected {'action': EVENT, 'picks': {ARG: VALUE}}", file=file, field=where)
    args = {name: _plain(x, f"{where}.picks.{name}", file) for name, x in picks.items()}
    return loop, (back["action"], args)


def source_for(spec_arg: str, folder: Path) -> str:
    """What a trace written into ``folder`` names as its table (``#meta``
    ``source``): a shipped variant by its name, a table's file by its path
    relative to ``folder``, so that the trace finds it from any folder
    (:func:`resolve_source` reads it back).

    >>> source_for("resolved", Path("cx"))
    'resolved'
    """
    path = Path(spec_arg)
    if not path.suffix and not path.exists():
        return spec_arg  # a shipped variant's name
    return os.path.relpath(path.resolve(), Path(folder).resolve())


def resolve_source(source: str, trace_file: str | None) -> str:
    """The table a trace's ``source`` names, for ``load_spec``: a path is
    read relative to the trace's folder (then as it is); a name is a
    shipped variant's."""
    path = Path(source)
    if trace_file is None or trace_file == "-" or path.is_absolute():
        return source
    beside = Path(trace_file).parent / path
    return str(beside) if beside.is_file() else source


def read_itf(spec: Spec, doc: object, *, file: str | None = None) -> tuple[State, list[tuple[str, dict]]]:
    """The first state and the events of an ITF trace written by
    :func:`itf_trace` (or by a tool that writes the same variables and the
    ``mbt::`` fields); raises :class:`SpecError` naming the field at fault."""
    if not isinstance(doc, dict) or not isinstance(doc.get("states"), list) or not doc["states"]:
        message = "expected an ITF trace: an object whose 'states' is a non-empty list"
        raise SpecError(message, file=file, field="states")
    states = doc["states"]
    start = _start(spec, states[0], file)
    events = []
    for index, state in enumerate(states[1:], start=1):
        where = f"states[{index}]"
        if not isinstance(state, dict) or not isinstance(state.get(ACTION), str):
            message = "expected the name of the event that led here (quint run writes it with --mbt)"
            raise SpecError(message, file=file, field=f"{where}.{ACTION}")
        picks = state.get(PICKS, {})
        if not isinstance(picks, dict):
            raise SpecError("expected an object of the event's arguments", file=file, field=f"{where}.{PICKS}")
        args = {}
        for name, pick in picks.items():
            if is_made_up(name) or (isinstance(pick, dict) and pick.get("tag") == "None"):
                continue  # the export's own choice (an initial value), or an argument not drawn
            raw = pick.get("value") if isinstance(pick, dict) and pick.get("tag") == "Some" else pick
            args[from_quint(name)] = _plain(raw, f"{where}.{PICKS}.{name}", file)
        events.append((from_quint(state[ACTION]), args))
    return start, events
