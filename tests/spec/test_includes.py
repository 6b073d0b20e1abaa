"""Includes nest, are read once each, name a cycle as a cycle, refuse a
directory, and let a copied variant find the shipped declarations."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from virtio_notifier_spec.spec.errors import SchemaError
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

SHIPPED = load_spec("resolved")


def same_table(spec) -> bool:
    return dataclasses.replace(spec, files=()) == dataclasses.replace(SHIPPED, files=())


def split_common(folder: Path, first_line: str = "") -> Path:
    """resolved, with common.toml split in two: common.toml includes base.toml
    (the machine, types and variables)."""
    text = (SPEC_DIR / "common.toml").read_text()
    cut = text.index("[[events]]")
    (folder / "base.toml").write_text(first_line + text[:cut])
    (folder / "common.toml").write_text('include = "base.toml"\n' + text[cut:])
    shutil.copy(SPEC_DIR / "resolved.toml", folder / "resolved.toml")
    return folder / "resolved.toml"


def test_a_nested_include_is_read(tmp_path):
    spec = load_spec(split_common(tmp_path))
    assert [Path(f).name for f in spec.files] == ["base.toml", "common.toml", "resolved.toml"]
    assert same_table(spec)


def test_an_include_cycle_is_named_as_a_cycle_at_the_include_that_closes_it(tmp_path):
    path = split_common(tmp_path, first_line='include = "resolved.toml"\n')
    with pytest.raises(SchemaError) as info:
        load_spec(path)
    names = [tmp_path / n for n in ("resolved.toml", "common.toml", "base.toml", "resolved.toml")]
    assert info.value.message == "include cycle: " + " -> ".join(str(n) for n in names)
    assert info.value.file == str(tmp_path / "base.toml") and info.value.line == 1
    assert info.value.field == "include"


def test_a_file_including_itself_is_a_cycle(tmp_path):
    path = tmp_path / "self.toml"
    path.write_text('include = "self.toml"\n[variant]\nname = "x"\nsummary = "y"\n')
    with pytest.raises(SchemaError, match="include cycle"):
        load_spec(path)


@pytest.mark.parametrize("include", ['"sub"', '["common.toml", "sub"]'])
def test_a_directory_is_refused_as_a_directory(tmp_path, include):
    (tmp_path / "sub").mkdir()
    shutil.copy(SPEC_DIR / "common.toml", tmp_path / "common.toml")
    path = tmp_path / "t.toml"
    path.write_text(f'include = {include}\n[variant]\nname = "x"\nsummary = "y"\n')
    with pytest.raises(SchemaError, match="is a directory; expected a TOML file") as info:
        load_spec(path)
    assert info.value.line == 1


def test_a_table_path_that_is_a_directory_is_refused():
    with pytest.raises(SchemaError, match="is a directory"):
        load_spec(SPEC_DIR)


def test_a_file_included_twice_is_read_once(tmp_path):
    shutil.copy(SPEC_DIR / "common.toml", tmp_path / "common.toml")
    (tmp_path / "extra.toml").write_text(
        'include = "common.toml"\n\n[[properties]]\nname = "extra"\nkind = "invariant"\n'
        'expr = "our_fd => not vhost_fd"\nrationale = "x"\n'
    )
    text = (
        (SPEC_DIR / "resolved.toml")
        .read_text()
        .replace('include = "common.toml"', 'include = ["common.toml", "extra.toml"]')
    )
    (tmp_path / "resolved.toml").write_text(text)
    spec = load_spec(tmp_path / "resolved.toml")
    assert [Path(f).name for f in spec.files] == ["common.toml", "extra.toml", "resolved.toml"]
    assert [p.name for p in spec.properties][-1] == "extra"


def test_an_included_file_cannot_name_the_variant(tmp_path):
    path = split_common(tmp_path, first_line='[variant]\nname = "x"\nsummary = "y"\n\n')
    with pytest.raises(SchemaError, match=r"\[variant\] belongs to the main file") as info:
        load_spec(path)
    assert info.value.file == str(tmp_path / "base.toml") and info.value.line == 1


def test_a_copied_variant_finds_the_shipped_declarations_from_anywhere(tmp_path):
    shutil.copy(SPEC_DIR / "resolved.toml", tmp_path / "mine.toml")
    spec = load_spec(tmp_path / "mine.toml")
    assert spec.files == (str(SPEC_DIR / "common.toml"), str(tmp_path / "mine.toml"))
    assert same_table(spec)


def test_a_missing_include_names_where_it_was_looked_for(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('include = "absent.toml"\n[variant]\nname = "x"\nsummary = "y"\n')
    with pytest.raises(SchemaError, match="does not exist") as info:
        load_spec(path)
    assert str(tmp_path / "absent.toml") in info.value.message and str(SPEC_DIR / "absent.toml") in info.value.message


def test_includes_nest_at_most_32_files_deep(tmp_path):
    for i in range(40):
        (tmp_path / f"f{i}.toml").write_text(f'include = "f{i + 1}.toml"\n')
    (tmp_path / "f40.toml").write_text("")
    path = tmp_path / "t.toml"
    path.write_text('include = "f0.toml"\n[variant]\nname = "x"\nsummary = "y"\n')
    with pytest.raises(SchemaError, match="includes nest more than 32 deep") as info:
        load_spec(path)
    assert info.value.line == 1
