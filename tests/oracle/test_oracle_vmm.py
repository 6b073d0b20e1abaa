"""The oracle for a VMM that is not QEMU: children written to the protocol
(``vmm_child.py``) with a fixed vhost configuration, fields they do not
observe, an environment they are told; every symptom class shown by
default, grouped by cause; reports that keep what was decided when a run
is stopped; inputs that say one thing twice refused."""

from __future__ import annotations

import io
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

import virtio_notifier_spec.cli.oracle as oracle_cli
from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.oracle.conformance import check_trace
from virtio_notifier_spec.oracle.drive import Driver, drive
from virtio_notifier_spec.oracle.host import HostMachine
from virtio_notifier_spec.oracle.implementation import ModelImplementation
from virtio_notifier_spec.oracle.observation import Mismatch
from virtio_notifier_spec.oracle.process import ProcessImplementation
from virtio_notifier_spec.oracle.protocol import ProtocolError, decode_reply
from virtio_notifier_spec.oracle.replay import replay
from virtio_notifier_spec.oracle.symptom import Causes
from virtio_notifier_spec.oracle.testgen import generate, rotation
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.errors import SchemaError
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

pytest_plugins = ["oracle_fixtures"]  # the C example built

HERE = Path(__file__).resolve().parent
CHILD = [sys.executable, str(HERE / "vmm_child.py")]
SPEC = load_spec("resolved")
PROPOSAL = load_spec("proposal")
PATIENT = ("--reply-timeout", "120")  # a child that loads the table may start slowly on a busy machine


def run(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin)


def judged(stdout: str) -> dict:
    """The one result of a ``--json`` document (``schemas/README.md``)."""
    doc = json.loads(stdout)
    assert len(doc["results"]) == 1
    return doc["results"][0]


def drive_json(*args: str) -> tuple[int, dict]:
    result = run("oracle", "drive", "--json", "--quiet", *PATIENT, *args)
    return result.exit_code, judged(result.stdout)


def header(queues: int, limited: bool = False, **extra) -> str:
    doc = {"format": "virtio-notifier-trace", "version": 1, "variant": "resolved", "queues": queues}
    return json.dumps({**doc, "limited": limited, **extra})


# -- a child whose vhost configuration is fixed --------------------------------------------


def test_rotation_keeps_the_queues_that_start_alike_together():
    served = State((), ((True,), (True,), (True,), (False,)))
    assert [rotation(served, k) for k in range(4)] == [[0, 1, 2, 3], [1, 2, 0, 3], [2, 0, 1, 3], [0, 1, 2, 3]]
    alike = State((), ((True,),) * 4)
    assert rotation(alike, 1) == [1, 2, 3, 0]


def test_the_symmetric_tour_of_a_vhost_net_child_serving_queues_0_to_2_of_4_has_no_false_failure(
    c_programs, monkeypatch
):
    # a conforming child whose vhost serves queues 0-2 (not the control queue 3) for the device's life:
    # the tour over orbits used to rename queue 3 into a served one, and fail 5 tests
    monkeypatch.setenv("NOTIFIER_VHOST_SERVES", "1110")
    code, doc = drive_json("--env", "qemu", "--queues", "4", "--", c_programs[""])
    assert code == 0, doc["groups"]
    assert doc["verdict"] == "conforms" and doc["tests"]["failed"] == 0 and doc["tests"]["not_applicable"] == 0
    assert doc["coverage"]["pairs_are"] == "orbit_event_class"
    assert doc["coverage"]["state_event_pairs"][0] == doc["coverage"]["state_event_pairs"][1]


def test_a_child_that_does_not_report_vhost_serves_gets_no_false_not_enabled_failure():
    # it serves queue 0 only and reports what a VMM's harness sees, not which queues vhost serves
    fields = "state,our_fd,handler,pending,handled"
    code, doc = drive_json("--env", "qemu", "--queues", "2", "--", *CHILD, "--serves", "10", "--observe", fields)
    assert code == 0, doc["groups"]
    assert doc["tests"]["failed"] == 0 and doc["tests"]["not_applicable"] > 0
    assert "vhost_serves" in doc["observation_coverage"]["never"]


