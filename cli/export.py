"""Counterexamples as files other tools read (``--traces FOLDER``).

Each failing property's shortest trace is written twice:

- ``<variant>-<N>q-<property>.jsonl``: an oracle trace (``spec/TRACE.md``)
  with every variable observed after every event. ``oracle check`` replays
  it (it conforms to the table that found it; against another table it
  shows where the two part), and an implementation's own trace of the same
  events can be compared with it line by line.
- ``<variant>-<N>q-<property>.itf.json``: the Informal Trace Format of
  Apalache and Quint (:mod:`virtio_notifier_spec.model.itf`); its ``#meta``
  names the table as a variant, or as a path relative to the trace's own
  folder, so that ``replay --trace`` finds it from any folder, and the
  environment it was explored in (``env``).

A property about two runs (history freedom) writes the second run as
``...-<property>.other.jsonl`` and ``.other.itf.json``. A property of
infinite runs (``liveness --traces``) writes its lasso: the oracle trace
goes once round the cycle, the ITF document marks where the cycle starts
(``loop``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from virtio_notifier_spec.model.explore import Exploration
from virtio_notifier_spec.model.itf import itf_lasso, itf_trace, source_for
from virtio_notifier_spec.model.lasso import Lasso
from virtio_notifier_spec.model.trace import Trace
from virtio_notifier_spec.oracle.observation import KICK_EVENT, full_observation
from virtio_notifier_spec.oracle.tracefile import Header, record_json, trace_lines
from virtio_notifier_spec.spec.schema import Spec

from .output import output_folder, writing


def oracle_trace(spec: Spec, spec_arg: str, trace: Trace, label: str) -> list[str]:
    """``trace`` as the lines of an oracle trace, every variable observed;
    the header names the table as ``spec_arg`` (a variant or a path, as
    ``--spec`` was given), so that ``oracle check`` loads the same one.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> from virtio_notifier_spec.model.explore import explore
    >>> spec = load_spec("proposal")
    >>> lines = oracle_trace(spec, "proposal", explore(spec, 1).counterexamples["no_lost_kick"].trace, "x")
    >>> len(lines), lines[-1][:40]
    (4, '{"event":"reset","args":{},"observed":{"')
    """
    layout = {v.name: i for i, v in enumerate(spec.device_variables)}
    limited = bool(trace.start.device[layout["limited"]]) if "limited" in layout else False
    header = Header(spec_arg, len(trace.start.queues), limited, implementation=label, env=spec.env)
    first = header.to_json() | {"observed": full_observation(spec, None, trace.start, None)}
    records = []
    pre = trace.start
    for step in trace.steps:
        kicked = step.event.target if step.event.event.name == KICK_EVENT else None
        records.append(record_json(step.event, full_observation(spec, pre, step.post, kicked)))
        pre = step.post
    lines = trace_lines(header, records)
    return [json.dumps(first, separators=(",", ":")), *lines[1:]]


def write_trace(folder: Path, stem: str, spec: Spec, spec_arg: str, trace: Trace, label: str) -> list[Path]:
    """One trace in both formats; returns the paths written."""
    jsonl = folder / f"{stem}.jsonl"
    itf = folder / f"{stem}.itf.json"
    document = itf_trace(spec, trace, meta={"source": source_for(spec_arg, folder), "env": spec.env, "property": label})
    with writing("--traces"):
        jsonl.write_text("\n".join(oracle_trace(spec, spec_arg, trace, label)) + "\n", encoding="utf-8")
        itf.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return [jsonl, itf]


def write_counterexamples(
    folder: str | Path, spec: Spec, spec_arg: str, found: Iterable[tuple[int, str, Trace, Trace | None]]
) -> list[Path]:
    """Write each ``(queues, property, trace, other)``; returns the paths."""
    out = output_folder(folder, "--traces")
    written = []
    for queues, name, trace, other in found:
        stem = f"{spec.name}-{queues}q-{name}"
        written += write_trace(out, stem, spec, spec_arg, trace, f"counterexample to {name}")
        if other is not None:
            written += write_trace(out, stem + ".other", spec, spec_arg, other, f"counterexample to {name}, run 2")
    return written


def write_lassos(folder: str | Path, spec: Spec, spec_arg: str, found: Iterable[tuple[int, str, Lasso]]) -> list[Path]:
    """Write each ``(queues, property, lasso)``; returns the paths."""
    out = output_folder(folder, "--traces")
    written = []
    for queues, name, lasso in found:
        stem, label = f"{spec.name}-{queues}q-{name}", f"counterexample to {name} (a lasso)"
        once_round = Trace(lasso.stem.start, (*lasso.stem.steps, *lasso.cycle))
        jsonl = out / f"{stem}.jsonl"
        itf = out / f"{stem}.itf.json"
        meta = {"source": source_for(spec_arg, out), "env": spec.env, "property": name}
        document = itf_lasso(spec, lasso, meta=meta)
        with writing("--traces"):
            jsonl.write_text("\n".join(oracle_trace(spec, spec_arg, once_round, label)) + "\n", encoding="utf-8")
            itf.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        written += [jsonl, itf]
    return written


def first_counterexamples(spec_name: str, runs: Iterable[Exploration]):
    """``(queues, property, trace, other)`` for each failing property, at the
    smallest queue count that shows it: what ``--traces`` writes."""
    seen: set[str] = set()
    for r in runs:
        for name, cx in r.counterexamples.items():
            if name not in seen:
                seen.add(name)
                yield r.queues, name, cx.trace, cx.other


def first_lassos(runs: Iterable[Exploration]):
    """``(queues, property, lasso)`` for each failing liveness property, at
    the smallest queue count that shows it."""
    seen: set[str] = set()
    for r in runs:
        for name, failure in r.lassos.items():
            run = r.liveness_run(name)
            if name not in seen and run is not None:
                seen.add(name)
                yield run.queues, name, failure.lasso
