"""Every target albumentations routes, through MixUp, CutMix and Cutout, with exact geometry.

Boxes are written in pixel ``pascal_voc`` terms and converted to each of albumentations' four formats
on the way in and back on the way out, so one table of expectations covers all formats.
"""

from __future__ import annotations

import warnings
from typing import Any

import albumentations as A
import numpy as np
import pytest
from conftest import processor_params

from albu_mix import CutMix, Cutout, LabelSmoothing, MixUp, PartnerError

H, W = 60, 80
K = 4
FORMATS = ("pascal_voc", "albumentations", "coco", "yolo")
MIXERS = (MixUp, CutMix)


def to_format(boxes: list[list[float]], fmt: str, h: int = H, w: int = W) -> list[list[float]]:
    out = []
    for x1, y1, x2, y2 in boxes:
        if fmt == "pascal_voc":
            out.append([x1, y1, x2, y2])
        elif fmt == "albumentations":
            out.append([x1 / w, y1 / h, x2 / w, y2 / h])
        elif fmt == "coco":
            out.append([x1, y1, x2 - x1, y2 - y1])
        else:
            out.append([(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h])
    return out


def from_format(boxes: Any, fmt: str, h: int = H, w: int = W) -> np.ndarray:
    rows = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = rows.copy()
    if fmt == "albumentations":
        out *= [w, h, w, h]
    elif fmt == "coco":
        out[:, 2:] += out[:, :2]
    elif fmt == "yolo":
        cx, cy, bw, bh = rows.T
        out = np.stack([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h], axis=1)
    return out


def image(seed: int, h: int = H, w: int = W) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def bbox_params(fmt: str, **kwargs: Any) -> Any:
    return processor_params(A.BboxParams, fmt, "classes", "source", **kwargs)


def keypoint_params(fmt: str, **kwargs: Any) -> Any:
    return processor_params(A.KeypointParams, fmt, "kp_classes", **kwargs)


def pasted_region(inside: np.ndarray) -> tuple[int, int, int, int]:
    """(y1, y2, x1, x2) of the True pixels, which must form one rectangle."""
    rows, cols = np.nonzero(inside)
    box = (int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1)
    assert inside.sum() == (box[1] - box[0]) * (box[3] - box[2])
    return box


def drawn_box(seed: int, **kwargs: Any) -> tuple[int, int, int, int]:
    """The box CutMix pastes with this seed on an H×W image inside ``A.Compose(seed=seed)``, read off
    the pixels (the draw depends on the image size only, not on the data)."""
    white = {"image": np.full((H, W, 3), 255, np.uint8), "label": 0}
    out = A.Compose([CutMix([white], num_classes=K, p=1.0, **kwargs)], seed=seed)(
        image=np.zeros((H, W, 3), np.uint8), label=0)
    return pasted_region((out["image"] == 255).all(axis=-1))


# ---------------------------------------------------------------------------------------------
# Additional targets: the same holes, λ and box as the main targets
# ---------------------------------------------------------------------------------------------


def test_cutout_cuts_every_image_type_target_alike() -> None:
    pipeline = A.Compose([Cutout(12, num_holes=3, p=1.0)], additional_targets={"image2": "image", "scan": "volume"},
                         seed=3)
    white = np.full((H, W, 3), 255, np.uint8)
    out = pipeline(image=white, image2=white.copy(), volume=np.stack([white] * 2), scan=np.stack([white] * 2),
                   images=np.stack([white] * 3), volumes=np.stack([np.stack([white] * 2)] * 2))
    holes = out["image"] == 0
    assert holes.any()
    for key in ("image2",):
        np.testing.assert_array_equal(out[key] == 0, holes)
    for key in ("volume", "scan", "images"):
        arr = out[key]
        assert all(np.array_equal(s == 0, holes) for s in arr), key
    assert all(np.array_equal(s == 0, holes) for v in out["volumes"] for s in v)


@pytest.mark.parametrize("cls", MIXERS)
def test_additional_targets_get_the_same_lambda_or_box(cls: type) -> None:
    partner = {"image": image(10), "image2": image(11), "mask": np.full((H, W), 2, np.uint8),
               "mask2": np.full((H, W), 7, np.uint8), "label": 1}
    t = cls([partner], num_classes=K, p=1.0)
    pipeline = A.Compose([t], additional_targets={"image2": "image", "mask2": "mask"}, seed=5)
    x, x2 = image(20), image(21)
    out = pipeline(image=x, image2=x2, mask=np.zeros((H, W), np.uint8), mask2=np.ones((H, W), np.uint8), label=0)
    lam = out["mix_lambda"]
    if cls is MixUp:
        expected = np.clip(np.rint(lam * x2.astype(np.float64) + (1 - lam) * partner["image2"]), 0, 255)
        assert np.abs(out["image2"].astype(int) - expected).max() <= 1
        assert (out["mask2"] == (1 if lam >= 0.5 else 7)).all()
    else:
        inside = out["mask"] == 2
        pasted_region(inside)
        np.testing.assert_array_equal(out["image2"][inside], partner["image2"][inside])
        np.testing.assert_array_equal(out["image2"][~inside], x2[~inside])
        np.testing.assert_array_equal(out["mask2"], np.where(inside, 7, 1))
        np.testing.assert_array_equal(out["mask2"] == 7, out["mask"] == 2)  # the same box in both
        assert out["label"][1] == np.float32(inside.mean())  # the weight is the pixel share, exactly
    assert out["label"][1] == np.float32(1 - lam)


@pytest.mark.parametrize("cls", MIXERS)
def test_partner_without_an_additional_target_is_an_error_naming_the_key(cls: type) -> None:
    pipeline = A.Compose([cls([{"image": image(1), "label": 1}], num_classes=K, p=1.0)],
                         additional_targets={"image2": "image"})
    with pytest.raises(PartnerError, match=rf"{cls.__name__}: the primary has 'image2', so the partner needs 'image2'"):
        pipeline(image=image(2), image2=image(3), label=0)


# ---------------------------------------------------------------------------------------------
# Bounding boxes, in all four formats
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_mixup_keeps_both_samples_boxes_exactly(fmt: str) -> None:
    primary = [[5, 6, 30, 40], [50, 10, 70, 55]]
    partner_boxes = [[0, 0, 10, 10], [20, 30, 60, 50]]
    partner = {"image": image(1), "label": 2, "bboxes": to_format(partner_boxes, fmt), "classes": [7, 8],
               "source": [1, 1]}
    pipeline = A.Compose([MixUp([partner], num_classes=K, p=1.0)], bbox_params=bbox_params(fmt), seed=0)
    out = pipeline(image=image(2), label=0, bboxes=to_format(primary, fmt), classes=[3, 4], source=[0, 0])
    np.testing.assert_allclose(from_format(out["bboxes"], fmt), primary + partner_boxes, atol=1e-3)
    assert list(out["classes"]) == [3, 4, 7, 8] and list(out["source"]) == [0, 0, 1, 1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_mixup_boxes_follow_a_resized_partner(fmt: str) -> None:
    # a partner twice the primary's size: its boxes are relative to its own image and end up halved
    partner = {"image": image(1, 2 * H, 2 * W), "label": 1, "bboxes": to_format([[20, 40, 100, 80]], fmt, 2 * H, 2 * W),
               "classes": [1], "source": [1]}
    pipeline = A.Compose([MixUp([partner], num_classes=K, p=1.0)], bbox_params=bbox_params(fmt), seed=0)
    out = pipeline(image=image(2), label=0, bboxes=[], classes=[], source=[])
    np.testing.assert_allclose(from_format(out["bboxes"], fmt), [[10, 20, 50, 40]], atol=1e-3)
    assert list(out["classes"]) == [1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_cutmix_box_geometry_is_exact(fmt: str) -> None:
    seed = 4
    y1, y2, x1, x2 = drawn_box(seed, area_range=(0.2, 0.2))
    assert 0 < x1 and x2 < W and 0 < y1 and y2 < H  # area_range keeps the region inside the image
    # primary boxes: one fully covered, one half covered from the left (the region spans its height),
    # one far from the region
    covered = [x1 + 1, y1 + 1, x2 - 1, y2 - 1]
    half = [x1 + (x2 - x1) // 2, y1, x2 + 5, y2]
    untouched = [0, 0, 2, 2] if (y1 > 2 or x1 > 2) else [W - 3, H - 3, W - 1, H - 1]
    primary = [covered, half, untouched]
    # partner boxes: one crossing the region, one outside it
    crossing = [x1 - 5, y1 - 5, x1 + 4, y1 + 6]
    outside = [x2 + 1, y2 + 1, x2 + 3, y2 + 3] if (x2 + 3 <= W and y2 + 3 <= H) else [0, 0, 1, 1]
    partner = {"image": image(1), "label": 1, "bboxes": to_format([crossing, outside], fmt), "classes": ["p1", "p2"],
               "source": [1, 1]}
    t = CutMix([partner], num_classes=K, area_range=(0.2, 0.2), p=1.0)
    pipeline = A.Compose([t], bbox_params=bbox_params(fmt), seed=seed)
    out = pipeline(image=image(2), label=0, bboxes=to_format(primary, fmt), classes=["cov", "half", "far"],
                   source=[0, 0, 0])
    expected = [[x2, y1, x2 + 5, y2], untouched, [x1, y1, x1 + 4, y1 + 6]]
    np.testing.assert_allclose(from_format(out["bboxes"], fmt), expected, atol=1e-3)
    assert list(out["classes"]) == ["half", "far", "p1"] and list(out["source"]) == [0, 0, 1]


def test_a_partner_box_lands_where_its_pixels_are() -> None:
    seed = 7
    y1, y2, x1, x2 = drawn_box(seed, area_range=(0.3, 0.3))
    partner_image = np.zeros((H, W, 3), np.uint8)
    obj = [x1 - 3, y1 + 2, x2 - 2, y2 + 4]  # an object crossing the region's border
    partner_image[obj[1]:obj[3], obj[0]:obj[2]] = 255
    partner = {"image": partner_image, "label": 1, "bboxes": [obj], "classes": [1], "source": [1]}
    pipeline = A.Compose([CutMix([partner], num_classes=K, area_range=(0.3, 0.3), p=1.0)],
                         bbox_params=bbox_params("pascal_voc"), seed=seed)
    out = pipeline(image=np.zeros((H, W, 3), np.uint8), label=0, bboxes=[], classes=[], source=[])
    (bx1, by1, bx2, by2), = np.rint(np.asarray(out["bboxes"])).astype(int)
    white = (out["image"] == 255).all(axis=-1)
    rows, cols = np.nonzero(white)
    assert (by1, by2, bx1, bx2) == (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1)


@pytest.mark.parametrize(("params", "kept"), [({}, 2), ({"min_visibility": 0.6}, 1), ({"min_area": 600.0}, 1)])
def test_cutmix_honours_the_pipelines_bbox_thresholds(params: dict[str, Any], kept: int) -> None:
    seed = 4
    y1, y2, x1, x2 = drawn_box(seed, area_range=(0.2, 0.2))
    half = (x2 - x1) // 2
    visible_half = [x2 - half, y1, x2 + half, y2]  # half of it under the region
    far = [0, 0, 24, 30]  # 720 px, all visible
    assert x1 >= 24 and half * (y2 - y1) < 600  # the half box's visible area is under min_area=600
    partner = {"image": image(1), "label": 1, "bboxes": [], "classes": [], "source": []}
    pipeline = A.Compose([CutMix([partner], num_classes=K, area_range=(0.2, 0.2), p=1.0)],
                         bbox_params=bbox_params("pascal_voc", **params), seed=seed)
    out = pipeline(image=image(2), label=0, bboxes=[visible_half, far], classes=[1, 2], source=[0, 0])
    assert len(out["bboxes"]) == kept
    if kept == 1:
        assert list(out["classes"]) == [2]


@pytest.mark.parametrize("cls", MIXERS)
@pytest.mark.parametrize("p", [0.0, 1.0])
def test_boxes_pass_unchanged_when_not_fired(cls: type, p: float) -> None:
    partner = {"image": image(1), "label": 1, "bboxes": [[1, 1, 5, 5]], "classes": [1], "source": [1]}
    pipeline = A.Compose([A.OneOf([cls([partner], num_classes=K, p=1.0)], p=p)] if p else [cls([partner], num_classes=K, p=p)],
                         bbox_params=bbox_params("coco"), seed=0)
    boxes = [[3, 4, 10, 12]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = pipeline(image=image(2), label=0, bboxes=boxes, classes=[5], source=[0])
    if p == 0.0:
        np.testing.assert_allclose(out["bboxes"], boxes) and list(out["classes"]) == [5]
    else:
        assert len(out["bboxes"]) >= 1


def test_yolo_detection_pipeline_from_the_readme() -> None:
    """YOLO boxes and class names, MixUp/CutMix in OneOf, string labels decoded after mixing."""
    names = ["cat", "dog", "bird"]
    rng = np.random.default_rng(0)
    samples = []
    for i in range(6):
        n = i % 3
        samples.append({"image": image(i), "label": i % K, "bboxes": to_format([[10 * j, 5, 10 * j + 15, 30] for j in range(n)], "yolo"),
                        "class_names": [names[(i + j) % 3] for j in range(n)]})
    pipeline = A.Compose(
        [A.HorizontalFlip(), A.OneOf([MixUp(samples, num_classes=K), CutMix(samples, num_classes=K)], p=0.8),
         LabelSmoothing(0.0, num_classes=K)],
        bbox_params=processor_params(A.BboxParams, "yolo", "class_names", min_visibility=0.2), seed=1)
    for i in range(30):
        s = samples[rng.integers(len(samples))]
        out = pipeline(image=s["image"], label=s["label"], bboxes=s["bboxes"], class_names=s["class_names"])
        assert len(out["bboxes"]) == len(out["class_names"])
        assert set(out["class_names"]) <= set(names)
        boxes = np.asarray(out["bboxes"]).reshape(-1, 4)
        assert ((boxes >= 0) & (boxes <= 1)).all()


def test_partner_boxes_follow_partner_transform() -> None:
    partner = {"image": image(1), "label": 1, "bboxes": [[0, 0, 10, 20]], "classes": [1], "source": [1]}
    flip = A.Compose([A.HorizontalFlip(p=1.0)], bbox_params=bbox_params("pascal_voc"))
    pipeline = A.Compose([MixUp([partner], num_classes=K, partner_transform=flip, p=1.0)],
                         bbox_params=bbox_params("pascal_voc"), seed=0)
    out = pipeline(image=image(2), label=0, bboxes=[], classes=[], source=[])
    np.testing.assert_allclose(out["bboxes"], [[W - 10, 0, W, 20]], atol=1e-3)


def test_partner_boxes_with_a_primary_that_has_none_and_the_other_way() -> None:
    params = bbox_params("pascal_voc")
    with_boxes = {"image": image(1), "label": 1, "bboxes": [[1, 2, 11, 12]], "classes": ["x"], "source": [1]}
    without = {"image": image(1), "label": 1, "bboxes": [], "classes": [], "source": []}
    out = A.Compose([MixUp([with_boxes], num_classes=K, p=1.0)], bbox_params=params)(
        image=image(2), label=0, bboxes=[], classes=[], source=[])
    assert list(out["classes"]) == ["x"]
    out = A.Compose([MixUp([without], num_classes=K, p=1.0)], bbox_params=params)(
        image=image(2), label=0, bboxes=[[3, 3, 9, 9]], classes=["y"], source=[0])
    assert list(out["classes"]) == ["y"]
    np.testing.assert_allclose(out["bboxes"], [[3, 3, 9, 9]])


# ---------------------------------------------------------------------------------------------
# Keypoints
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xy", "yx", "xya", "xys", "xyas", "xysa"])
def test_mixup_keeps_both_samples_keypoints(fmt: str) -> None:
    def rows(points: list[tuple[float, float]]) -> list[list[float]]:
        extra = {"xy": [], "yx": [], "xya": [30.0], "xys": [2.0], "xyas": [30.0, 2.0], "xysa": [2.0, 30.0]}[fmt]
        return [([y, x] if fmt == "yx" else [x, y]) + extra for x, y in points]

    partner = {"image": image(1, 2 * H, 2 * W), "label": 1, "keypoints": rows([(20.0, 40.0)]), "kp_classes": [9]}
    pipeline = A.Compose([MixUp([partner], num_classes=K, p=1.0)],
                         keypoint_params=keypoint_params(fmt), seed=0)
    out = pipeline(image=image(2), label=0, keypoints=rows([(5.0, 6.0)]), kp_classes=[3])
    got = np.asarray(out["keypoints"])
    xy = got[:, [1, 0]] if fmt == "yx" else got[:, :2]
    np.testing.assert_allclose(xy, [[5, 6], [10, 20]], atol=1e-4)  # the partner was twice the size
    if "s" in fmt[2:]:
        scale_col = 2 + fmt[2:].index("s")
        np.testing.assert_allclose(got[:, scale_col], [2.0, 1.0], atol=1e-4)
    assert list(out["kp_classes"]) == [3, 9]


@pytest.mark.parametrize("remove_invisible", [True, False])
def test_cutmix_keypoints(remove_invisible: bool) -> None:
    seed = 4
    y1, _, x1, _ = drawn_box(seed, area_range=(0.2, 0.2))
    inside, outside = (x1 + 1.0, y1 + 1.0), (0.5, 0.5) if (x1 > 1 or y1 > 1) else (W - 0.5, H - 0.5)
    partner = {"image": image(1), "label": 1, "keypoints": [inside, outside], "kp_classes": ["p_in", "p_out"]}
    pipeline = A.Compose([CutMix([partner], num_classes=K, area_range=(0.2, 0.2), p=1.0)],
                         keypoint_params=keypoint_params("xy", remove_invisible=remove_invisible), seed=seed)
    out = pipeline(image=image(2), label=0, keypoints=[inside, outside], kp_classes=["in", "out"])
    expected = ["out", "p_in"] if remove_invisible else ["in", "out", "p_in", "p_out"]
    assert list(out["kp_classes"]) == expected


# ---------------------------------------------------------------------------------------------
# Instance masks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_array", [False, True])
@pytest.mark.parametrize("cls", MIXERS)
def test_instance_masks(cls: type, as_array: bool) -> None:
    primary = [np.full((H, W), 1, np.uint8), np.full((H, W), 2, np.uint8)]
    theirs = [np.full((H, W), 5, np.uint8)]
    partner = {"image": image(1), "label": 1, "masks": np.stack(theirs) if as_array else theirs}
    t = cls([partner], num_classes=K, p=1.0)
    out = A.Compose([t], seed=2)(image=image(2), label=0, masks=np.stack(primary) if as_array else primary)
    masks = out["masks"]
    assert isinstance(masks, np.ndarray) == as_array and len(masks) == 3
    if cls is MixUp:
        assert [int(m.max()) for m in masks] == [1, 2, 5] and all(m.min() == m.max() for m in masks)
    else:
        inside = masks[2] == 5
        assert 0 < inside.sum() < H * W and pasted_region(inside)
        for m, v in zip(masks[:2], (1, 2)):
            np.testing.assert_array_equal(m, np.where(inside, 0, v))
        np.testing.assert_array_equal(masks[2], np.where(inside, 5, 0))


@pytest.mark.parametrize("cls", MIXERS)
def test_inputs_come_back_unchanged_with_every_target(cls: type) -> None:
    partner = {"image": image(1), "label": 1, "mask": np.ones((H, W), np.uint8), "masks": [np.ones((H, W), np.uint8)],
               "bboxes": np.array([[1, 1, 20, 20]], np.float32), "classes": [1], "source": [1]}
    frozen = {k: (v.copy() if isinstance(v, np.ndarray) else [m.copy() for m in v] if k == "masks" else list(v))
              for k, v in partner.items() if k not in ("label",)}
    for v in partner.values():
        if isinstance(v, np.ndarray):
            v.flags.writeable = False
    data = {"image": image(2), "label": 0, "mask": np.zeros((H, W), np.uint8), "masks": [np.zeros((H, W), np.uint8)],
            "bboxes": np.array([[5, 5, 50, 50]], np.float32), "classes": [0], "source": [0]}
    before = {k: (v.copy() if isinstance(v, np.ndarray) else [m.copy() for m in v] if k == "masks" else v)
              for k, v in data.items()}
    A.Compose([cls([partner], num_classes=K, p=1.0)], bbox_params=bbox_params("pascal_voc"), seed=0)(**data)
    for k, v in frozen.items():
        got = partner[k]
        assert all(np.array_equal(a, b) for a, b in zip(got, v)) if k == "masks" else np.array_equal(got, v), k
    for k, v in before.items():
        got = data[k]
        assert all(np.array_equal(a, b) for a, b in zip(got, v)) if k == "masks" else np.array_equal(got, v), k


@pytest.mark.parametrize("cls", MIXERS)
def test_boxes_replay_exactly(cls: type) -> None:
    samples = [{"image": image(i), "label": i % K, "bboxes": [[5 * i, 5, 5 * i + 30, 40]], "classes": [f"c{i}"],
                "source": [1]} for i in range(4)]
    pipeline = A.ReplayCompose([A.HorizontalFlip(), A.OneOf([cls(samples, num_classes=K)], p=0.7)],
                               bbox_params=bbox_params("coco"))
    pipeline.set_random_seed(2)
    for i in range(20):
        data = {"image": image(100 + i), "label": 0, "bboxes": [[1, 2, 40, 30], [50, 20, 20, 30]],
                "classes": ["a", "b"], "source": [0, 0]}
        out = pipeline(**data)
        again = A.ReplayCompose.replay(out["replay"], **data)
        np.testing.assert_array_equal(np.asarray(out["bboxes"]), np.asarray(again["bboxes"]))
        assert list(out["classes"]) == list(again["classes"]) and np.array_equal(out["image"], again["image"])