def test_the_default_environment_does_not_judge_vhost_serves_which_nothing_there_reads():
    # an honest child without vhost says vhost serves no queue; adversarial fixes it at true for convenience
    code, doc = drive_json("--queues", "1", "--walks", "2", "--", *CHILD, "--serves", "0")
    assert code == 0 and doc["verdict"] == "conforms", doc["groups"]
    assert [n["field"] for n in doc["observation_coverage"]["not_judged"]] == ["vhost_serves"]


def test_the_child_is_told_its_environment_in_each_start(tmp_path):
    log = tmp_path / "env.log"
    code, _ = drive_json(
        "--env", "qemu", "--queues", "1", "--no-tour", "--no-pairs", "--walks", "2", "--",
        *CHILD, "--env-log", str(log),
    )  # fmt: skip
    assert code == 0
    said = log.read_text().splitlines()
    assert "start qemu" in said and all(line == "start qemu" for line in said if line.startswith("start"))


# -- field-level observation ---------------------------------------------------------------


def _wrong_pending(spec=SPEC):
    """The table itself, but it reports every queue's pending as false."""
    impl = ModelImplementation(spec)
    start, event = impl.start, impl.event

    def lie(observed):
        for q in observed["queues"]:
            q["pending"] = False
        return observed

    impl.start = lambda queues, limited: lie(start(queues, limited))
    impl.event = lambda name, args: lie(event(name, args))
    return impl


def test_only_the_declared_fields_are_judged_and_the_report_says_which_properties_stand_unjudged():
    suite = generate(SPEC, 1, walks=2)
    assert not drive(SPEC, _wrong_pending(), suite).ok  # it gets pending wrong
    report = drive(SPEC, _wrong_pending(), suite, declared=("state", "our_fd", "handler"))
    assert report.ok, report.text()
    unjudged = {p.name: p.missing for p in report.observation.unjudged}
    assert "pending" in unjudged["no_lost_kick"] and "no_leaked_ioeventfd" not in unjudged
    assert "unjudged" in report.text() and report.to_json()["observation_coverage"]["declared"] == [
        "state",
        "our_fd",
        "handler",
    ]


def test_a_child_declares_its_fields_in_the_protocol_3_hello():
    impl = ProcessImplementation([*CHILD, "--observe", "state,our_fd", "--declare"], timeout=120)
    report = drive(SPEC, impl, generate(SPEC, 1, walks=2, tour=False, pairs=False))
    assert impl.version == 3 and impl.observes == ("our_fd", "state")
    assert report.ok and report.observation.declared == ("state", "our_fd")
    assert report.observation.observed == ("state", "our_fd")


def test_a_declared_field_that_goes_missing_fails_the_step_where_it_does():
    impl = ProcessImplementation([*CHILD, "--observe", "state", "--declare", "--forget-after", "1"], timeout=120)
    report = drive(SPEC, impl, generate(SPEC, 1, walks=3, walk_length=4, tour=False, pairs=False))
    assert report.failed and {r.failure.kind for r in report.failed} == {"observation"}
    assert {r.failure.step for r in report.failed} == {2}
    assert [g.symptom.text() for g in report.groups] == ["observation: observed.queues[*].state (at any event)"]


def test_a_child_that_stops_observing_no_longer_conforms():
    # it reports every field at start and after its first event, then nothing: before, it conformed
    code, doc = drive_json(
        "--queues", "1", "--no-tour", "--no-pairs", "--walks", "3", "--", *CHILD, "--forget-after", "1"
    )
    assert code == 1 and doc["verdict"] == "partly_observed" and doc["tests"]["failed"] == 0
    partly = {p["field"]: (p["steps_observed"], p["steps"]) for p in doc["observation_coverage"]["partly"]}
    assert partly["state"][0] < partly["state"][1]
    assert run("oracle", "drive", "--queues", "1", "--no-tour", "--no-pairs", "--walks", "3", "--allow-unobserved",
               *PATIENT, "--", *CHILD, "--forget-after", "1").exit_code == 0  # fmt: skip


