"""MixUp and CutMix: exactness to the papers, labels, masks, the partner contract."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest
from conftest import K, make_image, reference_samples
from scipy import stats

from albu_mix import CutMix, LabelSmoothing, MixUp, PartnerError
from albu_mix.functional import blend, cutmix_box

SHAPES = [(1, 1), (1, 7), (7, 1), (2, 3), (13, 29), (64, 17), (37, 100)]


def one_rectangle(mask: np.ndarray) -> bool:
    """True when the True pixels of ``mask`` form one filled axis-aligned rectangle (or none)."""
    if not mask.any():
        return True
    rows, cols = np.nonzero(mask)
    box = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return bool(box.all())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("area_range", [None, (0.0, 1.0), (0.2, 0.3)])
def test_cutmix_label_weight_is_the_exact_share_of_partner_pixels(shape, area_range) -> None:
    h, w = shape
    primary = np.zeros((h, w, 3), np.float32)
    partner = {"image": np.ones((h, w, 3), np.float32), "label": 3}
    t = CutMix([partner], area_range=area_range, num_classes=K, p=1.0)
    t.set_random_seed(h * 100 + w)
    fractions = []
    for _ in range(150):
        out = t(image=primary, label=1)
        pasted = (out["image"] == 1).all(axis=-1)
        assert np.isin(out["image"], (0, 1)).all()
        assert one_rectangle(pasted)
        share = pasted.sum() / (h * w)
        fractions.append(share)
        assert out["label"][3] == np.float32(share)  # exactly, not approximately
        assert out["label"][1] == pytest.approx(1 - share, abs=1e-7)
        assert out["mix_lambda"] == 1 - share
        assert out["label"].sum() == pytest.approx(1.0, abs=1e-6)
    if area_range == (0.2, 0.3) and h * w > 400:
        assert 0.15 < min(fractions) and max(fractions) < 0.35


def test_cutmix_box_rows_follow_height_and_columns_follow_width() -> None:
    # lam = 0.75: sides are sqrt(0.25) = half of each dimension, rows from H, columns from W.
    assert cutmix_box(0.75, 5, 100, 10, 200) == (3, 8, 50, 150)
    image = np.zeros((10, 200, 1), np.uint8)
    t = CutMix([{"image": np.full((10, 200, 1), 9, np.uint8)}], p=1.0)
    out = t.apply_params({"box": cutmix_box(0.75, 5, 100, 10, 200), "partner_index": 0}, {"image": image})
    rows, cols = np.nonzero(out["image"][..., 0])
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (3, 8, 50, 150)


@pytest.mark.parametrize("alpha", [0.2, 0.4, 1.0, 2.0])
def test_mixup_lambda_follows_beta(alpha: float) -> None:
    t = MixUp(reference_samples(1, 4, 4), alpha=alpha, p=1.0)
    t.set_random_seed(123)
    image = make_image(4, 4)
    lams = [t(image=image)["mix_lambda"] for _ in range(2000)]
    assert stats.kstest(lams, "beta", args=(alpha, alpha)).pvalue > 0.01
    # A wrong distribution is detected: the same draws against Beta(2a, 2a) fail.
    assert stats.kstest(lams, "beta", args=(3 * alpha, 3 * alpha)).pvalue < 0.01


def test_cutmix_box_area_follows_the_drawn_lambda_before_clipping() -> None:
    # On a large image the unclipped box area is (1 - lam) with lam ~ Beta(1, 1); clipping only
    # shrinks it, so the partner share is stochastically smaller than U(0, 1) but close to it.
    t = CutMix(reference_samples(1, 200, 200), p=1.0)
    t.set_random_seed(7)
    shares = [1 - t(image=make_image(200, 200))["mix_lambda"] for _ in range(1000)]
    assert np.mean(shares) < 0.5 and np.mean(shares) > 0.2


def test_mixup_labels_and_lambda_are_consistent() -> None:
    t = MixUp(reference_samples(), alpha=1.0, num_classes=K, p=1.0)
    t.set_random_seed(0)
    for _ in range(200):
        out = t(image=make_image(), label=0)
        y, lam = out["label"], out["mix_lambda"]
        assert y.dtype == np.float32 and y.shape == (K,)
        assert y.sum() == pytest.approx(1.0, abs=1e-6)
        if y[0] < 1:  # partner of another class
            assert y[0] == pytest.approx(lam, abs=1e-6)


def test_mixup_rounds_uint8_instead_of_truncating() -> None:
    a = np.full((4, 4, 3), 10, np.uint8)
    b = np.zeros((4, 4, 3), np.uint8)
    assert blend(a, b, 0.75)[0, 0, 0] == 8  # 7.5 rounds to 8; truncation gives 7
    assert blend(a, b, 0.66)[0, 0, 0] == 7  # 6.6 rounds to 7
    rng = np.random.default_rng(0)
    x, y = make_image(64, 64, seed=1), make_image(64, 64, seed=2)
    for lam in rng.random(20):
        exact = lam * x.astype(np.float64) + (1 - lam) * y.astype(np.float64)
        out = blend(x, y, lam).astype(np.float64)
        far_from_tie = np.abs(exact - np.floor(exact) - 0.5) > 1e-3
        np.testing.assert_array_equal(out[far_from_tie], np.rint(exact)[far_from_tie])
        assert abs((out - exact).mean()) < 0.05  # truncation would be biased by -0.5


@pytest.mark.parametrize("cls", [MixUp, CutMix])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("channels", [None, 1, 3, 16])
def test_dtype_and_shape_are_preserved(cls, dtype, channels) -> None:
    ref = [{"image": make_image(20, 30, channels, dtype, seed=5), "label": 1}]
    out = cls(ref, num_classes=K, p=1.0)(image=make_image(20, 30, channels, dtype), label=2)
    assert out["image"].dtype == np.dtype(dtype) and out["image"].shape == ((20, 30) if channels is None else (20, 30, channels))


def test_cutmix_pastes_the_partner_mask_in_exactly_the_box() -> None:
    refs = reference_samples(4, 33, 51)
    t = CutMix(refs, num_classes=K, p=1.0)
    t.set_random_seed(3)
    primary_mask = np.where(make_image(33, 51, None) > 128, 1, 2).astype(np.uint8)
    for _ in range(100):
        image = np.zeros((33, 51, 3), np.uint8)
        out = t(image=image, mask=primary_mask, label=0)
        y1, y2, x1, x2 = t.params["box"]
        partner = refs[t.params["partner_index"]]
        expected = primary_mask.copy()
        expected[y1:y2, x1:x2] = partner["mask"][y1:y2, x1:x2]
        np.testing.assert_array_equal(out["mask"], expected)
        assert set(np.unique(out["mask"])) <= {1, 2} | {int(r["mask"][0, 0]) for r in refs}


def test_mixup_never_blends_class_ids_and_keeps_the_heavier_mask() -> None:
    refs = [{"image": make_image(16, 16), "label": 1, "mask": np.full((16, 16), 3, np.uint8)}]
    t = MixUp(refs, alpha=1.0, num_classes=K, p=1.0)
    t.set_random_seed(4)
    primary_mask = np.zeros((16, 16), np.uint8)
    for _ in range(100):
        out = t(image=make_image(16, 16), mask=primary_mask, label=0)
        expected = 0 if out["mix_lambda"] >= 0.5 else 3
        assert np.unique(out["mask"]).tolist() == [expected]


def test_not_fired_still_encodes_the_label_and_emits_lambda_one() -> None:
    image = make_image()
    for cls in (MixUp, CutMix):
        out = cls(reference_samples(), num_classes=K, p=0.0)(image=image, label=4)
        assert out["label"].dtype == np.float32
        np.testing.assert_array_equal(out["label"], [0, 0, 0, 0, 1])
        assert out["mix_lambda"] == 1.0
        np.testing.assert_array_equal(out["image"], image)


def test_one_of_then_label_smoothing_keeps_every_batch_collatable() -> None:
    refs = reference_samples()
    pipeline = A.Compose(
        [
            A.OneOf([MixUp(refs, num_classes=K), CutMix(refs, num_classes=K)], p=0.5),
            LabelSmoothing(epsilon=0.0, num_classes=K),
        ],
        seed=0,
    )
    labels = [pipeline(image=make_image(), label=2)["label"] for _ in range(60)]
    batch = np.stack(labels)
    assert batch.shape == (60, K) and batch.dtype == np.float32
    assert (batch[:, 2] == 1).any() and (batch[:, 2] < 1).any()
    # Without the closing LabelSmoothing, a sample whose OneOf did not fire keeps its raw label:
    bare = A.Compose([A.OneOf([MixUp(refs, num_classes=K)], p=0.0)])
    assert bare(image=make_image(), label=2)["label"] == 2


def test_sequence_with_read_fn_and_callable_stream() -> None:
    paths = ["a", "b", "c"]
    table = {"a": 0, "b": 1, "c": 2}

    def read(item: str) -> dict:
        return {"image": np.full((8, 8, 3), 10 * table[item], np.uint8), "label": table[item]}

    t = CutMix(paths, read_fn=read, num_classes=K, p=1.0)
    t.set_random_seed(0)
    seen = set()
    for _ in range(40):
        t(image=np.zeros((8, 8, 3), np.uint8), label=4)
        seen.add(t.params["partner_index"])
    assert seen == {0, 1, 2}

    def stream(rng: np.random.Generator) -> dict:
        return {"image": np.full((8, 8, 3), 200, np.uint8), "label": int(rng.integers(3))}

    s = MixUp(stream, num_classes=K, p=1.0)
    out = s(image=np.zeros((8, 8, 3), np.uint8), label=4)
    assert "partner_seed" in s.params and out["label"].sum() == pytest.approx(1.0)


def test_partner_is_resized_to_the_primary() -> None:
    refs = [{"image": make_image(80, 120), "label": 1, "mask": np.tile(np.arange(4, dtype=np.uint8), (80, 30))}]
    for cls in (MixUp, CutMix):
        out = cls(refs, num_classes=K, p=1.0)(image=make_image(40, 60), mask=np.zeros((40, 60), np.uint8), label=0)
        assert out["image"].shape == (40, 60, 3) and out["mask"].shape == (40, 60)
        assert set(np.unique(out["mask"])) <= {0, 1, 2, 3}


def test_partner_transform_is_applied_first() -> None:
    gradient = np.tile(np.arange(30, dtype=np.uint8)[None, :, None], (20, 1, 3))
    refs = [{"image": gradient, "label": 1}]
    t = CutMix(refs, num_classes=K, partner_transform=A.HorizontalFlip(p=1.0), p=1.0)
    out = t.apply_params({"box": (0, 20, 0, 30), "partner_index": 0}, {"image": np.zeros_like(gradient), "label": 0})
    np.testing.assert_array_equal(out["image"], gradient[:, ::-1])


def test_cached_partner_and_read_only_inputs_are_never_modified() -> None:
    cached = {"image": make_image(24, 24, seed=9), "label": np.array([0, 1, 0, 0, 0], np.float32),
              "mask": np.full((24, 24), 7, np.uint8)}
    for array in cached.values():
        array.setflags(write=False)
    originals = {k: v.copy() for k, v in cached.items()}

    def from_cache(rng: np.random.Generator) -> dict:
        return cached

    image, mask, label = make_image(24, 24), np.zeros((24, 24), np.uint8), np.array([1, 0, 0, 0, 0], np.float32)
    primary = {"image": image.copy(), "mask": mask.copy(), "label": label.copy()}
    for array in (image, mask, label):
        array.setflags(write=False)
    pipeline = A.Compose([MixUp(from_cache, p=0.8), CutMix(from_cache, p=0.8), LabelSmoothing(0.1)], seed=0)
    for _ in range(100):
        out = pipeline(image=image, mask=mask, label=label)
        for key in ("image", "mask", "label"):
            # No output aliases the cache, so editing an output in place can never corrupt it.
            assert not np.shares_memory(out[key], cached[key])
            if out[key].flags.writeable:
                out[key][...] = 1
    for key, value in cached.items():
        np.testing.assert_array_equal(value, originals[key])
    for key, value in (("image", image), ("mask", mask), ("label", label)):
        np.testing.assert_array_equal(value, primary[key])


def test_replay_uses_the_same_partner_from_its_index() -> None:
    refs = reference_samples(6)
    pipeline = A.ReplayCompose([CutMix(refs, num_classes=K, p=1.0)])
    out = pipeline(image=make_image(), label=0)
    params = out["replay"]["transforms"][0]["params"]
    assert set(params) >= {"partner_index", "box"}
    again = A.ReplayCompose.replay(out["replay"], image=make_image(), label=0)
    np.testing.assert_array_equal(again["image"], out["image"])
    np.testing.assert_array_equal(again["label"], out["label"])


def failing_read(item: str) -> dict:
    raise FileNotFoundError(f"no such file: {item}")


@pytest.mark.parametrize("cls", [MixUp, CutMix])
def test_partner_errors_name_the_transform_and_the_partner(cls) -> None:
    t = cls(["x.jpg"], read_fn=failing_read, num_classes=K, p=1.0)
    with pytest.raises(PartnerError, match=rf"{cls.__name__}: reading the partner failed at partner index 0: "
                       r"FileNotFoundError: no such file: x.jpg") as info:
        t(image=make_image(), label=1)
    assert isinstance(info.value.__cause__, FileNotFoundError)
    bad = [
        ([np.zeros((4, 4, 3), np.uint8)], r"must be a sample dict with an 'image', got ndarray \(pass read_fn"),
        ([{"label": 1}], r"must have an 'image' numpy array, got no image"),
        ([{"image": np.zeros((40, 56, 4), np.uint8), "label": 1}], r"partner's 'image' must have the primary's channels"),
        ([{"image": np.zeros((40, 56, 3), np.float32), "label": 1}], r"primary's dtype uint8, got float32"),
        ([{"image": np.zeros((40, 56, 3), np.uint8)}], r"the primary has 'label', so the partner needs 'label' too"),
        ([{"image": np.zeros((40, 56, 3), np.uint8), "label": 9}], r"partner label\): class index must be in"),
    ]
    for refs, match in bad:
        with pytest.raises(PartnerError, match=rf"{cls.__name__}.*{match}.*partner index 0|{cls.__name__}.*{match}"):
            cls(refs, num_classes=K, p=1.0)(image=make_image(), label=1)
    with pytest.raises(PartnerError, match=rf"{cls.__name__}: the primary has 'mask', so the partner needs 'mask' too"):
        cls([{"image": make_image(), "label": 1}], num_classes=K, p=1.0)(
            image=make_image(), mask=np.zeros((40, 56), np.uint8), label=1)


@pytest.mark.parametrize(
    ("factory", "error", "match"),
    [
        (lambda: MixUp(reference_samples(), alpha=0), ValueError, r"MixUp: alpha must be a number in \(0, 1e\+06\], got 0"),
        (lambda: CutMix(reference_samples(), alpha=-1), ValueError, r"CutMix: alpha must be a number in \(0, 1e\+06\], got -1"),
        (lambda: MixUp([]), ValueError, r"MixUp: reference_data must not be empty, got a sequence of length 0"),
        (lambda: CutMix(42), TypeError, r"CutMix: reference_data must be a sequence .* or a callable .* got int"),
        (lambda: CutMix(reference_samples(), area_range=(0.5, 0.2)), ValueError,
         r"CutMix: area_range must be \(min, max\) with 0 <= min <= max <= 1, got \(0.5, 0.2\)"),
        (lambda: MixUp(reference_samples(), read_fn=3), TypeError, r"MixUp: read_fn must be callable or None, got int"),
        (lambda: MixUp(reference_samples(), partner_transform="flip"), TypeError,
         r"MixUp: partner_transform must be an albumentations transform or Compose, got str"),
    ],
)
def test_bad_parameters(factory, error, match) -> None:
    with pytest.raises(error, match=match):
        factory()


def test_cv2_threads_do_not_change_results() -> None:
    x, y = make_image(64, 64, seed=1), make_image(64, 64, seed=2)
    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        one = blend(x, y, 0.3)
        cv2.setNumThreads(2)
        np.testing.assert_array_equal(blend(x, y, 0.3), one)
    finally:
        cv2.setNumThreads(threads)
