"""Every mutant of the reference implementation is caught, with a shortest exposing sequence.

The search (reference/expose.py) runs the table and a device side by side,
breadth first over event sequences, for 1 then 2 queues on both hosts. The
reference must survive it (for these sizes the search visits every
reachable state); every mutant must not.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.cli.mutants import check_reference, hunt
from virtio_notifier_spec.reference.abstraction import new_device
from virtio_notifier_spec.reference.device import Device
from virtio_notifier_spec.reference.expose import expose
from virtio_notifier_spec.reference.mutants import MUTANTS, Mutant, mutant
from virtio_notifier_spec.reference.sidebyside import SideBySide
from virtio_notifier_spec.spec.load import load_spec

SPEC = load_spec("resolved")


@pytest.fixture(scope="module")
def kills():
    return {k.mutant.name: k for k in hunt(SPEC)}


def test_there_are_at_least_twelve_mutants_each_named_once():
    names = [m.name for m in MUTANTS]
    assert len(names) >= 12
    assert len(set(names)) == len(names)
    assert all(m.breaks and issubclass(m.device, Device) and m.device is not Device for m in MUTANTS)


@pytest.mark.parametrize("name", [m.name for m in MUTANTS])
def test_mutant_is_killed_by_a_short_sequence(kills, name):
    exposure = kills[name].search.exposure
    assert exposure is not None, f"{name} survived {kills[name].search.nodes} states"
    assert 1 <= len(exposure.events) <= 6
    assert exposure.problems


def test_reference_survives_the_exhaustive_search_for_one_and_two_queues():
    search = check_reference(SPEC, max_queues=2)
    assert search.exposure is None
    assert search.exhausted


@pytest.mark.parametrize(
    ("name", "sequence", "limited"),
    [
        ("start_ignores_limit", "set_status(value=driver_ok, assign_ok=true)", True),
        ("pio_drops_early_kicks", "kick(queue=0)", False),
        (
            "deassign_keeps_pending",
            "set_status(value=driver_ok, assign_ok=true); kick(queue=0); set_status(value=zero, assign_ok=true)",
            False,
        ),
    ],
)
def test_search_finds_the_shortest_exposing_sequence(kills, name, sequence, limited):
    exposure = kills[name].search.exposure
    assert (exposure.sequence(), exposure.limited, exposure.queues) == (sequence, limited, 1)


@pytest.mark.parametrize("name", [m.name for m in MUTANTS])
def test_exposing_sequence_replays_on_the_mutant_but_not_on_the_reference(kills, name):
    exposure = kills[name].search.exposure

    def replay(device_class):
        run = SideBySide(SPEC, new_device(exposure.queues, exposure.limited, device_class))
        return [p for event in exposure.events for p in run.step(event).problems]

    assert replay(mutant(name).device) == list(exposure.problems)
    assert replay(Device) == []


def test_kick_balance_alone_catches_a_kick_handled_twice(kills):
    # deassign_handles_twice leaves every variable of the table right: only
    # the count of kicks can see it.
    problems = kills["deassign_handles_twice"].search.exposure.problems
    assert problems == ("kicks: 1 made, 2 handled (pio 0, ours 2, vhost 0), 0 waiting: 1 handled twice",)


class _Harmless(Device):
    """A refactoring, not a bug: the search must let it live."""

    def _ioeventfd_wanted(self) -> bool:
        return bool(self.status & 0x04) and self.running and self.use_ioeventfd


def test_a_conforming_variant_survives():
    assert expose(_Harmless, SPEC, (1,)).exposure is None


def test_mutants_command_exits_1_when_a_mutant_survives(monkeypatch):
    import virtio_notifier_spec.cli.mutants as mutants_cli

    monkeypatch.setattr(mutants_cli, "MUTANTS", (Mutant("harmless", "nothing", _Harmless),))
    result = CliRunner().invoke(cli, ["mutants", "--max-queues", "1"])
    assert result.exit_code == 1
    assert "0/1 mutants killed" in result.output


def test_mutants_command_kills_every_mutant_and_prints_the_sequences():
    result = CliRunner().invoke(cli, ["mutants"])
    assert result.exit_code == 0, result.output
    assert f"{len(MUTANTS)}/{len(MUTANTS)} mutants killed (100%)" in result.output
    assert "reference: conforms in every reachable state" in result.output


def test_mutants_command_json_gives_each_shortest_sequence():
    result = CliRunner().invoke(cli, ["mutants", "--json", "--max-queues", "1", "--only", "vm_stop_keeps_ioeventfds"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    (entry,) = document["results"]
    assert entry["killed"] and entry["length"] == 2
    assert [e["event"] for e in entry["shortest"]["events"]] == ["set_status", "vm_stop"]
    assert document["reference"]["conforms"] and document["killed"] == document["total"] == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--only", "no_such_mutant"], "no mutant 'no_such_mutant'"), (["--spec", "missing.toml"], "missing.toml")],
)
def test_mutants_command_rejects_bad_input_with_exit_2(args, says):
    result = CliRunner().invoke(cli, ["mutants", *args])
    assert result.exit_code == 2
    assert says in result.output
    assert "Traceback" not in result.output
