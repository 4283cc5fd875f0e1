"""The demo gallery (the command line is in test_cli.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from albu_mix.demo import CLASS_NAMES, _rows, caption, load_samples, render_gallery, write_gallery


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


def test_write_gallery_picks_the_format_from_the_extension(tmp_path: Path) -> None:
    out = write_gallery(tmp_path / "new" / "gallery.jpg")  # the Python API creates missing folders
    assert out == tmp_path / "new" / "gallery.jpg" and out.read_bytes()[:3] == b"\xff\xd8\xff"


def test_write_gallery_refuses_an_extension_opencv_cannot_write(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot write a colour image as '.txt'"):
        write_gallery(tmp_path / "gallery.txt")
    assert list(tmp_path.iterdir()) == []


def test_captions_and_margins_say_what_each_tile_shows() -> None:
    label = np.array([1.0, 0, 0, 0], np.float32)
    assert caption(label, 1.0, mixes=True) == ["[1.00 0.00 0.00 0.00]", "not mixed"]
    assert caption(label, 0.25, mixes=True)[1] == "lambda=0.250"
    assert caption(label, 1.0, mixes=False) == ["[1.00 0.00 0.00 0.00]"]  # Cutout rows: no lambda at all
    titles = {" ".join(row.title): row for row in _rows(4)}
    assert "Cutout size 0.4 1-2 holes fill 0" in titles and "Cutout size 0.2-0.5 3 holes fill mean" in titles
    assert all(row.mixes for row in titles.values() if row.boxes)
