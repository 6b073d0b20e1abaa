"""`oracle drive`: a C implementation is driven through the protocol with full
coverage; C mutants are caught with their shortest failing sequence; an
implementation that crashes, hangs, prints garbage or answers out of
protocol is a reported failure, never a hang of the oracle."""

from __future__ import annotations

import io
import itertools
import json
import re
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.conformance import check_trace
from virtio_notifier_spec.oracle.drive import Driver, drive
from virtio_notifier_spec.oracle.implementation import ModelImplementation
from virtio_notifier_spec.oracle.process import ProcessImplementation
from virtio_notifier_spec.oracle.record import record_trace
from virtio_notifier_spec.oracle.testgen import generate, observed_starts
from virtio_notifier_spec.oracle.tracefile import Header
from virtio_notifier_spec.spec.load import load_spec

pytest_plugins = ["oracle_fixtures"]  # the C example built, a misbehaving child

SPEC = load_spec("resolved")
SOURCE = Path(__file__).resolve().parents[2] / "examples" / "c" / "notifier.c"
C_MUTANTS = {
    # flag: (shortest failing sequence, the field that shows it)
    "MUTANT_RESET_NO_DRAIN": (
        "start(limited=false); set_status(value=driver_ok, assign_ok=true); kick(queue=0); reset()",
        "q0.pending",
    ),
    "MUTANT_DROP_KICK": (
        "start(limited=false); set_host_notifier(queue=0, assign=true, assign_ok=true); kick(queue=0); "
        "set_host_notifier(queue=0, assign=false, assign_ok=true)",
        "q0.handled",
    ),
    "MUTANT_RELEASE_IGNORES_STATUS": (
        "start(limited=false); set_host_notifier(queue=0, assign=true, assign_ok=true); "
        "set_host_notifier(queue=0, assign=false, assign_ok=true)",
        "q0.state",
    ),
}


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


# -- the C example ---------------------------------------------------------------------


def test_c_example_conforms_with_full_coverage_for_two_queues(c_programs, tmp_path):
    junit = tmp_path / "junit.xml"
    result = run("oracle", "drive", "--queues", "2", "--json", "--junit", str(junit), "--", c_programs[""])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)["results"][0]
    assert doc["implementation"] == "c-example" and doc["verdict"] == "conforms"
    coverage = doc["coverage"]
    assert coverage["state_event_pairs"] == [2588, 2588]
    assert coverage["consecutive_row_pairs"][0] == coverage["consecutive_row_pairs"][1] > 200
    assert coverage["rows"][0] == coverage["rows"][1] == len(SPEC.transitions)
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) == doc["tests"]["run"]


@pytest.mark.parametrize("flag", list(C_MUTANTS))
def test_c_mutant_is_caught_with_its_shortest_failing_sequence(c_programs, flag, tmp_path):
    sequence, field = C_MUTANTS[flag]
    junit = tmp_path / "junit.xml"
    result = run("oracle", "drive", "--queues", "1", "--json", "--junit", str(junit), "--", c_programs[flag])
    assert result.exit_code == 1, result.output
    groups = json.loads(result.stdout)["results"][0]["groups"]
    found = next(g["shortest"] for g in groups if g["shortest"]["sequence"] == sequence)
    assert field in [m["field"] for m in found["mismatches"]]
    assert all(g["reproduced_from_fresh_start"] for g in groups)
    failures = ET.parse(junit).getroot().iter("failure")
    assert next(failures).get("type") == "divergence"


def test_c_mutant_text_report_names_the_row_and_the_values(c_programs):
    result = run("oracle", "drive", "--queues", "1", "--", c_programs["MUTANT_RESET_NO_DRAIN"])
    assert result.exit_code == 1
    assert "the spec fires: q0 g (reset)" in result.output
    assert "q0.pending: expected false, observed true" in result.output


# -- implementations that misbehave ------------------------------------------------------

