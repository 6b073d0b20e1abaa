"""Checks that a lasso is what it claims: a fair run of the machine that
breaks its property. Shared by the liveness tests of model/, scale/ and draw/."""

from __future__ import annotations

import re

from virtio_notifier_spec.model.liveness import fairness_groups
from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.spec.concrete import compile_expr
from virtio_notifier_spec.spec.schema import PropertyKind

#: A property stricter than the table's, for tests of fairness: a kick is
#: handled even if the VM stops (appended to a variant with ``extra=``).
STRICT = """
[[properties]]
name = "every_kick_handled_even_in_a_stopped_vm"
kind = "leads_to"
from = "pending"
to = "not pending"
rationale = "Stricter than the table: a kick is handled even if the VM stops."
"""


def replay(spec, queues: int, lasso, fair: bool = True) -> list:
    """Every state of the lasso (stem, then cycle back to its entry), after
    checking each step is the machine's and the cycle keeps every promise."""
    machine = Machine(spec, queues)
    assert lasso.stem.start in machine.initial_states()
    state = lasso.stem.start
    states = [state]
    for step in (*lasso.stem.steps, *lasso.cycle):
        assert machine.enabled(state, step.event), f"{step.event} is not enabled"
        choices = machine.step(state, step.event).choices
        assert any(c.post == step.post and c.fired == step.fired for c in choices), f"{step.event} does not lead there"
        state = step.post
        states.append(state)
    entry = len(lasso.stem)
    assert states[-1] == states[entry], "the cycle comes back to where it began"
    loop = states[entry:-1] or [states[entry]]
    groups, of_instance = fairness_groups(machine, fair)
    for g, group in enumerate(groups):
        instances = [i for i in machine.instances if of_instance[i.id] == g]
        taken = any(of_instance[s.event.id] == g for s in lasso.cycle)
        enabled = [any(machine.enabled(s, i) for i in instances) for s in loop]
        if group.kind.value == "weak":
            assert taken or not all(enabled), f"{group} is enabled all along the cycle and never happens"
        else:
            assert taken or not any(enabled), f"{group} is enabled in the cycle and never happens"
    return states


def breaks(spec, queues: int, name: str, failure, fair: bool = True) -> None:
    """``failure`` (a LivenessFailure of property ``name``) is a fair run that breaks it."""
    lasso = failure.lasso
    states = replay(spec, queues, lasso, fair)
    prop = next(p for p in spec.liveness if p.name == name)
    layout = Machine(spec, queues).layout
    found = re.match(r"queue (\d+):", failure.message)
    q = int(found.group(1)) if found else 0

    def holds(expr, pre, post=None, args=None) -> bool:
        return expr is None or bool(compile_expr(expr, layout)(pre, post, args or {}, q))

    if prop.kind is PropertyKind.DEADLOCK_FREE:
        last = states[-1]
        assert not any(Machine(spec, queues).enabled(last, i) for i in Machine(spec, queues).instances)
        return
    at = lasso.premise_at
    if prop.kind is PropertyKind.RECOVERABLE:
        assert holds(prop.premise, states[at])
        machine = Machine(spec, queues)
        seen, todo = {states[at]}, [states[at]]
        while todo:
            state = todo.pop()
            assert not holds(prop.goal, state), "the goal is out of reach from the premise state"
            for inst in machine.instances:
                if machine.enabled(state, inst):
                    for choice in machine.step(state, inst).choices:
                        if choice.post not in seen:
                            seen.add(choice.post)
                            todo.append(choice.post)
        return
    args = {}
    if prop.events:
        step = lasso.stem.steps[at - 1]
        args = step.event.values
        assert step.event.event.name in prop.events
        assert holds(prop.premise, states[at - 1], step.post, args)
        args = {k: v for k, v in args.items() if k != "q"}
    else:
        assert holds(prop.premise, states[at])
    assert not any(holds(prop.goal, s, None, args) for s in states[at:]), "the goal never holds after the premise"
