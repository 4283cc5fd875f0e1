"""Detection helpers: instance masks kept aligned with their boxes.

albumentations treats ``masks`` and ``bboxes`` as independent targets: a transform that drops a box
(a crop, CutMix covering it, ``min_visibility``) keeps its mask, blanked or not, so ``masks[i]`` is
not ``bboxes[i]``'s mask any more, and MixUp/CutMix put the partner's masks after the primary's. Mask
R-CNN-style training needs them aligned. The recipe: a label field that holds each object's index
into ``masks`` (``instance=list(range(len(masks)))`` in your call, and in each partner dict), passed
to the mixers as ``instance_field="instance"`` so that they number the partner's objects after the
primary's masks; at the end, ``aligned_masks`` picks the mask of every box that survived, in box
order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["aligned_masks"]


def aligned_masks(masks: Any, instances: Sequence[Any]) -> Any:
    """The instance masks of the objects listed in ``instances`` (a label field of indices into
    ``masks``, as a pipeline returns it with its boxes), in that order: ``masks[i]`` for each ``i``.

    Returns a list when ``masks`` is a list, an N×H×W array when it is an array (N may be 0).

    Raises:
        ValueError: an index that is not a whole number in ``[0, len(masks))``.

    Examples:
        >>> import numpy as np
        >>> masks = [np.full((2, 2), k, np.uint8) for k in range(3)]
        >>> [int(m[0, 0]) for m in aligned_masks(masks, [2.0, 0.0])]
        [2, 0]
    """
    picked = []
    for value in instances:
        index = float(value)
        if not index.is_integer() or not 0 <= index < len(masks):
            raise ValueError(
                f"aligned_masks: each instance must be an index into the {len(masks)} masks, got {value!r}"
            )
        picked.append(masks[int(index)])
    if isinstance(masks, np.ndarray):
        return np.stack(picked) if picked else masks[:0].copy()
    return picked
