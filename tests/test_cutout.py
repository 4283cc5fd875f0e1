"""Cutout: the paper's geometry, fills, dtypes, layouts, and inputs left untouched."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest
from conftest import make_image

from albu_mix import Cutout
from albu_mix.functional import centered_square, cutout


def holes_of(out: np.ndarray) -> np.ndarray:
    """Pixels changed from 1 to 0 (the image is all ones, the fill is 0)."""
    return (out == 0).all(axis=-1) if out.ndim == 3 else out == 0


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask)
    return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1


@pytest.mark.parametrize("side", [1, 2, 7, 8, 15, 16, 31])
def test_unclipped_hole_has_exactly_side_squared_pixels(side: int) -> None:
    image = np.ones((64, 80, 3), np.uint8)
    t = Cutout(side, fill=0, p=1.0)
    t.set_random_seed(side)
    seen = 0
    for _ in range(60):
        mask = holes_of(t(image=image)["image"])
        y1, y2, x1, x2 = bounding_box(mask)
        if y1 > 0 and x1 > 0 and y2 < 64 and x2 < 80:  # not touching the border: unclipped
            seen += 1
            assert mask.sum() == side * side
            assert (y2 - y1, x2 - x1) == (side, side)
    assert seen > 10


def test_kernel_square_is_centred_and_clipped() -> None:
    assert centered_square(10, 10, 5, 32, 32) == (8, 13, 8, 13)
    assert centered_square(10, 10, 4, 32, 32) == (8, 12, 8, 12)
    assert centered_square(0, 31, 8, 32, 32) == (0, 4, 27, 32)


def test_centres_are_uniform_over_the_whole_image_so_holes_clip() -> None:
    # Side 16 on 32x32 (the paper's CIFAR-10 setting): a hole is unclipped iff its centre is in
    # [8, 24] on both axes, probability (17/32)^2 = 0.282. A hole inside the image (CoarseDropout)
    # would never clip.
    image = np.ones((32, 32, 3), np.uint8)
    t = Cutout(16, fill=0, p=1.0)
    t.set_random_seed(0)
    n, unclipped, corner = 4000, 0, 0
    for _ in range(n):
        mask = holes_of(t(image=image)["image"])
        unclipped += mask.sum() == 256
        corner += bool(mask[0, 0])
    expected = (17 / 32) ** 2
    assert abs(unclipped / n - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
    # The corner pixel is covered when the centre's row and column are both in 0..8: (9/32)^2.
    covered = (9 / 32) ** 2
    assert abs(corner / n - covered) < 4 * np.sqrt(covered * (1 - covered) / n)


def test_fractional_size_is_relative_to_the_shorter_side() -> None:
    image = np.ones((40, 100), np.uint8)
    t = Cutout(0.25, fill=0, p=1.0)
    t.set_random_seed(1)
    for _ in range(30):
        y1, y2, x1, x2 = bounding_box(holes_of(t(image=image)["image"]))
        assert y2 - y1 <= 10 and x2 - x1 <= 10
    t.set_random_seed(1)
    sides = {max(np.ptp(np.nonzero(holes_of(t(image=image)["image"]))[0]) + 1, 0) for _ in range(60)}
    assert 10 in sides


def test_size_and_count_ranges_are_inclusive() -> None:
    t = Cutout((3, 5), num_holes=(1, 2), fill=0, p=1.0)
    t.set_random_seed(2)
    sides, counts = set(), set()
    for _ in range(300):
        params = t.draw({"image": np.zeros((50, 50), np.uint8)})
        counts.add(len(params["holes"]))
        for y1, y2, x1, x2 in params["holes"]:
            if 0 < y1 and y2 < 50:
                sides.add(y2 - y1)
    assert sides == {3, 4, 5} and counts == {1, 2}


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("channels", [None, 1, 3, 4, 16])
def test_dtypes_and_layouts_are_preserved(dtype, channels) -> None:
    image = make_image(33, 47, channels, dtype)
    before = image.copy()
    image.setflags(write=False)  # read-only input is accepted
    out = Cutout(0.5, num_holes=2, fill="random", p=1.0)(image=image)["image"]
    assert out.shape == image.shape and out.dtype == image.dtype
    assert not np.array_equal(out, image)
    np.testing.assert_array_equal(image, before)


def test_fill_values() -> None:
    image = np.full((20, 20, 3), 100, np.uint8)
    holes = [(0, 10, 0, 10)]
    np.testing.assert_array_equal(cutout(image, holes, (1, 2, 3))[0, 0], [1, 2, 3])
    np.testing.assert_array_equal(cutout(image, holes, 7.6)[0, 0], [8, 8, 8])  # rounded, not truncated
    varied = make_image(20, 20, 3)
    mean = np.rint(varied.reshape(-1, 3).mean(axis=0)).astype(np.uint8)
    np.testing.assert_array_equal(cutout(varied, holes, "mean")[5, 5], mean)
    noise = cutout(image, [(0, 20, 0, 20)], "random", fill_seed=3)
    assert noise.min() < 10 and noise.max() > 245
    fnoise = cutout(image.astype(np.float32) / 255, [(0, 20, 0, 20)], "random", fill_seed=3)
    assert fnoise.dtype == np.float32 and 0 <= fnoise.min() and fnoise.max() < 1


def test_fill_out_of_range_for_uint8_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"Cutout: fill for a uint8 image must lie in \[0, 255\], got \[300"):
        Cutout(4, fill=300, p=1.0)(image=np.zeros((8, 8, 3), np.uint8))


def test_per_channel_fill_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match=r"Cutout: fill must be one number or one value per channel \(3\), got 2"):
        Cutout(4, fill=(1, 2), p=1.0)(image=np.zeros((8, 8, 3), np.uint8))


def test_batch_and_volume_get_the_same_holes() -> None:
    images = np.ones((4, 30, 30, 3), np.uint8)
    pipeline = A.Compose([Cutout(9, num_holes=2, fill=0, p=1.0)], seed=0)
    out = pipeline(images=images)["images"]
    assert out.shape == images.shape
    assert all(np.array_equal(holes_of(out[0]), holes_of(o)) for o in out)
    assert holes_of(out[0]).any()
    volume = np.ones((5, 30, 30), np.float32)
    vout = A.Compose([Cutout(9, fill=0, p=1.0)], seed=0)(volume=volume)["volume"]
    assert vout.shape == volume.shape and vout.dtype == np.float32
    assert all(np.array_equal(vout[0] == 0, s == 0) for s in vout) and (vout[0] == 0).any()


def test_not_fired_returns_the_image_unchanged() -> None:
    image = make_image()
    out = Cutout(8, p=0.0)(image=image)["image"]
    np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"size": 0}, ValueError, r"Cutout: size in pixels must be >= 1, got 0"),
        ({"size": -3}, ValueError, r"Cutout: size in pixels must be >= 1, got -3"),
        ({"size": 1.5}, ValueError, r"Cutout: size as a fraction of the shorter side must be in \(0, 1\], got 1.5"),
        ({"size": (5, 2)}, ValueError, r"Cutout: size range must have min <= max, got \(5, 2\)"),
        ({"size": (2, 0.5)}, TypeError, r"Cutout: size range must be two ints or two floats"),
        ({"size": "big"}, TypeError, r"Cutout: size must be an int \(pixels\) or a float in \(0, 1\], got 'big'"),
        ({"size": 4, "num_holes": 0}, ValueError, r"Cutout: num_holes must be an int >= 1, got 0"),
        ({"size": 4, "fill": "blue"}, ValueError, r"Cutout: fill as a string must be 'random' or 'mean', got 'blue'"),
        ({"size": 4, "fill": None}, TypeError, r"Cutout: fill must be a number, a per-channel sequence"),
        ({"size": 4, "p": -0.1}, ValueError, r"Cutout: p must be a number in \[0, 1\], got -0.1"),
    ],
)
def test_bad_parameters(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        Cutout(**kwargs)


@pytest.mark.parametrize(
    ("image", "error", "match"),
    [
        (np.zeros((8, 8, 3), np.float64), TypeError, r"Cutout: image must have dtype uint8 or float32, got float64"),
        (np.zeros((8, 8), np.int32), TypeError, r"Cutout: image must have dtype uint8 or float32, got int32"),
        (np.zeros((8, 8), bool), TypeError, r"Cutout: image must have dtype uint8 or float32, got bool"),
        (np.zeros((0, 8, 3), np.uint8), ValueError, r"Cutout: image must not be empty, got shape \(0, 8, 3\)"),
    ],
)
def test_bad_images(image, error, match) -> None:
    with pytest.raises(error, match=match):
        Cutout(4, p=1.0)(image=image)
