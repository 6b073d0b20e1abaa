"""Random tables for the differential soundness suite, as TOML text the
loader reads like any other table.

A table has two or three states, a few device and per-queue variables
(bools and one three-valued enumeration; one start value or several),
events that concern every queue or one target queue (with bool and
enumeration parameters, per-event fairness, device effects for either
kind), rows with guards and effects, invariants, a step property,
sometimes a history-freedom property, and properties of infinite runs:
``leads_to`` with a state premise or a step premise (per queue, about the
step's target, quantified), ``recoverable``, ``deadlock_free``.
Expressions are drawn over what each place may read, in every form the
language has: quantifiers (nested three deep), queue comparisons written
directly, through ``if`` and nested ``if``, counting conditions ("at least
two queues with P"), comparisons of values read from two queues, primes.

Besides the table itself a draw may carry (the five shapes the suite must
reach, :data:`SHAPES`):

- an environment profile (``env``): events it removes (often one a
  property is about), a ``when`` it adds, initial values it narrows; the
  table is checked in it;
- a ``[slots]`` declaration and a configuration of two or three devices
  sharing the host's slots (``config``), with vhost's events (one writes a
  host variable of its own device, as ``vhost_start`` writes ``vhost_on``);
- a variant that ``extends`` it (``files``: the base, the variant, and the
  same table written out flat, which must load to the same records).

``tame`` tables keep to what the support abstraction accepts (no queue
comparison, no quantifier in a row, ``when`` or device effect, universal
properties, no per-queue event writing the device), so that every fragment
sees many tables inside it as well as outside: the fragment decides, not
the generator, which is which.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

from hypothesis import strategies as st

COLOURS = ("red", "green", "blue")
QUEUE = "queue"
ANSWER = "ok"  # KVM's answer in tables with [slots]: read by rows only
#: The shapes a draw may have besides its table (``Table.shapes``).
SHAPES = ("liveness step premise", "fairness", "profile", "system", "extends")


@dataclass
class Scope:
    """What an expression may read where it is written."""

    device: list[tuple[str, str]]  # (name, type): device variables
    queue: list[tuple[str, str]]  # per-queue variables, "state" included
    states: tuple[str, ...]
    own: bool = False  # bare per-queue names mean the queue in context
    queues: tuple[str, ...] = ()  # bound queue names: quantifier variables, the target
    params: tuple[tuple[str, str], ...] = ()  # non-queue parameters
    primes: bool = False
    quantifiers: bool = True
    comparisons: bool = True
    universal: bool = False  # quantifiers only where they are universal (properties of tame tables)
    depth: int = 0  # quantifiers around this point
    deepest: int = 2  # how many quantifiers may nest

    def bind(self, name: str) -> Scope:
        return dataclasses.replace(self, queues=(*self.queues, name), depth=self.depth + 1)

    def values(self, kind: str) -> tuple[str, ...]:
        return {"bool": ("true", "false"), "colour": COLOURS, "state": self.states}[kind]


def _wrap(text: str) -> str:
    return f"({text})"


@st.composite
def value_of(draw, scope: Scope, kind: str) -> str:
    """A value of ``kind`` (``bool``, ``colour`` or ``state``) readable in ``scope``."""
    options = list(scope.values(kind))
    reads = [n for n, t in scope.device if t == kind]
    if scope.own:
        reads += [n for n, t in scope.queue if t == kind]
    reads += [f"{n}[{q}]" for n, t in scope.queue if t == kind for q in scope.queues]
    reads += [n for n, t in scope.params if t == kind]
    if scope.primes:
        reads += [
            r.replace("[", "'[") if "[" in r else r + "'" for r in reads if not any(r == n for n, _ in scope.params)
        ]
    pool = options + reads * 2
    return draw(st.sampled_from(pool))


@st.composite
def queue_expr(draw, scope: Scope, budget: int) -> str:
    """A queue-valued expression: a bound queue, or an ``if`` choosing one."""
    if budget <= 0 or draw(st.integers(0, 2)) > 0:
        return draw(st.sampled_from(scope.queues))
    cond = draw(bool_expr(scope, budget - 1))
    return (
        f"if {cond} then {_wrap(draw(queue_expr(scope, budget - 1)))} else {_wrap(draw(queue_expr(scope, budget - 1)))}"
    )


@st.composite
def atom(draw, scope: Scope) -> str:
    kind = draw(st.sampled_from(["bool", "colour", "state"] if scope.own or scope.queues else ["bool", "colour"]))
    left = draw(value_of(scope, kind))
    if kind == "bool" and draw(st.booleans()):
        return left
    right = draw(value_of(scope, kind))
    return f"{left} {draw(st.sampled_from(['==', '!=']))} {right}"


@st.composite
def bool_expr(draw, scope: Scope, budget: int = 3, polarity: int = 1) -> str:
    """A boolean expression of about ``budget`` levels. With ``scope.universal``
    every quantifier is universal where it stands: ``forall`` read positively
    (``polarity`` 1), ``exists`` read negatively (-1), none read both ways (0)."""
    if budget <= 0:
        return draw(atom(scope))
    forms = ["atom", "atom", "not", "and", "or", "implies", "eq", "if"]
    quantifiers = ["forall", "exists"]
    if scope.universal:
        quantifiers = {1: ["forall"], -1: ["exists"], 0: []}[polarity]
    if scope.quantifiers and scope.depth < scope.deepest:
        forms += quantifiers
        if scope.comparisons and scope.depth == 0 and not scope.universal:
            forms += ["count"]
    if scope.comparisons and len(scope.queues) >= 1:
        forms += ["compare", "compare"]
    form = draw(st.sampled_from(forms))
    sub = budget - 1

    def part(p: int = polarity, where: Scope = scope) -> str:
        return _wrap(draw(bool_expr(where, sub, p)))

    if form == "atom":
        return draw(atom(scope))
    if form == "not":
        return f"not {part(-polarity)}"
    if form in ("and", "or"):
        return f"{part()} {form} {part()}"
    if form == "implies":
        return f"{part(-polarity)} => {part()}"
    if form == "eq":
        return f"{part(0)} {draw(st.sampled_from(['==', '!=']))} {part(0)}"
    if form == "if":
        return f"if {part(0)} then {part()} else {part()}"
    if form in ("forall", "exists"):
        name = f"p{scope.depth}"
        return _wrap(f"{form} {name}: {part(where=scope.bind(name))}")
    if form == "count":  # at least k queues with P (k = 2, or 3 where quantifiers nest deep), told apart in some form
        names = ("p0", "p1", "p2")[: draw(st.sampled_from([2, 2, 3])) if scope.deepest >= 3 else 2]
        bound = scope
        for name in names:
            bound = bound.bind(name)
        differ = " and ".join(draw(_queue_compare(bound, "!=", a, b)) for a, b in itertools.combinations(names, 2))
        plain = dataclasses.replace(scope.bind("x"), quantifiers=False, comparisons=False)
        prop = draw(bool_expr(plain, 1))
        each = " and ".join(_wrap(prop.replace("[x]", f"[{q}]")) for q in names)
        return _wrap(" ".join(f"exists {q}:" for q in names) + f" {differ} and {each}")
    op = draw(st.sampled_from(["==", "!="]))
    return f"{_wrap(draw(queue_expr(scope, 2)))} {op} {_wrap(draw(queue_expr(scope, 2)))}"


@st.composite
def _queue_compare(draw, scope: Scope, op: str, a: str, b: str) -> str:
    """``a op b`` written directly or through an ``if``."""
    form = draw(st.integers(0, 2))
    if form == 0:
        return f"{a} {op} {b}"
    if form == 1:
        return f"(if true then {a} else {a}) {op} {b}"
    return f"(if {draw(atom(scope))} then {a} else {a}) {op} (if false then {a} else {b})"


# -- TOML text from entries -------------------------------------------------------


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)  # pragma: no cover


@dataclass
class Entry:
    """One ``[[section]]`` entry: its fields, in order; ``nested`` are a
    profile's ``[[profiles.events]]`` / ``[[profiles.variables]]`` blocks."""

    section: str
    fields: dict
    nested: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.fields["name"]

    def text(self) -> list[str]:
        lines = ["", f"[[{self.section}]]", *(f"{k} = {_value(v)}" for k, v in self.fields.items())]
        for section, fields in self.nested:
            lines += ["", f"[[{section}]]", *(f"{k} = {_value(v)}" for k, v in fields.items())]
        return lines


