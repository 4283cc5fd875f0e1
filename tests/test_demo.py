"""The demo gallery and the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from albu_mix.demo import CLASS_NAMES, load_samples, render_gallery


def test_bundled_samples_and_notice_ship_with_the_package() -> None:
    samples = load_samples()
    assert [s["label"] for s in samples] == list(range(len(CLASS_NAMES)))
    assert all(s["image"].dtype == np.uint8 and s["image"].shape == (192, 192, 3) for s in samples)
    notice = Path(__file__).parent.parent / "albu_mix" / "data" / "NOTICE.md"
    assert "CC0" in notice.read_text() and "public domain" in notice.read_text()


def test_gallery_is_deterministic_and_shows_every_row() -> None:
    first, second = render_gallery(), render_gallery()
    np.testing.assert_array_equal(first, second)
    assert first.shape[0] > 7 * 192 and first.shape[2] == 3


def test_cli_writes_the_png_and_prints_its_path(tmp_path: Path) -> None:
    out = tmp_path / "gallery.png"
    done = subprocess.run([sys.executable, "-m", "albu_mix", "demo", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out.resolve())
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 1000


def test_cli_default_output(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "albu_mix", "demo"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "albu_mix_demo.png").is_file()
    assert done.stdout.strip().endswith("albu_mix_demo.png")
