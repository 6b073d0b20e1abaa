"""Every command on random valid tables ends with a verdict, never a traceback.

Hypothesis draws whole tables (``tests/tables.py``: up to a few hundred
rows, expressions near the parser's depth limit) and runs every command that takes a
table on each: each must exit 0 (holds), 1 (fails) or 3 (stopped by
--max-states or --timeout), and say nothing that looks like a traceback.
The counterexamples ``check --traces`` writes must replay: ``oracle check``
finds them conforming to the table that produced them, and ``replay``
reads their ITF form back.

``make test`` runs two derandomized, smaller examples (a fixed,
reproducible set); ``make fuzz-cli`` runs many more of every size, freshly
drawn (``CLI_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from tables import Table, valid_tables

from virtio_notifier_spec.cli.main import cli

FUZZ = "CLI_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("CLI_FUZZ_EXAMPLES", "2"))
# make test: two fixed, smaller tables; make fuzz-cli: fresh ones of every size (up to 420 rows)
TABLES = valid_tables() if FUZZ else valid_tables(max_events=6, max_states=4, size=30)
TRACES = 3  # counterexample traces replayed per table
LIMITS = ["--timeout", "1", "--quiet"]


def invoke(*args: str):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    output = result.output
    assert "Traceback" not in output, f"{args}:\n{output}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args} raised {result.exception!r}\n{output}")
    return result


def _events(table: Table) -> list[str]:
    """One instance of each event: queue 0 and the first value of every other parameter."""
    first = {"queue": "0", "bool": "true"} | {name: values[0] for name, values in table.types.items()}
    found = []
    for event in table.sections["events"]:
        args = ", ".join(f"{p}={first[t]}" for p, t in event.get("params", {}).items())
        found.append(f"{event['name']}({args})")
    return found


def _commands(table: Path, folder: Path, events: list[str]) -> list[list[str]]:
    return [
        ["validate", "--spec", table],
        ["show", "--spec", table],
        ["check", "--spec", table, "--queues", "1-2", "--max-states", "3000", "--traces", folder / "cx", *LIMITS],
        ["check", "--spec", table, "--queues", "1", "--json", "--max-states", "3000", *LIMITS],
        ["prove", "--spec", table, *LIMITS],
        ["draw", "--spec", table, "--format", "ascii", "--queues", "1", "--out", folder / "drawings", *LIMITS],
        # the random table at scale; the devices sharing slots are the shipped configuration's (a
        # configuration's table must declare [slots], which random tables do not)
        ["scale", "--spec", table, "--queues", "1-3", "--max-states", "3000", *LIMITS],
        ["liveness", "--spec", table, "--queues", "1-2", "--max-states", "3000", *LIMITS],
        ["replay", "--spec", table, "--queues", "1", "--quiet", *events],
        ["diff", table, table, "--queues", "1", "--max-states", "3000", *LIMITS],
        ["graph", "--spec", table, "--queues", "1", "--max-states", "3000", "--json", *LIMITS],
        ["simulate", "--spec", table, "--queues", "2", "--seed", "1", "--depth", "20", "--runs", "5", *LIMITS],
        ["check", "--spec", table, "--queues", "2", "--depth", "3", *LIMITS],
        ["oracle", "schema", "--spec", table],
        *(["export", "--format", fmt, "--spec", table, "--queues", "2"] for fmt in ("quint", "promela", "promela-ltl")),
        ["oracle", "drive", "--builtin", f"model:{table}", "--spec", table, "--queues", "1", "--walks", "2", *LIMITS],
    ]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not FUZZ,
    phases=list(Phase) if FUZZ else [Phase.explicit, Phase.generate],  # make test: no minutes of shrinking
    suppress_health_check=list(HealthCheck),
)
@given(TABLES)
def test_every_command_ends_with_a_verdict_on_random_tables(table: Table):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "random.toml"
        path.write_text(table.text(), encoding="utf-8")
        for args in _commands(path, folder, _events(table)):
            result = invoke(*args)
            assert result.exit_code in (0, 1, 3), f"{args} exited {result.exit_code}:\n{result.output}"
        for trace in sorted((folder / "cx").glob("*.jsonl"))[:TRACES]:
            replayed = invoke("oracle", "check", trace, "--spec", path)
            assert replayed.exit_code == 0, replayed.output
        for trace in sorted((folder / "cx").glob("*.itf.json"))[:TRACES]:
            assert invoke("replay", "--trace", trace, "--spec", path).exit_code in (0, 1)
