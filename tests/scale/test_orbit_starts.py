"""The orbit search's initial states: one counted form per orbit, with no
class of zero queues (which would be a second form of the same orbit, and
would report a property broken by a queue that does not exist)."""

from __future__ import annotations

from conftest import Edit

from virtio_notifier_spec.scale.reduced import ReducedExplorer
from virtio_notifier_spec.scale.symmetry import expand, orbit_size


def test_orbit_starts_have_no_empty_class_and_count_the_concrete_starts(broken):
    # two initial handlers per queue: N queues start in 2**N concrete states per device
    spec = broken("resolved", Edit("handler", "init", '["none", "vhost"]', file="common"))
    for n in (1, 2, 3):
        starts = ReducedExplorer(spec, n, "orbits").starts()
        assert all(count > 0 for _, counts in starts for _, count in counts)
        assert all(len(expand(counts)) == n for _, counts in starts)
        devices = {device for device, _ in starts}
        assert sum(orbit_size(counts) for _, counts in starts) == len(devices) * 2**n
