"""A configurable child for the oracle's tests, written to the drive protocol
(spec/PROTOCOL.md): a table or a real design, with a fixed vhost
configuration, reporting only some fields, as a VMM's test harness would.

    python vmm_child.py [--spec NAME | --design NAME] [--serves PATTERN]
                        [--observe FIELDS] [--declare] [--protocol N]
                        [--forget-after N] [--die-at N] [--env-log FILE]

- ``--spec NAME``: the table it implements (default ``resolved``), taking
  the table's first choice where it has several;
- ``--design NAME``: a design of ``designs/`` on the simulated host instead;
- ``--serves PATTERN``: which queues vhost serves, ``1`` or ``0`` for each
  queue, repeated (default ``1``: every queue); fixed for the device's life;
- ``--observe FIELDS``: the fields reported, comma-separated (default every
  variable and ``handled``; ``none`` for nothing);
- ``--declare``: say in the hello reply which fields it observes (version 3);
- ``--protocol N``: the newest version it speaks (default 3);
- ``--forget-after N``: after the N-th event of a test, report nothing more;
- ``--die-at N``: exit at the N-th event since the process started;
- ``--env-log FILE``: append the environment the oracle names (hello and
  each start) to FILE, one line each.
"""

from __future__ import annotations

import argparse
import json
import sys

from virtio_notifier_spec.model.machine import Machine
from virtio_notifier_spec.oracle.observation import HANDLED, full_observation
from virtio_notifier_spec.spec.load import load_spec

parser = argparse.ArgumentParser()
parser.add_argument("--spec", default="resolved")
parser.add_argument("--design")
parser.add_argument("--serves", default="1")
parser.add_argument("--observe")
parser.add_argument("--declare", action="store_true")
parser.add_argument("--protocol", type=int, default=3)
parser.add_argument("--forget-after", type=int)
parser.add_argument("--die-at", type=int)
parser.add_argument("--env-log")
opts = parser.parse_args()

spec = load_spec(opts.spec, env="unrestricted")
names = [v.name for v in spec.device_variables] + [v.name for v in spec.queue_variables] + [HANDLED]
observe = set(names) if opts.observe is None else set() if opts.observe == "none" else set(opts.observe.split(","))


def served(queues: int) -> tuple[bool, ...]:
    return tuple(opts.serves[q % len(opts.serves)] == "1" for q in range(queues))


class Table:
    """The table as code: its state, and its first choice at each step."""

    def __init__(self, queues: int, limited: bool) -> None:
        self.machine = Machine(spec, queues)
        layout = self.machine.layout
        wanted = served(queues)
        serves = layout.queue.index("vhost_serves")
        self.state = next(
            s
            for s in self.machine.initial_states()
            if s.device[layout.device.index("limited")] == limited and tuple(q[serves] for q in s.queues) == wanted
        )

    def observed(self, pre=None, kicked=None) -> dict:
        return full_observation(spec, pre, self.state, kicked)

    def event(self, name: str, args: dict) -> dict:
        inst = self.machine.instance(name, **args)
        pre = self.state
        if self.machine.enabled(pre, inst):
            self.state = self.machine.step(pre, inst).choices[0].post
        return self.observed(pre, inst.target if name == "kick" else None)


class Design:
    """A design of designs/, as its oracle run drives it."""

    def __init__(self, queues: int, limited: bool) -> None:
        from virtio_notifier_spec.designs.analysis import observation
        from virtio_notifier_spec.designs.catalogue import entry
        from virtio_notifier_spec.designs.host import Run

        self.observation = observation
        self.run = Run(entry(opts.design).design, queues, limited, served(queues))
        self.queues = queues

    def observed(self, handled=None) -> dict:
        return self.observation(spec, self.run.state(spec), handled or (False,) * self.queues)

    def event(self, name: str, args: dict) -> dict:
        from virtio_notifier_spec.designs.host import DesignAbort

        try:
            handled = self.run.perform(name, dict(args))
        except DesignAbort as stop:
            print(f"abort: {stop}", file=sys.stderr, flush=True)
            sys.exit(134)
        return self.observed(handled)


def shown(full: dict, forget: bool) -> dict | None:
    """Only the fields this child observes."""
    if forget or not observe:
        return None
    device = {k: v for k, v in full["device"].items() if k in observe}
    queues = [{k: v for k, v in q.items() if k in observe} for q in full["queues"]]
    doc = {}
    if device:
        doc["device"] = device
    if any(queues):
        doc["queues"] = queues
    return doc


version = 1
device = None
steps = 0
events = 0


def send(doc: dict, request: dict) -> None:
    if version >= 2 and "id" in request:
        doc["id"] = request["id"]
    print(json.dumps(doc), flush=True)


def log_env(where: str, request: dict) -> None:
    if opts.env_log:
        with open(opts.env_log, "a") as out:
            out.write(f"{where} {request.get('env')}\n")


for line in sys.stdin:
    request = json.loads(line)
    op = request["op"]
    if op == "quit":
        break
    if op == "hello":
        log_env("hello", request)
        version = min(request.get("protocol", 1), opts.protocol)
        reply = {"ok": True, "protocol": version, "implementation": opts.design or f"vmm-child:{opts.spec}"}
        if opts.declare:
            reply["observes"] = sorted(observe)
        print(json.dumps(reply), flush=True)
        continue
    if op == "start":
        log_env("start", request)
        make = Design if opts.design else Table
        device = make(request["queues"], request["limited"])
        steps = 0
        send({"ok": True, "observed": shown(device.observed(), False)}, request)
        continue
    events += 1
    steps += 1
    if opts.die_at is not None and events >= opts.die_at:
        sys.exit(3)
    full = device.event(request["event"], request["args"])
    forget = opts.forget_after is not None and steps > opts.forget_after
    send({"ok": True, "observed": shown(full, forget)}, request)
