"""StepCells, the step tables' cells computed when first asked for, hold
what the full tables hold, cell by cell; and the comparison notices a cell
that differs."""

from __future__ import annotations

import pytest
from test_table_mutations import BREAKS, GHOST

from virtio_notifier_spec.model.packable import packed_refusal
from virtio_notifier_spec.model.steptable import Overlap, StepCells, step_tables
from virtio_notifier_spec.spec.load import load_spec


def _differences(spec, cells: StepCells) -> list[tuple]:
    """Every (class, device, queue tuple) where the cells and the tables disagree."""
    tables = step_tables(spec)
    rows = spec.transitions
    found = []
    for c, table in enumerate(tables.classes):
        for d, device in enumerate(tables.devices):
            for k, single in enumerate(tables.singles):
                offered, post, row, post_device = cells.cell(c, device, single)
                expected_row = rows[table.row[d, k]] if table.row[d, k] >= 0 else None
                expected = (bool(table.enabled[d, k]), tables.singles[table.next[d, k]], expected_row)
                if (
                    (offered, post, row) != expected
                    or (offered and post_device != tables.devices[table.device_next[d]])
                    or cells.device_next(c, device) != tables.devices[table.device_next[d]]
                ):
                    found.append((c, device, single))
    return found


@pytest.mark.parametrize("variant", ["resolved", "proposal"])
@pytest.mark.parametrize("env", ["adversarial", "qemu"])
def test_every_cell_is_the_tables(variant, env):
    spec = load_spec(variant, env=env)
    assert _differences(spec, StepCells(spec)) == []


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_every_cell_is_the_tables_on_broken_tables(name, broken):
    _, edits, _ = BREAKS[name]
    spec = broken("resolved", *edits, extra=GHOST if name == "no_dead_transition" else "")
    if packed_refusal(spec) is not None:
        pytest.skip("outside the packed fragment: no step tables")
    try:
        step_tables(spec)
    except Overlap:
        with pytest.raises(Overlap):
            _differences(spec, StepCells(spec))
        return
    assert _differences(spec, StepCells(spec)) == []


def test_a_wrong_cell_is_caught():
    spec = load_spec("resolved")
    cells = StepCells(spec)
    tables = step_tables(spec)
    c = next(i for i, t in enumerate(tables.classes) if (t.row >= 0).any())
    d, k = (int(x[0]) for x in (tables.classes[c].row >= 0).nonzero())
    offered, post, row, device = cells.cell(c, tables.devices[d], tables.singles[k])
    assert row is not None
    cells._cells[(c, tables.devices[d], tables.singles[k])] = (offered, post, None, device)  # no row fired
    assert _differences(spec, cells) == [(c, tables.devices[d], tables.singles[k])]