def test_observe_names_the_tables_fields_or_is_refused():
    result = run("oracle", "drive", "--queues", "1", "--observe", "state,colour", "--builtin", "reference")
    assert result.exit_code == 2 and "--observe: unknown field 'colour'" in result.output
    impl = ProcessImplementation([*CHILD, "--observe", "state", "--declare"], timeout=120)
    impl.start(1, False)
    impl.observes = ("state", "colour")  # as if the hello had said so
    report = drive(SPEC, impl, generate(SPEC, 1, walks=1, tour=False, pairs=False), shrink=False)
    assert report.failed[0].failure.kind == "observation" and "hello.observes" in report.failed[0].failure.detail


def test_a_trace_header_declares_its_fields():
    lines = [
        header(1, observes=["state"], observed={"queues": [{"state": "deassigned"}]}),
        '{"event":"set_status","args":{"value":"driver_ok","assign_ok":true},"observed":{"queues":[{"state":"assigned","pending":true}]}}',
        '{"event":"reset","args":{},"observed":{"queues":[{}]}}',
    ]  # fmt: skip
    judged = check_trace(io.BytesIO(("\n".join(lines[:2]) + "\n").encode()))
    assert judged.ok and judged.observation.declared == ("state",)  # the wrong pending is not judged
    result = run("oracle", "check", "-", stdin=("\n".join(lines) + "\n").encode())
    assert result.exit_code == 2 and "3: observed.queues[0].state: declared observed" in result.output


# -- symptoms by cause, every class shown by default ------------------------------------------


def test_one_cause_is_one_symptom_whatever_else_differs_and_however_many_queues():
    causes = Causes(SPEC)
    one = causes.divergence("reset", [(0, "g", "reset")], [Mismatch("q0.pending", False, True)])
    two = causes.divergence(
        "reset",
        [(0, "g", "reset"), (1, "g", "reset")],
        [Mismatch("q1.pending", False, True), Mismatch("q1.handled", True, False), Mismatch("q0.pending", False, True)],
    )
    assert one == two and one.text() == "reset: pending differs where the spec fires g (reset)"


def test_different_causes_are_different_symptoms():
    causes = Causes(SPEC)
    # the old symptom named every row of every differing queue: these two were one
    a = causes.divergence(
        "set_status",
        [(0, "b", "assign_on_driver_ok"), (1, None, "status_leaves_queue")],
        [Mismatch("q0.state", "assigned", "deassigned"), Mismatch("q1.pending", False, True)],
    )
    b = causes.divergence(
        "set_status",
        [(0, "b", "assign_on_driver_ok"), (1, None, "status_leaves_queue")],
        [Mismatch("q1.state", "deassigned", "assigned"), Mismatch("q0.pending", False, True)],
    )
    assert a != b
    # crashes at one event, where the spec fires different rows
    refused = causes.failure("crash", "set_status", [(0, None, "status_leaves_queue")])
    granted = causes.failure("crash", "set_status", [(0, "b", "assign_on_driver_ok")])
    assert refused != granted and "where the spec fires b (assign_on_driver_ok)" in granted.text()
    # a queue the event leaves alone
    alone = causes.divergence(
        "set_host_notifier", [(0, "c", "vhost_takes_assigned")], [Mismatch("q1.state", "assigned", "deassigned")]
    )
    assert "on a queue the event leaves alone" in alone.text()


def test_every_symptom_class_is_shown_by_default_each_confirmed_from_a_fresh_start(c_programs, monkeypatch):
    # a QEMU-2011-like child: it aborts when KVM refuses an ioeventfd at DRIVER_OK, and vhost's take sends the
    # queue vhost does not serve to the pio path. With --max-failures 10 (the old default) only the first crash
    # showed, and both crashes were one group.
    monkeypatch.setenv("NOTIFIER_VHOST_SERVES", "110")
    qemu_2011_like = c_programs["MUTANT_TAKE_EVERY_QUEUE+MUTANT_ABORT_ON_REFUSAL"]
    code, doc = drive_json("--env", "qemu", "--queues", "3", "--", qemu_2011_like)
    assert code == 1
    summaries = [g["summary"] for g in doc["groups"]]
    assert "vhost_start: state differs where the spec fires vhost_start_leaves_queue" in summaries
    crashes = [s for s in summaries if s.startswith("crash at set_status")]
    assert len(crashes) == 2 and len(summaries) == 3  # refused at the first DRIVER_OK, and at one written again
    assert all(g["reproduced_from_fresh_start"] for g in doc["groups"])
    assert doc["tests"]["not_run"].get("repeats", 0) > 0  # tests that begin with a crashing sequence


