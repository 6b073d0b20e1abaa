"""The reference device conforms to `resolved` in every environment, the
whole-device vhost events included (driven by the oracle's generated suite)."""

from __future__ import annotations

import pytest

from virtio_notifier_spec.designs.oracle_run import narrowed
from virtio_notifier_spec.oracle.drive import drive
from virtio_notifier_spec.oracle.testgen import generate
from virtio_notifier_spec.reference.abstraction import abstract, new_device, perform
from virtio_notifier_spec.reference.implementation import reference_implementation
from virtio_notifier_spec.spec.load import load_spec


@pytest.mark.parametrize(("env", "queues"), [("qemu", 2), ("unrestricted", 1)])
def test_reference_conforms_in_the_environment(env, queues):
    # the reference device has vhost serve every queue: the table is told so
    spec = narrowed(load_spec("resolved", env=env), "vhost_serves", True)
    report = drive(spec, reference_implementation(spec), generate(spec, queues, walks=4, walk_length=20))
    assert report.ok, report.text()
    assert report.coverage.rows > 0


def test_vhost_start_takes_only_the_queues_vhost_serves():
    spec = load_spec("resolved", env="qemu")
    device = new_device(queues=2, limited=False)
    device.vqs[1].vhost_serves = False
    perform(device, "set_status", {"value": "driver_ok", "assign_ok": True})
    perform(device, "vhost_start", {})
    assert [q[0] for q in abstract(device, spec).queues] == ["offlimits", "assigned"]
    perform(device, "vhost_stop", {"assign_ok": True})
    assert [q[0] for q in abstract(device, spec).queues] == ["assigned", "assigned"]
