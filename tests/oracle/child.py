"""A child process for the oracle's tests: speaks the drive protocol (version
2 when offered, echoing ids; version 1 otherwise) and misbehaves on request.

    python child.py MODE [N] [LOG]

Modes: ``model`` (the resolved table itself, every field observed), ``bare``
(answers ok, observes nothing), ``refuses`` (ok=false to every event),
``crash-after`` (exits at the N-th event since the process started),
``double`` (after the N-th event's reply, answers the next request twice:
first again for that event, then for itself; only in the first process
the LOG names), ``hang`` (never answers an
event), ``noisy-crash`` (crashes with control characters on stderr),
``v1`` (knows only version 1: refuses a hello that offers 2). With LOG, every
start of the process appends its pid to that file.
"""

import json
import os
import sys
import time

mode = sys.argv[1]
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 0
first_process = True
if len(sys.argv) > 3:
    with open(sys.argv[3], "a+") as log:
        log.write(f"{os.getpid()}\n")
        log.seek(0)
        first_process = len(log.read().split()) == 1

impl = None
if mode == "model":
    from virtio_notifier_spec.oracle.implementation import ModelImplementation
    from virtio_notifier_spec.spec.load import load_spec

    impl = ModelImplementation(load_spec("resolved"))

version = 1
queues = 1
events = 0
owed = None  # (id, reply) answered twice on the next request


def send(doc, request):
    if version >= 2 and "id" in request:
        doc["id"] = request["id"]
    print(json.dumps(doc), flush=True)


for line in sys.stdin:
    request = json.loads(line)
    op = request["op"]
    if op == "quit":
        break
    if op == "hello":
        offered = request.get("protocol", 1)
        if mode == "v1" and offered != 1:
            print(json.dumps({"ok": False, "error": "protocol 1 only"}), flush=True)
            continue
        version = 1 if mode == "v1" else min(offered, 2)
        print(json.dumps({"ok": True, "protocol": version}), flush=True)
        continue
    if owed is not None:
        print(json.dumps(owed), flush=True)
        owed = None
    if op == "start":
        queues = request["queues"]
        observed = impl.start(request["queues"], request["limited"]) if impl else None
        send({"ok": True, "observed": observed} if observed else {"ok": True}, request)
        continue
    events += 1
    if mode == "refuses":
        send({"ok": False, "error": "not implemented"}, request)
        continue
    if mode == "crash-after" and events >= limit:
        sys.exit(3)
    if mode == "hang":
        time.sleep(60)
    if mode == "noisy-crash":
        sys.stderr.write("\x1b[31msegfault\x00\x07 in vq_handle_output\x0c\x1b[0m\n")
        sys.stderr.flush()
        sys.exit(139)
    observed = impl.event(request["event"], request["args"]) if impl else None
    reply = {"ok": True, "observed": observed} if observed else {"ok": True}
    send(reply, request)
    if mode == "double" and events == limit and first_process:
        owed = dict(reply, observed={"queues": [{"state": "offlimits"}] * queues})
        if version >= 2:
            owed["id"] = request["id"]