SECTIONS = ("variables", "events", "transitions", "properties", "profiles")


def render(head: list[str], entries: list[Entry], tail: list[str] = ()) -> str:
    """The TOML text: ``head`` lines, the entries section by section, ``tail``."""
    lines = list(head)
    for section in SECTIONS:
        for entry in entries:
            if entry.section == section:
                lines += entry.text()
    return "\n".join([*lines, *tail]) + "\n"


# -- the table --------------------------------------------------------------------


@dataclass
class Table:
    """A generated table: its TOML text and what the generator meant by it.

    ``env`` is the environment profile it is checked in (None: the
    default); ``config`` a configuration of several devices (its table is
    ``table.toml`` beside it); ``files`` more files of the draw (for
    ``extends``: ``base.toml``, the variant as ``t.toml`` and ``flat.toml``,
    the same table written out whole); ``shapes`` which of :data:`SHAPES`
    it has."""

    text: str
    tame: bool
    notes: list[str] = field(default_factory=list)
    env: str | None = None
    config: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    shapes: frozenset[str] = frozenset()


@st.composite
def tables(draw, tame: bool | None = None, shapes: bool = True) -> Table:
    """A random table (see the module); ``shapes=False`` draws the table alone."""
    tame = draw(st.booleans()) if tame is None else tame
    states = ("s0", "s1", "s2")[: draw(st.integers(2, 3))]
    slots = shapes and draw(st.integers(0, 4)) == 0
    device = [("d0", draw(st.sampled_from(["bool", "colour"])))]
    if draw(st.booleans()):
        device.append(("d1", "bool"))
    queue_vars = [("v0", "bool")]
    if draw(st.booleans()):
        queue_vars.append(("v1", draw(st.sampled_from(["bool", "colour"]))))
    host: dict[str, bool] = {}
    if slots:  # the host's limit, the VM's run state, and vhost's own flag on each device (vhost_on)
        device += [("lim", "bool"), ("run", "bool"), ("von", "bool")]
        host = {"lim": True, "run": True, "von": True}
    queue = [("state", "state"), *queue_vars]
    deepest = 3 if not tame and draw(st.integers(0, 3)) == 0 else 2
    entries: list[Entry] = []
    for name, kind in device + queue_vars:
        values = (False, True) if kind == "bool" else COLOURS
        shape = draw(st.integers(0, 3))
        if name == "von":
            init: object = False
        elif name == "lim":  # a configuration with slots is a limited host: the table must start as one
            init = [False, True]
        elif shape == 0 and name.startswith("d"):
            init = "any"
        elif shape == 1:  # several start values
            init = sorted(draw(st.sets(st.sampled_from(values), min_size=2, max_size=2)), key=values.index)
        else:
            init = draw(st.sampled_from(values))
        scope = "device" if name.startswith(("d", "lim", "run", "von")) else "queue"
        fields = {"name": name, "scope": scope, "type": kind, "init": init, "doc": "generated"}
        if host.get(name):
            fields["host"] = True
        entries.append(Entry("variables", fields))
    events = []
    for index in range(draw(st.integers(2, 4 if not tame else 3))):
        targeted = index == 1 or (index > 1 and draw(st.booleans()))
        params = []
        if draw(st.booleans()):
            params.append(("flag", "bool"))
        if draw(st.integers(0, 3)) == 0:
            params.append(("mode", "colour"))  # a parameter that is not a bool
        events.append((f"e{index}", targeted, params))
    vhost_event = None
    if slots:
        vhost_event = draw(st.sampled_from([e[0] for e in events]))
    fair_shape = False
    for name, targeted, params in events:
        spec = {p: t for p, t in params}
        if targeted:
            spec = {QUEUE: QUEUE, **spec}
        if slots:
            spec[ANSWER] = "bool"
        fields: dict = {"name": name, "doc": "generated"}
        if targeted:
            fields["target"] = QUEUE
        if spec:
            fields["params"] = spec
        where = Scope(
            [d for d in device if d[0] not in ("lim",)],
            queue,
            states,
            queues=(QUEUE,) if targeted else (),
            params=tuple(params),
            quantifiers=not tame,
            comparisons=not tame,
            deepest=deepest,
        )
        if draw(st.integers(0, 3)) == 0:
            fields["when"] = draw(bool_expr(where, 2))
        writable = [d for d in device if d[0] not in host] + ([("run", "bool")] if slots and not targeted else [])
        effects = []
        if name == vhost_event:  # vhost starts or stops on this device: its own flag, as vhost_on
            effects.append(f"von := {draw(st.sampled_from(['true', 'false', 'not von']))}")
        elif (not targeted or (not tame and draw(st.integers(0, 3)) == 0)) and draw(st.booleans()):
            target, kind = draw(st.sampled_from(writable))
            value = draw(bool_expr(where, 2)) if kind == "bool" else draw(value_of(where, kind))
            effects.append(f"{target} := {value}")
        if effects:
            fields["effects"] = effects
        fairness = draw(st.sampled_from(["none", "none", "none", "weak", "strong"]))
        if fairness != "none":
            fields["fairness"] = fairness
            fair_shape = True
        entries.append(Entry("events", fields))
    row_number = itertools.count()
    for name, targeted, params in events:
        row_params = (*params, (ANSWER, "bool")) if slots else tuple(params)
        where = Scope(
            device,
            queue,
            states,
            own=True,
            queues=(QUEUE,) if targeted else (),
            params=row_params,
            quantifiers=not tame,
            comparisons=not tame,
            deepest=deepest,
        )
        for state in states:
            shape = draw(st.sampled_from(["one", "one", "split", "otherwise", "none", "overlap"]))
            if shape == "none" and draw(st.integers(0, 2)) > 0:
                shape = "one"
            if shape == "overlap" and (tame or draw(st.integers(0, 3)) > 0):
                shape = "split"
            guards: list[str | None] = []
            if shape == "one":
                guards = [None]
            elif shape == "split":
                guard = draw(bool_expr(where, 2))
                guards = [guard, f"not ({guard})"]
            elif shape == "otherwise":
                guards = [draw(bool_expr(where, 2)), "otherwise"]
            elif shape == "overlap":  # two quantified guards the loader cannot compare: maybe both fire
                guards = [
                    f"(exists p0: {draw(atom(where.bind('p0')))})",
                    f"(forall p0: {draw(atom(where.bind('p0')))})",
                ]
            for guard in guards:
                fields = {"name": f"r{next(row_number)}", "event": name, "from": state}
                if draw(st.booleans()):
                    fields["to"] = draw(st.sampled_from(states))
                if guard == "otherwise":
                    fields["otherwise"] = True
                elif guard is not None:
                    fields["guard"] = guard
                effects = []
                for var, kind in queue_vars:
                    if draw(st.integers(0, 2)) == 0:
                        value = draw(bool_expr(where, 1)) if kind == "bool" else draw(value_of(where, kind))
                        effects.append(f"{var} := {value}")
                if effects:
                    fields["effects"] = effects
                fields["why"] = "generated"
                entries.append(Entry("transitions", fields))
    plain_device = [d for d in device if d[0] != "lim"]
    entries += _properties(draw, plain_device, queue, states, events, tame, deepest)
    live = _liveness(draw, plain_device, queue, states, events, tame) if shapes else []
    entries += live
    shapes_found = set()
    if any("events" in e.fields for e in live):
        shapes_found.add("liveness step premise")
    if fair_shape:
        shapes_found.add("fairness")
    env = None
    if shapes and draw(st.integers(0, 3)) == 0:
        entries.append(_profile(draw, events, entries, device, queue_vars, host))
        env = "env0"
        shapes_found.add("profile")
    head = [
        "[variant]",
        'name = "random"',
        'summary = "A random table of the differential soundness suite."',
        "",
        "[machine]",
        f"states = {_value(list(states))}",
        'start = "s0"',
        "",
        "[types]",
        f"colour = {_value(list(COLOURS))}",
    ]
    tail: list[str] = []
    config = None
    if slots:
        vhost_params = next(e[2] for e in events if e[0] == vhost_event)
        take = draw(st.sampled_from(["true", "true", "flag"])) if ("flag", "bool") in vhost_params else "true"
        tail = [
            "",
            "[slots]",
            'holders = ["v0"]',
            'limit = "lim"',
            f'answer = "{ANSWER}"',
            f'vhost = [{{ event = "{vhost_event}", take = "{take}" }}]',
        ]
        config = _config(draw)
        shapes_found.add("system")
    text = render(head, entries, tail)
    files: dict[str, str] = {}
    if shapes and not slots and draw(st.integers(0, 4)) == 0:
        files = _extends(draw, head, entries, events, states)
        shapes_found.add("extends")
    return Table(text, tame, env=env, config=config, files=files, shapes=frozenset(shapes_found))


