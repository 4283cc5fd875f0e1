"""Property-based tests of the four transforms over dtypes, shapes, channel counts and parameters.

For every input hypothesis draws (uint8 or float32; shapes down to 1×1; H×W or H×W×C with C in
1, 3, 4, 16; read-only or writable arrays; direct calls and calls inside ``A.Compose``):

- the output image keeps the input's shape and dtype, and masks keep theirs;
- no input is modified (primary image, partner image, masks, label arrays);
- no NaN appears from finite input;
- single-label targets still sum to 1, and for MixUp and CutMix the label agrees with
  ``mix_lambda`` (``label[c1] == mix_lambda``, ``label[c2] == 1 - mix_lambda``), which lies in [0, 1].
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from albu_mix import CutMix, Cutout, LabelSmoothing, MixUp

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DTYPES = st.sampled_from([np.uint8, np.float32])
CHANNELS = st.sampled_from([None, 1, 3, 4, 16])
SIDES = st.integers(1, 24)
SEEDS = st.integers(0, 2**32 - 1)


def make_image(shape: tuple[int, ...], dtype: Any, seed: int, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    # float32 images may be normalised: values outside [0, 1], negative ones included
    return ((rng.random(shape, dtype=np.float32) - 0.25) * scale).astype(np.float32)


def frozen(array: np.ndarray, read_only: bool) -> np.ndarray:
    """The array itself, made read-only when asked (the test keeps a separate copy to compare)."""
    if read_only:
        array.setflags(write=False)
    return array


def shape_of(h: int, w: int, channels: int | None) -> tuple[int, ...]:
    return (h, w) if channels is None else (h, w, channels)


def run(transform: Any, data: dict[str, Any], via_compose: bool, seed: int) -> dict[str, Any]:
    if via_compose:
        return A.Compose([transform], seed=seed)(**data)
    transform.set_random_seed(seed)
    return transform(**data)


def assert_no_nan(*arrays: Any) -> None:
    for array in arrays:
        assert not np.isnan(np.asarray(array, dtype=np.float64)).any()


# ----------------------------------------------------------------------------------------------
# Cutout
# ----------------------------------------------------------------------------------------------


@st.composite
def cutout_sizes(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["int", "float", "int-range", "float-range"]))
    if kind == "int":
        return draw(st.integers(1, 40))
    if kind == "float":
        return draw(st.floats(0.01, 1.0))
    if kind == "int-range":
        low = draw(st.integers(1, 30))
        return (low, draw(st.integers(low, 40)))
    low = draw(st.floats(0.01, 1.0))
    return (low, draw(st.floats(low, 1.0)))


@st.composite
def cutout_fills(draw: st.DrawFn, dtype: Any, channels: int | None) -> Any:
    kind = draw(st.sampled_from(["number", "per-channel", "random", "mean"]))
    if kind in ("random", "mean"):
        return kind
    upper = 255 if np.dtype(dtype) == np.uint8 else 1.0
    value = st.integers(0, 255) if np.dtype(dtype) == np.uint8 else st.floats(-1.0, upper)
    if kind == "number":
        return draw(value)
    return [draw(value) for _ in range(channels or 1)]


@st.composite
def cutout_cases(draw: st.DrawFn) -> dict[str, Any]:
    dtype, channels = draw(DTYPES), draw(CHANNELS)
    holes = draw(st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 2), st.integers(2, 4))))
    return {
        "dtype": dtype,
        "shape": shape_of(draw(SIDES), draw(SIDES), channels),
        "size": draw(cutout_sizes()),
        "num_holes": holes,
        "fill": draw(cutout_fills(dtype, channels)),
        "p": draw(st.sampled_from([0.0, 0.5, 1.0])),
    }


@SETTINGS
@given(case=cutout_cases(), image_seed=SEEDS, seed=SEEDS, read_only=st.booleans(), via_compose=st.booleans())
def test_cutout_properties(case: dict[str, Any], image_seed: int, seed: int, read_only: bool,
                           via_compose: bool) -> None:
    image = make_image(case["shape"], case["dtype"], image_seed, scale=4.0)
    before = image.copy()
    transform = Cutout(case["size"], num_holes=case["num_holes"], fill=case["fill"], p=case["p"])
    out = run(transform, {"image": frozen(image, read_only)}, via_compose, seed)["image"]

    assert out.shape == before.shape and out.dtype == before.dtype
    np.testing.assert_array_equal(image, before)
    assert_no_nan(out)
    fill = case["fill"]
    if not isinstance(fill, str):
        # every pixel that changed now holds the fill value (in every channel)
        changed = out != before
        if out.ndim == 3:
            changed = changed.any(axis=-1)
        expected = np.broadcast_to(np.asarray(fill, dtype=np.float64), out[changed].shape)
        np.testing.assert_allclose(out[changed].astype(np.float64), expected.astype(out.dtype), rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# LabelSmoothing
# ----------------------------------------------------------------------------------------------


@st.composite
def smoothing_cases(draw: st.DrawFn) -> dict[str, Any]:
    k = draw(st.integers(2, 12))
    mode = draw(st.sampled_from(["uniform", "others", "multilabel"]))
    kind = draw(st.sampled_from(["index", "numpy-index", "one-hot", "soft", "list"]))
    cls = draw(st.integers(0, k - 1))
    if kind == "index":
        label: Any = cls
    elif kind == "numpy-index":
        label = np.int64(cls)
    elif kind == "one-hot":
        label = np.eye(k, dtype=draw(st.sampled_from([np.float32, np.float64, np.uint8])))[cls]
    elif kind == "soft":
        label = np.random.default_rng(draw(SEEDS)).dirichlet(np.ones(k)).astype(np.float32)
    else:
        label = [1.0 if i == cls else 0.0 for i in range(k)]
    return {
        "k": k,
        "mode": mode,
        "label": label,
        "epsilon": draw(st.one_of(st.just(0.0), st.floats(0.0, 0.999))),
        "num_classes": draw(st.sampled_from([k, None])) if kind not in ("index", "numpy-index") else k,
        "p": draw(st.sampled_from([0.0, 0.5, 1.0])),
    }


@SETTINGS
@given(case=smoothing_cases(), dtype=DTYPES, channels=CHANNELS, seed=SEEDS, read_only=st.booleans(),
       via_compose=st.booleans())
def test_label_smoothing_properties(case: dict[str, Any], dtype: Any, channels: int | None, seed: int,
                                    read_only: bool, via_compose: bool) -> None:
    image = make_image(shape_of(3, 2, channels), dtype, seed)
    label = case["label"]
    label_before = label.copy() if isinstance(label, (np.ndarray, list)) else label
    if isinstance(label, np.ndarray) and label.ndim == 1:
        frozen(label, read_only)
    transform = LabelSmoothing(case["epsilon"], num_classes=case["num_classes"], mode=case["mode"], p=case["p"])
    out = run(transform, {"image": frozen(image, read_only), "label": label}, via_compose, seed)

    y = out["label"]
    assert y.dtype == np.float32 and y.shape == (case["k"],)
    assert y is not label
    assert_no_nan(y)
    assert (y >= 0).all() and (y <= 1 + 1e-6).all()
    if case["mode"] != "multilabel":
        assert abs(float(y.sum()) - 1.0) <= 1e-5
    np.testing.assert_array_equal(np.asarray(label), np.asarray(label_before))
    assert out["image"] is image or np.array_equal(out["image"], image)


# ----------------------------------------------------------------------------------------------
# MixUp and CutMix
# ----------------------------------------------------------------------------------------------


@st.composite
def mixing_cases(draw: st.DrawFn) -> dict[str, Any]:
    dtype, channels = draw(DTYPES), draw(CHANNELS)
    h, w = draw(SIDES), draw(SIDES)
    same_size = draw(st.booleans())
    ph, pw = (h, w) if same_size else (draw(SIDES), draw(SIDES))
    k = draw(st.integers(2, 10))
    c1 = draw(st.integers(0, k - 1))
    c2 = draw(st.integers(0, k - 2))
    c2 = c2 if c2 < c1 else c2 + 1  # distinct from c1
    area_range = None
    if draw(st.booleans()):
        low = draw(st.floats(0.0, 1.0))
        area_range = (low, draw(st.floats(low, 1.0)))
    return {
        "dtype": dtype,
        "shape": shape_of(h, w, channels),
        "partner_shape": shape_of(ph, pw, channels),
        "k": k,
        "c1": c1,
        "c2": c2,
        "label_kind": draw(st.sampled_from(["index", "one-hot"])),
        "with_mask": draw(st.booleans()),
        "alpha": draw(st.sampled_from([0.05, 0.2, 0.4, 1.0, 2.0, 8.0])),
        "area_range": area_range,
        "source": draw(st.sampled_from(["list", "read_fn", "stream"])),
        "p": draw(st.sampled_from([0.0, 0.5, 1.0, 1.0])),
    }


class Reader:
    """read_fn over a store of partner samples: items are keys."""

    def __init__(self, store: dict[str, dict[str, Any]]) -> None:
        self.store = store

    def __call__(self, key: str) -> dict[str, Any]:
        return self.store[key]


class Stream:
    """A callable reference: always the same partner sample."""

    def __init__(self, sample: dict[str, Any]) -> None:
        self.sample = sample

    def __call__(self, rng: np.random.Generator) -> dict[str, Any]:
        return self.sample


def reference(sample: dict[str, Any], source: str) -> tuple[Any, Any]:
    if source == "list":
        return [sample], None
    if source == "read_fn":
        return ["partner"], Reader({"partner": sample})
    return Stream(sample), None


def check_mixing(cls: Any, case: dict[str, Any], image_seed: int, seed: int, read_only: bool,
                 via_compose: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    dtype, k, c1, c2 = case["dtype"], case["k"], case["c1"], case["c2"]
    image = make_image(case["shape"], dtype, image_seed)
    other = make_image(case["partner_shape"], dtype, image_seed + 1)
    label1: Any
    label2: Any
    if case["label_kind"] == "index":
        label1, label2 = c1, c2
    else:
        label1, label2 = np.eye(k, dtype=np.float32)[c1], np.eye(k, dtype=np.float32)[c2]
    data: dict[str, Any] = {"image": image, "label": label1}
    sample: dict[str, Any] = {"image": other, "label": label2}
    if case["with_mask"]:
        data["mask"] = np.full(case["shape"][:2], 1, np.uint8)
        sample["mask"] = np.full(case["partner_shape"][:2], 2, np.uint8)
    copies = {
        "image": image.copy(),
        "partner": other.copy(),
        **{f"{key}-{name}": np.array(v, copy=True) for key, d in (("data", data), ("sample", sample))
           for name, v in d.items() if name != "image"},
    }
    for array in (image, other, label1, label2, data.get("mask"), sample.get("mask")):
        if isinstance(array, np.ndarray) and array.ndim >= 1:
            frozen(array, read_only)

    ref, read_fn = reference(sample, case["source"])
    kwargs: dict[str, Any] = {"alpha": case["alpha"], "num_classes": k if case["label_kind"] == "index" else None}
    if cls is CutMix:
        kwargs["area_range"] = case["area_range"]
    transform = cls(ref, read_fn=read_fn, p=case["p"], **kwargs)
    out = run(transform, dict(data), via_compose, seed)

    # shapes and dtypes
    assert out["image"].shape == image.shape and out["image"].dtype == image.dtype
    if case["with_mask"]:
        assert out["mask"].shape == data["mask"].shape and out["mask"].dtype == data["mask"].dtype
        assert np.isin(out["mask"], (1, 2)).all()
    # inputs untouched
    np.testing.assert_array_equal(image, copies["image"])
    np.testing.assert_array_equal(other, copies["partner"])
    for key, d in (("data", data), ("sample", sample)):
        for name, v in d.items():
            if name != "image":
                np.testing.assert_array_equal(np.asarray(v), copies[f"{key}-{name}"])
    # no NaN, labels and lambda consistent
    y, lam = out["label"], out["mix_lambda"]
    assert_no_nan(out["image"], y)
    assert y.dtype == np.float32 and y.shape == (k,)
    assert 0.0 <= lam <= 1.0
    assert abs(float(y.sum()) - 1.0) <= 1e-5
    assert abs(float(y[c1]) - lam) <= 1e-6
    assert abs(float(y[c2]) - (1.0 - lam)) <= 1e-6
    assert np.count_nonzero(y) <= 2
    return out, {"image": image, "partner": other}


def explicit_case(dtype: Any, shape: tuple[int, ...], partner_shape: tuple[int, ...], **overrides: Any) -> dict[str, Any]:
    """A mixing case that hypothesis always tries: partners that need resizing, tiny images."""
    case = {
        "dtype": dtype, "shape": shape, "partner_shape": partner_shape, "k": 3, "c1": 0, "c2": 2,
        "label_kind": "index", "with_mask": True, "alpha": 1.0, "area_range": None, "source": "list", "p": 1.0,
    }
    case.update(overrides)
    return case


#: Always tried, whatever hypothesis draws: every channel count with a partner to shrink and to
#: enlarge (OpenCV's resize has per-channel-count limits), and 1×1 images.
EXPLICIT_MIXING_CASES = [
    explicit_case(dtype, (5, 7, *ch), (9, 11, *ch))
    for dtype in (np.uint8, np.float32)
    for ch in ((), (1,), (3,), (4,), (16,))
] + [
    explicit_case(dtype, (9, 11, *ch), (5, 7, *ch), label_kind="one-hot")
    for dtype in (np.uint8, np.float32)
    for ch in ((), (1,), (3,), (4,), (16,))
] + [
    explicit_case(np.float32, (1, 1, 3), (1, 1, 3), area_range=(0.0, 1.0)),
    explicit_case(np.uint8, (1, 1), (6, 4), source="stream"),
    explicit_case(np.uint8, (6, 4, 16), (1, 1, 16), source="read_fn"),
]


def with_explicit_cases(test: Any) -> Any:
    for case in EXPLICIT_MIXING_CASES:
        test = example(case=case, image_seed=3, seed=4, read_only=True, via_compose=False)(test)
    return test


@SETTINGS
@with_explicit_cases
@given(case=mixing_cases(), image_seed=SEEDS, seed=SEEDS, read_only=st.booleans(), via_compose=st.booleans())
def test_mixup_properties(case: dict[str, Any], image_seed: int, seed: int, read_only: bool,
                          via_compose: bool) -> None:
    out, inputs = check_mixing(MixUp, case, image_seed, seed, read_only, via_compose)
    if case["shape"] == case["partner_shape"]:
        lam = out["mix_lambda"]
        expected = lam * inputs["image"].astype(np.float64) + (1 - lam) * inputs["partner"].astype(np.float64)
        if case["dtype"] == np.uint8:
            assert np.abs(out["image"].astype(np.float64) - expected).max() <= 1.0
        else:
            np.testing.assert_allclose(out["image"], expected, rtol=1e-5, atol=1e-6)
        if case["with_mask"]:
            assert (out["mask"] == (1 if lam >= 0.5 else 2)).all()


@SETTINGS
@with_explicit_cases
@given(case=mixing_cases(), image_seed=SEEDS, seed=SEEDS, read_only=st.booleans(), via_compose=st.booleans())
def test_cutmix_properties(case: dict[str, Any], image_seed: int, seed: int, read_only: bool,
                           via_compose: bool) -> None:
    out, inputs = check_mixing(CutMix, case, image_seed, seed, read_only, via_compose)
    if case["shape"] == case["partner_shape"]:
        # every pixel comes from one of the two images
        assert ((out["image"] == inputs["image"]) | (out["image"] == inputs["partner"])).all()
    if case["with_mask"]:
        # the partner's mask covers exactly its share of the pixels
        share = float((out["mask"] == 2).mean())
        assert abs(share - (1.0 - out["mix_lambda"])) <= 1e-9
