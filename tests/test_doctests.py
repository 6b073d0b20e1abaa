"""The examples in the docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import virtio_notifier_spec

PARTS = ("spec", "model", "proofs", "draw")


def _modules() -> list[str]:
    # subpackages live in folders of their own (pyproject's package-dir), so
    # walk each one rather than the root's path
    names = [
        info.name
        for info in pkgutil.iter_modules(virtio_notifier_spec.__path__, "virtio_notifier_spec.")
        if info.name != "virtio_notifier_spec.__main__"
    ]
    for part in PARTS:
        package = importlib.import_module(f"virtio_notifier_spec.{part}")
        names += [info.name for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}.")]
    return sorted(["virtio_notifier_spec", *names])


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
