"""``export``: the table for other checkers, run by them on the file written.

Promela (safety): SPIN, run on the exported file, reaches the explorer's
states and names the properties that fail. Promela with LTL: SPIN's
``pan -a -f`` finds the lasso of ``proposal`` and none in ``resolved``.
Quint is in ``tests/scale/test_quint.py``.
"""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.scale.promela import SPIN_OFFSET, exported_checks
from virtio_notifier_spec.scale.spin import LIVENESS_CFLAGS, QUICK_CFLAGS, available, run_spin
from virtio_notifier_spec.spec.load import load_spec

needs_spin = pytest.mark.skipif(not available(), reason="spin or a C compiler is not installed (make deps)")


def export(tmp_path, fmt: str, spec: str, queues: int, *extra: str):
    out = tmp_path / f"{spec}.{'qnt' if fmt == 'quint' else 'pml'}"
    args = ["export", "--format", fmt, "--spec", spec, "--queues", str(queues), "--out", str(out), *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out


@needs_spin
@pytest.mark.parametrize("variant", ["proposal", "resolved"])
def test_spin_run_on_the_exported_promela_file_agrees_with_the_explorer(tmp_path, variant):
    path = export(tmp_path, "promela", variant, 2)
    spin = run_spin(path.read_text(), tmp_path / "spin", timeout=300, cflags=QUICK_CFLAGS)
    assert spin.finished, spin.reason
    ours = explore(load_spec(variant), 2)
    assert spin.states == ours.states + SPIN_OFFSET
    assert set(spin.violated) == {k for k in ours.counterexamples if k in exported_checks(load_spec(variant))}


def _pan_ltl(tmp_path, path, claim: str) -> str:
    for argv in (["spin", "-a", path.name], ["cc", *LIVENESS_CFLAGS, "-DNFAIR=8", "-o", "pan", "pan.c"]):
        subprocess.run(argv, cwd=path.parent, check=True, capture_output=True, timeout=600)
    pan = ["./pan", "-a", "-f", "-N", claim]
    return subprocess.run(pan, cwd=path.parent, capture_output=True, text=True, timeout=600, check=False).stdout


@needs_spin
@pytest.mark.parametrize(("variant", "errors"), [("proposal", 1), ("resolved", 0)])
def test_spin_run_on_the_exported_ltl_file_finds_the_lasso_of_proposal_only(tmp_path, variant, errors):
    path = export(tmp_path, "promela-ltl", variant, 1)
    assert "ltl kick_eventually_handled" in path.read_text()
    out = _pan_ltl(tmp_path, path, "kick_eventually_handled")
    assert f"errors: {errors}" in out, out


def test_export_writes_to_stdout_and_refuses_a_bad_out_path_with_one_line(tmp_path):
    shown = CliRunner().invoke(cli, ["export", "--format", "quint", "--queues", "1"])
    assert shown.exit_code == 0 and "module resolved {" in shown.output
    assert "// table: resolved env=adversarial queues=1" in shown.output
    bad = CliRunner().invoke(cli, ["export", "--format", "promela", "--out", str(tmp_path / "no" / "x.pml")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    unknown = CliRunner().invoke(cli, ["export", "--format", "tla"])
    assert unknown.exit_code == 2
