"""The packed orbit and support searches against the reduced explorer: the
same states, transitions, depth, rows fired, verdicts, cutoff and concrete
counterexamples, byte for byte, on both variants, on broken tables and on
runs stopped by --max-states; and tables they cannot serve stay with the
reduced explorer."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest
from conftest import Edit

from virtio_notifier_spec.model.report import counterexample_text, exploration_json
from virtio_notifier_spec.scale.packed_reduced import packed_reduced_refusal
from virtio_notifier_spec.scale.search import explore
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import PropertyKind


def _broken_tables():
    """The deliberately broken tables of tests/model/test_table_mutations.py."""
    path = Path(__file__).parents[1] / "model" / "test_table_mutations.py"
    spec = importlib.util.spec_from_file_location("table_mutations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BREAKS, module.GHOST, module.GREEDY_RESET


BREAKS, GHOST, GREEDY_RESET = _broken_tables()


def _document(result) -> str:
    document = exploration_json(result)
    document.pop("seconds")
    document["text"] = [counterexample_text(result, cx) for cx in result.counterexamples.values()]
    return json.dumps(document, sort_keys=True, indent=1)


def _same(spec, queues: int, mode: str, **limits) -> None:
    general = _document(explore(spec, queues, symmetry=mode, engine="general", **limits))
    assert _document(explore(spec, queues, symmetry=mode, engine="packed", **limits)) == general


@pytest.mark.parametrize(
    ("variant", "queues"), [("resolved", n) for n in (1, 3, 6)] + [("proposal", n) for n in (1, 2)]
)
def test_packed_orbit_search_reports_what_the_reduced_explorer_reports(variant, queues):
    _same(load_spec(variant), queues, "orbits")


@pytest.mark.parametrize("env", ["qemu", "kvmtool"])
def test_packed_orbit_search_agrees_in_environment_profiles(env):
    _same(load_spec("proposal", env), 2, "orbits")


@pytest.mark.parametrize(("variant", "queues"), [("resolved", 12), ("resolved", 100)])
def test_packed_support_search_reports_what_the_reduced_explorer_reports(variant, queues):
    _same(load_spec(variant), queues, "support")


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_packed_orbit_search_agrees_on_every_broken_table(broken, name):
    _, edits, _ = BREAKS[name]
    spec = broken("resolved", *edits, extra=GHOST if name == "no_dead_transition" else "")
    _same(spec, 2, "orbits")


def test_packed_support_search_agrees_on_a_table_broken_at_scale(broken):
    spec = broken("resolved", Edit("assign_on_driver_ok", "guard", '"value == driver_ok and running and assign_ok"'))
    _same(spec, 16, "support")


def test_packed_search_agrees_on_two_alike_queues_that_end_apart():
    spec = load_spec("proposal")
    history = next(p for p in spec.properties if p.kind is PropertyKind.HISTORY_FREE)
    changed = dataclasses.replace(history, inputs=("limited", "running"), events=("reset",))
    spec = dataclasses.replace(spec, properties=tuple(changed if p is history else p for p in spec.properties))
    _same(spec, 3, "orbits")


@pytest.mark.parametrize(("mode", "queues", "limit"), [("orbits", 6, 100), ("support", 64, 40), ("orbits", 3, 1)])
def test_max_states_stops_a_packed_reduced_search_on_the_same_edge(mode, queues, limit):
    _same(load_spec("proposal"), queues, mode, max_states=limit)


def test_tables_the_packed_searches_cannot_serve_stay_with_the_reduced_explorer(broken):
    spec = broken("resolved", extra=GREEDY_RESET)
    assert "greedy_reset: reads another queue" in packed_reduced_refusal(spec, 4)
    assert "deterministic" in explore(spec, 2, symmetry="orbits").counterexamples
    assert "bits per orbit" in packed_reduced_refusal(load_spec("resolved"), 2**40)
