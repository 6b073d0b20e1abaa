"""Several devices: KVM answers each ioeventfd on its own, and what holds a
slot is the table's [slots] declaration, never a list of names in the
checker. Each test here failed before both were built."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.scale.answers import Answers
from virtio_notifier_spec.scale.config import load_config
from virtio_notifier_spec.scale.system import SysStep, System, explore_system
from virtio_notifier_spec.spec.errors import ExpressionError, SchemaError
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

LIMIT_RULE = 'guard = "value == driver_ok and running and not limited and assign_ok"'
SLOTS = """[slots]
holders = ["our_fd", "vhost_fd"]
limit = "limited"
size = 6
answer = "assign_ok"
vhost = [
    { event = "set_host_notifier", take = "assign" },
    { event = "vhost_start", take = "true" },
    { event = "vhost_stop" },
]
"""


def _table(tmp_path: Path, *, limit_rule: bool = True, rename: bool = False, slots: str | None = SLOTS) -> Path:
    """A copy of resolved: without b's `not limited`, with the slot variables
    renamed, and with another (or no) [slots] declaration."""
    common = (SPEC_DIR / "common.toml").read_text()
    assert SLOTS in common
    common = common.replace(SLOTS, slots or "")
    variant = (SPEC_DIR / "resolved.toml").read_text()
    if not limit_rule:
        variant = variant.replace(LIMIT_RULE, LIMIT_RULE.replace(" and not limited", ""))
    if rename:
        for old, new in (("our_fd", "user_eventfd"), ("vhost_fd", "kernel_eventfd")):
            common, variant = common.replace(old, new), variant.replace(old, new)
    (tmp_path / "common.toml").write_text(common)
    (tmp_path / "table.toml").write_text(variant)
    return tmp_path / "table.toml"


def _config(tmp_path: Path, blk_queues: int, slots: int = 2) -> Path:
    """vhost serves net0 (one queue); blk0 is served in userspace."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'table = "table.toml"\n[host]\nslots = {slots}\n'
        '[[devices]]\nname = "net0"\nqueues = 1\nvhost = true\n'
        f'[[devices]]\nname = "blk0"\nqueues = {blk_queues}\n'
    )
    return path


def _replays(system: System, cx) -> None:
    state = cx.start
    assert System.canonical(state) in system.starts()
    for step in cx.steps:
        assert system.admits(state, step), str(step)
        state = step.post


@pytest.mark.parametrize("blk_queues", [2, 3])
def test_kvm_answers_each_ioeventfd_so_a_device_with_more_queues_than_free_slots_still_starves_vhost(
    tmp_path, blk_queues
):
    # One answer for the whole status write let blk0 take both slots with 2
    # queues, but none with 3 (3 > 2 refused as a whole): starvation hid.
    _table(tmp_path, limit_rule=False)
    config = load_config(_config(tmp_path, blk_queues))
    result = explore_system(config)
    cx = result.counterexamples["vhost_never_starved"]
    system = System(config)
    _replays(system, cx)
    assign, take = cx.steps
    assert assign.device == "blk0" and sum(a for _, _, a in assign.answers) == 2
    assert take.event == "set_host_notifier" and system.used(take.post) > config.slots


def test_the_refusal_patterns_are_explored_once_per_class_of_identical_queues():
    machine = Machine(load_spec("resolved"), 3)
    start = next(s for s in machine.initial_states() if not s.device[0])  # an unlimited host
    inst = machine.instance("set_status", value="driver_ok", assign_ok=True)
    found = Answers(machine, "assign_ok").outcomes(start, inst)
    # three identical queues: 0, 1, 2 or 3 granted (not 2**3 patterns)
    assert sorted(len([a for _, a in o.answers if a]) for o in found) == [0, 1, 2, 3]
    # a queue the answer does not concern (a reset) has one outcome, and no answer
    reset = Answers(machine, "assign_ok").outcomes(start, machine.instance("reset"))
    assert len(reset) == 1 and reset[0].answers == ()


