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
the simulated KVM host of `reference/kernel.py` and is judged against a
table in the environment its callers really make (an environment profile
of `spec/common.toml`): `resolved`, or, for cloud-hypervisor and
Firecracker, which register every queue's ioeventfd when they create the
device, `registered` (`spec/registered.toml`: `resolved` with queues
registered at creation and read from activation, an activation that can
fail, a device that may ignore a status write and kick itself on
activation).

{modules}
May import everything below `cli` (it sits between `cli` and `reference`).
Entry points: `catalogue.DESIGNS`, `analysis.analyse`, `matrix.build`,
`oracle_run.drive_design`, `child.analyse_child`. `make designs` (`virtio-notifier-spec designs`)
writes this file and `traces/`, and exits 0 when every verdict and every
divergence is the one the catalogue pins, 1 otherwise (the tests pin them
too: `tests/designs/`).

How a design is judged. A breadth-first search runs the design from every
start its environment allows (host limit, which queues vhost serves)
through every event the environment can issue, {queues} queues. Properties
are checked on the design's states and steps; a violation is shown with a
shortest run. Each step is also compared with what the design's table does
from the design's state (the oracle's judgement, resynchronised after an
earlier divergence): what differs is a divergence, grouped by symptom, the
event, the row the table fires on the queue that differs and the first
variable that differs. `state` is read from the host (offlimits: vhost
holds the queue; assigned: an ioeventfd of ours is registered), so the
properties relating it to the resources only check that the resources
agree. Each divergence's cost says what a guest loses: a kick (the queue
is dead, or nobody reads it), the device, the VM, or only speed (the slow
path handles every kick, each a synchronous exit; for vhost-net's control
queue that costs nothing measurable); a row that needs a non-default
option says which. The liveness properties are decided on the same states
with every step kept (`liveness.py`, `model/liveness.py`): a failure is a
lasso, whose stem and one round of its cycle are the run shown. Each run is
also a trace in the oracle's format: replay one with
`virtio-notifier-spec oracle check --env ENV --all FILE`.

The real QEMU 7.2 binary, run under KVM and judged by the oracle from its
trace events, is beside this matrix: [qemu-real.md](qemu-real.md) (`make
qemu`), with each prediction of `qemu_today` confirmed, refuted or not
observable there.

What it finds, in short (pinned by `tests/designs/`). In their callers'
environment the QEMU designs satisfy every safety property; they differ
from `resolved` where it costs a guest: a refused ioeventfd aborts QEMU from
1.0 on (the memory API cannot report it: the port-I/O listener aborts),
where 0.14 fell back to the pio path for the rest of the device's life (a
device without vhost never gets the fast path back: `fast_path_recoverable`
fails); vhost's take sends the queue it does not serve (vhost-net's control
queue) to the pio path; in 2010-2011 giving the queues back restarts
nothing (`fast_path_after_release` fails, the guest on the slow path for
ever: with `ioeventfd=on`, which virtio-net-pci did not default to); every
start signals every notifier, a spurious run of each handler. In the
adversarial environment the same code shows far more divergences, nearly
all from events QEMU's callers never issue. kvmtool polls a queue from its
set-up, before DRIVER_OK, leaves a queue vhost does not serve unread (a
kick there is never handled and full speed is never reached: two liveness
failures), kills a queue whose ioeventfd KVM refuses or finds registered
already, and exits when the guest sets a vhost-net device up again after a
reset. cloud-hypervisor and Firecracker conform to `registered` from the
start; cloud-hypervisor keeps a device activated through a status write
that drops DRIVER_OK, Firecracker keeps reading its queues in a paused VM
(`stopped_vm_holds_none_of_ours`, asked now that their environment restores
snapshots) and its vhost-user device cannot be reset.
"""


CORRECTIONS = """\
## Corrected against the source

What an earlier reading of the designs got wrong, and the lines that say
so (a path with line numbers is in the snapshot of the commit named; a
file read from the index is cited by function and statement).

**kvmtool** (`kvmtool/kvmtool` @ b48735e5d562)

- A queue whose ioeventfd KVM refuses is dead, not left on the pio path:
  `virtio_pci_init_vq` (`virtio/pci.c:114-125`) prints "couldn't add
  ioeventfd for vq" and returns at line 122, before `ops->init_vq` (line
  124), which is what sets the ring up and starts the queue's thread
  (`virtio/net.c:594-636`; `virtio/blk.c`'s `init_vq` makes the eventfd its
  `notify_vq` writes, 260-271). A kick on the pio path
  (`virtio/pci-legacy.c:162-169`) reaches `notify_vq` for nothing:
  `kick / kick_takes_pio_path / handled`, a kick lost.
- Two ioeventfds per queue: `virtio_pci__init_ioeventfd` registers a
  port-I/O one (`virtio/pci.c:92`) and a memory one (line 100), and deletes
  the first when the second fails (109-111). On a limited host each queue
  takes two slots (`[slots] addresses`, `spec/README.md`).
