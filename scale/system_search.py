"""Several devices on one host: which engine searches a configuration.

:func:`explore_config` is what ``scale --config`` runs. ``engine="auto"``
uses the packed system engine (:mod:`.packed_system`) and falls back to the
system engine (:mod:`.system`) when the packed states would not fit (a kind
of device that reaches too many states, more than 63 bits in all), saying
so in the result's ``notes``; ``"packed"`` or ``"general"`` force one, a
forced packed run that does not fit is refused (exit 2). Both answer the
same, byte for byte: the packed engine's tables are the system engine's
own answers. ``device_symmetry`` asks for one state per orbit of the
identical devices (:mod:`.device_symmetry`; the packed engine only), refused
where the argument does not cover the configuration. ``cluster`` runs the
packed search's chunks on Dask (:mod:`.cluster`).

>>> from virtio_notifier_spec.scale.config import CONFIG_DIR, load_config
>>> r = explore_config(load_config(CONFIG_DIR / "three_devices.toml"))
>>> r.engine, r.states, r.ok
('packed', 1944, True)
"""

from __future__ import annotations

import dataclasses
import time

from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.schema import Spec

from .config import Config
from .device_symmetry import device_groups, device_symmetry_refusal
from .device_tables import TooLarge, device_tables
from .packed_system import explore_system_packed
from .system import System, SystemExploration, explore_system

ENGINES = ("auto", "packed", "general")


class NotPackedSystem(SpecError):
    """The packed system engine cannot search this configuration (``engine="packed"``)."""


def explore_config(
    config: Config,
    *,
    spec: Spec | None = None,
    engine: str = "auto",
    device_symmetry: bool = False,
    cluster=None,
    workers: int = 1,
    **limits,
) -> SystemExploration:
    """Search ``config`` (see the module); ``limits``: ``max_states``, ``timeout``, ``progress``."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    began = time.perf_counter()
    system = System(config, spec)
    notes: list[str] = []
    if device_symmetry:
        refusal = device_symmetry_refusal(config, [m.spec for m in system.machines])
        if refusal is not None:
            raise refusal
        if engine == "general":
            raise NotPackedSystem(
                "the reduction by identical devices runs on the packed system engine (drop --engine general)",
                file=config.path,
            )
        if not device_groups(config):
            notes.append("no two devices are alike: nothing to reduce")
    if engine != "general":
        try:
            tables = device_tables(system)
            result = explore_system_packed(
                config,
                system=system,
                tables=tables,
                device_symmetry=device_symmetry,
                cluster=cluster,
                workers=workers,
                **limits,
            )
            return dataclasses.replace(result, seconds=time.perf_counter() - began, notes=tuple(notes))
        except TooLarge as exc:
            if engine == "packed" or device_symmetry:
                raise NotPackedSystem(f"{exc}; the packed system engine cannot search it", file=config.path) from None
            notes.append(f"the system engine searched it: {exc}")
    if cluster is not None:
        notes.append("the system engine runs on this machine only; the cluster was not used")
    result = explore_system(config, spec=system.spec, **limits)
    return dataclasses.replace(result, seconds=time.perf_counter() - began, notes=tuple(notes))
