"""Long runs: Ctrl-C keeps what was found (exit 130), --max-states and
--timeout stop with exit 3, one --timeout covers a whole command, progress
shows off a terminal, and output failures are one line, never a traceback."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from processes import PATIENCE, finish, read_until, spawned, without_progress

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.cli.progress import ENV as PROGRESS_ENV
from virtio_notifier_spec.model.explore import INTERRUPTED, TIMEOUT, explore
from virtio_notifier_spec.scale.search import explore_every
from virtio_notifier_spec.spec.load import load_spec


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


# -- Ctrl-C ---------------------------------------------------------------------


def test_an_interrupted_search_returns_what_it_found():
    seen = []

    def progress(states, edges, depth):
        seen.append(states)
        if states >= 4000:
            raise KeyboardInterrupt

    result = explore(load_spec("proposal"), 4, progress=progress)
    assert result.partial == INTERRUPTED and not result.ok
    assert result.states >= 4000 and result.counterexamples  # failures found before Ctrl-C are kept
    assert sum(result.fired.values()) > 0


#: A check that cannot end before it is interrupted (proposal has millions
#: of states at 7 queues; --max-states bounds the memory if it is not).
ENDLESS_CHECK = ("check", "--spec", "proposal", "--queues", "1-8", "--engine", "general", "--max-states", "3000000")


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_stop_during_check_prints_states_coverage_and_verdicts(signum, code):
    with spawned(*ENDLESS_CHECK, stdout=subprocess.PIPE) as process:
        head = read_until(process, r"proposal, [2-8] queue\(s\)")  # 1 queue decided: the program says so
        process.send_signal(signum)
        status, out, err = finish(process, head)
    assert status == code, err
    assert "partial: interrupted" in out and "Coverage" in out
    assert "no_lost_kick FAILS" in out  # decided before the signal, at 1 queue
    assert "interrupted" in err and "Traceback" not in err + out


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_stop_during_prove_is_one_line_and_its_exit_code(signum, code):
    # the cross-check at 4 queues runs Z3 for a long while: stopped inside a
    # solver's check, the process must end at once, not wait for the solver
    args = ("prove", "--spec", "proposal", "--crosscheck", "4")
    with spawned(*args, stdout=subprocess.PIPE) as process:
        head = read_until(process, r"cross-checking proposal")
        process.send_signal(signum)
        status, out, err = finish(process, head)
    assert status == code, err
    assert "interrupted" in err and "Traceback" not in err + out and "SolverGaveUp" not in err


def test_an_interrupted_graph_walk_returns_what_it_walked(monkeypatch):
    from virtio_notifier_spec.model.graph import state_graph
    from virtio_notifier_spec.model.machine import Machine

    real, calls = Machine.step, []

    def step(self, state, inst):
        calls.append(inst)
        if len(calls) > 200:
            raise KeyboardInterrupt
        return real(self, state, inst)

    monkeypatch.setattr(Machine, "step", step)
    graph = state_graph(load_spec("resolved"), 2)
    assert graph.partial == INTERRUPTED and len(graph.states) > 1


def test_ctrl_c_during_liveness_keeps_the_failures_found_and_exits_130(monkeypatch):
    from virtio_notifier_spec.model import liveness as module

    real, asked = module._Checker.check, []

    def check(self, prop):
        asked.append(prop.name)
        if len(asked) > 1:
            raise KeyboardInterrupt
        return real(self, prop)

    monkeypatch.setattr(module._Checker, "check", check)
    result = run("liveness", "--spec", "proposal", "--queues", "1-2", "--quiet")
    assert result.exit_code == 130, result.output
    assert "kick_eventually_handled FAILS" in result.output  # decided before Ctrl-C
    assert "not run for 2 queue(s)" in result.output and "interrupted" in result.output


def test_ctrl_c_during_prove_prints_what_was_proved_and_exits_130(monkeypatch):
    from virtio_notifier_spec.proofs.induction import Prover

    def interrupted(self, prop):
        raise KeyboardInterrupt

    monkeypatch.setattr(Prover, "prove_step", interrupted)  # after the invariants, at the first step property
    result = run("prove", "--spec", "resolved")
    assert result.exit_code == 130, result.output
    assert "resolved: no_lost_kick proved before Ctrl-C" in result.output
    assert "every other check is unknown" in result.output and "prove: interrupted" in result.output


def test_a_ctrl_c_a_finalizer_swallowed_still_stops_the_proofs(monkeypatch):
    from virtio_notifier_spec.cli import prove as command

    monkeypatch.setattr(command, "interrupted", lambda: True)  # SIGINT seen, its KeyboardInterrupt lost
    result = run("prove", "--spec", "resolved")
    assert result.exit_code == 130 and "prove: interrupted" in result.output


def test_a_ctrl_c_a_library_call_wrapped_in_its_own_error_is_still_an_interruption():
    import ctypes

    from virtio_notifier_spec.cli import guard, signals

    def body() -> int:  # as Z3's ctypes call reports a KeyboardInterrupt raised while it converted arguments
        signals._note(signal.SIGINT)
        raise ctypes.ArgumentError("argument 2: KeyboardInterrupt: ")

    assert guard._run(body) == 130
    signals.forget()

    def crash() -> int:
        raise ctypes.ArgumentError("argument 2: a bug")

    assert guard._run(crash) == 4  # without Ctrl-C the same error is ours


# -- --max-states and --timeout: exit 3 -----------------------------------------


def test_one_timeout_covers_every_liveness_run():
    result = run("liveness", "--spec", "resolved", "--queues", "1-3", "--timeout", "0.001", "--quiet")
    assert result.exit_code == 3, result.output
    assert "not run for 2-3 queue(s)" in result.output


def test_a_run_stopped_by_max_states_exits_3_not_1():
    result = run("check", "--spec", "resolved", "--queues", "2", "--max-states", "30", "--quiet")
    assert result.exit_code == 3
    assert "stopped at --max-states 30" in result.output


def test_a_failure_found_before_the_stop_still_exits_1():
    result = run("check", "--spec", "proposal", "--queues", "3", "--max-states", "300", "--quiet")
    assert result.exit_code == 1 and "FAILS" in result.output


def test_one_timeout_covers_every_run_of_scale():
    runs = explore_every(load_spec("resolved"), 64, timeout=1e-6)
    assert [r.queues for r in runs] == [64] and runs[0].partial == TIMEOUT
    result = run("scale", "--spec", "resolved", "--queues", "1-64", "--timeout", "0.01", "--quiet")
    assert result.exit_code == 3, result.output
    assert "not checked for N in" in result.output


def test_prove_honours_timeout_and_exits_3():
    result = run("prove", "--spec", "resolved", "--timeout", "0.01", "--quiet")
    assert result.exit_code == 3, result.output
    assert "stopped at --timeout" in result.output


def test_draw_honours_timeout_and_exits_3(tmp_path):
    result = run(
        "draw", "--spec", "proposal", "--queues", "1-3", "--format", "dot", "--out", tmp_path, "--timeout", "0.01"
    )
    assert result.exit_code == 3, result.output
    assert "stopped at --timeout" in result.output


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1", "soon"])
def test_timeout_refuses_what_is_not_a_finite_positive_number(value):
    result = run("check", "--timeout", value)
    assert result.exit_code == 2 and "--timeout" in result.output


# -- progress -------------------------------------------------------------------


ONE_DEVICE = 'table = "resolved"\n\n[[devices]]\nname = "d"\nqueues = 2\n'


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--spec", "proposal", "--queues", "3", "--engine", "general"],
        ["prove", "--spec", "resolved"],
        ["scale", "--spec", "proposal", "--queues", "1-6", "--config", "one.toml"],
        ["draw", "--spec", "proposal", "--format", "dot", "--queues", "1-2", "--out", "."],
    ],
    ids=lambda args: args[0],
)
def test_long_runs_print_progress_lines_off_a_terminal(args, monkeypatch, tmp_path):
    from virtio_notifier_spec.cli.progress import Progress

    ended = Progress.__exit__

    def after_a_line(self, *exc):  # however fast the run, it ends only once its heartbeat has spoken
        assert self.printed.wait(PATIENCE)
        return ended(self, *exc)

    monkeypatch.setattr(Progress, "__exit__", after_a_line)
    monkeypatch.setenv(PROGRESS_ENV, "0.001")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.toml").write_text(ONE_DEVICE)
    result = run(*args)
    lines = [line for line in result.stderr.splitlines() if line.startswith("progress: ")]
    assert result.exit_code in (0, 1) and lines, result.output
    assert not [line for line in result.stdout.splitlines() if line.startswith("progress: ")]  # never on stdout


def test_quiet_shows_no_progress(monkeypatch):
    monkeypatch.setenv(PROGRESS_ENV, "0.001")
    result = run("check", "--spec", "proposal", "--queues", "3", "--quiet")
    assert result.exit_code == 1 and "progress: " not in result.output


# -- output that cannot be written ---------------------------------------------


def test_draw_out_to_an_existing_file_is_refused_before_it_runs_with_exit_2(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("")
    result = run("draw", "--spec", "resolved", "--format", "dot", "--out", taken)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"Invalid value for '--out': {taken} is a file; expected a folder" in result.output


def test_draw_out_under_a_missing_folder_is_one_line_and_exit_2(tmp_path):
    result = run("draw", "--spec", "resolved", "--format", "dot", "--out", tmp_path / "missing" / "sub")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "does not exist" in result.output and not (tmp_path / "missing").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_output_to_a_full_device_is_one_line_and_exit_4():
    with open("/dev/full", "w") as full, spawned("check", "--queues", "1", "--json", stdout=full) as process:
        status, _, err = finish(process)
    assert status == 4
    assert without_progress(err) == ["error: cannot write the output: No space left on device"]


def test_a_reader_that_goes_away_is_one_line_and_exit_4():
    with spawned("check", "--spec", "proposal", "--queues", "1-2", stdout=subprocess.PIPE) as process:
        process.stdout.close()  # like `| head -0`
        err = process.stderr.read()
        status = process.wait()
    assert status == 4
    assert "the reader closed the pipe" in err and "Traceback" not in err


def test_scale_config_that_is_not_text_is_one_line_and_exit_2(tmp_path):
    binary = tmp_path / "config.toml"
    binary.write_bytes(bytes(range(256)))
    result = run("scale", "--config", binary, "--queues", "1")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith(f"error: {binary}: not a text file")
