"""The Z3 proofs of both variants, for every number of queues, and the
``prove`` command."""

from __future__ import annotations

import json

import pytest
import z3
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.model.report import verdicts_table
from virtio_notifier_spec.proofs.prove import HYGIENE, prove
from virtio_notifier_spec.proofs.result import Verdict
from virtio_notifier_spec.proofs.symbolic import Encoding
from virtio_notifier_spec.spec.load import load_spec

# What the explorer finds failing in proposal (tests/model/test_verdicts.py) is
# what the proofs find violated, each with a trace.
PROPOSAL_VIOLATED = {
    "assigned_holds_exactly_ours",
    "armed_only_when_driver_ok",
    "handler_matches_ioeventfd",
    "load_is_history_free",
    "no_leaked_ioeventfd",
    "no_lost_kick",
    "status_zero_resets",
    "stopped_vm_holds_none_of_ours",
}


@pytest.fixture(scope="module")
def resolved_report():
    return prove(load_spec("resolved"))


@pytest.fixture(scope="module")
def proposal_report():
    return prove(load_spec("proposal"))


def test_resolved_is_proved_for_every_number_of_queues(resolved_report):
    spec = resolved_report.spec
    assert resolved_report.ok, "\n".join(p.format(spec) for p in resolved_report.proofs if not p.proved)
    names = [p.name for p in resolved_report.proofs]
    assert names == [p.name for p in spec.properties if p.kind.value == "invariant"] + [
        p.name for p in spec.properties if p.kind.value != "invariant"
    ] + list(HYGIENE)


def test_resolved_needs_every_invariant_and_no_more(resolved_report):
    # the proof of resolved assumes exactly its invariants, lemmas included
    spec = resolved_report.spec
    assert set(resolved_report.assumed) == {p.name for p in spec.properties if p.kind.value == "invariant"}


def test_proposal_violations_are_those_the_explorer_finds(proposal_report):
    violated = {p.name for p in proposal_report.proofs if p.verdict is Verdict.VIOLATED}
    assert violated == PROPOSAL_VIOLATED
    rest = [p for p in proposal_report.proofs if p.name not in PROPOSAL_VIOLATED]
    # every other row fires; the rows of vhost_start and vhost_stop (never issued by default) are not asked
    dead = proposal_report.get("no_dead_transition")
    assert dead.verdict is Verdict.NOT_APPLICABLE and "does not issue vhost_start, vhost_stop" in dead.message
    assert all(p.proved for p in rest if p is not dead), [p.name for p in rest if not p.proved]


def test_proposal_violation_traces_replay_on_the_explorer_machine(proposal_report):
    spec = proposal_report.spec
    for proof in proposal_report.proofs:
        if proof.verdict is not Verdict.VIOLATED:
            continue
        machine = Machine(spec, len(proof.trace.start.queues))
        state = proof.trace.start
        assert state in machine.initial_states()
        for step in proof.trace.steps:
            outcome = machine.step(state, step.event)
            assert any(c.post == step.post and c.fired == step.fired for c in outcome.choices), proof.name
            state = step.post


def test_no_lost_kick_trace_in_proposal_ends_with_release_e(proposal_report):
    proof = proposal_report.get("no_lost_kick")
    assert proof.trace.steps[-1].fired[0][1].letter in {"e", "g"}
    assert proof.message.endswith("(3 steps, orbit search)")


def test_lemma_makes_proposal_offlimits_properties_inductive(proposal_report):
    assert "ours_only_when_assigned" in proposal_report.assumed
    assert proposal_report.get("offlimits_never_ours").proved
    assert proposal_report.get("one_owner_per_notifier").proved


def test_symbolic_step_agrees_with_machine_on_b():
    # one step of the symbolic relation, read back, is the explorer's step
    spec = load_spec("resolved")
    enc = Encoding(spec, 2)
    machine = Machine(spec, 2)
    start = machine.initial_states()[0]
    inst = machine.instance("set_status", value="driver_ok", assign_ok=True)
    pre, post = enc.state("pre"), enc.state("post")
    args = {k: enc.value(p.type, v) for p, (k, v) in zip(inst.event.params, inst.args, strict=True)}
    solver = z3.Solver()
    solver.add(enc.equals(pre, start), enc.step(inst.event, pre, post, args))
    assert solver.check() == z3.sat
    expected = machine.step(start, inst).choices[0].post
    assert enc.concrete(solver.model(), post, enc.queue_values) == expected
    solver.add(z3.Not(enc.equals(post, expected)))
    assert solver.check() == z3.unsat