def test_the_old_default_of_ten_failures_hid_classes_that_the_new_default_shows(c_programs):
    code, doc = drive_json("--queues", "1", "--", c_programs["MUTANT_DROP_KICK"])
    capped = run(
        "oracle", "drive", "--queues", "1", "--json", "--max-failures", "10", "--", c_programs["MUTANT_DROP_KICK"]
    )
    assert code == 1 and capped.exit_code == 1
    shown, hidden = {g["summary"] for g in doc["groups"]}, {g["summary"] for g in judged(capped.stdout)["groups"]}
    assert hidden < shown
    assert "set_host_notifier: handled differs where the spec fires f (release_on_limited_host)" in shown - hidden
    assert doc["groups_complete"] and not judged(capped.stdout)["groups_complete"]
    text = run("oracle", "drive", "--queues", "1", "--max-failures", "10", "--", c_programs["MUTANT_DROP_KICK"])
    said = " ".join(text.stdout.split())  # the report is wrapped to the terminal's width
    assert "the list may be incomplete: " in said and "a symptom only they show is not listed" in said


# -- re-sync after a divergence -----------------------------------------------------------------


def test_a_test_goes_on_after_a_divergence_and_counts_the_later_ones_apart():
    driver = Driver(SPEC, 1, ModelImplementation(PROPOSAL), resync=True)
    once = Driver(SPEC, 1, ModelImplementation(PROPOSAL))
    m = driver.machine
    # proposal assigns though KVM refused; from there, its reset by status 0 differs again
    on_refused = m.instance("set_status", value="driver_ok", assign_ok=False)
    zero = m.instance("set_status", value="zero", assign_ok=True)
    result = driver.execute(False, (on_refused, zero))
    assert len(once.execute(False, (on_refused, zero)).failures) == 1
    assert [f.resynced for f in result.failures] == [False, True]
    assert (
        result.failures[1].symptom.text() == "set_status: state differs where the spec fires g (reset_by_status_zero)"
    )
    report = drive(SPEC, ModelImplementation(PROPOSAL), generate(SPEC, 1, walks=5), resync=True, max_failures=None)
    assert report.later > 0 and any(g.later for g in report.groups)
    assert "after an earlier divergence" in report.text()


# -- stopped runs keep what they decided -----------------------------------------------------


def _after(n: int, reason: str = "timeout"):
    """A should_stop that says ``reason`` from its n-th question on."""
    asked = [0]

    def stop():
        asked[0] += 1
        return reason if asked[0] > n else None

    return stop


def test_a_drive_stopped_at_its_timeout_keeps_its_failures_junit_and_json(monkeypatch, tmp_path):
    monkeypatch.setattr(oracle_cli, "_stop_when", lambda deadline: _after(200))
    junit = tmp_path / "report.xml"
    result = run("oracle", "drive", "--queues", "1", "--json", "--junit", str(junit), "--builtin", "model:proposal")
    assert result.exit_code == 1  # failures were found before it stopped
    assert json.loads(result.stdout)["stopped"] == "stopped at --timeout"
    doc = judged(result.stdout)
    assert doc["stopped"] == "timeout" and doc["tests"]["failed"] > 0 and doc["tests"]["not_run"]["timeout"] > 0
    assert doc["groups"] and all(g["reproduced_from_fresh_start"] is None for g in doc["groups"])
    suite = ET.parse(junit).getroot()
    assert int(suite.get("failures")) == doc["tests"]["failed"]
    assert any("stopped at --timeout" in s.text for s in suite.iter("skipped"))
    monkeypatch.setattr(oracle_cli, "_stop_when", lambda deadline: _after(5))
    stopped = run("oracle", "drive", "--queues", "1", "--builtin", "model:resolved")
    assert stopped.exit_code == 3 and "stopped at --timeout" in stopped.output