def _properties(draw, device, queue, states, events, tame: bool, deepest: int) -> list[Entry]:
    found = []
    for index in range(draw(st.integers(1, 3))):
        per_queue = draw(st.booleans())
        where = Scope(device, queue, states, own=per_queue, comparisons=not tame, universal=tame, deepest=deepest)
        expr = draw(bool_expr(where, 3))
        fields = {"name": f"inv{index}", "kind": "invariant", "expr": expr, "rationale": "generated"}
        found.append(Entry("properties", fields))
    if draw(st.booleans()):
        name, targeted, params = draw(st.sampled_from(events))
        where = Scope(
            device,
            queue,
            states,
            queues=(QUEUE,) if targeted else (),
            params=tuple(params),
            primes=True,
            comparisons=not tame,
            universal=tame,
            deepest=deepest,
        )
        fields = {"name": "step0", "kind": "step", "events": [name], "expr": draw(bool_expr(where, 2))}
        found.append(Entry("properties", {**fields, "rationale": "generated"}))
    if draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from(events))[0]
        names = [n for n, _ in device] + [n for n, _ in queue if n != "state"]
        inputs = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
        fields = {"name": "history0", "kind": "history_free", "events": [name], "inputs": inputs}
        found.append(Entry("properties", {**fields, "rationale": "generated"}))
    return found


