"""The hostile fuzz: every command with hostile flags, files, outputs and signals.

Each run is the installed command in a child process (``tests/processes.py``),
judged on what it must never do, whatever it was given:

- print a traceback (or the interpreter's ``Exception ignored`` and
  ``Fatal Python error``), or ``internal error``;
- exit with a code outside the documented set (README.md, "Exit codes");
  4 only when its output was made unwritable; 130 or 143 when it was sent
  SIGINT or SIGTERM while a run that cannot end by itself was going on
  (a signal it ignores is a failure);
- run without end (bounded by :data:`processes.PATIENCE`, a bound on a
  hang, never a synchronisation).

The cases are drawn from the commands themselves (click's records of their
options): every option of a known type gets the values that type must
refuse (queue counts, seconds, integers, output folders and files, tables,
traces), so a command added later is fuzzed too. Then whole-command cases:
``--help`` and ``--version`` into ``/dev/full`` and a closed pipe, every
command's output into both, hostile trace files for the commands that read
them, and SIGINT or SIGTERM at a random moment once the command's own
handling is in place (before it, the interpreter is starting and the signal
is its own), or at its first progress line.

``make fuzz-hostile`` runs ``HOSTILE_RUNS`` cases drawn with ``HOSTILE_SEED``
(``python tests/hostile.py --runs N --seed S --jobs J``) and prints what it
counted; ``tests/cli/test_hostile.py`` runs a short fixed-seed slice of it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent))

from processes import PATIENCE, read_until, spawned, watching_signals

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.cli.params import OutputFile, OutputFolder, QueueRange, Seconds

#: The exit codes a command may end with (cli/exitcodes.py).
DOCUMENTED = {0, 1, 2, 3, 4, 130, 143}
FORBIDDEN = ("Traceback (most recent call last)", "Exception ignored", "Fatal Python error", "internal error")

#: A small valid run of every command (``{tmp}`` is the fuzz's folder, ``{trace}`` a trace that diverges).
BASE: dict[str, list[str]] = {
    "check": ["check", "--spec", "proposal", "--queues", "1-2"],
    "verify": ["verify", "--resolved-queues", "1-2", "--proposal-queues", "1"],
    "show": ["show", "--spec", "proposal"],
    "validate": ["validate", "--spec", "proposal"],
    "draw": ["draw", "--spec", "proposal", "--format", "dot", "--queues", "1", "--out", "{tmp}/draw"],
    "oracle check": ["oracle", "check", "{trace}", "--spec", "resolved"],
    "oracle drive": ["oracle", "drive", "--builtin", "reference", "--queues", "1", "--walks", "2"],
    "oracle replay": [
        "oracle",
        "replay",
        "--builtin",
        "reference",
        "--queues",
        "1",
        "--sequence",
        "start(limited=false); kick(queue=0)",
    ],
    "oracle schema": ["oracle", "schema"],
    "mutants": ["mutants", "--queues", "1", "--only", "double_release"],
    "prove": ["prove", "--spec", "proposal", "--property", "no_lost_kick"],
    "scale": ["scale", "--queues", "1-8"],
    "replay": ["replay", "--spec", "proposal", "kick(queue=0)"],
    "diff": ["diff", "proposal", "resolved", "--queues", "1"],
    "designs": ["designs", "--no-drive", "--only", "kvmtool", "--out", "{tmp}/designs"],
    "liveness": ["liveness", "--spec", "proposal", "--queues", "1"],
    "graph": ["graph", "--spec", "proposal", "--queues", "1"],
    "simulate": ["simulate", "--spec", "proposal", "--queues", "1", "--runs", "3", "--depth", "10", "--seed", "1"],
}

#: Runs that cannot end by themselves within seconds on any machine: a
#: signal sent to one must stop it (130, 143), never be ignored.
ENDLESS: dict[str, list[str]] = {
    "check": ["check", "--spec", "proposal", "--queues", "1-8", "--engine", "general", "--max-states", "1000000"],
    "prove": ["prove", "--spec", "proposal", "--crosscheck", "4"],
    "liveness": ["liveness", "--spec", "proposal", "--queues", "1-7", "--max-states", "1000000"],
    "mutants": ["mutants", "--queues", "1-4", "--max-depth", "40"],
    "draw": ["draw", "--spec", "proposal", "--format", "dot", "--queues", "1-5", "--out", "{tmp}/endless"],
}

NUMBERS = ["0", "-1", "9" * 30, "9" * 5000, "nan", "inf", "1e999", "", "x"]
QUEUES = ["0", "1025", "99999999999999999999", "9" * 5000, "1-", "3-1", "-1", "1-1025", "a", ""]
SECONDS = ["nan", "inf", "-inf", "-1", "0", "1e999", "soon", ""]


@dataclasses.dataclass(frozen=True)
class Case:
    """One run: the arguments, what stdout is, what it reads on stdin, and
    the signal sent (with when: ``ready``, ``progress`` or a delay)."""

    name: str
    args: tuple[str, ...]
    stdout: str = "pipe"  # pipe | full | closed
    signum: int | None = None
    moment: str | float | None = None
    endless: bool = False  # the run cannot end by itself before the signal
    output_hostile: bool = False  # an output was made unwritable: 4 is expected


@dataclasses.dataclass(frozen=True)
class Outcome:
    case: Case
    code: int | None
    seconds: float
    problems: tuple[str, ...]
    err_tail: str = ""


# -- files ---------------------------------------------------------------------------


def wide_itf(queues: int) -> dict:
    """An ITF trace of ``resolved`` whose first state has ``queues`` queues."""
    from virtio_notifier_spec.model.itf import value
    from virtio_notifier_spec.spec.load import load_spec

    spec = load_spec("resolved")
    first = {v.name: value(v.init[0]) for v in spec.device_variables}
    for v in spec.queue_variables:
        first[v.name] = {"#map": [[q, value(v.init[0])] for q in range(queues)]}
    return {"states": [first]}


def _contents() -> dict[str, str | bytes]:
    return {
        "empty": "",
        "blank": "\n\n   \n",
        "binary": bytes(range(256)) * 64,
        "not utf-8": b"\xff\xfe\x00kick(queue=0)\n",
        "nested toml": "x = " + "[" * 50_000 + "]" * 50_000 + "\n",
        "nested json": '{"a":' * 100_000 + "1" + "}" * 100_000 + "\n",
        "nested list": "[" * 100_000 + "]" * 100_000 + "\n",
        "long line": "x" * 10_000_000,
        "huge number": "kick(queue=" + "9" * 5000 + ")\n",
        "header 200k queues": '{"format":"virtio-notifier-trace","version":1,"variant":"resolved","queues":200000,'
        '"limited":false}\n',
        "header only": '{"format":"virtio-notifier-trace","version":1,"variant":"resolved","queues":1,'
        '"limited":false}\n',
        "itf 200k queues": json.dumps(wide_itf(200_000)),
        "toml garbage": "[[transitions]]\nname = 1\n[[[",
    }


NAMES = ("empty", "blank", "binary", "not utf-8", "nested toml", "nested json", "nested list", "long line")
NAMES += ("huge number", "header 200k queues", "header only", "itf 200k queues", "toml garbage")


def hostile_files(folder: Path) -> dict[str, Path]:
    """Files no command may choke on, by name (:func:`make_files` writes them into ``folder``)."""
    paths = {name: folder / (name.replace(" ", "-") + ".txt") for name in NAMES}
    paths["folder"] = folder
    paths["/dev/zero"] = Path("/dev/zero")
    paths["/dev/null"] = Path("/dev/null")
    paths["missing"] = folder / "no-such-file"
    return paths


def unwritable(folder: Path) -> dict[str, str]:
    """Output paths that cannot be written, whoever runs the fuzz (root too)."""
    return {
        "read-only folder": "/proc/1",
        "under a read-only folder": "/proc/1/new",
        "a file": str(folder / "a-file"),
        "missing parent": str(folder / "missing" / "sub"),
    }


def make_files(folder: Path) -> Path:
    """Write the hostile files and a trace that diverges; returns the trace."""
    contents = _contents()
    for name, path in hostile_files(folder).items():
        if name in contents:
            data = contents[name]
            if isinstance(data, str):
                path.write_text(data, encoding="utf-8")
            else:
                path.write_bytes(data)
    (folder / "a-file").write_text("")
    return divergent_trace(folder)


# -- cases -----------------------------------------------------------------------------


def _commands() -> Iterator[tuple[str, click.Command]]:
    def walk(command, prefix):
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                yield from walk(sub, [*prefix, name])
        else:
            yield " ".join(prefix), command

    yield from walk(cli, [])


def _fill(args: list[str], folder: Path, trace: Path) -> list[str]:
    return [a.replace("{tmp}", str(folder)).replace("{trace}", str(trace)) for a in args]


def _with(args: list[str], option: str, value: str) -> list[str]:
    """``args`` with ``option`` set to ``value`` (replaced if present)."""
    out = list(args)
    if option in out:
        index = out.index(option)
        if index + 1 < len(out):
            out[index + 1] = value
            return out
    return [*out, option, value]


def option_cases(folder: Path, trace: Path) -> list[Case]:
    """Every option of every command given what its type must refuse."""
    files = hostile_files(folder)
    outputs = unwritable(folder)
    cases = []
    for name, command in _commands():
        base = _fill(BASE.get(name, name.split()), folder, trace)
        for param in command.params:
            if not isinstance(param, click.Option) or param.is_flag or param.hidden:
                continue
            option = param.opts[0]
            kind = param.type
            values: list[tuple[str, str, bool]] = []  # (label, value, makes the output unwritable)
            if isinstance(kind, QueueRange):
                values = [(v[:12], v, False) for v in QUEUES]
            elif isinstance(kind, Seconds | click.types.FloatParamType):
                values = [(v, v, False) for v in SECONDS]
            elif isinstance(kind, click.types.IntParamType):
                values = [(v[:12], v, False) for v in NUMBERS]
            elif isinstance(kind, OutputFolder | OutputFile):
                values = [(label, path, False) for label, path in outputs.items()]
                if isinstance(kind, OutputFile):
                    values.append(("/dev/full", "/dev/full", True))
            elif option in ("--spec", "--config", "--trace"):
                values = [(label, str(path), False) for label, path in files.items()]
            elif isinstance(kind, click.Choice) or option in ("--env", "--property", "--only", "--builtin"):
                values = [("unknown", "no-such-" + option.strip("-"), False), ("empty", "", False)]
            for label, value, lost in values:
                cases.append(Case(f"{name} {option}={label}", tuple(_with(base, option, value)), output_hostile=lost))
    return cases


def whole_cases(folder: Path, trace: Path) -> list[Case]:
    """``--help``, ``--version``, output into /dev/full and a closed pipe,
    trace files for the commands that read them, huge event arguments."""
    files = hostile_files(folder)
    cases = []
    for stdout in ("full", "closed"):
        cases += [Case(f"--help > {stdout}", ("--help",), stdout, output_hostile=True)]
        cases += [Case(f"--version > {stdout}", ("--version",), stdout, output_hostile=True)]
        for name, _ in _commands():
            args = name.split()
            cases.append(Case(f"{name} --help > {stdout}", (*args, "--help"), stdout, output_hostile=True))
            base = _fill(BASE.get(name, args), folder, trace)
            cases.append(Case(f"{name} > {stdout}", tuple(base), stdout, output_hostile=True))
    for label, path in files.items():
        cases.append(Case(f"replay --trace {label}", ("replay", "--trace", str(path))))
        cases.append(Case(f"oracle check {label}", ("oracle", "check", str(path))))
        cases.append(
            Case(f"oracle replay --trace {label}", ("oracle", "replay", "--builtin", "reference", "--trace", str(path)))
        )
    cases.append(Case("replay huge queue", ("replay", "kick(queue=" + "9" * 5000 + ")")))
    cases.append(Case("replay queue 5000", ("replay", "kick(queue=5000)")))
    cases.append(Case("replay huge argument", ("replay", "set_status(value=" + "x" * 100_000 + ")")))
    return cases


def signal_cases(rng: random.Random, folder: Path, trace: Path, count: int) -> list[Case]:
    """SIGINT or SIGTERM at a random moment: an endless run (which must stop
    with 130 or 143), or any command's small run (any documented code)."""
    cases = []
    names = [name for name, _ in _commands()]
    for _ in range(count):
        signum = rng.choice([signal.SIGINT, signal.SIGTERM])
        moment = rng.choice(["ready", "progress", round(rng.uniform(0, 3), 2)])
        if rng.random() < 0.6:
            name = rng.choice(sorted(ENDLESS))
            args, endless = _fill(ENDLESS[name], folder, trace), True
        else:
            name = rng.choice(names)
            args, endless = _fill(BASE.get(name, name.split()), folder, trace), False
        what = signal.Signals(signum).name
        cases.append(Case(f"{name} {what} at {moment}", tuple(args), signum=signum, moment=moment, endless=endless))
    return cases


