"""The Promela export: SPIN, run on the generated model, reaches the same
states and gives the same verdicts as the project's explorer."""

from __future__ import annotations

import shutil

import pytest

from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.scale.promela import SPIN_OFFSET, exported_checks, spin_transitions, to_promela
from virtio_notifier_spec.scale.spin import QUICK_CFLAGS, available, run_spin
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

needs_spin = pytest.mark.skipif(not available(), reason="spin or a C compiler is not installed (make deps)")


def test_the_model_is_generated_from_the_records_for_every_queue_count():
    spec = load_spec("resolved")
    for n in (1, 3, 64):
        text = to_promela(spec, n)
        assert f"#define NQ {n}" in text
        # one d_step per event instance: the explorer's instances, no more, no fewer
        assert text.count(":: d_step {") == len(Machine(spec, n).instances)
    assert "load_is_history_free" not in exported_checks(spec)


@needs_spin
@pytest.mark.parametrize(("name", "n"), [("resolved", 1), ("resolved", 3), ("proposal", 2), ("registered", 2)])
def test_spin_reaches_the_same_states_and_verdicts_as_the_explorer(tmp_path, name, n):
    spec = load_spec(name)
    ours = explore(spec, n)
    spin = run_spin(to_promela(spec, n), tmp_path, timeout=120, cflags=QUICK_CFLAGS)
    assert spin.finished, spin.reason
    assert spin.states == ours.states + SPIN_OFFSET
    assert spin.transitions == spin_transitions(ours.transitions, len(Machine(spec, n).initial_states()))
    failing = {k for k in ours.counterexamples if k in exported_checks(spec)}
    assert set(spin.violated) == failing


@needs_spin
def test_spin_finds_the_broken_limit_rule_the_explorer_finds(tmp_path):
    shutil.copy(SPEC_DIR / "common.toml", tmp_path / "common.toml")
    text = (SPEC_DIR / "resolved.toml").read_text()
    old = 'guard = "value == driver_ok and running and not limited and assign_ok"'
    assert old in text
    (tmp_path / "broken.toml").write_text(text.replace(old, 'guard = "value == driver_ok and running and assign_ok"'))
    spec = load_spec(tmp_path / "broken.toml")
    spin = run_spin(to_promela(spec, 1), tmp_path / "spin", timeout=120, cflags=QUICK_CFLAGS)
    assert spin.finished, spin.reason
    assert "limited_host_no_userspace_ioeventfd" in spin.violated
    assert spin.states == explore(spec, 1).states + SPIN_OFFSET
