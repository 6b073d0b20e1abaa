"""Gather the entries of a table from its files, before anything is validated.

A table is one TOML file and what it names:

- ``include = "common.toml"`` (or a list of paths): files of shared
  declarations, read before the file that includes them. A path is relative
  to the including file; a bare file name not found there is looked up in
  the shipped ``spec/`` folder, so a copy of a shipped variant works from
  anywhere. Includes nest; each file is read once however often it is
  named; a cycle is refused and named.
- ``extends = "resolved"`` (a shipped variant, or a path relative to this
  file): the table is the base's, changed by name. A ``[[transitions]]``
  (or any other ``[[...]]``) entry whose ``name`` the base has replaces the
  fields it gives and keeps the others (a ``guard`` replaces the base's
  ``otherwise`` and the reverse); ``remove = true`` removes it; a new name
  adds an entry. ``[variant]`` must give a new ``name``. A ``[machine]``
  (``[types]``, ``[slots]``) table replaces the keys it gives of the base's
  (a variant may start its queues elsewhere: ``start = "assigned"``).

Every entry keeps where each of its fields was written (:class:`At`), so the
validator's errors point at the file and line of the field at fault, in the
variant or in its base.

>>> table = compose(spec_path("resolved"))
>>> [Path(d.path).name for d in table.docs]
['common.toml', 'resolved.toml']
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SchemaError, SpecError, TomlSyntaxError
from .limits import MAX_TABLE_BYTES, read_text
from .lines import LineIndex
from .schema import Source

SPEC_DIR = Path(__file__).resolve().parent
VARIANTS = ("proposal", "resolved", "registered")
ARRAYS = ("variables", "events", "transitions", "properties", "profiles")  # [[section]]: entries named by `name`
TABLES = ("machine", "types", "slots")  # [section]: one table per file at most
TOP_KEYS = frozenset({"include", "extends", "variant", *ARRAYS, *TABLES})
MAX_NESTING = 32  # includes within includes, or variants extending variants


def spec_path(name_or_path: str | Path) -> Path:
    """A variant's name (``resolved``) or a path to a TOML file."""
    text = str(name_or_path)
    if text in VARIANTS:
        return SPEC_DIR / f"{text}.toml"
    return Path(text)


@dataclass(frozen=True)
class Doc:
    """One TOML file as read: its path as given, its data, its line index."""

    path: str
    data: dict
    lines: LineIndex


@dataclass(frozen=True)
class At:
    """Where an entry was written: turns problems into located errors.

    An entry changed by an extending variant has a ``base``: the fields it
    did not give (``own`` lists those it did) are located there.
    """

    doc: Doc
    section: str | None
    index: int = 0
    base: At | None = None
    own: frozenset[str] = field(default_factory=frozenset)

    def of(self, key: str | None) -> At:
        """Where ``key`` of this entry was written."""
        if self.base is not None and key is not None and key not in self.own:
            return self.base.of(key)
        return self

    def line(self, key: str | None = None) -> int:
        at = self.of(key)
        return at.doc.lines.line(at.section, at.index, key)

    def error(self, kind: type[SpecError], message: str, key: str | None = None) -> SpecError:
        at = self.of(key)
        field_name = at.section if key is None else (f"{at.section}.{key}" if at.section else key)
        return kind(message, file=at.doc.path, line=at.line(key), field=field_name)

    def source(self, entry: dict | None = None) -> Source:
        keys = tuple((key, self.line(key)) for key in (entry or {}))
        elsewhere = tuple((key, self.of(key).doc.path) for key in (entry or {}) if self.of(key).doc is not self.doc)
        return Source(self.doc.path, self.line(), keys, elsewhere)


Entry = tuple[Any, At]


@dataclass(frozen=True)
class Composed:
    """A table's entries gathered from its files, includes and ``extends``
    resolved; validated by :mod:`.load`, not here."""

    main: Doc
    docs: tuple[Doc, ...]  # every file read, in reading order (includes before includers)
    arrays: dict[str, tuple[Entry, ...]]
    tables: dict[str, tuple[Entry, ...]]
    base: Composed | None = None  # the table extended

    def entries(self, section: str) -> tuple[Entry, ...]:
        """(entry, where) for every entry of ``[[section]]``, in table order."""
        return self.arrays.get(section, ())

    def table(self, section: str) -> tuple[Entry, ...]:
        """(table, where) for every file's ``[section]``, in reading order."""
        return self.tables.get(section, ())


