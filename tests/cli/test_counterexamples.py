"""Counterexamples written for other tools (`--traces`): oracle traces that
`oracle check` replays, ITF traces valid under ADR-015's schema; and
`--property NAME` on check and prove."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.model.itf import SCHEMA, itf_trace, read_itf
from virtio_notifier_spec.spec.load import load_spec

VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    folder = tmp_path_factory.mktemp("traces")
    result = run("check", "--spec", "proposal", "--queues", "1-2", "--quiet", "--traces", folder)
    assert result.exit_code == 1
    return folder


def test_every_failing_property_is_written_once_in_both_formats(traces):
    failing = [*explore(load_spec("proposal"), 1).counterexamples, "kick_eventually_handled"]  # and its lasso
    stems = {p.name.split(".")[0] for p in traces.iterdir()}
    assert stems == {f"proposal-1q-{name}" for name in failing}
    assert (traces / "proposal-1q-load_is_history_free.other.jsonl").is_file()  # two runs: both written


def test_oracle_check_replays_each_counterexample_and_it_conforms(traces):
    for trace in sorted(traces.glob("*.jsonl")):
        result = run("oracle", "check", trace)
        assert result.exit_code == 0, (trace.name, result.output)
        assert "conforms to proposal" in " ".join(result.output.split())


def test_the_same_trace_diverges_from_the_table_that_fixes_it(traces):
    result = run("oracle", "check", traces / "proposal-1q-no_lost_kick.jsonl", "--spec", "resolved")
    assert result.exit_code == 1
    text = " ".join(result.output.split())  # wrapped to the width, however long the folder's name
    assert ":4: reset() diverges from resolved" in text  # resolved drains the pending kick


def test_every_itf_trace_is_valid_under_the_adr015_schema(traces):
    for path in sorted(traces.glob("*.itf.json")):
        document = json.loads(path.read_text())
        VALIDATOR.validate(document)
        for state in document["states"]:
            assert set(document["vars"]) <= set(state), path.name  # every state gives every variable


def test_the_schema_refuses_what_adr015_does_not_allow():
    good = itf_trace(load_spec("proposal"), explore(load_spec("proposal"), 1).counterexamples["no_lost_kick"].trace)
    VALIDATOR.validate(good)
    for broken in (
        {"vars": ["x"]},  # no states
        {"vars": ["x"], "states": [{"x": {"#bigint": 3}}]},  # a big integer is a string of digits
        {"vars": ["x"], "states": [{"x": {"#map": [[1]]}}]},  # a map holds pairs
        {"vars": ["x"], "states": [{"x": {"#tup": [], "#set": []}}]},
        {"vars": ["x"], "states": [{"x": 1.5}]},
        {"vars": ["x"], "states": [], "extra": 1},
    ):
        assert not VALIDATOR.is_valid(broken), broken


def test_an_itf_trace_reads_back_as_the_same_run():
    spec = load_spec("proposal")
    trace = explore(spec, 2).counterexamples["armed_only_when_driver_ok"].trace
    start, events = read_itf(spec, json.loads(json.dumps(itf_trace(spec, trace))))
    assert start == trace.start
    assert events == [(s.event.event.name, s.event.values) for s in trace.steps]


def test_prove_writes_its_traces_too(tmp_path):
    result = run("prove", "--spec", "proposal", "--quiet", "--traces", tmp_path, "--property", "no_lost_kick")
    assert result.exit_code == 1
    assert run("oracle", "check", tmp_path / "proposal-1q-no_lost_kick.jsonl").exit_code == 0


# -- --property -----------------------------------------------------------------


def test_check_property_checks_only_the_named_properties():
    holds = run("check", "--spec", "proposal", "--queues", "1-2", "--property", "one_owner_per_notifier", "--json")
    assert holds.exit_code == 0  # proposal fails others, not this one
    verdicts = json.loads(holds.stdout)["results"][0]["verdicts"]
    assert verdicts == {"one_owner_per_notifier": "holds"}
    fails = run("check", "--spec", "proposal", "--queues", "1", "--property", "no_lost_kick", "--quiet")
    assert fails.exit_code == 1 and "no_lost_kick FAILS" in fails.output
    assert "status_zero_resets" not in fails.output


def test_prove_property_proves_only_the_named_ones_still_with_every_lemma():
    result = run("prove", "--spec", "proposal", "--property", "offlimits_never_ours", "--json")
    assert result.exit_code == 0, result.output  # inductive only with the lemma ours_only_when_assigned
    document = json.loads(result.stdout)
    assert [p["name"] for p in document["results"]] == ["offlimits_never_ours"]


@pytest.mark.parametrize("command", ["check", "prove"])
def test_an_unknown_property_is_bad_input_naming_the_known_ones(command):
    result = run(command, "--spec", "resolved", "--property", "no_such_thing")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "no property 'no_such_thing' in resolved (known: offlimits_never_ours," in result.output


def test_liveness_property_checks_only_the_named_ones():
    result = run("liveness", "--spec", "proposal", "--queues", "1", "--property", "no_deadlock", "--json")
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["results"][0]["verdicts"]) == ["no_deadlock"]
    unknown = run("liveness", "--property", "no_lost_kick")
    assert unknown.exit_code == 2 and "known: kick_eventually_handled" in unknown.output


def test_liveness_writes_each_lasso_as_a_replayable_trace_and_as_itf_with_its_loop(tmp_path):
    result = run("liveness", "--spec", "proposal", "--queues", "1-2", "--quiet", "--traces", tmp_path)
    assert result.exit_code == 1, result.output
    lasso = json.loads(run("liveness", "--spec", "proposal", "--queues", "1", "--json").stdout)["results"][0]
    found = lasso["lassos"]["kick_eventually_handled"]
    stem, cycle = len(found["stem"]["steps"]), len(found["cycle"])
    document = json.loads((tmp_path / "proposal-1q-kick_eventually_handled.itf.json").read_text())
    VALIDATOR.validate(document)
    assert document["loop"] == stem  # the cycle starts where the stem ends ...
    assert len(document["states"]) == stem + cycle  # ... and its last state goes back there
    assert document["#meta"]["loop-back"]["action"] == found["cycle"][-1]["event"].split("(")[0]
    replayed = run("oracle", "check", tmp_path / "proposal-1q-kick_eventually_handled.jsonl")
    assert replayed.exit_code == 0 and "conforms to proposal" in replayed.output  # once round the cycle
