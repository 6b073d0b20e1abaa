"""Whatever is done to the table's text, loading it either works or raises a
SpecError that names the place: never another exception."""

from __future__ import annotations

import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

VALUES = ["true", "1", '"x"', "[]", "{}", '"assigned"', '"zero"', '"queue"', "[1]", '"any"', '["a", 2]']


@st.composite
def damaged(draw):
    """(file name, its lines after one random change)."""
    name = draw(st.sampled_from(["resolved.toml", "proposal.toml", "common.toml"]))
    lines = (SPEC_DIR / name).read_text().splitlines()
    at = draw(st.integers(0, len(lines) - 1))
    change = draw(st.sampled_from(["drop", "unquote", "swap", "value", "truncate"]))
    if change == "drop":
        del lines[at]
    elif change == "unquote":
        lines[at] = lines[at].replace('"', "", 1)
    elif change == "swap":
        other = draw(st.integers(0, len(lines) - 1))
        lines[at], lines[other] = lines[other], lines[at]
    elif change == "value" and "=" in lines[at]:
        lines[at] = lines[at].split("=")[0] + "= " + draw(st.sampled_from(VALUES))
    elif change == "truncate":
        lines = lines[:at]
    return name, lines


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damaged())
def test_a_damaged_table_loads_or_says_where_it_is_wrong(tmp_path, change):
    name, lines = change
    for source in ("common.toml", "resolved.toml", "proposal.toml"):
        shutil.copy(SPEC_DIR / source, tmp_path / source)
    (tmp_path / name).write_text("\n".join(lines) + "\n")
    variant = "proposal.toml" if name == "proposal.toml" else "resolved.toml"
    try:
        load_spec(tmp_path / variant)
    except SpecError as error:
        assert error.file is not None and str(error.file).endswith(".toml")