- The second registration of a queue set up again after a status of 0
  before DRIVER_OK collides: `KVM_IOEVENTFD` (`ioeventfd.c:88`) answers
  -EEXIST for an address and datamatch already registered, `init_vq` never
  maps the new ring, and the registration found there runs the queue on the
  old one: the device is unusable (`handle / handler_consumes_kick /
  handled`), not "no cost".
- The vhost owner reset is vhost-net's alone: its `exit_vq`
  (`virtio/net.c:638-661`) issues `VHOST_RESET_OWNER` (651); `virtio/vsock.c`
  and `virtio/scsi.c` have no `exit_vq`, and `virtio_exit_vq`
  (`virtio/core.c:222-229`) calls one only where it exists: a vhost-vsock or
  vhost-scsi device gets its queues back to vhost after a reset
  (`kvmtool.KvmtoolVsock`).

**QEMU 2011, split by version** (`qemu/qemu`)

- December 2010, released in 0.14 (`hw/virtio-pci.c` @ 25db9ebe1512):
  `virtio_pci_set_host_notifier_internal` returns what
  `kvm_set_ioeventfd_pio_word` answers, and `virtio_pci_start_ioeventfd`'s
  `assign_error:` path undoes the queues it assigned and ends with
  `proxy->ioeventfd_disabled = true;`, which only
  `virtio_pci_set_host_notifier` clears (`proxy->ioeventfd_disabled =
  assign;`): a fall back to the pio path that sticks (`qemu_2010`;
  `fast_path_recoverable` fails for a device without vhost).
- The abort comes with the memory API (1.0): `memory_region_add_eventfd`
  cannot fail to its caller, and the listener of the address space aborts
  when KVM refuses. virtio-pci's BAR 0 is port I/O
  (`pci_register_bar(&proxy->pci_dev, 0, PCI_BASE_ADDRESS_SPACE_IO,
  &proxy->bar)` in `virtio_init_pci`, `hw/virtio-pci.c` @ 023ee4b4ffa0), so
  the path is `as_io_ioeventfd_add` (`memory.c` @ 01e7a53aed94:
  `kvm_set_ioeventfd_pio_word(...)`, then `if (r < 0) { abort(); }`), later
  `kvm_io_ioeventfd_add` (`kvm-all.c` @ 00008418aa22), not
  `kvm_mem_ioeventfd_add` (`qemu_2011`).
- Every notifier starts signalled, from the December 2010 code on:
  `event_notifier_init(notifier, 1)` in
  `virtio_pci_set_host_notifier_internal` (@ 25db9ebe1512 and @
  023ee4b4ffa0): each start runs every queue's handler once.
- virtio-net-pci's `ioeventfd` property was off by default:
  `DEFINE_PROP_BIT("ioeventfd", VirtIOPCIProxy, flags,
  VIRTIO_PCI_FLAG_USE_IOEVENTFD_BIT, false)` in the virtio-net-pci entry of
  `virtio_info[]` (@ 25db9ebe1512) and in `virtio_net_properties[]` (@
  023ee4b4ffa0); virtio-blk-pci's was true. The models set it on: the rows
  that say *needs* exist only with `-device virtio-net-pci,ioeventfd=on`;
  with the default a vhost-net device has no ioeventfd of ours for vhost's
  take to stop or its release to leave stopped.

**The `qemu` profile's order** (`spec/common.toml`)

- QEMU stops its own ioeventfds before vhost stops: a status write without
  DRIVER_OK calls `virtio_pci_stop_ioeventfd(proxy)` before
  `virtio_set_status(vdev, val & 0xFF)`, whose device callback stops vhost
  (`virtio_ioport_write`, `VIRTIO_PCI_STATUS`, @ 023ee4b4ffa0); a reset
  calls `virtio_pci_stop_ioeventfd` before `virtio_reset`
  (`virtio_pci_reset`); on a VM stop `virtio_vmstate_change` calls the
  transport's `vmstate_change` before `virtio_set_status`, and on a run
  after it, so vhost starts first (`hw/virtio/virtio.c` @ 0021c4765a6b,
  `hw/virtio.c` @ 0cea71a20750). The profile now issues `set_status`,
  `reset` and `vm_stop` before `vhost_stop`, and `vhost_start` before
  `vm_run`.
- So QEMU today's "release, start, abort" happens only when vhost stops
  alone while the device is DRIVER_OK and running (the link goes down, a
  vhost-user backend disconnects): after a status write, a reset or a VM
  stop the release finds ours stopped and starts nothing. And on a run
  vhost's grab holds ours back: the control queue stays on the pio path.

**Firecracker** (`firecracker-microvm/firecracker` @ 81b38b9dad60)

