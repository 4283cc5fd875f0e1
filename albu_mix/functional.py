"""Pure kernels: arrays and plain numbers in, new arrays out.

Nothing here draws random numbers from a shared state or knows about albumentations. The
transform classes draw every parameter from their own generators and pass the numbers in.
Every kernel returns a new array and never writes into its inputs, which may be read-only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

__all__ = [
    "Box",
    "blend",
    "box_fraction",
    "centered_rect",
    "centered_square",
    "cutmix_box",
    "cutout",
    "cutout_fill_values",
    "paste_box",
    "resize_to",
]

#: A half-open pixel rectangle ``(y1, y2, x1, x2)``: rows ``y1 <= r < y2``, columns ``x1 <= c < x2``.
Box = tuple[int, int, int, int]


def centered_square(cy: int, cx: int, side: int, height: int, width: int) -> Box:
    """Square of ``side`` pixels centred on ``(cy, cx)``, clipped to the image (DeVries & Taylor, 2017).

    The top-left corner is ``cy - side // 2``, so an unclipped square has exactly ``side`` rows and
    columns, odd sides included (the paper's ``y ± side // 2`` loses a row for odd sides).
    """
    return centered_rect(cy, cx, side, side, height, width)


def cutmix_box(lam: float, cy: int, cx: int, height: int, width: int) -> Box:
    """The CutMix box for a drawn ``lam`` (Yun et al., 2019, Algorithm A1), clipped at the borders.

    Sides are ``int(H * sqrt(1 - lam))`` rows and ``int(W * sqrt(1 - lam))`` columns, centred on
    ``(cy, cx)``. Rows go with the height and columns with the width, so non-square images are
    right (the seed article swapped them).
    """
    ratio = math.sqrt(max(0.0, 1.0 - lam))
    cut_h = int(height * ratio)
    cut_w = int(width * ratio)
    return centered_rect(cy, cx, cut_h, cut_w, height, width)


def centered_rect(cy: int, cx: int, rect_h: int, rect_w: int, height: int, width: int) -> Box:
    """A ``rect_h`` × ``rect_w`` rectangle centred on ``(cy, cx)``, clipped to the image."""
    y1 = cy - rect_h // 2
    x1 = cx - rect_w // 2
    return (max(y1, 0), min(y1 + rect_h, height), max(x1, 0), min(x1 + rect_w, width))


def box_fraction(box: Box, height: int, width: int) -> float:
    """Share of the image's pixels inside ``box``: the partner's exact weight in CutMix."""
    y1, y2, x1, x2 = box
    area = max(0, y2 - y1) * max(0, x2 - x1)
    return area / (height * width)


def cutout_fill_values(
    img: np.ndarray,
    fill: float | Sequence[float] | str,
    has_channels: bool,
) -> np.ndarray | np.generic | str:
    """Resolve ``fill`` to a scalar or a per-channel array of the image's dtype, or ``"random"``.

    ``"mean"`` is the image's own per-channel mean (rounded for uint8), taken over every pixel and
    every image of a stack, as the Cutout paper fills with the data mean.
    """
    num_channels = img.shape[-1] if has_channels else 1
    if isinstance(fill, (int, float)) and not isinstance(fill, bool):  # the common case, kept cheap
        if img.dtype == np.uint8:
            if not 0 <= fill <= 255:
                raise ValueError(f"fill for a uint8 image must lie in [0, 255], got {[fill]}")
            return np.uint8(round(fill))
        _check_float_range(img.dtype, [fill])
        return img.dtype.type(fill)
    if isinstance(fill, str):
        if fill == "random":
            return fill
        axes = tuple(range(img.ndim - 1)) if has_channels else None
        values = np.atleast_1d(np.mean(img, axis=axes, dtype=np.float64))
    else:
        values = np.asarray(fill, dtype=np.float64).reshape(-1)
        if values.size not in (1, num_channels):
            raise ValueError(
                f"fill must be one number or one value per channel ({num_channels}), got {values.size} values"
            )
        if img.dtype == np.uint8 and (np.any(values < 0) or np.any(values > 255)):
            raise ValueError(f"fill for a uint8 image must lie in [0, 255], got {values.tolist()}")
        if img.dtype != np.uint8:
            _check_float_range(img.dtype, values.tolist())
    if img.dtype == np.uint8:
        return np.rint(values).astype(np.uint8)
    return values.astype(img.dtype)


def _check_float_range(dtype: np.dtype, values: Sequence[float]) -> None:
    """A fill must be a finite number of the image's float dtype (1e40 would fill float32 with inf)."""
    limit = float(np.finfo(dtype).max)
    if any(abs(v) > limit for v in values):
        raise ValueError(f"fill for a {dtype} image must lie within ±{limit:.4g}, got {list(values)}")


def cutout(
    img: np.ndarray,
    holes: Sequence[Box],
    fill: float | Sequence[float] | str = 0,
    fill_seed: int = 0,
    *,
    leading_axes: int = 0,
) -> np.ndarray:
    """Return a copy of ``img`` with each hole set to ``fill`` (DeVries & Taylor, 2017).

    ``img`` is H×W or H×W×C after ``leading_axes`` leading axes (1 for a stack of images or the
    slices of a volume, which all get the same holes). ``fill`` is a number, one value per
    channel, ``"mean"`` (the image's per-channel mean) or ``"random"`` (uniform noise over the
    dtype's range: 0..255 for uint8, [0, 1) for float32, drawn from ``fill_seed``).
    """
    out = img.copy()
    if not holes:
        return out
    has_channels = img.ndim == leading_axes + 3
    values = cutout_fill_values(img, fill, has_channels)
    rng = np.random.default_rng(fill_seed) if isinstance(values, str) else None
    lead = (slice(None),) * leading_axes
    for y1, y2, x1, x2 in holes:
        region = (*lead, slice(y1, y2), slice(x1, x2))
        if rng is not None:
            shape = out[region].shape
            if out.dtype == np.uint8:
                out[region] = rng.integers(0, 256, size=shape, dtype=np.uint8)
            else:
                out[region] = rng.random(size=shape, dtype=np.float32).astype(out.dtype, copy=False)
        else:
            out[region] = values
    return out


def blend(img1: np.ndarray, img2: np.ndarray, lam: float) -> np.ndarray:
    """``lam · img1 + (1 - lam) · img2`` in the images' dtype (Zhang et al., 2018).

    uint8 is rounded to nearest and saturated, never truncated; float32 stays float32. One OpenCV
    pass, no float64 temporaries. Any channel count, H×W×1 included. With ``lam`` exactly 1 (or 0)
    the result is a copy of ``img1`` (or ``img2``): the other image's values do not enter at all,
    so its inf or NaN pixels cannot turn into NaN.
    """
    if lam == 1.0 or lam == 0.0:  # one image alone, exactly (no inf·0 = NaN from the other)
        return (img1 if lam == 1.0 else img2).copy()
    out = cv2.addWeighted(img1, float(lam), img2, float(1.0 - lam), 0.0)
    if out.shape != img1.shape:  # OpenCV drops a trailing axis of length 1
        out = out.reshape(img1.shape)
    return out


def paste_box(img1: np.ndarray, img2: np.ndarray, box: Box) -> np.ndarray:
    """Copy of ``img1`` with the rows ``y1:y2`` and columns ``x1:x2`` taken from ``img2`` (CutMix)."""
    y1, y2, x1, x2 = box
    out = img1.copy()
    out[y1:y2, x1:x2] = img2[y1:y2, x1:x2]
    return out


def resize_to(img: np.ndarray, height: int, width: int, *, nearest: bool = False) -> np.ndarray:
    """Resize to ``height`` × ``width``: nearest for masks, area when shrinking, linear otherwise.

    Nearest is done by indexing (OpenCV's rule, source index ``floor(i · in / out)``), so masks of
    any dtype and channel count keep their exact values. Images with more than 4 channels are
    resized in groups of 4, since OpenCV's area interpolation takes at most 4. The result keeps the
    input's number of axes (OpenCV drops a trailing axis of length 1).
    """
    in_h, in_w = img.shape[:2]
    if (in_h, in_w) == (height, width):
        return img
    if nearest:
        rows = (np.arange(height, dtype=np.int64) * in_h) // height
        cols = (np.arange(width, dtype=np.int64) * in_w) // width
        return img[rows[:, np.newaxis], cols]
    interpolation = cv2.INTER_AREA if height <= in_h and width <= in_w else cv2.INTER_LINEAR
    if img.ndim == 3 and img.shape[2] > 4:
        parts = [
            resize_to(img[:, :, start : start + 4], height, width) for start in range(0, img.shape[2], 4)
        ]
        return np.concatenate(parts, axis=2)
    out = cv2.resize(img, (width, height), interpolation=interpolation)
    if img.ndim == 3 and out.ndim == 2:
        out = out[..., np.newaxis]
    return out
