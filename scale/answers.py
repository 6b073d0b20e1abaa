"""KVM's answer per ioeventfd: what one event does to one device when each
assignment is granted or refused on its own.

The table gives an event one answer parameter (``[slots] answer``, e.g.
``assign_ok``). On a host that counts slots, KVM answers every ioeventfd
separately: a ``set_status`` that assigns three queues may see two granted
and one refused. So each queue the event concerns reads its own answer:
its options are its rows' results with the answer true (a grant) and false
(a refusal), and an outcome of the step picks one option per queue. The
queues of one class (equal tuples before the step) have the same options
and the system keeps its queues sorted, so an outcome is one multiset of
options per class: the refusal patterns up to symmetry.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from virtio_notifier_spec.model.machine import Instance, Machine
from virtio_notifier_spec.spec.concrete import State
from virtio_notifier_spec.spec.schema import Transition


@dataclass(frozen=True, slots=True)
class Option:
    """One result for one queue: its tuple after the step, the row that
    fired, and the answer it needs (True: a grant, False: a refusal, None:
    either)."""

    post: tuple
    row: Transition | None
    answer: bool | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One result of an event on one device: the state after it, the rows
    fired and, for each queue whose answer mattered, KVM's answer."""

    post: State
    fired: tuple[tuple[int, Transition], ...]
    answers: tuple[tuple[int, bool], ...]

    @property
    def granted(self) -> bool:
        """Some queue needed KVM to grant an assignment."""
        return any(answer for _, answer in self.answers)


class Answers:
    """The per-ioeventfd outcomes of one device's events (``answer``: the
    table's answer parameter, or None when it has none).

    >>> from virtio_notifier_spec.model.machine import Machine
    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> machine = Machine(load_spec("resolved"), 3)
    >>> start = next(s for s in machine.initial_states() if not s.device[0])
    >>> inst = machine.instance("set_status", value="driver_ok", assign_ok=True)
    >>> found = Answers(machine, "assign_ok").outcomes(start, inst)
    >>> sorted(sum(q[0] == "assigned" for q in o.post.queues) for o in found)
    [0, 1, 2, 3]
    """

    def __init__(self, machine: Machine, answer: str | None) -> None:
        self.machine = machine
        self.answer = answer
        self._memo: dict[tuple[State, int], list[Outcome]] = {}
        by_args = {(i.event.name, i.args): i for i in machine.instances}
        self.flipped: dict[int, Instance] = {}
        for inst in machine.instances:
            if answer in inst.values:
                args = tuple((k, not v if k == answer else v) for k, v in inst.args)
                self.flipped[inst.id] = by_args[(inst.event.name, args)]

    def options(self, state: State, inst: Instance) -> tuple[tuple, dict[int, list[Option]]]:
        """The device after ``inst`` and, for each queue it concerns, its options."""
        machine = self.machine
        if inst.id in self.flipped:
            runs = ((inst, inst.values[self.answer]), (self.flipped[inst.id], not inst.values[self.answer]))
        else:
            runs = ((inst, None),)
        found: dict[int, dict[tuple, set[bool | None]]] = {}
        device = None
        concerned = (inst.target,) if inst.target is not None else range(machine.queues)
        for instance, value in runs:
            for choice in machine.step(state, instance).choices:
                device = choice.post.device
                rows = dict(choice.fired)
                for q in concerned:
                    found.setdefault(q, {}).setdefault((choice.post.queues[q], rows.get(q)), set()).add(value)
        per_queue = {
            q: [Option(post, row, None if len(seen) > 1 else next(iter(seen))) for (post, row), seen in results.items()]
            for q, results in found.items()
        }
        return device, per_queue

    def outcomes(self, state: State, inst: Instance) -> list[Outcome]:
        """Every outcome of ``inst`` in ``state``, one per multiset of options per
        class of identical queues (see the module); computed once for each
        (state, instance): a device meets its own states again and again
        beside the other devices' states."""
        key = (state, inst.id)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._outcomes(state, inst)
        return found

    def _outcomes(self, state: State, inst: Instance) -> list[Outcome]:
        device, per_queue = self.options(state, inst)
        classes: dict[tuple, list[int]] = {}
        for q in per_queue:
            classes.setdefault(state.queues[q], []).append(q)
        choices_per_class = []
        for members in classes.values():
            opts = per_queue[members[0]]
            picks = itertools.combinations_with_replacement(range(len(opts)), len(members))
            choices_per_class.append([list(zip(members, (opts[k] for k in pick), strict=True)) for pick in picks])
        found = []
        for combo in itertools.product(*choices_per_class):
            queues = list(state.queues)
            fired, answers = [], []
            for q, option in sorted(itertools.chain.from_iterable(combo), key=lambda x: x[0]):
                queues[q] = option.post
                if option.row is not None:
                    fired.append((q, option.row))
                if option.answer is not None:
                    answers.append((q, option.answer))
            found.append(Outcome(State(device, tuple(queues)), tuple(fired), tuple(answers)))
        return found
