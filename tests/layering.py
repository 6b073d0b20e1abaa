"""Check the import contracts of ``pyproject.toml`` with import-linter.

The subsystems live in top-level folders (``spec/``, ``model/``, ...) that
setuptools maps onto subpackages of ``virtio_notifier_spec``. import-linter
finds modules by walking the root package's folder, which holds none of
them, so the package is first assembled as one ordinary tree under
``build/layering`` (a copy, made anew each time) and checked there.

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


def assemble(into: Path, root: Path = ROOT) -> Path:
    """Copy every subpackage's ``*.py`` into one ordinary package tree under ``into``."""
    if into.exists():
        shutil.rmtree(into)
    for name, folder in package_dirs(root).items():
        target = into.joinpath(*name.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for source in folder.glob("*.py"):
            shutil.copy2(source, target / source.name)
    return into


def lint_imports(tree: Path, root: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``lint-imports`` on an assembled tree, with the contracts of ``root``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    program = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(program), str(root / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def main() -> int:
    result = lint_imports(assemble(ROOT / "build" / "layering"))
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