def _shared_params(events, names) -> tuple[tuple[str, str], ...]:
    chosen = [dict(e[2]) for e in events if e[0] in names]
    shared = set(chosen[0].items())
    for params in chosen[1:]:
        shared &= set(params.items())
    return tuple(sorted(shared))


def _liveness(draw, device, queue, states, events, tame: bool) -> list[Entry]:
    """``leads_to`` (a state premise, or a step premise per queue, about the
    step's target, or quantified), ``recoverable``, ``deadlock_free``."""
    found = []
    for index in range(draw(st.integers(0, 3))):
        form = draw(st.sampled_from(["state", "step own", "step target", "step quantified", "recoverable", "deadlock"]))
        name = f"live{index}"
        if form == "deadlock":
            found.append(Entry("properties", {"name": name, "kind": "deadlock_free", "rationale": "generated"}))
            continue
        per_queue = form in ("state", "recoverable", "step own") and draw(st.booleans())
        base = Scope(device, queue, states, own=per_queue, comparisons=not tame, universal=False)
        fields: dict = {"name": name, "kind": "recoverable" if form == "recoverable" else "leads_to"}
        if form.startswith("step"):
            if form == "step target":
                chosen = [e for e in events if e[1]]
                picked = draw(st.lists(st.sampled_from(chosen), min_size=1, max_size=2, unique_by=lambda e: e[0]))
            else:
                picked = draw(st.lists(st.sampled_from(events), min_size=1, max_size=2, unique_by=lambda e: e[0]))
            names = [e[0] for e in picked]
            params = _shared_params(events, names)
            targets = form == "step target" or (all(e[1] for e in picked) and draw(st.booleans()))
            premise = dataclasses.replace(
                base,
                params=params,
                primes=True,
                queues=(QUEUE,) if targets else (),
                quantifiers=form == "step quantified" or not tame,
                own=per_queue,
            )
            goal = dataclasses.replace(base, queues=(QUEUE,) if targets else (), own=per_queue)
            fields["events"] = names
            fields["from"] = draw(bool_expr(premise, 2))
            fields["to"] = draw(bool_expr(goal, 2))
        else:
            if form == "state" or draw(st.booleans()):
                fields["from"] = draw(bool_expr(base, 2))
            fields["to"] = draw(bool_expr(base, 2))
            if form == "state":
                fields["from"] = fields.get("from") or "true"
        found.append(Entry("properties", {**fields, "rationale": "generated"}))
    return found


