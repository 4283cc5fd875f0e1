"""The demo gallery: the bundled photographs, then several draws of each transform with its label.

Uses only the runtime dependencies (albumentations, numpy, OpenCV). The images are downscaled
copies of CC0 and public-domain photographs; see ``data/NOTICE.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import albumentations as A
import cv2
import numpy as np

from ._compat import bbox_params
from .mixing import CutMix, MixUp
from .transforms import Cutout, LabelSmoothing

__all__ = ["CLASS_NAMES", "load_samples", "render_gallery", "write_gallery"]

#: Class index -> name of the bundled sample images.
CLASS_NAMES = ("cat", "coffee", "astronaut", "rocket")
_FILES = ("cat.png", "coffee.png", "astronaut.png", "rocket.jpg")
_TILE = 192
_CAPTION = 46
_MARGIN = 118
_DRAWS = 4
_FONT = cv2.FONT_HERSHEY_SIMPLEX
#: Objects in the bundled photographs (pascal_voc pixels of the 192×192 images) and their names,
#: for the detection rows: boxes go through MixUp and CutMix with the pipeline's BboxParams.
_BOXES = (
    ([[30, 40, 175, 180]], ["cat"]),
    ([[33, 8, 146, 120]], ["cup"]),
    ([[10, 4, 140, 192], [137, 0, 171, 105]], ["person", "shuttle"]),
    ([[86, 56, 108, 184]], ["rocket"]),
)
_BOX_COLOURS = ((255, 210, 0), (0, 200, 255))  # primary's boxes, partner's boxes
#: the legend of the detection rows: what each box colour means
_LEGEND = (("primary", _BOX_COLOURS[0]), ("partner", _BOX_COLOURS[1]))
#: Common extensions, named in errors when this OpenCV build writes them.
_COMMON_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
#: OpenCV writes these only from single-channel images; the gallery is in colour.
_GRAY_ONLY = frozenset({".pgm", ".pbm"})


def load_samples() -> list[dict[str, Any]]:
    """The bundled photographs as RGB uint8 sample dicts ``{"image", "label"}``, labels 0..3."""
    samples = []
    folder = resources.files("albu_mix") / "data"
    for label, name in enumerate(_FILES):
        raw = np.frombuffer((folder / name).read_bytes(), dtype=np.uint8)
        decoded = cv2.imdecode(raw, cv2.IMREAD_COLOR)
        if decoded is None:
            raise OSError(f"albu_mix demo: cannot decode the bundled image {name}")
        image = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
        samples.append({"image": image, "label": label})
    return samples


def _with_boxes(sample: dict[str, Any], origin: int) -> dict[str, Any]:
    boxes, names = _BOXES[sample["label"]]
    n = len(boxes)
    return {**sample, "bboxes": boxes, "names": names, "origin": [origin] * n, "weight": [1.0] * n}


def _bbox_params() -> Any:
    """Pascal VOC boxes with label fields for the name, where it came from (the colour) and its weight."""
    return bbox_params("pascal_voc", label_fields=["names", "origin", "weight"])


def _as_partners(others: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_with_boxes(s, 1) for s in others]


class _Row(NamedTuple):
    title: tuple[str, ...]  #: lines in the left margin
    make: Callable[[list[dict[str, Any]]], list[Any]]  #: partners (the other samples) -> the row's transforms
    mixes: bool = False  #: a mixer row: its captions say mix_lambda, or "not mixed"
    boxes: bool = False  #: a detection row (see ``_BOXES``)


def _rows(k: int) -> list[_Row]:
    """The gallery's rows."""
    encode = LabelSmoothing(epsilon=0.0, num_classes=k)
    boxed = {"weight_field": "weight", "alpha": 1.0, "num_classes": k, "p": 1.0}
    return [
        _Row(("original",), lambda others: [encode]),
        _Row(("Cutout", "size 0.4", "1-2 holes", "fill 0"),
             lambda others: [Cutout(0.4, num_holes=(1, 2), fill=0, p=1.0), encode]),
        _Row(("Cutout", "size 0.2-0.5", "3 holes", "fill mean"),
             lambda others: [Cutout((0.2, 0.5), num_holes=3, fill="mean", p=1.0), encode]),
        _Row(("LabelSmooth", "eps 0.1"), lambda others: [LabelSmoothing(epsilon=0.1, num_classes=k)]),
        _Row(("MixUp", "alpha 1"), lambda others: [MixUp(others, alpha=1.0, num_classes=k, p=1.0)], mixes=True),
        _Row(("CutMix", "alpha 1"), lambda others: [CutMix(others, alpha=1.0, num_classes=k, p=1.0)], mixes=True),
        _Row(("CutMix", "+ LabelSmooth"),
             lambda others: [CutMix(others, num_classes=k, p=1.0), LabelSmoothing(0.1, num_classes=k)], mixes=True),
        _Row(("MixUp", "boxes", "weights"), lambda others: [MixUp(_as_partners(others), **boxed)], mixes=True,
             boxes=True),
        _Row(("CutMix", "boxes", "weights"), lambda others: [CutMix(_as_partners(others), **boxed)], mixes=True,
             boxes=True),
    ]


