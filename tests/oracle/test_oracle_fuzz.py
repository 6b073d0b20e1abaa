"""Whatever bytes or JSON arrive, the trace parser and the protocol reader
answer with their own error (TraceError, ProtocolError) or a value: never
another exception."""

from __future__ import annotations

import contextlib
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virtio_notifier_spec.oracle.conformance import check_trace
from virtio_notifier_spec.oracle.observation import ObservationError, parse_observation
from virtio_notifier_spec.oracle.protocol import ProtocolError, decode_reply
from virtio_notifier_spec.oracle.tracefile import Header, RecordReader, TraceError, dumps, parse_header
from virtio_notifier_spec.spec.load import load_spec

SPEC = load_spec("resolved")
READER = RecordReader(SPEC, Header("resolved", 2, False), "fuzz.jsonl")
HEADER = b'{"format":"virtio-notifier-trace","version":1,"variant":"resolved","queues":2,"limited":false}\n'

# JSON made of the words the format uses, so that the fuzzing gets past the
# first checks and into the nested ones.
WORDS = [
    "event",
    "args",
    "observed",
    "device",
    "queues",
    "queue",
    "state",
    "value",
    "assign",
    "assign_ok",
    "saved",
    "kick",
    "reset",
    "set_status",
    "handle",
    "set_host_notifier",
    "load",
    "vm_run",
    "vm_stop",
    "driver_ok",
    "zero",
    "assigned",
    "offlimits",
    "pending",
    "handled",
    "handler",
    "ours",
    "our_fd",
    "status",
    "running",
    "limited",
    "0",
    "1",
    "ok",
    "error",
    "format",
    "version",
    "variant",
    "virtio-notifier-trace",
    "resolved",
    "meta",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(WORDS)
    | st.text(max_size=5)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_trace_parser(data):
    for parse in (lambda: READER.parse(data, 2), lambda: parse_header(data)):
        try:
            parse()
        except TraceError as exc:
            assert exc.line in (1, 2)


@FAST
@given(JSON)
def test_random_json_never_crashes_the_record_reader(doc):
    try:
        record = READER.record(doc, 2)
    except TraceError as exc:
        assert exc.line == 2
    else:
        assert record.instance.event.name == doc["event"]


@FAST
@given(st.dictionaries(st.sampled_from(WORDS), JSON, max_size=4), st.sampled_from(["event", "header"]))
def test_random_objects_with_the_formats_keys_never_crash_the_reader(doc, kind):
    line = dumps(doc) + b"\n"
    try:
        if kind == "header":
            parse_header(line)
        else:
            READER.parse(line, 2)
    except TraceError:
        pass


@FAST
@given(st.lists(st.binary(max_size=60) | JSON.map(lambda d: dumps(d)), max_size=6))
def test_random_traces_never_crash_the_checker(lines):
    data = HEADER + b"\n".join(lines)
    try:
        verdict = check_trace(io.BytesIO(data), file="fuzz.jsonl", spec=SPEC)
    except TraceError:
        return
    assert verdict.events <= len(lines)


@FAST
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_protocol_reader(data):
    with contextlib.suppress(ProtocolError):
        decode_reply(data)


@FAST
@given(JSON)
def test_random_json_never_crashes_the_protocol_reader_or_the_observation_parser(doc):
    try:
        reply = decode_reply(dumps(doc) + b"\n")
    except ProtocolError:
        return
    with contextlib.suppress(ObservationError):
        parse_observation(SPEC, 2, reply.observed, "observed")


@FAST
@given(st.text(max_size=3))
def test_any_key_of_a_queue_map_is_a_queue_index_or_an_observation_error(key):
    try:
        obs = parse_observation(SPEC, 2, {"queues": {key: {"state": "assigned"}}}, "observed")
    except ObservationError as exc:
        assert exc.field == f"observed.queues.{key}"
    else:
        assert key in ("0", "1", "00", "01", "000", "001") and obs.queues
