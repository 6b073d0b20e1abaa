"""The import contracts of pyproject.toml hold, and they can fail."""

from __future__ import annotations

import pytest
from layering import ROOT, copy_project, lint_imports, package_dirs


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return tmp_path_factory.mktemp("layering")


def test_every_import_contract_is_kept():
    result = lint_imports()  # `lint-imports` as anyone runs it, in the project's root
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_package_folder_links_to_every_subsystem():
    for name, folder in package_dirs().items():
        if name != "virtio_notifier_spec":
            link = ROOT / "virtio_notifier_spec" / name.rsplit(".", 1)[1]
            assert link.is_symlink() and link.resolve() == folder, f"{link} should link to ../{folder.name}"


def _with_import(tree, module: str, line: str):
    root = copy_project(tree)
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text() + f"\n{line}\n")
    return lint_imports(root)


def test_layers_contract_fails_when_the_model_imports_the_oracle(tree):
    result = _with_import(tree / "upward", "model.machine", "from virtio_notifier_spec.oracle import drive  # noqa")
    assert result.returncode == 1
    assert "Subsystems import only downwards BROKEN" in result.stdout
    assert "virtio_notifier_spec.model.machine -> virtio_notifier_spec.oracle.drive" in result.stdout


def test_layers_contract_fails_when_two_siblings_import_each_other(tree):
    result = _with_import(tree / "sideways", "draw.dot", "from virtio_notifier_spec.proofs import result  # noqa")
    assert result.returncode == 1
    assert "Subsystems import only downwards BROKEN" in result.stdout


def test_reference_contract_fails_when_the_device_reads_the_table(tree):
    result = _with_import(tree / "device", "reference.kernel", "from virtio_notifier_spec.spec import schema  # noqa")
    assert result.returncode == 1
    assert "know nothing of the table BROKEN" in result.stdout
