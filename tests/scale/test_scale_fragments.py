"""The reductions claim only what their arguments cover (spec/fragment.py,
scale/README.md): a queue comparison in any form makes the orbit search step
every queue, and keeps the support abstraction away; so does a quantifier
in a device effect, a `when` or a row, and an existential property. The
first tests are tables that got wrong answers before."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.explore import explore as explore_plain
from virtio_notifier_spec.scale.search import ORBIT_LIMIT, explore, explore_every
from virtio_notifier_spec.scale.symmetry import SupportError, support_cutoff, support_refusal
from virtio_notifier_spec.spec.fragment import check_cutoffs, queue_comparison, support_reason, witness_reason
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec
from virtio_notifier_spec.spec.parse import parse_expr
from virtio_notifier_spec.spec.resolve import Context, resolve_bool

RESET_EFFECTS = 'effects = ["our_fd := false", "handler := none", "pending := false"]\nwhy = "g: a reset'
LIMIT_RULE = 'guard = "value == driver_ok and running and not limited and assign_ok"'


def _hidden_distinct(names: list[str]) -> str:
    """``a != b`` for every pair, each side written through an ``if``."""
    return " and ".join(
        f"(if true then {a} else {a}) != (if true then {b} else {b})" for a, b in itertools.combinations(names, 2)
    )


def _at_least(n: int, body: str = "true") -> str:
    names = [f"x{i}" for i in range(n)]
    inner = " and ".join(body.format(q=q) for q in names)
    return " ".join(f"exists {q}:" for q in names) + f" {_hidden_distinct(names)} and {inner}"


def _table(tmp_path: Path, *, variant: dict[str, str] | None = None, common: dict[str, str] | None = None, extra=""):
    """resolved with text replaced in its files, and ``extra`` appended."""
    texts = {"common.toml": (SPEC_DIR / "common.toml").read_text(), "t.toml": (SPEC_DIR / "resolved.toml").read_text()}
    for name, edits in (("t.toml", variant or {}), ("common.toml", common or {})):
        for old, new in edits.items():
            assert old in texts[name], old
            texts[name] = texts[name].replace(old, new, 1)
    texts["t.toml"] += extra
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    return tmp_path / "t.toml"


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def _verdicts(result) -> dict[str, int]:
    return {name: len(cx.trace) for name, cx in result.counterexamples.items()}


# -- reproduction 1: a queue comparison hidden behind an `if` --------------------
_NO_TWO_IDLE_GUARD = "(if true then p else p) != (if true then q else q) =>"
NO_TWO_IDLE = f"""
[[properties]]
name = "no_two_idle_assigned"
kind = "invariant"
expr = "forall p: forall q: {_NO_TWO_IDLE_GUARD} not (state[p] == assigned and not pending[p] and {{q}})"
rationale = "At most one queue is assigned and idle (a probe of the reductions)."
""".replace("{q}", "state[q] == assigned and not pending[q]")


def test_a_comparison_hidden_in_an_if_is_seen_by_the_orbit_search_and_refused_by_support(tmp_path):
    path = _table(tmp_path, extra=NO_TWO_IDLE)
    spec = load_spec(path)
    full = explore_plain(spec, 2)
    orbits = explore(spec, 2, symmetry=True)
    assert _verdicts(full) == _verdicts(orbits) == {"no_two_idle_assigned": 1}
    assert orbits.notes and "compares queues" in orbits.notes[0]
    check = _run("check", "--spec", str(path), "--queues", "2", "--symmetry", "--quiet")
    assert check.exit_code == 1 and "no_two_idle_assigned FAILS" in check.output and "note:" in check.output
    scale = _run("scale", "--spec", str(path), "--queues", "1024")
    assert scale.exit_code == 2 and "Traceback" not in scale.output
    assert f"{path}:" in scale.output and "properties.expr" in scale.output and "compares queues" in scale.output
    small = _run("scale", "--spec", str(path), "--queues", "3")  # every N up to 3 by orbit searches
    assert small.exit_code == 1 and "exact for every N" not in small.output


def test_an_effect_that_counts_three_idle_assigned_queues_leaks_under_every_search(tmp_path):
    leak = _at_least(3, "state[{q}] == assigned and not pending[{q}]")
    path = _table(tmp_path, variant={RESET_EFFECTS: RESET_EFFECTS.replace('"our_fd := false"', f'"our_fd := {leak}"')})
    spec = load_spec(path)
    full = explore_plain(spec, 3)
    assert "no_leaked_ioeventfd" in full.counterexamples
    assert _verdicts(explore(spec, 3, symmetry=True)) == _verdicts(full)
    assert "no_leaked_ioeventfd" in explore(spec, 4, symmetry=True).counterexamples
    assert "compares queues" in str(support_refusal(spec))
    assert _run("scale", "--spec", str(path)).exit_code == 2


# -- reproduction 2: a device effect that counts queues ---------------------------

MANY = """[[variables]]
name = "many"
scope = "device"
type = "bool"
init = false
doc = "The device has at least so many queues (a probe of the support abstraction)."

[[variables]]
name = "vhost_fd\""""


def _counting(tmp_path: Path, n: int) -> Path:
    return _table(
        tmp_path,
        common={
            '[[variables]]\nname = "vhost_fd"': MANY,
            'effects = ["status := value"]': f'effects = ["status := value", "many := {_at_least(n)}"]',
        },
        variant={LIMIT_RULE: LIMIT_RULE.replace("not limited", "(not limited or many)")},
    )