CHILD = textwrap.dedent("""
    import json, sys, time
    mode = sys.argv[1]
    if mode == "silent-exit":
        sys.exit(0)
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "hello":
            print(json.dumps({"ok": True}), flush=True)
        elif op == "start":
            print(json.dumps({"ok": True}), flush=True)
        elif mode == "crash":
            print("segfault in vq_handle_output", file=sys.stderr, flush=True)
            sys.exit(139)
        elif mode == "hang":
            time.sleep(60)
        elif mode == "garbage":
            print("DEBUG: kicking queue", flush=True)
        elif mode == "out-of-protocol":
            print(json.dumps({"ok": "yes"}), flush=True)
        elif mode == "refuses":
            print(json.dumps({"ok": False, "error": "not implemented"}), flush=True)
        elif mode == "bad-observation":
            print(json.dumps({"ok": True, "observed": {"queues": [{"state": "sideways"}]}}), flush=True)
        elif mode == "two-lines":
            sys.stdout.write((json.dumps({"ok": True}) + chr(10)) * 2)
            sys.stdout.flush()
        elif mode == "no-newline":
            sys.stdout.write("{" * 100); sys.stdout.flush(); time.sleep(60)
""")

MISBEHAVIOURS = [
    ("crash", "crash", "exited"),
    ("hang", "timeout", "no reply"),
    ("garbage", "protocol", "not valid JSON"),
    ("out-of-protocol", "protocol", "'ok' must be true or false"),
    ("refuses", "error", "not implemented"),
    ("bad-observation", "observation", "observed.queues[0].state"),
    ("silent-exit", "crash", "exited"),
    ("no-newline", "timeout", "no reply"),
    ("two-lines", "protocol", "more than one line"),
]


@pytest.mark.parametrize(("mode", "kind", "words"), MISBEHAVIOURS, ids=[m[0] for m in MISBEHAVIOURS])
def test_misbehaving_implementation_is_a_reported_failure_not_a_hang(tmp_path, mode, kind, words):
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    impl = ProcessImplementation([sys.executable, str(script), mode], timeout=0.3)
    suite = generate(SPEC, 1, walks=3, walk_length=2, seed=0, tour=False, pairs=False)
    report = drive(SPEC, impl, suite, max_failures=2, shrink=False)
    assert not report.ok
    failure = report.failed[0].failure
    assert failure.kind == kind and words in failure.detail
    if mode == "crash":
        assert "segfault in vq_handle_output" in failure.stderr
    assert impl.proc is None  # the child was killed and reaped


