"""``designs/README.md``: the catalogue and its verdict matrix, as Markdown,
and the replayable traces it links to (``designs/traces/``).

Everything written is a function of the tables, the designs and the
catalogue: no time, no machine, so ``make designs`` rewrites the same bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .analysis import NOT_APPLICABLE, VIOLATED, Analysis, Group, PropertyVerdict
from .catalogue import Entry
from .matrix import DesignResult, Matrix
from .traces import write_trace

TRACES = "traces"

INTRO = """\
# designs: real hypervisors judged against the table

`virtio_notifier_spec.designs`. One module per real design, each a small
model, written from its public source, of what the hypervisor does to
ioeventfd registrations, eventfd readers and vhost's holdings; each runs on
the simulated KVM host of `reference/kernel.py` and is judged against
`resolved` in the environment its callers really make (an environment
profile of `spec/common.toml`).

{modules}
May import everything below `cli` (it sits between `cli` and `reference`).
Entry points: `catalogue.DESIGNS`, `analysis.analyse`, `matrix.build`,
`oracle_run.drive_design`. `make designs` (`virtio-notifier-spec designs`)
writes this file and `traces/`, and exits 0 when every verdict and every
divergence is the one the catalogue pins, 1 otherwise (the tests pin them
too: `tests/designs/`).

How a design is judged. A breadth-first search runs the design from every
start its environment allows (host limit, which queues vhost serves)
through every event the environment can issue, {queues} queues. Properties
are checked on the design's states and steps; a violation is shown with a
shortest run. Each step is also compared with what `resolved` does from the
design's state (the oracle's judgement, resynchronised after an earlier
divergence): what differs is a divergence, grouped by symptom, the event,
the row `resolved` fires on the queue that differs and the first variable
that differs. `state` is read from the host (offlimits: vhost holds the
queue; assigned: an ioeventfd of ours is registered), so the properties
relating it to the resources only check that the resources agree.
The liveness properties are decided on the same states with every step
kept (`liveness.py`, `model/liveness.py`): a failure is a lasso, whose stem
and one round of its cycle are the run shown. Each run is also a trace in
the oracle's format: replay one with
`virtio-notifier-spec oracle check --env ENV --all FILE`.

The real QEMU 7.2 binary, run under KVM and judged by the oracle from its
trace events, is beside this matrix: [qemu-real.md](qemu-real.md) (`make
qemu`), with each prediction of `qemu_today` confirmed, refuted or not
observable there.

What it finds, in short (pinned by `tests/designs/`). In their callers'
environment both QEMU designs satisfy every safety property; they differ
from `resolved` where it costs a guest: a refused ioeventfd aborts QEMU (the
memory API cannot report it), vhost's take sends a queue it does not serve
to the pio path (per-device flags in 2011, the grab counter today), and in
2011 giving the queues back restarts nothing: the liveness property
`fast_path_after_release` fails, the guest on the slow path for ever. The
2011 divergence "VM run assigns without DRIVER_OK" is not in the code read:
the core hands the transport "running and DRIVER_OK". In the adversarial
environment the same code shows far more divergences, and 2011 violated
properties, nearly all from events QEMU's callers never issue (a take of a
held queue, a release of one not held). kvmtool polls a queue from its
set-up, before DRIVER_OK, leaves a queue vhost does not serve unread (a
kick there is never handled and full speed is never reached: two liveness
failures), and exits when the guest sets a vhost device up again after a
reset. cloud-hypervisor and Firecracker register
every queue's eventfd when the device is created and read it from activation:
registered, not armed, which the refined properties accept; Firecracker's
vhost-user device cannot be reset.
"""


MODULES = (
    (
        "`qemu_2011.py`, `qemu_today.py`, `kvmtool.py`, `cloud_hypervisor.py`, `firecracker.py`",
        "the designs; each starts with its source (repository, path, commit, functions) and what it abstracts",
    ),
    ("`qemu_proxy.py`", "the virtio-pci entry points both QEMU designs share: status write, reset, VM run"),
    ("`host.py`", "a design on the simulated host, driven with the table's events and read as the table's state"),
    ("`catalogue.py`", "every design, its environment, what it is known to do: verdicts, divergences, their cost"),
    ("`analysis.py`", "every state a design reaches in its environment: property verdicts, divergences by symptom"),
    ("`oracle_run.py`", "a design as an oracle implementation, run through the oracle's generated suite"),
    (
        "`liveness.py`",
        "the liveness properties on a design's reachable graph, every step kept: its verdicts and lassos",
    ),
    ("`traces.py`", "shortest runs written as oracle traces (`traces/`)"),
    ("`matrix.py`, `render.py`", "the matrix, held to the catalogue; this file"),
)


def _modules() -> str:
    rows = ["| module | job |", "|---|---|", *(f"| {name} | {job} |" for name, job in MODULES)]
    return "\n".join(rows) + "\n"


def _cell(verdict: PropertyVerdict, link: str | None) -> str:
    if verdict.verdict == VIOLATED and link:
        return f"[**violated**]({link})"
    return "**violated**" if verdict.verdict == VIOLATED else verdict.verdict


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _group_file(entry: Entry, number: int) -> str:
    return f"{TRACES}/{entry.name}/divergence-{number:02d}.jsonl"


def _property_file(entry: Entry, name: str) -> str:
    return f"{TRACES}/{entry.name}/property-{name}.jsonl"


def _known(entry: Entry, group: Group):
    key = (group.symptom.event, group.symptom.row, group.symptom.variable)
    return next((k for k in entry.known if k.key == key), None)


def render(matrix: Matrix) -> str:
    """The README's text."""
    out = [INTRO.format(queues=matrix.queues, modules=_modules())]
    out += _designs_table(matrix)
    out += _properties_table(matrix)
    for result in matrix.results:
        out += _design_section(result)
    out += _contrast(matrix)
    out += _oracle(matrix)
    return "\n".join(out).rstrip() + "\n"


