"""The differential soundness suite's tests: random tables, inside and
outside each reduction's fragment, with liveness (step premises, weak and
strong fairness), environment profiles, several devices on shared slots and
variants that extend another table, on which every engine, reduction and
proof must agree with the unreduced search wherever it claims to apply;
then the suite itself is shown to fail when any one of the reductions is
broken on purpose.

``make test`` runs only the fixed slice: a bug planted in each reduction,
each on a small fixed table (``fixed.py``), a few seconds in all. The
random tables, the generator's shapes and SPIN's planted disagreement are
``make soundness``'s (``SOUNDNESS_LONG=1``), beside ``run.py``'s long run."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from soundness.differential import Report, check_table, differential
from soundness.fixed import AGREE, COUNTING, DEAD, HIDDEN, LIVE, SLOTTED, SLOTTED_CONFIG
from soundness.fragment_tables import SHAPES, tables, write

from virtio_notifier_spec.model.packed import PackedExplorer
from virtio_notifier_spec.proofs import prove as prove_module
from virtio_notifier_spec.proofs.result import Proof, Verdict
from virtio_notifier_spec.scale import liveness, reduced, search
from virtio_notifier_spec.scale.answers import Answers
from virtio_notifier_spec.scale.spin import available
from virtio_notifier_spec.spec import fragment
from virtio_notifier_spec.spec.load import load_spec

#: Tables of the random run of the tests; `run.py` runs hundreds and more.
SHORT_RUN = 6
TOTAL = Report()

#: What only `make soundness` runs: it takes minutes, not seconds.
LONG = pytest.mark.skipif(
    os.environ.get("SOUNDNESS_LONG") != "1", reason="the long differential run: make soundness (SOUNDNESS_LONG=1)"
)


def _load(text: str, tmp: Path, name: str = "t.toml"):
    (tmp / name).write_text(text)
    return load_spec(tmp / name)


@LONG
@settings(
    max_examples=SHORT_RUN, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(tables())
def test_every_engine_agrees_with_the_unreduced_search_on_random_tables(table):
    with tempfile.TemporaryDirectory() as work:
        report = check_table(table, Path(work), "random table", proofs=True, budget=3000)
    TOTAL.add(report)
    assert not report.disagreements, "\n".join(report.disagreements) + "\n\n" + table.text


@LONG
def test_the_short_run_saw_tables_inside_and_outside_the_support_fragment():
    if TOTAL.tables < SHORT_RUN:
        pytest.skip("runs after the random tables")
    assert TOTAL.compared["support (general)"] and TOTAL.refused["support"] and TOTAL.compared["z3"] == TOTAL.tables


@LONG
def test_the_generator_draws_each_shape(tmp_path):
    # the five shapes the suite exists to reach; make soundness counts them (bench/soundness.md)
    seen: set[str] = set()

    @settings(max_examples=60, deadline=None, derandomize=True, database=None)
    @given(tables())
    def draw(table):
        seen.update(table.shapes)
        if table.shapes:
            path = write(table, tmp_path)
            load_spec(path, env=table.env or "adversarial")  # every draw is a valid table

    draw()
    assert seen == set(SHAPES)


# -- the suite can fail: a bug planted in each reduction is caught -------------------


def _proves_everything(real):
    def prove(spec, **kwargs):
        report = real(spec, **kwargs)
        proofs = tuple(dataclasses.replace(p, verdict=Verdict.PROVED) for p in report.proofs)
        return dataclasses.replace(report, proofs=proofs)

    return prove


def _one_answer_per_class(real):
    """KVM's answers as one per class of identical queues, not one per queue."""

    def outcomes(self, state, inst):
        found = real(self, state, inst)
        return [o for o in found if len({a for _, a in o.answers}) <= 1]

    return outcomes


PLANTED = {
    # the orbit search steps one witness per class even where a comparison of queues can tell them apart
    "orbits": (
        HIDDEN,
        lambda mp: mp.setattr(reduced, "needs_full_witness", lambda spec: False),
        "orbits (general) at N=2",
    ),
    # the support abstraction's cutoff taken too small
    "support cutoff": (
        AGREE,
        lambda mp: mp.setattr(fragment, "check_cutoffs", lambda spec: {"inv0": 1}),
        "against explicit N=1",
    ),
    # a support fragment check that lets everything in
    "support refusal": (
        COUNTING,
        lambda mp: [mp.setattr(m, "support_reason", lambda spec: None) for m in (fragment, search)],
        "support accepted a table outside its fragment",
    ),
    # the packed engine forgets to check its invariants (on the states it expands, and the starts)
    "packed engine": (
        AGREE,
        lambda mp: mp.setattr(PackedExplorer, "_invariant_reports", lambda self, split, cells, present: {}),
        "packed",
    ),
    # the one-queue projection taken for every property, another queue's step premise or not
    "liveness projection": (
        LIVE,
        lambda mp: mp.setattr(liveness, "projection_reason", lambda spec, prop: None),
        "liveness projection at N=2: fills holds, the whole graph fails",
    ),
    # the orbit graph reads a step premise on the sorted successor
    "liveness orbits": (
        LIVE,
        lambda mp: mp.setattr(liveness.OrbitGraph, "posts", lambda self, u, i, v: (self.states[v],)),
        "liveness orbits at N=2: invented fails, the whole graph holds",
    ),
    # the system search draws KVM's answers per class of identical queues
    "several devices": (
        SLOTTED,
        lambda mp: mp.setattr(Answers, "_outcomes", _one_answer_per_class(Answers._outcomes)),
        "system:",
    ),
    # Z3 proves a false property
    "proofs": (
        AGREE,
        lambda mp: mp.setattr(prove_module, "prove", _proves_everything(prove_module.prove)),
        "z3 proved",
    ),
    # Z3 proves every row live
    "dead rows": (
        DEAD,
        lambda mp: mp.setattr(
            prove_module, "dead_verdict", lambda s, i: Proof("no_dead_transition", "hygiene", Verdict.PROVED, 0.0)
        ),
        "z3 proved no_dead_transition",
    ),
}


@pytest.mark.parametrize("planted", list(PLANTED))
def test_the_suite_catches_a_bug_planted_in_each_reduction(tmp_path, monkeypatch, planted):
    text, plant, says = PLANTED[planted]
    config = None
    if text is SLOTTED:
        (tmp_path / "config.toml").write_text(SLOTTED_CONFIG)
        config = tmp_path / "config.toml"
    spec = _load(text, tmp_path, "table.toml")
    options = {"proofs": planted in ("proofs", "dead rows"), "config": config}
    assert not differential(spec, planted, **options).disagreements
    plant(monkeypatch)
    found = differential(spec, planted, **options).disagreements
    assert any(says in d for d in found), found


@LONG
@pytest.mark.skipif(not available(), reason="spin or a C compiler is not installed (make deps)")
def test_the_suite_catches_spin_disagreeing(tmp_path, monkeypatch):
    spec = _load(AGREE, tmp_path)
    from virtio_notifier_spec.scale import promela

    assert not differential(spec, "agree", spin=True, spin_sizes=(2,)).disagreements
    monkeypatch.setattr(promela, "SPIN_OFFSET", 0)  # as if SPIN stored one state fewer than the explorer
    found = differential(spec, "agree", spin=True, spin_sizes=(2,)).disagreements
    assert any("spin at N=2" in d for d in found), found
