"""The verdict matrix: every design analysed, driven by the oracle, and held to the catalogue.

For each design of :mod:`.catalogue`: the analysis in its environment
(:mod:`.analysis`), the oracle's generated suite run against it
(:mod:`.oracle_run`), and, for a design whose environment restricts the
adversarial one, the same analysis under ``adversarial`` for contrast (what
the profile spares it). The matrix is what the catalogue pins when every
property verdict and every divergence found is the one the catalogue names,
no more and no fewer.

>>> from virtio_notifier_spec.designs.catalogue import entry
>>> result = judge(entry("firecracker"), drive=False, contrast=False)
>>> result.problems
()
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from virtio_notifier_spec.oracle.drive import DriveReport
from virtio_notifier_spec.spec.profile import ADVERSARIAL

from .analysis import Analysis, analyse
from .catalogue import DESIGNS, Entry
from .oracle_run import drive_design

QUEUES = 2


@dataclass(frozen=True)
class DesignResult:
    entry: Entry
    analysis: Analysis
    drive: DriveReport | None
    contrast: Analysis | None  # the same design in the adversarial environment
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Matrix:
    results: tuple[DesignResult, ...]
    queues: int
    seconds: float

    @property
    def ok(self) -> bool:
        return not any(r.problems for r in self.results)

    @property
    def problems(self) -> list[str]:
        return [p for r in self.results for p in r.problems]


def expectations(entry: Entry, analysis: Analysis) -> tuple[str, ...]:
    """Where ``analysis`` departs from what the catalogue pins for ``entry``."""
    problems = []
    for verdict in analysis.verdicts:
        wanted = entry.verdicts.get(verdict.name, "holds")
        if verdict.verdict != wanted:
            problems.append(f"{entry.name}: {verdict.name} {verdict.verdict}, the catalogue says {wanted}")
    for name in sorted(set(entry.verdicts) - {v.name for v in analysis.verdicts}):
        problems.append(f"{entry.name}: the catalogue names {name}, which is not a property of the table")
    found = {(g.symptom.event, g.symptom.row, g.symptom.variable): g for g in analysis.groups}
    known = {k.key for k in entry.known}
    for key in found.keys() - known:
        group = found[key]
        problems.append(f"{entry.name}: unexplained divergence {group.symptom} ({group.sequence.describe()})")
    for key in sorted(known - found.keys()):
        problems.append(f"{entry.name}: known divergence {' / '.join(key)} no longer found")
    return tuple(problems)


def judge(entry: Entry, queues: int = QUEUES, *, drive: bool = True, contrast: bool = True) -> DesignResult:
    """One design: analysed, driven, contrasted, held to the catalogue."""
    analysis = analyse(entry, queues)
    report = drive_design(entry, queues) if drive else None
    other = None
    if contrast and analysis.spec.restricted and entry.env != ADVERSARIAL and _runs_adversarial(entry):
        other = analyse(dataclasses.replace(entry, env=ADVERSARIAL), queues)
    return DesignResult(entry, analysis, report, other, expectations(entry, analysis))


def _runs_adversarial(entry: Entry) -> bool:
    """Designs that model every event of the adversarial environment (QEMU's)."""
    return entry.env == "qemu"


def build(queues: int = QUEUES, designs: tuple[Entry, ...] = DESIGNS, *, drive: bool = True) -> Matrix:
    """The whole matrix."""
    began = time.perf_counter()
    results = tuple(judge(entry, queues, drive=drive) for entry in designs)
    return Matrix(results, queues, time.perf_counter() - began)
