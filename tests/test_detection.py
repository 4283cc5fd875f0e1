"""Detection that trains right: per-object weights, mix_lambda on every sample, instance masks aligned
with their boxes, and the pool feeding A.Mosaic through Recall."""

from __future__ import annotations

import copy
from typing import Any

import albumentations as A
import numpy as np
import pytest
from conftest import ALBUMENTATIONSX, PIPELINE_HOOK

import albu_mix
from albu_mix import CutMix, LabelSmoothing, MixUp, PartnerPool, Recall, Remember
from albu_mix._compat import HAS_MOSAIC, bbox_params

H = W = 40


def sample(i: int, boxes: int = 2, weight: float | None = 1.0) -> dict[str, Any]:
    """Sample ``i``: a constant image, ``boxes`` boxes of class ``i`` (label field ``cls``), their instance
    masks, an ``inst`` field numbering them, and a per-object ``weight`` (None: no such field)."""
    rows = [[2.0, 2.0, 14.0, 14.0], [20.0, 22.0, 36.0, 38.0], [4.0, 24.0, 12.0, 36.0]][:boxes]
    masks = []
    for x1, y1, x2, y2 in rows:
        mask = np.zeros((H, W), np.uint8)
        mask[int(y1):int(y2), int(x1):int(x2)] = 1
        masks.append(mask)
    out: dict[str, Any] = {"image": np.full((H, W, 3), (10 + 20 * i) % 250, np.uint8), "bboxes": rows, "cls": [i] * boxes,
                           "inst": list(range(boxes)), "masks": np.stack(masks)}
    if weight is not None:
        out["weight"] = [weight] * boxes
    return out


def params(*fields: str, **kwargs: Any) -> dict[str, Any]:
    return {"bbox_params": bbox_params("pascal_voc", label_fields=list(fields), **kwargs)}


def only(data: dict[str, Any], *fields: str) -> dict[str, Any]:
    """The image, the boxes and the given label fields of ``data`` (and its masks with ``inst``): albumentations
    2.0.0-2.0.2 default to ``Compose(strict=True)``, which refuses keys the pipeline does not know."""
    keep = {"image", "bboxes", *fields, *(("masks",) if "inst" in fields else ())}
    return {k: v for k, v in data.items() if k in keep}


def primary_and_partner(out: dict[str, Any], own: int) -> tuple[list[int], list[int]]:
    """Row positions of the primary's objects and of the partner's (told apart by their class)."""
    classes = [int(c) for c in out["cls"]]
    return [k for k, c in enumerate(classes) if c == own], [k for k, c in enumerate(classes) if c != own]


# -- per-object weights ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["list", "files", "pool"])
def test_mixup_weights_objects_by_their_images_share(source: str) -> None:
    refs = [sample(i, weight=0.5) for i in range(5, 8)]
    pool = PartnerPool(capacity=8)
    if source == "pool":
        reference, read_fn, before = pool, None, [Remember(pool)]
    elif source == "files":
        reference, read_fn, before = list(range(3)), refs.__getitem__, []
    else:
        reference, read_fn, before = refs, None, []
    pipeline = A.Compose([*before, MixUp(reference, read_fn=read_fn, weight_field="weight", p=1.0)],
                         **params("cls", "weight"), seed=0)
    if source == "pool":
        for i in range(5, 8):
            pipeline(**only(sample(i, weight=0.5), "cls", "weight"))
    checked = 0
    for i in (0, 1, 2, 3, 4, 8, 9, 10, 11, 12):  # classes other than the listed partners' 5, 6, 7
        out = pipeline(**only(sample(i), "cls", "weight"))
        lam = out["mix_lambda"]
        mine, theirs = primary_and_partner(out, i)
        if lam == 1.0:
            continue
        assert len(mine) == 2 and len(theirs) == 2
        remembered = 0.5 if int(out["cls"][theirs[0]]) in (5, 6, 7) else 1.0  # as the partner came (or was pooled)
        assert np.allclose([out["weight"][k] for k in mine], np.float32(lam), atol=1e-6)
        assert np.allclose([out["weight"][k] for k in theirs], remembered * np.float32(1 - lam), atol=1e-6)
        checked += 1
    assert checked >= 8


def test_a_partner_without_the_weight_field_counts_as_weight_one() -> None:
    refs = [sample(5, weight=None)]
    pipeline = A.Compose([MixUp(refs, weight_field="weight", p=1.0)], **params("cls", "weight"), seed=1)
    out = pipeline(**only(sample(0, weight=2.0), "cls", "weight"))
    lam = out["mix_lambda"]
    mine, theirs = primary_and_partner(out, 0)
    assert np.allclose([out["weight"][k] for k in mine], 2.0 * np.float32(lam), atol=1e-6)
    assert np.allclose([out["weight"][k] for k in theirs], np.float32(1 - lam), atol=1e-6)


