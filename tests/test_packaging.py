"""Installing the distribution adds one top-level import name, the project's own."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_lives_under_the_project_name():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = config["packages"]
    assert {name.split(".")[0] for name in packages} == {"virtio_notifier_spec"}
    for name, folder in config["package-dir"].items():
        assert name in packages
        assert (ROOT / folder / "__init__.py").is_file(), folder


def test_the_tables_ship_with_the_package():
    from virtio_notifier_spec.spec.load import SPEC_DIR, VARIANTS

    for name in (*VARIANTS, "common"):
        assert (SPEC_DIR / f"{name}.toml").is_file()
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "*.toml" in patterns["virtio_notifier_spec.spec"]
