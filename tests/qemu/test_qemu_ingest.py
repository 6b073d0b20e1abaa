"""`oracle ingest`: QEMU trace logs (checked in from real runs) turned into the
oracle's traces, judged by `oracle check`; bad logs are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli

LOGS = Path(__file__).parent / "logs"


def _run(*args):
    return CliRunner().invoke(cli, list(args))


def _ingest(tmp_path, name, *extra):
    out = tmp_path / f"{name}.jsonl"
    done = _run("oracle", "ingest", str(LOGS / f"{name}.log"), "--out", str(out), "--quiet", *extra)
    assert done.exit_code == 0, done.output
    return out


def test_a_vhost_user_fs_log_becomes_a_trace_that_conforms_on_a_limited_host(tmp_path):
    trace = _ingest(tmp_path, "fs", "--limited")
    events = [json.loads(line).get("event") for line in trace.read_text().splitlines()[1:]]
    assert "vhost_start" in events and "vhost_stop" in events
    assert events.index("vhost_stop") < len(events) - 1  # before the status write that caused it
    done = _run("oracle", "check", "--env", "qemu", str(trace))
    assert done.exit_code == 0, done.output


def test_a_virtio_blk_log_shows_its_kick_before_driver_ok_and_nothing_else(tmp_path):
    trace = _ingest(tmp_path, "blk-legacy-2")
    header = json.loads(trace.read_text().splitlines()[0])
    assert header["queues"] == 2 and header["limited"] is False
    done = _run("oracle", "check", "--env", "qemu", "--all", "--json", str(trace))
    assert done.exit_code == 1
    verdict = json.loads(done.output)["results"][0]
    assert [d["event"] for d in verdict["divergences"]] == ["kick(queue=0)"]
    assert {"state", "our_fd", "handled"} <= set(verdict["observation_coverage"]["observed"])


def test_a_damaged_line_is_one_line_with_file_and_line(tmp_path):
    log = tmp_path / "bad.log"
    lines = (LOGS / "blk-legacy-2.log").read_text().splitlines()
    lines[20] = "virtio_set_status vdev 0x1 val seven"
    log.write_text("\n".join(lines) + "\n")
    done = _run("oracle", "ingest", str(log))
    assert done.exit_code == 2
    assert done.output.strip().splitlines() == [
        f"error: {log}:21: virtio_set_status: expected `virtio_set_status vdev PTR val N`, found 'vdev 0x1 val seven'"
    ]


def test_a_log_without_the_trace_events_says_so(tmp_path):
    log = tmp_path / "empty.log"
    log.write_text("qemu-system-x86_64: warning: something\n")
    done = _run("oracle", "ingest", str(log))
    assert done.exit_code == 2 and "was QEMU started with -trace" in done.output
    done = _run("oracle", "ingest", str(tmp_path / "absent.log"))
    assert done.exit_code == 2 and "absent.log" in done.output


def test_a_log_of_two_devices_asks_which(tmp_path):
    log = tmp_path / "two.log"
    text = (LOGS / "blk-legacy-2.log").read_text()
    log.write_text(text + text.replace("@0xc010", "@0xc050").replace("0x5", "0x6"))
    done = _run("oracle", "ingest", str(log))
    assert done.exit_code == 2 and "--device" in done.output and "pio:0xc050" in done.output
    out = tmp_path / "one.jsonl"
    assert _run("oracle", "ingest", str(log), "--device", "pio:0xc010", "--out", str(out)).exit_code == 0


def test_a_vhost_user_blk_log_with_a_backend_disconnect_conforms_on_a_limited_host(tmp_path):
    trace = _ingest(tmp_path, "vub", "--limited")
    events = [json.loads(line).get("event") for line in trace.read_text().splitlines()[1:]]
    assert events.count("vhost_stop") == 3 and events.count("vhost_start") == 3
    done = _run("oracle", "check", "--env", "qemu", "--all", str(trace))
    assert done.exit_code == 0, done.output


def test_the_same_log_judged_as_an_unlimited_host_diverges_where_qemu_registers_nothing_of_its_own(tmp_path):
    trace = _ingest(tmp_path, "vub")  # the probe says unlimited; the proxy has no ioeventfd flag
    done = _run("oracle", "check", "--env", "qemu", str(trace))
    assert done.exit_code == 1 and "set_status(value=driver_ok" in done.output
    assert "assign_on_driver_ok" in done.output and "q0.our_fd: expected true, observed false" in done.output
