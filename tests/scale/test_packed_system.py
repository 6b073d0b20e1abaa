"""The packed system engine answers what the system engine answers, byte for
byte: states, transitions, depth, verdicts and counterexamples (each step,
the rows, KVM's answers, the message), on every configuration the system
tests use, on every broken table, in every environment and on random
configurations; and the dispatcher falls back, or refuses, where the packed
states do not fit."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import _apply
from hypothesis import given, settings
from hypothesis import strategies as st

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.scale import system_search
from virtio_notifier_spec.scale.answers import Answers
from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
from virtio_notifier_spec.scale.device_tables import TabledAnswers, answers_for, device_tables
from virtio_notifier_spec.scale.packed_system import explore_system_packed
from virtio_notifier_spec.scale.system import System, explore_system
from virtio_notifier_spec.scale.system_search import NotPackedSystem, explore_config
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

LIMIT_RULE = 'guard = "value == driver_ok and running and not limited and assign_ok"'
ENVS = ("adversarial", "qemu", "kvmtool", "rust_vmm", "unrestricted")


def _tables(folder: Path) -> dict[str, Path]:
    """resolved, and two copies broken in what the slots are about."""
    shutil.copy(SPEC_DIR / "common.toml", folder / "common.toml")
    text = (SPEC_DIR / "resolved.toml").read_text()
    assert LIMIT_RULE in text
    found = {"resolved": SPEC_DIR / "resolved.toml", "proposal": SPEC_DIR / "proposal.toml"}
    for name, guard in (
        ("no_limit_rule", LIMIT_RULE.replace(" and not limited", "")),  # userspace takes vhost's slots
        ("no_kvm", 'guard = "value == driver_ok and running"'),  # assigns without asking KVM
    ):
        (folder / f"{name}.toml").write_text(text.replace(LIMIT_RULE, guard))
        found[name] = folder / f"{name}.toml"
    return found


def _config(folder: Path, devices: list[tuple[str, int, bool]], slots: int | None, name: str = "config") -> Path:
    lines = ['table = "resolved"']
    if slots is not None:
        lines += ["[host]", f"slots = {slots}"]
    for device, queues, vhost in devices:
        lines += ["[[devices]]", f'name = "{device}"', f"queues = {queues}", f"vhost = {str(vhost).lower()}"]
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_same(config, spec=None, **limits) -> None:
    """The two engines' results agree in every field but the time, and so
    does every counterexample's text."""
    general = explore_system(config, spec=spec, **limits)
    packed = explore_system_packed(config, spec=spec, **limits)
    assert packed.engine == "packed"
    got = (packed.states, packed.transitions, packed.depth, packed.partial, packed.checks)
    assert got == (general.states, general.transitions, general.depth, general.partial, general.checks)
    assert list(packed.counterexamples) == list(general.counterexamples)
    system = System(config, spec)
    for name, expected in general.counterexamples.items():
        cx = packed.counterexamples[name]
        assert cx == expected, name
        assert cx.format(system) == expected.format(system)


SMALL = [("net0", 1, True), ("blk0", 2, False)]


@pytest.mark.parametrize("table", ["resolved", "no_limit_rule", "no_kvm"])
@pytest.mark.parametrize("slots", [None, 2, 3])
@pytest.mark.parametrize("blk_queues", [2, 3])
def test_the_configurations_of_the_system_tests_agree(tmp_path, table, slots, blk_queues):
    spec = load_spec(_tables(tmp_path)[table])
    config = load_config(_config(tmp_path, [("net0", 1, True), ("blk0", blk_queues, False)], slots))
    assert_same(config, spec)


def test_the_three_device_configuration_agrees_and_stops_on_the_same_step():
    config = load_config(CONFIG_DIR / "three_devices.toml")
    assert_same(config)
    for limit in (1, 2, 50, 1000):
        assert_same(config, max_states=limit)
    for bound in (0, 1, 4, 20):
        assert_same(config, depth=bound)


