"""albumentations' transform contract where a user touches it: constructors, targets, labels from
PyTorch, batches that must collate, the order of smoothing and mixing, Cutout's "mean" fill."""

from __future__ import annotations

import warnings
from typing import Any

import albumentations as A
import numpy as np
import pytest
from conftest import PIPELINE_HOOK, K, make_image, reference_samples

import albu_mix
from albu_mix import CutMix, Cutout, LabelSmoothing, MixUp

FACTORIES: dict[str, Any] = {
    "Cutout": lambda **kw: Cutout(8, **kw),
    "LabelSmoothing": lambda **kw: LabelSmoothing(0.1, num_classes=K, **kw),
    "MixUp": lambda **kw: MixUp(reference_samples(), num_classes=K, **kw),
    "CutMix": lambda **kw: CutMix(reference_samples(), num_classes=K, **kw),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_strict_is_accepted(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = FACTORIES[name](strict=True)
        FACTORIES[name](strict=False, p=0.3)
    assert t.invalid_args == []


@pytest.mark.parametrize("name", FACTORIES)
def test_unknown_arguments_warn_and_are_an_error_under_strict(name: str) -> None:
    with pytest.warns(UserWarning, match=rf"Argument\(s\) 'mask_interpolation' are not valid for transform {name}"):
        t = FACTORIES[name](mask_interpolation=0)
    assert t.invalid_args == ["mask_interpolation"]
    with pytest.raises(ValueError, match=rf"Argument\(s\) 'mask_interpolation, bogus' are not valid for transform {name}"):
        FACTORIES[name](mask_interpolation=0, bogus=1, strict=True)


@pytest.mark.parametrize("name", FACTORIES)
def test_attributes_albumentations_generic_tests_read(name: str) -> None:
    t = FACTORIES[name]()
    assert isinstance(t._targets, (tuple, object))
    assert {"p"} <= set(t.get_base_init_args()) and t.get_transform_init_args_names()
    assert repr(t).startswith(name + "(")
    if name in ("MixUp", "CutMix"):
        assert {target.value.lower() for target in t._targets} == {"image", "mask", "bboxes", "keypoints"}


def test_bad_values_still_raise_not_silently_default() -> None:
    with pytest.raises(ValueError, match=r"MixUp: alpha must be a number in \(0, 1e\+06\], got 2000000.0"):
        MixUp(reference_samples(), alpha=2e6)
    with pytest.raises(ValueError, match=r"Cutout: size in pixels must be >= 1, got 0"):
        Cutout(0, strict=False)


# ---------------------------------------------------------------------------------------------
# Labels from PyTorch and numpy
# ---------------------------------------------------------------------------------------------


def test_torch_labels_are_accepted_everywhere() -> None:
    torch = pytest.importorskip("torch")
    one_hot = torch.nn.functional.one_hot(torch.tensor(2), K).float()
    refs = [{"image": make_image(), "label": torch.tensor(1)}]
    for label in (torch.tensor(3), torch.tensor([3])[0], one_hot, np.int64(3), np.array(3)):
        y = LabelSmoothing(0.0, num_classes=K)(image=make_image(), label=label)["label"]
        assert y.dtype == np.float32 and y.sum() == 1
        mixed = MixUp(refs, num_classes=K, p=1.0)(image=make_image(), label=label)
        assert mixed["label"][1] == np.float32(1 - mixed["mix_lambda"])


@pytest.mark.parametrize("label", [[2, 0, 1], [0.5, 1.5, 0, 0, 0], np.array([0, 3, 0, 0, 0])])
def test_vector_entries_above_one_are_refused(label: Any) -> None:
    with pytest.raises(ValueError, match=r"LabelSmoothing: label vector entries must lie in \[0, 1\]"):
        LabelSmoothing(0.1)(image=make_image(), label=label)


# ---------------------------------------------------------------------------------------------
# Batches that do not collate: the error points at the cause
# ---------------------------------------------------------------------------------------------


def test_collate_names_an_unencoded_label() -> None:
    pytest.importorskip("torch")
    refs = reference_samples()
    pipeline = A.Compose([A.OneOf([MixUp(refs, num_classes=K), CutMix(refs, num_classes=K)], p=0.5)], seed=0)
    outs = [pipeline(image=make_image(seed=i), label=i % K) for i in range(16)]
    tuples = [(o["image"], o["label"]) for o in outs]
    assert {type(label) for _, label in tuples} == {int, np.ndarray}
    with pytest.raises(TypeError, match=r"position 1 is a label vector in some samples and a class index.*LabelSmoothing"):
        albu_mix.collate(tuples)
    dicts = [{"label": o["label"], **({"mix_lambda": o["mix_lambda"]} if "mix_lambda" in o else {})} for o in outs]
    expected = r"'label' is a label vector in some samples" if PIPELINE_HOOK else r"differing: \['mix_lambda'\]"
    with pytest.raises(TypeError, match=expected + r".*LabelSmoothing\(epsilon=0.0"):
        albu_mix.collate(dicts)
    fixed = A.Compose([*pipeline.transforms, LabelSmoothing(0.0, num_classes=K)], seed=0)
    batch = albu_mix.collate([fixed(image=make_image(seed=i), label=i % K) for i in range(16)])
    assert tuple(batch["label"].shape) == (16, K) and tuple(batch["mix_lambda"].shape) == (16,)


# ---------------------------------------------------------------------------------------------
# Smoothing and mixing: where LabelSmoothing goes
# ---------------------------------------------------------------------------------------------


def test_label_smoothing_goes_after_the_mixers() -> None:
    eps = 0.1
    refs = [{"image": make_image(seed=1), "label": 1}]
    after = A.Compose([MixUp(refs, num_classes=K, p=1.0), LabelSmoothing(eps, num_classes=K)], seed=3)
    before = A.Compose([LabelSmoothing(eps, num_classes=K), MixUp(refs, num_classes=K, p=1.0)], seed=3)
    a, b = after(image=make_image(), label=0), before(image=make_image(), label=0)
    lam = a["mix_lambda"]
    smooth = lambda k: (1 - eps) * np.eye(K)[k] + eps / K
    np.testing.assert_allclose(a["label"], lam * smooth(0) + (1 - lam) * smooth(1), atol=1e-6)  # both smoothed
    # placed first, LabelSmoothing never sees the partner's label, whose off-classes stay 0
    assert b["mix_lambda"] == lam and not np.allclose(a["label"], b["label"])
    np.testing.assert_allclose(b["label"][2], lam * eps / K, atol=1e-7)


# ---------------------------------------------------------------------------------------------
# Cutout's "mean" fill: each sample's own mean, list or array alike
# ---------------------------------------------------------------------------------------------


def test_cutout_mean_fill_is_per_image_for_lists_and_arrays() -> None:
    images = [np.full((20, 20, 3), v, np.uint8) for v in (10, 200)]
    t = A.Compose([Cutout(8, fill="mean", p=1.0)], seed=1)
    as_list = t(images=images)["images"]
    as_array = A.Compose([Cutout(8, fill="mean", p=1.0)], seed=1)(images=np.stack(images))["images"]
    for got in (as_list, as_array):
        assert np.unique(got[0]).tolist() == [10] and np.unique(got[1]).tolist() == [200]