- Resuming kicks every activated queue: `Vmm::resume_vm`
  (`src/vmm/src/lib.rs:463-472`) calls `kick_virtio_devices`
  (`device_manager/mod.rs:386-389`), and `VirtioDevice::kick`
  (`devices/virtio/device.rs:252-256`) writes every queue eventfd of an
  activated device; `pause_vm` (lib.rs:475-483) pauses the vCPUs only. The
  model has `vm_stop` and `vm_run` now.
- Reset is supported by every device but vhost-user block: `_reset` is
  true for balloon, block (false only when draining its I/O engine fails),
  mem, net, pmem, rng and vsock (`balloon/device.rs:983`,
  `block/virtio/device.rs:668`, `mem/device.rs:652`, `net/device.rs:1087`,
  `pmem/device.rs:594`, `rng/device.rs:308`, `vsock/device.rs:403`), false
  for `block/vhost_user/device.rs:383`.
- The PCI transport registers every queue when the device is attached
  (`device_manager/pci_mngr.rs:94`) and deregisters on hot-unplug
  (`detach_pci_virtio_device`, 169-198). At this commit it does not
  deregister on a BAR move: a BAR write is only recorded
  (`transport/pci/device.rs`, `write_config_register`, 873-907), and the
  bus's `move_range` (`vstate/bus.rs:214`) is called by its tests alone
  (cloud-hypervisor's `DeviceManager::move_bar` does move them,
  `vmm/src/device_manager.rs:866-883`).
- Activation failure: `DEVICE_NEEDS_RESET` when `activate` fails
  (`transport/mmio.rs:202`), and no queue is read until the driver writes 0;
  likewise cloud-hypervisor (`mark_device_needs_reset`,
  `virtio-devices/src/lib.rs:82-97`, from
  `VirtioPciDeviceActivator::activate`, `transport/pci_device.rs:335`).
  Both are judged against `registered`, whose `activate_ok` says it.
"""


MODULES = (
    (
        "`qemu_2011.py` (0.14 and 1.0), `qemu_today.py`, `kvmtool.py`, `cloud_hypervisor.py`, `firecracker.py`",
        "the designs; each starts with its source (repository, path, commit, functions, lines) and what it abstracts",
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
    (
        "`child.py`",
        "a child speaking the drive protocol judged like a design: a verdict per property "
        "(`virtio-notifier-spec designs -- COMMAND`)",
    ),
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
    out += CORRECTIONS.splitlines()
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
        "| design | source read | table | environment | states | divergences |",
        "|---|---|---|---|---:|---:|",
    ]
    for r in matrix.results:
        e, a = r.entry, r.analysis
        sources = "<br>".join(f"`{s}`" for s in e.sources)
        row = f"| [{e.title}](#{e.name}) | {sources} | `{e.table}` | `{e.env}` | {a.states} | {len(a.groups)} |"
        out.append(row)
    out += [
        "",
        "Environments (`spec/common.toml`, `--env NAME` on every command that explores or tests): "
        "`qemu`: vhost takes and gives back all its queues in one call and runs only in a DRIVER_OK device; a "
        "status write, a reset or a VM stop stops our ioeventfds first and vhost after, in the same call; on VM "
        "run vhost starts first; vhost may also stop alone; only a running guest writes the status register. "
        "`kvmtool`: vhost is handed a queue at set-up and keeps it; no migration, no VM-state events. "
        "`rust_vmm` (cloud-hypervisor, Firecracker): vhost-user backends get their queues at activation; "
        "snapshots are restored into a paused VM (load, then vm_run); a host with ioeventfds to spare.",
        "",
    ]
    return out


def _properties_table(matrix: Matrix) -> list[str]:
    names = [r.entry.name for r in matrix.results]
    out = [
        "## Properties",
        "",
        "Every property of `spec/common.toml`, as each design's table states it (`registered` excuses a "
        "device that needs a reset; lemmas are proof aids for the table, marked *lemma*): "
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
        f"`{module}.py`, table `{e.table}`, environment `{e.env}`: {a.states} states, {a.steps} steps explored.",
        "",
    ]
    out += _violations(e, a)
    if not a.groups:
        out += [f"No divergence from `{e.table}`.", ""]
        return out
    out += [
        f"| # | event | row `{e.table}` fires | first variable that differs (all that do) | steps | cost | why |",
        "|---:|---|---|---|---:|---|---|",
    ]
    for number, group in enumerate(a.groups, 1):
        known = _known(e, group)
        s = group.symptom
        variable = "*stops*" if s.row == "abort" else f"`{s.variable}` ({', '.join(group.fields)})"
        row = "—" if s.row == "abort" else f"`{s.row}`"
        cost, why = (known.cost, known.why) if known else ("?", "**not in the catalogue**")
        if known and known.needs:
            cost += f"; needs `{known.needs}`"
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
