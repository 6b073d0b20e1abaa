"""``virtio-notifier-spec replay``: step through events on the table.

For a TLC trace-explorer or ``spin -t`` user: each step with the row (and
its letter) that fired on each queue, only the variables that changed, and
every property that is false after it; highlighted on a terminal, plain text
off one. The events come from the command line::

    virtio-notifier-spec replay --spec proposal 'set_status(value=driver_ok, assign_ok=true)' \\
        'kick(queue=0)' 'reset()'

or from ``--trace FILE`` (``-``: standard input), which may be

- text, one event a line, as counterexamples print them (a counterexample
  pasted whole replays: numbering, ``[rows]``, ``->`` lines and the
  headline are skipped; its ``0. start`` line chooses the start);
- an oracle trace (JSON Lines, ``spec/TRACE.md``): its header gives the
  variant, the queues and the limit flag; observations are not compared
  (that is ``oracle check``);
- an ITF trace (``--traces`` writes them): its first state is the start.

Exit codes: 0 every event replays and every property holds along the way,
1 a property is false after some step or an event cannot happen there,
2 bad input (one line naming the file, line and field).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import click
from rich.text import Text

from virtio_notifier_spec.model.itf import read_itf
from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.model.replay import Replayed
from virtio_notifier_spec.model.replay import replay as replay_events
from virtio_notifier_spec.model.trace import format_state, state_json
from virtio_notifier_spec.oracle.observation import ObservationError
from virtio_notifier_spec.oracle.tracefile import FORMAT, parse_args, parse_header
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.expr import QUEUE
from virtio_notifier_spec.spec.limits import MAX_QUEUES, MAX_TRACE_BYTES, read_text, shown
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.schema import Spec

from .deadline import Deadline
from .env import env_option
from .exitcodes import ExitCode
from .guard import guarded
from .options import queues_option, run_options, spec_option
from .output import console, wrap
from .progress import Progress

_EVENT = re.compile(r"(?:\d+\.\s+)?([A-Za-z_]\w*)\s*(?:\((.*)\))?(?:\s+\[.*\])?")
_ASSIGN = re.compile(r"([A-Za-z_]\w*)\s*=\s*(\S+)")


@dataclass
class Sequence:
    """What to replay, before it is checked against the table."""

    spec_name: str | None = None
    queues: int | None = None
    start: State | None = None  # an exact start (ITF)
    init: dict[str, str] = field(default_factory=dict)  # NAME=VALUE choosing among the initial states
    events: list[tuple[str, dict, str | None, int | None]] = field(default_factory=list)  # name, args, file, line


def _literal(text: str) -> object:
    """``true``, ``false``, a number (of at most 9 digits: a longer one
    is kept as text, which no argument accepts) or a name."""
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    return int(text) if text.isdigit() and len(text) <= 9 else text


def parse_event(text: str, *, file: str | None = None, line: int | None = None) -> tuple[str, dict]:
    """``set_status(value=driver_ok, assign_ok=true)`` -> name and raw arguments.

    >>> parse_event("  3. kick(queue=0)  [q0 kick_signals_eventfd]")
    ('kick', {'queue': 0})
    """
    match = _EVENT.fullmatch(text.strip())
    if match is None:
        raise SpecError(f"expected an event like kick(queue=0), found {shown(text.strip())}", file=file, line=line)
    args = {}
    for part in filter(None, (p.strip() for p in (match.group(2) or "").split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise SpecError(f"expected NAME=VALUE, found {shown(part)}", file=file, line=line, field=match.group(1))
        args[name.strip()] = _literal(value)
    return match.group(1), args


def _logical_lines(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, text) with each wrapped line joined to the one it
    continues: a counterexample wrapped at the terminal's width (or 100
    columns) goes on indented deeper, not starting a step (``N.``) or a state
    (``->``)."""
    joined: list[tuple[int, str]] = []
    indent = -1
    for number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].rstrip()
        body = text.lstrip()
        depth = len(text) - len(body)
        if not body:  # a blank line ends what came before
            indent = len(raw) + 1_000
            continue
        if joined and depth > indent and not re.match(r"^(\d+\.|->)", body):
            joined[-1] = (joined[-1][0], f"{joined[-1][1]} {body}")
            continue
        joined.append((number, text))
        indent = depth
    return joined


def _read_text(lines: list[str], file: str | None, seq: Sequence) -> None:
    for number, raw in _logical_lines(lines):
        text = raw.strip()
        if not text or text.startswith("->") or re.match(r"^\S.* FAILS: ", text):
            continue
        if text.startswith("... and the other history"):
            break
        start = re.match(r"^0\.\s+start\b[^=]*?(\S+=.*)?$", text)
        if start:
            device = (start.group(1) or "").split(" | ")[0]
            seq.init.update(dict(_ASSIGN.findall(device)))
            continue
        name, args = parse_event(text, file=file, line=number)
        if name == "start":  # start(limited=false), as `oracle check` prints an example: it chooses the start
            seq.init.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in args.items()})
            continue
        seq.events.append((name, args, file, number))


