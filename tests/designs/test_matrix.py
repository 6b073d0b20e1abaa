"""The verdict matrix: every design is judged as the catalogue pins it, the
README is the one the designs give, and each design module cites its source."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from virtio_notifier_spec.designs.catalogue import DESIGNS
from virtio_notifier_spec.designs.render import render

ROOT = Path(__file__).resolve().parents[2]

# Pinned here as well as in the catalogue: a change of verdict must be made twice, on purpose.
# design -> {property: verdict} for every property that does not hold.
VERDICTS = {
    "qemu_2010": {"fast_path_after_release": "violated", "fast_path_recoverable": "violated"},
    "qemu_2011": {"fast_path_after_release": "violated"},
    "qemu_today": {},
    "kvmtool": {
        "limited_host_no_userspace_ioeventfd": "violated",
        "armed_only_when_driver_ok": "violated",
        "stopped_vm_holds_none_of_ours": "n/a",
        "no_lost_kick": "violated",
        "reset_disarms_ours": "n/a",
        "status_zero_resets": "violated",
        "load_is_history_free": "n/a",
        "assigned_is_armed": "violated",
        "kick_eventually_handled": "violated",
        "fast_path_after_release": "n/a",
        "fast_path_recoverable": "violated",
    },
    "cloud_hypervisor": {
        "limited_host_no_userspace_ioeventfd": "n/a",
        "armed_only_when_driver_ok": "violated",
        "reset_disarms_ours": "n/a",
        "assigned_is_armed": "violated",
        "deassigned_is_unread": "n/a",
        "fast_path_after_release": "n/a",
    },
    "firecracker": {
        "limited_host_no_userspace_ioeventfd": "n/a",
        "stopped_vm_holds_none_of_ours": "violated",
        "reset_disarms_ours": "n/a",
        "assigned_is_armed": "violated",
        "deassigned_is_unread": "n/a",
        "fast_path_after_release": "n/a",
    },
}
DIVERGENCES = {
    "qemu_2010": 9,
    "qemu_2011": 11,
    "qemu_today": 11,
    "kvmtool": 9,
    "cloud_hypervisor": 7,
    "firecracker": 8,
}


VIOLATED_IN_QEMU = {
    "qemu_2010": {"fast_path_after_release", "fast_path_recoverable"},
    "qemu_2011": {"fast_path_after_release"},
    "qemu_today": set(),
}


def test_the_matrix_is_what_the_catalogue_pins(design_matrix):
    assert design_matrix.problems == []
    assert design_matrix.ok


def test_at_least_five_real_designs_each_with_its_environment():
    assert len(DESIGNS) >= 5
    assert {e.env for e in DESIGNS} == {"qemu", "kvmtool", "rust_vmm"}


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_property_verdicts_are_pinned(design_matrix, name):
    result = next(r for r in design_matrix.results if r.entry.name == name)
    found = {v.name: v.verdict for v in result.analysis.verdicts if v.verdict != "holds"}
    assert found == VERDICTS[name]
    assert result.entry.verdicts == VERDICTS[name]
    assert len(result.analysis.groups) == DIVERGENCES[name]


def test_every_violation_and_divergence_comes_with_a_shortest_run(design_matrix):
    for result in design_matrix.results:
        for verdict in result.analysis.verdicts:
            assert (verdict.verdict == "violated") == (verdict.sequence is not None), verdict.name
        for group in result.analysis.groups:
            assert group.count >= 1 and group.detail


def test_the_qemu_designs_violate_no_safety_property_their_callers_can_produce(design_matrix):
    for result in design_matrix.results:
        if result.entry.env == "qemu":
            violated = {v.name for v in result.analysis.verdicts if v.verdict == "violated"}
            # ... but 2010-2011's release leaves the guest on the slow path for ever, and
            # 0.14's fall back after a refusal never ends (liveness)
            assert violated == VIOLATED_IN_QEMU[result.entry.name]
            # the adversarial environment makes the same code look far worse
            assert result.contrast is not None
            assert len(result.contrast.groups) > len(result.analysis.groups)


def test_every_design_is_run_through_the_oracle(design_matrix):
    for result in design_matrix.results:
        assert result.drive is not None and len(result.drive.results) > 50
        assert result.drive.implementation == f"design:{result.entry.name}"


def test_readme_is_the_one_the_designs_give(design_matrix):
    # `make designs` rewrites it; a stale one fails here
    assert (ROOT / "designs" / "README.md").read_text(encoding="utf-8") == render(design_matrix)


def test_readme_shows_every_design_with_its_source_commits():
    text = (ROOT / "designs" / "README.md").read_text(encoding="utf-8")
    for design in DESIGNS:
        assert f"](#{design.name})" in text
        for source in design.sources:
            assert re.search(r"@ [0-9a-f]{12}", source), source
            assert source in text


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: d.name)
def test_each_design_module_starts_with_its_source(design):
    module = importlib.import_module(design.design.__module__)
    doc = module.__doc__ or ""
    assert "Source read" in doc and "What it abstracts" in doc
    assert re.search(r"\b[0-9a-f]{40}\b", doc), "a full commit hash"
    assert re.search(r"``[a-z_]+``", doc), "the functions it follows"
