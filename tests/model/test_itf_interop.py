"""The project's ITF read by another reader: itf-py (Informal Systems' own).

Every trace ``--traces`` writes (safety counterexamples, a second run of
history freedom, liveness lassos with their ``loop``) parses with itf-py,
and itf-py reads the same states and arguments as ``model/itf.py``. itf-py
0.5 cannot read a variant that carries a ``#bigint`` (it takes the payload
for a record), so an argument's integer is written as a JSON number, which
ADR-015 allows; the reader here takes either.
"""

from __future__ import annotations

import json

import itf_py
import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.itf import read_itf, read_states
from virtio_notifier_spec.model.quintnames import from_quint
from virtio_notifier_spec.spec.load import load_spec


def _written(tmp_path, *args):
    result = CliRunner().invoke(cli, [*args, "--quiet", "--traces", str(tmp_path)])
    assert result.exit_code == 1, result.output
    return sorted(tmp_path.glob("*.itf.json"))


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    safety = _written(tmp_path_factory.mktemp("safety"), "check", "--spec", "proposal", "--queues", "1-2")
    lassos = _written(tmp_path_factory.mktemp("lassos"), "liveness", "--spec", "proposal", "--queues", "1")
    return safety + lassos


def _ours(spec, var, state, q=None):
    names = [v.name for v in spec.device_variables]
    if q is None:
        return state.device[names.index(var)]
    return state.queues[q][[v.name for v in spec.queue_variables].index(var)]


def test_itf_py_reads_every_trace_we_write_as_we_read_it(traces):
    spec = load_spec("proposal")
    assert len(traces) > 8
    for path in traces:
        document = json.loads(path.read_text())
        theirs = itf_py.trace_from_json(document)
        assert theirs.loop == document.get("loop")
        mine = read_states(spec, document)
        assert len(theirs.states) == len(mine)
        for their_state, my_state in zip(theirs.states, mine, strict=True):
            for var in spec.device_variables:
                assert their_state.values[var.name] == _ours(spec, var.name, my_state), (path, var.name)
            for var in spec.queue_variables:
                for q in range(len(my_state.queues)):
                    assert their_state.values[var.name][q] == _ours(spec, var.name, my_state, q), (path, var.name)
        _, events = read_itf(spec, document)
        for their_state, (event, args) in zip(theirs.states[1:], events, strict=True):
            assert from_quint(their_state.values["mbt::actionTaken"]) == event
            picks = {from_quint(k): v.value for k, v in their_state.values["mbt::nondetPicks"]._asdict().items()}
            assert picks == args, path


def test_an_argument_s_integer_is_a_json_number_and_a_reserved_name_is_renamed(traces):
    steps = [s for path in traces for s in json.loads(path.read_text())["states"][1:]]
    picks = [s["mbt::nondetPicks"] for s in steps if s["mbt::actionTaken"] == "set_host_notifier"]
    assert picks and all(isinstance(p["queue"]["value"], int) and "assign_" in p for p in picks)