def test_cutmix_keeps_the_weight_of_every_visible_object() -> None:
    refs = [sample(5, weight=0.5)]
    pipeline = A.Compose([CutMix(refs, weight_field="weight", p=1.0)], **params("cls", "weight"), seed=2)
    for _ in range(20):
        out = pipeline(**only(sample(0, weight=0.8), "cls", "weight"))
        mine, theirs = primary_and_partner(out, 0)
        assert [out["weight"][k] for k in mine] == pytest.approx([0.8] * len(mine))
        assert [out["weight"][k] for k in theirs] == pytest.approx([0.5] * len(theirs))


def test_weights_multiply_through_two_mixers_and_travel_through_later_filters() -> None:
    first, second = [sample(5, weight=1.0)], [sample(6, weight=1.0)]
    pipeline = A.ReplayCompose([
        MixUp(first, weight_field="weight", p=1.0),
        MixUp(second, weight_field="weight", p=1.0, name="MixUp2"),
        A.Crop(0, 0, 30, 30),  # drops the boxes that end up outside: their label fields go with them
    ], **params("cls", "weight", min_visibility=0.5))
    dropped = 0
    for i in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11):  # classes other than the partners' 5 and 6
        out = pipeline(**only(sample(i), "cls", "weight"))
        lam1, lam2 = (t["params"]["lam"] for t in out["replay"]["transforms"][:2])
        assert out["mix_lambda"] == pytest.approx(lam1 * lam2)
        expected = {i: lam1 * lam2, 5: (1 - lam1) * lam2, 6: 1 - lam2}
        for cls, weight in zip(out["cls"], out["weight"]):
            assert weight == pytest.approx(expected[int(cls)], abs=1e-6)
        dropped += 6 - len(out["cls"])
    assert dropped > 0  # the crop did drop boxes, and the weights still match their objects


def test_the_label_says_what_mix_lambda_says_after_two_mixers() -> None:
    refs_a, refs_b = [{"image": sample(5)["image"], "label": 1}], [{"image": sample(6)["image"], "label": 2}]
    pipeline = A.Compose([MixUp(refs_a, num_classes=3, p=1.0), CutMix(refs_b, num_classes=3, p=1.0)], seed=4)
    for _ in range(20):
        out = pipeline(image=sample(0)["image"], label=0)
        assert out["label"][0] == pytest.approx(out["mix_lambda"], abs=1e-6)  # the primary's share, composed
        assert out["label"].sum() == pytest.approx(1.0, abs=1e-6)


def test_weight_field_must_be_a_label_field_of_the_pipeline() -> None:
    pipeline = A.Compose([MixUp([sample(5)], weight_field="wieght", p=1.0)], **params("cls", "weight"))
    with pytest.raises(ValueError, match=r"MixUp: weight_field='wieght' must be a label field of the pipeline's BboxParams"):
        pipeline(**only(sample(0), "cls", "weight"))


def test_weights_replay_exactly() -> None:
    pool = PartnerPool()
    pipeline = A.ReplayCompose([Remember(pool), MixUp(pool, weight_field="weight", p=1.0)], **params("cls", "weight"))
    records = [pipeline(**only(sample(i), "cls", "weight")) for i in range(6)]
    for i in (5, 2):
        again = A.ReplayCompose.replay(records[i]["replay"], **only(sample(i), "cls", "weight"))
        assert np.array_equal(again["weight"], records[i]["weight"]) and again["mix_lambda"] == records[i]["mix_lambda"]


# -- mix_lambda on every sample -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_every_sample_of_a_label_free_pipeline_has_mix_lambda(seed: int) -> None:
    refs = [sample(5)]
    finish = [] if PIPELINE_HOOK else [LabelSmoothing(0.0)]  # AlbumentationsX: the documented finisher
    pipeline = A.Compose([A.OneOf([MixUp(refs, p=1.0), CutMix(refs, p=1.0)], p=0.5), *finish],
                         **params("cls", "weight"), seed=seed)
    outs = [pipeline(**{k: v for k, v in sample(i).items() if k not in ("masks", "inst")}) for i in range(40)]
    assert all("mix_lambda" in out for out in outs)
    assert {out["mix_lambda"] == 1.0 for out in outs} == {True, False}


def test_collate_names_the_finishing_transform_when_mix_lambda_is_missing() -> None:
    pytest.importorskip("torch")
    batch = [{"mix_lambda": 0.5, "x": np.zeros(2, np.float32)}, {"x": np.zeros(2, np.float32)}]
    with pytest.raises(TypeError, match=r"differing: \['mix_lambda'\].*LabelSmoothing\(epsilon=0.0\).*needs no label"):
        albu_mix.collate(batch)


# -- instance masks aligned with boxes ------------------------------------------------------------------


@pytest.mark.parametrize("cls", [MixUp, CutMix])
@pytest.mark.parametrize("source", ["list", "pool"])
def test_instance_masks_stay_aligned_with_their_boxes(cls: type, source: str) -> None:
    pool = PartnerPool()
    reference, before = (pool, [Remember(pool)]) if source == "pool" else ([sample(5, boxes=3)], [])
    pipeline = A.Compose([*before, cls(reference, instance_field="inst", p=1.0), A.HorizontalFlip(p=0.5)],
                         **params("cls", "inst", min_visibility=0.3), seed=5)
    for i in range(12):
        out = pipeline(**only(sample(i, boxes=2 + i % 2), "cls", "inst"))
        masks = albu_mix.aligned_masks(out["masks"], out["inst"])
        assert len(masks) == len(out["bboxes"])
        for (x1, y1, x2, y2), mask in zip(out["bboxes"], masks):
            ys, xs = np.nonzero(mask)
            assert len(ys), "the mask of a surviving box is empty"
            assert xs.min() >= int(x1) - 1 and xs.max() < int(np.ceil(x2)) + 1
            assert ys.min() >= int(y1) - 1 and ys.max() < int(np.ceil(y2)) + 1


