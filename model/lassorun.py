"""One infinite run given as a lasso of states: does its cycle close, is it
fair, and which properties of infinite runs does it break.

A lasso is what ADR-015 calls a trace with a ``loop``: states ``0..k``,
each after a step of the table, and the run goes on from state ``k`` back to
state ``loop``, for ever. How it gets back (:func:`close_cycle`):

- by the step its trace names (``#meta.loop-back``, or a pasted lasso's
  last step), which must lead from state ``k`` to state ``loop``;
- with ``loop == k`` and no step named, the run stays in state ``k`` for
  ever (it stutters); with state ``k`` equal to state ``loop``, the states
  in between are the cycle and nothing closes it;
- otherwise by the first event of the table that leads there, if any.

The cycle is a *fair* run only if it keeps every promise the events make
(:func:`unfair_promises`, the same groups as ``liveness.py``): a weakly
fair group enabled in every state of the cycle happens in it; a strongly
fair group enabled in one of its states happens in it. On a closed fair
cycle :func:`lasso_verdicts` decides each ``leads_to`` (a premise, then a
goal that never holds again) and ``deadlock_free``; ``recoverable`` is a
question about every continuation, which one run cannot answer.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.model.machine import Machine
>>> machine = Machine(load_spec("resolved"), 1)
>>> start = machine.initial_states()[0]
>>> step = machine.step(start, machine.instance("set_status", value="driver_ok", assign_ok=True)).choices[0]
>>> kick = machine.step(step.post, machine.instance("kick", queue=0)).choices[0]
>>> states = [start, step.post, kick.post]
>>> closing, problem = close_cycle(machine, states, 2, None)
>>> closing, problem   # the run stutters in state 2, a pending kick ...
(None, None)
>>> unfair_promises(machine, states[2:], ())   # ... which the handler's fairness forbids
('handle(queue=0) is weakly fair, enabled in every state of the cycle, and never happens',)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from virtio_notifier_spec.spec.concrete import State, compile_expr
from virtio_notifier_spec.spec.schema import Fairness, PropertyKind

from .liveness import fairness_groups
from .machine import Instance, Machine
from .replay import changes
from .trace import Step, show_value

#: What a lasso cannot decide.
NOT_ON_A_RUN = "not checked: whether some continuation recovers, one run cannot say; liveness checks it"


def first_difference(
    machine: Machine, expected: State, found: State, labels: tuple[str, str] = ("the table", "the trace")
) -> str | None:
    """``q0.pending: the table has true, the trace false``: the first
    variable in which ``found`` differs from ``expected``, or None when
    they are the same; ``labels`` name the two."""
    differ = changes(machine.spec, expected, found)
    if not differ:
        return None
    first = differ[0]
    return f"{first.name}: {labels[0]} has {show_value(first.before)}, {labels[1]} {show_value(first.after)}"


def close_cycle(
    machine: Machine, states: Sequence[State], loop: int, closing: Instance | None
) -> tuple[Step | None, str | None]:
    """The step from the last state back to state ``loop`` (None: none is
    needed) and why the cycle does not close (None: it closes)."""
    last, target = states[-1], states[loop]
    if closing is not None:
        if not machine.enabled(last, closing):
            return None, f"the cycle does not close: {closing} cannot happen in the last state ({len(states) - 1})"
        choices = machine.step(last, closing).choices
        for choice in choices:
            if choice.post == target:
                return Step(closing, choice.fired, choice.post), None
        why = first_difference(machine, target, choices[0].post, (f"state {loop}", "the step's"))
        return None, f"the cycle does not close: {closing} from the last state leads elsewhere ({why})"
    if last == target:
        return None, None
    for inst in machine.instances:
        if machine.enabled(last, inst):
            for choice in machine.step(last, inst).choices:
                if choice.post == target:
                    return Step(inst, choice.fired, choice.post), None
    why = first_difference(machine, target, last, (f"state {loop}", f"state {len(states) - 1}"))
    return None, f"the cycle does not close: no event leads from the last state back to state {loop} ({why})"


def cycle_of(states: Sequence[State], steps: Sequence[Step], loop: int, closing: Step | None):
    """The cycle's states and steps: from state ``loop`` round to it again."""
    k = len(states) - 1
    if closing is not None:
        return list(states[loop:]), [*steps[loop:], closing]
    if loop < k:  # the last state is state ``loop`` again
        return list(states[loop:k]), list(steps[loop:k])
    return [states[k]], []  # the run stays in the last state


