"""Random tables for the differential soundness suite, as TOML text the
loader reads like any other table.

A table has two or three states, a few device and per-queue variables
(bools and one three-valued enumeration), events that concern every queue
or one target queue, rows with guards and effects, invariants, a step
property and sometimes a history-freedom property. Expressions are drawn
over what each place may read, in every form the language has: quantifiers
(nested), queue comparisons written directly, through ``if`` and nested
``if``, counting conditions ("at least two queues with P"), comparisons of
values read from two queues, primes in step properties.

``tame`` tables keep to what the support abstraction accepts (no queue
comparison, no quantifier in a row, ``when`` or device effect, universal
properties), so that every fragment sees many tables inside it as well as
outside: the fragment decides, not the generator, which is which.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

from hypothesis import strategies as st

COLOURS = ("red", "green", "blue")
QUEUE = "queue"


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

    def bind(self, name: str) -> Scope:
        return dataclasses.replace(self, queues=(*self.queues, name), depth=self.depth + 1)

    def values(self, kind: str) -> tuple[str, ...]:
        return {"bool": ("true", "false"), "colour": COLOURS, "state": self.states}[kind]


def _wrap(text: str) -> str:
    return f"({text})"


@st.composite
def value_of(draw, scope: Scope, kind: str) -> str:
    """A value of ``kind`` (``bool``, ``colour`` or ``state``) readable in ``scope``."""
    options = [v for v in scope.values(kind)]
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
    if scope.quantifiers and scope.depth < 2:
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
    if form == "count":  # at least two queues with P, the two told apart in some form
        a, b = "p0", "p1"
        differ = draw(_queue_compare(scope.bind(a).bind(b), "!=", a, b))
        plain = dataclasses.replace(scope.bind("x"), quantifiers=False, comparisons=False)
        prop = draw(bool_expr(plain, 1))
        both = " and ".join(_wrap(prop.replace("[x]", f"[{q}]")) for q in (a, b))
        return _wrap(f"exists {a}: exists {b}: {differ} and {both}")
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


# -- the table ------------------------------------------------------------------


@dataclass
class Table:
    """A generated table: its TOML text and what the generator meant by it."""

    text: str
    tame: bool
    notes: list[str] = field(default_factory=list)


def _toml_list(items) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


@st.composite
def tables(draw, tame: bool | None = None) -> Table:
    """A random table (see the module)."""
    tame = draw(st.booleans()) if tame is None else tame
    states = ("s0", "s1", "s2")[: draw(st.integers(2, 3))]
    device = [("d0", draw(st.sampled_from(["bool", "colour"])))]
    if draw(st.booleans()):
        device.append(("d1", "bool"))
    queue_vars = [("v0", "bool")]
    if draw(st.booleans()):
        queue_vars.append(("v1", draw(st.sampled_from(["bool", "colour"]))))
    queue = [("state", "state"), *queue_vars]
    lines = [
        "[variant]",
        'name = "random"',
        'summary = "A random table of the differential soundness suite."',
        "",
        "[machine]",
        f"states = {_toml_list(states)}",
        'start = "s0"',
        "",
        "[types]",
        f"colour = {_toml_list(COLOURS)}",
    ]
    for name, kind in device + queue_vars:
        values = ("false", "true") if kind == "bool" else tuple(f'"{c}"' for c in COLOURS)
        init = '"any"' if name == "d0" and draw(st.booleans()) else draw(st.sampled_from(values))
        scope = "device" if name.startswith("d") else "queue"
        lines += ["", "[[variables]]", f'name = "{name}"', f'scope = "{scope}"', f'type = "{kind}"']
        lines += [f"init = {init}", 'doc = "generated"']
    events = []
    for index in range(draw(st.integers(2, 3))):
        targeted = index == 1 or (index > 1 and draw(st.booleans()))
        params = [("flag", "bool")] if draw(st.booleans()) else []
        events.append((f"e{index}", targeted, params))
    for name, targeted, params in events:
        plain = tuple(params)
        lines += ["", "[[events]]", f'name = "{name}"', 'doc = "generated"']
        spec = {p: t for p, t in params}
        if targeted:
            spec = {QUEUE: QUEUE, **spec}
            lines.append(f'target = "{QUEUE}"')
        if spec:
            lines.append("params = { " + ", ".join(f'{p} = "{t}"' for p, t in spec.items()) + " }")
        where = Scope(
            device,
            queue,
            states,
            queues=(QUEUE,) if targeted else (),
            params=plain,
            quantifiers=not tame,
            comparisons=not tame,
        )
        if draw(st.integers(0, 3)) == 0:
            lines.append(f'when = "{draw(bool_expr(where, 2))}"')
        if not targeted and draw(st.booleans()):
            target, kind = draw(st.sampled_from(device))
            value = draw(bool_expr(where, 2)) if kind == "bool" else draw(value_of(where, kind))
            lines.append(f'effects = ["{target} := {value}"]')
    row_number = itertools.count()
    for name, targeted, params in events:
        where = Scope(
            device,
            queue,
            states,
            own=True,
            queues=(QUEUE,) if targeted else (),
            params=tuple(params),
            quantifiers=not tame,
            comparisons=not tame,
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
                lines += [
                    "",
                    "[[transitions]]",
                    f'name = "r{next(row_number)}"',
                    f'event = "{name}"',
                    f'from = "{state}"',
                ]
                if draw(st.booleans()):
                    lines.append(f'to = "{draw(st.sampled_from(states))}"')
                if guard == "otherwise":
                    lines.append("otherwise = true")
                elif guard is not None:
                    lines.append(f'guard = "{guard}"')
                effects = []
                for var, kind in queue_vars:
                    if draw(st.integers(0, 2)) == 0:
                        value = draw(bool_expr(where, 1)) if kind == "bool" else draw(value_of(where, kind))
                        effects.append(f"{var} := {value}")
                if effects:
                    lines.append("effects = [" + ", ".join(f'"{e}"' for e in effects) + "]")
                lines.append('why = "generated"')
    lines += _properties(draw, device, queue, states, events, tame)
    return Table("\n".join(lines) + "\n", tame)


def _properties(draw, device, queue, states, events, tame: bool) -> list[str]:
    lines = []
    for index in range(draw(st.integers(1, 3))):
        per_queue = draw(st.booleans())
        where = Scope(device, queue, states, own=per_queue, comparisons=not tame, universal=tame)
        expr = draw(bool_expr(where, 3))
        lines += ["", "[[properties]]", f'name = "inv{index}"', 'kind = "invariant"', f'expr = "{expr}"']
        lines.append('rationale = "generated"')
    if draw(st.booleans()):
        event = draw(st.sampled_from(events))
        name, targeted, params = event
        where = Scope(
            device,
            queue,
            states,
            queues=(QUEUE,) if targeted else (),
            params=tuple(params),
            primes=True,
            comparisons=not tame,
            universal=tame,
        )
        expr = draw(bool_expr(where, 2))
        lines += ["", "[[properties]]", 'name = "step0"', 'kind = "step"', f"events = {_toml_list([name])}"]
        lines += [f'expr = "{expr}"', 'rationale = "generated"']
    if draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from(events))[0]
        names = [n for n, _ in device] + [n for n, _ in queue if n != "state"]
        inputs = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
        lines += ["", "[[properties]]", 'name = "history0"', 'kind = "history_free"']
        lines += [f"events = {_toml_list([name])}", f"inputs = {_toml_list(inputs)}", 'rationale = "generated"']
    return lines