def test_cli_drive_exits_1_on_a_crashing_child_and_shows_its_stderr(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    result = run(
        "oracle",
        "drive",
        "--queues",
        "1",
        "--max-failures",
        "1",
        "--reply-timeout",
        "2",
        "--",
        sys.executable,
        str(script),
        "crash",
    )
    assert result.exit_code == 1
    assert "segfault in vq_handle_output" in result.output


def test_cli_drive_usage_errors_exit_2():
    assert run("oracle", "drive").exit_code == 2
    assert run("oracle", "drive", "--", "/no/such/program").exit_code == 2
    assert run("oracle", "drive", "--builtin", "reference:no_such_mutant").exit_code == 2
    assert run("oracle", "drive", "--builtin", "warp").exit_code == 2


# -- in-process ----------------------------------------------------------------------------


def test_the_table_conforms_to_itself_and_proposal_fails_with_a_one_event_sequence():
    suite = generate(SPEC, 1, walks=5, seed=1)
    assert drive(SPEC, ModelImplementation(SPEC), suite).ok
    report = drive(SPEC, ModelImplementation(load_spec("proposal")), suite)
    # a take KVM refuses: the literal reading takes the queue anyway
    assert report.shrunk.describe() == "start(limited=false); set_host_notifier(queue=0, assign=true, assign_ok=false)"


def test_suite_is_the_same_for_the_same_seed_and_differs_for_another():
    def names(seed):
        return [c.describe() for c in generate(SPEC, 1, walks=3, seed=seed).cases]

    assert names(4) == names(4)
    assert names(4) != names(5)


def test_drive_output_and_junit_are_byte_for_byte_reproducible_but_for_times(c_programs, tmp_path):
    outputs = []
    for n in range(2):
        junit = tmp_path / f"junit{n}.xml"
        args = ("oracle", "drive", "--queues", "1", "--json", "--junit", str(junit))
        result = run(*args, "--", c_programs["MUTANT_RESET_NO_DRAIN"])
        outputs.append((result.output, re.sub(rb' time="[0-9.]+"', b"", junit.read_bytes())))
    assert outputs[0] == outputs[1]


def test_a_python_implementation_is_checked_in_process_through_three_callables():
    from virtio_notifier_spec.oracle.implementation import CallbackImplementation, state_observer
    from virtio_notifier_spec.reference.abstraction import abstract, new_device, perform

    suite = generate(SPEC, 1, walks=2, seed=0)
    good = CallbackImplementation(new_device, perform, state_observer(SPEC, abstract), name="mine")
    assert drive(SPEC, good, suite).ok

    def broken(device, event, args):
        if event == "vm_stop":
            raise RuntimeError("not written yet")
        perform(device, event, args)

    report = drive(SPEC, CallbackImplementation(new_device, broken, state_observer(SPEC, abstract)), suite)
    failure = report.shrunk
    assert (failure.kind, failure.describe()) == ("error", "start(limited=false); vm_stop()")
    assert "RuntimeError: not written yet" in failure.detail


@pytest.mark.parametrize("flag", list(C_MUTANTS))
def test_no_shorter_sequence_fails_on_the_c_mutant(c_programs, flag):
    sequence, _ = C_MUTANTS[flag]
    driver = Driver(SPEC, 1, ProcessImplementation([c_programs[flag]], timeout=5))
    try:
        for length in range(sequence.count(";")):
            for limited in (False, True):
                for events in itertools.product(driver.machine.instances, repeat=length):
                    if driver.valid(limited, events):
                        assert driver.run(limited, events, cover=False) is None, events
    finally:
        driver.impl.close()


@pytest.mark.parametrize("flag", list(C_MUTANTS))
def test_trace_check_catches_the_c_mutant_in_a_trace_it_wrote(c_programs, flag):
    impl = ProcessImplementation([c_programs[flag]], timeout=5)
    try:
        for case in generate(SPEC, 1, walks=0).cases:
            out = io.BytesIO()
            events = [(i.event.name, dict(i.args)) for i in case.events]
            record_trace(impl, Header("resolved", 1, case.limited, implementation=flag), events, out)
            verdict = check_trace(io.BytesIO(out.getvalue()), file=f"{flag}.jsonl", spec=SPEC)
            if not verdict.ok:
                break
        else:
            pytest.fail(f"no trace written by {flag} diverges")
    finally:
        impl.close()
    divergence = verdict.divergences[0]
    assert divergence.mismatches and divergence.example
    assert len(divergence.example) - 1 == C_MUTANTS[flag][0].count(";")


@pytest.mark.parametrize("env", ["qemu", "unrestricted"])
def test_c_example_conforms_in_the_environments_with_whole_device_vhost_events(c_programs, env):
    result = run("oracle", "drive", "--queues", "2", "--env", env, "--json", "--", c_programs[""])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)["results"][0]
    assert doc["coverage"]["rows"][0] == doc["coverage"]["rows"][1]
    assert doc["observation_coverage"]["never"] == []


def test_the_fresh_device_says_which_host_facts_it_has_and_only_those_are_tested():
    spec = load_spec("resolved", env="qemu")
    machine = Machine(spec, 2)
    serves_one = {"queues": [{"vhost_serves": True}, {"vhost_serves": False}]}
    found = observed_starts(machine, lambda limited: serves_one)
    assert all(len(starts) == 1 for starts in found.values())
    assert all(s.queues[0] != s.queues[1] for starts in found.values() for s in starts)
    everything = observed_starts(machine, lambda limited: None)  # not said: every configuration
    assert all(len(starts) == 4 for starts in everything.values())
    suite = generate(spec, 2, walks=3, starts=found)
    layout = machine.layout.queue.index("vhost_serves")

    def serving(pattern):
        return lambda starts: next(s for s in starts if tuple(q[layout] for q in s.queues) == pattern)

    fits = drive(spec, ModelImplementation(spec, choose=serving((True, False))), suite)
    assert fits.ok and not fits.not_applicable
    assert fits.coverage.pairs == fits.coverage.reachable_pairs
    # a device that serves both queues took another start the table allows: some tests stop, none fails
    other = drive(spec, ModelImplementation(spec, choose=serving((True, True))), suite)
    assert other.ok and other.not_applicable and other.coverage.pairs < other.coverage.reachable_pairs
