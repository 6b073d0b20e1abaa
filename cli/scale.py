"""``virtio-notifier-spec scale``: the checks at scale.

Verifies a table at every queue count up to a large one through the support
abstraction (scale/reduced.py), and a configuration of several devices that
share the host's ioeventfd slots (scale/system.py). "exact for every N >= c"
is printed only for a table of the support fragment (spec/fragment.py);
outside it every N up to 8 is an orbit search (with a note) and a larger
--queues is refused. Exit codes as everywhere: 0 everything holds, 1 a
check fails or a run stopped early, 2 bad input or a refusal.
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table
from virtio_notifier_spec.model.report import counterexample_text
from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
from virtio_notifier_spec.scale.search import explore_every
from virtio_notifier_spec.scale.system import System, explore_system
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.load import load_spec

from .env import env_option
from .params import Seconds

DEFAULT_CONFIG = CONFIG_DIR / "three_devices.toml"


@click.command()
@click.option(
    "--spec",
    "spec_name",
    default="resolved",
    show_default=True,
    help="The table checked at --queues: a variant or a TOML file.",
)
@click.option(
    "--queues", type=click.IntRange(min=1), default=1024, show_default=True, help="Queues of the one-device check."
)
@click.option(
    "--config",
    "config_path",
    default=str(DEFAULT_CONFIG),
    show_default=True,
    help="A configuration of several devices (spec/configs/*.toml).",
)
@click.option("--timeout", type=Seconds(), help="Stop each run after this many seconds (partial).")
@env_option
def scale(spec_name: str, queues: int, config_path: str, timeout, env: str) -> None:
    """Check one table at every queue count up to --queues, and several devices sharing the host's slots."""
    try:
        spec = load_spec(spec_name, env=env)  # --env: the one-device check; a configuration names its own table
        config = load_config(config_path)
        runs = explore_every(spec, queues, timeout=timeout)
        system = explore_system(config, timeout=timeout)
    except SpecError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    table = Table(title="Scale")
    for column in ("check", "states", "transitions", "seconds", "result"):
        table.add_column(column, justify="left" if column in ("check", "result") else "right")
    *smaller, top = runs
    if smaller:
        table.add_row(
            f"{spec.name}, every N from 1 to {smaller[-1].queues} (orbits)",
            f"{sum(r.states for r in smaller):,}",
            f"{sum(r.transitions for r in smaller):,}",
            f"{sum(r.seconds for r in smaller):.2f}",
            _outcome(all(r.ok for r in smaller), _partial(smaller), sum(len(r.counterexamples) for r in smaller)),
        )
    how = top.reduction + (f", exact for every N >= {top.cutoff}" if top.cutoff else "")
    table.add_row(
        f"{spec.name}, {queues} queues ({how})",
        f"{top.states:,}",
        f"{top.transitions:,}",
        f"{top.seconds:.2f}",
        _outcome(top.ok, top.partial, len(top.counterexamples)),
    )
    devices = ", ".join(f"{d.name}:{d.queues}{'(vhost)' if d.vhost else ''}" for d in config.devices)
    host = f"{config.slots} slots" if config.limited else "unlimited host"
    table.add_row(
        f"{devices}; {host}",
        f"{system.states:,}",
        f"{system.transitions:,}",
        f"{system.seconds:.2f}",
        _outcome(system.ok, system.partial, len(system.counterexamples)),
    )
    console.print(table)
    for note in dict.fromkeys(note for run in runs for note in run.notes):
        console.print(f"note: {note}", markup=False, soft_wrap=True)
    shown: set[str] = set()
    for run in runs:  # each failing check once, at the smallest queue count that breaks it
        for name, cx in run.counterexamples.items():
            if name not in shown:
                shown.add(name)
                console.print(counterexample_text(run, cx), markup=False, soft_wrap=True)
    composed = System(config) if system.counterexamples else None
    for cx in system.counterexamples.values():
        console.print(f"{config.path}: {cx.name} FAILS: {cx.message}", markup=False, soft_wrap=True)
        console.print(cx.format(composed), markup=False, soft_wrap=True)
    sys.exit(0 if all(r.ok for r in runs) and system.ok else 1)


def _partial(runs) -> str | None:
    return next((r.partial for r in runs if r.partial), None)


def _outcome(ok: bool, partial: str | None, failures: int) -> str:
    if partial:
        return "partial: " + partial
    return "ok: every check holds" if ok else f"{failures} fail"
