"""Random valid tables, for tests that run every command on tables nobody wrote.

:func:`valid_tables` is a Hypothesis strategy of :class:`Table`: random
states, enumerations, device and per-queue variables, events (parameters,
a target queue, ``when``, effects), rows and properties (invariants, step,
history_free), within the grammar of ``spec/README.md``: up to a few
hundred rows, and expressions nested close to the parser's limit (long
``and`` chains, ``not`` and ``if`` towers, quantifiers, primes). Every
table it makes loads: rows of one event and source are made disjoint by a
discriminating comparison, so no two can fire together.

A table is data (:class:`Table`) rendered to TOML by :meth:`Table.text`, so
a test can change one field and know the line it wrote it on
(:meth:`Table.line`).
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import random
from dataclasses import dataclass, field

from hypothesis import strategies as st

from virtio_notifier_spec.spec.parse import MAX_DEPTH

DEPTH = MAX_DEPTH - 4  # what an expression may use, leaving room for the wrapping the generator adds


@dataclass
class Table:
    """A table as sections of entries (dicts of TOML values), in file order."""

    name: str
    states: list[str]
    types: dict[str, list[str]]
    sections: dict[str, list[dict]] = field(default_factory=dict)
    top: list[str] = field(default_factory=list)  # raw lines before the first table

    def copy(self) -> Table:
        return copy.deepcopy(self)

    def entry(self, section: str, name: str) -> dict:
        return next(e for e in self.sections[section] if e["name"] == name)

    def text(self) -> str:
        lines = [*self.top, "[variant]", f'name = "{self.name}"', 'summary = "a random table"', ""]
        lines += ["[machine]", f"states = {json.dumps(self.states)}", f'start = "{self.states[0]}"', ""]
        if self.types:
            lines += ["[types]", *(f"{k} = {json.dumps(v)}" for k, v in self.types.items()), ""]
        for section, entries in self.sections.items():
            for entry in entries:
                lines.append(f"[[{section}]]")
                lines += [f"{key} = {_toml(value)}" for key, value in entry.items()]
                lines.append("")
        return "\n".join(lines)

    def line(self, section: str, name: str, key: str) -> int:
        """The line (from 1) of ``key`` in the entry ``name`` of ``section``."""
        lines = self.text().splitlines()
        headers = [i for i, line in enumerate(lines) if line.startswith("[")] + [len(lines)]
        for begin, end in itertools.pairwise(headers):
            block = lines[begin:end]
            if block[0] == f"[[{section}]]" and f'name = "{name}"' in block:
                return begin + next(i for i, line in enumerate(block) if line.startswith(f"{key} =")) + 1
        raise KeyError((section, name, key))


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | list):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


# -- expressions ------------------------------------------------------------------


@dataclass
class Scope:
    """The names an expression may read, by type: ``bool`` or an enumeration."""

    names: dict[str, str]  # name -> type, usable bare
    queue_vars: dict[str, str]  # per-queue variables: name -> type, usable indexed
    queues: list[str]  # queue-valued names to index with (bound variables, the target parameter)
    primes: bool = False
    bound: int = 0  # quantifiers around this point

    def with_queue(self, name: str) -> Scope:
        return Scope(self.names, self.queue_vars, [*self.queues, name], self.primes, self.bound + 1)


class Writer:
    """Expressions of a given type as text, fully parenthesized, within a depth budget."""

    def __init__(self, rnd: random.Random, types: dict[str, list[str]], size: int = 150) -> None:
        self.rnd = rnd
        self.types = types
        self.size = size  # compound nodes per expression, so that text stays a few kilobytes
        self.left = size

    def expression(self, scope: Scope, type_name: str, budget: int) -> str:
        """One expression of ``type_name`` within ``budget`` levels and the size limit."""
        self.left = self.size
        return self.value(scope, type_name, budget)

    def values(self, type_name: str) -> list[str]:
        return ["true", "false"] if type_name == "bool" else self.types[type_name]

    def atom(self, scope: Scope, type_name: str) -> str:
        choices = [self.rnd.choice(self.values(type_name))]
        choices += [n for n, t in scope.names.items() if t == type_name]
        if scope.primes:
            choices += [n + "'" for n, t in scope.names.items() if t == type_name and not n.startswith("p")]
        choices += [f"{v}[{q}]" for v, t in scope.queue_vars.items() if t == type_name for q in scope.queues]
        return self.rnd.choice(choices)

    def value(self, scope: Scope, type_name: str, budget: int) -> str:
        if type_name == "bool":
            return self.boolean(scope, budget)
        if budget < 4 or self.rnd.random() < 0.6:
            return self.atom(scope, type_name)
        cond = self.boolean(scope, budget - 3)
        then, orelse = (self.value(scope, type_name, budget - 3) for _ in range(2))
        return f"(if {cond} then {then} else {orelse})"

    def comparison(self, scope: Scope) -> str:
        type_name = self.rnd.choice(["bool", *self.types])
        op = self.rnd.choice(["==", "!="])
        return f"{self.atom(scope, type_name)} {op} {self.atom(scope, type_name)}"

    def boolean(self, scope: Scope, budget: int) -> str:
        """A boolean expression whose tree depth and nesting (each `not`,
        parenthesis, `if` part, quantifier and `=>`) both stay within ``budget``."""
        self.left -= 1
        if budget < 4 or self.left <= 0:
            return self.atom(scope, "bool") if self.rnd.random() < 0.5 else self.comparison(scope)
        kind = self.rnd.choice(["atom", "compare", "not", "chain", "chain", "implies", "if", "quantifier", "tower"])
        if kind == "atom":
            return self.atom(scope, "bool")
        if kind == "compare":
            return self.comparison(scope)
        if kind == "not":
            return f"not ({self.boolean(scope, budget - 2)})"
        if kind == "chain":  # up to 60 terms, each in parentheses
            terms = self.rnd.randint(2, min(60, max(2, self.left)) if budget > 10 else 3)
            cost = math.ceil(math.log2(terms)) + 2
            op = self.rnd.choice(["and", "or"])
            return f" {op} ".join(f"({self.boolean(scope, budget - cost)})" for _ in range(terms))
        if kind == "implies":
            return f"({self.boolean(scope, budget - 2)}) => ({self.boolean(scope, budget - 3)})"
        if kind == "if":
            parts = [self.boolean(scope, budget - 2) for _ in range(3)]
            return f"if {parts[0]} then {parts[1]} else {parts[2]}"
        if kind == "quantifier" and scope.queue_vars and scope.bound < 2:
            var = f"k{scope.bound}"
            quantifier = self.rnd.choice(["forall", "exists"])
            return f"{quantifier} {var}: ({self.boolean(scope.with_queue(var), budget - 3)})"
        # a tower of `not not`: as deep as the budget allows
        pairs = self.rnd.randint(1, max(1, (budget - 4) // 2))
        return "not " * (2 * pairs) + f"({self.boolean(scope, budget - 2 * pairs - 2)})"


# -- tables -----------------------------------------------------------------------


def make_table(seed: int, events: int, states: int, enum_types: int, width: int, size: int = 60) -> Table:
    """A valid table from a seed; ``width`` bounds the discriminating values,
    so rows are at most events x states x (width + 1); ``size`` bounds the
    compound nodes of each expression."""
    rnd = random.Random(seed)
    state_names = [f"s{i}" for i in range(states)]
    types = {f"e{i}": [f"e{i}v{j}" for j in range(rnd.randint(2, width))] for i in range(enum_types)}
    table = Table(f"random_{seed}", state_names, types)
    writer = Writer(rnd, types | {"notifier_state": state_names}, size)
    type_names = ["bool", *types]

    device = {f"d{i}": rnd.choice(type_names) for i in range(rnd.randint(1, 5))}
    queue = {f"u{i}": rnd.choice(type_names) for i in range(rnd.randint(1, 4))}  # written by rows
    read = {"state": "notifier_state", **queue}  # read by rows and invariants
    table.sections["variables"] = [
        _variable(rnd, writer, name, scope, type_name)
        for scope, names in (("device", device), ("queue", queue))
        for name, type_name in names.items()
    ]
    event_entries, rows = [], []
    params_of = {}
    for e in range(events):
        entry, params = _event(rnd, writer, f"ev{e}", type_names, device, read)
        event_entries.append(entry)
        params_of[entry["name"]] = params
        targets = ["tq"] if "target" in entry else []
        row_scope = Scope(device | read | params, read, targets)
        for source in state_names:
            rows += _rows(rnd, writer, entry["name"], source, state_names, row_scope, queue, width)
    table.sections["events"] = event_entries
    table.sections["transitions"] = rows
    props = []
    for i in range(rnd.randint(0, 6)):
        kind = rnd.choice(["invariant", "invariant", "step", "history_free"])
        entry = {"name": f"prop{i}", "kind": kind, "rationale": "random"}
        if kind == "invariant":
            entry["expr"] = writer.expression(Scope(device | read, read, []), "bool", rnd.randint(1, DEPTH))
        else:
            event = rnd.choice(event_entries)["name"]
            entry["events"] = [event]
            if kind == "step":
                scope = Scope(device | params_of[event], read, [], primes=True)
                entry["expr"] = writer.expression(scope, "bool", rnd.randint(1, DEPTH))
            else:
                entry["inputs"] = rnd.sample(sorted(device | queue), rnd.randint(0, len(device | queue)))
        props.append(entry)
    if props:
        table.sections["properties"] = props
    return table


def _variable(rnd, writer: Writer, name: str, scope: str, type_name: str) -> dict:
    values = writer.values(type_name)
    init = "any" if rnd.random() < 0.3 else rnd.choice(values)
    entry = {"name": name, "scope": scope, "type": type_name, "init": {"true": True, "false": False}.get(init, init)}
    entry["doc"] = "random"
    if rnd.random() < 0.2:
        entry["host"] = True
    return entry


def _event(rnd, writer: Writer, name: str, type_names, device: dict, read: dict) -> tuple[dict, dict]:
    params = {f"p{name}_{i}": rnd.choice(type_names) for i in range(rnd.randint(0, 2))}
    targeted = rnd.random() < 0.5
    entry = {"name": name, "doc": "random"}
    if params or targeted:
        entry["params"] = dict(params) | ({"tq": "queue"} if targeted else {})
    if targeted:
        entry["target"] = "tq"
    scope = Scope(device | params, read, ["tq"] if targeted else [])
    if rnd.random() < 0.3:
        entry["when"] = writer.expression(scope, "bool", rnd.randint(1, DEPTH))
    written = rnd.sample(sorted(device), rnd.randint(0, len(device)))
    if written:
        entry["effects"] = [f"{v} := {writer.expression(scope, device[v], rnd.randint(1, 8))}" for v in written]
    return entry, params


def _rows(rnd, writer: Writer, event: str, source: str, states, scope: Scope, queue: dict, width: int) -> list[dict]:
    """Rows of one event from one source, made disjoint by comparing one
    name with a different value in each; often an `otherwise` row too."""
    guards: list[str | None] = []
    if rnd.random() < 0.8:
        pick = rnd.choice(sorted(scope.names))
        values = writer.values(scope.names[pick])[:width]
        for value in rnd.sample(values, rnd.randint(1, len(values))):
            guards.append(f"{pick} == {value} and ({writer.expression(scope, 'bool', rnd.randint(1, DEPTH - 2))})")
    if not guards or rnd.random() < 0.7:
        guards.append(None)
    rows = []
    for index, guard in enumerate(guards):
        entry = {"name": f"{event}_{source}_{index}", "event": event, "from": source}
        if rnd.random() < 0.6:
            entry["to"] = rnd.choice(states)
        entry["otherwise" if guard is None else "guard"] = True if guard is None else guard
        written = rnd.sample(sorted(queue), rnd.randint(0, len(queue)))
        if written:
            entry["effects"] = [f"{v} := {writer.expression(scope, queue[v], rnd.randint(1, 10))}" for v in written]
        entry["why"] = "random"
        rows.append(entry)
    return rows


@st.composite
def valid_tables(draw, max_events: int = 12, max_states: int = 5, max_width: int = 6, size: int = 60) -> Table:
    """Random valid tables: up to ``max_events`` x ``max_states`` x
    (``max_width`` + 1) rows (420 by default), each expression of at most
    ``size`` compound nodes."""
    return make_table(
        seed=draw(st.integers(0, 2**32 - 1)),
        events=draw(st.integers(1, max_events)),
        states=draw(st.integers(1, max_states)),
        enum_types=draw(st.integers(0, 3)),
        width=draw(st.integers(2, max_width)),
        size=draw(st.integers(1, size)),
    )
