"""What the oracle reports is what happened: shrinking keeps the symptom,
every sequence reported is confirmed from a fresh start, failures are
grouped by symptom, XML is well-formed whatever the child prints, an
implementation that observes nothing cannot pass, output paths are checked
before anything runs, and internal errors have their own exit code."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.oracle.conformance import check_trace
from virtio_notifier_spec.oracle.drive import Driver, drive
from virtio_notifier_spec.oracle.implementation import ModelImplementation
from virtio_notifier_spec.oracle.junit import junit_xml
from virtio_notifier_spec.oracle.observation import checkable_fields
from virtio_notifier_spec.oracle.process import ProcessImplementation
from virtio_notifier_spec.oracle.testgen import generate
from virtio_notifier_spec.spec.load import load_spec

pytest_plugins = ["oracle_fixtures"]  # the C example built, a misbehaving child

SPEC = load_spec("resolved")
PROPOSAL = load_spec("proposal")
HEADER = '{"format":"virtio-notifier-trace","version":1,"variant":"resolved","queues":1,"limited":false}'
ON = '{"event":"set_status","args":{"value":"driver_ok","assign_ok":true},"observed":{"queues":[{"state":"assigned"}]}}'


def run(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin)


def walks(count: int, length: int, queues: int = 1, seed: int = 0):
    return generate(SPEC, queues, walks=count, walk_length=length, seed=seed, tour=False, pairs=False)


# -- shrinking keeps the symptom ----------------------------------------------------------


def test_shrinking_keeps_the_row_and_the_variable_it_was_given():
    driver = Driver(SPEC, 2, ModelImplementation(PROPOSAL))
    shrunk = []
    for case in walks(30, 40, queues=2, seed=3).cases:
        failure = driver.run(case.limited, case.events, cover=False)
        if failure is not None:
            smaller, _ = driver.shrink(failure)
            assert smaller.symptom == failure.symptom, (failure.describe(), smaller.describe())
            assert len(smaller.events) <= len(failure.events)
            shrunk.append(smaller)
    # a release at step 24 stays a release: a 1-event set_status failure is another symptom
    assert any(s.events[-1].event.name == "set_host_notifier" and len(s.events) == 3 for s in shrunk)


def test_every_group_of_a_drive_reports_a_sequence_with_its_own_symptom():
    report = drive(SPEC, ModelImplementation(PROPOSAL), generate(SPEC, 1, walks=5, seed=1), max_failures=None)
    assert len(report.groups) > 3
    assert sum(g.count for g in report.groups) == len(report.failed)
    for group in report.groups:
        assert group.shortest.symptom == group.symptom == group.failure.symptom
        assert group.reproduced and len(group.shortest.events) <= len(group.failure.events)
    xml = ET.fromstring(junit_xml(report))
    messages = [f.get("message") for f in xml.iter("failure")]
    assert len(messages) == len(report.failed)
    assert {m.split(": step")[0].split(": start")[0] for m in messages} <= {g.symptom.text() for g in report.groups}


# -- confirmed from a fresh start -----------------------------------------------------------


def test_a_failure_that_needs_earlier_tests_is_reported_as_not_reproduced(child):
    # the child exits at the 20th event since it started: no sequence fails from a fresh start
    report = drive(SPEC, ProcessImplementation(child("crash-after", 20), timeout=5), walks(8, 5))
    assert report.groups and {g.symptom.kind for g in report.groups} == {"crash"}
    for group in report.groups:
        assert not group.reproduced and "did not happen again from a fresh start" in group.note
        assert group.shortest == group.failure  # the test as it failed, not a shrunk sequence that passes
    assert "NOT reproduced from a fresh start" in report.text()


def test_a_deterministic_failure_is_confirmed_from_a_fresh_start(c_programs):
    report = drive(SPEC, ProcessImplementation([c_programs["MUTANT_RESET_NO_DRAIN"]]), generate(SPEC, 1, walks=2))
    assert report.groups and all(g.reproduced and not g.note for g in report.groups)
    assert "confirmed from a fresh start" in report.text()


# -- well-formed XML ------------------------------------------------------------------------


def test_junit_xml_is_well_formed_when_the_childs_stderr_holds_control_characters(child, tmp_path):
    junit = tmp_path / "report.xml"
    result = run("oracle", "drive", "--queues", "1", "--walks", "2", "--junit", str(junit), "--", *child("noisy-crash"))
    assert result.exit_code == 1
    root = ET.parse(junit).getroot()  # raises on a control character
    failure = next(root.iter("failure"))
    assert failure.get("type") == "crash" and "\\x1b[31msegfault\\x00\\x07" in failure.text


# -- observation coverage ---------------------------------------------------------------------


def test_an_implementation_that_observes_nothing_fails_unless_allowed(child, tmp_path):
    junit = tmp_path / "report.xml"
    result = run("oracle", "drive", "--queues", "1", "--json", "--junit", str(junit), "--", *child("bare"))
    assert result.exit_code == 1
    doc = json.loads(result.stdout)["results"][0]
    assert doc["verdict"] == "unobserved" and doc["observation_coverage"]["observed"] == []
    assert doc["tests"]["failed"] == 0
    assert next(ET.parse(junit).getroot().iter("failure")).get("type") == "unobserved"
    allowed = run("oracle", "drive", "--queues", "1", "--allow-unobserved", "--", *child("bare"))
    assert allowed.exit_code == 0 and "observed at every step: nothing (0/10 fields judged)" in allowed.output


def test_observation_coverage_names_the_fields_never_observed():
    observe_state = ModelImplementation(SPEC)
    start, event = observe_state.start, observe_state.event

    def only_state(observed):
        return {"queues": [{"state": q["state"]} for q in observed["queues"]]}

    observe_state.start = lambda queues, limited: only_state(start(queues, limited))
    observe_state.event = lambda name, args: only_state(event(name, args))
    report = drive(SPEC, observe_state, walks(2, 5))
    assert report.ok
    never = [f for f in checkable_fields(SPEC) if f not in ("state", "vhost_serves")]
    text = report.text()
    assert (
        f"observed at every step: state (1/{len(never) + 1} fields judged); never observed: {', '.join(never)}" in text
    )
    assert "not judged in this environment: vhost_serves" in text


def test_a_trace_that_observes_nothing_fails_check_unless_allowed(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(HEADER + '\n{"event":"reset"}\n{"event":"kick","args":{"queue":0}}\n')
    result = run("oracle", "check", str(path))
    assert result.exit_code == 1 and "observes nothing" in result.output
    assert run("oracle", "check", "--allow-unobserved", str(path)).exit_code == 0
    verdict = check_trace(io.BytesIO(path.read_bytes()), require_observation=True)
    assert verdict.verdict == "unobserved" and not verdict.ok


# -- output paths checked first, the report never lost ------------------------------------------


def test_a_bad_output_path_is_refused_before_any_test_runs(child, tmp_path):
    log = tmp_path / "pids"
    bad = str(tmp_path / "missing" / "report.xml")
    result = run("oracle", "drive", "--queues", "1", "--junit", bad, "--", *child("model", 0, log))
    assert result.exit_code == 2 and "--junit" in result.output and "no such folder" in result.output
    assert not log.exists()  # the child never started
    trace = tmp_path / "t.jsonl"
    trace.write_text(HEADER + "\n" + ON + "\n")
    checked = run("oracle", "check", "--example", str(tmp_path / "folder-missing" / "x.jsonl"), str(trace))
    assert checked.exit_code == 2 and "--example" in checked.output


def test_a_report_that_cannot_be_written_is_still_printed_with_exit_4(c_programs):
    result = run("oracle", "drive", "--queues", "1", "--walks", "0", "--junit", "/dev/full", "--", c_programs[""])
    assert result.exit_code == 4
    assert "conforms: every test passed" in result.stdout
    assert "error: cannot write --junit /dev/full: No space left on device" in result.stderr
    assert "internal error" not in result.stderr and "the report above is complete" in result.stderr


# -- internal errors ------------------------------------------------------------------------------


def test_a_closed_stdin_is_an_internal_error_with_exit_4_and_one_line():
    done = subprocess.run(
        ["sh", "-c", f"'{sys.executable}' -m virtio_notifier_spec oracle check - <&-"], capture_output=True, text=True
    )
    assert done.returncode == 4, done.stderr
    assert done.stderr.count("\n") == 1 and "standard input" in done.stderr and "Traceback" not in done.stderr


def test_a_line_without_end_is_refused_at_its_line_not_read_into_memory():
    endless = (HEADER + "\n" + ON + "\n").encode() + b"{" * (1 << 24 | 5)
    result = run("oracle", "check", "-", stdin=endless)
    assert result.exit_code == 2
    assert "-:3: the line is longer than 16,777,216 bytes" in result.output


def test_a_bug_of_the_oracle_is_one_line_with_exit_4(monkeypatch, c_programs):
    import virtio_notifier_spec.cli.oracle as oracle_cli

    def broken(*args, **kwargs):
        raise RuntimeError("something the oracle did not expect")

    monkeypatch.setattr(oracle_cli, "run_drive", broken)
    result = run("oracle", "drive", "--queues", "1", "--", c_programs[""])
    assert result.exit_code == 4
    assert result.output.strip().count("\n") == 0 and "internal error: RuntimeError" in result.output


# -- every distinct divergence, grouped -----------------------------------------------------------


def test_drive_all_runs_every_test_and_counts_each_symptom(c_programs):
    result = run("oracle", "drive", "--queues", "1", "--all", "--json", "--", c_programs["MUTANT_DROP_KICK"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)["results"][0]
    assert doc["tests"]["skipped"] == 0 and doc["tests"]["failed"] > 10
    groups = doc["groups"]
    assert sum(g["tests"] for g in groups) == doc["tests"]["failed"]
    assert len({g["summary"] for g in groups}) == len(groups) >= 2
    assert all(g["symptom"]["variable"] == "handled" for g in groups)
    text = run("oracle", "drive", "--queues", "1", "--all", "--", c_programs["MUTANT_DROP_KICK"]).output
    assert f"FAILS: {len(groups)} distinct symptom(s) in {doc['tests']['failed']} failing test(s)" in text
    assert "[1] " in text and "[2] " in text


def test_check_all_counts_every_divergence_by_symptom_with_one_example_each():
    wrong_kick = '{"event":"kick","args":{"queue":0},"observed":{"queues":[{"pending":false}]}}'
    wrong_stop = '{"event":"vm_stop","observed":{"device":{"running":true}}}'
    lines = [HEADER, ON, wrong_kick, wrong_stop, ON, wrong_kick, wrong_stop, ON, wrong_kick]
    verdict = check_trace(io.BytesIO(("\n".join(lines) + "\n").encode()), max_divergences=None)
    assert [(g.count, g.lines) for g in verdict.groups] == [(3, (3, 6, 9)), (2, (4, 7))]
    firsts = [g.first for g in verdict.groups]
    assert all(f.example for f in firsts)
    assert [d.same_as for d in verdict.divergences] == [None, None, 3, 4, 3]
    doc = verdict.to_json()
    assert doc["groups"][0]["lines"] == 3 and doc["groups"][0]["summary"].startswith("kick:")


@pytest.mark.parametrize("field", ["groups", "observation_coverage", "first_failure"])
def test_the_drive_report_is_data(field):
    report = drive(SPEC, ModelImplementation(PROPOSAL), walks(3, 10))
    assert field in report.to_json()
