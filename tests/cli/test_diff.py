"""`diff A B`: rows added, removed and changed, and the verdicts that changed,
as text and as JSON; exit 0 same, 1 different, 3 undecided, 2 bad input."""

from __future__ import annotations

import json

from click.testing import CliRunner

from virtio_notifier_spec.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_text_lists_the_changed_rows_and_verdicts_and_exits_1():
    result = run("diff", "proposal", "resolved", "--queues", "1")
    assert result.exit_code == 1, result.output
    assert "~ release_to_assigned (e): set_host_notifier in offlimits -> assigned" in result.output
    assert "+ release_to_pio: set_host_notifier in offlimits -> deassigned" in result.output
    assert "- assign_on_load (b): load in deassigned -> assigned" in result.output
    assert "  no_lost_kick                   fails -> holds" in result.output
    assert "+ release_unheld: set_host_notifier in assigned (stays)" in result.output  # rows that change nothing too
    assert result.output.endswith(
        "different: 22 row(s) added, 19 row(s) removed, 6 row(s) changed, 9 verdict(s) changed\n"
    )


def test_json_has_rows_added_removed_changed_and_verdicts():
    result = run("diff", "proposal", "resolved", "--queues", "1", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)["results"][0]
    assert (document["old"]["name"], document["new"]["name"], document["queues"]) == ("proposal", "resolved", [1])
    added = {r["name"] for r in document["rows"]["added"]}
    assert {"release_to_pio", "assign_on_vm_run", "reset_by_status_zero"} <= added
    assert {"assign_on_load", "reset_ignored"} <= {r["name"] for r in document["rows"]["removed"]}
    e = next(r for r in document["rows"]["changed"] if r["letter"] == "e")
    assert e["what"] == ["guard", "effects"] and e["from"] == "offlimits"
    assert e["old"]["guard"] == "not assign and not limited"
    assert "pending := false" in e["new"]["effects"]
    assert {"property": "no_lost_kick", "old": "fails", "new": "holds"} in document["verdicts"]
    assert document["differ"] is True and document["partial"] is False


def test_a_table_compared_with_itself_is_the_same_and_exits_0():
    result = run("diff", "resolved", "resolved", "--queues", "1")
    assert result.exit_code == 0
    assert result.output.endswith("the same: no row and no verdict differs\n")


def test_a_change_to_a_row_that_changes_nothing_is_a_difference(tmp_path):
    path = tmp_path / "v.toml"
    path.write_text(
        'extends = "resolved"\nvariant.name = "v"\n'
        '[[transitions]]\nname = "release_unheld"\nguard = "not assign and true"\n'
    )
    result = run("diff", str(path), "--queues", "1", "--json")
    assert result.exit_code == 1
    changed = json.loads(result.stdout)["results"][0]["rows"]["changed"]
    assert [(c["name"], c["what"], c["new"]["guard"]) for c in changed] == [
        ("release_unheld", ["guard"], "not assign and true")
    ] * 2


def test_runs_stopped_before_they_can_tell_exit_3():
    result = run("diff", "resolved", "resolved", "--queues", "2", "--max-states", "5", "--json")
    assert result.exit_code == 3
    document = json.loads(result.stdout)
    assert document["results"][0]["partial"] is True and document["stopped"] == "stopped at --max-states 5"


def test_one_table_that_extends_nothing_is_bad_input():
    result = run("diff", "resolved")
    assert result.exit_code == 2
    assert result.stderr == "error: resolved extends no table: name the two tables to compare (diff A B)\n"


def test_a_missing_table_is_one_line_and_exit_2():
    result = run("diff", "resolved", "/nonexistent/x.toml")
    assert result.exit_code == 2
    assert result.stderr == "error: /nonexistent/x.toml: no such file\n"