def unfair_promises(
    machine: Machine, cycle_states: Sequence[State], cycle_steps: Sequence[Step], fair: bool = True
) -> tuple[str, ...]:
    """The fairness promises that repeating the cycle for ever breaks."""
    groups, of_instance = fairness_groups(machine, fair)
    broken = []
    for g, group in enumerate(groups):
        members = [inst for inst in machine.instances if of_instance[inst.id] == g]
        enabled = [any(machine.enabled(s, inst) for inst in members) for s in cycle_states]
        if any(of_instance[step.event.id] == g for step in cycle_steps):
            continue
        if group.kind is Fairness.WEAK and all(enabled):
            broken.append(f"{group} is weakly fair, enabled in every state of the cycle, and never happens")
        elif group.kind is Fairness.STRONG and any(enabled):
            broken.append(f"{group} is strongly fair, enabled in state(s) of the cycle, and never happens")
    return tuple(broken)


@dataclass(frozen=True, slots=True)
class RunVerdict:
    """A liveness property on one run: ``holds``, ``fails`` or ``not checked``, and why."""

    name: str
    verdict: str
    message: str = ""


def lasso_verdicts(
    machine: Machine, states: Sequence[State], steps: Sequence[Step], loop: int | None, closing: Step | None
) -> list[RunVerdict]:
    """Every liveness property of the table on the run ``states`` (``steps``
    between them), a lasso when ``loop`` is given (its cycle closed and
    fair), else a finite run, on which a ``leads_to`` is not checked (the
    run may still meet its goal after its end)."""
    spec = machine.spec
    layout = machine.layout
    k = len(states) - 1
    found = []
    for prop in spec.liveness:
        if prop.kind is PropertyKind.DEADLOCK_FREE:
            stuck = next((i for i, s in enumerate(states) if not _offers(machine, s)), None)
            if stuck is None:
                found.append(RunVerdict(prop.name, "holds", "every state of the run offers some event"))
            else:
                found.append(RunVerdict(prop.name, "fails", f"no event is enabled in state {stuck}"))
            continue
        if prop.kind is PropertyKind.RECOVERABLE:
            found.append(RunVerdict(prop.name, "not checked", NOT_ON_A_RUN))
            continue
        if loop is None:
            why = "not checked: a finite run may still meet the goal after its end"
            found.append(RunVerdict(prop.name, "not checked", why))
            continue
        premise, goal = compile_expr(prop.premise, layout), compile_expr(prop.goal, layout)
        every_step = [*steps, *([closing] if closing is not None else [])]
        failure = None
        for q in range(machine.queues) if prop.per_queue else (None,):
            at = q or 0
            who = f"queue {q}: " if q is not None else ""
            if not prop.events:
                for i, state in enumerate(states):
                    if premise(state, None, {}, at) and not _met(goal, states, range(min(i, loop), k + 1), {}, at):
                        failure = f"{who}the premise holds in state {i}, and the goal never holds from there"
                        break
            else:
                pres = [states[0], *(s.post for s in every_step)]
                for t, step in enumerate(every_step):
                    args = step.event.values
                    if step.event.event.name not in prop.events or not premise(pres[t], step.post, args, at):
                        continue
                    after = t + 1 if t + 1 <= k else loop
                    if not _met(goal, states, range(min(after, loop), k + 1), args, at):
                        failure = (
                            f"{who}step {t + 1}, {step.event}, satisfies the premise, and the goal never holds after it"
                        )
                        break
            if failure:
                break
        if failure:
            found.append(RunVerdict(prop.name, "fails", failure + " (the cycle repeats for ever)"))
        else:
            found.append(RunVerdict(prop.name, "holds", "every premise on this lasso is followed by the goal"))
    return found


def _met(goal, states: Sequence[State], positions: range, args: dict, at: int) -> bool:
    return any(goal(states[j], None, args, at) for j in positions)


def _offers(machine: Machine, state: State) -> bool:
    return any(machine.enabled(state, inst) and machine.step(state, inst).choices for inst in machine.instances)
