"""``--scheduler``: the Dask cluster a command's packed search runs on.

:func:`open_cluster` yields None without ``--scheduler``; with an address
it connects to that scheduler; with ``local`` it starts a local cluster of
``--workers`` processes. Whatever it started is closed when the command
ends, however it ends (Ctrl-C, ``--timeout``, an error).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from virtio_notifier_spec.scale.cluster import Cluster

LOCAL = "local"


@contextlib.contextmanager
def open_cluster(scheduler: str | None, workers: int) -> Iterator[Cluster | None]:
    """The cluster ``--scheduler`` names (see the module), or None."""
    if scheduler is None:
        yield None
        return
    with Cluster(None if scheduler == LOCAL else scheduler, workers=workers) as cluster:
        yield cluster