def _profile(draw, events, entries, device, queue_vars, host) -> Entry:
    """``env0``: removes an event (often one a property is about), adds a
    ``when`` to another, narrows an initial value."""
    about = [e for entry in entries if entry.section == "properties" for e in entry.fields.get("events", [])]
    names = [e[0] for e in events]
    rules: list[tuple[str, dict]] = []
    removed = draw(st.sampled_from(about)) if about and draw(st.booleans()) else draw(st.sampled_from(names))
    rules.append(("profiles.events", {"event": removed, "remove": True, "why": "generated"}))
    others = [n for n in names if n != removed]
    if others and draw(st.booleans()):
        restricted = draw(st.sampled_from(others))
        plain = [d for d in device if d[0] not in host]
        kind = draw(st.sampled_from([d for d in plain if d[1] == "bool"] or [("d0", "colour")]))
        condition = kind[0] if kind[1] == "bool" else f"{kind[0]} != red"
        rules.append(("profiles.events", {"event": restricted, "when": condition, "why": "generated"}))
    fields = {"name": "env0", "doc": "generated"}
    if draw(st.booleans()):
        fields["exhaustive"] = True
    nested = list(rules)
    several = [
        e.fields
        for e in entries
        if e.section == "variables" and isinstance(e.fields["init"], list) and e.fields["name"] not in host
    ]
    if several and draw(st.booleans()):
        var = draw(st.sampled_from(several))
        nested.append(("profiles.variables", {"variable": var["name"], "init": var["init"][:1], "why": "generated"}))
    return Entry("profiles", fields, nested)


