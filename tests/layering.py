"""Check the import contracts of ``pyproject.toml`` with import-linter.

The subsystems live in top-level folders (``spec/``, ``model/``, ...) that
setuptools maps onto subpackages of ``virtio_notifier_spec``; the package's
own folder links to each of them (``virtio_notifier_spec/spec -> ../spec``),
so import-linter, which finds modules by walking that folder, sees them all
and ``lint-imports`` runs as it is, from the project's root.

    python tests/layering.py            # exit 0 when every contract is kept
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def package_dirs(root: Path = ROOT) -> dict[str, Path]:
    """Each subpackage's import name and the folder it lives in."""
    with open(root / "pyproject.toml", "rb") as f:
        mapping = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    return {name: root / folder for name, folder in mapping.items()}


def copy_project(into: Path, root: Path = ROOT) -> Path:
    """The package's folders (links kept) and ``pyproject.toml`` copied under
    ``into``: a tree whose imports a test may break without touching ours."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    for folder in package_dirs(root).values():
        shutil.copytree(folder, into / folder.name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(root / "pyproject.toml", into / "pyproject.toml")
    return into


def lint_imports(root: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``lint-imports`` in ``root``, on the package found there."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    program = Path(sys.executable).parent / "lint-imports"
    return subprocess.run([str(program), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, check=False)


def main() -> int:
    result = lint_imports()
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