def test_by_default_cutmix_keeps_every_mask_and_says_so() -> None:
    """The default follows albumentations (masks and boxes are independent targets): N + M masks."""
    pipeline = A.Compose([CutMix([sample(5)], p=1.0)], **params("cls"), seed=6)
    out = pipeline(**{k: v for k, v in sample(0).items() if k not in ("inst", "weight")})
    assert len(out["masks"]) == 4


def test_aligned_masks_refuses_an_index_it_does_not_have() -> None:
    with pytest.raises(ValueError, match=r"aligned_masks: each instance must be an index into the 2 masks, got 2.5"):
        albu_mix.aligned_masks([np.zeros((2, 2))] * 2, [2.5])


# -- Recall feeds A.Mosaic ------------------------------------------------------------------------------


needs_mosaic = pytest.mark.skipif(not HAS_MOSAIC, reason="A.Mosaic is in albumentations 2.0.8 and AlbumentationsX")


def mosaic_pipeline(pool: PartnerPool, replay: bool = False) -> Any:
    kind = A.ReplayCompose if replay else A.Compose
    pipeline = kind([A.HorizontalFlip(p=0.5), Remember(pool), Recall(pool, n=3),
                     A.Mosaic(grid_yx=(2, 2), target_size=(H, W), cell_shape=(H, W), fit_mode="contain", p=1.0)],
                    **params("cls"))
    pipeline.set_random_seed(7)
    return pipeline


def mosaic_sample(i: int) -> dict[str, Any]:
    s = sample(i)
    return {"image": s["image"], "mask": np.full((H, W), i + 1, np.uint8), "bboxes": s["bboxes"], "cls": s["cls"]}


@needs_mosaic
def test_recall_hands_mosaic_distinct_earlier_samples_as_partner_dicts() -> None:
    pool = PartnerPool(capacity=16)
    pipeline = mosaic_pipeline(pool)
    counts, several = [], 0
    for i in range(12):
        data = mosaic_sample(i)
        out = pipeline(**data)
        items = out["mosaic_metadata"]
        counts.append(len(items))
        labels = [int(item["cls"][0]) for item in items]
        assert len(set(labels)) == len(labels) and all(label < i for label in labels)  # distinct, earlier
        for item in items:
            assert set(item) >= {"image", "mask", "bboxes", "cls"} and not item["image"].flags.writeable
        assert set(np.unique(out["mask"]).tolist()) <= {0, i + 1, *(label + 1 for label in labels)}
        classes = {int(c) for c in out["cls"]}
        assert classes <= {i, *labels}
        several += len(classes) > 1 and len(set(np.unique(out["image"][..., 0]).tolist())) > 1
    assert counts[:4] == [0, 1, 2, 3] and set(counts[3:]) == {3}  # a cold pool gives fewer
    assert several >= 3, "Mosaic never showed pixels and boxes of several samples"


@needs_mosaic
def test_recall_and_mosaic_replay_exactly() -> None:
    pool = PartnerPool(capacity=16)
    pipeline = mosaic_pipeline(pool, replay=True)
    records = [pipeline(**mosaic_sample(i)) for i in range(8)]
    for i in (7, 4, 0):
        again = A.ReplayCompose.replay(records[i]["replay"], **mosaic_sample(i))
        assert np.array_equal(again["image"], records[i]["image"]) and again["cls"] == records[i]["cls"]


def test_recall_draws_from_earlier_samples_only_and_serializes_by_name() -> None:
    pool = PartnerPool(capacity=4, warmup=2)
    pipeline = A.Compose([Remember(pool), Recall(pool, n=5, key="extra")], seed=8)
    sizes = [len(pipeline(image=sample(i)["image"], label=i)["extra"]) for i in range(8)]
    assert sizes == [0, 0, 2, 3, 4, 4, 4, 4]  # warmup 2, then every earlier sample, at most capacity
    saved = A.to_dict(pipeline)
    restored = A.from_dict(saved, nonserializable={"Remember": Remember(pool), "Recall": Recall(pool, n=5, key="extra")})
    assert isinstance(restored.transforms[1], Recall)
    assert copy.deepcopy(pipeline).transforms[1].pool is pipeline.transforms[1].pool
    with pytest.raises(ValueError, match=r"Recall: n must be an int >= 1, got 0"):
        Recall(pool, n=0)
    if not ALBUMENTATIONSX:
        with pytest.raises(ValueError, match=r"a partner was drawn before any Remember\(pool\)"):
            A.Compose([Recall(pool), Remember(pool)])(image=sample(0)["image"])