@pytest.mark.parametrize("table", ["no_limit_rule", "no_kvm"])
@pytest.mark.parametrize("slots", [3, 4])
def test_devices_with_two_notify_addresses_weigh_two_slots_per_queue(tmp_path, table, slots):
    """A device with ``addresses = 2`` holds two ioeventfds per queue: the
    device tables weigh its slots so (counted once per queue, the packed
    engine would admit what the host refuses, and this fails)."""
    spec = load_spec(_tables(tmp_path)[table])
    path = _config(tmp_path, [("net0", 1, True), ("blk0", 2, False)], slots)
    path.write_text(path.read_text() + "addresses = 2\n")
    config = load_config(path)
    assert config.devices[1].addresses == 2
    assert_same(config, spec)


def test_a_failing_configuration_stopped_early_keeps_what_the_system_engine_found(tmp_path):
    spec = load_spec(_tables(tmp_path)["no_kvm"])
    config = load_config(_config(tmp_path, SMALL, 2))
    for limit in (3, 10, 40):
        assert_same(config, spec, max_states=limit)
    for bound in (0, 1, 2, 3):
        assert_same(config, spec, depth=bound)


def _breaks():
    """The broken tables of tests/model/test_table_mutations.py."""
    path = Path(__file__).parents[1] / "model" / "test_table_mutations.py"
    found = importlib.util.spec_from_file_location("table_mutations", path)
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return sorted(module.BREAKS.items())


@pytest.mark.parametrize(("prop", "broken"), _breaks(), ids=[p for p, _ in _breaks()])
def test_every_broken_table_fails_alike_on_both_engines(tmp_path, prop, broken):
    _, edits, _ = broken
    shutil.copy(SPEC_DIR / "common.toml", tmp_path / "common.toml")
    shutil.copy(SPEC_DIR / "resolved.toml", tmp_path / "resolved.toml")
    for edit in edits:
        target = tmp_path / ("common.toml" if edit.file == "common" else "resolved.toml")
        target.write_text(_apply(target.read_text(), edit))
    spec = load_spec(tmp_path / "resolved.toml")
    config = load_config(_config(tmp_path, SMALL, 2))
    assert_same(config, spec)


@pytest.mark.parametrize("env", ENVS)
def test_every_environment_agrees(tmp_path, env):
    spec = load_spec(_tables(tmp_path)["no_limit_rule"], env=env)
    config = load_config(_config(tmp_path, [("net0", 2, True), ("blk0", 1, False)], 2))
    assert_same(config, spec)


DEVICES = st.lists(st.tuples(st.integers(1, 2), st.booleans()), min_size=1, max_size=3)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    devices=DEVICES,
    slots=st.one_of(st.none(), st.integers(1, 4)),
    table=st.sampled_from(["resolved", "proposal", "no_limit_rule", "no_kvm"]),
    env=st.sampled_from(ENVS),
    # vhost starts per device: three vhost devices in `unrestricted` reach far more states than a test
    # may search, so every draw stops by 2,000 (a small configuration is searched whole below that)
    limit=st.integers(1, 2000),
)
def test_random_configurations_agree(tmp_path_factory, devices, slots, table, env, limit):
    folder = tmp_path_factory.mktemp("random")
    spec = load_spec(_tables(folder)[table], env=env)
    named = [(f"dev{i}", queues, vhost) for i, (queues, vhost) in enumerate(devices)]
    config = load_config(_config(folder, named, slots))
    assert_same(config, spec, max_states=limit)


def test_the_tables_are_the_system_engines_answers():
    """Each outcome recorded for a device is one the system engine yields from that device's state."""
    system = System(load_config(CONFIG_DIR / "three_devices.toml"))
    tables = device_tables(system)
    kind = tables.kinds[0]
    assert sum(kind.own.count[:, 0]) > 0
    state = kind.states[0]
    machine, answers = system.machines[0], system.answers[0]
    for m, inst in enumerate(kind.moves):
        count = int(kind.own.count[m, 0])
        if count:
            posts = [kind.states[int(p)] for p in kind.own.post[kind.own.start[m, 0] : kind.own.start[m, 0] + count]]
            expected = [System.canonical((o.post,))[0] for o in answers.outcomes(state, inst)]
            assert posts == expected
        else:
            target = inst.target
            assert not machine.enabled(state, inst) or (target and state.queues[target] == state.queues[target - 1])


