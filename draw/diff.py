"""The difference between two tables, drawn on the machine.

Rows are matched by name and source state. An arrow is drawn for every
row that changes something in either table: only in the first (removed,
red, dashed), only in the second (added, green), in both with another
guard, target or effects (changed, orange, the old and new text on the
label), or the same (grey). Rows that change nothing are compared in the
legend, with the properties whose verdict changed between the two tables.
This answers "what did the reviewer's questions change?".

>>> from virtio_notifier_spec.spec.load import load_spec
>>> d = spec_diff(load_spec("proposal"), load_spec("resolved"))
>>> sorted({c.kind for c in d.changes})
['added', 'changed', 'removed', 'same']
"""

from __future__ import annotations

from dataclasses import dataclass

from virtio_notifier_spec.model.explore import NOT_CHECKED, Exploration
from virtio_notifier_spec.spec.schema import Spec, Transition
from virtio_notifier_spec.spec.text import effect_text

from .dot import Html, html_escape
from .labels import guard_text, row_label, row_title, wrap
from .layout import Arrow, add_legend, base_graph, draw_arrows
from .machine import row_tooltip

COLOURS = {"removed": "#c0392b", "added": "#1e8449", "changed": "#d35400", "same": "#9a9a9a"}


@dataclass(frozen=True, slots=True)
class RowChange:
    """One row at one source state, as the two tables have it."""

    kind: str  # removed | added | changed | same
    source: str
    old: Transition | None
    new: Transition | None
    what: tuple[str, ...] = ()  # for "changed": guard, target, effects

    @property
    def row(self) -> Transition:
        return self.new or self.old  # type: ignore[return-value]


@dataclass(frozen=True)
class SpecDiff:
    old: Spec
    new: Spec
    changes: tuple[RowChange, ...]
    quiet_old: tuple[str, ...]  # rows that change nothing, only in old
    quiet_new: tuple[str, ...]
    verdicts: tuple[tuple[str, str, str], ...]  # property, old verdict, new verdict (changed only)


def _effects(row: Transition) -> tuple[str, ...]:
    return tuple(sorted(effect_text(e) for e in row.effects))


def _compare(old: Transition, new: Transition) -> tuple[str, ...]:
    what = []
    if guard_text(old) != guard_text(new):
        what.append("guard")
    if old.target != new.target or old.quiet != new.quiet:
        what.append("target")
    if _effects(old) != _effects(new):
        what.append("effects")
    return tuple(what)


def _pairs(spec: Spec) -> dict[tuple[str, str], Transition]:
    return {(row.name, source): row for row in spec.transitions for source in row.sources}


def verdict_changes(old: list[Exploration], new: list[Exploration]) -> tuple[tuple[str, str, str], ...]:
    """The properties, of every kind, whose verdict over every explored size
    differs: ``holds``, ``fails``, ``unknown``, ``not checked``, ``vacuous``
    and ``not applicable`` (the environment's doing), or ``absent`` from a table."""

    def verdict(runs: list[Exploration], name: str) -> str:
        found = {r.verdict(name) if name in r.every_check else "absent" for r in runs}
        order = ("fails", "absent", "unknown", NOT_CHECKED, "vacuous", "not applicable", "holds")
        return next(v for v in order if v in found)

    names = dict.fromkeys(n for r in [*old, *new] for n in r.every_check)
    found = [(n, verdict(old, n), verdict(new, n)) for n in names]
    return tuple(v for v in found if v[1] != v[2])


