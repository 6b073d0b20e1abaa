"""One check covers every kind of property: `check`, `verify`, `diff`, the
diff picture and their JSON give a verdict on the properties of infinite
runs too (or say "not checked" and which command checks them), and the
exit code follows every property checked.

The table of `tables/release_stays_slow.toml` is six lines that `extend`
resolved: vhost's release no longer restarts the fast path (QEMU's 2011
design). Every invariant and step property still holds; only
`fast_path_after_release`, a `leads_to`, fails."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.draw.diff import diff_text, spec_diff
from virtio_notifier_spec.draw.generate import Runs
from virtio_notifier_spec.model.explore import explore
from virtio_notifier_spec.spec.load import load_spec

SLOW = Path(__file__).with_name("tables") / "release_stays_slow.toml"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_the_fixture_is_six_lines_the_readme_shows_and_breaks_no_safety_property():
    assert len(SLOW.read_text().splitlines()) == 6
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"```toml\n{SLOW.read_text()}```" in readme
    safety = explore(load_spec(SLOW), 2)
    assert safety.counterexamples == {}  # what check said before it checked every kind


def test_check_fails_on_the_release_that_stays_slow_with_its_lasso():
    done = run("check", "--spec", SLOW, "--queues", "1-2", "--quiet")
    assert done.exit_code == 1, done.output
    row = next(line for line in done.output.splitlines() if "fast_path_after_release " in line)
    assert "FAILS (1 q, lasso 3+0)" in row
    assert "release_stays_slow, 1 queue(s): fast_path_after_release FAILS" in done.output
    assert "then for ever: nothing happens" in done.output
    assert "result" in done.output and "1 fail" in done.output  # the runs table counts it too


def test_check_json_gives_the_same_verdicts_as_the_text():
    done = run("check", "--spec", SLOW, "--queues", "1-2", "--json")
    assert done.exit_code == 1
    (one, two) = json.loads(done.stdout)["results"]
    for r in (one, two):
        assert r["ok"] is False and r["verdicts"]["fast_path_after_release"] == "fails"
        assert r["verdicts"]["kick_eventually_handled"] == "holds" and r["verdicts"]["no_lost_kick"] == "holds"
        assert {"kick_eventually_handled", "fast_path_recoverable", "no_deadlock"} <= set(r["verdicts"])
    lasso = one["lassos"]["fast_path_after_release"]
    assert lasso["queues"] == 1 and lasso["cycle"] == []
    assert [s["event"] for s in lasso["stem"]["steps"]] == ["set_status", "set_host_notifier", "set_host_notifier"]
    assert {p for part in one["liveness"] for p in part["properties"]} == {
        "kick_eventually_handled",
        "fast_path_after_release",
        "fast_path_recoverable",
        "no_deadlock",
    }


def test_verify_of_the_variant_fails_and_keeps_resolved_passing():
    done = run("verify", "--spec", SLOW, "--queues", "1-2", "--proposal-queues", "1", "--quiet")
    assert done.exit_code == 1, done.output
    row = next(line for line in done.output.splitlines() if "fast_path_after_release " in line)
    assert "FAILS (1 q, lasso 3+0)" in row and "every N" in row  # the one-queue projection decides every N


def test_verify_json_has_every_kind_in_each_run():
    done = run("verify", "--queues", "1", "--proposal-queues", "1", "--json")
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    runs = {r["variant"]: r for r in document["results"] if r["queues"] == 1}
    assert runs["proposal"]["verdicts"]["kick_eventually_handled"] == "fails"
    assert runs["resolved"]["verdicts"]["kick_eventually_handled"] == "holds"
    assert "liveness" not in document  # one place for every verdict: the runs


def test_diff_says_the_liveness_verdict_changed_in_text_and_json():
    text = run("diff", SLOW, "--queues", "1", "--quiet")
    assert text.exit_code == 1
    assert "  fast_path_after_release  holds -> fails" in text.output
    assert text.output.endswith("different: 1 row(s) changed, 1 verdict(s) changed\n")
    document = json.loads(run("diff", SLOW, "--queues", "1", "--json").stdout)["results"][0]
    assert document["verdicts"] == [{"property": "fast_path_after_release", "old": "holds", "new": "fails"}]


def test_the_diff_picture_shows_the_liveness_verdict():
    runs = Runs((1,))
    old, new = load_spec("resolved"), load_spec(SLOW)
    diff = spec_diff(old, new, runs.of(old), runs.of(new))
    assert diff.verdicts == (("fast_path_after_release", "holds", "fails"),)
    assert "fast_path_after_release  holds -> fails" in diff_text(diff)


def test_a_graph_too_large_beside_the_search_is_not_checked_with_the_command_that_checks_it():
    done = run("check", "--queues", "16", "--symmetry", "--quiet")
    assert done.exit_code == 0, done.output  # not checked is not a failure
    row = next(line for line in done.output.splitlines() if "fast_path_recoverable " in line)
    assert "not checked (16 q)" in row
    assert "virtio-notifier-spec liveness --spec resolved --queues 16 --symmetry checks it" in " ".join(
        done.output.split()
    )
    document = json.loads(run("check", "--queues", "16", "--symmetry", "--json").stdout)["results"][0]
    assert document["verdicts"]["fast_path_recoverable"] == "not checked"
    assert "support search" in document["not_checked"]["fast_path_recoverable"]
    assert document["verdicts"]["kick_eventually_handled"] == "holds"  # the one-queue projection: every N


def test_property_selects_liveness_properties_too():
    done = run("check", "--spec", SLOW, "--queues", "1", "--property", "no_lost_kick", "--json")
    assert done.exit_code == 0
    assert list(json.loads(done.stdout)["results"][0]["verdicts"]) == ["no_lost_kick"]
    done = run("check", "--spec", SLOW, "--queues", "1", "--property", "fast_path_after_release", "--json")
    assert done.exit_code == 1
    assert json.loads(done.stdout)["results"][0]["verdicts"] == {"fast_path_after_release": "fails"}


def test_a_search_stopped_early_leaves_liveness_unknown_and_exits_3():
    done = run("check", "--queues", "2", "--max-states", "20", "--json")
    assert done.exit_code == 3
    verdicts = json.loads(done.stdout)["results"][0]["verdicts"]
    assert verdicts["kick_eventually_handled"] == "unknown" and verdicts["no_deadlock"] == "unknown"


def test_check_traces_writes_the_lasso_too(tmp_path):
    done = run("check", "--spec", SLOW, "--queues", "1", "--quiet", "--traces", tmp_path)
    assert done.exit_code == 1
    names = sorted(p.name for p in tmp_path.iterdir())
    stem = "release_stays_slow-1q-fast_path_after_release"
    assert names == [f"{stem}.itf.json", f"{stem}.jsonl"]


def test_scale_gives_the_liveness_verdicts_for_every_n_where_the_projection_decides(tmp_path):
    one = tmp_path / "one.toml"
    one.write_text('table = "resolved"\n\n[[devices]]\nname = "d"\nqueues = 2\n')
    done = run("scale", "--spec", SLOW, "--queues", "1-64", "--config", one, "--quiet")
    assert done.exit_code == 1, done.output
    text = " ".join(done.output.split())
    assert "leads_to fast_path_after_release: FAILS (1 q, lasso 3+0) for every N (one-queue projection)" in text
    assert "recoverable fast_path_recoverable: not checked (64 q)" in text
    document = json.loads(run("scale", "--queues", "1-64", "--config", one, "--json").stdout)
    assert document["results"][-1]["verdicts"]["kick_eventually_handled"] == "holds"


def test_liveness_and_replay_name_the_kinds_they_leave_to_check():
    done = run("liveness", "--queues", "1", "--json")
    assert (
        "virtio-notifier-spec check --spec resolved --queues 1 checks it"
        in json.loads(done.stdout)["not_checked"]["no_lost_kick"]
    )
    done = run("replay", "--spec", "resolved", "reset", "--json")
    live = json.loads(done.stdout)["results"][0]["liveness"]
    assert live["load_is_history_free"]["verdict"] == "not checked"
    assert live["fast_path_recoverable"]["verdict"] == "not checked" and live["no_deadlock"]["verdict"] == "holds"
    proved = json.loads(run("prove", "--json").stdout)
    assert "virtio-notifier-spec liveness --spec resolved checks it" in proved["not_checked"]["no_deadlock"]