def _read_oracle_trace(lines: list[str], file: str | None, seq: Sequence) -> None:
    header = parse_header(lines[0], file=file)
    seq.spec_name = seq.spec_name or header.variant
    seq.queues = seq.queues or header.queues
    seq.init.setdefault("limited", "true" if header.limited else "false")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        doc = _json(line, file, number)
        if not isinstance(doc, dict):
            raise SpecError("expected a JSON object", file=file, line=number)
        seq.events.append((doc.get("event"), doc.get("args") or {}, file, number))


def _json(text: str, file: str, line: int | None = None) -> object:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SpecError(f"not valid JSON: {exc}", file=file, line=line) from None
    except RecursionError:
        raise SpecError("not valid JSON: nested too deeply", file=file, line=line) from None


def read_sequence(path: str) -> tuple[Sequence, dict | None]:
    """Read ``--trace``: the sequence, and the ITF document when it is one.
    A file with no event in it is bad input, not a run that holds."""
    text = read_text(path, limit=MAX_TRACE_BYTES, what="a trace")
    file = "<stdin>" if path == "-" else path
    seq = Sequence()
    stripped = text.lstrip()
    if not stripped:
        raise SpecError("empty: expected events (text, an oracle trace or an ITF trace)", file=file)
    if stripped.startswith("{"):
        first = stripped.splitlines()[0]
        try:
            head = json.loads(first)
        except (ValueError, RecursionError):
            head = None
        if isinstance(head, dict) and head.get("format") == FORMAT:
            _read_oracle_trace(stripped.splitlines(), file, seq)
            return seq, None
        return seq, _json(text, file)
    _read_text(text.splitlines(), file, seq)
    if not seq.events and not seq.init:
        raise SpecError("no event in it: expected events like kick(queue=0), one a line", file=file)
    return seq, None


def _instances(spec: Spec, queues: int, seq: Sequence) -> list[Instance]:
    machine = Machine(spec, queues)
    events = {e.name: e for e in spec.events}
    found = []
    for name, args, file, line in seq.events:
        try:
            name, args = parse_args(spec, queues, name, args, events)
        except ObservationError as exc:
            raise SpecError(exc.message, file=file, line=line, field=exc.field) from None
        found.append(machine.instance(name, **args))
    return found


def choose_start(machine: Machine, init: dict[str, str]) -> tuple[State, int]:
    """The first initial state that agrees with ``init`` (NAME=VALUE), and
    how many initial states agree."""
    spec = machine.spec
    device = {v.name: i for i, v in enumerate(spec.device_variables)}
    for name, value in init.items():
        if name not in device:
            known = ", ".join(device) or "none"
            raise SpecError(f"no device variable {name!r} (device variables: {known})", field="--init")
        var = spec.device_variables[device[name]]
        if _literal(value) not in var.init:
            shown = ", ".join(str(x).lower() if isinstance(x, bool) else str(x) for x in var.init)
            raise SpecError(f"{name} starts as one of {shown}, not {value}", field="--init")
    starts = [
        s
        for s in machine.initial_states()
        if all(s.device[device[name]] == _literal(value) for name, value in init.items())
    ]
    return starts[0], len(starts)


def _queues_needed(spec: Spec, seq: Sequence) -> int:
    """The smallest device the events fit: one past the largest queue named."""
    queue_params = {e.name: [p.name for p in e.params if p.type == QUEUE] for e in spec.events}
    needed = 1
    for name, args, file, line in seq.events:
        for p in queue_params.get(name, ()):
            queue = args.get(p)
            if isinstance(queue, int) and not isinstance(queue, bool) and queue + 1 > needed:
                if queue >= MAX_QUEUES:
                    raise SpecError(
                        f"queue {queue} needs more than {MAX_QUEUES} queues, the most a device has",
                        file=file,
                        line=line,
                        field=p,
                    )
                needed = queue + 1
    return needed


# -- output ------------------------------------------------------------------------


def replay_json(spec: Spec, queues: int, start: State, steps: list[Replayed]) -> dict:
    return {
        "variant": spec.name,
        "queues": queues,
        "start": state_json(spec, start),
        "steps": [
            {
                "number": r.number,
                "event": r.event.event.name,
                "args": r.event.values,
                "fired": [{"queue": q, "letter": row.letter, "transition": row.name} for q, row in r.step.fired]
                if r.step
                else [],
                "changes": [{"name": c.name, "before": c.before, "after": c.after} for c in r.changes],
                "broken": list(r.broken),
                "outcomes": r.outcomes,
                "problem": r.problem,
            }
            for r in steps
        ],
        "ok": _ok(steps),
    }


def _ok(steps: list[Replayed]) -> bool:
    return all(r.problem is None and not r.broken for r in steps)


