"""The command line, run as a user runs it: ``python -m albu_mix`` and the ``albu-mix`` console script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

import albu_mix

MODULE = [sys.executable, "-m", "albu_mix"]


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=cwd, check=False)


def console_script() -> str:
    """The ``albu-mix`` script that ``pip install`` put next to this interpreter."""
    script = shutil.which("albu-mix", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("albu_mix is not installed with its console script in this environment")
    return script


def assert_clean_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit status 2, a one-line error after the usage, no traceback, nothing on stdout."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "cv2.error" not in done.stderr, done.stderr
    assert done.stdout == ""
    assert "python -m albu_mix demo: error: --out " in done.stderr, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, (fragment, done.stderr)


# ---- help and version -------------------------------------------------------------------------


def test_help_is_plain_text_with_the_module_invocation_as_program_name() -> None:
    done = run([*MODULE, "--help"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m albu_mix [-h] [--version] COMMAND ...\n")
    assert "``" not in done.stdout and ":func:" not in done.stdout  # no raw reST markup
    assert "demo" in done.stdout and "--version" in done.stdout
    assert "python -m albu_mix demo --out gallery.jpg" in done.stdout  # the examples, with the real name


def test_demo_help_names_its_options() -> None:
    done = run([*MODULE, "demo", "--help"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m albu_mix demo [-h] [--out PATH]\n")
    assert "--out PATH" in done.stdout and "albu_mix_demo.png" in done.stdout and "``" not in done.stdout


def test_console_script_uses_its_own_name() -> None:
    script = console_script()
    done = run([script, "--help"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: albu-mix [-h] [--version] COMMAND ...\n")
    assert "albu-mix demo --out gallery.jpg" in done.stdout
    bad = run([script, "demo", "--out", "gallery.txt"])
    assert bad.returncode == 2 and bad.stderr.startswith("usage: albu-mix demo "), bad.stderr


def test_version() -> None:
    done = run([*MODULE, "--version"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"albu_mix {albu_mix.__version__}\n"


def test_missing_command_is_a_usage_error() -> None:
    done = run(MODULE)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("usage: python -m albu_mix ") and "required: COMMAND" in done.stderr


# ---- demo: writing the gallery ------------------------------------------------------------------


def test_demo_writes_the_png_and_prints_its_path(tmp_path: Path) -> None:
    out = tmp_path / "gallery.png"
    done = run([*MODULE, "demo", "--out", str(out)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out.resolve())
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 1000


def test_demo_default_output(tmp_path: Path) -> None:
    done = run([*MODULE, "demo"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "albu_mix_demo.png").is_file()
    assert done.stdout.strip() == str((tmp_path / "albu_mix_demo.png").resolve())


def test_demo_extension_picks_the_format(tmp_path: Path) -> None:
    out = tmp_path / "gallery.JPG"
    done = run([*MODULE, "demo", "--out", str(out)])
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG, not a PNG under another name


# ---- demo: bad output paths, exit status 2, no traceback, nothing written -------------------------


@pytest.mark.parametrize("name", ["gallery.txt", "gallery.pdf", "gallery.pgm"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    done = run([*MODULE, "demo", "--out", name], cwd=tmp_path)
    assert_clean_error(done, f"'{name}'", f"'{Path(name).suffix}'", ".png", ".jpg")
    assert list(tmp_path.iterdir()) == []


def test_no_extension(tmp_path: Path) -> None:
    done = run([*MODULE, "demo", "--out", "gallery"], cwd=tmp_path)
    assert_clean_error(done, "no file extension")
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "gallery.png"
    done = run([*MODULE, "demo", "--out", str(out)])
    assert_clean_error(done, "does not exist", str(tmp_path / "missing"))
    assert not out.parent.exists()


def test_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    done = run([*MODULE, "demo", "--out", str(tmp_path / "file" / "gallery.png")])
    assert_clean_error(done)
    assert (tmp_path / "file").read_text() == "not a directory"


def test_output_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "gallery.png").mkdir()
    done = run([*MODULE, "demo", "--out", str(tmp_path / "gallery.png")])
    assert_clean_error(done, "is a directory")


def test_directory_not_writable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("permissions do not restrict this user (root)")
        done = run([*MODULE, "demo", "--out", str(locked / "gallery.png")])
        assert_clean_error(done, "permission denied")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses Linux's /proc, where no file can be created")
def test_write_failure_after_the_checks_is_clean() -> None:
    # /proc passes the up-front checks (an existing directory, writable by root), then refuses the
    # file itself: the failure of the write must end the same way, without a traceback.
    # (Not root: the up-front permission check refuses it already.)
    done = run([*MODULE, "demo", "--out", "/proc/albu_mix_gallery.png"])
    assert_clean_error(done, "/proc/albu_mix_gallery.png")