def test_a_device_effect_that_counts_queues_is_refused_by_support_and_found_by_orbits(tmp_path):
    spec = load_spec(_counting(tmp_path, 3))
    reason = support_reason(spec)
    assert reason.field == "events.effects" and reason.what == "event set_status" and reason.line is not None
    with pytest.raises(SupportError, match="set_status"):
        explore(spec, 1024, symmetry="support")
    with pytest.raises(SupportError):
        support_cutoff(spec)
    assert explore(spec, 2, symmetry=True).ok
    at3 = explore(spec, 3, symmetry=True)
    assert _verdicts(at3) == _verdicts(explore_plain(spec, 3))
    assert len(at3.counterexamples["limited_host_no_userspace_ioeventfd"].trace) == 2


def test_scale_never_says_exact_for_every_n_outside_the_support_fragment(tmp_path):
    path = _counting(tmp_path, 7)  # the limit is broken from 7 queues on
    run = _run("scale", "--spec", str(path), "--queues", "1024")
    assert run.exit_code == 2 and "exact for every N" not in run.output
    assert "events.effects" in run.output and "support abstraction cannot decide every N up to 1024" in run.output


# -- what is queue-related, on the typed tree ----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "forall p: forall q: p == q",
        "forall p: forall q: (if true then p else p) != q",
        "forall p: forall q: (if (if true then false else true) then p else q) == q",
        "forall p: forall q: not ((p == q) == false)",
        "forall p: forall q: (if p == q then true else false)",
        "forall p: exists q: (if true then (if false then q else p) else q) != p",
    ],
)
def test_a_comparison_of_queues_is_found_in_every_form(text):
    expr = resolve_bool(parse_expr(text), Context({}, {}, {}))
    assert queue_comparison(expr) is not None


def test_comparisons_of_values_read_from_queues_do_not_count(tmp_path):
    path = _table(tmp_path, extra=NO_TWO_IDLE.replace(_NO_TWO_IDLE_GUARD, "state[p] == state[q] =>"))
    spec = load_spec(path)
    assert witness_reason(spec) is None and support_reason(spec) is None
    assert check_cutoffs(spec)["no_two_idle_assigned"] == 2


HANDLE_WHEN = 'when = "pending[queue] and handler[queue] != none"'
VM_STOP_WHEN = 'when = "running"\neffects = ["running := false"]'


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (
            {VM_STOP_WHEN: VM_STOP_WHEN.replace('"running"', '"running and (forall q: not pending[q])"')},
            "events.when",
            "may read only the device",
        ),
        (
            {HANDLE_WHEN: HANDLE_WHEN.replace('none"', 'none and (exists p: pending[p])"')},
            "events.when",
            "the device and its target",
        ),
    ],
)
def test_a_quantifier_in_a_when_is_outside_the_support_fragment(tmp_path, edit, field, words):
    spec = load_spec(_table(tmp_path, common=edit))
    reason = support_reason(spec)
    assert reason.field == field and words in reason.message
    result = explore(spec, ORBIT_LIMIT + 1, symmetry=True, max_states=50)
    assert result.reduction == "orbits" and any("support abstraction refused" in n for n in result.notes)


def test_a_row_that_reads_another_queue_is_outside_the_support_fragment(tmp_path):
    spec = load_spec(
        _table(
            tmp_path, variant={LIMIT_RULE: LIMIT_RULE.replace("assign_ok", "assign_ok and (forall p: not pending[p])")}
        )
    )
    reason = support_reason(spec)
    assert reason.what == "row assign_on_driver_ok" and reason.field == "transitions.guard"


def test_an_existential_property_is_outside_the_support_fragment(tmp_path):
    extra = NO_TWO_IDLE.replace(
        f"forall p: forall q: {_NO_TWO_IDLE_GUARD}", "status == driver_ok and running => exists p:"
    )
    extra = extra.replace(" and state[q] == assigned and not pending[q])", ")")
    spec = load_spec(_table(tmp_path, extra=extra))
    reason = support_reason(spec)
    assert reason.what == "property no_two_idle_assigned" and "exists p is not universal" in reason.message


AGREE = """
[[properties]]
name = "queues_agree"
kind = "invariant"
expr = "forall p: forall q: state[p] == state[q]"
rationale = "Every queue is in one state (false: a probe of the cutoff)."
"""


def test_the_cutoff_is_the_queues_a_property_names_and_smaller_n_are_searched(tmp_path):
    spec = load_spec(_table(tmp_path, extra=AGREE))
    assert support_cutoff(spec) == 2
    runs = explore_every(spec, 1024)
    assert [(r.queues, r.reduction, r.verdict("queues_agree")) for r in runs] == [
        (1, "orbits", "holds"),
        (1024, "support", "fails"),
    ]
    assert runs[-1].cutoff == 2
    assert explore(spec, 2, symmetry="orbits").verdict("queues_agree") == "fails"
    # below the cutoff a support search is not run: the orbit search is, with a note
    below = explore(spec, 1, symmetry="support")
    assert below.reduction == "orbits" and "exact from 2 queues on" in below.notes[0]


def test_a_step_property_of_a_per_queue_event_needs_its_target_and_one_more(tmp_path):
    extra = """
[[properties]]
name = "take_keeps_the_rest"
kind = "step"
events = ["set_host_notifier"]
expr = "forall p: state'[p] == offlimits or state'[p] == state[p]"
rationale = "A take or release moves no queue but vhost's (a probe of the cutoff)."
"""
    spec = load_spec(_table(tmp_path, extra=extra))
    assert check_cutoffs(spec)["take_keeps_the_rest"] == 2
    assert explore(spec, 1024, symmetry="support").cutoff == 2


def test_resolved_is_decided_for_every_n_by_one_queue():
    spec = load_spec("resolved")
    assert support_cutoff(spec) == 1 and set(check_cutoffs(spec).values()) == {1}
