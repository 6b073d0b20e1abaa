"""A variant written as a difference (`extends`): rows replaced, removed or
added by name, a name of its own, errors located in the file that wrote
the field, and the README's five-line variant checked, proved, drawn and
diffed like the shipped ones."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.spec.errors import ExpressionError, SchemaError, TableError
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec
from virtio_notifier_spec.spec.text import effect_text, to_text

ROOT = Path(__file__).resolve().parents[2]
RESOLVED = load_spec("resolved")


def row(spec, name: str):
    return next(r for r in spec.transitions if r.name == name)


def variant(folder: Path, body: str, name: str = "mine.toml", head: str = 'extends = "resolved"') -> Path:
    path = folder / name
    path.write_text(f'{head}\n[variant]\nname = "mine"\nsummary = "a test"\n\n{body}')
    return path


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# -- the README's variant -------------------------------------------------------


def readme_variant() -> tuple[str, list[list[str]]]:
    """The TOML of README.md's five-line variant and the commands run on it."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"cat > reset_without_drain.toml <<'EOF'\n(.*?)\nEOF\n(.*?)```", text, re.S)
    assert block, "README.md shows the five-line variant"
    commands = [line.split("#")[0].split()[1:] for line in block.group(2).splitlines() if line.strip()]
    return block.group(1) + "\n", commands


def test_the_readme_variant_is_five_lines_and_changes_only_the_effects_of_reset(tmp_path):
    toml, _ = readme_variant()
    assert len(toml.splitlines()) == 5
    (tmp_path / "reset_without_drain.toml").write_text(toml)
    spec = load_spec(tmp_path / "reset_without_drain.toml")
    assert spec.name == "reset_without_drain" and spec.base == str(SPEC_DIR / "resolved.toml")
    new, old = row(spec, "reset"), row(RESOLVED, "reset")
    assert [effect_text(e) for e in new.effects] == ["our_fd := false", "handler := none"]
    assert (new.letter, new.sources, new.target, new.guard, new.why) == (
        old.letter,
        old.sources,
        old.target,
        old.guard,
        old.why,
    )
    assert [r.name for r in spec.transitions] == [r.name for r in RESOLVED.transitions]


def test_the_readme_variant_is_checked_proved_drawn_and_diffed_from_any_folder(tmp_path, monkeypatch):
    toml, commands = readme_variant()
    monkeypatch.chdir(tmp_path)
    Path("reset_without_drain.toml").write_text(toml)
    expected = {"check": 1, "prove": 1, "draw": 0, "diff": 1}
    assert [c[0] for c in commands] == list(expected)
    outputs = {}
    for args in commands:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == expected[args[0]], (args, result.output)
        outputs[args[0]] = result.output
    assert "reset_without_drain, 1 queue(s): no_lost_kick FAILS" in outputs["check"]
    assert "3. reset()  [q0 g (reset)]" in outputs["check"]
    assert "no_lost_kick" in outputs["prove"] and "VIOLATED" in outputs["prove"]
    assert outputs["draw"].startswith("reset_without_drain: the per-queue notifier machine")
    assert "~ reset (g): reset in assigned -> deassigned\n    effect - pending := false" in outputs["diff"]
    assert "no_lost_kick             holds -> fails" in outputs["diff"]
    shown = (ROOT / "README.md").read_text()
    for line in (
        "  no_lost_kick             holds -> fails",
        "  kick_eventually_handled  holds -> fails",  # the kick the reset leaves is never handled
        "different: 1 row(s) changed, 2 verdict(s) changed",
    ):
        assert line in shown and line in outputs["diff"]
    document = json.loads(CliRunner().invoke(cli, ["diff", "reset_without_drain.toml", "--json"]).stdout)
    assert [c["name"] for c in document["results"][0]["rows"]["changed"]] == ["reset"]


# -- replacing, removing, adding ------------------------------------------------


def test_a_guard_replaces_otherwise_and_otherwise_replaces_a_guard(tmp_path):
    path = variant(
        tmp_path,
        '[[transitions]]\nname = "status_leaves_queue"\nguard = "false"\n\n'
        '[[transitions]]\nname = "keep_assigned_on_status"\notherwise = true\n',
    )
    spec = load_spec(path)
    changed = row(spec, "status_leaves_queue")
    assert (changed.otherwise, to_text(changed.guard)) == (False, "false")
    other = row(spec, "keep_assigned_on_status")
    assert (other.otherwise, other.guard) == (True, None)


def test_rows_are_removed_and_added_by_name(tmp_path):
    path = variant(
        tmp_path,
        '[[transitions]]\nname = "release_unheld"\nremove = true\n\n'
        '[[transitions]]\nname = "release_unheld_again"\nevent = "set_host_notifier"\n'
        'from = ["deassigned", "assigned"]\notherwise = true\nwhy = "the same row under another name"\n',
    )
    spec = load_spec(path)
    names = [r.name for r in spec.transitions]
    assert "release_unheld" not in names and names[-1] == "release_unheld_again"
    assert len(names) == len(RESOLVED.transitions)


