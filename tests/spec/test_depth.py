"""Deep and long expressions: refused past the documented limit with a located
line by every command, and accepted up to it by every interpreter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.scale.promela import to_promela
from virtio_notifier_spec.spec.errors import ExpressionError
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec
from virtio_notifier_spec.spec.parse import MAX_DEPTH, parse_expr
from virtio_notifier_spec.spec.shape import depth
from virtio_notifier_spec.spec.text import to_text

B_GUARD = "value == driver_ok and running and not limited and assign_ok"
E_GUARD = "not assign and not limited and status == driver_ok and running and assign_ok"


def table(folder: Path, b: str = B_GUARD, e: str = E_GUARD) -> Path:
    """A copy of resolved with row b's and row e's guards replaced."""
    shutil.copy(SPEC_DIR / "common.toml", folder / "common.toml")
    text = (SPEC_DIR / "resolved.toml").read_text()
    assert f'guard = "{B_GUARD}"' in text and f'guard = "{E_GUARD}"' in text
    text = text.replace(f'guard = "{B_GUARD}"', f'guard = "{b}"', 1).replace(f'guard = "{E_GUARD}"', f'guard = "{e}"')
    path = folder / "deep.toml"
    path.write_text(text)
    return path


def b_guard_line(path: Path) -> int:
    lines = path.read_text().splitlines()
    row = lines.index('name = "assign_on_driver_ok"')
    return next(n for n in range(row, len(lines)) if lines[n].startswith("guard = ")) + 1


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


# The expressions that crashed every command with RecursionError.
TOO_DEEP = {
    "150 parentheses": "(" * 150 + B_GUARD + ")" * 150,
    "5000 not": "not " * 5000 + "not (" + B_GUARD + ")",
    "3000 nested if": "if running then " * 3000 + B_GUARD + " else false" * 3000,
    "a 40-step implication chain": " => ".join(["running"] * 40) + " and " + B_GUARD,
}


def commands(path: Path, trace: Path) -> list[list[str]]:
    return [
        ["validate", str(path)],
        ["check", "--spec", str(path), "--queues", "1", "--quiet"],
        ["prove", "--spec", str(path)],
        ["draw", "--spec", str(path), "--format", "ascii", "--out", "-"],
        ["show", "--spec", str(path)],
        ["diff", "resolved", str(path), "--queues", "1"],
        ["oracle", "check", str(trace)],
    ]


def trace_for(path: Path) -> Path:
    header = {"format": "virtio-notifier-trace", "version": 1, "variant": str(path), "queues": 1, "limited": False}
    event = {"event": "set_status", "args": {"value": "driver_ok", "assign_ok": True}}
    observed = {"observed": {"queues": [{"state": "assigned"}]}}
    trace = path.with_suffix(".jsonl")
    trace.write_text(json.dumps(header) + "\n" + json.dumps(event | observed) + "\n")
    return trace


@pytest.mark.parametrize("guard", TOO_DEEP.values(), ids=TOO_DEEP.keys())
def test_too_deep_an_expression_is_one_located_line_and_exit_2_for_every_command(tmp_path, guard):
    path = table(tmp_path, b=guard)
    line = b_guard_line(path)
    for args in commands(path, trace_for(path)):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith(f"error: {path}:{line}: transitions.guard: "), (args, result.stderr)
        assert f"the limit of {MAX_DEPTH} levels" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, args


def test_nesting_is_refused_at_the_column_where_it_passes_the_limit():
    text = "not " * 40 + "running"
    expected = f"nested deeper than the limit of {MAX_DEPTH} levels at column {4 * MAX_DEPTH + 1}"
    with pytest.raises(ExpressionError, match=expected):
        parse_expr(text)


def test_long_chains_at_every_level_add_up_and_are_refused_past_the_limit():
    text = "running"
    for _ in range(4):  # each level: a 300-term chain, its last operand `not` the level below
        text = " and ".join(["running"] * 299 + [f"not ({text})"])
    with pytest.raises(ExpressionError, match=f"nests {depth_of(4)} levels deep, past the limit of {MAX_DEPTH} levels"):
        parse_expr(text)


def depth_of(levels: int) -> int:
    return levels * 9 + 1  # per level: 8 `and` nodes down to the chain's last operand, `not`; then the name


def test_a_flat_chain_of_500_terms_nests_logarithmically_and_prints_back_flat():
    text = " and ".join(f"x{i}" for i in range(500))
    tree = parse_expr(text)
    assert depth(tree) == 10  # nine levels of `and`, then the names
    assert to_text(tree) == text
    assert to_text(parse_expr(" or ".join(f"({text})" for _ in range(3)))).count("(") == 0


def test_an_expression_at_the_limit_and_a_500_term_chain_work_in_every_interpreter(tmp_path):
    at_limit = "not " * (MAX_DEPTH - 4) + f"({B_GUARD})"  # an even number of `not`: the same guard
    assert depth(parse_expr(at_limit)) == MAX_DEPTH
    long = E_GUARD + " and running" * 495
    path = table(tmp_path, b=at_limit, e=long)
    spec = load_spec(path)
    assert len(to_text(next(r for r in spec.transitions if r.letter == "e").guard).split(" and ")) == 500
    assert "running" in to_promela(spec, 2)  # the SPIN export
    for args in commands(path, trace_for(path)):
        result = run(*args)
        if args[0] == "diff":  # two guards written differently, every verdict the same
            assert result.exit_code == 1 and "no verdict changed" in result.output, result.output
            continue
        assert result.exit_code == 0, (args, result.output)
        assert "Traceback" not in result.output
