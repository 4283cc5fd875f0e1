"""A partner's bounding boxes and keypoints, brought into the pipeline's own representation.

Inside ``A.Compose``, boxes and keypoints are arrays in albumentations' internal format, with the
pipeline's label fields encoded as extra columns by the pipeline's processors (``BboxParams``,
``KeypointParams``); ``Compose.postprocess`` converts and decodes everything at the end. A partner
dict carries its annotations as the user's data does: in the pipeline's format, relative to the
partner image, with every label field beside them. This module converts them with the same
processor, so that they are clipped, checked, converted and later decoded exactly as the primary's
(the route albumentations' own ``Mosaic`` takes for its extra items).

Label fields are encoded with the encoder the primary's labels were encoded with in this call,
extended by the partner's new labels, so string labels decode right. albumentations keeps that
state in different places across versions; ``albu_mix._compat.encoder_state`` finds it by feature.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from albumentations.core.utils import get_shape

from .._compat import coord_format, encoder_state, preprocess_keeping_sequence_record
from .functional import resize_keypoints

__all__ = ["as_partner_annotations", "partner_annotations"]


def partner_annotations(
    processor: Any,
    key: str,
    kind: str,
    values: Any,
    labels: dict[str, Any],
    partner_image: np.ndarray,
    primary: np.ndarray,
    target_hw: tuple[int, int],
) -> np.ndarray:
    """The partner's ``values`` (boxes or keypoints in the pipeline's format, relative to
    ``partner_image``) and their ``labels`` (one sequence per label field) in the pipeline's
    internal format, in the coordinates of an image of ``target_hw`` (the primary's).

    Raises ValueError with what was expected and got; the caller adds who and which partner.
    """
    rows = _as_rows(values, kind, 4 if kind == "bboxes" else len(coord_format(processor.params)))
    fields = list(processor.params.label_fields or ())
    for field in fields:
        if len(labels[field]) != len(rows):
            raise ValueError(f"the label field {field!r} must have one entry per row of {key!r}: got {len(labels[field])} for {len(rows)}")
    shape = get_shape({"image": partner_image})
    if len(primary) and fields:
        columns = [_encode_like_primary(processor, key, field, labels[field]) for field in fields]
        converted = processor.check_and_convert(np.hstack([rows, *columns]) if len(rows) else _empty(rows, fields), shape, direction="to")
    elif len(rows):
        converted = _preprocess_alone(processor, key, rows, {f: labels[f] for f in fields}, partner_image)
    else:
        converted = rows
    if kind == "keypoints":
        height, width = partner_image.shape[:2]
        converted = resize_keypoints(converted, target_hw[1] / width, target_hw[0] / height)
    return converted  # boxes are normalised: a resize leaves them unchanged


def _as_rows(values: Any, kind: str, min_columns: int) -> np.ndarray:
    try:
        rows = np.array(values, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{kind} must be numeric rows, got {values!r}") from error
    if rows.size == 0:
        return np.zeros((0, min_columns), np.float32)
    if rows.ndim != 2 or rows.shape[1] < min_columns:
        raise ValueError(f"{kind} must be rows of at least {min_columns} numbers, got shape {rows.shape}")
    return rows


def _empty(rows: np.ndarray, fields: list[str]) -> np.ndarray:
    return np.zeros((0, rows.shape[1] + len(fields)), np.float32)


def _preprocess_alone(processor: Any, key: str, rows: np.ndarray, labels: dict[str, Any], image: np.ndarray) -> np.ndarray:
    """The processor's own preprocessing on the partner's annotations alone (the primary has no rows,
    so the partner's labels may set up this call's encoding)."""
    temp = {"image": image, key: rows, **labels}
    preprocess_keeping_sequence_record(processor, temp)
    return np.asarray(temp[key])


def _encode_like_primary(processor: Any, key: str, field: str, values: Any) -> np.ndarray:
    """One label column for the partner, in the encoding of the primary's labels in this call."""
    numerical, encoder = encoder_state(processor, key, field)
    values = list(np.asarray(values).reshape(-1).tolist()) if isinstance(values, np.ndarray) else list(values)
    if numerical:
        try:
            return np.asarray(values, dtype=np.float32).reshape(-1, 1)
        except (TypeError, ValueError) as error:
            raise ValueError(f"the label field {field!r} holds numbers in the primary, so the partner's must be numbers too, got {values!r}") from error
    if encoder is None:
        raise ValueError(f"albumentations kept no encoder for the label field {field!r}")
    for label in sorted({v for v in values if v not in encoder.classes_}, key=repr):
        encoder.classes_[label] = encoder.num_classes
        encoder.inverse_classes_[encoder.num_classes] = label
        encoder.num_classes += 1
    return np.array([encoder.classes_[v] for v in values], dtype=np.float32).reshape(-1, 1)


def as_partner_annotations(processor: Any, key: str, values: Any, image: np.ndarray) -> tuple[np.ndarray, dict[str, list[Any]]]:
    """The inverse of :func:`partner_annotations`: this call's internal annotations under ``key``
    (relative to ``image``, label columns encoded in this call) as a partner dict carries them: rows
    in the pipeline's format and one list of labels per label field. For samples kept as partners for
    later calls (``albu_mix.PartnerPool``): the encoding of label fields changes from call to call."""
    fields = list(processor.params.label_fields or ())
    rows = np.asarray(values)
    if rows.size == 0:
        return np.zeros((0, 4), np.float32), {f: [] for f in fields}
    coords = rows[:, : rows.shape[1] - len(fields)]
    converted = processor.check_and_convert(np.array(coords), get_shape({"image": image}), direction="from")
    labels: dict[str, list[Any]] = {}
    for j, field in enumerate(fields):
        column = rows[:, coords.shape[1] + j]
        numerical, encoder = encoder_state(processor, key, field)
        labels[field] = column.tolist() if numerical else [encoder.inverse_classes_[int(v)] for v in column]
    return np.asarray(converted), labels