def test_ctrl_c_during_a_drive_prints_the_report_and_writes_junit(monkeypatch, tmp_path):
    class Interrupted(ModelImplementation):
        events = 0

        def event(self, name, args):
            Interrupted.events += 1
            if Interrupted.events == 400:
                raise KeyboardInterrupt
            return super().event(name, args)

    monkeypatch.setattr(oracle_cli, "_implementation", lambda *args: Interrupted(PROPOSAL))
    junit = tmp_path / "report.xml"
    result = run("oracle", "drive", "--queues", "2", "--json", "--junit", str(junit), "--builtin", "x")
    assert result.exit_code == 130
    assert json.loads(result.stdout)["stopped"] == "interrupted"
    doc = judged(result.stdout)
    assert doc["stopped"] == "interrupted" and doc["tests"]["failed"] > 0
    assert ET.parse(junit).getroot().get("failures") == str(doc["tests"]["failed"])


def test_check_and_replay_stopped_keep_what_they_decided(monkeypatch):
    lines = [
        header(1),
        '{"event":"set_status","args":{"value":"driver_ok","assign_ok":true},"observed":{"queues":[{"state":"deassigned"}]}}',
    ]
    lines += ['{"event":"kick","args":{"queue":0},"observed":{"queues":[{"state":"deassigned"}]}}'] * 5000
    data = ("\n".join(lines) + "\n").encode()
    verdict = check_trace(io.BytesIO(data), max_divergences=None, should_stop=_after(0))
    assert verdict.stopped == "timeout" and verdict.divergences and not verdict.complete
    monkeypatch.setattr(oracle_cli, "_stop_when", lambda deadline: _after(0))
    result = run("oracle", "check", "--all", "-", stdin=data)
    assert result.exit_code == 1 and "stopped at --timeout" in result.output
    m = HostMachine(SPEC, 1)
    events = (m.instance("set_status", value="driver_ok", assign_ok=True), m.instance("kick", queue=0))
    stopped = replay(SPEC, ModelImplementation(PROPOSAL), 1, False, events, should_stop=_after(1))
    assert stopped.stopped == "timeout" and len(stopped.steps) == 2 and not stopped.failed


# -- a child that dies while the replies sent ahead are read ----------------------------------


def test_a_child_that_dies_while_replies_sent_ahead_are_read_is_a_failure_not_an_internal_error():
    # three runs announced; the child dies at its 5th event, inside the second run, whose requests were sent
    # ahead; the caller skips the second run: reading its replies meets the exit (an AssertionError before)
    impl = ProcessImplementation([*CHILD, "--die-at", "5"], timeout=120, protocol=2)
    on = ("set_status", {"value": "driver_ok", "assign_ok": True})
    kick = ("kick", {"queue": 0})
    first, second, third = [on, kick, kick], [kick, kick, kick], [on]
    impl.plan([(1, False, first), (1, False, second), (1, False, third)])
    assert len(list(impl.session(1, False, first))) == 4
    replies = list(impl.session(1, False, third))  # a fresh child answers it
    assert len(replies) == 2 and impl.spawns == 2
    impl.close()


# -- the environment in every report ----------------------------------------------------------


def test_every_report_names_its_environment(tmp_path):
    junit = tmp_path / "report.xml"
    result = run("oracle", "drive", "--env", "qemu", "--queues", "1", "--junit", str(junit), "--builtin", "reference")
    assert result.exit_code == 0 and "in the qemu environment" in result.output.splitlines()[0]
    assert " in qemu " in next(ET.parse(junit).getroot().iter("testsuite")).get("name")
    doc = judged(run("oracle", "drive", "--env", "qemu", "--queues", "1", "--json", "--builtin", "reference").stdout)
    assert doc["env"] == "qemu"
    replayed = run(
        "oracle", "replay", "--env", "qemu", "--queues", "1", "--sequence", "vm_stop()", "--builtin", "reference"
    )
    assert "in the qemu environment" in replayed.output


