"""Edges that must not crack: output that cannot be written, signals at any
moment, inputs with no end, and which exit code wins when two apply
(README.md, "Exit codes"). Then a short fixed-seed slice of the hostile
fuzz (``tests/hostile.py``; ``make fuzz-hostile`` runs hundreds of cases)."""

from __future__ import annotations

import errno
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile import all_cases, make_files, run_case, trace_path, wide_itf
from processes import PATIENCE, finish, read_until, spawned, watching_signals, without_progress

from virtio_notifier_spec.cli import signals
from virtio_notifier_spec.cli.guard import run as guard_run
from virtio_notifier_spec.cli.main import cli

FULL = Path("/dev/full")


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


# -- output that cannot be written --------------------------------------------------------


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full")
@pytest.mark.parametrize("args", [["--help"], ["--version"], ["check", "--help"], ["oracle", "--help"]], ids=" ".join)
def test_help_and_version_into_a_full_device_are_one_line_and_exit_4(args):
    with open(FULL, "w") as full, spawned(*args, stdout=full) as process:
        status, _, err = finish(process)
    assert status == 4
    assert without_progress(err) == ["error: cannot write the output: No space left on device"]


def test_a_failure_keeps_its_1_when_traces_cannot_be_written_because_the_folder_is_refused_first(tmp_path):
    taken = tmp_path / "a-file"
    taken.write_text("")
    for folder in (taken, tmp_path / "missing" / "sub", Path("/proc/1")):
        result = run("check", "--spec", "proposal", "--queues", "1", "--traces", folder)
        assert result.exit_code == 2, result.output
        assert "FAILS" not in result.stdout and "--traces" in result.output  # nothing ran


def test_traces_lost_to_a_full_disk_after_a_failure_is_exit_4_and_the_failure_stays_printed(tmp_path, monkeypatch):
    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full_disk)
    result = run("check", "--spec", "proposal", "--queues", "1", "--traces", tmp_path / "cx")
    assert result.exit_code == 4
    assert "no_lost_kick FAILS" in result.stdout
    assert "error: cannot write --traces" in result.stderr and "No space left on device" in result.stderr
    assert "internal error" not in result.stderr


# -- inputs with no end, or no content --------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--spec", "/dev/zero"],
        ["scale", "--config", "/dev/zero", "--queues", "1"],
        ["replay", "--trace", "/dev/zero"],
    ],
    ids=lambda a: a[0],
)
def test_a_file_without_end_is_refused_by_its_size(args):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "/dev/zero: larger than" in result.output


@pytest.mark.parametrize("text", ["", "\n\n  \n", "# a comment only\n"], ids=["empty", "blank", "comment"])
def test_replaying_a_file_with_no_event_is_bad_input_not_a_run_that_holds(tmp_path, text):
    path = tmp_path / "events.txt"
    path.write_text(text)
    result = run("replay", "--trace", path)
    assert result.exit_code == 2, result.output
    assert "every property holds" not in result.output


@pytest.mark.parametrize(
    "text",
    ['{"a":' * 100_000 + "1" + "}" * 100_000, '{"states":' + "[" * 100_000 + "]" * 100_000 + "}"],
    ids=["objects", "lists"],
)
def test_replaying_a_trace_nested_too_deeply_is_bad_input(tmp_path, text):
    path = tmp_path / "deep.json"
    path.write_text(text)
    result = run("replay", "--trace", path)
    assert result.exit_code == 2, result.output
    assert "nested too deeply" in result.output and "internal error" not in result.output


@pytest.mark.parametrize(
    "event, said",
    [
        ("kick(queue=" + "9" * 5000 + ")", "5,000 characters"),
        ("kick(queue=5000)", "more than 1024 queues"),
        ("kick(queue=1024)", "more than 1024 queues"),
    ],
    ids=["5000 digits", "queue 5000", "queue 1024"],
)
def test_replaying_an_event_beyond_the_largest_device_is_bad_input(event, said):
    result = run("replay", event)
    assert result.exit_code == 2, result.output
    assert said in result.output and len(result.output) < 1000


