"""Every command's --json output validates against its schema, in one shape.

Each command runs with --json (small sizes), on a run that ends and on one
that stops early where the command can stop; what it prints must be one
document of the shared envelope (schemas/README.md) that validates against
``schemas/<command>.schema.json``. Every command that has --json has a
schema, and each schema rejects a document that breaks it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import click
import jsonschema
import pytest
from click.testing import CliRunner

from virtio_notifier_spec import schemas
from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.cli.schema import command_schema

SEQUENCE = "start(limited=false); set_status(value=driver_ok, assign_ok=true); kick(queue=0); reset()"

#: (schema, arguments, exit codes it may end with)
RUNS = [
    ("check", ["check", "--spec", "proposal", "--queues", "1-2"], {1}),
    ("check", ["check", "--queues", "2", "--max-states", "5"], {3}),
    ("verify", ["verify", "--resolved-queues", "1", "--proposal-queues", "1"], {0}),
    ("show", ["show", "--spec", "proposal"], {0}),
    ("validate", ["validate"], {0}),
    ("prove", ["prove", "--spec", "proposal", "--crosscheck", "1"], {1}),
    ("prove", ["prove", "--timeout", "0.000001"], {3}),
    ("scale", ["scale", "--queues", "1-2"], {0}),
    ("diff", ["diff", "proposal", "resolved", "--queues", "1"], {1}),
    ("diff", ["diff", "resolved", "resolved", "--queues", "2", "--max-states", "5"], {3}),
    ("draw", ["draw", "--spec", "resolved", "--format", "ascii", "--out", "-"], {0}),
    ("liveness", ["liveness", "--spec", "proposal", "--queues", "1"], {1}),
    ("liveness", ["liveness", "--queues", "2", "--max-states", "5"], {3}),
    ("designs", ["designs", "--only", "qemu_today", "--no-drive"], {0}),
    ("replay", ["replay", "--spec", "proposal", *SEQUENCE.split("; ")[1:]], {1}),
    ("oracle-drive", ["oracle", "drive", "--builtin", "reference", "--queues", "1", "--walks", "2", "--no-pairs"], {0}),
    ("oracle-replay", ["oracle", "replay", "--builtin", "reference", "--queues", "1", "--sequence", SEQUENCE], {0}),
    ("mutants", ["mutants", "--max-queues", "1", "--only", "vm_stop_keeps_ioeventfds"], {0}),
    ("schema", ["schema"], {0}),
    ("qemu", ["qemu", "--smoke"], {0}),
    ("simulate", ["simulate", "--spec", "proposal", "--seed", "1", "--runs", "5", "--depth", "20"], {1}),
    ("graph", ["graph", "--queues", "1"], {0}),
    ("export", ["export", "--format", "quint", "--queues", "1"], {0}),
    ("export", ["export", "--format", "promela-ltl", "--spec", "proposal", "--queues", "1"], {0}),
]


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = command_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def run_json(args: list[str], codes: set[int]) -> dict:
    result = CliRunner().invoke(cli, [*args, "--json", "--quiet"])
    assert result.exit_code in codes, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(("name", "args", "codes"), RUNS, ids=[" ".join(a[:3]) for _, a, _ in RUNS])
def test_the_json_output_validates_against_its_schema(name, args, codes):
    document = run_json(args, codes)
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator(name).iter_errors(document)]
    assert not errors, errors
    assert document["command"] == name.replace("-", " ")
    assert (document["stopped"] is not None) == (3 in codes)


def test_oracle_check_json_validates_against_its_schema(tmp_path):
    written = CliRunner().invoke(cli, ["check", "--spec", "proposal", "--queues", "1", "--traces", str(tmp_path)])
    assert written.exit_code == 1
    trace = tmp_path / "proposal-1q-no_lost_kick.jsonl"
    document = run_json(["oracle", "check", str(trace), "--spec", "resolved"], {1})
    validator("oracle-check").validate(document)
    assert document["results"][0]["verdict"] == "diverges"


def test_oracle_ingest_json_says_what_it_wrote_and_validates(tmp_path):
    log = Path(__file__).parents[1] / "qemu" / "logs" / "blk-legacy-2.log"
    out = tmp_path / "blk.jsonl"
    document = run_json(["oracle", "ingest", str(log), "--out", str(out)], {0})
    validator("oracle-ingest").validate(document)
    assert document["results"] == [{"out": str(out), "events": len(out.read_text().splitlines()) - 1, "queues": 2}]


def test_draw_json_of_files_written_validates(tmp_path):
    document = run_json(["draw", "--spec", "resolved", "--format", "dot", "--queues", "1", "--out", str(tmp_path)], {0})
    validator("draw").validate(document)
    assert all(r["path"].endswith(".dot") for r in document["results"])


def _commands(group: click.Group, prefix: str = ""):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_command_with_json_has_a_schema_and_a_run_here():
    with_json = {name for name, command in _commands(cli) if any(o.name == "as_json" for o in command.params)}
    with_json -= {"oracle schema"}  # prints a schema, as `schema NAME` does
    assert {schemas.schema_name(n) for n in with_json} <= set(schemas.names())
    covered = {name for name, _, _ in RUNS} | {"oracle-check", "oracle-ingest"}
    assert {schemas.schema_name(n) for n in with_json} <= covered


def test_every_schema_is_listed_in_the_readme():
    readme = (schemas.FOLDER / "README.md").read_text()
    for name in schemas.names():
        assert f"`{name}.schema.json`" in readme, name


@pytest.fixture(scope="module")
def check_document():
    return run_json(["check", "--spec", "proposal", "--queues", "1"], {1})


@pytest.mark.parametrize(
    ("break_it", "says"),
    [
        (lambda d: d.update(results=d["results"][0]), "is not of type 'array'"),
        (lambda d: d.update(command="verify"), "'check' was expected"),
        (lambda d: d.pop("stopped"), "'stopped' is a required property"),
        (lambda d: d.update(version=2), "1 was expected"),
        (lambda d: d["results"][0]["verdicts"].update(no_lost_kick="maybe"), "is not valid under any"),
        (lambda d: d["results"][0]["counterexamples"]["no_lost_kick"]["trace"]["steps"][0].pop("state"), "'state'"),
        (lambda d: d.pop("not_run"), "'not_run' is a required property"),
    ],
)
def test_the_check_schema_rejects_a_document_that_breaks_it(check_document, break_it, says):
    broken = copy.deepcopy(check_document)
    break_it(broken)
    messages = [e.message for e in validator("check").iter_errors(broken)]
    assert any(says in m for m in messages), messages


def test_schema_prints_each_schema_self_contained_and_refuses_an_unknown_name():
    for name in ("oracle drive", "oracle-drive", "check"):
        result = CliRunner().invoke(cli, ["schema", *name.split()])
        assert result.exit_code == 0
        printed = json.loads(result.output)
        assert printed["$id"].endswith(schemas.schema_name(name) + ".schema.json")
        assert set(printed["$defs"]) >= {"envelope", "defs"}
    assert json.loads(CliRunner().invoke(cli, ["schema", "itf"]).output)["title"]
    assert "header" in json.loads(CliRunner().invoke(cli, ["schema", "trace"]).output)["$defs"]
    unknown = CliRunner().invoke(cli, ["schema", "nope"])
    assert unknown.exit_code == 2 and "no schema 'nope' (known: check," in unknown.output
