"""The real QEMU's verdicts as Markdown (``designs/qemu-real.md``), beside
the designs' matrix: each device's drive, each property, and each
prediction of ``designs/qemu_today.py`` confirmed, refuted or not
observable here."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from virtio_notifier_spec.designs.catalogue import entry
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import PropertyKind

from .causes import REASONS
from .run import ENV, INVARIANT_KINDS, DeviceRun, property_variables

INFERRED = {
    "handler": "no trace event marks a handler being armed; it is inferred from the ioeventfds (qemu/run.py, "
    "`with_handler`: QEMU arms its handler in the call that registers its ioeventfd, and calls it at once on each "
    "new one, which the drive waits for)"
}

# Each prediction of the catalogue's qemu_today entry (event, row, variable), judged by the real binary.
SIGNAL = (
    "confirmed: right after registering a queue's ioeventfd QEMU called its handler once, with no kick "
    "(`virtio_queue_notify` for every queue, {n} time(s) in this run): `virtio_device_start_ioeventfd_impl` "
    'sets each new notifier ("Kick right away"), and `event_notifier_init(notifier, 1)` creates it signalled. '
    "Judged: the table's `pending` is a *guest* kick waiting; this one is QEMU's own and its main loop reads it "
    "at once, so the drive waits for that call and then observes `pending` false (not a divergence of the binary); "
    "the model keeps it pending until a `handle`"
)
UNSERVED = (
    "not observable here: it is about a queue vhost does not serve (vhost-net's control queue); the vhost-user "
    "devices have vhost serve every queue, and vhost-net needs /dev/vhost-net, absent on this machine"
)
ABORT = "not observable: " + REASONS["refusal"]


def _prediction(known, runs: list[DeviceRun]) -> str:
    signalled: dict[str, int] = {}
    for run in runs:
        for event, n in run.signalled.items():
            signalled[event] = signalled.get(event, 0) + n
    if known.row == "abort":
        return ABORT
    if known.variable == "pending":
        n = signalled.get(known.event, 0)
        if n:
            return SIGNAL.format(n=n)
        return (
            "not observable here: a release starts QEMU's own ioeventfds again only on a proxy with QEMU's ioeventfd "
            "flag (vhost-net's virtio-net-pci, which needs /dev/vhost-net, absent here); vhost-user proxies have none. "
            "On vhost-user-blk's backend disconnect the binary removed vhost's ioeventfds and registered none of its "
            "own (the queues on the port-I/O path), as `resolved` does on a limited host, and conformed"
        )
    return UNSERVED


def render(runs: list[DeviceRun], load: str, spec_name: str = "resolved") -> str:
    spec = load_spec(spec_name, env=ENV)
    version = os.environ.get("VNS_QEMU_VERSION", "")
    lines = [
        "# A real QEMU, judged",
        "",
        "Written by `make qemu` (`virtio-notifier-spec qemu`); see `qemu/README.md` for how each event is caused "
        "and what is observed. Every device below ran under KVM in QEMU "
        f"{version or '(version as installed)'}, driven by the oracle through the suite of `oracle drive` for the "
        f"`{ENV}` environment against `{spec.name}`, less the tests this machine cannot cause (counted by reason).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s), load average {load}.",
        "",
        "## Devices",
        "",
        "| device | tests run | passed | failed | left out (reason: tests) | (state, event) pairs | rows | seconds "
        "| per test |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for run in runs:
        r = run.report
        out = ", ".join(f"{k}: {n}" for k, n in run.causable.excluded.items()) or "none"
        per = sum(run.per_test) / len(run.per_test) if run.per_test else 0.0
        lines.append(
            f"| `{run.device.name}`: {run.device.described} | {len(r.results)} | {len(r.results) - len(r.failed)} | "
            f"{len(r.failed)} | {out} | {r.coverage.pairs}/{r.coverage.reachable_pairs} | "
            f"{r.coverage.rows}/{r.coverage.all_rows} | {run.seconds:.1f} | {per * 1000:.0f} ms |"
        )
    probes = [n for run in runs for n in run.probes]
    lines += [
        "",
        f"Every QEMU started ({len(probes)} in all, boots and migration destinations) began with KVM's start-up "
        "probe (`kvm_check_many_ioeventfds`: 7 eventfds registered at port 0, then removed): excluded from the "
        "devices' registrations; KVM accepted "
        + (
            "all 7 every time, so the host is not limited"
            if probes and set(probes) == {7}
            else f"{sorted(set(probes))}"
        )
        + ".",
    ]
    lines += ["", "Reasons a test is left out:", ""]
    used = sorted({k for run in runs for k in run.causable.excluded})
    lines += [f"- `{k}`: {REASONS[k]}." for k in used]
    lines += ["", f"## What the binary does that `{spec.name}` does not", ""]
    any_group = False
    for run in runs:
        for group in run.report.groups:
            any_group = True
            lines.append(
                f"- `{run.device.name}`, {group.count} test(s): {group.symptom.text()}. Shortest: "
                f"`{group.shortest.describe()}`" + ("" if group.reproduced else " (not reproduced from a fresh start)")
            )
            lines += ["  " + x for x in ["```", *group.shortest.lines(), "```"]]
    if not any_group:
        lines.append("Nothing: every test of every device conforms.")
    lines += [
        "",
        "A kick before DRIVER_OK on virtio-blk (port I/O or MMIO, the device not yet DRIVER_OK) registers an "
        "ioeventfd for every queue and arms the handler: `virtio_blk_handle_output` starts the ioeventfds itself "
        '("Some guests kick before setting VIRTIO_CONFIG_S_DRIVER_OK so start dataplane here instead of waiting '
        'for .set_status()"; read in qemu/qemu `hw/block/virtio-blk.c` @ 0048fa6c807f, and the 7.2 binary does '
        "it: virtio-blk's `start_ioeventfd` is its dataplane's start, run in the main loop's context when no "
        "iothread is given). vhost-user-blk and vhost-user-scsi start vhost on such a kick for the same guests "
        "(`start_on_kick`). The handler calls QEMU traces right after (its own signal of each new notifier) show "
        "the handler armed while the status is not DRIVER_OK. `designs/qemu_today.py` models the bus and the "
        "transport, which every device shares, and vhost-net's device, whose handler does not do this: a "
        "device's own handler policy is out of its scope, and the model is left as it is; the binary's verdict "
        "here is the record of it.",
        "",
        "## Properties",
        "",
        "On what the tests observed: *holds on every test* (no test's observation, written into the table's "
        "state, breaks it), **violated** (with the shortest sequence), or *not judged* (a property of infinite "
        "runs, or of the destination's history: no finite test shows it).",
        "",
        "| property | " + " | ".join(f"`{run.device.name}`" for run in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    variables = property_variables(spec)
    for prop in spec.properties:
        cells = []
        for run in runs:
            inferred = sorted(v for v in variables.get(prop.name, ()) if v in INFERRED)
            note = f" ({', '.join(inferred)} inferred)" if inferred else ""
            if prop.kind not in INVARIANT_KINDS:
                cells.append("not judged")
            elif prop.name in run.violations:
                cells.append(f"**violated**{note}: `{run.violations[prop.name]}`")
            else:
                cells.append("holds on every test" + note)
        kind = " *lemma*" if getattr(prop, "lemma", False) else ""
        lines.append(f"| `{prop.name}`{kind} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "`handler` is not reported to the oracle: " + INFERRED["handler"] + ".",
        "",
        "## The predictions of `designs/qemu_today.py`",
        "",
        "Each divergence the catalogue pins for `qemu_today` (`designs/catalogue.py`), against the binary:",
        "",
        "| event | row `resolved` fires | variable | the real QEMU |",
        "|---|---|---|---|",
    ]
    for known in entry("qemu_today").known:
        variable = known.variable if known.row != "abort" else "(QEMU aborts)"
        lines.append(f"| `{known.event}` | `{known.row}` | {variable} | {_prediction(known, runs)} |")
    lines.append("")
    return "\n".join(lines)


def write(text: str, path: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target


_ = PropertyKind
