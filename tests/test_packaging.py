"""Packaging: what `pip install .` ships, and an editable install that type checkers can see.

The wheels are built in-process with setuptools from a copy of the project in a temporary folder
(no network, nothing written to the checkout).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import albu_mix

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "albu_mix"
MIN_SETUPTOOLS = (77,)  # build-system.requires in pyproject.toml


def _setuptools_version() -> tuple[int, ...]:
    try:
        text = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return ()
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def build(tmp_path: Path, hook: str) -> zipfile.ZipFile:
    """Copy the project to tmp_path and run setuptools' PEP 517/660 ``hook`` there; the wheel."""
    if _setuptools_version() < MIN_SETUPTOOLS:
        pytest.skip(f"needs setuptools >= {MIN_SETUPTOOLS[0]} (the build backend), as the dev extra installs")
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, project / name)
    shutil.copytree(PACKAGE, project / "albu_mix", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path / "wheels"
    code = f"import sys; from setuptools import build_meta; build_meta.{hook}(sys.argv[1])"
    done = subprocess.run([sys.executable, "-c", code, str(out)], cwd=project, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def test_wheel_ships_every_module_the_data_and_the_type_marker(tmp_path: Path) -> None:
    names = set(build(tmp_path, "build_wheel").namelist())
    expected = {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert {"albu_mix/py.typed", "albu_mix/data/NOTICE.md", "albu_mix/data/rocket.jpg"} <= expected
    assert any(name.endswith(".png") for name in expected)
    package_files = {n for n in names if not n.startswith(f"albu_mix-{albu_mix.__version__}.dist-info/")}
    assert package_files == expected  # every module and subpackage, every data file, nothing else
    assert f"albu_mix-{albu_mix.__version__}.dist-info/licenses/LICENSE" in names


def test_editable_install_is_a_plain_path_entry(tmp_path: Path) -> None:
    """`pip install -e .` adds the project root to sys.path with a .pth path line, which mypy and pyright
    follow, rather than an import hook (a ``__editable__..._finder`` module), which they cannot."""
    wheel = build(tmp_path, "build_editable")
    pth = [n for n in wheel.namelist() if n.endswith(".pth")]
    assert len(pth) == 1, wheel.namelist()
    lines = wheel.read(pth[0]).decode().split()
    assert lines == [str(tmp_path / "project")], lines  # a path, not `import __editable__..._finder`
    assert not [n for n in wheel.namelist() if n.endswith(".py")], wheel.namelist()


def test_mypy_finds_the_installed_package(tmp_path: Path) -> None:
    """mypy, run on user code outside the repository, sees albu_mix as installed in this environment."""
    pytest.importorskip("mypy", reason="mypy is in the dev extra")
    try:
        importlib.metadata.distribution("albu_mix")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("albu_mix is not installed in this environment (pip install -e \".[dev]\")")
    user = tmp_path / "user_code.py"
    user.write_text(
        "import albu_mix\n"
        "\n"
        "cutout: albu_mix.Cutout = albu_mix.Cutout(0.25)\n"
        "wrong: int = albu_mix.__version__  # the one error mypy must report: it knows the type\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}  # the install only
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), user.name],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert "Cannot find implementation or library stub" not in done.stdout, done.stdout
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and errors[0].startswith("user_code.py:4:"), done.stdout + done.stderr
    assert 'expression has type "str"' in errors[0]
