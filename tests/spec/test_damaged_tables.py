"""Random valid tables, damaged in one place: every command refuses them
with exit 2 and one line naming the file and the line of the damage.

`make fuzz-tables` runs it longer (``DAMAGE_EXAMPLES``, bigger tables).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tables import Table, valid_tables

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.spec.parse import MAX_DEPTH

EXAMPLES = int(os.environ.get("DAMAGE_EXAMPLES", "30"))
LONG = EXAMPLES > 100  # `make fuzz-tables`: tables of a few hundred rows
SIZES = {"max_events": 12, "max_states": 5, "size": 60} if LONG else {"max_events": 4, "max_states": 3, "size": 20}

# One damage: (the damaged table's text, the lines the error may name, the field it names).
Damage = tuple[str, set[int], str]


def _row(table: Table, draw) -> dict:
    return draw(st.sampled_from(table.sections["transitions"]))


def _guarded(table: Table, draw, guard: str) -> Damage:
    row = _row(table, draw)
    row.pop("otherwise", None)
    row["guard"] = guard
    return table.text(), {table.line("transitions", row["name"], "guard")}, "transitions.guard"


def _set(table: Table, draw, key: str, value, section: str = "transitions") -> Damage:
    entry = draw(st.sampled_from(table.sections[section]))
    entry[key] = value
    return table.text(), {table.line(section, entry["name"], key)}, f"{section}.{key}"


def _written_twice(table: Table, draw, as_string: bool) -> Damage:
    row = _row(table, draw)
    variable = next(v for v in table.sections["variables"] if v["scope"] == "queue")
    value = "true" if variable["type"] == "bool" else table.types[variable["type"]][0]
    effect = f"{variable['name']} := {value}"
    row["effects"] = effect if as_string else [effect, effect]
    return table.text(), {table.line("transitions", row["name"], "effects")}, "transitions.effects"


def _same_name(table: Table, draw) -> Damage:
    rows = table.sections["transitions"]
    if len(rows) < 2:
        return _set(table, draw, "from", "nowhere")
    later = draw(st.integers(1, len(rows) - 1))
    rows[later]["name"] = rows[later - 1]["name"]
    lines = table.text().splitlines()
    named = [n for n, line in enumerate(lines, 1) if line == f'name = "{rows[later]["name"]}"']
    return table.text(), {named[-1]}, "transitions.name"


def _missing_why(table: Table, draw) -> Damage:
    row = _row(table, draw)
    del row["why"]
    return table.text(), {table.line("transitions", row["name"], "name")}, "transitions"


def _added_rows(table: Table, draw, key: str, value) -> Damage:
    """Two new rows of the first event from the first state, both ``key = value``:
    they clash with each other, or the first with a row already there."""
    event, state = table.sections["events"][0]["name"], table.states[0]
    for name in ("added_one", "added_two"):
        row = {"name": name, "event": event, "from": state, key: value, "why": "damage"}
        table.sections["transitions"].append(row)
    lines = {table.line("transitions", name, key) for name in ("added_one", "added_two")}
    return table.text(), lines, f"transitions.{key}"


def _top(table: Table, draw, line: str, field: str) -> Damage:
    table.top = [line]
    return table.text(), {1}, field


def _toml(table: Table, draw) -> Damage:
    row = _row(table, draw)
    line = table.line("transitions", row["name"], "why")
    lines = table.text().splitlines()
    lines[line - 1] = lines[line - 1][:-1]  # drop the closing quote
    return "\n".join(lines), {line}, ""


DAMAGES: dict[str, Callable[[Table, object], Damage]] = {
    "unknown name": lambda t, d: _guarded(t, d, "nosuchname and true"),
    "syntax error": lambda t, d: _guarded(t, d, "(true and"),
    "too deep": lambda t, d: _guarded(t, d, "not " * (MAX_DEPTH + 8) + "true"),
    "type error": lambda t, d: _guarded(t, d, f"{t.states[0]} == true"),
    "misspelt field": lambda t, d: _set(t, d, "gaurd", "true"),
    "unknown state": lambda t, d: _set(t, d, "from", "nowhere"),
    "unknown target state": lambda t, d: _set(t, d, "to", "nowhere"),
    "unknown event": lambda t, d: _set(t, d, "event", "noevent"),
    "bad letter": lambda t, d: _set(t, d, "letter", "AB"),
    "bad initial value": lambda t, d: _set(t, d, "init", "nosuchvalue", "variables"),
    "bad event effect": lambda t, d: _set(t, d, "effects", ["nosuchvariable := true"], "events"),
    "written twice": lambda t, d: _written_twice(t, d, as_string=False),
    "effects as a string": lambda t, d: _written_twice(t, d, as_string=True),
    "name declared twice": _same_name,
    "missing why": _missing_why,
    "two otherwise rows": lambda t, d: _added_rows(t, d, "otherwise", True),
    "overlapping guards": lambda t, d: _added_rows(t, d, "guard", "true"),
    "include cycle": lambda t, d: _top(t, d, 'include = "table.toml"', "include"),
    "unknown section": lambda t, d: _top(t, d, "nonsense = 1", "nonsense"),
    "extends nothing": lambda t, d: _top(t, d, 'extends = "nothere.toml"', "extends"),
    "bad TOML": _toml,
}

COMMANDS = {
    "check": ["check", "--spec", "{path}", "--queues", "1", "--quiet"],
    "prove": ["prove", "--spec", "{path}"],
    "draw": ["draw", "--spec", "{path}", "--format", "ascii", "--out", "-"],
    "show": ["show", "--spec", "{path}"],
    "diff": ["diff", "resolved", "{path}", "--queues", "1"],
    "scale": ["scale", "--spec", "{path}", "--queues", "2"],
    "oracle check": ["oracle", "check", "{trace}"],
}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(valid_tables(**SIZES), st.sampled_from(sorted(DAMAGES)), st.sampled_from(sorted(COMMANDS)), st.data())
def test_a_damaged_table_is_refused_by_every_command_with_its_file_and_line(tmp_path, table, damage, command, data):
    text, lines, field = DAMAGES[damage](table.copy(), data.draw)
    path = tmp_path / "table.toml"
    path.write_text(text)
    trace = tmp_path / "trace.jsonl"
    header = {"format": "virtio-notifier-trace", "version": 1, "variant": str(path), "queues": 1, "limited": False}
    trace.write_text(json.dumps(header) + "\n")
    for args in (["validate", str(path)], [a.format(path=path, trace=trace) for a in COMMANDS[command]]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (damage, args, result.output)
        assert len(result.stderr.strip().splitlines()) == 1, (damage, args, result.stderr)
        located = [f"error: {path}:{line}: {field}" for line in lines]
        assert any(result.stderr.startswith(prefix) for prefix in located), (damage, args, result.stderr, located)


def test_the_damages_cover_what_the_loader_used_to_accept_or_crash_on():
    assert {"too deep", "written twice", "effects as a string", "include cycle", "overlapping guards"} <= set(DAMAGES)


def test_a_generated_table_is_valid_and_can_be_big(tmp_path):
    from tables import make_table

    from virtio_notifier_spec.spec.load import load_spec

    path = tmp_path / "big.toml"
    path.write_text(make_table(seed=1, events=20, states=5, enum_types=3, width=6, size=2).text())
    assert len(load_spec(Path(path)).transitions) >= 200
