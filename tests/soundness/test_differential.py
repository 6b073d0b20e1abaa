"""The short differential soundness run (the long one is ``make soundness``):
random tables, inside and outside each reduction's fragment, on which the
explicit search, the orbit search, the support abstraction and Z3 must agree
wherever each claims to apply. Then the suite itself is shown to fail when a
reduction, its cutoff, its refusal or a proof is broken on purpose."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from soundness.differential import Report, differential
from soundness.fixed import AGREE, COUNTING, HIDDEN
from soundness.fragment_tables import tables

from virtio_notifier_spec.proofs import prove as prove_module
from virtio_notifier_spec.proofs.result import Verdict
from virtio_notifier_spec.scale import reduced, search
from virtio_notifier_spec.scale.spin import available
from virtio_notifier_spec.spec import fragment
from virtio_notifier_spec.spec.load import load_spec

#: Tables of the short run; `make soundness` runs a thousand and more.
SHORT_RUN = 12
TOTAL = Report()


def _load(text: str, tmp: Path):
    (tmp / "t.toml").write_text(text)
    return load_spec(tmp / "t.toml")


@settings(
    max_examples=SHORT_RUN, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(tables())
def test_every_engine_agrees_with_the_explicit_search_on_random_tables(table):
    with tempfile.TemporaryDirectory() as work:
        spec = _load(table.text, Path(work))
        report = differential(spec, "random table", proofs=True, budget=3000)
    TOTAL.add(report)
    assert not report.disagreements, "\n".join(report.disagreements) + "\n\n" + table.text


def test_the_short_run_saw_tables_inside_and_outside_the_support_fragment():
    if TOTAL.tables < SHORT_RUN:
        pytest.skip("runs after the random tables")
    assert TOTAL.compared["support"] and TOTAL.refused["support"] and TOTAL.compared["z3"] == TOTAL.tables


# -- the suite can fail -------------------------------------------------------------


def test_the_suite_catches_an_orbit_search_that_ignores_hidden_queue_comparisons(tmp_path, monkeypatch):
    spec = _load(HIDDEN, tmp_path)
    assert not differential(spec, "hidden").disagreements
    monkeypatch.setattr(reduced, "needs_full_witness", lambda spec: False)  # the old check: only bare `p == q`
    found = differential(spec, "hidden").disagreements
    assert any("orbits at N=2" in d and "inv0: holds vs fails" in d for d in found), found


def test_the_suite_catches_a_cutoff_taken_too_small(tmp_path, monkeypatch):
    spec = _load(AGREE, tmp_path)
    assert not differential(spec, "agree").disagreements
    monkeypatch.setattr(fragment, "check_cutoffs", lambda spec: {"inv0": 1})  # a cutoff taken too small
    found = differential(spec, "agree").disagreements
    assert any("against explicit N=1" in d for d in found), found


def test_the_suite_catches_support_accepting_a_table_outside_its_fragment(tmp_path, monkeypatch):
    spec = _load(COUNTING, tmp_path)
    assert not differential(spec, "counting").disagreements
    for module in (fragment, search):  # a fragment check that lets everything in
        monkeypatch.setattr(module, "support_reason", lambda spec: None)
    found = differential(spec, "counting").disagreements
    assert any("support accepted a table outside its fragment" in d for d in found), found


def test_the_suite_catches_a_proof_of_a_false_property(tmp_path, monkeypatch):
    spec = _load(AGREE, tmp_path)
    real = prove_module.prove

    def proves_everything(spec, **kwargs):
        report = real(spec, **kwargs)
        proofs = tuple(dataclasses.replace(p, verdict=Verdict.PROVED) for p in report.proofs)
        return dataclasses.replace(report, proofs=proofs)

    monkeypatch.setattr(prove_module, "prove", proves_everything)
    found = differential(spec, "agree", proofs=True).disagreements
    assert any("z3 proved inv0" in d for d in found), found


@pytest.mark.skipif(not available(), reason="spin or a C compiler is not installed (make deps)")
def test_the_suite_catches_spin_disagreeing(tmp_path, monkeypatch):
    spec = _load(AGREE, tmp_path)
    from virtio_notifier_spec.scale import promela

    assert not differential(spec, "agree", spin=True, spin_sizes=(2,)).disagreements
    monkeypatch.setattr(promela, "SPIN_OFFSET", 0)  # as if SPIN stored one state fewer than the explorer
    found = differential(spec, "agree", spin=True, spin_sizes=(2,)).disagreements
    assert any("spin at N=2" in d for d in found), found