def _designs_table(matrix: Matrix) -> list[str]:
    out = [
        "## The designs",
        "",
        "| design | source read | environment | states | divergences |",
        "|---|---|---|---:|---:|",
    ]
    for r in matrix.results:
        e, a = r.entry, r.analysis
        sources = "<br>".join(f"`{s}`" for s in e.sources)
        out.append(f"| [{e.title}](#{e.name}) | {sources} | `{e.env}` | {a.states} | {len(a.groups)} |")
    out += [
        "",
        "Environments (`spec/common.toml`, `--env NAME` on every command that explores or tests): "
        "`qemu`: vhost takes and gives back all its queues in one call, only while the device is DRIVER_OK "
        "and the VM runs, and stops before the status loses DRIVER_OK, the device resets or the VM stops; "
        "only a running guest writes the status register. `kvmtool`: vhost is handed a queue at set-up and "
        "keeps it; no migration, no VM-state events. `rust_vmm` (cloud-hypervisor, Firecracker): vhost-user "
        "backends get their queues at activation; no load into a live device; a host with ioeventfds to spare.",
        "",
    ]
    return out


def _properties_table(matrix: Matrix) -> list[str]:
    names = [r.entry.name for r in matrix.results]
    out = [
        "## Properties",
        "",
        "Every property of `spec/common.toml` (lemmas are proof aids for the table, marked *lemma*): "
        "holds, **violated** (linked to its shortest run as a trace) or n/a (not asked of this design: "
        "its environment issues none of the events it is about, or its premise never holds).",
        "",
        "| property | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    first = matrix.results[0].analysis
    for verdict in first.verdicts:
        cells = []
        for r in matrix.results:
            v = r.analysis.verdict(verdict.name)
            link = _property_file(r.entry, v.name) if v.sequence is not None else None
            cells.append(_cell(v, link))
        label = f"`{verdict.name}`" + (" *lemma*" if verdict.lemma else "")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    return out


def _design_section(result: DesignResult) -> list[str]:
    e, a = result.entry, result.analysis
    module = e.design.__module__.rsplit(".", 1)[-1]
    out = [
        f'<a id="{e.name}"></a>',
        f"## {e.title}",
        "",
        f"`{module}.py`, environment `{e.env}`: {a.states} states, {a.steps} steps explored.",
        "",
    ]
    out += _violations(e, a)
    if not a.groups:
        out += ["No divergence from `resolved`.", ""]
        return out
    out += [
        "| # | event | row `resolved` fires | first variable that differs (all that do) | steps | cost | why |",
        "|---:|---|---|---|---:|---|---|",
    ]
    for number, group in enumerate(a.groups, 1):
        known = _known(e, group)
        s = group.symptom
        variable = "*stops*" if s.row == "abort" else f"`{s.variable}` ({', '.join(group.fields)})"
        row = "—" if s.row == "abort" else f"`{s.row}`"
        cost, why = (known.cost, known.why) if known else ("?", "**not in the catalogue**")
        if s.row == "abort":
            why = f"{s.variable}. {why}"
        link = f"[{number}]({_group_file(e, number)})"
        out.append(f"| {link} | `{s.event}` | {row} | {variable} | {group.count} | {cost} | {why} |")
    out += ["", "Shortest runs:", ""]
    for number, group in enumerate(a.groups, 1):
        out.append(f"{number}. `{group.sequence.describe()}`")
    out.append("")
    return out


def _violations(entry: Entry, analysis: Analysis) -> list[str]:
    broken = [v for v in analysis.verdicts if v.verdict == VIOLATED]
    out = []
    for v in broken:
        note = entry.notes.get(v.name, "")
        out.append(
            f"- `{v.name}`{' (lemma)' if v.lemma else ''} is violated ({v.reason}): {note} "
            f"Shortest: `{v.sequence.describe()}` ([trace]({_property_file(entry, v.name)}))."
        )
    skipped = [v for v in analysis.verdicts if v.verdict == NOT_APPLICABLE]
    for v in skipped:
        out.append(f"- `{v.name}` is not applicable: {v.reason}.")
    return [*out, ""] if out else []


def _contrast(matrix: Matrix) -> list[str]:
    shown = [r for r in matrix.results if r.contrast is not None]
    if not shown:
        return []
    out = [
        "## What the environment spares them",
        "",
        "The same designs in the `adversarial` environment (vhost takes and gives back one queue at a time, "
        "including queues it holds or does not hold; a stopped guest writes its status register): what QEMU's "
        "callers cannot produce shows up as divergences, aborts and violations that the `qemu` profile removes.",
        "",
        "| design | environment | states | divergences | of which the design stops | properties violated |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in shown:
        for env, a in ((r.entry.env, r.analysis), ("adversarial", r.contrast)):
            stops = sum(1 for g in a.groups if g.symptom.row == "abort")
            violated = ", ".join(f"`{v.name}`" for v in a.verdicts if v.verdict == VIOLATED) or "none"
            out.append(f"| `{r.entry.name}` | `{env}` | {a.states} | {len(a.groups)} | {stops} | {violated} |")
    out.append("")
    return out


def _oracle(matrix: Matrix) -> list[str]:
    shown = [r for r in matrix.results if r.drive is not None]
    if not shown:
        return []
    out = [
        "## Through the oracle",
        "",
        "Each design driven in-process by the oracle (`oracle.drive`) through the suite it generates for the "
        f"design's environment, {matrix.queues} queues (every reachable state and event, consecutive rows, "
        "seeded walks), in one vhost configuration (`oracle_run.drive_served`: vhost serves every queue, or "
        "none for Firecracker), which the table is told. The oracle stops each test at "
        "its first divergence; the analysis above goes on from the design's state and groups what it finds.",
        "",
        "| design | tests | failed | shortest failing sequence | at |",
        "|---|---:|---:|---|---|",
    ]
    for r in shown:
        d = r.drive
        if d.shrunk is None:
            out.append(f"| `{r.entry.name}` | {len(d.results)} | 0 | — | — |")
            continue
        where = d.shrunk.lines()[0].replace("|", "\\|")
        out.append(f"| `{r.entry.name}` | {len(d.results)} | {len(d.failed)} | `{d.shrunk.describe()}` | {where} |")
    out.append("")
    return out


def write(matrix: Matrix, out: Path) -> list[Path]:
    """Write ``README.md`` and every trace into ``out``; the paths written."""
    written = []
    traces = out / TRACES
    if traces.exists():
        shutil.rmtree(traces)
    for result in matrix.results:
        e, a = result.entry, result.analysis
        for number, group in enumerate(a.groups, 1):
            path = out / _group_file(e, number)
            write_trace(path, e, group.sequence)
            written.append(path)
        for v in a.verdicts:
            if v.sequence is not None:
                path = out / _property_file(e, v.name)
                write_trace(path, e, v.sequence)
                written.append(path)
    readme = out / "README.md"
    readme.write_text(render(matrix), encoding="utf-8")
    return [readme, *written]
