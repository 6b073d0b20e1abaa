"""Packed searches across machines, on Dask (``dask.distributed``).

The partition of ``model/README.md`` ("Beyond one machine"):

1. **A level's frontier chunks are tasks.** The search object (its step
   tables, a few kilobytes to a few megabytes; no stored states) is sent to
   every worker once. Each task expands one chunk
   (:meth:`~virtio_notifier_spec.model.frontier.FrontierSearch.expand`) and
   returns its candidate new states with their (parent, step) keys and the
   checks it broke, already filtered against the visited set as it stood.
2. **The visited set is sharded by hash**: shard ``h`` (a Dask actor, on a
   worker) keeps the codes whose hash is ``h`` modulo the number of shards,
   in a :class:`~virtio_notifier_spec.model.visited.CodeSet`.
   :class:`ShardedCodeSet` routes each code to its shard; it is the search's
   ``visited``, on the driver and in the tasks.
3. **Admission is an ordered merge** on the driver: chunk by chunk, in
   order, the candidates are checked again against the shards (an earlier
   chunk of the batch may have found them), numbered and stored. The order
   is the one-core order, so states, transitions, verdicts and traces are
   the same, byte for byte.

The driver keeps the stored states' codes, parents and steps (16 bytes a
state) to number the frontier and rebuild traces; the shards hold the rest.

:class:`Cluster` connects to a scheduler (``address``) or starts a local
cluster of ``workers`` processes (threads with ``processes=False``), and
closes what it started, on every path.

>>> from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
>>> from virtio_notifier_spec.scale.system_search import explore_config
>>> with Cluster(workers=1, processes=False) as cluster:  # doctest: +SKIP
...     explore_config(load_config(CONFIG_DIR / "three_devices.toml"), cluster=cluster).states
1944
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import numpy as np

from virtio_notifier_spec.model.frontier import Expansion, FrontierSearch
from virtio_notifier_spec.model.visited import CodeSet
from virtio_notifier_spec.spec.errors import SpecError

_ROUTE = np.uint64(0xD6E8_FEB8_6659_FD93)  # another odd multiplier than CodeSet's: shards spread its slots


class ClusterError(SpecError):
    """Dask is missing, or the scheduler cannot be reached."""


class Shard:
    """One part of the visited set, on a worker (a Dask actor)."""

    def __init__(self) -> None:
        self.codes = CodeSet()

    def contains(self, codes: np.ndarray) -> np.ndarray:
        return self.codes.contains(codes)

    def add(self, codes: np.ndarray) -> int:
        self.codes.add(codes)
        return len(self.codes)

    def nbytes(self) -> int:
        return self.codes.nbytes


def shard_of(codes: np.ndarray, shards: int) -> np.ndarray:
    """The shard of each code: a hash, modulo the number of shards."""
    return (((codes * _ROUTE) >> np.uint64(32)) % np.uint64(shards)).astype(np.intp)


class ShardedCodeSet:
    """A :class:`CodeSet` split over actors by :func:`shard_of`; the same
    ``contains`` and ``add``. Picklable: tasks on the workers query it too."""

    def __init__(self, actors: list) -> None:
        self.actors = actors
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def _parts(self, codes: np.ndarray):
        owner = shard_of(codes, len(self.actors))
        return [np.flatnonzero(owner == h) for h in range(len(self.actors))]

    def contains(self, codes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(codes), dtype=bool)
        parts = self._parts(codes)
        pending = [(at, actor.contains(codes[at])) for at, actor in zip(parts, self.actors, strict=True) if at.size]
        for at, answer in pending:
            found[at] = answer.result()
        return found

    def add(self, codes: np.ndarray) -> None:
        parts = self._parts(codes)
        pending = [actor.add(codes[at]) for at, actor in zip(parts, self.actors, strict=True) if at.size]
        for answer in pending:
            answer.result()
        self.size += len(codes)

    @property
    def nbytes(self) -> int:
        return sum(actor.nbytes().result() for actor in self.actors)


def _expand(search: FrontierSearch, first: int, codes: np.ndarray) -> Expansion:
    return search.expand(first, codes)


class _Remote:
    """Expands chunks on the cluster's workers, a batch at a time, in order."""

    def __init__(self, client, search: FrontierSearch, threads: int) -> None:
        self.client = client
        self.search = client.scatter(search, broadcast=True, hash=False)
        self.batch = max(2, 2 * threads)

    def expand(self, jobs: list[tuple[int, np.ndarray]]) -> list[Expansion]:
        futures = [self.client.submit(_expand, self.search, first, codes, pure=False) for first, codes in jobs]
        return self.client.gather(futures)


class Cluster:
    """A Dask client: to ``address`` (a running scheduler), or to a local
    cluster of ``workers`` started here and closed on exit.

    ``shards``: parts of the visited set (default: one per worker)."""

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int = 1,
        processes: bool = True,
        shards: int | None = None,
    ) -> None:
        self.address, self.workers, self.processes, self.shards = address, workers, processes, shards
        self.client = None
        self.local = None

    def __enter__(self) -> Cluster:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ClusterError(
                "Dask is not installed: pip install 'virtio-notifier-spec[dask]' (make installs it)"
            ) from None
        try:
            if self.address is None:
                self.local = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=self.processes,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self.client = Client(self.local)
            else:
                self.client = Client(self.address, timeout="10s")
        except OSError as exc:
            self.close()
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the client and whatever was started here (every worker process)."""
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None
        if self.local is not None:
            with contextlib.suppress(Exception):
                self.local.close()
            self.local = None

    @property
    def threads(self) -> int:
        return sum(self.client.nthreads().values())

    @contextlib.contextmanager
    def attached(self, search: FrontierSearch) -> Iterator[FrontierSearch]:
        """``search`` with its visited set sharded on the workers and its
        chunks expanded there; the shards are released afterwards."""
        client = self.client
        workers = sorted(client.nthreads())
        count = self.shards or len(workers)
        futures = [
            client.submit(Shard, actor=True, workers=[workers[h % len(workers)]], pure=False) for h in range(count)
        ]
        actors = [f.result() for f in futures]
        search.visited = ShardedCodeSet(actors)
        search.remote = _Remote(client, search, self.threads)
        try:
            yield search
        finally:
            search.remote = None
            for future in futures:
                future.release()
