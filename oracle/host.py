"""The host the oracle tests on: KVM cannot grant a slot it does not have.

The table's ``limited`` says the host allows only a few ioeventfds per
guest, and its ``[slots]`` says what holds one (``holders``) and how many
such a host has (``size``: 6, the old kernels' ``NR_IOBUS_DEVS``), each
true holder taking ``addresses`` of them. The
table's rows do not count: vhost's take reads no answer from KVM, so on a
6-slot host a device of 7 queues would let vhost hold 7 ioeventfds, which
no such host can register. That is the environment's limit, not the
machine's (no design can give vhost a slot the host lacks), so it belongs
where the environment is played: here, for the oracle. A step after which
a device on a limited host holds more than ``size`` slots is one the host
cannot make: the oracle never issues it (the environment cannot), and a
trace that shows it diverges there (``not_enabled``). A table without
``size`` is tested as before. Several devices sharing a host count their
slots together in ``scale/system.py``, with the configuration's own number.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> m = HostMachine(load_spec("resolved"), 7)
>>> limited = next(s for s in m.initial_states() if s.device[0])
>>> state = limited
>>> for q in range(6):
...     state = m.step(state, m.instance("set_host_notifier", queue=q, assign=True, assign_ok=True)).choices[0].post
>>> m.enabled(state, m.instance("set_host_notifier", queue=6, assign=True, assign_ok=True))
False
"""

from __future__ import annotations

from virtio_notifier_spec.model.machine import Instance, Machine, Outcome
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Spec


class HostMachine(Machine):
    """The table's machine, on a host whose slots are counted (see the module)."""

    def __init__(self, spec: Spec, queues: int) -> None:
        super().__init__(spec, queues)
        slots = spec.slots
        self.size = slots.size if slots is not None and slots.limit in self.layout.device else None
        self.limit_slot = self.layout.device.index(slots.limit) if self.size is not None else -1
        self.holder_slots = tuple(self.layout.queue.index(h) for h in slots.holders) if self.size is not None else ()
        self.addresses = slots.addresses if slots is not None else 1  # ioeventfds per true holder
        # a device whose every holder of every queue fits in `size` slots cannot overflow
        self.counts = self.size is not None and queues * len(self.holder_slots) * self.addresses > self.size

    def fits(self, state: State) -> bool:
        """Whether ``state``'s holders fit in the host's slots."""
        if not self.counts or not state.device[self.limit_slot]:
            return True
        used = self.addresses * sum(1 for q in state.queues for slot in self.holder_slots if q[slot])
        return used <= self.size

    def step(self, state: State, inst: Instance) -> Outcome:
        outcome = super().step(state, inst)
        if not self.counts or not state.device[self.limit_slot]:
            return outcome
        kept = tuple(c for c in outcome.choices if self.fits(c.post))
        return outcome if len(kept) == len(outcome.choices) else Outcome(kept, outcome.undefined, outcome.ambiguous)

    def enabled(self, state: State, inst: Instance) -> bool:
        if not super().enabled(state, inst):
            return False
        if not self.counts or not state.device[self.limit_slot]:
            return True
        return bool(self.step(state, inst).choices)


def host_machine(spec: Spec, queues: int) -> Machine:
    """The machine the oracle judges with."""
    return HostMachine(spec, queues)
