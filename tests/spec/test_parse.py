"""The expression language: one grammar, parsed without eval, printed back exactly."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from virtio_notifier_spec.spec.errors import ExpressionError
from virtio_notifier_spec.spec.expr import BOOL, BoolOp, Compare, Literal, Not, Quantifier
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.parse import parse_effect, parse_expr
from virtio_notifier_spec.spec.resolve import Context, resolve_bool
from virtio_notifier_spec.spec.text import to_text

SPEC = load_spec("resolved")
VARIABLES = {v.name: v for v in SPEC.variables}
LITERALS = {value: t for t in SPEC.types for value in t.values}


def test_precedence_binds_not_then_and_then_or_then_implies():
    tree = parse_expr("not a or b and c => d")
    assert isinstance(tree, BoolOp) and tree.op == "=>"
    assert tree.left.op == "or"
    assert isinstance(tree.left.left, Not)
    assert tree.left.right.op == "and"


def test_implication_is_right_associative():
    tree = parse_expr("a => b => c")
    assert tree.right.op == "=>"


def test_quantifier_scopes_to_the_end():
    tree = parse_expr("forall q: a[q] and b[q]")
    assert isinstance(tree, Quantifier) and tree.body.op == "and"


@pytest.mark.parametrize(
    "source, expected",
    [
        ("a ==", "expected a value"),
        ("a b", "expected end of text"),
        ("a & b", "unexpected character '&'"),
        ("(a", "expected ')'"),
        ("forall : a", "expected a name"),
        ("if a then b", "expected 'else'"),
        ("not", "expected a value"),
        ("", "expected a value"),
        ("x[", "expected a name"),
    ],
)
def test_syntax_errors_name_the_column_and_the_text(source, expected):
    with pytest.raises(ExpressionError) as info:
        parse_expr(source)
    assert expected in str(info.value)
    assert repr(source) in str(info.value)


def test_effect_needs_its_assignment_operator():
    with pytest.raises(ExpressionError, match="':='"):
        parse_effect("our_fd = true")


def test_no_eval_or_exec_in_the_product_code():
    from layering import package_dirs

    for folder in set(package_dirs().values()):
        for path in folder.glob("*.py"):
            text = path.read_text()
            assert "eval(" not in text.replace("literal_eval(", ""), path
            assert "exec(" not in text, path


# -- round trip: every tree prints to text that parses back to the same tree --

NAMES = st.sampled_from(["limited", "running", "our_fd", "vhost_fd", "pending"])


def trees(depth: int = 3):
    leaves = st.one_of(
        st.builds(lambda v: Literal(v, BOOL), st.booleans()),
        NAMES.map(lambda n: parse_expr(n)),
        st.sampled_from(["zero", "driver", "driver_ok"]).map(
            lambda v: Compare("==", parse_expr("status"), parse_expr(v))
        ),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            inner.map(Not),
            st.builds(BoolOp, st.sampled_from(["and", "or", "=>"]), inner, inner),
            st.builds(lambda a, b: Compare("==", a, b), inner, inner),
        ),
        max_leaves=8,
    )


@given(trees())
def test_text_of_a_tree_parses_back_to_the_same_tree(tree):
    ctx = Context(VARIABLES, LITERALS, {}, in_queue=True)
    resolved = resolve_bool(tree, ctx)
    text = to_text(resolved)
    assert resolve_bool(parse_expr(text), ctx) == resolved, text


@given(st.text(max_size=40))
def test_any_text_either_parses_or_raises_an_expression_error(text):
    with contextlib.suppress(ExpressionError):
        parse_expr(text)
