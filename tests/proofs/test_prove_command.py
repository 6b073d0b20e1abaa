"""The ``prove`` command's exit codes, ``--timeout``, ``--quiet`` and Ctrl-C."""

from __future__ import annotations

import json

import pytest
import z3
from click.testing import CliRunner
from conftest import Edit

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.proofs.budget import Budget, OutOfTime, check


def test_timeout_leaves_the_rest_unknown_and_exits_3():
    result = CliRunner().invoke(cli, ["prove", "--spec", "resolved", "--timeout", "0.000001", "--json"])
    assert result.exit_code == 3, result.output
    document = json.loads(result.stdout)
    assert {p["verdict"] for p in document["results"]} == {"unknown"}
    assert document["results"][0]["message"] == "stopped at --timeout"
    assert document["stopped"] == "stopped at --timeout"


def test_timeout_must_be_positive():
    result = CliRunner().invoke(cli, ["prove", "--timeout", "0"])
    assert result.exit_code == 2 and "Traceback" not in result.output


#: A property whose queue quantifier is not universal: outside the support
#: fragment, so nothing decides for every N what induction leaves open.
SOME_QUEUE = """
[[properties]]
name = "some_queue"
kind = "invariant"
expr = "exists q: true"
rationale = "There is a queue."
"""


def test_an_undecided_proof_exits_3(broken_path):
    path = broken_path("resolved", Edit("handler_matches_ioeventfd", None, file="common"), extra=SOME_QUEUE)
    result = CliRunner().invoke(cli, ["prove", "--spec", str(path), "--quiet"])
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())  # off a terminal, text wraps at 100 columns
    assert "no_lost_kick UNKNOWN: NOT INDUCTIVE: not preserved by" in text
    assert "no violation found by the orbit search for N = 1..3" in text


def test_quiet_prints_nothing_when_everything_is_proved():
    result = CliRunner().invoke(cli, ["prove", "--spec", "resolved", "--env", "unrestricted", "--quiet"])
    assert result.exit_code == 0 and result.output == ""
    # the default environment does not issue vhost_start and vhost_stop: their rows are not proved live
    default = CliRunner().invoke(cli, ["prove", "--spec", "resolved", "--quiet"])
    text = " ".join(default.output.split())
    assert default.exit_code == 0 and "no_dead_transition NOT APPLICABLE: not asked of the rows it never runs" in text


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch):
    from virtio_notifier_spec.cli import prove as command

    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "prove_table", interrupted)
    result = CliRunner().invoke(cli, ["prove", "--spec", "resolved"])
    assert result.exit_code == 130
    assert result.output.strip() == "prove: interrupted"


def test_a_disagreement_of_z3_and_the_search_is_an_internal_error(monkeypatch):
    from virtio_notifier_spec.cli import prove as command
    from virtio_notifier_spec.proofs.induction import Disagreement

    def contradicted(*_, **__):
        raise Disagreement("no_lost_kick is proved for every N, but ...")

    monkeypatch.setattr(command, "prove_table", contradicted)
    result = CliRunner().invoke(cli, ["prove", "--spec", "resolved"])
    assert result.exit_code == 4
    assert result.output.strip().startswith("internal error: no_lost_kick is proved")


class _Solver:
    """Z3's answers to Ctrl-C and to its own timeout, without waiting for them."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def set(self, *_):
        pass

    def check(self, *_):
        return z3.unknown

    def reason_unknown(self) -> str:
        return self.reason


def test_z3_answering_unknown_to_ctrl_c_is_an_interrupt():
    # Z3 catches SIGINT during a check and answers unknown
    with pytest.raises(KeyboardInterrupt):
        check(_Solver("interrupted from keyboard"))


def test_z3_answering_unknown_at_the_deadline_is_out_of_time():
    with pytest.raises(OutOfTime):
        check(_Solver("timeout"), budget=Budget(60.0))
    assert check(_Solver("incomplete quantifiers")) == z3.unknown  # the solver gave up: not a timeout
