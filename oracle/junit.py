"""JUnit XML for a drive report, for CI systems that show test results.

Deterministic: test cases in suite order, no timestamps or durations.

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

from .drive import DriveReport


def junit_xml(report: DriveReport) -> bytes:
    """The report as JUnit XML: one <testcase> per generated test."""
    failures = len(report.failed)
    total = len(report.results) + len(report.skipped)
    attrs = {"tests": str(total), "failures": str(failures), "skipped": str(len(report.skipped))}
    root = ET.Element("testsuites", {"name": "virtio-notifier-spec oracle drive", **attrs})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": f"{report.implementation} vs {report.variant} ({report.queues} queues, seed {report.seed})",
            **attrs,
        },
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (("coverage", report.coverage.text()), ("implementation", report.implementation)):
        ET.SubElement(props, "property", {"name": name, "value": value})
    for result in report.results:
        case = ET.SubElement(suite, "testcase", {"classname": f"oracle.{result.case.kind}", "name": result.case.name})
        if result.failure is not None:
            f = result.failure
            node = ET.SubElement(case, "failure", {"type": f.kind, "message": (f.lines() or [f.kind])[0]})
            node.text = "\n".join([f.describe(), *f.lines()])
        else:
            ET.SubElement(case, "system-out").text = result.case.describe()
    for case_info in report.skipped:
        case = ET.SubElement(suite, "testcase", {"classname": f"oracle.{case_info.kind}", "name": case_info.name})
        ET.SubElement(case, "skipped", {"message": "not run: the drive stopped after --max-failures"})
    if report.shrunk is not None:
        ET.SubElement(suite, "system-err").text = report.text()
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
