"""The Firecracker-style and cloud-hypervisor-style children (examples/vmm/),
each written to the drive protocol only: driven with every field observed
in the right table and environment, they do not fail at ``start``, and
every failure left is a real difference from ``registered``; judged like a
design, they get a verdict per property."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.designs.catalogue import ROOT
from virtio_notifier_spec.designs.child import analyse_child
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.drive import drive
from virtio_notifier_spec.oracle.observation import checkable_fields
from virtio_notifier_spec.oracle.process import ProcessImplementation
from virtio_notifier_spec.oracle.testgen import generate, observed_starts
from virtio_notifier_spec.spec.load import load_spec

CHILDREN = {
    name: [sys.executable, str(ROOT / "examples" / "vmm" / f"{name}.py")]
    for name in ("firecracker", "cloud_hypervisor")
}

# Every failure a full drive finds, by (event, the row the table fires, the first variable that differs): each is
# something the VMM really does (examples/vmm/README.md says why).
DRIVEN = {
    "firecracker": {
        ("vm_stop", "disarm_on_vm_stop", "handler"),  # pause_vm pauses the vCPUs only
        ("load", "load_registers", "handler"),  # a restore activates the device in the paused VM
    },
    "cloud_hypervisor": {
        ("set_status", "disarm_on_driver_ok_lost", "handler"),  # stays activated without DRIVER_OK
    },
}

# A verdict per property that does not hold (every other one holds).
VERDICTS = {
    "firecracker": {"stopped_vm_holds_none_of_ours": "violated", "assigned_is_armed": "violated"},
    "cloud_hypervisor": {"armed_only_when_driver_ok": "violated", "assigned_is_armed": "violated"},
}
NOT_ASKED = {
    "offlimits_never_ours",  # no vhost-user device: nothing is vhost's
    "limited_host_no_userspace_ioeventfd",
    "reset_disarms_ours",
    "ours_only_when_assigned",
    "deassigned_is_unread",
    "fast_path_after_release",
}


def _drive(table: str, env: str, command: list[str]):
    spec = load_spec(table, env=env)
    child = ProcessImplementation(command)
    try:
        starts = observed_starts(Machine(spec, 2), lambda limited: child.start(2, limited))
        suite = generate(spec, 2, walks=4, walk_length=12, seed=0, starts=starts)
        return drive(spec, child, suite, max_failures=None)
    finally:
        child.close()


@pytest.mark.parametrize("name", sorted(CHILDREN))
def test_a_rust_vmm_child_does_not_fail_at_start_and_fails_only_where_it_really_differs(name):
    report = _drive("registered", "rust_vmm", CHILDREN[name])
    checkable = set(checkable_fields(load_spec("registered", env="rust_vmm")))
    assert set(report.observation.observed) == checkable  # every field, at every step the oracle read
    assert not [r for r in report.results if r.failure is not None and not r.failure.events]
    found = {(g.symptom.event, g.symptom.row, g.symptom.variable) for g in report.groups}
    assert found == DRIVEN[name]
    assert all(g.reproduced for g in report.groups)


@pytest.mark.parametrize("name", sorted(CHILDREN))
def test_against_resolved_every_test_fails_at_start(name):
    # what the oracle said before the registered table: the queues are registered at creation
    report = _drive("resolved", "rust_vmm", CHILDREN[name])
    assert report.results and all(r.failure is not None and not r.failure.events for r in report.results)


@pytest.mark.parametrize("name", sorted(CHILDREN))
def test_a_child_gets_a_verdict_per_property(name):
    analysis = analyse_child(CHILDREN[name], "registered", "rust_vmm", queues=2)
    verdicts = {v.name: v.verdict for v in analysis.verdicts}
    spec = load_spec("registered", env="rust_vmm")
    assert set(verdicts) == {p.name for p in (*spec.properties, *spec.liveness)}
    broken = {k: v for k, v in verdicts.items() if v != "holds"}
    assert broken == {**VERDICTS[name], **dict.fromkeys(NOT_ASKED, "n/a")}
    assert not [g for g in analysis.groups if g.symptom.event == "start"]


def test_designs_judges_a_child_from_the_command_line():
    runner = CliRunner()
    args = ["designs", "--spec", "registered", "--env", "rust_vmm", "--", *CHILDREN["cloud_hypervisor"]]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output  # a property is violated: a real verdict, not a refusal
    assert "armed_only_when_driver_ok" in result.output and "violated" in result.output
    assert "set_status / disarm_on_driver_ok_lost / handler" in result.output
    quiet = runner.invoke(cli, ["designs", "--", sys.executable, str(ROOT / "tests" / "oracle" / "child.py"), "bare"])
    assert quiet.exit_code == 2 and "needs every field" in quiet.output


# Symptoms the drive finds only after re-syncing on the first divergence of a test: consequences of
# it (cloud-hypervisor's device stays activated, so DRIVER_OK written again activates nothing).
AFTER_RESYNC = {
    "firecracker": set(),
    "cloud_hypervisor": {
        ("set_status", None, "needs_reset"),
        ("vm_run", "vm_run_leaves_queue", "handler"),
    },
}


@pytest.mark.parametrize("name", sorted(CHILDREN))
def test_oracle_drive_observes_every_field_of_a_child_and_fails_it_nowhere_at_start(name):
    args = ["oracle", "drive", "--spec", "registered", "--env", "rust_vmm", "--queues", "2", "--json", "--quiet"]
    result = CliRunner().invoke(cli, [*args, "--reply-timeout", "120", "--", *CHILDREN[name]])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)["results"][0]
    checkable = set(checkable_fields(load_spec("registered", env="rust_vmm")))
    observed = doc["observation_coverage"]
    assert set(observed["every_step"]) == checkable and not observed["partly"] and not observed["never"]
    assert not observed["properties_unjudged"]  # every property of the table is judged by what it reports
    assert doc["tests"]["not_applicable"] == 0
    groups = {(g["symptom"]["event"], g["symptom"]["row"], g["symptom"]["variable"]): g for g in doc["groups"]}
    assert all(event != "start" for event, _, _ in groups)  # no false failure at start
    assert {k for k, g in groups.items() if g["tests"]} == DRIVEN[name]
    assert {k for k, g in groups.items() if not g["tests"]} == AFTER_RESYNC[name]
    assert all(g["reproduced_from_fresh_start"] for g in doc["groups"])