def test_admits_rejects_a_step_kvm_could_not_have_taken(tmp_path):
    _table(tmp_path, limit_rule=False)
    config = load_config(_config(tmp_path, 3))
    system = System(config)
    start = system.starts()[0]
    step, fits = next((s, f) for s, f in system.successors(start) if any(not a for _, _, a in s.answers))
    assert fits and system.admits(start, step)
    granted = tuple((d, q, True) for d, q, _ in step.answers)  # a refused queue that says it was granted
    assert not system.admits(start, SysStep(step.device, step.event, step.args, step.fired, step.post, granted))
    every_granted = next(s for s, _ in system.successors(start) if sum(a for _, _, a in s.answers) == 2)
    overfull = SysStep(
        every_granted.device,
        every_granted.event,
        every_granted.args,
        every_granted.fired,
        every_granted.post,
        (*((d, q, True) for d, q, _ in every_granted.answers), ("blk0", 2, True)),
    )
    assert not system.admits(start, overfull)


def test_slot_holders_are_the_declared_variables_whatever_their_names(tmp_path):
    # Renamed variables counted zero slots when the checker looked for our_fd and vhost_fd.
    declared = SLOTS.replace("our_fd", "user_eventfd").replace("vhost_fd", "kernel_eventfd")
    _table(tmp_path, limit_rule=False, rename=True, slots=declared)
    result = explore_system(load_config(_config(tmp_path, 2)))
    assert "vhost_never_starved" in result.counterexamples


def test_a_configuration_whose_table_declares_no_slots_is_refused(tmp_path):
    _table(tmp_path, limit_rule=False, rename=True, slots=None)
    path = _config(tmp_path, 2)
    with pytest.raises(SchemaError) as caught:
        explore_system(load_config(path))
    assert caught.value.file == str(path) and caught.value.line == 1 and caught.value.field == "table"
    assert "declares no [slots]" in caught.value.message
    run = CliRunner().invoke(cli, ["scale", "--queues", "2", "--config", str(path)])
    assert run.exit_code == 2 and "declares no [slots]" in run.output and "Traceback" not in run.output


@pytest.mark.parametrize(
    ("slots", "kind", "words"),
    [
        (SLOTS.replace('"our_fd", ', '"status", '), SchemaError, "not a per-queue bool variable"),
        (SLOTS.replace('"our_fd", "vhost_fd"', ""), SchemaError, "non-empty list"),
        (SLOTS.replace('limit = "limited"', 'limit = "status"'), SchemaError, "host = true"),
        (SLOTS.replace('answer = "assign_ok"', 'answer = "value"'), SchemaError, "bool event parameter"),
        (SLOTS.replace('event = "set_host_notifier"', 'event = "take"'), SchemaError, "expected { event"),
        (SLOTS.replace('take = "assign"', 'take = "assign and"'), ExpressionError, "take of set_host_notifier"),
        (SLOTS + "colour = 1\n", SchemaError, "unknown field"),
    ],
)
def test_a_bad_slots_declaration_names_the_file_line_and_field(tmp_path, slots, kind, words):
    path = _table(tmp_path, slots=slots)
    with pytest.raises(kind) as caught:
        load_spec(path)
    assert words in caught.value.message, caught.value.message
    assert caught.value.file == str(tmp_path / "common.toml") and caught.value.line is not None
    assert caught.value.field.startswith("slots")


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (
            'effects = ["status := value"]',
            'effects = ["status := value"]\nwhen = "assign_ok"',
            "reads assign_ok, KVM's",
        ),
        ('take = "assign"', 'take = "assign and assign_ok"', "vhost's rows do not ask KVM"),
    ],
)
def test_a_table_that_reads_kvms_answer_outside_a_row_is_refused_for_several_devices(tmp_path, old, new, words):
    path = _table(tmp_path)
    common = tmp_path / "common.toml"
    common.write_text(common.read_text().replace(old, new))
    with pytest.raises(SchemaError, match=words) as caught:
        System(load_config(_config(tmp_path, 1)), load_spec(path))
    assert caught.value.file == str(common) and caught.value.line is not None


def test_the_shipped_table_declares_its_slots():
    slots = load_spec("resolved").slots
    assert slots.holders == ("our_fd", "vhost_fd") and slots.answer == "assign_ok"
