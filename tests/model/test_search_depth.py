"""`--depth N`: every search goes no further than N steps from a start,
in every engine and reduction, and says it is incomplete (exit 3) exactly
when the bound cut it: some state at depth N leads to a state not visited."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.explore import depth_stop, explore
from virtio_notifier_spec.model.graph import state_graph
from virtio_notifier_spec.model.liveness import check_liveness
from virtio_notifier_spec.scale.config import load_config
from virtio_notifier_spec.scale.search import explore as explore_reduced
from virtio_notifier_spec.scale.system import explore_system
from virtio_notifier_spec.spec.load import load_spec


def _seen(r):
    traces = {name: (cx.message, cx.trace) for name, cx in r.counterexamples.items()}
    return r.states, r.transitions, r.depth, r.fired, r.partial, traces


@pytest.mark.parametrize(("variant", "queues"), [("resolved", 1), ("resolved", 2), ("resolved", 3), ("proposal", 2)])
def test_every_engine_stops_at_the_same_depth_with_the_same_verdicts(variant, queues):
    spec = load_spec(variant)
    full = explore(spec, queues).depth
    for bound in (0, 1, 2, full - 1, full):
        general = explore(spec, queues, engine="general", depth=bound)
        assert _seen(general) == _seen(explore(spec, queues, engine="packed", depth=bound))
        assert _seen(general) == _seen(explore(spec, queues, engine="packed", depth=bound, workers=2))
        orbits = explore_reduced(spec, queues, symmetry="orbits", depth=bound)
        plain_orbits = explore_reduced(spec, queues, symmetry="orbits", depth=bound, engine="general")
        assert (orbits.states, orbits.partial) == (plain_orbits.states, plain_orbits.partial)
        assert set(orbits.counterexamples) == set(general.counterexamples) == set(plain_orbits.counterexamples)
        assert general.partial == (depth_stop(bound) if bound < full else None)
        assert general.depth == min(bound, full)
        graph = state_graph(spec, queues, depth=bound)
        assert len(graph.states) == general.states and graph.partial == general.partial
        assert max(graph.depth) == general.depth and not graph.stuck  # a cut state is not a deadlock


def test_a_bound_at_or_beyond_the_diameter_changes_nothing():
    spec = load_spec("resolved")
    whole = explore(spec, 2)
    bounded = explore(spec, 2, depth=whole.depth)
    assert bounded.ok and _seen(bounded) == _seen(whole) and not bounded.dead


def test_a_failure_within_the_bound_is_found_with_its_shortest_trace():
    spec = load_spec("proposal")
    r = explore(spec, 1, depth=3)
    assert r.partial == "stopped at --depth 3"
    assert r.counterexamples["no_lost_kick"].trace == explore(spec, 1).counterexamples["no_lost_kick"].trace
    assert "load_is_history_free" in r.counterexamples  # found on a step out of depth 2


def test_the_support_abstraction_and_several_devices_take_the_bound_too():
    spec = load_spec("resolved")
    support = explore_reduced(spec, 64, symmetry="support", depth=2)
    assert support.reduction == "support" and support.partial == "stopped at --depth 2"
    config = load_config("spec/configs/three_devices.toml")
    system = explore_system(config, depth=1)
    assert system.partial == "stopped at --depth 1" and system.depth == 1


def test_liveness_on_a_graph_the_bound_cut_is_unknown():
    run = check_liveness(load_spec("proposal"), 1, depth=2)
    assert run.partial == "stopped at --depth 2" and not run.failures
    assert check_liveness(load_spec("proposal"), 1, depth=20).failures  # uncut: decided


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--queues", "2", "--depth", "3"],
        ["check", "--queues", "64", "--symmetry", "--depth", "3"],
        ["check", "--queues", "2", "--depth", "3", "--engine", "general"],
        ["verify", "--queues", "1", "--proposal-queues", "1", "--depth", "2"],
        ["liveness", "--queues", "1-2", "--depth", "2"],
        ["diff", "resolved", "resolved", "--queues", "1", "--depth", "2"],
    ],
    ids=lambda a: " ".join(a[:1] + a[3:]),
)
def test_every_exploring_command_is_incomplete_when_the_bound_cuts_it(args):
    done = CliRunner().invoke(cli, [*args, "--quiet"])
    assert done.exit_code == 3, done.output
    assert "stopped at --depth" in done.output


def test_check_json_says_the_depth_stopped_it_and_an_uncut_bound_holds():
    done = CliRunner().invoke(cli, ["check", "--queues", "1", "--depth", "2", "--json"])
    (run,) = json.loads(done.stdout)["results"]
    assert done.exit_code == 3 and run["partial"] == "stopped at --depth 2" and run["depth"] == 2
    assert set(run["verdicts"].values()) == {"unknown"}
    assert CliRunner().invoke(cli, ["check", "--queues", "1", "--depth", "4", "--quiet"]).exit_code == 0
    assert CliRunner().invoke(cli, ["check", "--spec", "proposal", "--queues", "1", "--depth", "3"]).exit_code == 1


def test_scale_and_the_proofs_search_take_the_bound(tmp_path):
    one = tmp_path / "one.toml"
    one.write_text('table = "resolved"\n\n[[devices]]\nname = "d"\nqueues = 2\n')
    done = CliRunner().invoke(cli, ["scale", "--queues", "1-64", "--config", one, "--depth", "2", "--json"])
    assert done.exit_code == 3
    document = json.loads(done.stdout)
    assert document["results"][-1]["partial"] == document["system"]["partial"] == "stopped at --depth 2"
    proved = CliRunner().invoke(cli, ["prove", "--spec", "proposal", "--depth", "1", "--quiet"])
    assert "the orbit search finished no N (the 1-queue search stopped at --depth 1)" in " ".join(proved.output.split())
