"""``virtio-notifier-spec qemu``: a real QEMU under KVM, judged on every device (``make qemu``).

Writes ``designs/qemu-real.md`` (``--out``). Exit codes (README.md, "Exit
codes"): 0 every test of every device conforms, 1 a device diverges, 2 a
component is missing (QEMU, /dev/kvm, binutils: named) or bad input, 3
stopped at ``--timeout``, 4 internal error, 5 QEMU crashed, hung or never
booted its guest (one line saying which), 130 interrupted.
"""

from __future__ import annotations

import os
import subprocess

import click

from virtio_notifier_spec.qemu import process
from virtio_notifier_spec.qemu.devices import DEVICES, device
from virtio_notifier_spec.qemu.errors import MachineFailure, Missing, QemuError
from virtio_notifier_spec.qemu.host import tools as find_tools

from .deadline import Deadline
from .document import print_document
from .exitcodes import ExitCode
from .guard import guarded, say
from .options import run_options, spec_option
from .progress import Progress


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _version(qemu: str) -> str:
    try:
        done = subprocess.run([qemu, "--version"], capture_output=True, timeout=10, check=False, text=True)
        return done.stdout.splitlines()[0].replace("QEMU emulator version ", "") if done.stdout else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _smoke(as_json: bool) -> int:
    from virtio_notifier_spec.qemu.smoke import smoke

    try:
        done = smoke()
    except MachineFailure as exc:
        say(f"error: {exc}")
        return ExitCode.MACHINE
    finally:
        process.end_all()
    if as_json:
        result = {"device": done.device, "smoke": True, "missing": list(done.missing)}
        if done.result is not None:
            result |= {
                "seconds": round(done.test_seconds, 3),
                "boot_seconds": round(done.boot_seconds, 3),
                "replay": done.result.to_json(),
            }
        print_document("qemu", [result], stopped=None, written=None)
        return ExitCode.HOLDS if done.result is None or done.result.ok else ExitCode.FAILS
    if done.result is None:
        click.echo("real QEMU: not run here: " + "; ".join(done.missing))
        return ExitCode.HOLDS
    verdict = "conforms" if done.result.ok else "DIVERGES"
    click.echo(
        f"real QEMU: a ten-event test on legacy virtio-blk {verdict} to resolved "
        f"({done.test_seconds:.2f} s after a {done.boot_seconds:.2f} s boot)"
    )
    if not done.result.ok:
        click.echo(done.result.text())
    return ExitCode.HOLDS if done.result.ok else ExitCode.FAILS


@click.command("qemu")
@click.option(
    "--device",
    "names",
    multiple=True,
    metavar="NAME",
    help=f"Only this device (repeatable): {', '.join(DEVICES)}. Default: every one.",
)
@click.option(
    "--out", default=None, help="The report to write. Default: designs/qemu-real.md when every device runs, else none."
)
@click.option("--walks", type=click.IntRange(min=0), default=20, show_default=True, help="Random walks per device.")
@click.option(
    "--smoke",
    is_flag=True,
    help="Only one ten-event test on legacy virtio-blk; says so and exits 0 when QEMU cannot run here (make verify).",
)
@spec_option()
@run_options
@guarded
def qemu(
    names: tuple[str, ...],
    out: str | None,
    walks: int,
    smoke: bool,
    spec_name: str,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
) -> int:
    """Run a real QEMU (qemu-system-x86_64 under KVM) as the implementation
    under test on each device of qemu/devices.py, through the oracle's suite
    for the qemu environment, and write the real binary's verdicts and the
    fate of every prediction of designs/qemu_today.py (--out)."""
    if smoke:
        return _smoke(as_json)
    from virtio_notifier_spec.qemu.report import render, write  # the drive and the designs: only when run
    from virtio_notifier_spec.qemu.run import run_device

    chosen = [device(n) for n in names] if names else list(DEVICES.values())
    try:
        tools = find_tools(vhost=any(d.vhost for d in chosen))
    except Missing as exc:
        say(f"error: {exc}")
        return ExitCode.BAD_INPUT
    os.environ.setdefault("VNS_QEMU_VERSION", _version(tools.qemu))
    runs = []  # SIGTERM, like Ctrl-C, is a KeyboardInterrupt here (cli/signals.py): every process ends below
    try:
        with Progress(f"real QEMU on {len(chosen)} device(s)", quiet=quiet) as progress, Deadline(timeout).enforced():
            for dev in chosen:

                def update(p, name=dev.name) -> None:
                    progress.update(f"{name}: {p.phase} {p.done}/{p.total}, {p.failed} failed")

                runs.append(run_device(dev, tools, walks=walks, progress=update, spec=spec_name))
                if runs[-1].failure is not None:
                    raise runs[-1].failure
    except MachineFailure as exc:
        say(f"error: {exc}")
        return ExitCode.MACHINE
    except QemuError as exc:
        say(f"error: {exc}")
        return ExitCode.INTERNAL
    finally:
        process.end_all()
    text = render(runs, _load(), spec_name)
    target = out or (None if names else "designs/qemu-real.md")
    written = write(text, target) if target else None
    failed = any(not r.report.ok for r in runs)
    if as_json:
        results = [
            {
                "device": r.device.name,
                "smoke": False,
                "seconds": round(r.seconds, 2),
                "excluded": r.causable.excluded,
                "drive": r.report.to_json(),
                "violations": r.violations,
            }
            for r in runs
        ]
        print_document("qemu", results, stopped=None, written=str(written) if written else None)
    else:
        for r in runs:
            rep = r.report
            click.echo(
                f"{r.device.name:<13} {len(rep.results):>4} tests {len(rep.failed):>3} failed "
                f"{sum(r.causable.excluded.values()):>4} left out  {r.seconds:6.1f} s  {rep.verdict}"
            )
            for group in rep.groups:
                click.echo(f"  {group.symptom.text()}: {group.count} test(s); shortest: {group.shortest.describe()}")
        if written:
            click.echo(f"wrote {written}")
    return ExitCode.FAILS if failed else ExitCode.HOLDS
