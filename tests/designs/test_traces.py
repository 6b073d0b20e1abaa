"""Every shortest run of the matrix is a trace the oracle replays: checked in
the design's environment, it diverges at its last line, on the variable the
group names."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from virtio_notifier_spec.designs.catalogue import DESIGNS
from virtio_notifier_spec.designs.traces import trace_lines
from virtio_notifier_spec.oracle.conformance import check_trace
from virtio_notifier_spec.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: d.name)
def test_each_divergence_replays_through_the_oracle(design_analyses, design):
    spec = load_spec(design.table, env=design.env)
    for number, group in enumerate(design_analyses[design.name].groups, 1):
        lines = trace_lines(design, group.sequence)
        checked = ROOT / "designs" / "traces" / design.name / f"divergence-{number:02d}.jsonl"
        assert checked.read_text(encoding="utf-8") == "\n".join(lines) + "\n"
        if group.symptom.row == "abort":
            assert "stops here" in lines[-1]
            continue
        verdict = check_trace(io.BytesIO(checked.read_bytes()), spec=spec, max_divergences=100)
        last = verdict.divergences[-1]
        assert last.line == len(lines)  # the header is line 1, the start is judged there
        assert any(
            m.field.endswith("." + group.symptom.variable) or m.field == group.symptom.variable for m in last.mismatches
        ), (group.symptom, [str(m) for m in last.mismatches])


def test_oracle_check_replays_a_design_trace_in_its_environment():
    from click.testing import CliRunner

    from virtio_notifier_spec.cli.main import cli

    trace = str(ROOT / "designs" / "traces" / "qemu_2011" / "divergence-08.jsonl")
    result = CliRunner().invoke(cli, ["oracle", "check", "--env", "qemu", "--all", trace])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())  # wrapped to the width, however long the folder's name
    assert "vhost_stop(assign_ok=true) diverges from resolved" in text
    assert "e (vhost_stop_release_to_assigned)" in result.output
    # in the default environment the whole-device events do not exist: bad input, one line
    refused = CliRunner().invoke(cli, ["oracle", "check", "--all", trace])
    assert refused.exit_code == 2 and "vhost_start" in refused.output and "Traceback" not in refused.output
