"""``virtio-notifier-spec replay``: step through events on the table.

For a TLC trace-explorer or ``spin -t`` user: each step with the row (and
its letter) that fired on each queue, only the variables that changed, and
every property that is false after it; highlighted on a terminal, plain text
off one. The events come from the command line::

    virtio-notifier-spec replay --spec proposal 'set_status(value=driver_ok, assign_ok=true)' \\
        'kick(queue=0)' 'reset()'

or from ``--trace FILE`` (``-``: standard input), which may be

- text, one event a line, as counterexamples print them (a counterexample
  or a lasso pasted whole replays: numbering, ``[rows]`` and the headline
  are skipped; its ``0. start`` line chooses the start, each ``->`` line is
  the state the table must reach there, and a lasso's ``then for ever``
  line marks where its cycle begins);
- an oracle trace (JSON Lines, ``spec/TRACE.md``): its header gives the
  variant, the queues and the limit flag, and what each line observed must
  be the table's state there (the oracle's observations);
- an ITF trace (``--traces`` writes them, and Quint): its first state is
  the start, every later state must be the table's after that step, and a
  ``loop`` makes it a lasso. Its ``#meta`` ``source`` names the table, a
  path read relative to the trace's folder.

Every state a trace gives is compared with the table's; the first that
differs is reported with the step and the variable. A lasso's cycle must
close (the last state leads back to the state at ``loop``) and be fair
under the events' fairness; then the properties of infinite runs are
judged on it (``model/lassorun.py``: a lasso that breaks a ``leads_to``
fails).

Exit codes: 0 every event replays, every state agrees and every property
holds along the way, 1 a property is false, a state differs, a cycle does
not close or is unfair, or an event cannot happen, 2 bad input (one line
naming the file, line and field).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.text import Text

from virtio_notifier_spec.model.itf import read_itf, read_loop, read_states, resolve_source
from virtio_notifier_spec.model.lassorun import (
    RunVerdict,
    close_cycle,
    cycle_of,
    first_difference,
    lasso_verdicts,
    unfair_promises,
)
from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.model.replay import Replayed
from virtio_notifier_spec.model.replay import replay as replay_events
from virtio_notifier_spec.model.trace import Step, format_state, parse_state, state_json
from virtio_notifier_spec.oracle.observation import KICK_EVENT, ObservationError, parse_observation
from virtio_notifier_spec.oracle.tracefile import FORMAT, parse_args, parse_header
from virtio_notifier_spec.scale.quint import exported_from
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.expr import QUEUE
from virtio_notifier_spec.spec.limits import MAX_QUEUES, MAX_TRACE_BYTES, read_text, shown
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import ADVERSARIAL
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

from .deadline import Deadline
from .document import print_document
from .env import ENV_HELP
from .exitcodes import ExitCode
from .guard import guarded
from .options import queues_option, run_options, spec_option
from .output import console, print_text, wrap
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
    # what the trace says of the state before the first event (index 0) and
    # after each: a state line's text (pasted), an observation (oracle
    # trace), a State (ITF); with where it was written
    states: dict[int, tuple[object, str | None, int | None]] = field(default_factory=dict)
    loop: int | None = None  # a lasso: the state where its cycle starts
    closing: tuple[str, dict] | None = None  # the event back to state ``loop`` (ITF's loop-back)


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


#: Lines of a report around a pasted counterexample that are not events.
_REPORT_LINES = ("fairness", "not checked", "note:", "dead transitions")
_CYCLE = re.compile(r"then for ever, back to state (\d+):")
_STUTTER = re.compile(r"then for ever: nothing happens \(the run stays in state (\d+)\)")
_PREMISE = re.compile(r"\s*<-\s*premise$")


def _read_text(lines: list[str], file: str | None, seq: Sequence) -> None:
    for number, raw in _logical_lines(lines):
        text = _PREMISE.sub("", raw.strip())
        if not text or re.match(r"^\S.* FAILS: ", text) or text.startswith(_REPORT_LINES):
            continue
        if text.startswith("... and the other history"):
            break
        if text.startswith("->"):
            seq.states[len(seq.events)] = (text[2:].strip(), file, number)
            continue
        cycle = _CYCLE.fullmatch(text) or _STUTTER.fullmatch(text)
        if cycle:
            seq.loop = int(cycle.group(1))
            continue
        start = re.match(r"^0\.\s+start\b[^=]*?(\S+=.*)?$", text)
        if start:
            device = (start.group(1) or "").split(" | ")[0]
            seq.init.update(dict(_ASSIGN.findall(device)))
            if start.group(1) and " | " in start.group(1):
                seq.states[0] = (start.group(1), file, number)
            continue
        name, args = parse_event(text, file=file, line=number)
        if name == "start":  # start(limited=false), as `oracle check` prints an example: it chooses the start
            seq.init.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in args.items()})
            continue
        seq.events.append((name, args, file, number))


def _read_oracle_trace(lines: list[str], file: str | None, seq: Sequence) -> None:
    header = parse_header(lines[0], file=file)
    seq.spec_name = seq.spec_name or resolve_source(header.variant, file)
    seq.queues = seq.queues or header.queues
    seq.init.setdefault("limited", "true" if header.limited else "false")
    if header.observed is not None:
        seq.states[0] = (header.observed, file, 1)
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        doc = _json(line, file, number)
        if not isinstance(doc, dict):
            raise SpecError("expected a JSON object", file=file, line=number)
        seq.events.append((doc.get("event"), doc.get("args") or {}, file, number))
        if doc.get("observed") is not None:
            seq.states[len(seq.events)] = (doc["observed"], file, number)


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


def quint_source(module: str, trace_path: str) -> tuple[str, str]:
    """The table and environment a Quint module of ``export`` was written
    from (its head says), for a trace Quint wrote of it: the module's path
    as Quint wrote it (from where Quint ran), else beside the trace."""
    path = Path(module)
    if not path.is_file() and trace_path != "-":
        path = Path(trace_path).parent / path.name
    try:
        head = path.read_text(encoding="utf-8")[:4096]
    except (OSError, UnicodeDecodeError):
        why = f"the trace's source {module} cannot be read; name the table with --spec"
        raise SpecError(why, file=trace_path) from None
    found = exported_from(head)
    if found is None:
        why = f"{module} was not written by export --format quint; name the table with --spec"
        raise SpecError(why, file=trace_path)
    table, env, _ = found
    beside = path.parent / table
    return (str(beside) if table.endswith(".toml") and beside.is_file() else table), env


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


# -- what the trace says of its states ------------------------------------------------


def _expectation(spec: Spec, machine: Machine, said: object, file: str | None, line: int | None):
    """What the trace says of one state, as an :data:`Expectation`."""
    if isinstance(said, State):
        found = said
    elif isinstance(said, str):  # a pasted state line
        try:
            found = parse_state(spec, said)
        except ValueError as exc:
            raise SpecError(f"not a state of {spec.name}: {exc}", file=file, line=line) from None
    else:  # an oracle trace's observation
        try:
            observation = parse_observation(spec, machine.queues, said, "observed")
        except ObservationError as exc:
            raise SpecError(exc.message, file=file, line=line, field=exc.field) from None

        def observed(pre: State, inst: Instance | None, post: State) -> str | None:
            kicked = inst.target if inst is not None and inst.event.name == KICK_EVENT else None
            found = observation.mismatches(pre, post, kicked)
            if not found:
                return None
            first = found[0]
            return f"{first.field}: the table has {_show(first.expected)}, the trace {_show(first.observed)}"

        return observed
    if len(found.queues) != machine.queues:
        raise SpecError(f"expected {machine.queues} queue(s), found {len(found.queues)}", file=file, line=line)
    return lambda pre, inst, post: first_difference(machine, post, found)


@dataclass
class Judged:
    """A replayed trace: its start, its steps, and for a lasso its cycle."""

    start: State
    steps: list[Replayed]
    start_differs: str | None = None
    loop: int | None = None
    closing: Step | None = None
    cycle_problem: str | None = None
    unfair: tuple[str, ...] = ()
    live: list[RunVerdict] = field(default_factory=list)
    compared: bool = False  # the trace gave states to compare

    @property
    def complete(self) -> bool:
        """Every event replayed and every state agreed."""
        return self.start_differs is None and all(r.problem is None and r.differs is None for r in self.steps)

    @property
    def ok(self) -> bool:
        return (
            self.complete
            and not any(r.broken for r in self.steps)
            and self.cycle_problem is None
            and not self.unfair
            and not any(v.verdict == "fails" for v in self.live)
        )


def judge(spec: Spec, machine: Machine, start: State, seq: Sequence) -> Judged:
    """Replay ``seq`` from ``start``, comparing every state the trace gives
    with the table's, and judge a lasso's cycle and the liveness properties."""
    expect = {i: _expectation(spec, machine, *said) for i, said in seq.states.items()}
    if 0 in expect:
        start = _start_agreeing(machine, expect[0], start)
    done = Judged(start, [], compared=bool(expect))
    if 0 in expect:
        done.start_differs = expect[0](start, None, start)
        if done.start_differs is not None:
            return done
    events = _instances(spec, machine.queues, seq)
    done.steps = replay_events(machine, start, events, [expect.get(i) for i in range(1, len(events) + 1)])
    if not done.complete:
        return done
    states = [start, *(r.step.post for r in done.steps if r.step is not None)]
    steps = [r.step for r in done.steps if r.step is not None]
    if seq.loop is not None:
        if seq.loop >= len(states):
            raise SpecError(f"the cycle starts at state {seq.loop}, past the last ({len(states) - 1})", field="loop")
        done.loop = seq.loop
        closing = None
        if seq.closing is not None:
            name, args = seq.closing
            closing = _instances(spec, machine.queues, Sequence(events=[(name, args, "#meta.loop-back", None)]))[0]
        done.closing, done.cycle_problem = close_cycle(machine, states, seq.loop, closing)
        if done.cycle_problem is None:
            done.unfair = unfair_promises(machine, *cycle_of(states, steps, seq.loop, done.closing))
        if done.cycle_problem is not None or done.unfair:
            return done
    done.live = lasso_verdicts(machine, states, steps, done.loop, done.closing)
    done.live += [
        RunVerdict(p.name, "not checked", "not checked: it compares two runs; check compares them")
        for p in spec.properties
        if p.kind is PropertyKind.HISTORY_FREE
    ]
    return done


def _queues_shown(seq: Sequence) -> int | None:
    """The queues a pasted state line shows (``... | q0 ... | q1 ...``), if any."""
    shown = [said.count(" | ") for said, _, _ in seq.states.values() if isinstance(said, str)]
    return shown[0] if shown else None


# -- output ------------------------------------------------------------------------


def replay_json(spec: Spec, queues: int, done: Judged) -> dict:
    return {
        "variant": spec.name,
        "queues": queues,
        "start": state_json(spec, done.start),
        "start_differs": done.start_differs,
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
                "differs": r.differs,
            }
            for r in done.steps
        ],
        "loop": done.loop,
        "cycle": None
        if done.loop is None
        else {
            "closing": done.closing.to_json(spec) if done.closing is not None else None,
            "problem": done.cycle_problem,
            "unfair": list(done.unfair),
        },
        "liveness": {v.name: {"verdict": v.verdict, "message": v.message} for v in done.live},
        "ok": done.ok,
    }


def _show(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def print_replay(spec: Spec, queues: int, note: str, done: Judged) -> None:
    out = console()
    width = out.width
    steps = done.steps
    out.print(Text(f"{spec.name}, {queues} queue(s){note}", style="bold"))
    out.print(Text(wrap(f"0. start  {format_state(spec, done.start)}", width)))
    if done.start_differs is not None:
        out.print(Text(f"     DIFFERS: {done.start_differs}", style="bold red"))
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
        if r.differs is not None:
            out.print(
                Text(
                    wrap(f"     DIFFERS: the trace's state after step {r.number}: {r.differs}", width), style="bold red"
                )
            )
    _print_cycle(out, spec, done)
    broken = sorted({b.split(" (")[0] for r in steps for b in r.broken})
    if done.ok:
        kind = "step(s) of a lasso" if done.loop is not None else "step(s)"
        agree = "every state agrees with the table's and " if done.compared else ""
        out.print(f"{len(steps)} {kind} replayed; {agree}every property holds along the way", markup=False)
    elif done.start_differs is not None:
        out.print("the trace's start is not the table's", markup=False)
    elif steps and steps[-1].problem:
        out.print(f"stopped at step {steps[-1].number}: the table cannot take it", markup=False)
    elif steps and steps[-1].differs:
        out.print(f"stopped at step {steps[-1].number}: the trace's state is not the table's", markup=False)
    if broken:
        out.print(f"false after some step: {', '.join(broken)}", markup=False)
    failing = [v.name for v in done.live if v.verdict == "fails"]
    if failing:
        out.print(f"false on this run: {', '.join(failing)}", markup=False)


def _print_cycle(out, spec: Spec, done: Judged) -> None:
    """A lasso's cycle: how it closes, whether it is fair; then the
    properties of infinite runs on it (or on the finite run)."""
    if done.loop is not None and done.complete:
        last = len(done.steps)
        if done.closing is not None:
            out.print(Text(f"then for ever, back to state {done.loop}, by", style="bold"))
            out.print(Text(f"{last + 1}. {done.closing.event}  [{done.closing.rows()}]"))
        elif done.loop == last:
            out.print(Text(f"then for ever: nothing happens (the run stays in state {last})", style="bold"))
        else:
            out.print(
                Text(f"then for ever, back to state {done.loop} (state {last} is state {done.loop})", style="bold")
            )
        if done.cycle_problem is not None:
            print_text(out, f"     DOES NOT CLOSE: {done.cycle_problem}")
        for why in done.unfair:
            print_text(out, f"     UNFAIR: {why}: the lasso is not a fair run")
    for v in done.live:
        if v.verdict == "fails":
            print_text(out, f"     FAILS  {v.name}: {v.message}")
    skipped: dict[str, list[str]] = {}
    for v in done.live:
        if v.verdict == "not checked":
            skipped.setdefault(v.message.removeprefix("not checked: "), []).append(v.name)
    for why, names in skipped.items():
        print_text(out, f"not checked on this run: {', '.join(names)} ({why})")


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
@click.option(
    "--env",
    "env",
    default=None,
    metavar="NAME",
    help=ENV_HELP + " Default: the trace's (an ITF trace's #meta), else adversarial.",
)
@run_options
@guarded
def replay(
    events: tuple[str, ...],
    trace_path: str | None,
    spec_name: str | None,
    queues: range | None,
    inits: tuple[str, ...],
    timeout: float | None,
    env: str | None,
    as_json: bool,
    quiet: bool,
) -> int:
    """Replay events on the table: each step's rows and what changed.

    EVENT is written as traces print it, e.g. 'set_status(value=driver_ok,
    assign_ok=true)', 'kick(queue=0)', 'reset' (quote the parentheses).
    Properties are checked after every step, and every state a trace gives
    is compared with the table's; a lasso (ITF's loop, a pasted lasso) must
    close and be fair, and is judged on the properties of infinite runs.
    Exit 1 if one fails, a state differs or an event cannot happen, 2 on
    bad input.
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
    meta = itf.get("#meta") if itf is not None and isinstance(itf.get("#meta"), dict) else {}
    if spec_name is None:
        source = meta.get("source")
        if isinstance(source, str) and source.endswith(".qnt"):  # a trace Quint wrote of our export
            spec_name, module_env = quint_source(source, trace_path)
            env = env or module_env
        else:
            spec_name = resolve_source(source, trace_path) if isinstance(source, str) and source else None
    if env is None:
        env = meta.get("env") if isinstance(meta.get("env"), str) else ADVERSARIAL
    spec = load_spec(spec_name or seq.spec_name or "resolved", env=env)
    note = ""
    if itf is not None:
        start, found = read_itf(spec, itf, file=trace_path)
        seq.events = [(name, args, trace_path, None) for name, args in found]
        seq.states = {i: (state, trace_path, None) for i, state in enumerate(read_states(spec, itf, file=trace_path))}
        seq.loop, seq.closing = read_loop(spec, itf, file=trace_path)
        n = len(start.queues)
        if queues is not None and queues[0] != n:
            raise SpecError(f"the trace's states have {n} queue(s), not {queues[0]}", field="--queues")
    else:
        n = queues[0] if queues is not None else (seq.queues or _queues_shown(seq) or _queues_needed(spec, seq))
        if n > MAX_QUEUES:
            raise SpecError(f"{n:,} queues: a device has at most {MAX_QUEUES}", field="--queues")
        start, count = choose_start(Machine(spec, n), seq.init)
        if count > 1 and 0 not in seq.states:
            note = f"; one of {count} initial states (choose with --init NAME=VALUE)"
    with Progress(f"replaying {len(seq.events):,} event(s)", quiet=quiet), Deadline(timeout).enforced():
        done = judge(spec, Machine(spec, n), start, seq)
    if as_json:
        print_document("replay", [replay_json(spec, n, done)])
    else:
        print_replay(spec, n, note, done)
    return ExitCode.HOLDS if done.ok else ExitCode.FAILS


#: Initial states searched for the one a trace's start shows, at most.
_STARTS = 4096


def _start_agreeing(machine: Machine, expected, chosen: State) -> State:
    """The initial state the trace's start shows (a pasted ``0. start`` line,
    an oracle trace's header): ``chosen`` when it agrees, else the first
    initial state that does, among a few thousand; ``chosen`` when none
    does (then the start is reported as differing)."""
    if expected(chosen, None, chosen) is None:
        return chosen
    spec = machine.spec
    count = math.prod(len(v.init) for v in spec.device_variables)
    count *= math.prod(len(v.init) for v in spec.queue_variables) ** machine.queues
    if count > _STARTS:
        return chosen
    return next((s for s in machine.initial_states() if expected(s, None, s) is None), chosen)
