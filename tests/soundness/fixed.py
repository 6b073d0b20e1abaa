"""Small fixed tables on which the differential suite is shown to fail when
a reduction, its cutoff or its refusal is broken on purpose."""

from __future__ import annotations

_BASE = """[variant]
name = "{name}"
summary = "A small table that probes one reduction."

[machine]
states = ["s0", "s1"]
start = "s0"

[[variables]]
name = "many"
scope = "device"
type = "bool"
init = false
doc = "Set by e0: {many_doc}"

[[variables]]
name = "v0"
scope = "queue"
type = "bool"
init = false
doc = "A flag of each queue."

[[events]]
name = "e0"
effects = ["many := {many}"]
doc = "Every queue moves to s1."

[[events]]
name = "e1"
params = {{ queue = "queue" }}
target = "queue"
doc = "One queue moves back to s0."

[[transitions]]
name = "up"
event = "e0"
from = ["s0", "s1"]
to = "s1"
why = "every queue goes up"

[[transitions]]
name = "down"
event = "e1"
from = ["s0", "s1"]
to = "s0"
why = "one queue goes down"

[[properties]]
name = "inv0"
kind = "invariant"
expr = "{expr}"
rationale = "{rationale}"
"""


def _table(name: str, expr: str, rationale: str, many: str = "false", many_doc: str = "nothing") -> str:
    return _BASE.format(name=name, expr=expr, rationale=rationale, many=many, many_doc=many_doc)


#: A comparison of queues hidden behind an `if`: fails at 2 queues, in one step.
HIDDEN = _table(
    "hidden",
    "forall p: forall q: (if true then p else p) != q => not (state[p] == s1 and state[q] == s1)",
    "No two queues are up at once.",
)

#: No comparison, two quantifiers: holds at 1 queue, fails from 2 on (cutoff 2).
AGREE = _table("agree", "forall p: forall q: state[p] == state[q]", "Every queue is in one state.")

#: A device effect that counts queues: holds at 1 queue, fails from 2 on; outside the support fragment.
COUNTING = _table(
    "counting",
    "not many",
    "The device never counts two queues.",
    many="exists p: exists q: (if true then p else p) != q",
    many_doc="the device has two queues or more",
)
