"""The reference device as an implementation the oracle can judge in-process.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> impl = reference_implementation(load_spec("resolved"))
>>> impl.start(1, False)["queues"][0]["state"]
'deassigned'
"""

from __future__ import annotations

from virtio_notifier_spec.oracle.implementation import ImplementationFailure
from virtio_notifier_spec.oracle.observation import HANDLED, KICK_EVENT, full_observation
from virtio_notifier_spec.spec.schema import Spec

from . import abstraction


class ReferenceImplementation:
    """The reference device (:mod:`.device`), or a subclass such as
    a mutant, driven in-process through :mod:`.abstraction`.

    Observes every variable through ``abstract`` and, from the device's
    kick counters, ``handled``: the queues whose notifier was emptied (or
    whose kick took the pio path) during the step are reported handled when
    the device's count of handled kicks grew by exactly the kicks they held;
    otherwise a kick was lost or handled twice, and the report says so
    (handled false for them, or true for every queue when kicks were handled
    out of nowhere), which the oracle then flags.
    """

    def __init__(self, spec: Spec, device_class: type | None = None, name: str | None = None) -> None:
        self.spec = spec
        self.abstraction = abstraction
        self.device_class = device_class
        self.name = name or (f"reference:{device_class.__name__}" if device_class else "reference")
        self.device = None

    def _observe(self, handled: list[bool] | None) -> dict:
        observed = full_observation(self.spec, None, self.abstraction.abstract(self.device, self.spec), None)
        if handled is not None:
            for entry, value in zip(observed["queues"], handled, strict=True):
                entry[HANDLED] = value
        return observed

    def _counters(self) -> list[int]:
        return [self.device.host_notifier(n).counter for n in range(len(self.device.vqs))]

    def start(self, queues: int, limited: bool) -> object:
        try:
            if self.device_class is None:
                self.device = self.abstraction.new_device(queues, limited)
            else:
                self.device = self.abstraction.new_device(queues, limited, self.device_class)
            return self._observe(None)
        except Exception as exc:  # the implementation's own bug: reported, not raised
            raise ImplementationFailure("error", f"start raised {type(exc).__name__}: {exc}") from None

    def event(self, name: str, args: dict) -> object:
        try:
            before, total = self._counters(), self.device.kicks_handled().total
            self.abstraction.perform(self.device, name, dict(args))
            after, grown = self._counters(), self.device.kicks_handled().total - total
            return self._observe(_handled(before, after, grown, args.get("queue") if name == KICK_EVENT else None))
        except Exception as exc:  # the implementation's own bug: reported, not raised
            raise ImplementationFailure("error", f"{name} raised {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        self.device = None


def _handled(before: list[int], after: list[int], grown: int, kicked: int | None) -> list[bool]:
    """Per queue: did its handler run for a kick this step (see ReferenceImplementation)."""
    emptied = [q for q in range(len(before)) if (before[q] or kicked == q) and not after[q]]
    held = sum(before[q] + (kicked == q) for q in emptied)
    if grown == held:
        return [q in emptied for q in range(len(before))]
    if grown > held and not emptied:
        return [True] * len(before)
    return [False] * len(before)


def reference_implementation(
    spec: Spec, device_class: type | None = None, name: str | None = None
) -> ReferenceImplementation:
    """The reference device, or a subclass (a mutant), as an implementation."""
    return ReferenceImplementation(spec, device_class, name)
