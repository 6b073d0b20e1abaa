"""Packed searches on Dask give what one core gives, byte for byte: the
chunks run as tasks, the visited set is sharded over actors, and admission
is the one-core order. Every cluster a test starts is closed, and every
worker process it started is gone, on every path."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

pytest.importorskip("distributed", reason="Dask is an optional extra: pip install '.[dask]'")

import psutil

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.scale.cluster import Cluster, ShardedCodeSet, shard_of
from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
from virtio_notifier_spec.scale.system_search import explore_config
from virtio_notifier_spec.spec.load import SPEC_DIR, load_spec

LIMIT_RULE = 'guard = "value == driver_ok and running and not limited and assign_ok"'
SMALL = """
[host]
slots = 2

[[devices]]
name = "net0"
queues = 1
vhost = true

[[devices]]
name = "blk0"
queues = 2
"""


@pytest.fixture(scope="module")
def cluster():
    with Cluster(workers=2, processes=False, shards=3) as running:
        yield running


def _same_system(a, b) -> None:
    assert (a.states, a.transitions, a.depth, a.partial, a.checks) == (
        b.states,
        b.transitions,
        b.depth,
        b.partial,
        b.checks,
    )
    assert a.counterexamples == b.counterexamples


def _same_table(a, b) -> None:
    assert (a.states, a.transitions, a.depth, a.fired, a.partial) == (
        b.states,
        b.transitions,
        b.depth,
        b.fired,
        b.partial,
    )
    assert a.counterexamples == b.counterexamples


def test_a_configuration_on_the_cluster_is_the_one_core_search(cluster):
    config = load_config(CONFIG_DIR / "three_devices.toml")
    for options in ({}, {"device_symmetry": True}, {"max_states": 700}):
        _same_system(explore_config(config, cluster=cluster, **options), explore_config(config, **options))


def test_a_failing_configuration_on_the_cluster_has_the_same_traces(cluster, tmp_path):
    shutil.copy(SPEC_DIR / "common.toml", tmp_path / "common.toml")
    text = (SPEC_DIR / "resolved.toml").read_text()
    (tmp_path / "broken.toml").write_text(text.replace(LIMIT_RULE, 'guard = "value == driver_ok and running"'))
    (tmp_path / "config.toml").write_text('table = "broken.toml"\n' + SMALL)
    config = load_config(tmp_path / "config.toml")
    for limit in (None, 5, 30):
        on_cluster = explore_config(config, cluster=cluster, max_states=limit)
        _same_system(on_cluster, explore_config(config, max_states=limit))
    assert {"vhost_never_starved", "slots_within_limit"} <= set(on_cluster.counterexamples) or limit


def test_one_device_on_the_cluster_is_the_one_core_search(cluster):
    for variant, queues, limit in (("proposal", 2, None), ("resolved", 3, None), ("proposal", 3, 200)):
        spec = load_spec(variant)
        on_cluster = explore(spec, queues, cluster=cluster, max_states=limit)
        _same_table(on_cluster, explore(spec, queues, max_states=limit))


def test_the_sharded_visited_set_answers_like_one_set(cluster):
    import numpy as np

    actors = [cluster.client.submit(_new_shard, actor=True, pure=False).result() for _ in range(4)]
    seen = ShardedCodeSet(actors)
    codes = np.arange(0, 5000, 7, dtype=np.uint64)
    seen.add(codes)
    probe = np.arange(0, 5000, dtype=np.uint64)
    assert seen.contains(probe).tolist() == [c % 7 == 0 for c in range(5000)]
    assert len(seen) == len(codes)
    owners = shard_of(codes, 4)
    assert set(owners.tolist()) == {0, 1, 2, 3}  # the hash spreads codes over every shard


def _new_shard():
    from virtio_notifier_spec.scale.cluster import Shard

    return Shard()


def _workers() -> list[psutil.Process]:
    """This process's children that are not multiprocessing's resource tracker."""
    return [p for p in psutil.Process().children(recursive=True) if "resource_tracker" not in " ".join(p.cmdline())]


def test_a_local_cluster_of_processes_gives_the_same_result_and_leaves_no_process():
    before = {p.pid for p in _workers()}
    config = load_config(CONFIG_DIR / "three_devices.toml")
    with Cluster(workers=1, processes=True) as running:
        assert {p.pid for p in _workers()} - before  # a worker process runs the tasks
        result = explore_config(config, cluster=running)
    assert {p.pid for p in _workers()} - before == set()
    _same_system(result, explore_config(config))


def test_a_failure_inside_the_cluster_still_closes_it():
    before = {p.pid for p in _workers()}
    with pytest.raises(ZeroDivisionError), Cluster(workers=1, processes=True):
        1 / 0  # noqa: B018
    assert {p.pid for p in _workers()} - before == set()


def test_cli_check_and_scale_take_a_scheduler_address():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, processes=False, protocol="tcp", dashboard_address=None) as local:
        address = local.scheduler_address
        runner = CliRunner()
        for command in (["check", "--spec", "proposal", "--queues", "2"], ["scale", "--queues", "2"]):
            alone = runner.invoke(cli, [*command, "--json", "--quiet"])
            remote = runner.invoke(cli, [*command, "--json", "--quiet", "--scheduler", address])
            assert remote.exit_code == alone.exit_code, remote.output
            assert _without_times(json.loads(remote.output)) == _without_times(json.loads(alone.output))


def _without_times(document):
    if isinstance(document, dict):
        return {k: _without_times(v) for k, v in document.items() if k != "seconds"}
    if isinstance(document, list):
        return [_without_times(v) for v in document]
    return document
