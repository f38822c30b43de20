"""The dependency rules of docs/ARCHITECTURE.md, checked on the import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("collector", "classifier", "router", "storage", "web", "app", "emulator")

# package -> top-level packages of ours it must never import
FORBIDDEN: dict[str, set[str]] = {
    "collector": {"classifier", "router", "storage", "web", "app", "emulator"},
    "classifier": {"collector", "router", "storage", "web", "app", "emulator"},
    "router": {"collector", "storage", "web", "app", "emulator"},
    "storage": {"web", "app", "emulator"},
    "web": {"emulator", "storage"},
    "app": {"emulator"},
    "emulator": {"storage", "web", "app", "classifier", "router"},
}


def imported_packages(path: Path) -> set[str]:
    """Return the top-level names a module imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_package_respects_layer_rules(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in modules_of(package)
    }
    offenders = {module: bad for module, bad in offenders.items() if bad}
    assert offenders == {}, f"{package} imports what its layer may not: {offenders}"


def test_web_imports_app_only_for_types() -> None:
    """web may name app's types, but only under TYPE_CHECKING, so there is no import loop."""
    for path in modules_of("web"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                guarded.update(id(child) for child in ast.walk(node))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "app":
                assert id(node) in guarded, f"{path.name} imports app at run time"


def test_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import storage.models\nfrom web.app import create_app\nfrom . import x\n")
    assert imported_packages(module) == {"storage", "web"}