def test_prove_command_exits_0_on_resolved():
    result = CliRunner().invoke(cli, ["prove", "--spec", "resolved"])
    assert result.exit_code == 0, result.output
    assert "proved" in result.output and "VIOLATED" not in result.output


def test_prove_command_exits_1_with_traces_on_proposal():
    result = CliRunner().invoke(cli, ["prove", "--spec", "proposal"])
    assert result.exit_code == 1
    assert "no_lost_kick VIOLATED" in result.output
    assert "[q0 b (assign_on_driver_ok)]" in result.output


def test_prove_command_json_is_one_document():
    result = CliRunner().invoke(cli, ["prove", "--spec", "proposal", "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    verdicts = {p["name"]: p["verdict"] for p in document["results"]}
    assert {n for n, v in verdicts.items() if v == "violated"} == PROPOSAL_VIOLATED
    assert document["results"][1]["trace"]["steps"][0]["fired"][0]["letter"] == "b"


def test_prove_command_bad_spec_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('include = "missing.toml"\n')
    result = CliRunner().invoke(cli, ["prove", "--spec", str(bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_verdicts_table_has_the_proved_column(resolved_report):
    from rich.console import Console

    from virtio_notifier_spec.cli.prove import proof_cell
    from virtio_notifier_spec.model.explore import explore

    runs = {"resolved": [explore(resolved_report.spec, 1)]}
    cells = {p.name: proof_cell(resolved_report, p.name) for p in resolved_report.proofs}
    table = verdicts_table(runs, cells)
    assert [c.header for c in table.columns][-1] == "proved for all N"
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    assert "non_vacuous" in text and "proved (" in text


def test_verify_exits_0_with_the_proved_column_when_resolved_is_proved():
    result = CliRunner().invoke(cli, ["verify", "--resolved-queues", "1", "--proposal-queues", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "proved for all N" in result.output


def test_verify_exits_3_when_a_proof_of_resolved_is_undecided(monkeypatch):
    from virtio_notifier_spec.proofs import prove as module
    from virtio_notifier_spec.proofs.result import Proof, ProofReport

    def failing(spec, **_):
        proof = Proof("no_lost_kick", "invariant", Verdict.NOT_INDUCTIVE, 0.0, "not preserved by reset")
        return ProofReport(spec, (proof,), ())

    monkeypatch.setattr(module, "prove", failing)
    args = ["verify", "--resolved-queues", "1", "--proposal-queues", "1", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 3  # undecided, as prove says it (README.md, "Exit codes")
    assert "no_lost_kick UNKNOWN: NOT INDUCTIVE" in result.output
    document = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)
    assert document["proofs"]["ok"] is False


def test_prove_command_crosscheck_agrees_and_reports_json():
    result = CliRunner().invoke(cli, ["prove", "--spec", "resolved", "--crosscheck", "2", "--json"])
    assert result.exit_code == 0, result.output
    checks = json.loads(result.stdout)["crosscheck"]
    assert [(c["queues"], c["states"], c["reached_by_z3"], c["closed_in_z3"]) for c in checks] == [
        (1, 38, 38, True),
        (2, 124, 124, True),
    ]


def test_prove_command_exits_1_when_the_interpreters_disagree(monkeypatch):
    guard = Encoding.guard

    def never_b(self, row, s, args, q):
        return z3.BoolVal(False) if row.letter == "b" and self.queues else guard(self, row, s, args, q)

    monkeypatch.setattr(Encoding, "guard", never_b)  # bounded encodings only
    result = CliRunner().invoke(cli, ["prove", "--spec", "resolved", "--crosscheck", "1"])
    assert result.exit_code == 1
    assert "a step of the explorer that Z3 does not allow" in result.output
