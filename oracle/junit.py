"""JUnit XML for a drive report, for CI systems that show test results.

Deterministic: test cases in suite order, no timestamps or durations. Every
text from the implementation (its stderr, its error messages) is made
:func:`~.visible.visible` first: XML 1.0 cannot hold most control
characters, and a file with one is not well-formed.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> from virtio_notifier_spec.oracle.drive import drive
>>> from virtio_notifier_spec.oracle.implementation import ModelImplementation
>>> from virtio_notifier_spec.oracle.testgen import generate
>>> spec = load_spec("resolved")
>>> report = drive(spec, ModelImplementation(spec), generate(spec, 1, walks=1, tour=False, pairs=False))
>>> print(junit_xml(report).decode().splitlines()[1])
<testsuites name="virtio-notifier-spec oracle drive" tests="1" failures="0" skipped="0">
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .drive import DriveReport, Failure
from .visible import visible

_NOT_RUN = {
    "max_failures": "the drive stopped after --max-failures",
    "repeats": "it begins with a sequence that crashed the implementation in an earlier test",
    "timeout": "the drive stopped at --timeout",
    "interrupted": "the drive was interrupted",
}


def _later(failures: tuple[Failure, ...]) -> list[str]:
    """The divergences after the first, each in a line."""
    return [f"then {f.symptom.text()}: {f.lines()[0]}" for f in failures]


def junit_xml(report: DriveReport) -> bytes:
    """The report as JUnit XML: one <testcase> per generated test."""
    observation_failed = report.unobserved or (report.partly_observed and not report.failed)
    failures = len(report.failed) + observation_failed
    skipped = len(report.skipped) + len(report.not_applicable)
    total = len(report.results) + len(report.skipped) + observation_failed
    attrs = {"tests": str(total), "failures": str(failures), "skipped": str(skipped)}
    root = ET.Element("testsuites", {"name": "virtio-notifier-spec oracle drive", **attrs})
    name = (
        f"{visible(report.implementation)} vs {report.variant} in {report.env} "
        f"({report.queues} queues, seed {report.seed})"
    )
    suite = ET.SubElement(root, "testsuite", {"name": name, **attrs})
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("coverage", report.coverage.text()),
        ("observation", report.observation.text()),
        ("implementation", visible(report.implementation)),
        ("env", report.env),
        ("verdict", report.verdict),
    ):
        ET.SubElement(props, "property", {"name": name, "value": value})
    for result in report.results:
        case = ET.SubElement(suite, "testcase", {"classname": f"oracle.{result.case.kind}", "name": result.case.name})
        if result.failure is not None:
            f = result.failure
            message = f"{f.symptom.text()}: {(f.lines() or [f.kind])[0]}"
            node = ET.SubElement(case, "failure", {"type": f.kind, "message": visible(message)})
            node.text = visible("\n".join([f.describe(), *f.lines(), *_later(result.later)]))
        elif result.stopped is not None:
            ET.SubElement(case, "skipped", {"message": visible(f"not applicable from {result.stopped}")})
        else:
            ET.SubElement(case, "system-out").text = result.case.describe()
    reasons = report.skip_reasons or ("max_failures",) * len(report.skipped)
    for case_info, why in zip(report.skipped, reasons, strict=True):
        case = ET.SubElement(suite, "testcase", {"classname": f"oracle.{case_info.kind}", "name": case_info.name})
        ET.SubElement(case, "skipped", {"message": f"not run: {_NOT_RUN.get(why, why)}"})
    if observation_failed:  # a suite that could not fail is a failure of its own
        case = ET.SubElement(suite, "testcase", {"classname": "oracle.observation", "name": "observation-coverage"})
        ET.SubElement(case, "failure", {"type": report.verdict, "message": report.observation.text()})
    if not report.ok:
        ET.SubElement(suite, "system-err").text = visible(report.text())
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
