"""``virtio-notifier-spec scale``: the checks at scale.

Verifies a table at large queue counts through the support abstraction
(scale/reduced.py), and a configuration of several devices that share the
host's ioeventfd slots (scale/system.py). ``--queues A-B`` checks every
count from A to B (one support-abstraction run at B decides every count
from the table's cutoff up; orbit searches the smaller ones); ``--queues
N`` checks N alone. "exact for every N >= c" is printed only for a table of
the support fragment (spec/fragment.py); outside it every N up to 8 is an
orbit search (with a note) and a larger range is refused. The configuration
is searched by the packed system engine where it fits (``--engine``;
scale/system_search.py), with one state per orbit of its identical devices
on ``--device-symmetry``, and on a Dask cluster with ``--scheduler``.
``--timeout`` is for the whole command. Exit codes as everywhere: 0 everything holds, 1 a
check fails, 2 bad input or a refusal, 3 stopped early, 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from virtio_notifier_spec.model.explore import TIMEOUT, Exploration
from virtio_notifier_spec.model.report import (
    environment_lines,
    exploration_json,
    failures_text,
    not_checked_lines,
    verdict_cell,
)
from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
from virtio_notifier_spec.scale.search import explore_every
from virtio_notifier_spec.scale.system import System, SystemExploration
from virtio_notifier_spec.scale.system_search import ENGINES, explore_config
from virtio_notifier_spec.scale.verdicts import with_liveness
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import not_issued_note

from .cluster import open_cluster
from .deadline import Deadline
from .document import print_document
from .env import env_option
from .exitcodes import INTERRUPTED, outcome
from .export import first_counterexamples, first_lassos, write_counterexamples, write_lassos
from .guard import guarded
from .options import (
    depth_option,
    max_states_option,
    queues_option,
    run_options,
    scheduler_option,
    spec_option,
    traces_option,
)
from .output import console, print_text
from .progress import Progress

DEFAULT_CONFIG = CONFIG_DIR / "three_devices.toml"


@click.command()
@spec_option(help="The table checked at --queues: a variant or a TOML file.")
@queues_option(default="1-1024", help="Queues of the one-device check: N, or every count from A to B (A-B).")
@click.option(
    "--config",
    "config_path",
    default=str(DEFAULT_CONFIG),
    show_default="spec/configs/three_devices.toml",
    help="A configuration of several devices sharing the host's slots (spec/configs/*.toml).",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="auto",
    show_default=True,
    help="The configuration's search: packed where its states fit (scale/packed_system.py), or force one.",
)
@click.option(
    "--device-symmetry",
    is_flag=True,
    help="One state per orbit of the configuration's identical devices (scale/README.md, 'Identical devices').",
)
@scheduler_option
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Threads for the packed search; with --scheduler local, the local cluster's processes.",
)
@max_states_option
@depth_option
@run_options
@traces_option
@env_option
@guarded
def scale(
    spec_name: str,
    queues: range,
    config_path: str,
    engine: str,
    device_symmetry: bool,
    scheduler: str | None,
    workers: int,
    max_states: int | None,
    depth: int | None,
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    traces_dir: str | None,
    env: str,
) -> int:
    """Check one table at every queue count asked, and several devices sharing the host's slots."""
    spec = load_spec(spec_name, env=env)
    config = load_config(config_path)
    config_spec = load_spec(config.table, env=env)  # the configuration names its table; --env is for both
    deadline = Deadline(timeout)
    limits = {"max_states": max_states, "depth": depth}
    system = None
    with Progress(f"scale {spec.name}", quiet=quiet) as progress:
        runs = explore_every(
            spec, queues[-1], smallest=queues[0], timeout=deadline.remaining(), progress=progress, **limits
        )
        progress.stage(f"scale {spec.name}: properties of infinite runs")
        runs = with_liveness(spec, runs, spec_arg=spec_name, timeout=deadline.remaining(), **limits)
        interrupted = any(r.undecided == INTERRUPTED for r in runs)
        if not interrupted:
            progress.stage(f"scale {Path(config.path).name}")
            with open_cluster(scheduler, workers) as cluster:
                system = explore_config(
                    config,
                    spec=config_spec,
                    engine=engine,
                    device_symmetry=device_symmetry,
                    cluster=cluster,
                    workers=1 if cluster else workers,
                    timeout=deadline.remaining(),
                    progress=progress,
                    **limits,
                )
    missing = _missing(queues, runs)
    partial = _partial(runs, system, missing)
    if as_json:
        print_document("scale", [exploration_json(r) for r in runs], stopped=partial, **_json(system, missing))
    else:
        _print(spec.name, queues, runs, missing, config, system, config_spec)
    if traces_dir is not None:
        write_counterexamples(traces_dir, spec, spec_name, first_counterexamples(spec.name, runs))
    if traces_dir is not None:
        write_lassos(traces_dir, spec, spec_name, first_lassos(runs))
    failed = any(r.failed for r in runs) or bool(system and system.counterexamples)
    vacuous = any(r.verdict(name) == "vacuous" for r in runs for name in r.every_check)
    return outcome(failed=failed, partial=partial, vacuous=vacuous)


def _missing(queues: range, runs: list[Exploration]) -> list[int]:
    """Queue counts asked for that no run decided (the runs stopped early)."""
    if len(queues) == 1:
        return []
    top = runs[-1]
    covered = {r.queues for r in runs[:-1]}
    above = range(top.cutoff, top.queues + 1) if top.cutoff and not top.partial else range(top.queues, top.queues + 1)
    return [n for n in queues if n not in covered and n not in above]


