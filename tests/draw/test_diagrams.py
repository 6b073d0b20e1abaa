"""The drawings say what the table says: every row drawn once, every state
and step counted, bad states red, counterexamples numbered, differences
found; and each of these checks fails on a table broken for it."""

from __future__ import annotations

import doctest
import importlib
import re

import pytest
from conftest import Edit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virtio_notifier_spec.draw.ascii import WIDTH, machine_ascii
from virtio_notifier_spec.draw.counterexample import counterexample_dot, trace_text
from virtio_notifier_spec.draw.diff import diff_text, spec_diff
from virtio_notifier_spec.draw.dot import Graph, quote
from virtio_notifier_spec.draw.labels import guard_text, wrap
from virtio_notifier_spec.draw.machine import machine_dot
from virtio_notifier_spec.draw.reachable import BAD_FILL, collect, listing, reachable_dot
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.model.report import counterexample_text
from virtio_notifier_spec.spec.load import load_spec

VARIANTS = ("proposal", "resolved")
DRAIN = '["our_fd := false", "handler := none", "pending := false"]'


def arrow_labels(dot: str) -> list[str]:
    """The labels of the arrows' label nodes, as DOT text."""
    return re.findall(r'^\s*"label\d+" \[.*?label="((?:[^"\\]|\\.)*)"', dot, re.M)


@pytest.mark.parametrize(
    "module", ["dot", "labels", "machine", "layout", "ascii", "reachable", "counterexample", "diff"]
)
def test_draw_docstring_examples_run(module):
    found = importlib.import_module(f"virtio_notifier_spec.draw.{module}")
    result = doctest.testmod(found)
    assert result.failed == 0


def test_dot_strings_are_quoted_so_labels_cannot_break_the_file():
    assert quote('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c\\nd"'
    g = Graph("x")
    g.node("n", label='say "hi"')
    assert 'label="say \\"hi\\""' in g.text()


@pytest.mark.parametrize("variant", VARIANTS)
def test_machine_draws_one_arrow_per_changing_row_and_source(variant):
    spec = load_spec(variant)
    labels = arrow_labels(machine_dot(spec))
    expected = [(r, s) for r in spec.transitions if not r.quiet for s in r.sources]
    assert len(labels) == len(expected)
    for (row, _), label in zip(expected, labels, strict=True):
        text = label.replace("\\n", " ")
        assert text.startswith(f"{row.letter}. {row.event}" if row.letter else f"{row.name}: {row.event}")
        if row.guard is not None and not row.otherwise:
            assert guard_text(row) in text.replace("[", "").replace("]", "")


@pytest.mark.parametrize("variant", VARIANTS)
def test_machine_lists_every_quiet_row_in_its_legend_and_draws_none(variant):
    spec = load_spec(variant)
    dot = machine_dot(spec)
    quiet = [r for r in spec.transitions if r.quiet]
    assert quiet
    legend = dot[dot.index('"legend"') :]
    for row in quiet:
        assert row.name in legend
        assert all(row.name not in label for label in arrow_labels(dot))


def test_machine_drawing_fails_to_match_when_a_row_is_added(broken):
    spec = broken("resolved", Edit("reset_leaves_queue", None))
    assert len(arrow_labels(machine_dot(spec))) == len(arrow_labels(machine_dot(load_spec("resolved"))))
    spec = broken("resolved", Edit("vhost_takes_again", "effects", '["pending := false"]'))
    assert len(arrow_labels(machine_dot(spec))) == len(arrow_labels(machine_dot(load_spec("resolved")))) + 1


def test_machine_places_states_as_the_message_drew_them():
    dot = machine_dot(load_spec("resolved"))
    assert '{rank=same; "assigned";}' in dot
    assert re.search(r'\{rank=same; .*"offlimits"; "deassigned"; "start";\}', dot)
    assert '"deassigned" -> "start" [dir="back"' in dot


@pytest.mark.parametrize("variant", VARIANTS)
def test_ascii_machine_is_no_wider_than_72_columns_and_tags_every_row(variant):
    spec = load_spec(variant)
    text = machine_ascii(spec)
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert "offlimits" in text and "deassigned <-- start (a.)" in text
    for row in spec.transitions:
        assert row.name in text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.sampled_from(["b", "c", "d", "e", "f", "g", None]), min_size=6, max_size=6),
    st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=30),
)
def test_ascii_machine_stays_within_72_columns_whatever_the_letters_and_names(letters, suffix):
    spec = load_spec("resolved")
    movers = [r for r in spec.transitions if not r.quiet][:6]
    rows = {r.name: r for r in spec.transitions}
    for row, letter in zip(movers, letters, strict=True):
        rows[row.name] = type(row)(
            **{**{f: getattr(row, f) for f in row.__slots__}, "letter": letter, "name": row.name + suffix}
        )
    changed = type(spec)(**{**{f: getattr(spec, f) for f in spec.__slots__}, "transitions": tuple(rows.values())})
    assert max(len(line) for line in machine_ascii(changed).splitlines()) <= WIDTH


