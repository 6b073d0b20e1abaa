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

#: Like AGREE, with a row that never fires (its guard is false).
DEAD = AGREE.replace(
    '[[properties]]\nname = "inv0"',
    '[[transitions]]\nname = "never"\nevent = "e1"\nfrom = "s0"\nto = "s1"\nguard = "many and not many"\n'
    'why = "never fires"\n\n[[properties]]\nname = "inv0"',
)

#: Liveness with step premises, no fairness. ``fills`` (per queue: a kick
#: while this queue is up fills it) holds on one queue and fails on two,
#: where another queue's kick meets the premise: the one-queue projection
#: must not decide it. ``invented`` (some queue goes from s0 to s1 on a
#: jump) never holds on a concrete step (a jump goes from s0 to s2), but on
#: the sorted successor of (s0, s1) it seems to.
LIVE = """[variant]
name = "live"
summary = "Step premises that reductions of liveness get wrong when they are careless."

[machine]
states = ["s0", "s1", "s2"]
start = "s0"

[[variables]]
name = "v0"
scope = "queue"
type = "bool"
init = false
doc = "The queue's eventfd is full."

[[events]]
name = "up"
params = { queue = "queue" }
target = "queue"
doc = "One queue goes up."

[[events]]
name = "kick"
params = { queue = "queue" }
target = "queue"
doc = "One queue is kicked: it fills when up."

[[events]]
name = "jump"
params = { queue = "queue" }
target = "queue"
doc = "One queue jumps from s0 to s2."

[[transitions]]
name = "goes_up"
event = "up"
from = "s0"
to = "s1"
why = "up"

[[transitions]]
name = "stays_up"
event = "up"
from = ["s1", "s2"]
why = "already moved"

[[transitions]]
name = "fills"
event = "kick"
from = "s1"
effects = ["v0 := true"]
why = "an up queue fills"

[[transitions]]
name = "kick_ignored"
event = "kick"
from = ["s0", "s2"]
why = "only an up queue fills"

[[transitions]]
name = "jumps"
event = "jump"
from = "s0"
to = "s2"
why = "jump"

[[transitions]]
name = "jump_ignored"
event = "jump"
from = ["s1", "s2"]
why = "only from s0"

[[properties]]
name = "full_only_when_up"
kind = "invariant"
expr = "v0 => state == s1"
rationale = "Only an up queue fills."

[[properties]]
name = "fills"
kind = "leads_to"
events = ["kick"]
from = "state == s1"
to = "v0"
rationale = "Per queue: a kick while this queue is up fills it (not if the kick is another queue's)."

[[properties]]
name = "invented"
kind = "leads_to"
events = ["jump"]
from = "exists p: state[p] == s0 and state'[p] == s1"
to = "false"
rationale = "No jump takes a queue from s0 to s1, so this never has a premise."
"""

#: Several devices: ``arm`` asks KVM for an ioeventfd for every queue (each
#: answered on its own), ``drop`` gives them all back. ``ok`` is read by rows only.
SLOTTED = """[variant]
name = "slotted"
summary = "A table whose queues hold the host's slots."

[machine]
states = ["s0", "s1"]
start = "s0"

[[variables]]
name = "lim"
scope = "device"
type = "bool"
init = [false, true]
host = true
doc = "The host has a slot limit."

[[variables]]
name = "v0"
scope = "queue"
type = "bool"
init = false
doc = "The queue holds a slot."

[[events]]
name = "arm"
params = { ok = "bool" }
doc = "Every queue asks KVM for an ioeventfd."

[[events]]
name = "drop"
doc = "Every queue gives its ioeventfd back."

[[transitions]]
name = "armed"
event = "arm"
from = "s0"
to = "s1"
guard = "ok"
effects = ["v0 := true"]
why = "granted"

[[transitions]]
name = "refused"
event = "arm"
from = "s0"
guard = "not ok"
why = "refused"

[[transitions]]
name = "arm_again"
event = "arm"
from = "s1"
why = "already armed"

[[transitions]]
name = "dropped"
event = "drop"
from = ["s0", "s1"]
to = "s0"
effects = ["v0 := false"]
why = "given back"

[[properties]]
name = "held_when_armed"
kind = "invariant"
expr = "v0 == (state == s1)"
rationale = "A queue holds a slot exactly when armed."

[slots]
holders = ["v0"]
limit = "lim"
answer = "ok"
vhost = []
"""

SLOTTED_CONFIG = """table = "table.toml"

[host]
slots = 2

[[devices]]
name = "dev0"
queues = 2
vhost = true

[[devices]]
name = "dev1"
queues = 1
"""