def read(path: Path) -> Doc:
    """Parse one file; refuse what is not a readable TOML table file."""
    if path.is_dir():
        raise SchemaError("is a directory; expected a TOML file", file=str(path))
    try:
        text = read_text(path, limit=MAX_TABLE_BYTES, what="a table")
    except SpecError as exc:
        raise SchemaError(exc.message, file=exc.file) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        line = int(match.group(1)) if match else (len(text.splitlines()) or None)  # "at end of document"
        raise TomlSyntaxError(f"not valid TOML: {exc}", file=str(path), line=line) from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        lines = text.splitlines()
        line = max(range(len(lines)), key=lambda n: lines[n].count("[") + lines[n].count("{")) + 1
        raise TomlSyntaxError(
            "not readable TOML: arrays or tables nested too deeply", file=str(path), line=line
        ) from None
    doc = Doc(str(path), data, LineIndex(text))
    unknown = set(data) - TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise At(doc, None).error(SchemaError, f"unknown section; expected one of {sorted(TOP_KEYS)}", key)
    return doc


def compose(path: Path) -> Composed:
    """Read the table whose main file is ``path``, with its includes and base."""
    return _compose(path, ())


def _compose(path: Path, extending: tuple[tuple[Path, str], ...]) -> Composed:
    main = read(path)
    base = None
    if "extends" in main.data:
        base_path = _base_path(main, path, extending)
        base = _compose(base_path, (*extending, (path.resolve(), main.path)))
    seen = {Path(d.path).resolve() for d in (base.docs if base else ())} | {path.resolve()}
    own = (*_includes(main, path, seen, ((path.resolve(), main.path),)), main)
    for doc in own[:-1]:
        for at, key, what in ((At(doc, "variant"), None, "[variant]"), (At(doc, None), "extends", "extends")):
            if (key or at.section) in doc.data:
                message = f"{what} belongs to the main file of a table, not to an included file"
                raise at.error(SchemaError, message, key)
    arrays = _arrays(own, base)
    tables: dict[str, tuple[Entry, ...]] = dict(base.tables) if base else {}
    for doc in own:
        for section in TABLES:
            if section not in doc.data:
                continue
            entry = (doc.data[section], At(doc, section))
            inherited = base.tables.get(section, ()) if base else ()
            if len(inherited) == 1 and tables.get(section) == inherited:
                entry = _patch_table(inherited[0], *entry)
                tables[section] = (entry,)
            else:
                tables[section] = (*tables.get(section, ()), entry)
    return Composed(main, (*(base.docs if base else ()), *own), arrays, tables, base)


def _patch_table(original: Entry, value: Any, at: At) -> Entry:
    """A variant's ``[machine]`` (``[types]``, ``[slots]``) over its base's:
    the keys it gives replace the base's, the others are kept, each located
    where it was written."""
    base_value, base_at = original
    if not isinstance(value, dict) or not isinstance(base_value, dict):
        return value, at  # not a table: the loader says so, located here
    return {**base_value, **value}, At(at.doc, at.section, 0, base_at, frozenset(value))


def _cycle(kind: str, chain: tuple[tuple[Path, str], ...], again: str) -> str:
    return f"{kind} cycle: " + " -> ".join([*(shown for _, shown in chain), again])


def _base_path(main: Doc, path: Path, extending: tuple[tuple[Path, str], ...]) -> Path:
    at = At(main, None)
    name = main.data["extends"]
    if not isinstance(name, str) or not name.strip():
        expected = f"expected a variant {list(VARIANTS)} or a TOML file's path, found {name!r}"
        raise at.error(SchemaError, expected, "extends")
    target = SPEC_DIR / f"{name}.toml" if name in VARIANTS else path.parent / name
    if target.is_dir():
        raise at.error(SchemaError, f"{str(target)!r} is a directory; expected a TOML file", "extends")
    if not target.is_file():
        raise at.error(
            SchemaError,
            f"no variant or file {name!r}: expected one of {list(VARIANTS)} or a TOML file's path "
            f"relative to this file ({str(target)!r} does not exist)",
            "extends",
        )
    chain = (*extending, (path.resolve(), main.path))
    if any(target.resolve() == seen for seen, _ in chain):
        raise at.error(SchemaError, _cycle("extends", chain, str(target)), "extends")
    if len(chain) > MAX_NESTING:
        raise at.error(SchemaError, f"variants extend each other more than {MAX_NESTING} deep", "extends")
    return target