def test_wrap_prefers_to_break_before_operators():
    assert wrap("not assign and not limited and status == driver_ok", 24) == [
        "not assign",
        "and not limited",
        "and status == driver_ok",
    ]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("queues", [1, 2])
def test_reachable_graph_has_the_explorers_states_and_steps(variant, queues):
    spec = load_spec(variant)
    graph = collect(spec, queues)
    run = explore(spec, queues)
    assert (len(graph.states), len(graph.edges)) == (run.states, run.transitions)
    assert graph.states[0] in {s for s in graph.states}


def test_reachable_graph_is_red_exactly_where_an_invariant_breaks(broken):
    assert BAD_FILL not in reachable_dot(collect(load_spec("resolved"), 1))
    assert BAD_FILL in reachable_dot(collect(load_spec("proposal"), 1))
    lossy = broken("resolved", Edit("reset", "effects", '["our_fd := false", "handler := none"]'))
    graph = collect(lossy, 1)
    assert any("no_lost_kick" in names for names in graph.broken.values())
    assert BAD_FILL in reachable_dot(graph)


def test_small_graphs_are_drawn_state_by_state_and_large_ones_summarised():
    graph = collect(load_spec("resolved"), 1)
    full = reachable_dot(graph, limit=1000)
    assert len(re.findall(r'^\s*"s\d+" \[', full, re.M)) == len(graph.states)
    summary = reachable_dot(collect(load_spec("proposal"), 2))
    assert "summary" in summary and "424 states" in summary
    assert len(re.findall(r'^\s*"c\d+" \[', summary, re.M)) == 6  # 3 states, 2 queues, up to order


def test_reachable_listing_names_every_state_and_the_broken_properties():
    graph = collect(load_spec("proposal"), 1)
    text = listing(graph)
    assert all(f"s{i}" in text for i in range(len(graph.states)))
    assert "BREAKS no_lost_kick" in text


def test_counterexample_is_a_numbered_path_with_its_text_trace_beside():
    run = explore(load_spec("proposal"), 1)
    cx = run.counterexamples["no_lost_kick"]
    labels = [x.replace("\\n", " ") for x in arrow_labels(counterexample_dot(run, cx))]
    assert [x.split(" ")[0] for x in labels] == ["1.", "2.", "3."]
    assert labels[0].startswith("1. q0 b set_status(value=driver_ok")
    assert labels[2].startswith("3. q0 g reset()")
    assert trace_text(run, cx) == counterexample_text(run, cx) + "\n"


def test_counterexample_marks_a_step_that_changes_no_row_as_dashed():
    run = explore(load_spec("proposal"), 1)
    dot = counterexample_dot(run, run.counterexamples["status_zero_resets"])
    assert "2. set_status(value=zero" in dot and 'style="dashed"' in dot


def test_diff_of_a_table_with_itself_is_all_the_same():
    spec = load_spec("resolved")
    runs = [explore(spec, 1)]
    diff = spec_diff(spec, spec, runs, runs)
    assert {c.kind for c in diff.changes} == {"same"}
    assert not diff.verdicts and not diff.quiet_old and not diff.quiet_new


def test_diff_finds_changed_effects_and_the_verdict_they_change(broken):
    old = load_spec("resolved")
    new = broken("resolved", Edit("reset", "effects", '["our_fd := false", "handler := none"]'))
    diff = spec_diff(old, new, [explore(old, 1)], [explore(new, 1)])
    changed = [c for c in diff.changes if c.kind != "same"]
    assert [(c.row.name, c.what) for c in changed] == [("reset", ("effects",))]
    # the kick left behind is read by nobody: `handle` is not offered, the table stays complete
    assert diff.verdicts == (("no_lost_kick", "holds", "fails"),)
    assert "effect - pending := false" in diff_text(diff)


def test_diff_finds_a_changed_guard(broken):
    guard = '"not assign and not limited and status == driver_ok and running and assign_ok and vhost_fd"'
    new = broken("resolved", Edit("release_to_assigned", "guard", guard))
    diff = spec_diff(load_spec("resolved"), new)
    changed = [c for c in diff.changes if c.kind != "same"]
    assert [(c.row.name, c.what) for c in changed] == [("release_to_assigned", ("guard",))]
    assert "and vhost_fd" in diff_text(diff)


def test_diff_proposal_to_resolved_shows_added_removed_and_changed_rows():
    diff = spec_diff(load_spec("proposal"), load_spec("resolved"))
    kinds = {c.row.name: c.kind for c in diff.changes}
    assert kinds["assign_on_load"] == "removed"
    assert kinds["release_to_pio"] == "added"
    assert kinds["release_to_assigned"] == "changed"
    assert max(len(x) for x in diff_text(diff).splitlines()) <= WIDTH
