"""Fixtures for the real-QEMU tests (``pytest_plugins = ["qemu_fixtures"]``):
a test that needs QEMU is skipped, naming what is missing, where this
machine cannot run QEMU under KVM."""

from __future__ import annotations

import pytest

from virtio_notifier_spec.qemu.host import missing, tools


@pytest.fixture(scope="session")
def qemu_tools():
    absent = missing(vhost=True)
    if absent:
        pytest.skip("a real QEMU cannot run here: " + "; ".join(absent))
    return tools(vhost=True)


@pytest.fixture(scope="session")
def qemu_spec():
    from virtio_notifier_spec.spec.load import load_spec

    return load_spec("resolved", env="qemu")
