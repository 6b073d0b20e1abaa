"""Random valid tables, as TOML text: a Hypothesis strategy for the tests.

``tables()`` draws a whole table within the grammar of ``spec/README.md``:
states, enumerations, device and per-queue variables of bool or enum type
with one, several or ``any`` initial values, events with queue, bool and
enum parameters, ``when`` conditions and device effects, rows with guards
and per-queue effects (several per event and source, made disjoint by a
selector variable so that the loader accepts them, and ``otherwise``
rows), and invariants, step and history-freedom properties. Expressions
nest up to ``depth`` and some are long chains (``not not ...``, nested
parentheses, long ``and``s, nested ``if``s) up to ``chain`` links. A table
may have a few hundred rows.

    from random_tables import tables
    @given(tables())
    def test_x(table: Table): load_spec(table.write(tmp_path))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

#: Chains of this many links at most; the parser's depth limit (spec/parse.py) is far above.
CHAIN = 40


@dataclass(frozen=True)
class Atom:
    """A name usable in an expression, with its type's values (bool: None)."""

    text: str
    values: tuple[str, ...] | None = None

    @property
    def is_bool(self) -> bool:
        return self.values is None


@dataclass(frozen=True)
class Table:
    """A drawn table: its TOML text and what a test needs to drive it."""

    text: str
    events: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...]  # name, ((param, values), ...)
    rows: int

    def write(self, folder: Path, name: str = "random.toml") -> Path:
        path = folder / name
        path.write_text(self.text, encoding="utf-8")
        return path


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def bool_expr(draw, atoms: list[Atom], depth: int) -> str:
    """A boolean expression over ``atoms``."""
    choice = draw(st.integers(0, 9)) if depth > 0 else 0
    if choice <= 2 or not atoms:
        return _atom_test(draw, atoms)
    sub = bool_expr(atoms, depth - 1)
    if choice == 3:
        return f"not {draw(sub)}"
    if choice in (4, 5, 6):
        op = draw(st.sampled_from(["and", "or", "=>"]))
        return f"({draw(sub)} {op} {draw(sub)})"
    if choice == 7:
        return f"(if {draw(sub)} then {draw(sub)} else {draw(sub)})"
    if choice == 8:
        return f"(({draw(sub)}) == ({draw(sub)}))"
    return _chain(draw, atoms)


def _atom_test(draw, atoms: list[Atom]) -> str:
    if not atoms:
        return draw(st.sampled_from(["true", "false"]))
    atom = draw(st.sampled_from(atoms))
    if atom.is_bool:
        return atom.text
    op = draw(st.sampled_from(["==", "!="]))
    return f"{atom.text} {op} {draw(st.sampled_from(atom.values))}"


def _chain(draw, atoms: list[Atom]) -> str:
    """A long or deep expression: what parsers with recursion trip over."""
    links = draw(st.integers(2, CHAIN))
    base = _atom_test(draw, atoms)
    kind = draw(st.sampled_from(["not", "parens", "and", "if"]))
    if kind == "not":
        return "not " * links + base
    if kind == "parens":
        return "(" * links + base + ")" * links
    if kind == "and":
        return "(" + " and ".join(_atom_test(draw, atoms) for _ in range(links)) + ")"
    expr = base
    for _ in range(links):
        expr = f"(if {_atom_test(draw, atoms)} then {expr} else {_atom_test(draw, atoms)})"
    return expr


def _value_expr(draw, atom: Atom, atoms: list[Atom], depth: int) -> str:
    """An expression of ``atom``'s type."""
    if atom.is_bool:
        return draw(bool_expr(atoms, depth))
    same = [a.text for a in atoms if a.values == atom.values]
    value = draw(st.sampled_from([*atom.values, *same]))
    if draw(st.booleans()):
        return value
    return f"if {draw(bool_expr(atoms, depth))} then {value} else {draw(st.sampled_from(atom.values))}"


