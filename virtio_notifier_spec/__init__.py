"""virtio-notifier-spec: the virtqueue ioeventfd notifier state machine,
written down once as a table, explored, proved, drawn and used as an oracle.

The table lives in ``spec/*.toml``; :func:`load_spec` reads it and
:func:`explore` checks it:

>>> from virtio_notifier_spec import explore, load_spec
>>> explore(load_spec("resolved"), queues=1).ok
True
"""

from __future__ import annotations

__all__ = ["explore", "load_spec"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``explore`` and ``load_spec``, imported when first asked for: the
    command line's entry point imports this package before anything heavy."""
    if name == "explore":
        from virtio_notifier_spec.scale.search import explore

        return explore
    if name == "load_spec":
        from virtio_notifier_spec.spec.load import load_spec

        return load_spec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