@st.composite
def _config_strategy(draw) -> str:
    devices = draw(st.integers(2, 3))
    lines = ['table = "table.toml"', "", "[host]", f"slots = {draw(st.integers(1, 3))}"]
    vhost = [True] + [draw(st.booleans()) for _ in range(devices - 1)]
    for index in range(devices):
        lines += ["", "[[devices]]", f'name = "dev{index}"', f"queues = {draw(st.integers(1, 2))}"]
        lines.append(f"vhost = {_value(vhost[index])}")
    return "\n".join(lines) + "\n"


def _config(draw) -> str:
    return draw(_config_strategy())


def _extends(draw, head: list[str], entries: list[Entry], events, states) -> dict[str, str]:
    """The table as a base, a variant that extends it (a row changed, an entry
    removed, a row and a property added) and the same variant written flat."""
    rows = [e for e in entries if e.section == "transitions"]
    changed = draw(st.sampled_from(rows))
    patch = {"name": changed.name, "to": draw(st.sampled_from(states)), "why": "changed by the variant"}
    removable = [e for e in entries if e.section in ("transitions", "properties") and e is not changed]
    removed = draw(st.sampled_from(removable)) if removable and draw(st.booleans()) else None
    event = draw(st.sampled_from(events))
    added_row = {
        "name": "added_row",
        "event": event[0],
        "from": draw(st.sampled_from(states)),
        "to": draw(st.sampled_from(states)),
        "guard": "false",
        "why": "generated: never fires",
    }
    added_prop = {"name": "added_inv", "kind": "invariant", "expr": "state == s0 or v0", "rationale": "generated"}
    variant_entries = [Entry("transitions", patch), Entry("transitions", added_row), Entry("properties", added_prop)]
    if removed is not None:
        variant_entries.append(Entry(removed.section, {"name": removed.name, "remove": True}))
    variant = render(
        ['extends = "base.toml"', 'variant = { name = "extended", summary = "generated" }'], variant_entries
    )
    flat_entries = []
    for entry in entries:
        if entry is removed:
            continue
        if entry is changed:
            entry = Entry(entry.section, {**entry.fields, **patch}, entry.nested)
        flat_entries.append(entry)
    flat_entries += [Entry("transitions", added_row), Entry("properties", added_prop)]
    flat_head = [line.replace('name = "random"', 'name = "extended"') for line in head]
    flat_head = [line if not line.startswith("summary") else 'summary = "generated"' for line in flat_head]
    return {"base.toml": render(head, entries), "t.toml": variant, "flat.toml": render(flat_head, flat_entries)}


def write(table: Table, folder) -> object:
    """Write ``table``'s files into ``folder``; the path of the table to check
    (the variant, for a draw that extends another table)."""
    from pathlib import Path

    folder = Path(folder)
    for name, text in table.files.items():
        (folder / name).write_text(text)
    if "t.toml" not in table.files:
        (folder / "t.toml").write_text(table.text)
    if table.config is not None:
        (folder / "table.toml").write_text(table.text)
        (folder / "config.toml").write_text(table.config)
    return folder / "t.toml"
