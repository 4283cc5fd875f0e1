"""What MixUp and CutMix do to each kind of target: one pure function per transform and target kind.

Arrays and plain numbers in, new arrays out; nothing here knows albumentations or draws random
numbers. The partner's value always arrives already brought to the primary's geometry (same height
and width; annotations in the primary's coordinates).

Coordinates follow albumentations' internal conventions, which the transforms hand over unchanged:

- boxes: ``(N, 4 + k)`` rows ``x_min, y_min, x_max, y_max`` normalised to [0, 1], then ``k`` extra
  columns (encoded label fields) that travel with their row;
- keypoints: ``(N, 5 + k)`` rows ``x, y, z, angle, scale`` in pixels, then extra columns;
- the CutMix region: a pixel :data:`~albu_mix.functional.Box` ``(y1, y2, x1, x2)``, half-open.

Primary rows always come first, then the partner's, so a caller can tell which sample a box or a
keypoint came from by its position (see ``MixUp``/``CutMix``: ``mix_sources``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..functional import Box, blend, paste_box

__all__ = [
    "cutmix_bboxes",
    "cutmix_image",
    "cutmix_keypoints",
    "cutmix_mask",
    "cutmix_masks",
    "mixup_bboxes",
    "mixup_image",
    "mixup_keypoints",
    "mixup_mask",
    "mixup_masks",
    "resize_keypoints",
]


# ---------------------------------------------------------------------------------------------
# MixUp (Zhang et al., 2018)
# ---------------------------------------------------------------------------------------------


def mixup_image(image: np.ndarray, partner: np.ndarray, lam: float) -> np.ndarray:
    """``lam · image + (1 - lam) · partner`` in the image's dtype (uint8 rounded to nearest)."""
    return blend(image, partner, lam)


def mixup_mask(mask: np.ndarray, partner: np.ndarray, lam: float) -> np.ndarray:
    """Class ids are never blended: a copy of the mask of the sample with the larger weight
    (the primary's when ``lam >= 0.5``)."""
    return (mask if lam >= 0.5 else partner).copy()


def mixup_masks(masks: Any, partner: Any) -> Any:
    """Instance masks: the primary's, then the partner's (N + M masks), as a list or a stacked array
    like the primary's."""
    return _concat_masks([np.array(m) for m in masks], [np.array(m) for m in partner], masks)


