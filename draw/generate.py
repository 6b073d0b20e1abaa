"""Every drawing of ``diagrams/``: what to draw, and writing it.

:func:`plan` lists the drawings for some tables and pairs of tables:

- ``machine-<spec>``: the per-queue machine (``.txt``: its ASCII form);
- ``reachable-<spec>-<n>q``: the reachable graph for ``n`` queues
  (``.txt``: every state and step);
- ``diff-<a>-<b>``: what changed from table ``a`` to table ``b``;
- ``counterexamples/<spec>-<property>``: each failing property's shortest
  trace through the machine (``.txt``: the trace), or for a property of
  infinite runs its lasso (``.txt``: stem and cycle).

:func:`write` writes each as DOT, SVG, PNG and text, as asked. Everything
is a function of the tables: the same tables give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from virtio_notifier_spec.model.explore import Exploration, explore
from virtio_notifier_spec.model.liveness import LivenessRun, check_liveness, failure_text
from virtio_notifier_spec.scale.verdicts import with_liveness
from virtio_notifier_spec.spec.schema import Spec

from .ascii import machine_ascii
from .counterexample import counterexample_dot, trace_text
from .diff import diff_dot, diff_text, spec_diff
from .lasso import lasso_dot
from .machine import machine_dot
from .reachable import LIMIT, collect, listing, reachable_dot
from .render import render

FORMATS = ("dot", "svg", "png", "ascii")
SUFFIX = {"dot": ".dot", "svg": ".svg", "png": ".png", "ascii": ".txt"}


@dataclass(frozen=True, slots=True)
class Drawing:
    """One drawing: its path without suffix, its DOT text and its text form."""

    stem: str
    dot: str
    text: str


class Runs:
    """Explorations, each done once however many drawings need it."""

    def __init__(self, sizes: Iterable[int]) -> None:
        self.sizes = tuple(sizes)
        self._done: dict[tuple, Exploration] = {}

    def of(self, spec: Spec) -> list[Exploration]:
        runs = []
        for n in self.sizes:
            key = (spec.files, spec.name, n)
            if key not in self._done:
                (self._done[key],) = with_liveness(spec, [explore(spec, n)])
            runs.append(self._done[key])
        return runs

    def liveness_of(self, spec: Spec) -> list[LivenessRun]:
        """The liveness verdicts of ``spec`` at each size, on every state."""
        runs = []
        for n in self.sizes:
            key = ("liveness", spec.files, spec.name, n)
            if key not in self._done:
                self._done[key] = check_liveness(spec, n)
            runs.append(self._done[key])
        return runs


def machine_drawing(spec: Spec) -> Drawing:
    return Drawing(f"machine-{spec.name}", machine_dot(spec), machine_ascii(spec))


def spec_drawings(spec: Spec, runs: Runs, limit: int = LIMIT) -> list[Drawing]:
    """The machine, the reachable graphs and the counterexamples of one table."""
    found = [machine_drawing(spec)]
    for n in runs.sizes:
        graph = collect(spec, n)
        found.append(Drawing(f"reachable-{spec.name}-{n}q", reachable_dot(graph, limit), listing(graph)))
    shown: set[str] = set()
    for run in runs.of(spec):
        for name, cx in run.counterexamples.items():
            if name not in shown:
                shown.add(name)
                found.append(
                    Drawing(f"counterexamples/{spec.name}-{name}", counterexample_dot(run, cx), trace_text(run, cx))
                )
    for run in runs.liveness_of(spec):
        for name in run.failures:
            if name not in shown:
                shown.add(name)
                text = failure_text(run, name) + "\n"
                found.append(Drawing(f"counterexamples/{spec.name}-{name}", lasso_dot(run, name), text))
    return found


def diff_drawing(old: Spec, new: Spec, runs: Runs) -> Drawing:
    diff = spec_diff(old, new, runs.of(old), runs.of(new))
    sizes = f"{runs.sizes[0]}-{runs.sizes[-1]}" if len(runs.sizes) > 1 else str(runs.sizes[0])
    return Drawing(f"diff-{old.name}-{new.name}", diff_dot(diff, sizes), diff_text(diff, sizes))


def text_plan(specs: list[Spec], diffs: list[tuple[Spec, Spec]], sizes: Iterable[int] = (1, 2)) -> list[Drawing]:
    """Only the machines and the differences: what ``--out -`` prints."""
    runs = Runs(sizes)
    return [*map(machine_drawing, specs), *(diff_drawing(old, new, runs) for old, new in diffs)]


def plan(
    specs: list[Spec], diffs: list[tuple[Spec, Spec]], sizes: Iterable[int] = (1, 2), limit: int = LIMIT
) -> list[Drawing]:
    """Every drawing for ``specs`` and the pairs ``diffs``."""
    runs = Runs(sizes)
    found: list[Drawing] = []
    for spec in specs:
        found += spec_drawings(spec, runs, limit)
    for old, new in diffs:
        found.append(diff_drawing(old, new, runs))
    return found


def contents(drawing: Drawing, fmt: str) -> bytes:
    """The bytes of one drawing in one format (svg and png need ``dot``)."""
    if fmt == "dot":
        return drawing.dot.encode()
    if fmt == "ascii":
        return drawing.text.encode()
    return render(drawing.dot, fmt)


def write(drawings: list[Drawing], out: Path, formats: Iterable[str]) -> list[Path]:
    """Write each drawing in each format under ``out``; returns the paths."""
    written = []
    for drawing in drawings:
        for fmt in formats:
            path = out / (drawing.stem + SUFFIX[fmt])
            path.parent.mkdir(parents=True, exist_ok=True)
            data = contents(drawing, fmt)
            if not path.exists() or path.read_bytes() != data:
                path.write_bytes(data)
            written.append(path)
    return written


def stale(out: Path, keep: list[Path]) -> list[Path]:
    """Files of ours under ``out`` that no drawing produces any more."""
    kept = {p.resolve() for p in keep}
    found = []
    for folder in (out, out / "counterexamples"):
        if folder.is_dir():
            found += [
                p
                for p in sorted(folder.iterdir())
                if p.is_file() and p.suffix in SUFFIX.values() and p.resolve() not in kept
            ]
    return found