@st.composite
def tables(draw, max_events: int = 40, depth: int = 3) -> Table:
    """A random table that loads (see the module's docstring)."""
    states = [f"s{i}" for i in range(draw(st.integers(1, 6)))]
    types = {
        f"t{i}": tuple(f"t{i}_v{j}" for j in range(draw(st.integers(2, 4)))) for i in range(draw(st.integers(0, 2)))
    }
    type_names = ["bool", *types]
    lines = [
        "# A random table drawn by tests/cli/random_tables.py.",
        "",
        "[variant]",
        'name = "random"',
        'summary = "A random table."',
        "",
        "[machine]",
        f"states = [{', '.join(map(_q, states))}]",
        f'start = "{states[0]}"',
        "",
        "[types]",
        *(f"{name} = [{', '.join(map(_q, values))}]" for name, values in types.items()),
    ]
    device: list[Atom] = []
    queue: list[Atom] = [Atom("state", tuple(states))]
    for scope, count in (("device", draw(st.integers(0, 3))), ("queue", draw(st.integers(0, 3)))):
        for i in range(count):
            name = f"{scope[0]}{i}"
            tname = draw(st.sampled_from(type_names))
            values = None if tname == "bool" else types[tname]
            domain = ["true", "false"] if values is None else [_q(v) for v in values]
            init = draw(
                st.one_of(
                    st.just('"any"'),
                    st.sampled_from(domain),
                    st.lists(st.sampled_from(domain), min_size=1, max_size=3, unique=True).map(
                        lambda xs: "[" + ", ".join(xs) + "]"
                    ),
                )
            )
            lines += ["", "[[variables]]", f'name = "{name}"', f'scope = "{scope}"', f'type = "{tname}"']
            lines += [f"init = {init}", f'doc = "{scope} variable {name}"']
            (device if scope == "device" else queue).append(Atom(name, values))
    events = []
    for i in range(draw(st.integers(1, max_events))):
        name = f"e{i}"
        params: list[tuple[str, str, tuple[str, ...]]] = []
        if draw(st.booleans()):
            params.append(("qp", "queue", ()))
        if draw(st.booleans()):
            params.append(("bp", "bool", ("true", "false")))
        if types and draw(st.booleans()):
            tname = draw(st.sampled_from(list(types)))
            params.append(("mp", tname, types[tname]))
        param_atoms = [Atom(p, None if t == "bool" else vals) for p, t, vals in params if t != "queue"]
        lines += ["", "[[events]]", f'name = "{name}"']
        if params:
            lines.append("params = { " + ", ".join(f'{p} = "{t}"' for p, t, _ in params) + " }")
        if any(t == "queue" for _, t, _ in params):
            lines.append('target = "qp"')
            indexed = [Atom(f"{a.text}[qp]", a.values) for a in queue]
        else:
            indexed = []
        scope_atoms = device + param_atoms + indexed
        if draw(st.integers(0, 3)) == 0:
            lines.append(f"when = {_q(draw(bool_expr(scope_atoms, depth)))}")
        lines += _effects(draw, device, device + param_atoms, depth)
        lines.append(f'doc = "event {name}"')
        events.append((name, tuple((p, vals if t != "queue" else ()) for p, t, vals in params), param_atoms))
    rows = 0
    for name, _, param_atoms in events:
        for state in states:
            atoms = device + queue[1:] + param_atoms
            kind = draw(st.integers(0, 4))
            guards: list[str] = []
            if kind in (1, 2) or not atoms:
                guards = [""]  # one row, no guard
            elif kind >= 3:
                selectors = [a for a in atoms if a.is_bool or len(a.values) >= 2]
                selector = draw(st.sampled_from(selectors))
                values = ["true", "false"] if selector.is_bool else list(selector.values)
                chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True))
                others = [a for a in atoms if a != selector]
                for value in chosen:
                    local = draw(st.lists(st.sampled_from(others), max_size=3, unique=True)) if others else []
                    guards.append(f"{selector.text} == {value} and ({draw(bool_expr(local, depth))})")
            otherwise = kind in (2, 4) and guards != [""]
            for guard in guards:
                lines += _row(draw, rows, name, state, states, guard, queue[1:], atoms, depth)
                rows += 1
            if otherwise or kind == 0:
                lines += _row(draw, rows, name, state, states, None, queue[1:], atoms, depth)
                rows += 1
    lines += _properties(draw, device, queue, events, depth)
    public = tuple((name, params) for name, params, _ in events)
    return Table("\n".join(lines) + "\n", public, rows)


def _row(draw, number: int, event: str, state: str, states, guard, writable, atoms, depth) -> list[str]:
    lines = ["", "[[transitions]]", f'name = "r{number}"', f'event = "{event}"', f'from = "{state}"']
    if draw(st.booleans()):
        lines.append(f'to = "{draw(st.sampled_from(states))}"')
    if guard is None:
        lines.append("otherwise = true")
    elif guard:
        lines.append(f"guard = {_q(guard)}")
    lines += _effects(draw, writable, atoms, depth)
    lines.append(f'why = "row {number}"')
    return lines


def _effects(draw, writable: list[Atom], atoms: list[Atom], depth: int) -> list[str]:
    """An ``effects`` line writing up to two of ``writable`` (none: no line)."""
    written = draw(st.lists(st.sampled_from(writable), unique=True, max_size=2)) if writable else []
    if not written:
        return []
    effects = [f"{a.text} := {_value_expr(draw, a, atoms, depth)}" for a in written]
    return [f"effects = [{', '.join(map(_q, effects))}]"]


def _properties(draw, device: list[Atom], queue: list[Atom], events, depth: int) -> list[str]:
    lines = []
    for i in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            expr = draw(bool_expr(device + queue, depth))
        else:
            indexed = [Atom(f"{a.text}[q]", a.values) for a in queue]
            expr = f"{draw(st.sampled_from(['forall', 'exists']))} q: {draw(bool_expr(device + indexed, depth))}"
        lines += ["", "[[properties]]", f'name = "inv{i}"', 'kind = "invariant"', f"expr = {_q(expr)}"]
        lines.append(f'rationale = "invariant {i}"')
    names = [name for name, _, _ in events]
    for i in range(draw(st.integers(0, 2))):
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
        primed = [Atom(f"{a.text}'", a.values) for a in device] + device
        quantified = [Atom(f"{a.text}'[q]", a.values) for a in queue] + [Atom(f"{a.text}[q]", a.values) for a in queue]
        expr = draw(bool_expr(primed, depth))
        if draw(st.booleans()):
            expr = f"forall q: {draw(bool_expr(primed + quantified, depth))}"
        lines += ["", "[[properties]]", f'name = "step{i}"', 'kind = "step"']
        lines += [f"events = [{', '.join(map(_q, chosen))}]", f"expr = {_q(expr)}", f'rationale = "step {i}"']
    if draw(st.booleans()):
        inputs = draw(st.lists(st.sampled_from([a.text for a in device + queue]), unique=True, max_size=3))
        lines += ["", "[[properties]]", 'name = "history"', 'kind = "history_free"']
        lines += [f"events = [{_q(draw(st.sampled_from(names)))}]", f"inputs = [{', '.join(map(_q, inputs))}]"]
        lines.append('rationale = "history freedom"')
    return lines
