"""`graph`: the reachable state graph as JSON (states, initial states, edges
with the rows that fired), valid under its schema, the same states and
steps the explorer counts, bounded by --max-states and --depth."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.model.graphdoc import schema
from virtio_notifier_spec.spec.load import load_spec

VALIDATOR = jsonschema.Draft202012Validator(schema())


def run(*args):
    return CliRunner().invoke(cli, ["graph", *(str(a) for a in args)])


def results(*args) -> tuple[int, dict]:
    done = run(*args, "--json", "--quiet")
    return done.exit_code, json.loads(done.stdout)


def valid(graph: dict) -> None:
    VALIDATOR.validate(graph)
    ids = [s["id"] for s in graph["states"]]
    assert ids == list(range(len(ids)))
    named = (
        set(graph["initial"]) | set(graph["deadlocks"]) | {e[k] for e in graph["edges"] for k in ("source", "target")}
    )
    assert named <= set(ids)


@pytest.mark.parametrize(("variant", "queues"), [("resolved", "1-2"), ("proposal", "1")])
def test_the_graph_has_the_explorers_states_and_steps_and_fits_its_schema(variant, queues):
    code, document = results("--spec", variant, "--queues", queues)
    assert code == 0 and document["command"] == "graph" and document["stopped"] is None
    for graph in document["results"]:
        valid(graph)
        found = explore(load_spec(variant), graph["queues"])
        assert (len(graph["states"]), len(graph["edges"])) == (found.states, found.transitions)
        assert max(s["depth"] for s in graph["states"]) == found.depth
        assert graph["partial"] is None and not any(s["open"] for s in graph["states"])


def test_edges_carry_their_rows_and_letters_and_states_their_broken_invariants():
    _, document = results("--spec", "proposal", "--queues", "1")
    (graph,) = document["results"]
    start = graph["states"][graph["initial"][0]]
    assert start["depth"] == 0 and start["queues"][0]["state"] == "deassigned"
    b = next(e for e in graph["edges"] if any(f["letter"] == "b" for f in e["fired"]))
    assert b["event"] in ("set_status", "load") and b["fired"][0]["transition"].startswith("assign_on")
    bad = [s for s in graph["states"] if s["broken"]]
    assert any({"property": "no_lost_kick", "queue": 0} in s["broken"] for s in bad)


def test_max_states_and_depth_bound_it_and_mark_the_open_states():
    code, document = results("--queues", "3", "--max-states", "100")
    (graph,) = document["results"]
    valid(graph)
    assert code == 3 and document["stopped"] == graph["partial"] == "stopped at --max-states 100"
    assert len(graph["states"]) == 100 and any(s["open"] for s in graph["states"])
    code, document = results("--queues", "2", "--depth", "2")
    (graph,) = document["results"]
    valid(graph)
    assert code == 3 and graph["partial"] == "stopped at --depth 2"
    assert max(s["depth"] for s in graph["states"]) == 2
    assert {s["depth"] for s in graph["states"] if s["open"]} == {2}


def test_the_same_table_gives_the_same_bytes_and_the_text_lists_every_state():
    first, second = run("--queues", "2", "--json", "-q"), run("--queues", "2", "--json", "-q")
    assert first.stdout == second.stdout
    text = run("--queues", "1").output
    assert text.startswith("resolved, 1 queue(s): 38 states, 615 steps\n")
    assert "s0 start: limited=false" in text and "  -> s3 set_status(value=driver_ok, assign_ok=true)" in text


def test_schema_is_printed_and_rejects_a_broken_graph():
    printed = json.loads(run("--schema").output)
    assert printed["title"] == "Reachable state graph"
    _, document = results("--queues", "1")
    graph = document["results"][0]
    graph["edges"][0]["fired"][0]["queue"] = -1
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(graph)