def spec_diff(
    old: Spec,
    new: Spec,
    old_runs: list[Exploration] | None = None,
    new_runs: list[Exploration] | None = None,
    *,
    quiet_rows: bool = False,
) -> SpecDiff:
    """Compare two tables row by row; with explorations, also their verdicts.
    ``quiet_rows``: compare the rows that change nothing like the others (the
    text and JSON of the ``diff`` command) instead of listing them apart."""
    a, b = _pairs(old), _pairs(new)
    changes = []
    for key in dict.fromkeys([*a, *b]):
        row_a, row_b = a.get(key), b.get(key)
        if not quiet_rows and (row_a is None or row_a.quiet) and (row_b is None or row_b.quiet):
            continue
        if row_a is None:
            changes.append(RowChange("added", key[1], None, row_b))
        elif row_b is None:
            changes.append(RowChange("removed", key[1], row_a, None))
        else:
            what = _compare(row_a, row_b)
            changes.append(RowChange("changed" if what else "same", key[1], row_a, row_b, what))
    quiet_a = set() if quiet_rows else {r.name for r in old.transitions if r.quiet}
    quiet_b = set() if quiet_rows else {r.name for r in new.transitions if r.quiet}
    verdicts = verdict_changes(old_runs or [], new_runs or [])
    return SpecDiff(
        old, new, tuple(changes), tuple(sorted(quiet_a - quiet_b)), tuple(sorted(quiet_b - quiet_a)), verdicts
    )


def _label(change: RowChange) -> str:
    row = change.row
    if change.kind != "changed":
        prefix = {"removed": "- ", "added": "+ ", "same": ""}[change.kind]
        return prefix + row_label(row, 28).replace("\n", "\n" + " " * len(prefix))
    old, new = change.old, change.new
    assert old is not None and new is not None
    lines = [f"~ {row_title(new)}"]
    if "guard" in change.what:
        lines += ["was " + x if i == 0 else "    " + x for i, x in enumerate(wrap(guard_text(old), 28))]
        lines += ["now " + x if i == 0 else "    " + x for i, x in enumerate(wrap(guard_text(new), 28))]
    if "target" in change.what:
        lines.append(f"target was {old.target or 'stays'}, now {new.target or 'stays'}")
    if "effects" in change.what:
        gone = sorted(set(_effects(old)) - set(_effects(new)))
        came = sorted(set(_effects(new)) - set(_effects(old)))
        lines += [f"- {x}" for x in gone] + [f"+ {x}" for x in came]
    return "\n".join(lines)


def diff_arrows(diff: SpecDiff) -> list[Arrow]:
    arrows = []
    for change in diff.changes:
        row = change.row
        target = (row.target or change.source) if not row.quiet else change.source
        arrows.append(
            Arrow(
                change.source,
                target,
                _label(change),
                COLOURS[change.kind],
                row_tooltip(row),
                1.0 if change.kind == "same" else 1.8,
                "dashed" if change.kind == "removed" else "solid",
            )
        )
    return arrows


def _cell(text: str, colour: str = "black", bold: bool = False) -> str:
    inner = html_escape(text)
    if bold:
        inner = f"<B>{inner}</B>"
    return f'<TD ALIGN="LEFT"><FONT COLOR="{colour}">{inner}</FONT></TD>'


def diff_legend(diff: SpecDiff) -> Html:
    old, new = diff.old.name, diff.new.name
    rows = [
        "<TR>"
        + "".join(
            _cell(text, COLOURS[kind])
            for kind, text in (
                ("removed", f"- only in {old}"),
                ("added", f"+ only in {new}"),
                ("changed", "~ guard, target or effects changed"),
                ("same", "the same in both"),
            )
        )
        + "</TR>"
    ]

    def lines(title: str, names: tuple[str, ...], colour: str) -> None:
        if names:
            text = ", ".join(names)
            rows.append(
                '<TR><TD COLSPAN="4" ALIGN="LEFT">'
                + f'<FONT COLOR="{colour}">'
                + '<BR ALIGN="LEFT"/>'.join(html_escape(x) for x in wrap(f"{title}: {text}", 110))
                + '<BR ALIGN="LEFT"/></FONT></TD></TR>'
            )

    lines(f"rows that change nothing, only in {old}", diff.quiet_old, COLOURS["removed"])
    lines(f"rows that change nothing, only in {new}", diff.quiet_new, COLOURS["added"])
    if diff.verdicts:
        rows.append(
            "<TR>" + _cell("property", bold=True) + _cell(old, bold=True) + _cell(new, bold=True) + "<TD></TD></TR>"
        )
        for name, was, now in diff.verdicts:
            colour = COLOURS["added"] if now == "holds" else COLOURS["removed"]
            rows.append("<TR>" + _cell(name) + _cell(was) + _cell(now, colour, bold=True) + "<TD></TD></TR>")
    else:
        rows.append('<TR><TD COLSPAN="4" ALIGN="LEFT">no verdict changed</TD></TR>')
    return Html(
        '<TABLE BORDER="1" COLOR="#bbbbbb" CELLBORDER="0" CELLSPACING="1" CELLPADDING="3" '
        'STYLE="ROUNDED">' + "".join(rows) + "</TABLE>"
    )


