"""Recording a trace: run an implementation through events and write what it
observed, in the trace format (``spec/TRACE.md``). What an instrumented VMM
does by itself; the oracle's tests use it to make traces of faulty devices.

>>> import io
>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.oracle.implementation import ModelImplementation
>>> spec = load_spec("resolved")
>>> out = io.BytesIO()
>>> record_trace(ModelImplementation(spec), Header("resolved", 1, False), [("reset", {})], out)
>>> len(out.getvalue().splitlines())
2
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from .implementation import Implementation
from .tracefile import Header, TraceWriter


def record_trace(impl: Implementation, header: Header, events: Iterable[tuple[str, dict]], out: IO[bytes]) -> None:
    """Start ``impl`` as the header says, send ``events`` and write the trace."""
    impl.start(header.queues, header.limited)
    writer = TraceWriter(out, header)
    for name, args in events:
        observed = impl.event(name, dict(args))
        writer.event(name, dict(args), observed if isinstance(observed, dict) else None)
