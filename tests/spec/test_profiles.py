"""Environment profiles: data next to the table, applied by the loader, seen by every tool.

The default (`adversarial`) leaves today's results unchanged; `qemu` restricts
the environment as QEMU's callers do; a profile that names nothing, or a name
that is no profile, is one located error (exit 2)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import Edit

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.scale.promela import to_promela
from virtio_notifier_spec.scale.search import explore as explore_reduced
from virtio_notifier_spec.spec.errors import ExpressionError, SpecError
from virtio_notifier_spec.spec.load import load_spec
from virtio_notifier_spec.spec.profile import ProfileError, inapplicable
from virtio_notifier_spec.spec.text import to_text

QEMU_PROFILE = """
[[profiles]]
name = "mine"
doc = "a test environment"
"""


def events_of(spec) -> list[str]:
    return [e.name for e in spec.events]


def test_the_default_environment_keeps_todays_results():
    # the counts and verdicts the table had before profiles (tests/model/test_verdicts.py pins them too)
    resolved, proposal = load_spec("resolved"), load_spec("proposal")
    assert resolved.env == "adversarial" and not resolved.restricted
    assert [explore(resolved, n).states for n in (1, 2)] == [38, 124]
    assert [explore(proposal, n).states for n in (1, 2)] == [68, 424]
    assert "vhost_start" not in events_of(resolved) and "set_host_notifier" in events_of(resolved)


def test_qemu_removes_the_single_queue_take_and_restricts_the_callers():
    spec = load_spec("resolved", env="qemu")
    assert spec.restricted
    assert "set_host_notifier" not in events_of(spec)
    assert not [t for t in spec.transitions if t.event == "set_host_notifier"]
    # QEMU's order: ours stop before vhost (set_status, reset, vm_stop, then vhost_stop); vhost starts before ours
    assert to_text(spec.event("vhost_start").when) == "status == driver_ok and not vhost_on"
    assert to_text(spec.event("set_status").when) == "running and (not vhost_on or status == driver_ok)"
    # the event's own when, and the profile's
    assert to_text(spec.event("vm_stop").when) == "running and (not vhost_on or status == driver_ok)"


@pytest.mark.parametrize("env", ["qemu", "kvmtool", "rust_vmm", "unrestricted"])
def test_resolved_holds_in_every_environment(env):
    result = explore(load_spec("resolved", env=env), 2)
    assert result.counterexamples == {}
    assert result.ok


def test_a_restricted_environment_reports_unreachable_rows_without_failing():
    result = explore(load_spec("resolved", env="qemu"), 2)
    assert "load_leaves_queue from offlimits" in result.dead  # QEMU loads into a device whose vhost stopped
    assert "vhost_stop_release_to_pio" not in result.dead  # the status write stops ours, then vhost gives back
    assert "no_dead_transition" not in result.counterexamples


def test_the_unrestricted_table_fires_every_row_of_both_variants():
    for variant in ("resolved", "proposal"):
        result = explore(load_spec(variant, env="unrestricted"), 1)
        assert result.dead == (), variant


def test_narrowed_initial_values_and_inapplicable_properties():
    spec = load_spec("resolved", env="kvmtool")
    assert spec.variable("limited").init == (False, True)
    props = {p.name: p for p in spec.properties}
    assert inapplicable(spec, props["load_is_history_free"]) is not None
    assert "guards load" in inapplicable(spec, props["stopped_vm_holds_none_of_ours"])
    assert inapplicable(spec, props["no_lost_kick"]) is None
    rust = load_spec("resolved", env="rust_vmm")
    assert rust.variable("limited").init == (False,)
    assert inapplicable(rust, next(p for p in rust.properties if p.name == "load_is_history_free")) is None


def test_symmetry_reductions_and_the_promela_export_see_the_profile():
    spec = load_spec("resolved", env="qemu")
    support = explore_reduced(spec, 64, symmetry=True)
    assert support.ok and support.reduction == "support"
    orbits = explore_reduced(spec, 3, symmetry=True)
    assert orbits.ok and orbits.concrete_states == explore(spec, 3).states
    text = to_promela(spec, 2)
    assert "vhost_start" in text and "set_host_notifier" not in text


def test_unknown_environment_is_refused():
    with pytest.raises(ProfileError, match=r"unknown environment 'qemuu'.*qemu"):
        load_spec("resolved", env="qemuu")


@pytest.mark.parametrize(
    ("rule", "error", "says"),
    [
        ('[[profiles.events]]\nevent = "kik"\nremove = true\nwhy = "x"', ProfileError, "unknown event 'kik'"),
        ('[[profiles.events]]\nevent = "kick"\nwhen = "runing"\nwhy = "x"', ExpressionError, "unknown name 'runing'"),
        (
            '[[profiles.events]]\nevent = "kick"\nremove = true\nwhen = "running"\nwhy = "x"',
            SpecError,
            "one of the two",
        ),
        ('[[profiles.variables]]\nvariable = "running"\ninit = [false]\nwhy = "x"', ProfileError, "initial values"),
        ('[[profiles.events]]\nevent = "kick"\nremove = true', SpecError, "why"),
    ],
    ids=["unknown-event", "bad-when", "remove-and-when", "init-not-initial", "no-why"],
)
def test_a_bad_profile_is_one_located_error(broken_path, rule, error, says):
    path = broken_path("resolved", extra=QEMU_PROFILE + rule)
    with pytest.raises(error) as caught:
        load_spec(path)
    assert says in str(caught.value)
    assert str(path) in str(caught.value) and caught.value.line is not None


def test_a_profile_declared_in_a_variant_file_is_usable(broken_path):
    path = broken_path("resolved", extra=QEMU_PROFILE + '[[profiles.events]]\nevent = "load"\nremove = true\nwhy = "x"')
    spec = load_spec(path, env="mine")
    assert "load" not in events_of(spec) and spec.restricted


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_env_on_the_command_line():
    assert run("check", "--queues", "2", "--quiet", "--env", "qemu").exit_code == 0
    bad = run("check", "--queues", "1", "--quiet", "--env", "nope")
    assert bad.exit_code == 2 and "unknown environment 'nope'" in bad.output
    assert "Traceback" not in bad.output
    shown = run("show", "--env", "qemu")
    assert shown.exit_code == 0 and "vhost_start" in shown.output
    assert "set_host_notifier: removed" in shown.output  # the conditions, then no row of it
    assert "set_host_notifier " not in shown.output.split("set_host_notifier: removed")[1]


@pytest.mark.parametrize("command", ["check", "verify", "prove", "scale", "draw", "mutants", "show"])
def test_every_exploring_command_takes_env(command):
    assert "--env NAME" in run(command, "--help").output


@pytest.mark.parametrize("command", ["check", "drive", "schema"])
def test_every_oracle_command_takes_env(command):
    assert "--env NAME" in run("oracle", command, "--help").output


@pytest.mark.parametrize("env", ["qemu", "unrestricted"])
def test_resolved_is_proved_for_every_n_in_the_environment(env):
    from virtio_notifier_spec.proofs.prove import prove

    report = prove(load_spec("resolved", env=env))
    assert report.ok, [p.format(report.spec) for p in report.proofs if not p.proved]
    properties = [p for p in report.proofs if p.kind != "hygiene"]
    assert all(p.proved for p in properties)


# -- what an environment leaves out, every verdict says --------------------------------

#: vhost_stop gives a queue back and keeps vhost's ioeventfd: a leak that only
#: an environment issuing vhost_stop can show (the default one does not).
LEAKY_STOP = Edit(
    "vhost_stop_release_to_assigned", "effects", '["pending := false", "our_fd := true", "handler := ours"]'
)

#: QEMU 2011's release: vhost_stop gives the queues back to the pio path and never restarts ours.
NEVER_RESTARTS = """
[[properties]]
name = "fast_path_after_vhost_stop"
kind = "leads_to"
events = ["vhost_stop"]
from = "vhost_fd and not vhost_fd' and assign_ok and status == driver_ok and running and not limited"
to = "(our_fd and handler == ours) or vhost_fd or status != driver_ok or not running"
rationale = "When vhost stops, the fast path comes back by itself."
"""


def test_rows_of_events_the_environment_does_not_issue_count_as_not_fired(broken_path):
    # once: "25/25 rows fired", ok, and no_dead_transition holds, for a table whose vhost_stop leaks
    path = broken_path("resolved", LEAKY_STOP)
    done = run("check", "--spec", str(path), "--queues", "1-2")
    text = " ".join(done.output.split())
    assert done.exit_code == 0, done.output
    assert "25/34" in done.output and "25/25" not in done.output
    assert "the adversarial environment does not issue vhost_start, vhost_stop: their 9 rows never run" in text
    assert "no_dead_transition not applicable" in text and "not issued" in done.output
    document = json.loads(run("check", "--spec", str(path), "--queues", "1", "--json").output)["results"][0]
    assert document["rows"] == 34 and len(document["not_issued"]["rows"]) == 9
    assert document["verdicts"]["no_dead_transition"] == "not applicable"
    assert run("check", "--spec", str(path), "--queues", "1", "--env", "qemu").exit_code == 1  # the leak, shown


def test_a_liveness_property_about_an_event_the_environment_does_not_issue_is_vacuous(broken_path):
    # once it "held" in the default environment, which never issues vhost_stop
    path = broken_path(
        "resolved",
        Edit("vhost_stop_release_to_assigned", "to", '"deassigned"'),
        Edit(
            "vhost_stop_release_to_assigned", "effects", '["vhost_fd := false", "pending := false", "handler := none"]'
        ),
        extra=NEVER_RESTARTS,
    )
    args = ("liveness", "--spec", str(path), "--queues", "1", "--property", "fast_path_after_vhost_stop")
    default = run(*args)
    assert default.exit_code == 3, default.output
    assert "vacuous" in default.output and "holds" not in default.output
    assert "its premise is a step of vhost_stop, which the adversarial environment does not issue" in " ".join(
        default.output.split()
    )
    assert run(*args, "--env", "qemu").exit_code == 1  # where vhost_stop happens, it fails
    from virtio_notifier_spec.model.liveness import check_liveness

    assert check_liveness(load_spec(path), 1).verdict("fast_path_after_vhost_stop") == "vacuous"


def test_a_step_property_whose_events_are_not_issued_is_vacuous_not_a_pass():
    done = run("check", "--queues", "1", "--env", "rust_vmm", "--json")
    verdicts = json.loads(done.output)["results"][0]["verdicts"]
    assert done.exit_code == 3
    assert verdicts["reset_disarms_ours"] == verdicts["fast_path_after_release"] == "vacuous"  # no reset, no release
    assert verdicts["load_is_history_free"] == "holds"  # rust_vmm restores snapshots: it issues load
    assert run("check", "--queues", "1", "--env", "rust_vmm", "--property", "no_lost_kick").exit_code == 0