def _draw_boxes(image: np.ndarray, out: dict[str, Any]) -> np.ndarray:
    """The boxes of ``out`` drawn on a copy of ``image``, each with its name and weight: the primary's in
    yellow, the partner's in blue (``_LEGEND``)."""
    canvas = image.copy()
    for (x1, y1, x2, y2), name, origin, weight in zip(out["bboxes"], out["names"], out["origin"], out["weight"]):
        colour = _BOX_COLOURS[int(origin)]
        p1, p2 = (round(x1), round(y1)), (round(x2) - 1, round(y2) - 1)
        cv2.rectangle(canvas, p1, p2, colour, 2)
        cv2.putText(canvas, f"{name} w={weight:.2f}", (p1[0] + 3, p1[1] + 14), _FONT, 0.42, colour, 1, cv2.LINE_AA)
    return canvas


def caption(label: np.ndarray, mix_lambda: float | None, mixes: bool) -> list[str]:
    """The lines under a tile: the label vector and, in a mixer row, ``lambda=`` or "not mixed"."""
    lines = [f"[{' '.join(f'{v:.2f}' for v in label)}]"]
    if mixes:
        lines.append("not mixed" if mix_lambda is None or mix_lambda == 1.0 else f"lambda={mix_lambda:.3f}")
    return lines


def _tile(image: np.ndarray, lines: list[str]) -> np.ndarray:
    tile = np.full((_TILE + _CAPTION, _TILE, 3), 255, np.uint8)
    tile[:_TILE] = cv2.resize(image, (_TILE, _TILE), interpolation=cv2.INTER_AREA)
    for i, line in enumerate(lines):
        cv2.putText(tile, line, (4, _TILE + 17 + 19 * i), _FONT, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return tile


def render_gallery(draws: int = _DRAWS) -> np.ndarray:
    """The gallery as an RGB uint8 array: one row of originals, then ``draws`` draws per transform.

    Draw ``j`` of a row uses sample ``j % 4`` as the primary; MixUp and CutMix draw its partner
    from the three other samples with their own seeded generator. Each row's settings are in its
    margin (Cutout's size, holes and fill); under each tile, the label vector and, in mixer rows,
    ``lambda=`` (the primary's weight) or "not mixed". The two detection rows draw the boxes that
    come out of MixUp and CutMix with their per-object weights (``weight_field``): the primary's in
    yellow, the partner's in blue, as the legend in their margin says. The gallery is deterministic.
    """
    samples = load_samples()
    columns = max(draws, len(samples))
    width = _MARGIN + columns * (_TILE + 6)
    header = np.full((34, width, 3), 255, np.uint8)
    names = "  ".join(f"{i}={n}" for i, n in enumerate(CLASS_NAMES))
    cv2.putText(header, f"albu_mix demo - label vectors are [{names}]", (8, 23), _FONT, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    blocks = [header]
    for r, row_spec in enumerate(_rows(len(samples))):
        row = np.full((_TILE + _CAPTION + 6, width, 3), 255, np.uint8)
        for i, line in enumerate(row_spec.title):
            cv2.putText(row, line, (6, 40 + 22 * i), _FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        if row_spec.boxes:  # the legend of the box colours
            for i, (text, colour) in enumerate(_LEGEND):
                y = 40 + 22 * (len(row_spec.title) + 1 + i)
                cv2.rectangle(row, (6, y - 11), (18, y + 1), colour, -1)
                cv2.putText(row, text, (24, y), _FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        for j in range(columns):
            sample = samples[j % len(samples)]
            others = [s for s in samples if s is not sample]
            if row_spec.boxes:
                pipeline = A.Compose(row_spec.make(others), bbox_params=_bbox_params(), seed=100 * r + j)
                out = pipeline(**_with_boxes(sample, 0))
                image = _draw_boxes(out["image"], out)
            else:
                out = A.Compose(row_spec.make(others), seed=100 * r + j)(image=sample["image"], label=sample["label"])
                image = out["image"]
            tile = _tile(image, caption(out["label"], out.get("mix_lambda"), row_spec.mixes))
            x = _MARGIN + j * (_TILE + 6)
            row[: tile.shape[0], x : x + _TILE] = tile
        blocks.append(row)
    return np.vstack(blocks)


def can_write_extension(ext: str) -> bool:
    """Whether OpenCV can write the (colour) gallery to a file with extension ``ext`` (e.g. ``".png"``)."""
    ext = ext.lower()
    if not ext.startswith(".") or ext in _GRAY_ONLY:
        return False
    have_writer = getattr(cv2, "haveImageWriter", None)
    if have_writer is None:  # an old OpenCV: the formats every build writes
        return ext in {".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".dib", ".ppm", ".pnm", ".sr", ".ras"}
    return bool(have_writer("gallery" + ext))


def writable_extensions() -> list[str]:
    """The common extensions that this OpenCV build can write (for messages)."""
    return [ext for ext in _COMMON_EXTENSIONS if can_write_extension(ext)]


def write_gallery(path: str | Path) -> Path:
    """Render the gallery and write it to ``path``, whose extension picks the format (``.png``,
    ``.jpg``, ...: any that OpenCV writes); creates missing parent folders; returns the path.

    Raises ``ValueError`` for an extension OpenCV cannot write and ``OSError`` when writing fails.
    """
    path = Path(path)
    if not can_write_extension(path.suffix):
        what = repr(path.suffix) if path.suffix else "a file without extension"
        raise ValueError(f"albu_mix demo: OpenCV cannot write a colour image as {what} ({path}); "
                         f"use one of {', '.join(writable_extensions())}")
    ok, encoded = cv2.imencode(path.suffix, cv2.cvtColor(render_gallery(), cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"albu_mix demo: OpenCV could not encode the gallery as {path.suffix!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encoded.tobytes())
    return path
