"""Every command on random valid tables ends with a verdict, never a traceback.

Hypothesis draws whole tables (``tests/cli/random_tables.py``: up to a few hundred
rows, deep and long expressions) and runs every command that takes a
table on each: each must exit 0 (holds), 1 (fails) or 3 (stopped by
--max-states or --timeout), and say nothing that looks like a traceback.
The counterexamples ``check --traces`` writes must replay: ``oracle check``
finds them conforming to the table that produced them, and ``replay``
reads their ITF form back.

``make test`` runs a few derandomized examples (a fixed, reproducible
set); ``make fuzz-cli`` runs many more, freshly drawn
(``CLI_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from random_tables import Table, tables
from virtio_notifier_spec.cli.main import cli

EXAMPLES = int(os.environ.get("CLI_FUZZ_EXAMPLES", "3"))
LIMITS = ["--timeout", "1", "--quiet"]


def invoke(*args: str):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    output = result.output
    assert "Traceback" not in output, f"{args}:\n{output}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args} raised {result.exception!r}\n{output}")
    return result


def _events(table: Table) -> list[str]:
    """One instance of each event: the first value of every parameter."""
    found = []
    for name, params in table.events:
        args = ", ".join(f"{p}={values[0] if values else 0}" for p, values in params)
        found.append(f"{name}({args})")
    return found


def _commands(table: Path, folder: Path, events: list[str]) -> list[list[str]]:
    config = folder / "config.toml"
    config.write_text(f'table = "{table.name}"\n\n[[devices]]\nname = "d"\nqueues = 1\n')
    return [
        ["validate", "--spec", table],
        ["show", "--spec", table],
        ["check", "--spec", table, "--queues", "1-2", "--max-states", "3000", "--traces", folder / "cx", *LIMITS],
        ["check", "--spec", table, "--queues", "1", "--json", "--max-states", "3000", *LIMITS],
        ["prove", "--spec", table, *LIMITS],
        ["draw", "--spec", table, "--format", "ascii", "--queues", "1", "--out", folder / "drawings", *LIMITS],
        ["scale", "--spec", table, "--queues", "1-3", "--config", config, "--max-states", "3000", *LIMITS],
        ["replay", "--spec", table, "--queues", "1", "--quiet", *events],
        ["oracle", "schema", "--spec", table],
        ["oracle", "drive", "--builtin", f"model:{table}", "--spec", table, "--queues", "1", "--walks", "2", *LIMITS],
    ]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="CLI_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=list(HealthCheck),
)
@given(tables())
def test_every_command_ends_with_a_verdict_on_random_tables(table: Table):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = table.write(folder)
        for args in _commands(path, folder, _events(table)):
            result = invoke(*args)
            assert result.exit_code in (0, 1, 3), f"{args} exited {result.exit_code}:\n{result.output}"
        for trace in sorted((folder / "cx").glob("*.jsonl")):
            replayed = invoke("oracle", "check", trace, "--spec", path)
            assert replayed.exit_code == 0, replayed.output
        for trace in sorted((folder / "cx").glob("*.itf.json")):
            assert invoke("replay", "--trace", trace, "--spec", path).exit_code in (0, 1)
