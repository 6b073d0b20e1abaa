"""A designs run stopped by --timeout or Ctrl-C prints the designs it judged
(text and JSON, naming the others and why) and writes nothing to --out."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from virtio_notifier_spec.cli import designs as designs_cli
from virtio_notifier_spec.cli.deadline import TimeoutReached
from virtio_notifier_spec.cli.main import cli
from virtio_notifier_spec.designs.catalogue import DESIGNS
from virtio_notifier_spec.designs.matrix import judge as real_judge


def _stopping_after(monkeypatch, judged: int, stop: type[BaseException]) -> None:
    """Judge ``judged`` designs, then stop (as the alarm or Ctrl-C would) in the next."""
    calls = [0]

    def judge(design, queues, *, drive):
        calls[0] += 1
        if calls[0] > judged:
            raise stop
        return real_judge(design, queues, drive=False)  # the oracle's suite is not what is tested here

    monkeypatch.setattr(designs_cli, "judge", judge)


@pytest.mark.parametrize(
    ("stop", "code", "why"), [(TimeoutReached, 3, "stopped at --timeout"), (KeyboardInterrupt, 130, "interrupted")]
)
def test_a_stopped_designs_run_keeps_the_designs_it_judged_and_writes_nothing(monkeypatch, tmp_path, stop, code, why):
    _stopping_after(monkeypatch, 2, stop)
    result = CliRunner().invoke(cli, ["designs", "--quiet", "--out", str(tmp_path)])
    assert result.exit_code == code
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:2]] == [d.name for d in DESIGNS[:2]]
    assert lines[2].startswith(f"{why}: 2 of {len(DESIGNS)} design(s) judged, not {DESIGNS[2].name}")
    assert not any(tmp_path.iterdir())  # a matrix of two designs would replace the whole one
    _stopping_after(monkeypatch, 2, stop)
    doc = json.loads(CliRunner().invoke(cli, ["designs", "--quiet", "--json", "--out", str(tmp_path)]).stdout)
    assert doc["stopped"] == why and [d["name"] for d in doc["results"]] == [d.name for d in DESIGNS[:2]]
    assert doc["not_run"] == [d.name for d in DESIGNS[2:]]