def test_an_itf_trace_of_more_queues_than_a_device_has_is_refused(tmp_path):
    for queues, code in ((1024, 0), (1025, 2)):
        path = tmp_path / f"{queues}.itf.json"
        path.write_text(json.dumps(wide_itf(queues)))
        result = run("replay", "--trace", path, "--json")
        assert result.exit_code == code, result.output
    assert "at most 1024" in result.output


# -- signals -------------------------------------------------------------------------------


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_stop_as_soon_as_the_command_handles_it_is_one_line_never_a_traceback(signum, code):
    # the moment the entry point has its handlers in place, before the heavy imports
    with spawned("check", "--queues", "9", stdout=subprocess.PIPE) as process:
        assert watching_signals(process)
        process.send_signal(signum)
        status, out, err = finish(process)
    assert status == code
    assert without_progress(err) == ["interrupted" if signum == signal.SIGINT else "interrupted by SIGTERM"]
    assert "Traceback" not in out + err


def test_a_ctrl_c_swallowed_by_a_finalizer_still_ends_the_command_with_130():
    def body() -> int:  # the KeyboardInterrupt was lost, the signal was not
        signals._note(signal.SIGINT)
        return 0

    try:
        assert guard_run(body) == 130
    finally:
        signals.forget()


@pytest.mark.skipif(shutil.which("spin") is None or shutil.which("cc") is None, reason="SPIN or a C compiler missing")
def test_sigterm_while_spin_runs_removes_its_temporary_folder_and_exits_143(tmp_path):
    args = ("liveness", "--spec", "resolved", "--queues", "1-3", "--spin")
    with spawned(*args, env={"TMPDIR": str(tmp_path)}, stdout=subprocess.PIPE) as process:
        read_until(process, r"asking SPIN")
        deadline = time.monotonic() + PATIENCE
        while not list(tmp_path.glob("liveness-spin-*")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # polls the folder: SPIN's work has begun once it exists
        assert list(tmp_path.glob("liveness-spin-*")), "SPIN's folder never appeared"
        process.send_signal(signal.SIGTERM)
        status, out, err = finish(process)
    assert status == 143, err
    assert not list(tmp_path.glob("liveness-spin-*"))
    assert "Traceback" not in out + err


# -- the fuzz's short slice --------------------------------------------------------------------

SLICE_SEED, SLICE_RUNS = 20, 15


#: The cases, named at collection: their files are made in each test's own folder.
SLICE = all_cases(SLICE_SEED, Path("<tmp>"), trace_path(Path("<tmp>")), SLICE_RUNS)


@pytest.mark.parametrize("index", range(len(SLICE)), ids=[c.name[:60] for c in SLICE])
def test_hostile_slice_no_traceback_no_undocumented_exit_code(index, tmp_path):
    case = all_cases(SLICE_SEED, tmp_path, make_files(tmp_path), SLICE_RUNS)[index]
    outcome = run_case(case, random.Random(SLICE_SEED + index), tmp_path)
    assert not outcome.problems, (case.args, outcome.code, outcome.err_tail)


def test_a_timeout_that_lands_in_a_finalizer_is_retried_silently(monkeypatch):
    from virtio_notifier_spec.cli.deadline import Deadline, TimeoutReached

    reported = []  # what the interpreter would print as "Exception ignored"
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: reported.append(unraisable.exc_type))

    class Busy:
        def __del__(self):
            while True:  # until the alarm lands here, where the interpreter swallows it
                pass

    with pytest.raises(TimeoutReached), Deadline(0.01).enforced():
        busy = Busy()
        del busy
        while True:  # the next alarm stops the block
            time.sleep(0.001)
    assert TimeoutReached not in reported