def _partial(runs: list[Exploration], system: SystemExploration | None, missing: list[int]) -> str | None:
    reasons = [r.undecided for r in runs if r.undecided] + ([system.partial] if system and system.partial else [])
    if INTERRUPTED in reasons or system is None:
        return INTERRUPTED
    return reasons[0] if reasons else (TIMEOUT if missing else None)


def _json(system: SystemExploration | None, missing: list[int]) -> dict:
    """The keys beside ``results`` (one per run of the table)."""
    document: dict = {"not_run": missing, "system": None}
    if system is not None:
        document["system"] = {
            "config": system.config.path,
            "env": system.env,
            "engine": system.engine,
            "reduction": system.reduction,
            "states": system.states,
            "transitions": system.transitions,
            "concrete_states": system.concrete_states,
            "concrete_transitions": system.concrete_transitions,
            "depth": system.depth,
            "notes": list(system.notes),
            "seconds": round(system.seconds, 3),
            "partial": system.partial,
            "ok": system.ok,
            "verdicts": {name: system.verdict(name) for name in system.checks},
            "counterexamples": {name: cx.message for name, cx in system.counterexamples.items()},
        }
    return document


def _print(name: str, queues: range, runs, missing, config, system, config_spec) -> None:
    out = console()
    table = Table(title="Scale")
    for column in ("check", "states", "transitions", "seconds", "result"):
        table.add_column(column, justify="left" if column in ("check", "result") else "right")
    *smaller, top = runs
    if smaller:
        table.add_row(
            f"{name}, every N from {smaller[0].queues} to {smaller[-1].queues} (orbits)",
            f"{sum(r.states for r in smaller):,}",
            f"{sum(r.transitions for r in smaller):,}",
            f"{sum(r.seconds for r in smaller):.2f}",
            _outcome(all(r.ok for r in smaller), _first(smaller), sum(_failing(r) for r in smaller)),
        )
    how = top.reduction + (f", exact for every N >= {top.cutoff}" if top.cutoff else "")
    table.add_row(
        f"{name}, {top.queues} queues ({how})",
        f"{top.states:,}",
        f"{top.transitions:,}",
        f"{top.seconds:.2f}",
        _outcome(top.ok, top.undecided, _failing(top)),
    )
    devices = ", ".join(f"{d.name}:{d.queues}{'(vhost)' if d.vhost else ''}" for d in config.devices)
    host = f"{config.slots} slots" if config.limited else "unlimited host"
    host += f", env {config_spec.env}"
    if system is None:
        table.add_row(f"{devices}; {host}", "-", "-", "-", "not run: interrupted")
    else:
        orbits = ", one state per orbit of the identical devices" if system.reduction == "devices" else ""
        how = system.engine + orbits
        table.add_row(
            f"{devices}; {host} ({how})",
            f"{system.states:,}",
            f"{system.transitions:,}",
            f"{system.seconds:.2f}",
            _outcome(system.ok, system.partial, len(system.counterexamples)),
        )
    out.print(table)
    for note in dict.fromkeys(note for run in runs for note in run.notes):
        print_text(out, f"note: {note}")
    if system is not None:
        for note in system.notes:
            print_text(out, f"note: {config.path}: {note}")
        if system.concrete_states is not None:
            print_text(
                out,
                f"{config.path}: the orbits stand for {system.concrete_states:,} states and "
                f"{system.concrete_transitions:,} transitions",
            )
    for line in environment_lines(top.spec, top.every_check):  # what the environment left out
        print_text(out, line)
    if system is not None and (note := not_issued_note(config_spec)) is not None:
        print_text(out, f"{Path(config.path).name}: {note}")
    if missing:
        out.print(f"{name}: not checked for N in {_ranges(missing)}: a run stopped early", markup=False)
    if top.spec.liveness:  # the properties of infinite runs, beside the search (scale/verdicts.py)
        for prop in top.spec.liveness:
            decided = top.liveness_run(prop.name)
            every = " for every N (one-queue projection)" if decided and decided.reduction == "projection" else ""
            cell = Text.from_markup(verdict_cell(runs, prop.name)).plain
            print_text(out, f"{prop.kind.value} {prop.name}: {cell}{every}")
        for line in not_checked_lines(runs):
            print_text(out, line)
    shown: set[str] = set()
    for run in runs:  # each failing check once, at the smallest queue count that breaks it
        for text in failures_text(run, shown):
            print_text(out, text)
    if system is not None and system.counterexamples:
        composed = System(config, config_spec)
        for cx in system.counterexamples.values():
            print_text(out, f"{config.path}: {cx.name} FAILS: {cx.message}")
            print_text(out, cx.format(composed))


def _ranges(sizes: list[int]) -> str:
    """``2-5, 9``: runs of consecutive counts joined."""
    groups: list[list[int]] = []
    for n in sizes:
        if groups and n == groups[-1][-1] + 1:
            groups[-1].append(n)
        else:
            groups.append([n])
    return ", ".join(f"{g[0]}-{g[-1]}" if len(g) > 1 else str(g[0]) for g in groups)


def _first(runs) -> str | None:
    return next((r.undecided for r in runs if r.undecided), None)


def _failing(run: Exploration) -> int:
    return len(run.counterexamples) + len(run.lassos)


def _outcome(ok: bool, partial: str | None, failures: int) -> str:
    if partial:
        return "partial: " + partial
    return "ok: every check asked holds" if ok else f"{failures} fail"
