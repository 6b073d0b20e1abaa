"""Shared fixtures: deliberately broken copies of the table; no progress
lines in the tests' output and no COLUMNS unless a test asks for them.

``broken(variant, *edits)`` copies ``spec/common.toml`` and the variant into a
temporary folder, applies the edits and loads the result. An edit names an
entry by its ``name`` and sets (or, with None, removes) one of its keys; the
values are TOML text, written as they would be in the file:

    broken("resolved", Edit("reset", "to", '"assigned"'))
"""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from virtio_notifier_spec.cli.progress import ENV as PROGRESS_ENV
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

# No progress lines unless a test asks for them (by setting the variable
# itself): a run slowed by a loaded machine would otherwise print one into
# the output a test reads, however long it takes.
os.environ[PROGRESS_ENV] = "off"
# Text fits COLUMNS when it is set (cli/output.py); pytest-xdist's workers set
# it to 80. Every test sees the width of a run off a terminal unless it sets one.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)


@dataclass(frozen=True)
class Edit:
    entry: str  # the `name` of a [[transitions]], [[events]], [[properties]] ... entry
    key: str | None  # the key to set or remove; None removes the whole entry
    value: str | None = None  # TOML text; None removes the key
    file: str = "variant"  # "variant" or "common"


def _apply(text: str, edit: Edit) -> str:
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("[")] + [len(lines)]
    for begin, end in itertools.pairwise(starts):
        block = lines[begin:end]
        if f'name = "{edit.entry}"' not in block:
            continue
        if edit.key is None:
            return "\n".join(lines[:begin] + lines[end:]) + "\n"
        keyed = [i for i, line in enumerate(block) if line.split("=")[0].strip() == edit.key]
        if keyed:
            i = begin + keyed[0]
            replacement = [] if edit.value is None else [f"{edit.key} = {edit.value}"]
            return "\n".join(lines[:i] + replacement + lines[i + 1 :]) + "\n"
        assert edit.value is not None, f"{edit.entry} has no {edit.key} to remove"
        i = begin + block.index(f'name = "{edit.entry}"') + 1
        return "\n".join([*lines[:i], f"{edit.key} = {edit.value}", *lines[i:]]) + "\n"
    raise AssertionError(f"no entry named {edit.entry!r}")


@pytest.fixture
def broken_path(tmp_path: Path):
    def make(variant: str, *edits: Edit, extra: str = "") -> Path:
        shutil.copy(SPEC_DIR / "common.toml", tmp_path / "common.toml")
        shutil.copy(SPEC_DIR / f"{variant}.toml", tmp_path / f"{variant}.toml")
        for edit in edits:
            target = tmp_path / ("common.toml" if edit.file == "common" else f"{variant}.toml")
            target.write_text(_apply(target.read_text(), edit))
        if extra:
            path = tmp_path / f"{variant}.toml"
            path.write_text(path.read_text() + "\n" + extra)
        return tmp_path / f"{variant}.toml"

    return make


@pytest.fixture
def broken(broken_path):
    def make(variant: str, *edits: Edit, extra: str = ""):
        return load_spec(broken_path(variant, *edits, extra=extra))

    return make


@pytest.fixture(scope="session")
def design_matrix():
    """The verdict matrix of designs/ (tests/designs/): built once, about 5 s."""
    from virtio_notifier_spec.designs.matrix import build

    return build()


@pytest.fixture(scope="session")
def design_analyses(design_matrix):
    """Each design's analysis, by name."""
    return {r.entry.name: r.analysis for r in design_matrix.results}
