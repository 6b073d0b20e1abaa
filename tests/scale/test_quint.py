"""The Quint export, checked by Quint itself (``export --format quint``).

Quint typechecks the module of each shipped variant; ``quint run`` (the
TypeScript simulator, seeded) finds no violation in ``resolved`` and finds
the known ones in ``proposal`` and in deliberately broken tables (an
invariant, a step property, a missing row); the ITF trace it writes of a
violation replays through ``replay`` as it is, and every state Quint
reached is the state the table reaches by the same events. Skipped, with
the reason, where Quint is not installed (``make deps`` installs it).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Edit
from hypothesis import HealthCheck, Phase, given, settings
from tables import valid_tables

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.model.itf import read_itf, read_states
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.model.replay import replay
from virtio_notifier_spec.scale import quintrun
from virtio_notifier_spec.scale.quint import exported_properties
from virtio_notifier_spec.spec.load import load_spec

pytestmark = pytest.mark.skipif(
    quintrun.program() is None, reason="quint is not installed: make deps installs it in tools/quint (needs npm)"
)
SEED, SAMPLES, STEPS = 7, 400, 12


def export(tmp_path: Path, spec: str, queues: int = 2, name: str = "model.qnt") -> Path:
    out = tmp_path / name
    args = ["export", "--format", "quint", "--spec", spec, "--queues", str(queues), "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("variant", ["proposal", "resolved"])
def test_quint_typechecks_the_export_of_each_variant(tmp_path, variant):
    done = quintrun.typecheck(export(tmp_path, variant))
    assert done.returncode == 0, done.stdout + done.stderr


def test_quint_finds_no_violation_of_any_invariant_in_resolved(tmp_path):
    run = quintrun.run(export(tmp_path, "resolved"), "every_invariant_", seed=SEED, samples=100, steps=10)
    assert run.returncode == 0 and not run.violated, run.output


def test_a_quint_run_in_an_environment_replays_in_that_environment(tmp_path):
    module, itf = tmp_path / "qemu.qnt", tmp_path / "run.itf.json"
    args = ["export", "--format", "quint", "--env", "qemu", "--queues", "2", "--out", str(module)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    run = quintrun.run(module, "every_invariant_", seed=SEED, samples=20, steps=10, itf=itf)
    assert not run.violated, run.output
    document = json.loads(itf.read_text())
    _states_agree(load_spec("resolved", env="qemu"), document)
    replayed = CliRunner().invoke(cli, ["replay", "--trace", str(itf)])  # env qemu, from the module's head
    assert replayed.exit_code == 0, replayed.output


def _states_agree(spec, document) -> None:
    """Every state Quint reached is the table's state after the same events."""
    start, events = read_itf(spec, document)
    machine = Machine(spec, len(start.queues))
    instances = [machine.instance(name, **args) for name, args in events]
    steps = replay(machine, start, instances)
    assert all(s.step is not None for s in steps), [s.problem for s in steps]
    mine = [start, *(s.step.post for s in steps)]
    assert read_states(spec, document) == mine


def test_a_violation_quint_finds_in_proposal_replays_unchanged_and_agrees_state_by_state(tmp_path):
    module, itf = export(tmp_path, "proposal"), tmp_path / "violation.itf.json"
    run = quintrun.run(module, "no_lost_kick", seed=SEED, samples=SAMPLES, steps=STEPS, itf=itf)
    assert run.violated, run.output
    document = json.loads(itf.read_text())
    assert document["#meta"]["source"].endswith("model.qnt")
    _states_agree(load_spec("proposal"), document)
    replayed = CliRunner().invoke(cli, ["replay", "--trace", str(itf)])  # the table is found from the module's head
    assert replayed.exit_code == 1, replayed.output
    assert replayed.output.rstrip().endswith("false after some step: no_lost_kick")


@pytest.mark.parametrize(
    ("edits", "invariant"),
    [
        ((Edit("reset", "effects", '["our_fd := false", "handler := none"]'),), "no_lost_kick"),
        ((Edit("reset", "effects", '["our_fd := false", "pending := false"]'),), "reset_disarms_ours"),
        ((Edit("reset_leaves_queue", None),), "complete"),
    ],
    ids=["invariant", "step property", "missing row"],
)
def test_quint_finds_the_violation_in_a_broken_table_and_its_trace_replays(tmp_path, broken_path, edits, invariant):
    table = broken_path("resolved", *edits)
    module, itf = export(tmp_path, str(table)), tmp_path / "broken.itf.json"
    run = quintrun.run(module, invariant, seed=SEED, samples=SAMPLES, steps=STEPS, itf=itf)
    assert run.violated, run.output
    document = json.loads(itf.read_text())
    _states_agree(load_spec(table), document)
    replayed = CliRunner().invoke(cli, ["replay", "--trace", str(itf)])
    if invariant != "complete":  # replay names the failing property; a missing row, the event that has none
        assert replayed.exit_code == 1, replayed.output
        assert invariant in replayed.output.split("false after some step:")[1], replayed.output


# -- random tables: Quint and the table agree along every run Quint makes -----------------------

QUINT_EXAMPLES = int(os.environ.get("QUINT_FUZZ_EXAMPLES", "3"))


@settings(
    max_examples=QUINT_EXAMPLES,
    deadline=None,
    derandomize="QUINT_FUZZ_EXAMPLES" not in os.environ,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(valid_tables(max_events=5, max_states=3, size=20))
def test_quint_runs_of_random_tables_reach_the_states_the_table_reaches(table):
    """Quint typechecks the export of a random table, and the run it shows
    (a violation of some invariant, or its last sample) replays on the table
    state by state; a violation Quint reports is one the table has."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "random.toml"
        path.write_text(table.text(), encoding="utf-8")
        module, itf = export(folder, str(path)), folder / "run.itf.json"
        typed = quintrun.typecheck(module)
        assert typed.returncode == 0, typed.stdout + typed.stderr + module.read_text()
        run = quintrun.run(module, "every_invariant_", seed=SEED, samples=30, steps=8, itf=itf)
        assert run.returncode in (0, 1), run.output
        spec = load_spec(path)
        document = json.loads(itf.read_text())
        _states_agree(spec, document)
        if run.violated:  # then the explorer, at the same queue count, finds a check of the module failing
            found = explore(spec, 2).counterexamples
            assert set(found) & set(exported_properties(spec)), run.output


def test_a_quint_trace_without_mbt_is_refused_with_one_line_saying_so(tmp_path):
    module, itf = export(tmp_path, "proposal"), tmp_path / "plain.itf.json"
    document_args = [quintrun.program(), "run", str(module), "--backend=typescript", "--invariant=no_lost_kick"]
    document_args += ["--seed=7", "--max-samples=400", "--max-steps=12", f"--out-itf={itf}"]
    subprocess.run(document_args, capture_output=True, text=True, timeout=600, check=False)
    replayed = CliRunner().invoke(cli, ["replay", "--trace", str(itf)])
    assert replayed.exit_code == 2 and "quint run writes it with --mbt" in replayed.output, replayed.output
    assert len(replayed.output.strip().splitlines()) == 1
