"""What the loader used to accept silently is refused, with the file, line and field."""

from __future__ import annotations

import pytest
from conftest import Edit

from virtio_notifier_spec.spec.errors import SchemaError, SpecError
from virtio_notifier_spec.spec.load import load_spec

CASES = [
    pytest.param(
        Edit("reset", "effects", '["our_fd := true", "our_fd := false"]'),
        "our_fd is written twice in one row: 'our_fd := true' and 'our_fd := false'",
        id="two-writes-in-a-row",
    ),
    pytest.param(
        Edit("set_status", "effects", '["status := value", "status := zero"]', file="common"),
        "status is written twice in one event",
        id="two-writes-in-an-event",
    ),
    pytest.param(
        Edit("reset", "effects", '"our_fd := false"'),
        "expected a list of effects",
        id="row-effects-as-a-string",
    ),
    pytest.param(
        Edit("set_status", "effects", '"status := value"', file="common"),
        "expected a list of effects",
        id="event-effects-as-a-string",
    ),
    pytest.param(Edit("reset", "from", "[]"), "expected a state or a non-empty list of states", id="empty-from"),
]


@pytest.mark.parametrize("edit, message", CASES)
def test_silently_accepted_tables_are_now_refused_where_written(broken_path, edit, message):
    path = broken_path("resolved", edit)
    written = path if edit.file == "variant" else path.with_name("common.toml")
    with pytest.raises(SchemaError) as info:
        load_spec(path)
    assert message in str(info.value)
    assert info.value.file == str(written)
    line = next(n for n, text in enumerate(written.read_text().splitlines(), 1) if text == f"{edit.key} = {edit.value}")
    assert info.value.line == line and info.value.field.endswith(edit.key)


def test_a_missing_variant_table_says_what_to_write(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('include = "common.toml"\n')
    with pytest.raises(SchemaError, match=r"missing \[variant\] table"):
        load_spec(path)


def test_toml_nested_too_deeply_for_the_toml_reader_is_bad_input(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[variant]\nname = "x"\nsummary = "y"\n\nx = ' + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SpecError, match="nested too deeply") as info:
        load_spec(path)
    assert info.value.line == 5
