"""SPIN agrees: the liveness properties exported as LTL claims (pan's
acceptance cycles under weak fairness), deadlocks as pan's invalid end
states, and recoverability probed state by state, give the explorer's
verdicts on the shipped tables, on a table broken to fail every property,
without fairness, and under strong fairness."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import Edit
from lassos import STRICT

from virtio_notifier_spec.model.liveness import check_liveness
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.scale.liveness import check_every
from virtio_notifier_spec.scale.promela import claim_names, decode_state, to_promela_liveness
from virtio_notifier_spec.scale.spin import available, spin_liveness
from virtio_notifier_spec.spec.load import load_spec

needs_spin = pytest.mark.skipif(not available(), reason="spin or a C compiler is not installed (make deps)")

# each edit breaks one property (tests/model/test_liveness.py shows each alone)
EVERYTHING_BROKEN = (
    Edit("reset", "effects", '["our_fd := false", "handler := none"]'),  # kick left unread
    Edit("release_to_assigned", "to", '"deassigned"'),  # release never restarts ours
    Edit("release_to_assigned", "effects", '["vhost_fd := false", "pending := false", "handler := none"]'),
    Edit("vm_run", "when", '"false"', file="common"),  # a stopped VM never runs: no recovery
    Edit("load", "when", '"false"', file="common"),  # ... nor loads: and when the guest
    *(Edit(e, "when", '"running"', file="common") for e in ("set_status", "reset", "set_host_notifier")),
)


def _only(spec, name):
    """``spec`` with one liveness property: a smaller model to compile."""
    return replace(spec, liveness=tuple(p for p in spec.liveness if p.name == name))


def _agree(spec, queues, tmp_path, fair=True):
    ours = check_liveness(spec, queues, fair=fair)
    theirs = spin_liveness(spec, queues, tmp_path, fair=fair)
    assert theirs.reason == ""
    assert theirs.verdicts == {name: ours.verdict(name) for name in ours.checks}
    return theirs


def test_the_export_has_one_claim_per_property_and_queue_and_one_process_per_fair_group():
    spec = load_spec("resolved")
    assert claim_names(spec, 2) == {
        "kick_eventually_handled": ["kick_eventually_handled_q0", "kick_eventually_handled_q1"],
        "fast_path_after_release": ["fast_path_after_release_q0", "fast_path_after_release_q1"],
        "no_deadlock": ["no_deadlock"],
    }
    text = to_promela_liveness(spec, 2)
    assert text.count("proctype fair_") == 2 and "violated" not in text  # no safety assertion
    assert text.count(":: d_step {") == len(Machine(spec, 2).instances) + 1  # and the stutter


@needs_spin
@pytest.mark.parametrize("variant", ["resolved", "proposal"])
def test_spin_gives_the_shipped_tables_the_explorers_verdicts(tmp_path, variant):
    spec = load_spec(variant)
    verdicts = _agree(spec, 1, tmp_path).verdicts
    # what verify shows (each property on the graph that decides it) is the same
    (shown,) = check_every(spec, (1,), symmetry="auto")
    assert verdicts == {name: shown.verdict(name) for name in shown.checks}
    assert verdicts["kick_eventually_handled"] == ("holds" if variant == "resolved" else "fails")


@needs_spin
def test_spin_finds_every_property_of_the_broken_table_broken(tmp_path, broken):
    spec = broken("resolved", *EVERYTHING_BROKEN)
    spin = _agree(spec, 1, tmp_path)
    assert set(spin.verdicts.values()) == {"fails"}
    # and the states it cannot recover from are the explorer's
    stuck = spin.stuck["fast_path_recoverable"]
    theirs = {decode_state(spec, 1, line.partition(": ")[2]) for line in stuck}
    ours = set(check_liveness(spec, 1).failures["fast_path_recoverable"].unrecoverable)
    assert theirs == ours


@needs_spin
def test_spin_without_fairness_lets_the_handler_starve(tmp_path):
    assert _agree(_only(load_spec("resolved"), "kick_eventually_handled"), 1, tmp_path, fair=False).verdicts == {
        "kick_eventually_handled": "fails"
    }


STOP_AND_RUN = (
    Edit("handle", "when", '"pending[queue] and handler[queue] != none and running"', file="common"),
    Edit("vm_run", "fairness", '"weak"', file="common"),
)


@needs_spin
@pytest.mark.parametrize("fairness", ["strong"])  # weak: tests/model/test_liveness.py
def test_spin_reads_weak_and_strong_fairness_as_the_explorer_does(tmp_path, broken, fairness):
    # a handler that runs only in a running VM, a VM stopped and run again and
    # again: weak fairness lets the handler starve, strong fairness does not
    spec = broken("resolved", *STOP_AND_RUN, Edit("handle", "fairness", f'"{fairness}"', file="common"), extra=STRICT)
    expected = "holds" if fairness == "strong" else "fails"
    name = "every_kick_handled_even_in_a_stopped_vm"
    assert _agree(_only(spec, name), 1, tmp_path).verdicts == {name: expected}


@needs_spin
def test_a_compile_that_misses_its_deadline_is_unknown_and_leaves_no_folder(tmp_path, monkeypatch):
    # the compiler is stopped at the deadline (simulated: no test waits on the clock);
    # resolved has a recoverable property, whose probes once ran a pan that was never built
    from click.testing import CliRunner

    from virtio_notifier_spec.cli.main import cli
    from virtio_notifier_spec.scale import spin

    real = spin._run

    def deadline_in_cc(argv, cwd, deadline, env=None):
        return (None, "", 0) if argv[0] == "cc" else real(argv, cwd, deadline, env)

    monkeypatch.setattr(spin, "_run", deadline_in_cc)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    done = CliRunner().invoke(cli, ["liveness", "--spec", "resolved", "--queues", "1", "--spin"])
    assert done.exit_code == 3, done.output
    assert "unknown (SPIN did not compile in time)" in done.output
    assert "SPIN could not tell (SPIN did not compile in time)" in done.output + done.stderr
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_spin_runs_keeps_the_explorers_verdicts(monkeypatch):
    # SPIN itself is not needed: Ctrl-C is raised where its column is made
    import json

    from click.testing import CliRunner

    from virtio_notifier_spec.cli import liveness as liveness_cli
    from virtio_notifier_spec.cli.main import cli

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(liveness_cli, "available", lambda: True)
    monkeypatch.setattr(liveness_cli, "_spin_column", interrupted)
    args = ["liveness", "--spec", "resolved", "--queues", "1", "--spin", "--quiet"]
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 130
    assert "kick_eventually_handled" in text.stdout and "interrupted" in text.stderr
    doc = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)
    assert doc["stopped"] == "interrupted" and doc["spin"] is None
    assert doc["results"][0]["verdicts"]["kick_eventually_handled"] == "holds"


#: About the target of set_host_notifier, which the qemu environment never issues.
RELEASED_QUEUE = """
[[properties]]
name = "released_queue_is_ours"
kind = "leads_to"
events = ["set_host_notifier"]
from = "vhost_fd[queue] and not vhost_fd'[queue]"
to = "our_fd[queue] or vhost_fd[queue] or status != driver_ok"
rationale = "A probe: a step premise about the step's queue."
"""


@needs_spin
def test_a_vacuous_property_is_vacuous_to_spin_too(tmp_path, broken_path):
    # once the export read the goal's `queue` with no event to bind it, and crashed
    from virtio_notifier_spec.spec.load import load_spec

    spec = _only(load_spec(broken_path("resolved", extra=RELEASED_QUEUE), env="qemu"), "released_queue_is_ours")
    theirs = spin_liveness(spec, 1, tmp_path)
    assert theirs.verdicts == {"released_queue_is_ours": "vacuous"}
    assert check_liveness(spec, 1).verdict("released_queue_is_ours") == "vacuous"