def test_a_forced_packed_search_that_does_not_fit_is_refused_and_auto_falls_back(monkeypatch):
    config = load_config(CONFIG_DIR / "three_devices.toml")
    real = system_search.device_tables
    monkeypatch.setattr(system_search, "device_tables", lambda system: real(system, limit=10))
    with pytest.raises(NotPackedSystem, match="reaches more than 10 states"):
        explore_config(config, engine="packed")
    fallback = explore_config(config)
    assert fallback.engine == "general" and fallback.states == 1944
    assert any("reaches more than 10 states" in note for note in fallback.notes)


def test_cli_scale_says_the_same_with_either_engine(tmp_path):
    table = _tables(tmp_path)["no_limit_rule"]
    path = _config(tmp_path, SMALL, 2)
    path.write_text(path.read_text().replace('table = "resolved"', f'table = "{table.name}"'))
    runner = CliRunner()
    texts = {}
    for engine in ("packed", "general"):
        run = runner.invoke(cli, ["scale", "--queues", "2", "--quiet", "--config", str(path), "--engine", engine])
        assert run.exit_code == 1, run.output
        lines = run.output.splitlines()
        texts[engine] = lines[max(i for i, line in enumerate(lines) if line.startswith("└")) + 1 :]  # after the table
    assert texts["packed"] == texts["general"] and "vhost_never_starved" in "\n".join(texts["packed"])


@pytest.mark.parametrize("env", ENVS)
def test_the_tabled_answers_are_the_machines_answers(tmp_path, env):
    """Read from the step tables or stepped on the machine, every state and
    move of every kind has the same options and outcomes."""
    spec = load_spec(_tables(tmp_path)["no_limit_rule"], env=env)
    config = load_config(_config(tmp_path, [("net0", 2, True), ("blk0", 3, False)], 3))
    system = System(config, spec)
    tables = device_tables(system)
    for k, kind in enumerate(tables.kinds):
        device = tables.kind_of.index(k)
        tabled = answers_for(system, device)
        assert isinstance(tabled, TabledAnswers)
        stepped = Answers(system.machines[device], system.answer)
        for state in kind.states:
            for inst in system.machines[device].instances:
                if system.machines[device].enabled(state, inst):
                    assert tabled.options(state, inst) == stepped.options(state, inst)
                    assert tabled.outcomes(state, inst) == stepped.outcomes(state, inst)


def test_a_cell_where_two_rows_fire_sends_its_kind_back_to_the_machine(monkeypatch):
    """The step tables' cells are asked lazily: a cell that overlaps raises
    Overlap in the middle of a kind's tables; that kind is then built by
    stepping the machine, with the same answers."""
    from virtio_notifier_spec.model.steptable import Overlap, StepCells
    from virtio_notifier_spec.scale import device_tables as tables_module

    config = load_config(CONFIG_DIR / "three_devices.toml")
    expected = device_tables(System(config))
    asked = []

    def overlapping(self, cls, device, single):
        asked.append(cls)
        raise Overlap("two rows fire")

    monkeypatch.setattr(StepCells, "cell", overlapping)
    tables_module.step_cells.cache_clear()
    try:
        got = device_tables(System(config))
    finally:
        tables_module.step_cells.cache_clear()
    assert asked
    for a, b in zip(got.kinds, expected.kinds, strict=True):
        assert a.states == b.states
        for outcomes in ("own", "vm"):
            x, y = getattr(a, outcomes), getattr(b, outcomes)
            for field in ("start", "count", "post", "granted", "delta", "bad"):
                assert (getattr(x, field) == getattr(y, field)).all(), (outcomes, field)


def test_two_threads_find_what_one_finds(tmp_path):
    spec = load_spec(_tables(tmp_path)["no_kvm"])
    config = load_config(_config(tmp_path, [("net0", 2, True), ("blk0", 2, False), ("blk1", 1, False)], 3))
    for limit in (None, 40):
        one = explore_system_packed(config, spec=spec, max_states=limit)
        two = explore_system_packed(config, spec=spec, max_states=limit, workers=2)
        assert (two.states, two.transitions, two.depth, two.partial) == (
            one.states,
            one.transitions,
            one.depth,
            one.partial,
        )
        assert two.counterexamples == one.counterexamples