def all_cases(seed: int, folder: Path, trace: Path, runs: int) -> list[Case]:
    """``runs`` cases: a seeded sample of every option and whole-command
    case (each command at least once), a fifth of them signals."""
    rng = random.Random(seed)
    fixed = option_cases(folder, trace) + whole_cases(folder, trace)
    signals = max(1, runs // 5)
    chosen: list[Case] = []
    by_command: dict[str, list[Case]] = {}
    for case in fixed:
        by_command.setdefault(case.args[0] if case.args else "", []).append(case)
    for group in by_command.values():  # every command once
        chosen.append(rng.choice(group))
    rest = [c for c in fixed if c not in chosen]
    rng.shuffle(rest)
    chosen += rest[: max(0, runs - signals - len(chosen))]
    return chosen[: runs - signals] + signal_cases(rng, folder, trace, signals)


# -- running and judging ------------------------------------------------------------------


def run_case(case: Case, rng: random.Random, cwd: Path) -> Outcome:
    began = time.monotonic()
    stdout = subprocess.PIPE
    full = None
    if case.stdout == "full":
        full = open("/dev/full", "w")  # noqa: SIM115 (closed below, on every path)
        stdout = full
    elif case.signum is not None and case.stdout == "pipe":
        # while the signal waits for a progress line on stderr, stdout must not fill a pipe nobody reads
        # (the command would block writing it, and never print the line)
        full = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed below, on every path)
        stdout = full
    args = case.args
    progress = "0.05" if case.moment == "progress" else "off"
    problems: list[str] = []
    try:
        with spawned(*args, progress=progress, stdout=stdout, stdin=subprocess.DEVNULL, cwd=cwd) as process:
            if case.stdout == "closed":
                process.stdout.close()
            head: list[str] = []
            sent_while_running = False
            if case.signum is not None and watching_signals(process):
                if case.moment == "progress":
                    with contextlib.suppress(AssertionError):
                        head = read_until(process, r"^progress: ")
                elif isinstance(case.moment, float):
                    time.sleep(case.moment)  # a random moment: the verdict must not depend on it
                if process.poll() is None:
                    process.send_signal(case.signum)
                    sent_while_running = True
            try:
                out, err = process.communicate(timeout=PATIENCE)
            except subprocess.TimeoutExpired:
                return Outcome(case, None, time.monotonic() - began, ("no end (a hang)",))
            code = process.returncode
            if full is not None and case.stdout == "pipe":
                full.seek(0)
                out = full.read()
    finally:
        if full is not None:
            full.close()
    text = (out or "") + "".join(head) + (err or "")
    problems += [f"printed {word!r}" for word in FORBIDDEN if word in text]
    if code not in DOCUMENTED:
        problems.append(f"exit {code}, outside the documented codes")
    if code == 4 and not case.output_hostile and case.stdout == "pipe":
        problems.append("exit 4 although every output could be written")
    if case.endless and sent_while_running and code != 128 + case.signum:
        problems.append(f"exit {code} after {signal.Signals(case.signum).name}: the signal was ignored")
    tail = "\n".join((err or "").strip().splitlines()[-3:])
    return Outcome(case, code, time.monotonic() - began, tuple(problems), tail)


