"""Replayable traces: a design's shortest run to a divergence or a violation,
written in the oracle's trace format (``spec/TRACE.md``).

Each line carries what the design shows after the event (every variable and
``handled``), so ``virtio-notifier-spec oracle check --env ENV --all FILE``
replays the run against ``resolved`` in the design's environment and finds
the divergence at the last line (the oracle resynchronises on what the
design shows after an earlier one). A step on which the design stops has no
observation; its ``meta`` says why.

>>> from virtio_notifier_spec.designs.catalogue import entry
>>> from virtio_notifier_spec.designs.analysis import Sequence
>>> lines = trace_lines(entry("qemu_today"), Sequence(False, (True,), ()))
>>> lines[0][:60]
'{"format":"virtio-notifier-trace","version":1,"variant":"res'
"""

from __future__ import annotations

from pathlib import Path

from virtio_notifier_spec.oracle.tracefile import Header, dumps
from virtio_notifier_spec.spec.load import load_spec

from .analysis import Sequence, observation
from .catalogue import Entry
from .host import DesignAbort, Run


def trace_lines(entry: Entry, sequence: Sequence) -> list[str]:
    """The trace of ``sequence`` run on ``entry``'s design, as text lines."""
    spec = load_spec(entry.table, env=entry.env)
    queues = len(sequence.served)
    run = Run(entry.design, queues, sequence.limited, sequence.served)
    fresh = observation(spec, run.state(spec), (False,) * queues)
    header = Header(entry.table, queues, sequence.limited, implementation=f"design:{entry.name}").to_json()
    lines = [dumps({**header, "observed": fresh}).decode()]
    for inst in sequence.events:
        record: dict = {"event": inst.event.name, "args": dict(inst.args)}
        try:
            handled = run.perform(inst.event.name, dict(inst.args))
        except DesignAbort as stop:
            record["meta"] = {"design": f"stops here: {stop}"}
            lines.append(dumps(record).decode())
            break
        record["observed"] = observation(spec, run.state(spec), handled)
        lines.append(dumps(record).decode())
    return lines


def write_trace(path: Path, entry: Entry, sequence: Sequence) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(trace_lines(entry, sequence)) + "\n", encoding="utf-8")
