"""What a non-editable install (the Docker image, a wheel) contains and needs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_pymorphy3_uses_the_c_dawg_extension() -> None:
    import pymorphy3.dawg

    assert pymorphy3.dawg.EXTENSION_AVAILABLE, "dawg2 (the C extension) is not importable"


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("incident_management-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_ships_every_package(wheel_names: set[str]) -> None:
    for package in ("collector", "classifier", "router", "storage", "web", "app", "emulator"):
        assert f"{package}/__init__.py" in wheel_names


def test_wheel_ships_migrations(wheel_names: set[str]) -> None:
    assert "storage/migrations/env.py" in wheel_names
    assert "storage/migrations/script.py.mako" in wheel_names
    versions = [n for n in wheel_names if n.startswith("storage/migrations/versions/")]
    assert any(n.endswith(".py") and "__init__" not in n for n in versions)


def test_wheel_ships_data_files(wheel_names: set[str]) -> None:
    assert "classifier/data/regions/kirov.json" in wheel_names
    assert any(n.startswith("router/data/") and n.endswith(".yaml") for n in wheel_names)


def test_wheel_ships_the_web_templates_and_static_files(wheel_names: set[str]) -> None:
    for name in ("base.html", "queue.html", "incident.html", "login.html", "error.html"):
        assert f"web/templates/{name}" in wheel_names
    for name in ("app.css", "app.js", "favicon.svg"):
        assert f"web/static/{name}" in wheel_names


def test_wheel_does_not_ship_tests(wheel_names: set[str]) -> None:
    assert not any(n.startswith("tests/") for n in wheel_names)