def divergent_trace(folder: Path) -> Path:
    """A trace that ``oracle check`` finds diverging from resolved."""
    path = folder / "diverges.jsonl"
    path.write_text(
        '{"format":"virtio-notifier-trace","version":1,"variant":"proposal","queues":1,"limited":false}\n'
        '{"event":"set_status","args":{"value":"driver_ok","assign_ok":true}}\n'
        '{"event":"kick","args":{"queue":0}}\n'
        '{"event":"reset","args":{},"observed":{"queues":[{"pending":true}]}}\n'
    )
    return path


def trace_path(folder: Path) -> Path:
    return folder / "diverges.jsonl"


def run_all(cases: list[Case], seed: int, jobs: int, cwd: Path) -> list[Outcome]:
    rngs = [random.Random(seed * 1_000_003 + i) for i in range(len(cases))]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(run_case, cases, rngs, [cwd] * len(cases)))


def report(outcomes: list[Outcome]) -> str:
    codes = Counter(o.code for o in outcomes)
    bad = [o for o in outcomes if o.problems]
    lines = [
        f"{len(outcomes)} runs: exit codes "
        + ", ".join(f"{code}: {n}" for code, n in sorted(codes.items(), key=lambda x: (x[0] is None, x[0]))),
        f"tracebacks: {sum(any('Traceback' in p for p in o.problems) for o in outcomes)}, "
        f"exit codes outside the documented set: {sum(any('outside' in p for p in o.problems) for o in outcomes)}, "
        f"ignored signals: {sum(any('ignored' in p for p in o.problems) for o in outcomes)}, "
        f"hangs: {sum(o.code is None for o in outcomes)}, other problems: "
        f"{sum(1 for o in bad if not any(w in p for p in o.problems for w in ('Traceback', 'outside', 'ignored')))}",
    ]
    for o in bad:
        lines.append(f"FAIL {o.case.name} (exit {o.code}): {'; '.join(o.problems)}")
        lines.append(f"     {' '.join(a[:60] for a in o.case.args)}")
        if o.err_tail:
            lines += [f"     | {line[:200]}" for line in o.err_tail.splitlines()]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-") as work:
        folder = Path(work)
        cases = all_cases(options.seed, folder, make_files(folder), options.runs)
        began = time.monotonic()
        outcomes = run_all(cases, options.seed, options.jobs, folder)
        print(report(outcomes))
        load = os.getloadavg()
        print(
            f"seed {options.seed}, {options.jobs} job(s), {time.monotonic() - began:.0f} s, "
            f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
        )
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
