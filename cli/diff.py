"""``virtio-notifier-spec diff A [B]``: what changed between two tables, as text or JSON.

Rows are compared by name and source state (added, removed, changed: guard,
target or effects; rows that change nothing too), and both tables are
explored for each ``--queues`` size to say which properties change verdict,
of every kind: the properties of infinite runs too (``scale/verdicts.py``). The comparison is the drawings'
(``draw/diff.py``); this command prints it instead of drawing it. With one
table that ``extends`` another, it is compared with its base.

Exit codes: 0 the tables are the same (rows and verdicts), 1 they differ,
2 bad input, 3 a run stopped (``--max-states``, ``--timeout``) before the
verdicts could be compared and no row differs, 130 interrupted.
"""

from __future__ import annotations

import click

from virtio_notifier_spec.draw.diff import RowChange, SpecDiff, diff_text, spec_diff
from virtio_notifier_spec.draw.labels import guard_text
from virtio_notifier_spec.model.explore import INTERRUPTED, TIMEOUT
from virtio_notifier_spec.model.report import span
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import Spec, Transition
from virtio_notifier_spec.spec.text import effect_text

from .deadline import Deadline
from .document import print_document
from .env import env_option
from .exitcodes import outcome
from .guard import guarded
from .options import depth_option, max_states_option, queues_option, run_options
from .output import echo, width
from .progress import Progress
from .runs import explore_sizes


def _row(row: Transition) -> dict:
    return {
        "to": row.target,
        "guard": guard_text(row),
        "effects": [effect_text(e) for e in row.effects],
    }


def _change(change: RowChange) -> dict:
    row = change.row
    found = {"name": row.name, "letter": row.letter, "event": row.event, "from": change.source}
    if change.kind != "changed":
        return found | _row(row)
    assert change.old is not None and change.new is not None
    return found | {"what": list(change.what), "old": _row(change.old), "new": _row(change.new)}


def _table(spec: Spec) -> dict:
    return {"name": spec.name, "files": list(spec.files)}


def diff_json(diff: SpecDiff, sizes: range, partial: bool) -> dict:
    """The difference as one JSON document (``diff --json``)."""
    rows = {kind: [_change(c) for c in diff.changes if c.kind == kind] for kind in ("added", "removed", "changed")}
    return {
        "old": _table(diff.old),
        "new": _table(diff.new),
        "queues": list(sizes),
        "rows": rows,
        "same": list(dict.fromkeys(c.row.name for c in diff.changes if c.kind == "same")),
        "verdicts": [{"property": name, "old": was, "new": now} for name, was, now in diff.verdicts],
        "partial": partial,
        "differ": differs(diff),
    }


def differs(diff: SpecDiff) -> bool:
    """True when a row or a verdict differs."""
    return bool(diff.verdicts or diff.quiet_old or diff.quiet_new or any(c.kind != "same" for c in diff.changes))


def summary(diff: SpecDiff) -> str:
    """One line: how many rows and verdicts differ.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> summary(spec_diff(load_spec("resolved"), load_spec("resolved"), quiet_rows=True))
    'the same: no row and no verdict differs'
    """
    if not differs(diff):
        return "the same: no row and no verdict differs"
    counts = {kind: sum(c.kind == kind for c in diff.changes) for kind in ("added", "removed", "changed")}
    parts = [f"{n} row(s) {kind}" for kind, n in counts.items() if n]
    parts.append(f"{len(diff.verdicts)} verdict(s) changed" if diff.verdicts else "no verdict changed")
    return "different: " + ", ".join(parts)


@click.command()
@click.argument("old", metavar="A")
@click.argument("new", metavar="[B]", required=False)
@queues_option(default="1-2", help="Queue counts at which both tables are explored for their verdicts: N or A-B.")
@max_states_option
@depth_option
@run_options
@env_option
@guarded
def diff(
    old: str,
    new: str | None,
    queues: range,
    max_states: int | None,
    depth: int | None,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str,
) -> int:
    """Compare two tables: rows added, removed or changed, and changed verdicts.

    A and B are variants (proposal, resolved) or TOML files. With A alone,
    A must extend another table, and is compared with it. Exit 0 same,
    1 different, 3 undecided (a run stopped), 2 bad input, 130 interrupted.

    Example: virtio-notifier-spec diff proposal resolved --json
    """
    second = load_spec(new if new is not None else old, env=env)
    if new is None and second.base is None:
        raise SpecError(f"{old} extends no table: name the two tables to compare (diff A B)")
    first = load_spec(old if new is not None else second.base, env=env)
    deadline = Deadline(timeout)
    with Progress(f"diff {first.name} {second.name}", quiet=quiet) as progress:
        first_arg = old if new is not None else second.base
        bounds = {"max_states": max_states, "depth": depth}
        first_runs, _ = explore_sizes(first, queues, deadline, progress, spec_arg=first_arg, **bounds)
        interrupted = any(r.undecided == INTERRUPTED for r in first_runs)
        second_runs = (
            [] if interrupted else explore_sizes(second, queues, deadline, progress, spec_arg=new or old, **bounds)[0]
        )
    runs = [*first_runs, *second_runs]
    interrupted = interrupted or any(r.undecided == INTERRUPTED for r in runs)
    stopped = INTERRUPTED if interrupted else next((r.undecided for r in runs if r.undecided), None)
    if stopped is None and len(second_runs) < len(queues):
        stopped = TIMEOUT
    if interrupted:  # verdicts are compared only when both tables were explored
        first_runs, second_runs = [], []
    result = spec_diff(first, second, first_runs, second_runs, quiet_rows=True)
    if as_json:
        print_document("diff", [diff_json(result, queues, bool(stopped))], stopped=stopped)
    else:
        columns = width()
        echo(diff_text(result, span(list(queues)), width=columns).rstrip("\n"))
        echo(f"\n{summary(result)}")
        if stopped:
            echo(f"{stopped}: verdicts marked unknown are undecided")
    return outcome(failed=differs(result), partial=stopped)
