"""The examples in the docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
from layering import package_dirs


def _modules() -> list[str]:
    # subpackages live in folders of their own (pyproject's package-dir), so
    # walk each one rather than the root's path
    names = []
    for package_name in package_dirs():
        package = importlib.import_module(package_name)
        names += [info.name for info in pkgutil.iter_modules(package.__path__, f"{package_name}.") if not info.ispkg]
    return sorted(n for n in ["virtio_notifier_spec", *names] if not n.endswith("__main__"))


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
