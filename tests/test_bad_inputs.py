"""Bad inputs to every albu_mix transform: one table, each row a clear error.

Each row builds a transform (or fails to) and, for call-time rows, calls it directly and inside
``A.Compose``. The error must be a ``ValueError`` or ``TypeError`` (``PartnerError`` is a
``ValueError``) whose message names the transform, what was expected and what was got; a bare
numpy or OpenCV error, an ``IndexError``, a ``NotImplementedError`` or silent success fails the row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import albumentations as A
import numpy as np
import pytest
from conftest import ALBUMENTATIONSX, processor_params

from albu_mix import CutMix, Cutout, LabelSmoothing, MixUp

K = 5
H, W = 8, 10

IMAGE = np.zeros((H, W, 3), np.uint8)
MASK = np.zeros((H, W), np.uint8)


def image(dtype: Any = np.uint8, shape: tuple[int, ...] = (H, W, 3)) -> np.ndarray:
    return np.zeros(shape, dtype)


def partner(**overrides: Any) -> list[dict[str, Any]]:
    """One-item reference data, so the partner index is always 0."""
    sample: dict[str, Any] = {"image": image(), "label": 1, "mask": MASK.copy()}
    sample.update(overrides)
    return [{k: v for k, v in sample.items() if v is not None}]


GOOD_REF = partner()


class BrokenLen(list):
    """Reference data whose len() fails only when the transform fires (the constructor checks it once)."""

    def __len__(self) -> int:
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls > 1:
            raise RuntimeError("length unknown")
        return 1


def emptied(cls: Any) -> Any:
    """A transform whose reference data was cleared after it was built (a cache emptied)."""
    refs = list(GOOD_REF)
    transform = cls(refs, p=1.0)
    refs.clear()
    return transform


def returns_none(**data: Any) -> None:
    return None


def returns_image_only(**data: Any) -> dict[str, Any]:
    return {"image": data["image"]}


class FailingReader:
    """A read_fn that raises; keeps the exception it raised so the test can check ``__cause__``."""

    def __init__(self) -> None:
        self.error: OSError | None = None

    def __call__(self, item: Any) -> dict[str, Any]:
        self.error = OSError(f"cannot read {item}")
        raise self.error


class FailingStream:
    """A callable reference stream that raises."""

    def __init__(self) -> None:
        self.error: RuntimeError | None = None

    def __call__(self, rng: np.random.Generator) -> dict[str, Any]:
        self.error = RuntimeError("stream exhausted")
        raise self.error


def read_none(item: Any) -> None:
    return None


def failing_partner_transform(**data: Any) -> dict[str, Any]:
    raise RuntimeError("partner augmentation broke")


def cause_is_the_original(error: BaseException, transform: Any) -> None:
    source = transform.reference_data if callable(transform.reference_data) else transform.read_fn
    assert source.error is not None, "the failing callback was never called"
    assert error.__cause__ is source.error


def cause_is_runtime_error(error: BaseException, transform: Any) -> None:
    assert isinstance(error.__cause__, RuntimeError)
    assert "partner augmentation broke" in str(error.__cause__)


@dataclass
class Case:
    """One bad input. ``data`` None means the constructor itself must raise."""

    id: str
    build: Callable[[], Any]
    data: Callable[[], dict[str, Any]] | None
    error: type[Exception]
    match: str
    routes: tuple[str, ...] = ("direct", "compose")
    compose_kwargs: Callable[[], dict[str, Any]] = dict
    check: Callable[[BaseException, Any], None] | None = None


def img_only(img: Any) -> Callable[[], dict[str, Any]]:
    return lambda: {"image": img}


def with_label(label: Any, img: Any = IMAGE) -> Callable[[], dict[str, Any]]:
    return lambda: {"image": img, "label": label}


def labelled(img: Any) -> Callable[[], dict[str, Any]]:
    return with_label(1, img)


def build(cls: Any, *args: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: cls(*args, **kwargs)


IMAGE_TRANSFORMS = {
    "Cutout": build(Cutout, 3, p=1.0),
    "MixUp": build(MixUp, GOOD_REF, num_classes=K, p=1.0),
    "CutMix": build(CutMix, GOOD_REF, num_classes=K, p=1.0),
}
LABEL_TRANSFORMS = {
    "LabelSmoothing": lambda nc=K: LabelSmoothing(0.1, num_classes=nc),
    "MixUp": lambda nc=K: MixUp(GOOD_REF, num_classes=nc, p=1.0),
    "CutMix": lambda nc=K: CutMix(GOOD_REF, num_classes=nc, p=1.0),
}
MIXERS = {"MixUp": MixUp, "CutMix": CutMix}
ALL = {"Cutout": Cutout, "LabelSmoothing": LabelSmoothing, "MixUp": MixUp, "CutMix": CutMix}
#: A valid first argument for each constructor, so that only the parameter under test is bad.
FIRST_ARG: dict[str, tuple[Any, ...]] = {"Cutout": (3,), "LabelSmoothing": (), "MixUp": (GOOD_REF,), "CutMix": (GOOD_REF,)}


def bbox_params() -> dict[str, Any]:  # built in the test, not at collection
    return {"bbox_params": processor_params(A.BboxParams, "pascal_voc", "bbox_labels")}


def keypoint_params() -> dict[str, Any]:
    return {"keypoint_params": processor_params(A.KeypointParams, "xy", "kp_labels")}


def _cases() -> list[Case]:
    cases: list[Case] = []
    add = cases.append

    # -- images: dtypes, empty, wrong rank, not an array, missing --------------------------------
    for name, make in IMAGE_TRANSFORMS.items():
        # Cutout has no label target (a strict Compose would reject the key): image or mask only.
        sample = img_only if name == "Cutout" else labelled
        for dtype in ("float64", "int32", "bool"):
            add(Case(f"{name}-image-{dtype}", make, sample(image(dtype)), TypeError,
                     rf"{name}\b.*uint8 or float32.*got {dtype}"))
        add(Case(f"{name}-image-zero-size", make, sample(image(shape=(0, W, 3))), ValueError,
                 rf"{name}\b.*must not be empty.*got shape \(0, {W}, 3\)"))
        add(Case(f"{name}-image-1d", make, sample(image(shape=(W,))), ValueError,
                 rf"{name}\b.*2 or 3 dimensions.*got shape \({W},\)"))
        # Compose rejects a non-array image itself, before any transform runs: direct call only.
        add(Case(f"{name}-image-list", make, sample([[0, 0], [0, 0]]), TypeError,
                 rf"{name}\b.*numpy array.*got list", routes=("direct",)))
        add(Case(f"{name}-no-image", make, lambda: {"mask": MASK}, ValueError,
                 rf"{name}\b.*must hold an 'image'.*got keys \['mask'\]"))

    # -- labels ----------------------------------------------------------------------------------
    for name, make in LABEL_TRANSFORMS.items():
        add(Case(f"{name}-label-nan", make, with_label([0.5, float("nan"), 0.5, 0.0, 0.0]), ValueError,
                 rf"{name}\b.*must be finite.*got NaN.*nan"))
        add(Case(f"{name}-label-index-negative", make, with_label(-1), ValueError,
                 rf"{name}\b.*class index must be in \[0, {K}\).*got -1"))
        add(Case(f"{name}-label-index-without-num-classes", lambda make=make: make(None), with_label(2),
                 ValueError, rf"{name}\b.*needs num_classes.*got label=2 and num_classes=None"))
        add(Case(f"{name}-label-index-too-large", make, with_label(K), ValueError,
                 rf"{name}\b.*class index must be in \[0, {K}\).*got {K}"))
        add(Case(f"{name}-label-vector-wrong-length", make, with_label([1.0, 0.0, 0.0]), ValueError,
                 rf"{name}\b.*num_classes={K} entries.*got 3"))
        add(Case(f"{name}-label-vector-negative", make, with_label([1.5, -0.5, 0.0, 0.0, 0.0]), ValueError,
                 rf"{name}\b.*entries must lie in \[0, 1\].*got \[1\.5, -0\.5"))
        add(Case(f"{name}-label-vector-counts", make, with_label([2, 0, 1, 0, 0]), ValueError,
                 rf"{name}\b.*entries must lie in \[0, 1\] \(one-hot, multi-hot or soft\).*got \[2, 0, 1"))
        add(Case(f"{name}-label-2d", make, with_label(np.eye(K)[:1]), ValueError,
                 rf"{name}\b.*must be 1-D.*got shape \(1, {K}\)"))
        add(Case(f"{name}-label-float-scalar", make, with_label(2.0), TypeError,
                 rf"{name}\b.*integer class index or a 1-D vector.*got the float 2\.0"))
        add(Case(f"{name}-label-string", make, with_label("cat"), TypeError,
                 rf"{name}\b.*integer class index or a 1-D vector.*got str"))
    # The label is still validated when the transform does not fire.
    add(Case("MixUp-label-invalid-when-not-fired", build(MixUp, GOOD_REF, num_classes=K, p=0.0),
             with_label(7), ValueError, rf"MixUp\b.*class index must be in \[0, {K}\).*got 7"))
    # Complex numbers are not class weights: the imaginary part must not vanish silently.
    add(Case("LabelSmoothing-label-complex", build(LabelSmoothing, 0.1), with_label(np.array([1j, 1.0])),
             TypeError, r"LabelSmoothing\b.*numeric.*got.*1j"))

    # -- parameters out of range (the constructor raises) -----------------------------------------
    for name, cls in MIXERS.items():
        for alpha in (0, -1, float("nan")):
            add(Case(f"{name}-alpha-{alpha}", build(cls, GOOD_REF, alpha=alpha), None, ValueError,
                     rf"{name}\b.*alpha must be a number in \(0, 1e\+06\].*got {alpha}"))
        add(Case(f"{name}-alpha-huge", build(cls, GOOD_REF, alpha=1e308), None, ValueError,
                 rf"{name}\b.*alpha must be a number in \(0, 1e\+06\].*got 1e\+308"))
        add(Case(f"{name}-num-classes-0", build(cls, GOOD_REF, num_classes=0), None, ValueError,
                 rf"{name}\b.*num_classes must be an int >= 1.*got 0"))
    for area_range in ((0.5, 0.2), (0.5, 1.2), (-0.1, 0.5)):
        add(Case(f"CutMix-area-range-{area_range}", build(CutMix, GOOD_REF, area_range=area_range), None,
                 ValueError, rf"CutMix\b.*0 <= min <= max <= 1.*got {re.escape(repr(area_range))}"))
    for epsilon in (1.0, -0.1, float("nan")):
        add(Case(f"LabelSmoothing-epsilon-{epsilon}", build(LabelSmoothing, epsilon), None, ValueError,
                 rf"LabelSmoothing\b.*epsilon must be a number in \[0, 1\).*got {epsilon}"))
    add(Case("LabelSmoothing-mode-bad", build(LabelSmoothing, 0.1, mode="other"), None, ValueError,
             r"LabelSmoothing\b.*'uniform', 'others' or 'multilabel'.*got 'other'"))
    add(Case("LabelSmoothing-others-one-class", build(LabelSmoothing, 0.1, num_classes=1, mode="others"),
             None, ValueError, r"LabelSmoothing\b.*'others' needs num_classes >= 2.*got 1"))
    for size, error, expected in (
        (0, ValueError, r"pixels must be >= 1.*got 0"),
        (-3, ValueError, r"pixels must be >= 1.*got -3"),
        (1.5, ValueError, r"fraction of the shorter side must be in \(0, 1\].*got 1\.5"),
        (0.0, ValueError, r"fraction of the shorter side must be in \(0, 1\].*got 0\.0"),
        ((5, 2), ValueError, r"min <= max.*got \(5, 2\)"),
        ((0.5, 3), TypeError, r"two ints or two floats.*got \(0\.5, 3\)"),
    ):
        add(Case(f"Cutout-size-{size}", build(Cutout, size), None, error, rf"Cutout\b.*size.*{expected}"))
    for holes, expected in ((0, r"int >= 1.*got 0"), ((3, 1), r"min <= max.*got \(3, 1\)")):
        add(Case(f"Cutout-num-holes-{holes}", build(Cutout, 3, num_holes=holes), None, ValueError,
                 rf"Cutout\b.*num_holes.*{expected}"))
    add(Case("Cutout-fill-bad-string", build(Cutout, 3, fill="zero"), None, ValueError,
             r"Cutout\b.*'random' or 'mean'.*got 'zero'"))
    add(Case("Cutout-fill-nan", build(Cutout, 3, fill=float("nan")), None, ValueError,
             r"Cutout\b.*fill must be finite.*got nan"))
    add(Case("Cutout-fill-none", build(Cutout, 3, fill=None), None, TypeError,
             r"Cutout\b.*fill must be a number, a per-channel sequence.*got None"))
    for name, cls in ALL.items():
        add(Case(f"{name}-p-1.5", build(cls, *FIRST_ARG[name], p=1.5), None, ValueError,
                 rf"{name}\b.*p must be a number in \[0, 1\].*got 1\.5"))
    # Fill values that only the image can judge (the call raises).
    add(Case("Cutout-fill-out-of-uint8-range", build(Cutout, 3, fill=300, p=1.0), img_only(IMAGE), ValueError,
             r"Cutout\b.*uint8 image must lie in \[0, 255\].*got \[300\]"))
    add(Case("Cutout-fill-wrong-channel-count", build(Cutout, 3, fill=(1, 2), p=1.0), img_only(IMAGE),
             ValueError, r"Cutout\b.*one value per channel \(3\).*got 2 values"))

    # -- reference data and partners ---------------------------------------------------------------
    for name, cls in MIXERS.items():
        at = r"at partner index 0"
        add(Case(f"{name}-reference-empty", build(cls, []), None, ValueError,
                 rf"{name}\b.*reference_data must not be empty.*got a sequence of length 0"))
        add(Case(f"{name}-reference-none", build(cls, None), None, TypeError,
                 rf"{name}\b.*reference_data must be a sequence.*or a callable.*got NoneType"))
        add(Case(f"{name}-read-fn-not-callable", build(cls, ["a.png"], read_fn=3), None, TypeError,
                 rf"{name}\b.*read_fn must be callable.*got int"))
        add(Case(f"{name}-read-fn-raises", lambda cls=cls: cls(["a.png"], read_fn=FailingReader(), p=1.0),
                 img_only(IMAGE), ValueError,
                 rf"{name}\b.*reading the partner failed {at}.*OSError: cannot read a\.png",
                 check=cause_is_the_original))
        add(Case(f"{name}-stream-raises", lambda cls=cls: cls(FailingStream(), p=1.0), img_only(IMAGE), ValueError,
                 rf"{name}\b.*reading the partner failed at partner seed \d+.*RuntimeError: stream exhausted",
                 check=cause_is_the_original))
        add(Case(f"{name}-reference-emptied-after-build", lambda cls=cls: emptied(cls), img_only(IMAGE), ValueError,
                 rf"{name}\b.*reference_data must hold at least one partner.*got len\(reference_data\) = 0"))
        add(Case(f"{name}-reference-len-raises", lambda cls=cls: cls(BrokenLen(GOOD_REF), p=1.0), img_only(IMAGE), ValueError,
                 rf"{name}\b.*len\(reference_data\) must give the number of partners.*RuntimeError: length unknown"))
        add(Case(f"{name}-items-not-dicts", build(cls, [image()], p=1.0), img_only(IMAGE), ValueError,
                 rf"{name}\b.*partner {at} must be a sample dict.*got ndarray.*read_fn"))
        add(Case(f"{name}-read-fn-returns-none", build(cls, ["a.png"], read_fn=read_none, p=1.0),
                 img_only(IMAGE), ValueError, rf"{name}\b.*must be a sample dict.*got NoneType"))
        add(Case(f"{name}-partner-without-image", build(cls, partner(image=None), p=1.0), img_only(IMAGE),
                 ValueError, rf"{name}\b.*partner {at} must have an 'image' numpy array.*got no image"))
        add(Case(f"{name}-partner-other-channels", build(cls, partner(image=image(shape=(H, W, 4))), p=1.0),
                 img_only(IMAGE), ValueError,
                 rf"{name}\b.*primary's channels \(shape \({H}, {W}, 3\)\).*got shape \({H}, {W}, 4\) {at}"))
        add(Case(f"{name}-partner-other-dtype", build(cls, partner(image=image(np.float32)), p=1.0),
                 img_only(IMAGE), ValueError, rf"{name}\b.*primary's dtype uint8.*got float32 {at}"))
        add(Case(f"{name}-partner-zero-size", build(cls, partner(image=image(shape=(0, W, 3))), p=1.0),
                 img_only(IMAGE), ValueError, rf"{name}\b.*must not be empty.*got shape \(0, {W}, 3\) {at}"))
        add(Case(f"{name}-partner-transform-raises",
                 build(cls, GOOD_REF, partner_transform=failing_partner_transform, p=1.0), img_only(IMAGE),
                 ValueError, rf"{name}\b.*partner_transform failed.*partner index 0.*partner augmentation broke",
                 check=cause_is_runtime_error))
        add(Case(f"{name}-primary-mask-partner-without-mask", build(cls, partner(mask=None), p=1.0),
                 lambda: {"image": IMAGE, "mask": MASK}, ValueError,
                 rf"{name}\b.*primary has 'mask'.*partner needs 'mask'.*got keys \['image', 'label'\] {at}"))
        add(Case(f"{name}-primary-label-partner-without-label", build(cls, partner(label=None), num_classes=K, p=1.0),
                 with_label(1), ValueError,
                 rf"{name}\b.*primary has 'label'.*partner needs 'label'.*got keys \['image', 'mask'\] {at}"))
        add(Case(f"{name}-partner-label-out-of-range", build(cls, partner(label=9), num_classes=K, p=1.0),
                 with_label(1), ValueError, rf"{name}\b.*partner label.*\[0, {K}\).*got 9 {at}"))
        add(Case(f"{name}-partner-mask-other-channels",
                 build(cls, partner(mask=np.zeros((H, W, 2), np.uint8)), alpha=1e6, p=1.0),
                 lambda: {"image": IMAGE, "mask": MASK}, ValueError,
                 # AlbumentationsX's Compose gives the transform a 2-D mask as H×W×1
                 rf"{name}\b.*mask.*\({H}, {W}(, 1)?\).*got.*\({H}, {W}, 2\).*{at}"))
        add(Case(f"{name}-partner-mask-zero-size",
                 build(cls, partner(mask=np.zeros((0, W), np.uint8)), p=1.0),
                 lambda: {"image": IMAGE, "mask": MASK}, ValueError,
                 rf"{name}\b.*mask.*empty.*got shape \(0, {W}\).*{at}"))
        add(Case(f"{name}-partner-mask-not-its-image-size",
                 build(cls, partner(mask=np.zeros((4, 4), np.uint8)), p=1.0),
                 lambda: {"image": IMAGE, "mask": MASK}, ValueError,
                 rf"{name}\b.*mask.*\({H}, {W}\).*got.*\(4, 4\).*{at}"))
        add(Case(f"{name}-primary-mask-wrong-size", build(cls, GOOD_REF, p=1.0),
                 lambda: {"image": IMAGE, "mask": np.zeros((4, 4), np.uint8)}, ValueError,
                 rf"{name}\b.*mask.*height and width \({H}, {W}\).*got \(4, 4\)",
                 routes=("direct",)))  # Compose checks mask and image shapes itself

        add(Case(f"{name}-partner-mask-other-dtype",
                 build(cls, partner(mask=np.full((H, W), 300, np.uint16)), p=1.0),
                 lambda: {"image": IMAGE, "mask": MASK}, ValueError,
                 rf"{name}\b.*primary mask's dtype uint8.*never cast.*got uint16.*{at}"))
        add(Case(f"{name}-partner-uint8-after-normalize", build(cls, GOOD_REF, p=1.0),
                 lambda: {"image": image(np.float32)}, ValueError,
                 rf"{name}\b.*primary's dtype float32, got uint8 {at}.*partner_transform=A.Normalize\(\)"))
        add(Case(f"{name}-partner-transform-returns-none", build(cls, GOOD_REF, partner_transform=returns_none, p=1.0),
                 lambda: {"image": IMAGE, "mask": MASK}, ValueError,
                 rf"{name}\b.*partner_transform must return a dict with the keys it was given \['image', 'mask'\], "
                 rf"got NoneType {at}"))
        add(Case(f"{name}-partner-transform-drops-the-mask",
                 build(cls, GOOD_REF, partner_transform=returns_image_only, p=1.0),
                 lambda: {"image": IMAGE, "mask": MASK}, ValueError,
                 rf"{name}\b.*partner_transform must return a dict with the keys.*got \['image'\] {at}"))

        # -- annotations ---------------------------------------------------------------------------
        add(Case(f"{name}-bboxes-partner-without-bboxes", build(cls, GOOD_REF, p=1.0),
                 lambda: {"image": IMAGE, "bboxes": [[1, 1, 5, 5]], "bbox_labels": [1]}, ValueError,
                 rf"{name}\b.*primary has 'bboxes'.*partner needs 'bboxes' too.*{at}",
                 routes=("compose",), compose_kwargs=bbox_params))
        add(Case(f"{name}-bboxes-partner-without-label-field", build(cls, partner(bboxes=[[0, 0, 2, 2]]), p=1.0),
                 lambda: {"image": IMAGE, "bboxes": [[1, 1, 5, 5]], "bbox_labels": [1]}, ValueError,
                 rf"{name}\b.*partner needs the label fields \['bbox_labels'\].*{at}",
                 routes=("compose",), compose_kwargs=bbox_params))
        add(Case(f"{name}-bboxes-partner-labels-misaligned",
                 build(cls, partner(bboxes=[[0, 0, 2, 2]], bbox_labels=[1, 2]), p=1.0),
                 lambda: {"image": IMAGE, "bboxes": [[1, 1, 5, 5]], "bbox_labels": [1]}, ValueError,
                 rf"{name}\b.*partner's 'bboxes' {at}.*'bbox_labels' must have one entry per row.*got 2 for 1",
                 routes=("compose",), compose_kwargs=bbox_params))
        add(Case(f"{name}-keypoints-partner-bad-rows", build(cls, partner(keypoints=[[1]], kp_labels=[1]), p=1.0),
                 lambda: {"image": IMAGE, "keypoints": [[1, 1]], "kp_labels": [1]}, ValueError,
                 rf"{name}\b.*partner's 'keypoints' {at}.*rows of at least 2 numbers, got shape \(1, 1\)",
                 routes=("compose",), compose_kwargs=keypoint_params))
        add(Case(f"{name}-bboxes-without-bbox-params", build(cls, partner(bboxes=[[0, 0, 2, 2]]), p=1.0),
                 lambda: {"image": IMAGE, "bboxes": np.array([[0.1, 0.1, 0.5, 0.5]])}, ValueError,
                 rf"{name}\b.*'bboxes' needs the pipeline's bbox_params.*A.Compose",
                 routes=("direct",)))
        add(Case(f"{name}-bboxes-bare-partner-transform",
                 build(cls, partner(bboxes=[[0, 0, 2, 2]], bbox_labels=[0]), partner_transform=A.HorizontalFlip(p=1),
                       p=1.0),
                 lambda: {"image": IMAGE, "bboxes": [[1, 1, 5, 5]], "bbox_labels": [1]}, ValueError,
                 rf"{name}\b.*partner_transform must be an A.Compose with the pipeline's bbox_params.*HorizontalFlip",
                 routes=("compose",), compose_kwargs=bbox_params))

        # -- targets that are not supported -----------------------------------------------------
        add(Case(f"{name}-images", build(cls, GOOD_REF, p=1.0),
                 lambda: {"image": IMAGE, "images": np.stack([IMAGE, IMAGE])}, ValueError,
                 rf"{name}\b.*'images' \(images\) is not supported.*one partner.*got 'images'"))
        add(Case(f"{name}-aliased-volume", build(cls, GOOD_REF, p=1.0),
                 # AlbumentationsX wants the canonical target beside an alias (albumentations 2.0.0 refuses
                 # it in a Compose whose transforms do not take it): there, give both, the alias first
                 lambda: {"image": IMAGE, "scan": np.zeros((2, H, W, 3), np.uint8),
                          **({"volume": np.zeros((2, H, W, 3), np.uint8)} if ALBUMENTATIONSX else {})}, ValueError,
                 rf"{name}\b.*'scan' \(volume\) is not supported.*got 'scan'",
                 routes=("compose",), compose_kwargs=lambda: {"additional_targets": {"scan": "volume"}}))
    return cases


CASES = _cases()
ROWS = [
    pytest.param(case, route, id=f"{case.id}[{route}]")
    for case in CASES
    for route in (("init",) if case.data is None else case.routes)
]


def test_table_is_large_and_ids_are_unique() -> None:
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.filterwarnings("ignore:Got processor for:UserWarning")
@pytest.mark.parametrize(("case", "route"), ROWS)
def test_bad_input_is_a_clear_error(case: Case, route: str) -> None:
    if route == "init":
        with pytest.raises(case.error, match=case.match):
            case.build()
        return
    transform = case.build()
    data = case.data()
    with pytest.raises(case.error, match=case.match) as info:
        if route == "direct":
            transform(**data)
        else:
            A.Compose([transform], **case.compose_kwargs())(**data)
    if case.check is not None:
        case.check(info.value, transform)


PARTNER_ROWS = [row for row in ROWS if "-partner-" in row.id and not row.id.endswith("[init]")]


@pytest.mark.filterwarnings("ignore:Got processor for:UserWarning")
@pytest.mark.parametrize(("case", "route"), PARTNER_ROWS)
def test_a_bad_partner_is_refused_even_when_the_draw_gives_it_no_weight(
    case: Case, route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CutMix box clipped to nothing or a MixUp λ of exactly 1 leaves the primary as it is; the
    partner is checked all the same, so a bad partner fails on every draw and not on some."""
    for cls in (MixUp, CutMix):
        drawn = cls._geometry

        def no_weight(self: Any, params: dict[str, Any], data: dict[str, Any], drawn: Any = drawn) -> dict[str, Any]:
            return {**drawn(self, params, data), "weight": 0.0}

        monkeypatch.setattr(cls, "_geometry", no_weight)
    test_bad_input_is_a_clear_error(case, route)
