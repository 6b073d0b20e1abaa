"""`oracle check`: traces are read strictly, replayed on the table, and the
first divergence is reported with its line, row, values and a replayable example."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.oracle.conformance import TraceChecker, check_trace
from virtio_notifier_spec.oracle.implementation import ModelImplementation
from virtio_notifier_spec.oracle.record import record_trace
from virtio_notifier_spec.oracle.testgen import generate
from virtio_notifier_spec.oracle.tracefile import Header, TraceError, dumps, parse_header
from virtio_notifier_spec.oracle.traceschema import schema_text
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

SPEC = load_spec("resolved")
HEADER = '{"format":"virtio-notifier-trace","version":1,"variant":"resolved","queues":2,"limited":false}'
ON = '{"event":"set_status","args":{"value":"driver_ok","assign_ok":true}}'
KICK0 = '{"event":"kick","args":{"queue":0}}'


def trace(*lines: str, end: str = "\n") -> bytes:
    return ("\n".join([HEADER, *lines]) + end).encode()


def check(data: bytes, **kw):
    return check_trace(io.BytesIO(data), file="t.jsonl", **kw)


def run(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin)


# -- conforming traces -----------------------------------------------------------


def test_traces_recorded_from_the_table_itself_conform():
    suite = generate(SPEC, 2, walks=5, walk_length=200, seed=3, tour=False, pairs=False)
    for case in suite.cases:
        out = io.BytesIO()
        record_trace(
            ModelImplementation(SPEC),
            Header("resolved", 2, case.limited),
            [(i.event.name, dict(i.args)) for i in case.events],
            out,
        )
        verdict = check(out.getvalue())
        assert verdict.ok, verdict.divergences
        assert verdict.events == 200


def test_unobserved_fields_are_not_checked_and_partial_observations_are():
    ok = trace(
        ON,
        '{"event":"kick","args":{"queue":1},"observed":{"queues":{"1":{"pending":true}}}}',
        '{"event":"reset","observed":{"device":{"status":"zero"},"queues":[null,{"handled":true}]}}',
    )
    assert check(ok).ok


def test_a_complete_last_line_without_newline_is_accepted():
    assert check(trace(ON, KICK0, end="")).ok


# -- divergences -------------------------------------------------------------------


def test_divergence_names_line_event_row_letter_expected_and_observed():
    bad = trace(ON, KICK0, '{"event":"reset","observed":{"queues":[{"pending":true,"handled":false},{}]}}')
    verdict = check(bad)
    assert not verdict.ok
    d = verdict.divergences[0]
    assert (d.line, d.event) == (4, "reset()")
    assert [(e.queue, e.letter, e.transition) for e in d.expected] == [(0, "g", "reset"), (1, "g", "reset")]
    assert [str(m) for m in d.mismatches] == [
        "q0.pending: expected false, observed true",
        "q0.handled: expected true, observed false",
    ]


def test_the_example_is_the_shortest_replay_and_diverges_the_same_way():
    # a long detour before the divergence: the example skips it
    detour = [KICK0, '{"event":"vm_stop"}', '{"event":"vm_run","args":{"assign_ok":true}}'] * 5
    handle = '{"event":"handle","args":{"queue":0},"observed":{"queues":[{"pending":true},{}]}}'
    bad = trace(*detour, ON, KICK0, handle)
    d = check(bad).divergences[0]
    assert d.line == 19
    assert len(d.example) == 1 + 3  # header, set_status, kick, the diverging handle
    again = check("\n".join(d.example).encode() + b"\n").divergences[0]
    assert (again.line, again.mismatches, again.expected) == (4, d.mismatches, d.expected)


def test_an_event_the_environment_cannot_issue_diverges():
    verdict = check(trace('{"event":"vm_stop"}', KICK0))
    d = verdict.divergences[0]
    assert d.line == 3 and "cannot issue kick" in d.not_enabled and "running" in d.not_enabled


def test_a_wrong_fresh_device_in_the_header_diverges_at_line_1():
    header = HEADER[:-1] + ',"observed":{"queues":[{"state":"assigned"},{}]}}'
    verdict = check_trace(io.BytesIO((header + "\n").encode()), file="t")
    assert verdict.divergences[0].line == 1


def test_all_goes_on_after_a_divergence_and_lists_several():
    wrong = '{"event":"kick","args":{"queue":0},"observed":{"queues":[{"pending":false},{}]}}'
    bad = trace(ON, wrong, '{"event":"reset"}', ON, wrong)
    assert len(check(bad).divergences) == 1
    verdict = check(bad, max_divergences=10)
    assert [d.line for d in verdict.divergences] == [3, 6]
    assert verdict.complete


def test_the_same_trace_conforms_to_proposal_and_diverges_from_resolved():
    # the message read literally: status 0 is not a reset, the queue stays assigned
    lines = (
        ON,
        '{"event":"set_status","args":{"value":"zero","assign_ok":true},'
        '"observed":{"queues":[{"state":"assigned"},{"state":"assigned"}]}}',
    )
    assert check(trace(*lines), spec="proposal").ok
    assert not check(trace(*lines)).ok


def test_memory_stays_bounded_the_memo_forgets_and_the_verdict_is_unchanged():
    suite = generate(SPEC, 2, walks=1, walk_length=3000, seed=9, tour=False, pairs=False)
    out = io.BytesIO()
    record_trace(
        ModelImplementation(SPEC),
        Header("resolved", 2, suite.cases[0].limited),
        [(i.event.name, dict(i.args)) for i in suite.cases[0].events],
        out,
    )
    stream = io.BytesIO(out.getvalue())
    budget = 50 * 2000  # about 50 lines of 2 queues
    checker = TraceChecker(SPEC, parse_header(stream.readline()), memo_bytes=budget)
    verdict = checker.run(stream)
    assert verdict.ok and verdict.events == 3000
    assert checker.flushes > 0 and checker.cost <= budget and len(checker.parsed) <= 50


# -- bad input: each names the line and field ---------------------------------------

BAD = [
    ("bad json", trace(ON, '{"event": "kick", '), 3, None, "not valid JSON"),
    ("unknown event", trace('{"event":"explode"}'), 2, "event", "unknown event 'explode'"),
    ("queue out of range", trace('{"event":"kick","args":{"queue":2}}'), 2, "args.queue", "out of range"),
    ("queue of wrong type", trace('{"event":"kick","args":{"queue":"0"}}'), 2, "args.queue", "queue index"),
    ("bool of wrong type", trace('{"event":"vm_run","args":{"assign_ok":1}}'), 2, "args.assign_ok", "true or false"),
    ("missing argument", trace('{"event":"kick","args":{}}'), 2, "args.queue", "missing"),
    ("unknown argument", trace('{"event":"reset","args":{"hard":true}}'), 2, "args.hard", "no such argument"),
    (
        "observed of wrong type",
        trace('{"event":"reset","observed":{"queues":[{"state":"on"},{}]}}'),
        2,
        "observed.queues[0].state",
        "expected one of",
    ),
    (
        "observed unknown variable",
        trace('{"event":"reset","observed":{"device":{"speed":1}}}'),
        2,
        "observed.device.speed",
        "unknown device variable",
    ),
    (
        "observed wrong queue count",
        trace('{"event":"reset","observed":{"queues":[{}]}}'),
        2,
        "observed.queues",
        "expected 2 entries",
    ),
    ("not an object", trace("[1, 2]"), 2, None, "JSON object"),
    ("unknown record field", trace('{"event":"reset","when":3}'), 2, "when", "unknown field"),
    ("empty line", trace(ON, "", ON), 3, None, "empty line"),
    ("truncated last line", trace(ON, '{"event":"kick","args":{"que', end=""), 3, None, "truncated"),
    ("bad header version", trace().replace(b'"version":1', b'"version":7'), 1, "version", "expected one of"),
    ("header too many queues", trace().replace(b'"queues":2', b'"queues":1025'), 1, "queues", "1-1024"),
    ("header is an event", (ON + "\n").encode(), 1, "format", "is line 1 the header"),
    ("empty file", b"", 1, None, "empty trace"),
]


@pytest.mark.parametrize(("data", "line", "field", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_malformed_trace_is_bad_input_naming_line_and_field(data, line, field, words):
    with pytest.raises(TraceError) as caught:
        check(data)
    error = caught.value
    assert (error.line, error.field) == (line, field)
    assert words in str(error)
    assert str(error).startswith(f"t.jsonl:{line}: ")


@pytest.mark.parametrize(("data", "line", "field", "words"), [b[1:] for b in BAD[:6]], ids=[b[0] for b in BAD[:6]])
def test_cli_check_exits_2_on_malformed_trace_with_one_line_and_no_traceback(tmp_path, data, line, field, words):
    path = tmp_path / "t.jsonl"
    path.write_bytes(data)
    result = run("oracle", "check", str(path))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    message = result.output.strip()
    assert message.count("\n") == 0 and f"t.jsonl:{line}:" in message and words in message


def test_cli_check_exits_2_on_a_missing_file_and_an_unknown_variant(tmp_path):
    assert run("oracle", "check", str(tmp_path / "none.jsonl")).exit_code == 2
    path = tmp_path / "t.jsonl"
    path.write_bytes(trace(ON))
    result = run("oracle", "check", "--spec", "nonsense", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.output


# -- the command line -----------------------------------------------------------------


def test_cli_check_exits_0_on_a_conforming_trace_read_from_stdin():
    observed = '{"event":"kick","args":{"queue":0},"observed":{"queues":{"0":{"pending":true}}}}'
    result = run("oracle", "check", "-", stdin=trace(ON, observed))
    assert result.exit_code == 0, result.output
    assert "conforms to resolved" in result.output
    assert "partly (not in full at every step): pending (0 of 2)" in result.output


def test_cli_check_exits_1_and_json_reports_the_divergence_and_example(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(trace(ON, '{"event":"vm_stop","observed":{"queues":[{"our_fd":true},{}]}}'))
    example = tmp_path / "example.jsonl"
    result = run("oracle", "check", "--json", "--example", str(example), str(path))
    assert result.exit_code == 1
    doc = json.loads(result.stdout)["results"][0]
    assert doc["verdict"] == "diverges"
    d = doc["divergences"][0]
    assert d["line"] == 3 and d["mismatches"] == [{"field": "q0.our_fd", "expected": False, "observed": True}]
    assert d["expected_transitions"][0]["transition"] == "deassign_on_vm_stop"
    assert example.read_text().splitlines() == d["example"]
    assert run("oracle", "check", str(example)).exit_code == 1


def test_cli_check_and_drive_have_help_and_json():
    for command in ("check", "drive"):
        result = run("oracle", command, "--help")
        assert result.exit_code == 0
        assert "--json" in result.output
    assert run("oracle", "--help").exit_code == 0
    assert run("oracle", "schema", "--help").exit_code == 0


# -- the schema --------------------------------------------------------------------------


def test_schema_file_is_the_one_made_from_the_table():
    assert (SPEC_DIR / "trace.schema.json").read_text(encoding="utf-8") == schema_text(SPEC)


def test_schema_accepts_recorded_traces_and_rejects_what_the_reader_rejects():
    schema = json.loads((Path(SPEC_DIR) / "trace.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    out = io.BytesIO()
    case = generate(SPEC, 2, walks=1, walk_length=60, seed=2, tour=False, pairs=False).cases[0]
    record_trace(
        ModelImplementation(SPEC),
        Header("resolved", 2, False),
        [(i.event.name, dict(i.args)) for i in case.events],
        out,
    )
    for line in out.getvalue().splitlines():
        assert not list(validator.iter_errors(json.loads(line))), line
    rejected = [
        {"event": "explode"},
        {"event": "kick", "args": {"queue": "0"}},
        {"event": "kick", "args": {}},
        {"event": "kick"},
        {"event": "vm_run", "args": {"assign_ok": 1}},
        {"event": "reset", "args": {"hard": True}},
        {"event": "reset", "observed": {"queues": [{"state": "on"}]}},
        {"event": "reset", "observed": {"device": {"speed": 1}}},
        {"event": "reset", "when": 3},
        {"format": "virtio-notifier-trace", "version": 7, "variant": "resolved", "queues": 2, "limited": False},
    ]
    for doc in rejected:
        assert list(validator.iter_errors(doc)), doc


def test_header_round_trips_through_the_writer():
    header = Header("resolved", 3, True, implementation="qemu 9.2 instrumented")
    assert parse_header(dumps(header.to_json()) + b"\n") == header
