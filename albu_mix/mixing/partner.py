"""The partner of one MixUp/CutMix call, brought to the primary's geometry: loaded, checked,
``partner_transform``-ed, resized, its annotations converted by the pipeline's processors.

``prepare`` returns the partner's value for every key the mixer mixes (or None when a stream has no
partner now). Every error names the transform, the partner (its index or stream seed) and the key;
the common case (a partner of the primary's dtype, shape and channels) builds no message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import functional as F
from .._routing import ANNOTATION_KINDS
from ..partners import PartnerError, PartnerSource
from .annotations import partner_annotations

__all__ = ["at", "prepare"]


def at(key: str, params: Mapping[str, Any]) -> str:
    """Where an error is, for messages: the key and the partner."""
    return f"{key!r} at {PartnerSource.describe(params)}"


def prepare(mixer: Any, params: dict[str, Any], data: dict[str, Any], plan: Any) -> dict[str, Any] | None:
    """The partner's value for every routed key of ``data`` (``plan.routes``), in the primary's
    geometry, or None when a stream has no partner now."""
    owner = type(mixer).__name__
    sample = mixer._source.load(params, note=mixer.deterministic)
    if sample is None:
        return None
    routes = [(k, kind) for k, kind in plan.routes if data[k] is not None]
    for key, _ in routes:
        if key not in sample:
            raise PartnerError(
                f"{owner}: the primary has {key!r}, so the partner needs {key!r} too, got keys "
                f"{sorted(sample)} at {PartnerSource.describe(params)}"
            )
    fields = plan.fields
    if fields or plan.columns:  # annotations: label fields, and a weight field a partner may lack
        missing = [f for f in fields if f not in sample]
        if missing:
            raise PartnerError(
                f"{owner}: the partner needs the label fields {missing} beside its annotations, got keys "
                f"{sorted(sample)} at {PartnerSource.describe(params)}"
            )
        weighted = [k for k, kind in routes if plan.columns.get(kind, (None, None))[0] is not None]
        if weighted:  # a partner without the weight field: every one of its objects weighs 1.0
            fields = (*fields, mixer.weight_field)
            if mixer.weight_field not in sample:
                sample = {**sample, mixer.weight_field: [1.0] * len(sample[weighted[0]])}
    if mixer.partner_transform is not None:
        sample = _transformed(mixer, sample, [*(k for k, _ in routes), *fields], params)
    pooled = mixer._source.pool is not None
    height, width = data["image"].shape[:2]
    partner_image = _checked_image(owner, "image", sample["image"], data["image"], params, pooled)
    out: dict[str, Any] = {}
    for key, kind in routes:
        if kind == "image":
            value = partner_image if key == "image" else _checked_image(owner, key, sample[key], data[key], params, pooled)
            out[key] = F.resize_to(value, height, width)
        elif kind == "mask":
            mask = _checked_mask(owner, sample[key], data[key], partner_image, key, params)
            out[key] = F.resize_to(mask, height, width, nearest=True)
        elif kind == "masks":
            out[key] = _masks(owner, sample[key], data[key], partner_image, (height, width), key, params)
        elif kind in ANNOTATION_KINDS:
            out[key] = _annotations(mixer, key, kind, sample, data[key], partner_image, (height, width), params)
        else:
            out[key] = sample[key]
    return out


def _transformed(mixer: Any, sample: dict[str, Any], keys: list[str], params: dict[str, Any]) -> dict[str, Any]:
    """The partner after ``partner_transform``, seeded per call from the mixer's stream.

    Every routed target of the partner goes in. A standard key (``mask``, ``bboxes``) is the
    transform's to handle or leave alone, as for the primary (a pixel-only transform leaves masks,
    boxes and keypoints alone, rightly); boxes and keypoints that the transform would move need the
    pipeline's processors, and an alias (``image2``) must be one the transform knows whenever it
    handles the alias's kind, or the alias would stay untransformed while its kind is transformed:
    both are errors, never a target silently left behind.
    """
    owner = type(mixer).__name__
    transform = mixer.partner_transform
    kind_of = mixer._router.kind
    available = getattr(transform, "available_keys", None) or getattr(transform, "_available_keys", None) or set()
    processors = getattr(transform, "processors", None) or {}
    inputs = {"image": sample["image"]}
    annotations = [key for key in keys if kind_of(mixer, key) in ANNOTATION_KINDS]
    moved = [key for key in annotations if not available or kind_of(mixer, key) in available]
    for key in keys:
        kind = kind_of(mixer, key)
        if kind in ANNOTATION_KINDS and key not in moved:
            continue  # a transform that does not touch boxes (keypoints) leaves them, and their labels, as they are
        if kind is None and not moved:
            continue  # label fields travel only with annotations the transform moves
        value = sample.get(key)
        if kind == "masks" and isinstance(value, (list, tuple)) and value and len({np.shape(m) for m in value}) == 1:
            # one N×H×W array: AlbumentationsX 2.5's spatial transforms fail on a list of masks
            value = np.stack([np.asarray(m) for m in value])
        if kind != "label" and value is not None:
            inputs[key] = value
    for key in inputs:
        kind = kind_of(mixer, key)
        if kind in ANNOTATION_KINDS and processors.get(kind) is None:
            raise PartnerError(
                f"{owner}: the partner's {key!r} must follow its partner_transform, which moves them, so "
                f"partner_transform must be an A.Compose with the pipeline's "
                f"{'bbox_params' if kind == 'bboxes' else 'keypoint_params'}, got {type(transform).__name__} without them"
            )
        if kind is not None and key != kind and kind in available and key not in available:
            raise PartnerError(
                f"{owner}: partner_transform handles {kind!r} but not the additional target {key!r} (an alias of "
                f"{kind!r}), which would stay untransformed; build it as A.Compose([...], additional_targets=...) like "
                f"the pipeline, got {type(transform).__name__}"
            )
    if "partner_aug_seed" in params and hasattr(transform, "set_random_seed"):
        transform.set_random_seed(params["partner_aug_seed"])
    try:
        transformed = transform(**inputs)
    except Exception as error:
        raise PartnerError(f"{owner}: partner_transform failed on the {PartnerSource.describe(params)}: {error}") from error
    if not isinstance(transformed, Mapping) or any(k not in transformed for k in inputs):
        got = sorted(transformed) if isinstance(transformed, Mapping) else type(transformed).__name__
        raise PartnerError(
            f"{owner}: partner_transform must return a dict with the keys it was given {sorted(inputs)}, got {got} "
            f"at {PartnerSource.describe(params)}"
        )
    return {**sample, **{k: transformed[k] for k in inputs}}


def _checked_image(owner: str, key: str, value: Any, primary: np.ndarray, params: dict[str, Any], pooled: bool) -> np.ndarray:
    if isinstance(value, np.ndarray) and value.dtype == primary.dtype and value.shape == primary.shape:
        return value  # the common case, checked without building any message
    where = PartnerSource.describe(params)
    if not isinstance(value, np.ndarray):
        raise PartnerError(f"{owner}: the partner's {key!r} must be a numpy array, got {type(value).__name__} at {where}")
    value = _layout_like(value, primary)
    if value.dtype != primary.dtype:
        if pooled:
            hint = (
                " (the pool holds samples as Remember saw them: nothing between Remember and the mixers may change "
                "the dtype, e.g. put Remember after A.Normalize, or the mixers before it; or the data holds images "
                "of both dtypes)"
            )
        elif primary.dtype == np.float32 and value.dtype == np.uint8:
            hint = " (after A.Normalize in the pipeline, pass partner_transform=A.Normalize() so partners match)"
        else:
            hint = ""
        raise PartnerError(
            f"{owner}: the partner's {key!r} must have the primary's dtype {primary.dtype}, got {value.dtype} at {where}{hint}"
        )
    if value.ndim != primary.ndim or value.shape[2:] != primary.shape[2:]:
        raise PartnerError(
            f"{owner}: the partner's {key!r} must have the primary's channels (shape {primary.shape}), "
            f"got shape {value.shape} at {where}"
        )
    if value.size == 0:
        raise PartnerError(f"{owner}: the partner's {key!r} must not be empty, got shape {value.shape} at {where}")
    return value


def _checked_mask(owner: str, mask: Any, primary: np.ndarray, partner_image: np.ndarray, key: str,
                  params: dict[str, Any]) -> np.ndarray:
    if (isinstance(mask, np.ndarray) and mask.dtype == primary.dtype and mask.shape == primary.shape
            and mask.shape[:2] == partner_image.shape[:2]):
        return mask  # the common case, checked without building any message
    where = at(key, params)
    if not isinstance(mask, np.ndarray):
        raise PartnerError(f"{owner}: the partner's mask must be an array, got {type(mask).__name__} for {where}")
    if mask.size == 0:
        raise PartnerError(f"{owner}: the partner mask must not be empty, got shape {mask.shape} for {where}")
    if mask.shape[:2] != partner_image.shape[:2]:
        raise PartnerError(
            f"{owner}: the partner mask must have its own image's height and width {partner_image.shape[:2]}, "
            f"got shape {mask.shape} for {where}"
        )
    mask = _layout_like(mask, primary)
    if mask.ndim != primary.ndim or mask.shape[2:] != primary.shape[2:]:
        raise PartnerError(
            f"{owner}: the partner mask must have the primary mask's channels (shape {primary.shape}), "
            f"got shape {mask.shape} for {where}"
        )
    if mask.dtype != primary.dtype:
        raise PartnerError(
            f"{owner}: the partner mask must have the primary mask's dtype {primary.dtype} (class ids are never "
            f"cast), got {mask.dtype} for {where}"
        )
    return mask


def _masks(owner: str, masks: Any, primary: Any, partner_image: np.ndarray, hw: tuple[int, int], key: str,
           params: dict[str, Any]) -> list[np.ndarray]:
    if not isinstance(masks, (list, tuple, np.ndarray)):
        raise PartnerError(
            f"{owner}: the partner's masks must be a list or an array, got {type(masks).__name__} for {at(key, params)}"
        )
    reference = primary[0] if len(primary) else None
    out = []
    for mask in masks:
        like = reference if reference is not None else np.asarray(mask)
        checked = _checked_mask(owner, mask, like, partner_image, key, params)
        out.append(F.resize_to(checked, hw[0], hw[1], nearest=True))
    return out


def _annotations(mixer: Any, key: str, kind: str, sample: dict[str, Any], primary: np.ndarray,
                 partner_image: np.ndarray, hw: tuple[int, int], params: dict[str, Any]) -> np.ndarray:
    owner = type(mixer).__name__
    processor = mixer.get_processor(kind)
    if processor is None:
        params_name = "bbox_params" if kind == "bboxes" else "keypoint_params"
        raise ValueError(
            f"{owner}: {key!r} needs the pipeline's {params_name}: call it inside A.Compose([...], {params_name}=...), "
            "got no processor"
        )
    labels = {field: sample[field] for field in processor.params.label_fields or ()}
    try:
        return partner_annotations(processor, key, kind, sample[key], labels, partner_image, primary, hw)
    except ValueError as error:
        raise PartnerError(f"{owner}: the partner's {at(key, params)}: {error}") from error


def _layout_like(partner: np.ndarray, primary: Any) -> np.ndarray:
    """A 2-D partner array as H×W×1 when the primary is H×W×1. AlbumentationsX's ``Compose`` hands
    its transforms grayscale images and masks with a channel axis, while partners come as stored."""
    if partner.ndim == 2 and np.ndim(primary) == 3 and np.shape(primary)[2] == 1:
        return partner[..., np.newaxis]
    return partner

