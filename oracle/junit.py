"""JUnit XML for CI systems that show test results: a drive report
(:func:`junit_xml`), and any list of suites (:func:`junit_document`, which
``check --junit`` and ``verify --junit`` use).

What is written validates against the two JUnit schemas CI tools read
(``xsd/junit-10.xsd``, Jenkins' xUnit plugin's; ``xsd/jenkins-junit.xsd``,
the one JUnit 5 checks its reports with): ``testsuite`` has ``name``,
``tests``, ``failures``, ``errors``, ``skipped`` and ``time``; ``testsuites``
has no ``skipped``; a test not run is ``<skipped>reason</skipped>``, its
reason as text (the second schema allows no attribute there); elements come
in the order both schemas ask. ``time`` is seconds, three decimals: a suite's
is measured, a test case carries one only where its own time is known.

Deterministic apart from ``time``: test cases in suite order, no timestamps.
Every text from the implementation (its stderr, its error messages) is made
:func:`~.visible.visible` first: XML 1.0 cannot hold most control
characters, and a file with one is not well-formed.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.oracle.drive import drive
>>> from virtio_notifier_spec.oracle.implementation import ModelImplementation
>>> from virtio_notifier_spec.oracle.testgen import generate
>>> spec = load_spec("resolved")
>>> report = drive(spec, ModelImplementation(spec), generate(spec, 1, walks=1, tour=False, pairs=False))
>>> print(junit_xml(report, seconds=0.25).decode().splitlines()[1])
<testsuites name="virtio-notifier-spec oracle drive" tests="1" failures="0" errors="0" time="0.250">
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .drive import DriveReport
from .drive import Failure as DriveFailure
from .visible import visible

#: The schemas the reports validate against (tests/oracle/test_junit_xsd.py).
XSD = tuple(sorted((Path(__file__).resolve().parent / "xsd").glob("*.xsd")))


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a test case failed: ``kind`` is the failure's type attribute."""

    kind: str
    message: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Case:
    """One test case: passed, failed (``failure``) or not run (``skipped``, the reason)."""

    classname: str
    name: str
    failure: Failure | None = None
    skipped: str | None = None
    out: str | None = None
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    cases: tuple[Case, ...]
    seconds: float | None = None
    properties: tuple[tuple[str, str], ...] = ()
    err: str | None = None

    def counts(self) -> dict[str, str]:
        return {
            "tests": str(len(self.cases)),
            "failures": str(sum(c.failure is not None for c in self.cases)),
            "errors": "0",
            "skipped": str(sum(c.skipped is not None for c in self.cases)),
        }


def seconds_text(seconds: float) -> str:
    """A ``time`` attribute: seconds with three decimals (``1.250``)."""
    return f"{max(seconds, 0.0):.3f}"


def _case(parent: ET.Element, case: Case) -> None:
    attrs = {"classname": visible(case.classname), "name": visible(case.name)}
    if case.seconds is not None:
        attrs["time"] = seconds_text(case.seconds)
    node = ET.SubElement(parent, "testcase", attrs)
    if case.skipped is not None:
        ET.SubElement(node, "skipped").text = visible(case.skipped)
    if case.failure is not None:
        f = case.failure
        failure = ET.SubElement(node, "failure", {"type": f.kind, "message": visible(f.message)})
        failure.text = visible(f.text) if f.text else None
    if case.out is not None:
        ET.SubElement(node, "system-out").text = visible(case.out)


def junit_document(name: str, suites: list[Suite], seconds: float | None = None) -> bytes:
    """``suites`` as one JUnit XML document named ``name``; ``seconds`` the whole run's time."""
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.counts()[key])
    attrs = {"name": name, **{k: str(v) for k, v in totals.items()}}
    if seconds is not None:
        attrs["time"] = seconds_text(seconds)
    root = ET.Element("testsuites", attrs)
    for suite in suites:
        suite_attrs = {"name": visible(suite.name), **suite.counts()}
        if suite.seconds is not None:
            suite_attrs["time"] = seconds_text(suite.seconds)
        node = ET.SubElement(root, "testsuite", suite_attrs)
        if suite.properties:
            props = ET.SubElement(node, "properties")
            for key, value in suite.properties:
                ET.SubElement(props, "property", {"name": key, "value": visible(value)})
        for case in suite.cases:
            _case(node, case)
        if suite.err is not None:
            ET.SubElement(node, "system-err").text = visible(suite.err)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


_NOT_RUN = {
    "max_failures": "the drive stopped after --max-failures",
    "repeats": "it begins with a sequence that crashed the implementation in an earlier test",
    "timeout": "the drive stopped at --timeout",
    "interrupted": "the drive was interrupted",
}


def _later(failures: tuple[DriveFailure, ...]) -> list[str]:
    """The divergences after the first, each in a line."""
    return [f"then {f.symptom.text()}: {f.lines()[0]}" for f in failures]


def junit_xml(report: DriveReport, *, seconds: float | None = None, stopped: str | None = None) -> bytes:
    """The report as JUnit XML: one <testcase> per generated test; a test
    that stopped before its end (not applicable) and the tests not run
    (after --max-failures, repeating a crash, a drive stopped early) as
    skipped, each with why; ``seconds`` the drive's time; ``stopped`` how
    the envelope says why the drive stopped (``interrupted``, ...)."""
    cases = []
    for result in report.results:
        case = result.case
        classname = f"oracle.{case.kind}"
        if result.failure is not None:
            f = result.failure
            message = f"{f.symptom.text()}: {(f.lines() or [f.kind])[0]}"
            text = "\n".join([f.describe(), *f.lines(), *_later(result.later)])
            cases.append(Case(classname, case.name, failure=Failure(f.kind, message, text)))
        elif result.stopped is not None:
            cases.append(Case(classname, case.name, skipped=f"not applicable from {result.stopped}"))
        else:
            cases.append(Case(classname, case.name, out=case.describe()))
    reasons = report.skip_reasons or ("max_failures",) * len(report.skipped)
    for case, why in zip(report.skipped, reasons, strict=True):
        cases.append(Case(f"oracle.{case.kind}", case.name, skipped=f"not run: {_NOT_RUN.get(why, why)}"))
    if report.unobserved or (report.partly_observed and not report.failed):  # a suite that could not fail
        failure = Failure(report.verdict, report.observation.text())
        cases.append(Case("oracle.observation", "observation-coverage", failure=failure))
    verdict = report.verdict if stopped is None else f"{report.verdict} (stopped: {stopped})"
    properties = (
        ("coverage", report.coverage.text()),
        ("observation", report.observation.text()),
        ("implementation", report.implementation),
        ("env", report.env),
        ("verdict", verdict),
    )
    name = f"{report.implementation} vs {report.variant} in {report.env} ({report.queues} queues, seed {report.seed})"
    err = None if report.ok and stopped is None else report.text()
    suite = Suite(name, tuple(cases), seconds, properties, err)
    return junit_document("virtio-notifier-spec oracle drive", [suite], seconds)