def _include_names(doc: Doc) -> list[str]:
    names = doc.data.get("include", [])
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        expected = f"expected a TOML file's path or a list of them, found {names!r}"
        raise At(doc, None).error(SchemaError, expected, "include")
    return names


def _include_path(doc: Doc, name: str) -> Path:
    """``name`` next to the including file; a bare file name not found there
    is looked up in the shipped folder (a copied variant still finds it)."""
    at = At(doc, None)
    here = Path(doc.path).parent / name
    candidates = [here]
    if Path(name).name == name and not here.exists():
        candidates.append(SPEC_DIR / name)
    for candidate in candidates:
        if candidate.is_dir():
            message = f"included path {str(candidate)!r} is a directory; expected a TOML file"
            raise at.error(SchemaError, message, "include")
        if candidate.is_file():
            return candidate
    looked = " or ".join(repr(str(c)) for c in candidates)
    raise at.error(SchemaError, f"included file {looked} does not exist", "include")


def _includes(doc: Doc, path: Path, seen: set[Path], chain: tuple[tuple[Path, str], ...]) -> list[Doc]:
    """The files ``doc`` includes, nested ones first, each once."""
    found: list[Doc] = []
    for name in _include_names(doc):
        target = _include_path(doc, name)
        key = target.resolve()
        if any(key == on for on, _ in chain):
            raise At(doc, None).error(SchemaError, _cycle("include", chain, str(target)), "include")
        if key in seen:
            continue
        if len(chain) > MAX_NESTING:
            raise At(doc, None).error(SchemaError, f"includes nest more than {MAX_NESTING} deep", "include")
        seen.add(key)
        child = read(target)
        found += _includes(child, target, seen, (*chain, (key, child.path)))
        found.append(child)
    return found


def _arrays(docs: tuple[Doc, ...], base: Composed | None) -> dict[str, tuple[Entry, ...]]:
    """Each ``[[section]]``'s entries: the base's changed by ``docs``, or
    ``docs``' own in order when nothing is extended."""
    arrays: dict[str, list[Entry | None]] = {s: list(base.arrays.get(s, ())) for s in ARRAYS} if base else {}
    for doc in docs:
        for section in ARRAYS:
            items = doc.data.get(section, [])
            if not isinstance(items, list):
                raise At(doc, section).error(SchemaError, f"expected [[{section}]] entries")
            entries = arrays.setdefault(section, [])
            named = _by_name(entries) if base else {}
            changed: set[str] = set()
            for index, entry in enumerate(items):
                at = At(doc, section, index)
                name = entry.get("name") if isinstance(entry, dict) else None
                if isinstance(name, str) and name in named:
                    if name in changed:
                        raise at.error(SchemaError, f"{name!r} is changed twice in this variant", "name")
                    changed.add(name)
                    entries[named[name]] = _patch(entries[named[name]], entry, at)
                elif isinstance(entry, dict) and "remove" in entry and base is not None:
                    raise at.error(SchemaError, f"the base has no [[{section}]] entry {name!r} to remove", "name")
                else:
                    entries.append((entry, at))
    return {section: tuple(e for e in entries if e is not None) for section, entries in arrays.items()}


def _by_name(entries: list[Entry | None]) -> dict[str, int]:
    named = {}
    for position, item in enumerate(entries):
        if item is not None and isinstance(item[0], dict) and isinstance(item[0].get("name"), str):
            named.setdefault(item[0]["name"], position)
    return named


def _patch(original: Entry | None, entry: dict, at: At) -> Entry | None:
    """``original`` changed by ``entry`` (None: removed)."""
    assert original is not None
    if "remove" in entry:
        if entry["remove"] is not True or set(entry) != {"name", "remove"}:
            raise at.error(SchemaError, "a removal is `name` and `remove = true`, and nothing else", "remove")
        return None
    base_entry, base_at = original
    merged = dict(base_entry)
    if "guard" in entry:
        merged.pop("otherwise", None)
    if entry.get("otherwise") is True:
        merged.pop("guard", None)
    merged.update(entry)
    return merged, At(at.doc, at.section, at.index, base_at, frozenset(entry))
