"""The drive protocol under misbehaviour: replies matched to their requests
by id (version 2, version 1 still spoken), the child's whole process group
ended, and a restart only when the child can no longer be trusted."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.oracle.drive import drive
from virtio_notifier_spec.oracle.fields import checkable_fields
from virtio_notifier_spec.oracle.process import ProcessImplementation
from virtio_notifier_spec.oracle.testgen import generate
from virtio_notifier_spec.spec.load import load_spec

pytest_plugins = ["oracle_fixtures"]  # the C example built, a misbehaving child

SPEC = load_spec("resolved")


def walks(count: int, length: int, queues: int = 1, seed: int = 0):
    return generate(SPEC, queues, walks=count, walk_length=length, seed=seed, tour=False, pairs=False)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


# -- replies matched to requests ------------------------------------------------------


def test_a_second_reply_is_a_protocol_failure_of_the_test_that_caused_it_not_a_divergence_of_the_next(child, tmp_path):
    # the child answers the 3rd event (the last of walk-00000) twice: the
    # second copy arrives only once the next request (walk-00001's start) is sent
    impl = ProcessImplementation(child("double", 3, tmp_path / "pids"), timeout=5)
    report = drive(SPEC, impl, walks(3, 3))
    assert impl.version == 2
    first, second, third = (r.failure for r in report.results)
    assert first is not None and first.kind == "protocol" and first.step == 3
    assert "second or late reply to request" in first.detail
    assert second is None and third is None  # the next test is run again, in a fresh child, and passes
    assert [g.symptom.kind for g in report.groups] == ["protocol"]


def test_protocol_1_is_still_spoken_to_a_child_that_refuses_version_2(child):
    impl = ProcessImplementation(child("v1"), timeout=5)
    report = drive(SPEC, impl, walks(2, 5), require_observation=False)
    assert impl.version == 1 and report.ok


def test_a_child_that_does_not_speak_the_forced_version_is_a_protocol_failure(child):
    impl = ProcessImplementation(child("v1"), timeout=5, protocol=2)
    report = drive(SPEC, impl, walks(1, 2), shrink=False)
    assert report.failed[0].failure.kind in ("protocol", "error")


@pytest.mark.parametrize("version", ["1", "2", "3", "auto"])
def test_the_c_example_conforms_in_every_protocol_version(c_programs, version):
    result = run("oracle", "drive", "--queues", "1", "--protocol", version, "--json", "--", c_programs[""])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["coverage"]["state_event_pairs"] == [615, 615]


@pytest.mark.parametrize("version", [2, 3])
def test_replies_are_pipelined_from_version_2_on_and_judged_in_order(c_programs, version):
    impl = ProcessImplementation([c_programs[""]], timeout=5, protocol=version)
    replies = impl.session(2, False, [("set_status", {"value": "driver_ok", "assign_ok": True})] * 40)
    states = [r["queues"][0]["state"] for r in replies]
    impl.close()
    assert impl.version == version and states == ["deassigned"] + ["assigned"] * 40


def test_the_c_example_declares_every_field_in_protocol_3(c_programs):
    impl = ProcessImplementation([c_programs[""]], timeout=5)
    impl.start(1, False)
    impl.close()
    assert impl.version == 3 and set(impl.observes) == set(checkable_fields(SPEC))


def test_stopping_early_reads_the_replies_already_asked_for(c_programs):
    impl = ProcessImplementation([c_programs[""]], timeout=5)
    replies = impl.session(1, False, [("reset", {})] * 50)
    next(replies), next(replies)
    replies.close()  # 48 replies in flight, or not yet asked for
    assert impl.start(1, False)["queues"][0]["state"] == "deassigned"
    impl.close()
    assert impl.strays == []


# -- process groups ---------------------------------------------------------------------


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1].startswith("Z")  # a zombie waits for init: it is dead
    except FileNotFoundError:
        return True


def test_a_timeout_ends_the_childs_whole_process_group_not_only_the_shell(child, tmp_path):
    log = tmp_path / "pids"
    shell = " ".join(child("hang", 0, log)) + "; true"  # `; true`: the shell forks instead of exec'ing
    impl = ProcessImplementation(["sh", "-c", shell], timeout=0.5)
    report = drive(SPEC, impl, walks(1, 2), shrink=False, require_observation=False)
    pids = [int(x) for x in log.read_text().split()]
    try:
        assert report.failed[0].failure.kind == "timeout"
        deadline = time.monotonic() + 5
        while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(p) for p in pids), "an orphan of the shell survived"
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# -- restarts -----------------------------------------------------------------------------


def test_a_refusal_does_not_restart_the_child_but_a_crash_does(child, tmp_path):
    refusals, crashes = tmp_path / "refusals", tmp_path / "crashes"
    report = drive(SPEC, ProcessImplementation(child("refuses", 0, refusals)), walks(6, 2), shrink=False)
    assert len(report.failed) == 6 and {r.failure.kind for r in report.failed} == {"error"}
    # one process for the suite; one more for each confirmation from a fresh start
    assert len(refusals.read_text().split()) == 1 + len(report.groups)
    report = drive(SPEC, ProcessImplementation(child("crash-after", 1, crashes)), walks(3, 2), shrink=False)
    assert len(report.failed) == 3
    assert len(crashes.read_text().split()) == 3 + len(report.groups)


def test_the_cli_reports_a_crashing_childs_stderr_with_exit_1(child):
    result = run("oracle", "drive", "--queues", "1", "--max-failures", "1", "--walks", "1", "--", *child("noisy-crash"))
    assert result.exit_code == 1
    assert "segfault" in result.output and "\\x1b[31m" in result.output  # escape sequences shown, not obeyed


def test_a_python_child_speaking_protocol_2_is_driven_with_full_observation(child):
    impl = ProcessImplementation(child("model"), timeout=10)
    report = drive(SPEC, impl, walks(2, 10))
    assert report.ok, report.text()
    judged = tuple(f for f in report.observation.checkable if f != "vhost_serves")  # the adversarial env fixes it
    assert impl.version == 2 and report.observation.observed == judged


def test_a_reply_that_never_comes_is_a_timeout_and_the_next_test_runs_in_a_fresh_child(child, tmp_path):
    log = tmp_path / "pids"
    impl = ProcessImplementation(child("hang", 0, log), timeout=0.3)
    report = drive(SPEC, impl, walks(2, 1), shrink=False, require_observation=False)
    assert [r.failure.kind for r in report.results] == ["timeout", "timeout"]
    assert len(log.read_text().split()) == 2 + len(report.groups)
    assert sys.executable  # the children were started with this interpreter