def _show(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def print_replay(spec: Spec, queues: int, start: State, note: str, steps: list[Replayed]) -> None:
    out = console()
    width = out.width
    out.print(Text(f"{spec.name}, {queues} queue(s){note}", style="bold"))
    out.print(Text(wrap(f"0. start  {format_state(spec, start)}", width)))
    for r in steps:
        line = Text(f"{r.number}. ", style="bold")
        line.append(str(r.event), style="bold cyan")
        if r.step is not None:
            line.append(f"  [{r.step.rows()}]", style="yellow")
        out.print(Text(wrap(line.plain, width)) if len(line.plain) > width else line)
        if r.problem is not None:
            out.print(Text(f"     CANNOT HAPPEN: {r.problem}", style="bold red"))
            continue
        if not r.changes:
            out.print(Text("     nothing changes", style="dim"))
        names = max((len(c.name) for c in r.changes), default=0)
        for c in r.changes:
            entry = Text(f"     {c.name.ljust(names)}  ")
            entry.append(_show(c.before), style="red")
            entry.append(" -> ")
            entry.append(_show(c.after), style="bold green")
            out.print(entry)
        if r.outcomes > 1:
            out.print(Text(f"     (the table allows {r.outcomes} outcomes here; this is the first)", style="yellow"))
        for name in r.broken:
            out.print(Text(f"     FAILS  {name}", style="bold red"))
    broken = sorted({b.split(" (")[0] for r in steps for b in r.broken})
    if _ok(steps):
        out.print(f"{len(steps)} step(s) replayed; every property holds along the way", markup=False)
    elif steps and steps[-1].problem:
        out.print(f"stopped at step {steps[-1].number}: the table cannot take it", markup=False)
    if broken:
        out.print(f"false after some step: {', '.join(broken)}", markup=False)


@click.command("replay")
@click.argument("events", nargs=-1, metavar="[EVENT]...")
@click.option(
    "--trace",
    "trace_path",
    metavar="FILE",
    help="Read the events from FILE ('-': stdin): text, an oracle trace (.jsonl) or an ITF trace (.itf.json).",
)
@spec_option(default=None, help="A variant or a table's TOML file. Default: the trace's, else resolved.")
@queues_option(default=None, single=True, help="Queues per device: N. Default: the trace's, else as many as named.")
@click.option(
    "--init",
    "inits",
    multiple=True,
    metavar="NAME=VALUE",
    help="Start where this device variable has this value, e.g. limited=true (repeatable).",
)
@run_options
@env_option
@guarded
def replay(
    events: tuple[str, ...],
    trace_path: str | None,
    spec_name: str | None,
    queues: range | None,
    inits: tuple[str, ...],
    timeout: float | None,
    as_json: bool,
    quiet: bool,
    env: str,
) -> int:
    """Replay events on the table: each step's rows and what changed.

    EVENT is written as traces print it, e.g. 'set_status(value=driver_ok,
    assign_ok=true)', 'kick(queue=0)', 'reset' (quote the parentheses).
    Properties are checked after every step. Exit 1 if one fails or an
    event cannot happen, 2 on bad input.
    """
    if bool(events) == bool(trace_path):
        raise SpecError("give the events on the command line or with --trace FILE (one of them)", field="EVENT")
    seq, itf = read_sequence(trace_path) if trace_path else (Sequence(), None)
    for number, text in enumerate(events, start=1):
        name, args = parse_event(text, file=f"EVENT {number}")
        seq.events.append((name, args, f"EVENT {number}", None))
    for item in inits:
        name, sep, value = item.partition("=")
        if not sep:
            raise SpecError(f"expected NAME=VALUE, found {item!r}", field="--init")
        seq.init[name.strip()] = value.strip()
    if spec_name is None and itf is not None and isinstance(itf.get("#meta"), dict):
        source = itf["#meta"].get("source")
        spec_name = source if isinstance(source, str) and source else None
    spec = load_spec(spec_name or seq.spec_name or "resolved", env=env)
    note = ""
    if itf is not None:
        start, found = read_itf(spec, itf, file=trace_path)
        seq.events = [(name, args, trace_path, None) for name, args in found]
        n = len(start.queues)
        if queues is not None and queues[0] != n:
            raise SpecError(f"the trace's states have {n} queue(s), not {queues[0]}", field="--queues")
    else:
        n = queues[0] if queues is not None else (seq.queues or _queues_needed(spec, seq))
        start, count = choose_start(Machine(spec, n), seq.init)
        if count > 1:
            note = f"; one of {count} initial states (choose with --init NAME=VALUE)"
    with Progress(f"replaying {len(seq.events):,} event(s)", quiet=quiet), Deadline(timeout).enforced():
        steps = replay_events(Machine(spec, n), start, _instances(spec, n, seq))
    if as_json:
        click.echo(json.dumps(replay_json(spec, n, start, steps), indent=2))
    else:
        print_replay(spec, n, start, note, steps)
    return ExitCode.HOLDS if _ok(steps) else ExitCode.FAILS
