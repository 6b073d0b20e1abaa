"""Two rows that can fire together are found by Z3, whatever the number of
variables their guards read, with a valuation where both do."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Edit
from hypothesis import given, settings
from hypothesis import strategies as st

from virtio_notifier_spec.spec.concrete import Layout, State, compile_expr
from virtio_notifier_spec.spec.errors import TableError
from virtio_notifier_spec.spec.expr import Param, Var, walk
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec
from virtio_notifier_spec.spec.overlap import first_overlap
from virtio_notifier_spec.spec.parse import parse_expr
from virtio_notifier_spec.spec.resolve import Context, resolve_bool

SPEC = load_spec("resolved")
EVENT = SPEC.event("set_host_notifier")
ROW = next(r for r in SPEC.transitions if r.name == "release_to_pio")
CTX = Context(
    {v.name: v for v in SPEC.variables},
    {value: t for t in SPEC.types for value in t.values},
    {p.name: p.type for p in EVENT.params},
    in_queue=True,
)
LAYOUT = Layout.of(SPEC)


def wide_table(folder: Path, overlap: bool, width: int = 24) -> Path:
    """resolved, plus 2 x ``width`` booleans and an event with two rows, each
    guarded by ``width`` of them; the second also by `not f0` unless ``overlap``."""
    names = [f"f{i}" for i in range(width)] + [f"g{i}" for i in range(width)]
    extra = [f'[[variables]]\nname = "{n}"\nscope = "device"\ntype = "bool"\ninit = false\ndoc = "x"\n' for n in names]
    extra.append('[[events]]\nname = "probe"\ndoc = "reads many flags"\n')
    first = " and ".join(names[:width])
    second = " and ".join(names[width:]) + ("" if overlap else " and not f0")
    for name, guard in (("first", first), ("second", second)):
        extra.append(
            f'[[transitions]]\nname = "{name}"\nevent = "probe"\nfrom = "deassigned"\nguard = "{guard}"\nwhy = "x"\n'
        )
    (folder / "common.toml").write_text((SPEC_DIR / "common.toml").read_text())
    path = folder / "wide.toml"
    path.write_text((SPEC_DIR / "resolved.toml").read_text() + "\n" + "\n".join(extra))
    return path


def test_guards_over_48_booleans_are_decided_without_enumerating_them(tmp_path):
    # Enumerating 2^48 valuations never ends: run it apart, so that a
    # regression fails here instead of hanging the suite.
    path = wide_table(tmp_path, overlap=True)
    command = [sys.executable, "-m", "virtio_notifier_spec", "validate", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the overlap check did not finish")
    assert done.returncode == 2
    line = path.read_text().splitlines().index('name = "second"') + 4  # its guard, counted from 1
    assert done.stderr.startswith(f"error: {path}:{line}: transitions.guard: two transitions enabled")
    assert "first" in done.stderr and "second" in done.stderr
    assert "f0 = true" in done.stderr and "g23 = true" in done.stderr


def test_disjoint_guards_over_48_booleans_are_accepted(tmp_path):
    assert load_spec(wide_table(tmp_path, overlap=False)).event("probe")


def test_the_witness_names_both_rows_and_makes_both_guards_hold(broken_path):
    with pytest.raises(TableError) as info:
        load_spec(broken_path("resolved", Edit("release_to_pio", "guard", '"not assign and not limited"')))
    assert "release_to_assigned" in str(info.value) and "release_to_pio" in str(info.value)
    assert "when assign = false, assign_ok = true, limited = false, running = true, status = driver_ok" in str(
        info.value
    )


# -- Z3 agrees with enumerating every valuation, on guards small enough to enumerate --

ATOMS = st.sampled_from(
    [
        "limited",
        "running",
        "our_fd",
        "pending",
        "assign",
        "assign_ok",
        "status == driver_ok",
        "status != zero",
        "handler == ours",
        "handler == vhost",
        "true",
        "false",
    ]
)


def guards(depth: int = 3):
    return st.recursive(
        ATOMS,
        lambda inner: st.one_of(
            inner.map(lambda x: f"not ({x})"),
            st.tuples(inner, st.sampled_from(["and", "or", "=>"]), inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
            st.tuples(inner, inner, inner).map(lambda t: f"if {t[0]} then {t[1]} else {t[2]}"),
        ),
        max_leaves=6,
    )


def enumerate_overlap(first, second) -> bool:
    exprs = [first, second]
    read = sorted({n.name for e in exprs for n in walk(e) if isinstance(n, Var | Param)} - {"state"})
    types = {v.name: v.type for v in SPEC.variables} | {p.name: p.type for p in EVENT.params}
    compiled = [compile_expr(e, LAYOUT) for e in exprs]
    for values in itertools.product(*(types[n].values for n in read)):
        env = dict(zip(read, values, strict=True))
        if all(f(state(env), None, env, 0) for f in compiled):
            return True
    return False


def state(env: dict) -> State:
    device = tuple(env.get(v.name, v.init[0]) for v in SPEC.device_variables)
    queue = tuple("offlimits" if v.name == "state" else env.get(v.name, v.init[0]) for v in SPEC.queue_variables)
    return State(device, (queue,))


@settings(max_examples=60, deadline=None)
@given(guards(), guards())
def test_z3_finds_an_overlap_exactly_when_some_valuation_fires_both(first_text, second_text):
    first, second = (resolve_bool(parse_expr(t), CTX) for t in (first_text, second_text))
    rows = [dataclasses.replace(ROW, name="one", guard=first), dataclasses.replace(ROW, name="two", guard=second)]
    found = first_overlap(SPEC, EVENT, "offlimits", rows)
    assert (found is not None) == enumerate_overlap(first, second)
    if found is not None:
        env = {name: {"true": True, "false": False}.get(value, value) for name, value in found.witness}
        for guard in (first, second):
            assert compile_expr(guard, LAYOUT)(state(env), None, env, 0)


def test_a_question_z3_cannot_decide_is_never_read_as_no_overlap(monkeypatch):
    import z3

    from virtio_notifier_spec.spec.overlap import _Encoding

    monkeypatch.setattr(z3.Solver, "check", lambda self, *a: z3.unknown)
    monkeypatch.setattr(z3.Solver, "reason_unknown", lambda self: "canceled")
    encoding = _Encoding({}, "deassigned", load_spec("resolved").states)
    with pytest.raises(RuntimeError, match="could not decide"):
        encoding.sat(z3.BoolVal(True, encoding.context))
