"""``check --junit`` and ``verify --junit``: one test case per property per
queue count, valid for CI tools (both schemas of oracle/xsd), written after
Ctrl-C and --max-states with what was decided."""

from __future__ import annotations

import signal
import subprocess
import xml.etree.ElementTree as ET

import xmlschema
from click.testing import CliRunner
from processes import finish, read_until, spawned

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.oracle.junit import XSD


def valid(path) -> ET.Element:
    for xsd in XSD:
        errors = [f"{e.path}: {e.reason}" for e in xmlschema.XMLSchema(str(xsd)).iter_errors(str(path))]
        assert not errors, (xsd.name, errors)
    return ET.parse(path).getroot()


def cases(root: ET.Element, suite: str) -> dict[str, str]:
    """Each test case of one suite: passed, failure or skipped."""
    found = {}
    for case in next(s for s in root.iter("testsuite") if s.get("name") == suite).iter("testcase"):
        found[case.get("name")] = next((c.tag for c in case if c.tag in ("failure", "skipped")), "passed")
    return found


def test_check_junit_has_a_case_per_property_per_queue_count(tmp_path):
    path = tmp_path / "check.xml"
    args = ["check", "--spec", "proposal", "--queues", "1-2", "--quiet", "--junit", str(path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    root = valid(path)
    assert [s.get("name") for s in root.iter("testsuite")] == ["proposal, 1 queue(s)", "proposal, 2 queue(s)"]
    one = cases(root, "proposal, 1 queue(s)")
    assert one["no_lost_kick"] == "failure" and one["one_owner_per_notifier"] == "passed"
    assert "no_dead_transition" in one
    assert all(s.get("time") for s in root.iter("testsuite")) and root.get("time")


def test_check_junit_after_max_states_skips_what_was_not_decided(tmp_path):
    path = tmp_path / "check.xml"
    args = ["check", "--queues", "1-3", "--max-states", "100", "--quiet", "--junit", str(path)]
    assert CliRunner().invoke(cli, args).exit_code == 3
    root = valid(path)
    decided = cases(root, "resolved, 1 queue(s)")
    assert decided.pop("no_dead_transition") == "skipped"  # not applicable: adversarial issues no vhost_start
    assert set(decided.values()) == {"passed"}
    assert set(cases(root, "resolved, 2 queue(s)").values()) == {"skipped"}
    assert cases(root, "resolved, 3 queue(s)") == {"every property": "skipped"}


def test_verify_junit_has_the_runs_the_proofs_and_the_liveness(tmp_path):
    path = tmp_path / "verify.xml"
    args = ["verify", "--queues", "1", "--proposal-queues", "1", "--quiet", "--junit", str(path)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    root = valid(path)
    names = [s.get("name") for s in root.iter("testsuite")]
    assert "resolved, every number of queues (Z3)" in names
    proofs = next(s for s in root.iter("testsuite") if "Z3" in s.get("name"))
    assert all(case.get("time") for case in proofs.iter("testcase"))
    assert cases(root, "proposal, 1 queue(s)")["kick_eventually_handled"] == "failure"  # every kind, one suite
    assert cases(root, "resolved, 1 queue(s)")["fast_path_recoverable"] == "passed"


def test_check_junit_is_written_after_ctrl_c_with_what_was_decided(tmp_path):
    path = tmp_path / "check.xml"
    args = ("check", "--spec", "proposal", "--queues", "1-8", "--engine", "general", "--junit", str(path))
    with spawned(*args, stdout=subprocess.PIPE) as process:
        head = read_until(process, r"proposal, [2-8] queue\(s\)")  # 1 queue decided: the program says so
        process.send_signal(signal.SIGINT)
        status, _, err = finish(process, head)
    assert status == 130, err
    root = valid(path)  # whenever Ctrl-C landed: in a search, or between two
    verdicts = [v for s in root.iter("testsuite") for v in cases(root, s.get("name")).values()]
    assert "skipped" in verdicts and set(verdicts) <= {"passed", "failure", "skipped"}
    assert len(list(root.iter("testsuite"))) == 8  # every queue count asked: run, stopped or not run


def test_a_junit_path_that_cannot_be_written_is_refused_before_the_run(tmp_path):
    result = CliRunner().invoke(cli, ["check", "--junit", str(tmp_path / "missing" / "x.xml")])
    assert result.exit_code == 2 and "--junit" in result.output


def test_verify_junit_is_written_when_ctrl_c_lands_before_a_search(tmp_path, monkeypatch):
    from virtio_notifier_spec.cli import runs

    real, calls = runs.explore, []

    def explore(spec, n, **limits):
        calls.append((spec.name, n))
        if len(calls) == 3:  # resolved at 1 and 2 queues done, then Ctrl-C
            raise KeyboardInterrupt
        return real(spec, n, **limits)

    monkeypatch.setattr(runs, "explore", explore)
    path = tmp_path / "verify.xml"
    args = ["verify", "--queues", "1-3", "--proposal-queues", "1", "--quiet", "--junit", str(path)]
    assert CliRunner().invoke(cli, args).exit_code == 130
    root = valid(path)
    decided = cases(root, "resolved, 2 queue(s)")
    assert decided.pop("no_dead_transition") == "skipped"  # not applicable in the default environment
    assert set(decided.values()) == {"passed"}
    assert set(cases(root, "resolved, 3 queue(s)").values()) == {"skipped"}  # begun, nothing decided
    assert cases(root, "proposal, 1 queue(s)") == {"every property": "skipped"}  # not run