@pytest.mark.parametrize(
    "body, message, where",
    [
        (
            '[[transitions]]\nname = "nothing_such"\nremove = true\n',
            "the base has no [[transitions]] entry 'nothing_such' to remove",
            'name = "nothing_such"',
        ),
        (
            '[[transitions]]\nname = "reset"\nremove = true\nwhy = "x"\n',
            "a removal is `name` and `remove = true`, and nothing else",
            "remove = true",
        ),
        (
            '[[transitions]]\nname = "reset"\nwhy = "a"\n\n[[transitions]]\nname = "reset"\nwhy = "b"\n',
            "'reset' is changed twice in this variant",
            'why = "b"',
        ),
    ],
    ids=["remove-unknown", "remove-with-fields", "changed-twice"],
)
def test_a_change_that_cannot_apply_is_refused_where_it_is_written(tmp_path, body, message, where):
    path = variant(tmp_path, body)
    with pytest.raises(SchemaError) as info:
        load_spec(path)
    assert info.value.message == message and info.value.file == str(path)
    expected = line_of(path, where) - (1 if where.startswith("why") else 0)
    assert info.value.line == expected


def test_an_error_in_a_changed_field_points_into_the_variant(tmp_path):
    path = variant(tmp_path, '[[transitions]]\nname = "reset"\nguard = "runing"\n')
    with pytest.raises(ExpressionError, match="unknown name 'runing'") as info:
        load_spec(path)
    assert (info.value.file, info.value.line, info.value.field) == (
        str(path),
        line_of(path, "runing"),
        "transitions.guard",
    )


def test_an_error_in_an_inherited_field_points_into_the_base(tmp_path):
    path = variant(tmp_path, '[[events]]\nname = "handle"\nremove = true\n')
    with pytest.raises(SchemaError, match="unknown event 'handle'") as info:
        load_spec(path)
    base = SPEC_DIR / "resolved.toml"
    assert (info.value.file, info.value.line) == (str(base), line_of(base, 'event = "handle"'))


def test_an_overlap_names_the_base_row_with_its_file(tmp_path):
    path = variant(tmp_path, '[[transitions]]\nname = "release_to_pio"\nguard = "not assign and not limited"\n')
    with pytest.raises(TableError) as info:
        load_spec(path)
    base = SPEC_DIR / "resolved.toml"
    assert info.value.file == str(path) and info.value.line == line_of(path, "guard =")
    guard_line = line_of(base, 'guard = "not assign and not limited and status == driver_ok and running')
    assert f"release_to_assigned ({base}:{guard_line})" in info.value.message


# -- the name, the base ---------------------------------------------------------


@pytest.mark.parametrize("name", ["resolved", "proposal"])
def test_a_variant_needs_a_name_of_its_own(tmp_path, name):
    path = tmp_path / "v.toml"
    path.write_text(f'extends = "resolved"\n[variant]\nname = "{name}"\n')
    with pytest.raises(SchemaError, match="needs a name of its own") as info:
        load_spec(path)
    assert info.value.line == 3


def test_a_variant_without_a_name_is_refused(tmp_path):
    path = tmp_path / "v.toml"
    path.write_text('extends = "resolved"\n[variant]\nsummary = "x"\n')
    with pytest.raises(SchemaError, match="missing required field 'name'"):
        load_spec(path)


def test_a_variant_may_extend_a_variant_by_a_path_relative_to_itself(tmp_path):
    (tmp_path / "sub").mkdir()
    first = variant(tmp_path / "sub", '[[transitions]]\nname = "reset"\nwhy = "first"\n', name="first.toml")
    second = tmp_path / "second.toml"
    second.write_text('extends = "sub/first.toml"\nvariant.name = "second"\n')
    spec = load_spec(second)
    assert spec.base == str(first) and row(spec, "reset").why == "first"
    assert spec.summary == "mine, changed by second.toml"


def test_variants_extending_each_other_are_a_cycle(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\nvariant.name = "a"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\nvariant.name = "b"\n')
    with pytest.raises(SchemaError, match=r"extends cycle: .*a\.toml -> .*b\.toml -> .*a\.toml"):
        load_spec(tmp_path / "a.toml")


@pytest.mark.parametrize("base", ['"nothere"', '"."', "3"])
def test_an_unknown_base_is_refused_at_its_line(tmp_path, base):
    path = tmp_path / "v.toml"
    path.write_text(f'extends = {base}\nvariant.name = "v"\n')
    with pytest.raises(SchemaError) as info:
        load_spec(path)
    assert info.value.line == 1 and info.value.field == "extends"


def test_a_copy_of_the_shipped_table_still_works_next_to_a_variant_of_it(tmp_path):
    shutil.copy(SPEC_DIR / "proposal.toml", tmp_path / "proposal_copy.toml")
    path = variant(tmp_path, "", head='extends = "proposal_copy.toml"')
    assert load_spec(path).base == str(tmp_path / "proposal_copy.toml")