def mixup_bboxes(boxes: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """Both samples' boxes: the primary's rows, then the partner's (Zhang et al. mix whole images,
    so every object of both stays visible)."""
    return _concat_rows(boxes, partner)


def mixup_keypoints(keypoints: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """Both samples' keypoints: the primary's rows, then the partner's."""
    return _concat_rows(keypoints, partner)


# ---------------------------------------------------------------------------------------------
# CutMix (Yun et al., 2019)
# ---------------------------------------------------------------------------------------------


def cutmix_image(image: np.ndarray, partner: np.ndarray, box: Box) -> np.ndarray:
    """The primary with the partner's pixels in exactly ``box``."""
    return paste_box(image, partner, box)


def cutmix_mask(mask: np.ndarray, partner: np.ndarray, box: Box) -> np.ndarray:
    """The primary's mask with the partner's mask pasted in exactly the same box as the pixels."""
    return paste_box(mask, partner, box)


def cutmix_masks(masks: Any, partner: Any, box: Box) -> Any:
    """Instance masks: the primary's with the region zeroed, then the partner's zeroed outside it
    (N + M masks, in that order), so each mask covers exactly the pixels its object still has."""
    y1, y2, x1, x2 = box
    kept = []
    for m in masks:
        out = np.array(m)
        out[y1:y2, x1:x2] = 0
        kept.append(out)
    pasted = []
    for m in partner:
        source = np.asarray(m)
        out = np.zeros_like(source)
        out[y1:y2, x1:x2] = source[y1:y2, x1:x2]
        pasted.append(out)
    return _concat_masks(kept, pasted, masks)


def cutmix_bboxes(
    boxes: np.ndarray,
    partner: np.ndarray,
    box: Box,
    height: int,
    width: int,
    *,
    min_area: float = 0.0,
    min_visibility: float = 0.0,
    min_width: float = 0.0,
    min_height: float = 0.0,
) -> np.ndarray:
    """Boxes after pasting the partner's ``box`` region into the primary.

    - Each primary box is cut to what stays visible outside the region: where the region spans the
      box's whole width (height) and covers its top or bottom (left or right) edge, that side moves
      to the region's border, as albumentations' ``CoarseDropout`` resizes boxes to their visible
      part; a fully covered box disappears.
    - Each partner box is cropped to the region.

    Either kind is then dropped when its visible area in pixels is 0 or below ``min_area``, when the
    visible share of its area before the cut is below ``min_visibility``, or when the box is
    narrower than ``min_width`` or lower than ``min_height`` pixels (the pipeline's ``BboxParams``).
    Rows keep their extra columns; the primary's come first.
    """
    boxes, partner = _rows(boxes, 4), _rows(partner, 4)
    y1, y2, x1, x2 = box
    region = np.array([x1 / width, y1 / height, x2 / width, y2 / height])
    limits = (height, width, min_area, min_visibility, min_width, min_height)
    kept = _filter_boxes(_cut_outside(boxes, region), boxes, _overlap(boxes, region), True, limits)
    pasted = _filter_boxes(_crop_inside(partner, region), partner, _overlap(partner, region), False, limits)
    return _concat_rows(kept, pasted)


def cutmix_keypoints(keypoints: np.ndarray, partner: np.ndarray, box: Box, *, remove_invisible: bool = True) -> np.ndarray:
    """The primary's keypoints outside the pasted region, then the partner's inside it.

    With ``remove_invisible=False`` (the pipeline's ``KeypointParams``) nothing is dropped: both
    sets are kept whole, as albumentations keeps keypoints that leave the image then.
    """
    keypoints, partner = _rows(keypoints, 5), _rows(partner, 5)
    if remove_invisible:
        keypoints = keypoints[~_inside(keypoints, box)]
        partner = partner[_inside(partner, box)]
    return _concat_rows(keypoints, partner)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def resize_keypoints(keypoints: np.ndarray, scale_x: float, scale_y: float) -> np.ndarray:
    """Keypoints of an image resized by ``(scale_x, scale_y)``: x and y scale with their axis and the
    keypoint's scale column with the larger factor (albumentations' ``keypoints_scale``)."""
    out = np.array(keypoints, dtype=keypoints.dtype)
    if out.size:
        out[:, 0] *= scale_x
        out[:, 1] *= scale_y
        if out.shape[1] > 4:
            out[:, 4] *= max(scale_x, scale_y)
    return out


#: how close (in normalised units, about 1e-3 px on a 1000 px image) a box edge counts as on a region edge
_TOLERANCE = 1e-6


def _inside(points: np.ndarray, box: Box) -> np.ndarray:
    y1, y2, x1, x2 = box
    x, y = points[:, 0], points[:, 1]
    return (x >= x1) & (x < x2) & (y >= y1) & (y < y2)


def _overlap(boxes: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Normalised area of each box's intersection with the region."""
    width = np.clip(np.minimum(boxes[:, 2], region[2]) - np.maximum(boxes[:, 0], region[0]), 0, None)
    height = np.clip(np.minimum(boxes[:, 3], region[3]) - np.maximum(boxes[:, 1], region[1]), 0, None)
    return width * height


def _cut_outside(boxes: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The bounding box of each box's part outside the region."""
    out = np.array(boxes, dtype=boxes.dtype)
    if not out.size:
        return out
    bx1, by1, bx2, by2 = (boxes[:, i].astype(np.float64) for i in range(4))
    rx1, ry1, rx2, ry2 = region
    tol = _TOLERANCE  # a box edge on the region's edge (float32 normalised coordinates) counts as on it
    spans_width = (rx1 <= bx1 + tol) & (rx2 >= bx2 - tol)
    spans_height = (ry1 <= by1 + tol) & (ry2 >= by2 - tol)
    rows = spans_width & (ry1 < by2) & (ry2 > by1)
    cols = spans_height & (rx1 < bx2) & (rx2 > bx1)
    out[:, 1] = np.where(rows & (ry1 <= by1 + tol), np.maximum(by1, ry2), by1)
    out[:, 3] = np.where(rows & (ry2 >= by2 - tol), np.minimum(by2, ry1), by2)
    out[:, 0] = np.where(cols & (rx1 <= bx1 + tol), np.maximum(bx1, rx2), bx1)
    out[:, 2] = np.where(cols & (rx2 >= bx2 - tol), np.minimum(bx2, rx1), bx2)
    return out


def _crop_inside(boxes: np.ndarray, region: np.ndarray) -> np.ndarray:
    out = np.array(boxes, dtype=boxes.dtype)
    if out.size:
        out[:, 0] = np.maximum(boxes[:, 0], region[0])
        out[:, 1] = np.maximum(boxes[:, 1], region[1])
        out[:, 2] = np.minimum(boxes[:, 2], region[2])
        out[:, 3] = np.minimum(boxes[:, 3], region[3])
    return out


def _filter_boxes(
    new: np.ndarray, old: np.ndarray, overlap: np.ndarray, outside: bool, limits: tuple[float, ...]
) -> np.ndarray:
    """Keep the rows of ``new`` whose visible part passes the thresholds (areas in pixels)."""
    if not new.size:
        return new
    height, width, min_area, min_visibility, min_width, min_height = limits
    area = (old[:, 2] - old[:, 0]) * (old[:, 3] - old[:, 1])
    visible = (area - overlap) if outside else overlap
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(area > 0, visible / area, 0.0)
    pixels = visible * (height * width)
    eps = 1e-7
    keep = (
        (pixels > eps)
        & (pixels >= min_area - eps)
        & (share >= min_visibility - eps)
        & ((new[:, 2] - new[:, 0]) * width >= min_width - eps)
        & ((new[:, 3] - new[:, 1]) * height >= min_height - eps)
    )
    return new[keep]


def _rows(array: np.ndarray, columns: int) -> np.ndarray:
    """``array`` as 2-D rows; albumentations hands over an empty list of boxes as shape ``(0,)``."""
    return array if array.ndim == 2 else np.asarray(array).reshape(-1, columns)


def _concat_rows(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Rows of both; an empty side may lack the other's extra columns (albumentations leaves them
    off empty arrays)."""
    if not len(second):
        return np.array(first)
    if not len(first):
        return np.array(second, dtype=np.result_type(first, second))
    if first.shape[1] != second.shape[1]:
        raise ValueError(f"cannot join rows of {first.shape[1]} and {second.shape[1]} columns")
    return np.concatenate([first, second.astype(first.dtype, copy=False)], axis=0)


def _concat_masks(first: Sequence[np.ndarray], second: Sequence[np.ndarray], like: Any) -> Any:
    joined = [*first, *second]
    if isinstance(like, np.ndarray):
        if not joined:
            return np.array(like)
        return np.stack(joined).astype(like.dtype, copy=False)
    return joined