def test_a_trace_header_carries_its_environment_and_check_reads_it(tmp_path):
    assert (
        run("check", "--spec", "proposal", "--env", "qemu", "--queues", "1", "--traces", str(tmp_path)).exit_code == 1
    )
    trace = next(tmp_path.glob("*.jsonl"))
    assert json.loads(trace.read_text().splitlines()[0])["env"] == "qemu"
    result = run("oracle", "check", "--spec", "proposal", "--json", str(trace))  # no --env: the header's
    assert result.exit_code == 0 and judged(result.stdout)["env"] == "qemu"


def test_an_event_of_another_environment_suggests_it():
    lines = [header(1), '{"event":"vhost_start","args":{"assign_ok":true}}']
    result = run("oracle", "check", "-", stdin=("\n".join(lines) + "\n").encode())
    assert result.exit_code == 2
    assert "the adversarial environment does not issue it, these do: qemu, unrestricted (--env NAME)" in result.output
    in_qemu = run(
        "oracle", "check", "--env", "qemu", "--allow-unobserved", "-", stdin=("\n".join(lines) + "\n").encode()
    )
    assert in_qemu.exit_code == 1  # read, and not one the environment issues in a fresh device


# -- slots ------------------------------------------------------------------------------------


def test_vhost_cannot_hold_more_ioeventfds_than_a_limited_host_has():
    takes = [f'{{"event":"set_host_notifier","args":{{"queue":{q},"assign":true,"assign_ok":true}}}}' for q in range(7)]
    data = ("\n".join([header(7, limited=True), *takes]) + "\n").encode()
    verdict = check_trace(io.BytesIO(data))
    assert not verdict.ok and verdict.divergences[0].line == 8 and verdict.divergences[0].not_enabled
    unlimited = ("\n".join([header(7), *takes]) + "\n").encode()
    assert check_trace(io.BytesIO(unlimited)).ok
    m = HostMachine(SPEC, 7)
    suite = generate(SPEC, 7, walks=20, walk_length=40, tour=False, pairs=False)
    for case in suite.cases:
        state = next(s for s in m.initial_states() if bool(s.device[0]) == case.limited)
        for inst in case.events:
            state = m.step(state, inst).choices[0].post
            assert not case.limited or sum(q[m.layout.queue.index("vhost_fd")] for q in state.queues) <= 6


# -- inputs that say one thing twice ------------------------------------------------------------


KICK = '{"event":"kick","args":{"queue":0},"observed":'


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (KICK + '{"queues":{"0":{"pending":true},"00":{"pending":false}}}}', "leading zeros"),
        (KICK + '{"queues":{"01":{"pending":true}}}}', "leading zeros"),
        ('{"event":"kick","args":{"queue":0,"queue":1}}', "the key 'queue' appears twice"),
        (KICK + '{"queues":[{"pending":true,"pending":false},{}]}}', "the key 'pending' appears twice"),
    ],
)
def test_a_queue_named_twice_or_a_repeated_key_is_refused_in_one_line(line, words):
    result = run("oracle", "check", "-", stdin=(header(2) + "\n" + line + "\n").encode())
    assert result.exit_code == 2 and words in result.output and len(result.output.strip().splitlines()) == 1


def test_a_reply_with_a_repeated_key_is_a_protocol_failure():
    with pytest.raises(ProtocolError, match="appears twice"):
        decode_reply(b'{"ok":true,"observed":{"queues":[{"state":"assigned","state":"offlimits"}]}}\n')
    with pytest.raises(Exception, match="given twice"):
        run_sequence = oracle_cli.parse_sequence
        run_sequence(HostMachine(SPEC, 1), "kick(queue=0, queue=0)")


@pytest.mark.parametrize("size", ["0", "true", '"six"'])
def test_a_slot_size_is_a_positive_number_or_the_table_is_refused_naming_it(tmp_path, size):
    for name in ("common.toml", "resolved.toml"):
        (tmp_path / name).write_text((SPEC_DIR / name).read_text())
    common = tmp_path / "common.toml"
    common.write_text(common.read_text().replace("size = 6", f"size = {size}"))
    with pytest.raises(SchemaError, match="positive number of slots") as caught:
        load_spec(str(tmp_path / "resolved.toml"))
    assert caught.value.field == "slots.size" and caught.value.line is not None
