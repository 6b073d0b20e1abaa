"""The liveness entries of a table are validated on load like the rest:
each mistake is one located error, never a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import Edit

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.spec.errors import ExpressionError, SchemaError
from virtio_notifier_spec.spec.schema import Fairness, PropertyKind


def _leads_to(name: str, body: str) -> str:
    return f'\n[[properties]]\nname = "{name}"\nkind = "leads_to"\n{body}\nrationale = "r"\n'


def test_the_shipped_liveness_properties_load_with_their_kinds(broken):
    spec = broken("resolved")
    kinds = {p.name: p.kind for p in spec.liveness}
    assert kinds["kick_eventually_handled"] is PropertyKind.LEADS_TO
    assert kinds["fast_path_recoverable"] is PropertyKind.RECOVERABLE
    assert kinds["no_deadlock"] is PropertyKind.DEADLOCK_FREE
    assert spec.event("handle").fairness is Fairness.WEAK
    assert spec.event("set_status").fairness is Fairness.NONE
    assert not {p.name for p in spec.properties} & set(kinds)  # safety tools never see them


@pytest.mark.parametrize(
    ("extra", "error", "field", "words"),
    [
        (_leads_to("x", 'from = "pending"'), SchemaError, "properties", "missing required field 'to'"),
        (_leads_to("x", 'from = "pending"\nto = "nope"'), ExpressionError, "properties.to", "nope"),
        (_leads_to("x", 'from = "pending"\nto = "true"\nexpr = "true"'), SchemaError, "properties.expr", "unknown"),
        (  # a goal is a state: it may name the step's queue, not its other arguments
            _leads_to("x", 'events = ["set_status"]\nfrom = "true"\nto = "value == zero"'),
            ExpressionError,
            "properties.to",
            "value",
        ),
        (_leads_to("x", 'events = ["nope"]\nfrom = "true"\nto = "true"'), SchemaError, "properties.events", "nope"),
        (_leads_to("no_lost_kick", 'from = "true"\nto = "true"'), SchemaError, "properties.name", "twice"),
        (_leads_to("x", 'from = 1\nto = "true"'), SchemaError, "properties.from", "expression"),
    ],
)
def test_a_bad_liveness_entry_is_one_located_error(broken, extra, error, field, words):
    with pytest.raises(error) as info:
        broken("resolved", extra=extra)
    assert info.value.field == field and info.value.line
    assert words in str(info.value)


@pytest.mark.parametrize("value", ['"eventually"', '["weak"]'])
def test_an_unknown_fairness_is_refused_with_its_line(broken, value):
    with pytest.raises(SchemaError, match=r"common.toml:\d+: events.fairness: expected one of"):
        broken("resolved", Edit("handle", "fairness", value, file="common"))


def test_validate_says_it_in_one_line_with_exit_2(broken_path):
    path = broken_path("resolved", extra=_leads_to("x", 'from = "pending"\nto = "maybe"'))
    done = CliRunner().invoke(cli, ["validate", str(path)])
    assert done.exit_code == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "properties.to" in done.stderr
