"""The import contracts in pyproject.toml (``lint-imports``) hold, and they catch a forbidden import.

Each probe copies the packages to a temporary directory, adds one module with one forbidden import and
runs ``lint-imports`` there: it must fail and name that import. The working tree is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("passport", "oracle", "api", "devtools", "scripts", "cli", "tests")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # cwd comes first on lint-imports' sys.path, so the copy is analysed, not the installed project.
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python packages and pyproject.toml, copied (sources only)."""
    root = tmp_path_factory.mktemp("layering")
    shutil.copy2(ROOT / "pyproject.toml", root)
    keep_only_sources = shutil.ignore_patterns("__pycache__", "node", "static", "templates", "*.json", "*.js")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=keep_only_sources)
    return root


@pytest.fixture
def probe(tree: Path) -> Iterator[Path]:
    """The copied tree to write one offending module into; removed afterwards so probes stay independent."""
    yield tree
    for path in tree.glob("*/_layer_probe.py"):
        path.unlink()


def test_the_project_keeps_every_contract(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("package", "statement", "violation"),
    [
        ("passport", "import devtools.samples", "passport._layer_probe -> devtools.samples"),
        ("passport", "import cli", "passport._layer_probe -> cli"),
        ("oracle", "import scripts.errors", "oracle._layer_probe -> scripts.errors"),
        ("api", "import uvicorn", "api._layer_probe -> uvicorn"),
        ("passport", "import typer", "passport._layer_probe -> typer"),
        ("passport", "import oracle.merkle", "passport._layer_probe -> oracle.merkle"),
        ("oracle", "import api.errors", "oracle._layer_probe -> api.errors"),
        ("devtools", "import api.errors", "devtools._layer_probe -> api.errors"),
        ("scripts", "import tests.chain_backends", "scripts._layer_probe -> tests.chain_backends"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    probe: Path, package: str, statement: str, violation: str
) -> None:
    (probe / package / "_layer_probe.py").write_text(f'"""Layering probe."""\n\n{statement}\n')
    result = lint_imports(probe)
    assert result.returncode != 0, result.stdout
    assert violation in result.stdout, result.stdout
