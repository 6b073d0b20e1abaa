"""A malformed table gets one clear error naming file, line and field; exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Edit

from virtio_notifier_spec.spec.errors import (
    ExpressionError,
    SchemaError,
    SpecError,
    TableError,
    TomlSyntaxError,
)
from virtio_notifier_spec.spec.load import load_spec


def line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


CASES = [
    pytest.param(
        [Edit("reset", "from", '"asigned"')],
        SchemaError,
        'from = "asigned"',
        "unknown state 'asigned'",
        id="unknown-state",
    ),
    pytest.param(
        [Edit("assign_on_driver_ok", "guard", '"value == driver_ok and not limted"')],
        ExpressionError,
        "not limted",
        "unknown name 'limted'",
        id="unknown-variable-in-guard",
    ),
    pytest.param(
        [Edit("vhost_takes_deassigned", "to", '"nowhere"')],
        SchemaError,
        'to = "nowhere"',
        "transition to nowhere",
        id="transition-to-nowhere",
    ),
    pytest.param(
        [Edit("release_to_pio", "guard", '"not assign and not limited"')],
        TableError,
        'guard = "not assign and not limited"',
        "two transitions enabled for one event in one state",
        id="two-rows-enabled",
    ),
    pytest.param(
        [Edit("reset", "gaurd", '"true"')],
        SchemaError,
        "gaurd",
        "unknown field",
        id="unknown-field",
    ),
    pytest.param(
        [Edit("assign_on_driver_ok", "guard", '"status == true"')],
        ExpressionError,
        'guard = "status == true"',
        "compares a status_value with a bool",
        id="type-error",
    ),
    pytest.param(
        [Edit("assign_on_driver_ok", "guard", '"value == driver_ok and"')],
        ExpressionError,
        'guard = "value == driver_ok and"',
        "expected a value",
        id="syntax-error",
    ),
    pytest.param(
        [Edit("reset", "event", '"rest"')],
        SchemaError,
        'event = "rest"',
        "unknown event 'rest'",
        id="unknown-event",
    ),
    pytest.param(
        [Edit("reset", "why", None)],
        SchemaError,
        'name = "reset"',
        "missing required field 'why'",
        id="missing-why",
    ),
    pytest.param(
        [Edit("reset", "effects", '["state := deassigned"]')],
        SchemaError,
        "state := deassigned",
        "write the new state in 'to'",
        id="state-as-effect",
    ),
    pytest.param(
        [Edit("reset", "effects", '["status := zero"]')],
        ExpressionError,
        'effects = ["status := zero"]',
        "transition writes per-queue",
        id="row-writes-device-variable",
    ),
    pytest.param(
        [Edit("reset", "letter", '"G"')],
        SchemaError,
        'letter = "G"',
        "one lower-case letter",
        id="bad-letter",
    ),
    pytest.param(
        [Edit("assign_on_driver_ok", "guard", '"our_fd\'"')],
        ExpressionError,
        "our_fd'",
        "primes are allowed in step properties only",
        id="prime-in-guard",
    ),
]


@pytest.mark.parametrize("edits, kind, where, message", CASES)
def test_malformed_table_is_refused_with_file_line_and_reason(broken_path, edits, kind, where, message):
    path = broken_path("resolved", *edits)
    with pytest.raises(kind) as info:
        load_spec(path)
    error = info.value
    assert message in str(error)
    assert error.file == str(path)
    assert error.line == line_of(path, where)


def test_two_rows_enabled_names_both_rows_and_a_witness(broken_path):
    path = broken_path("resolved", Edit("release_to_pio", "guard", '"not assign and not limited"'))
    with pytest.raises(TableError) as info:
        load_spec(path)
    text = str(info.value)
    assert "release_to_assigned" in text and "release_to_pio" in text
    assert "assign = false" in text and "limited = false" in text


def test_bad_toml_reports_the_line_of_the_syntax_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[variant]\nname = "x"\nsummary = "unterminated\n')
    with pytest.raises(TomlSyntaxError) as info:
        load_spec(path)
    assert info.value.line == 3 and info.value.file == str(path)


def test_missing_file_is_bad_input(tmp_path):
    with pytest.raises(SchemaError, match="no such file"):
        load_spec(tmp_path / "absent.toml")


def test_included_file_must_exist(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('include = "nothere.toml"\n[variant]\nname = "x"\nsummary = "y"\n')
    with pytest.raises(SchemaError, match="does not exist") as info:
        load_spec(path)
    assert info.value.line == 1


def test_device_context_needs_a_queue_index(broken_path):
    path = broken_path("resolved", Edit("kick", "when", '"pending"', file="common"))
    with pytest.raises(ExpressionError, match="per-queue variable") as info:
        load_spec(path)
    assert info.value.file.endswith("common.toml")


def test_unknown_variable_type_is_refused(broken_path):
    path = broken_path("resolved", Edit("pending", "type", '"boolean"', file="common"))
    with pytest.raises(SchemaError, match="unknown type 'boolean'"):
        load_spec(path)


def test_two_otherwise_rows_for_one_event_and_state_are_refused(broken_path):
    extra = '[[transitions]]\nname = "again"\nevent = "reset"\nfrom = "offlimits"\notherwise = true\nwhy = "x"\n'
    with pytest.raises(TableError, match="two 'otherwise' rows"):
        load_spec(broken_path("resolved", extra=extra))


@pytest.mark.parametrize("edits, kind, where, message", CASES[:5])
def test_cli_turns_bad_tables_into_one_line_and_exit_2(broken_path, edits, kind, where, message):
    path = broken_path("resolved", *edits)
    for command in (["validate", str(path)], ["check", "--spec", str(path), "--queues", "1"]):
        run = subprocess.run([sys.executable, "-m", "virtio_notifier_spec", *command], capture_output=True, text=True)
        assert run.returncode == 2, run.stderr
        assert "Traceback" not in run.stderr
        assert run.stderr.startswith(f"error: {path}:{line_of(path, where)}: ")
        assert message in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1


def test_every_error_kind_is_a_spec_error():
    for kind in (TomlSyntaxError, SchemaError, ExpressionError, TableError):
        assert issubclass(kind, SpecError)
