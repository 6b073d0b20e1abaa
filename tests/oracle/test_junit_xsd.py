"""JUnit XML that CI tools accept: every report validates against both
schemas shipped in oracle/xsd (Jenkins' xUnit plugin's junit-10.xsd and
the jenkins-junit.xsd JUnit 5 checks its reports with), and a report of
the old shape (no ``errors`` on testsuite, ``skipped`` on testsuites) does
not: the check can fail.
"""

from __future__ import annotations

import re

import pytest
import xmlschema

from virtio_notifier_spec.oracle.drive import drive
from virtio_notifier_spec.oracle.implementation import CallbackImplementation, ModelImplementation, state_observer
from virtio_notifier_spec.oracle.junit import XSD, junit_xml
from virtio_notifier_spec.oracle.testgen import generate
from virtio_notifier_spec.reference.abstraction import abstract, new_device, perform
from virtio_notifier_spec.spec.load import load_spec

SPEC = load_spec("resolved")


@pytest.fixture(scope="module")
def schemas():
    assert {p.name for p in XSD} == {"junit-10.xsd", "jenkins-junit.xsd"}
    return [xmlschema.XMLSchema(str(path)) for path in XSD]


def assert_valid(schemas, xml: bytes) -> None:
    for schema in schemas:
        errors = [f"{e.path}: {e.reason}" for e in schema.iter_errors(xml.decode())]
        assert not errors, (schema.url, errors)


def broken(device, event, args):
    if event == "vm_stop":
        raise RuntimeError("not written yet")
    perform(device, event, args)


def test_a_conforming_drive_report_validates_with_times(schemas):
    report = drive(SPEC, ModelImplementation(SPEC), generate(SPEC, 1, walks=2, pairs=False))
    xml = junit_xml(report, seconds=1.5)
    assert_valid(schemas, xml)
    assert re.search(rb'<testsuites [^>]*time="1.500"', xml) and re.search(rb'<testsuite [^>]*errors="0"', xml)


def test_a_diverging_report_with_tests_not_run_validates(schemas):
    impl = CallbackImplementation(new_device, broken, state_observer(SPEC, abstract), name="mine\x07")
    report = drive(SPEC, impl, generate(SPEC, 1, walks=2, seed=0), max_failures=1)
    assert report.failed and report.skipped
    xml = junit_xml(report, seconds=0.1)
    assert_valid(schemas, xml)
    assert b"<skipped>not run: the drive stopped after --max-failures</skipped>" in xml
    interrupted = drive(SPEC, impl, generate(SPEC, 1, walks=2, seed=0), should_stop=lambda: "interrupted")
    stopped = junit_xml(interrupted, seconds=0.1, stopped="interrupted")
    assert_valid(schemas, stopped)
    assert b"<skipped>not run: the drive was interrupted</skipped>" in stopped


def test_an_unobserving_report_validates(schemas):
    impl = CallbackImplementation(new_device, perform, lambda device: {}, name="blind")
    report = drive(SPEC, impl, generate(SPEC, 1, walks=1, tour=False, pairs=False))
    assert report.unobserved
    assert_valid(schemas, junit_xml(report))


def test_the_schemas_refuse_the_old_shape(schemas):
    report = drive(SPEC, ModelImplementation(SPEC), generate(SPEC, 1, walks=1, tour=False, pairs=False))
    xml = junit_xml(report).decode()
    no_errors = re.sub(r'(<testsuite [^>]*?) errors="0"', r"\1", xml)
    skipped_on_top = xml.replace("<testsuites ", '<testsuites skipped="0" ', 1)
    assert not schemas[1].is_valid(no_errors) or not schemas[0].is_valid(no_errors)
    assert all(not schema.is_valid(skipped_on_top) for schema in schemas)