def diff_dot(diff: SpecDiff, sizes: str = "") -> str:
    """The DOT text of ``diff``."""
    title = f"{diff.old.name} -> {diff.new.name}: what changed"
    if sizes:
        title += f"\n(verdicts over {sizes} queue(s))"
    graph = base_graph(f"diff_{diff.old.name}_{diff.new.name}", title)
    lowest = draw_arrows(graph, diff.new, diff_arrows(diff))
    add_legend(graph, diff_legend(diff), lowest)
    return graph.text()


def _text_lines(text: str, indent: str, width: int = 72) -> list[str]:
    """``text`` wrapped to ``width``, continuation lines indented two more."""
    lines = wrap(text, width - len(indent) - 2)
    return [indent + lines[0], *(indent + "  " + line for line in lines[1:])]


def diff_text(diff: SpecDiff, sizes: str = "", width: int = 72) -> str:
    """The same difference as text no wider than ``width`` columns (72 for the drawings' text files)."""
    title = f"{diff.old.name} -> {diff.new.name}: what changed"
    lines = _text_lines(title + (f" (verdicts over {sizes} queue(s))" if sizes else ""), "", width)
    lines += ["", "- only in the first, + only in the second, ~ changed:", ""]
    for change in diff.changes:
        if change.kind == "same":
            continue
        row = change.row
        mark = {"removed": "-", "added": "+", "changed": "~"}[change.kind]
        letter = f" ({row.letter})" if row.letter else ""
        move = f"-> {row.target}" if row.target else "(stays)"
        lines += _text_lines(f"{mark} {row.name}{letter}: {row.event} in {change.source} {move}", "", width)
        if change.kind != "changed":
            if row.guard is not None and not row.otherwise:
                lines += _text_lines(f"when {guard_text(row)}", "    ", width)
            continue
        old, new = change.old, change.new
        assert old is not None and new is not None
        if "guard" in change.what:
            lines += _text_lines(f"guard was {guard_text(old)}", "    ", width)
            lines += _text_lines(f"guard now {guard_text(new)}", "    ", width)
        if "target" in change.what:
            lines.append(f"    target was {old.target or 'stays'}, now {new.target or 'stays'}")
        if "effects" in change.what:
            gone = sorted(set(_effects(old)) - set(_effects(new)))
            came = sorted(set(_effects(new)) - set(_effects(old)))
            lines += [f"    effect - {x}" for x in gone] + [f"    effect + {x}" for x in came]
    same = [c.row.name for c in diff.changes if c.kind == "same"]
    if same:
        lines += ["", *_text_lines("the same in both: " + ", ".join(dict.fromkeys(same)), "", width)]
    for title, names in ((f"only in {diff.old.name}", diff.quiet_old), (f"only in {diff.new.name}", diff.quiet_new)):
        if names:
            lines += ["", *_text_lines(f"rows that change nothing, {title}: " + ", ".join(names), "", width)]
    lines += ["", "verdicts that changed:" if diff.verdicts else "no verdict changed"]
    names = max((len(name) for name, _, _ in diff.verdicts), default=0)
    lines += [f"  {name:<{names}}  {was} -> {now}" for name, was, now in diff.verdicts]
    return "\n".join(lines) + "\n"
