"""The cross-feature invariant matrix: cases, pipelines, samples and the invariants they must keep.

Module-level (DataLoader workers started with spawn import it by name). ``test_matrix.py`` picks the
cases (every pair of values of any two dimensions meets at least once) and runs them.

Every sample tells what it is made of: sample ``i`` has a constant image whose first channel is
``value(i)`` (and ``255 - value(i)`` after the pixel-only partner transform, a set disjoint from the
first), label ``i`` of K, a mask of ``i + 1``, one box, one keypoint and one instance mask whose label
field is ``i``. So an output names its primary and its partner, and the weights can be checked exactly.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np

import albu_mix
from albu_mix import CutMix, LabelSmoothing, MixUp, PartnerPool, Remember

K = 64
H, W = 24, 32
CALLS = 24  # per case: sample ids 0..CALLS-1, each used once

MIXERS = ("MixUp", "CutMix")
SOURCES = ("list", "files", "stream", "pool")
TARGETS = ("image", "mask", "masks", "bboxes", "keypoints", "aliases", "no-label", "instances")
SHAPES = ("plain", "OneOf", "SomeOf", "nested", "ReplayCompose", "pixel-partner-transform", "spatial-partner-transform")
EXECUTIONS = ("one thread", "4 threads", "fork workers", "spawn workers")
DIMENSIONS = {"mixer": MIXERS, "source": SOURCES, "targets": TARGETS, "shape": SHAPES, "execution": EXECUTIONS}


@dataclass(frozen=True)
class Case:
    mixer: str
    source: str
    targets: str
    shape: str
    execution: str

    @property
    def name(self) -> str:
        return f"{self.mixer}-{self.source}-{self.targets}-{self.shape}-{self.execution}".replace(" ", "_")


def value(i: int) -> int:
    """The first channel of sample ``i`` < K: 2, 5, ..., 191 (2 mod 3); inverted (255 - it): 1 mod 3."""
    return 2 + 3 * i


def ident_of_value(v: int) -> tuple[int, bool] | None:
    """(sample id, inverted) of a first-channel value, or None."""
    if v % 3 == 2 and (v - 2) // 3 < K:
        return (v - 2) // 3, False
    if v % 3 == 1 and 0 <= (253 - v) // 3 < K:
        return (253 - v) // 3, True
    return None


def make_sample(i: int, targets: str) -> dict[str, Any]:
    image = np.empty((H, W, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = value(i), 100, 50
    sample: dict[str, Any] = {"image": image}
    if targets != "no-label":
        sample["label"] = i
    if targets in ("mask", "aliases"):
        sample["mask"] = np.full((H, W), i + 1, np.uint8)
    if targets == "masks":
        instance = np.zeros((H, W), np.uint8)
        instance[4:12, 4:20] = 1
        sample["masks"] = [instance]
    if targets in ("bboxes", "no-label"):
        sample["bboxes"] = [[4.0, 4.0, 20.0, 12.0]]
        sample["cls"] = [i]
    if targets == "instances":  # boxes with per-object weights and instance masks aligned by index
        rows = [[4.0, 4.0, 20.0, 12.0], [22.0, 14.0, 30.0, 22.0]]
        masks = np.zeros((2, H, W), np.uint8)
        for k, (x1, y1, x2, y2) in enumerate(rows):
            masks[k, int(y1):int(y2), int(x1):int(x2)] = 1
        sample.update(bboxes=rows, cls=[i, i], weight=[1.0, 0.5], inst=[0, 1], masks=masks)
    if targets == "keypoints":
        sample["keypoints"] = [[8.0, 6.0]]
        sample["kcls"] = [i]
    if targets == "aliases":
        sample["image2"] = image.copy()
        sample["mask2"] = sample["mask"].copy()
        sample["label2"] = (i + 7) % K
    return sample


# -- partner sources (module level: spawned workers unpickle them) -----------------------------------


class FileReader:
    """``read_fn`` for the "files" source: reads sample ``i``'s image from a PNG file, the rest from its id."""

    def __init__(self, directory: str, targets: str) -> None:
        self.directory = directory
        self.targets = targets

    def __call__(self, i: int) -> dict[str, Any]:
        bgr = cv2.imread(os.path.join(self.directory, f"{i}.png"), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"{self.directory}/{i}.png")
        return {**make_sample(i, self.targets), "image": cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)}


def write_files(directory: Path) -> None:
    for i in range(K):
        cv2.imwrite(str(directory / f"{i}.png"), cv2.cvtColor(make_sample(i, "image")["image"], cv2.COLOR_RGB2BGR))


class Stream:
    """A stream source: a sample of id 40 + n (never a primary's id), drawn with the generator."""

    def __init__(self, targets: str) -> None:
        self.targets = targets

    def __call__(self, rng: np.random.Generator) -> dict[str, Any]:
        return make_sample(40 + int(rng.integers(0, 20)), self.targets)


REFERENCE_IDS = range(40, 60)  # list and file partners: ids no primary has


# -- pipelines ------------------------------------------------------------------------------------------


def _params(targets: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if targets in ("bboxes", "no-label", "instances"):
        key = "coord_format" if albu_mix._compat.ALBUMENTATIONSX else "format"
        fields = ["cls", "weight", "inst"] if targets == "instances" else ["cls"]
        out["bbox_params"] = A.BboxParams(**{key: "pascal_voc"}, label_fields=fields)
    if targets == "keypoints":
        key = "coord_format" if albu_mix._compat.ALBUMENTATIONSX else "format"
        out["keypoint_params"] = A.KeypointParams(**{key: "xy"}, label_fields=["kcls"])
    if targets == "aliases":
        out["additional_targets"] = {"image2": "image", "mask2": "mask", "label2": "label"}
    return out


def build(case: Case, files: str | None) -> tuple[A.Compose, PartnerPool | None]:
    params = _params(case.targets)
    pool = PartnerPool(capacity=64) if case.source == "pool" else None
    if case.source == "list":
        reference: Any = [make_sample(i, case.targets) for i in REFERENCE_IDS]
        read_fn = None
    elif case.source == "files":
        assert files is not None
        reference, read_fn = list(REFERENCE_IDS), FileReader(files, case.targets)
    elif case.source == "stream":
        reference, read_fn = Stream(case.targets), None
    else:
        reference, read_fn = pool, None
    partner_transform = None
    if case.shape.startswith("pixel"):  # a pixel-only transform needs no bbox or keypoint params
        aliases = {k: v for k, v in params.items() if k == "additional_targets"}
        partner_transform = A.Compose([A.InvertImg(p=1.0)], **aliases)
    elif case.shape.startswith("spatial"):
        partner_transform = A.Compose([A.HorizontalFlip(p=1.0)], **params)
    cls = MixUp if case.mixer == "MixUp" else CutMix
    objects = {"weight_field": "weight", "instance_field": "inst"} if case.targets == "instances" else {}
    mixer = cls(reference, read_fn=read_fn, num_classes=K, partner_transform=partner_transform, p=1.0, **objects)
    if case.shape == "OneOf":
        mixing: list[Any] = [A.OneOf([mixer, A.NoOp(p=1.0)], p=1.0)]
    elif case.shape == "SomeOf":
        mixing = [A.SomeOf([mixer, A.NoOp(p=1.0)], n=1, p=1.0)]
    elif case.shape == "nested":
        mixing = [A.Compose([A.Sequential([mixer], p=1.0)], **params)]
    else:
        mixing = [mixer]
    steps = [*([Remember(pool)] if pool is not None else []), *mixing, LabelSmoothing(0.0, num_classes=K)]
    kind = A.ReplayCompose if case.shape == "ReplayCompose" else A.Compose
    return kind(steps, **params), pool


# -- one call, with the checks only the calling process can make ---------------------------------------


def snapshot(data: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(data)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def call(pipeline: A.Compose, case: Case, i: int) -> dict[str, Any]:
    """Run sample ``i``; returns the output (without the replay record) and what only this process can
    check: the input unchanged, the replay bit-exact, a bad call refused with the transform's name."""
    data = make_sample(i, case.targets)
    before = snapshot(data)
    out = pipeline(**data)
    result: dict[str, Any] = {"i": i, "unchanged": same(data, before), "error_names_transform": None}
    if case.shape == "ReplayCompose":
        replayed = A.ReplayCompose.replay(out["replay"], **make_sample(i, case.targets))
        result["replay_exact"] = same({k: v for k, v in out.items() if k != "replay"},
                                      {k: v for k, v in replayed.items() if k != "replay"})
    if i == CALLS - 1:  # a float64 image: refused by the first albu_mix transform called (OneOf: try again)
        bad = {**make_sample(i, case.targets), "image": np.zeros((H, W, 3), np.float64)}
        result["error"] = "no error in 20 calls"
        result["error_names_transform"] = False
        for _ in range(20):
            try:
                pipeline(**bad)
            except Exception as error:  # noqa: BLE001 (any error: every one must name its transform)
                result["error"] = f"{type(error).__name__}: {error}"
                result["error_names_transform"] = str(error).startswith(("MixUp:", "CutMix:", "Remember:"))
                break
    result["out"] = {k: v for k, v in out.items() if k != "replay"}
    return result


class MatrixDataset:
    """For DataLoader workers: index ``n`` is call ``n % CALLS`` of case ``n // CALLS``."""

    def __init__(self, cases: list[Case], files: str) -> None:
        self.cases = cases
        self.pipelines = [build(case, files)[0] for case in cases]

    def __len__(self) -> int:
        return len(self.cases) * CALLS

    def __getitem__(self, n: int) -> dict[str, Any]:
        case_index, i = divmod(n, CALLS)
        result = call(self.pipelines[case_index], self.cases[case_index], i)
        result["case"] = case_index
        result["pid"] = os.getpid()
        return result


def as_is(batch: Any) -> Any:
    return batch


# -- the invariants -------------------------------------------------------------------------------------


def check(case: Case, result: dict[str, Any], earlier: set[int] | None) -> None:
    """The README's invariants for one output. ``earlier``: for a pool in one thread, the ids that
    went before (a pooled partner is one of them); None where the order is not known."""
    i, out = result["i"], result["out"]
    where = f"{case.name}, sample {i}"
    assert result["unchanged"], f"{where}: the input changed"
    if "replay_exact" in result:
        assert result["replay_exact"], f"{where}: the replay differs from the recorded output"
    if result["error_names_transform"] is not None:
        assert result["error_names_transform"], f"{where}: an error did not start with the transform's name: {result['error']}"
    lam = out["mix_lambda"]
    assert 0.0 <= lam <= 1.0, f"{where}: mix_lambda {lam}"
    partner_value, j = _partner_from_pixels(case, out, i, lam)
    if "label" in out:
        y = out["label"]
        assert y.dtype == np.float32 and abs(float(y.sum()) - 1.0) < 1e-5, f"{where}: label {y}"
        if lam == 1.0:
            assert y[i] == 1.0, f"{where}: not mixed, yet label {y}"
        else:
            others = [k for k in np.flatnonzero(y) if k != i]
            assert len(others) == 1, f"{where}: mix_lambda {lam} but label {y} (its own partner?)"
            j_label = others[0]
            assert abs(y[i] - lam) < 1e-6 and abs(y[j_label] - (1 - lam)) < 1e-6, f"{where}: weights {y} vs {lam}"
            assert j is None or j == j_label, f"{where}: pixels say partner {j}, label says {j_label}"
            j = j_label
    if lam == 1.0:
        assert same(out["image"], make_sample(i, case.targets)["image"]), f"{where}: not mixed, yet the image changed"
        return
    if j is None and case.mixer == "MixUp":  # a partner weight too small to read from pixels: its box says
        fields = [out[f] for f in ("cls", "kcls") if f in out]
        j = int(fields[0][-1]) if fields and len(fields[0]) == 2 else None
    assert j is not None and j != i, f"{where}: mixed (mix_lambda {lam}) with no partner or with itself"
    partner_value = float(255 - value(j) if case.shape.startswith("pixel") else value(j))
    if earlier is not None and case.source == "pool":
        assert j in earlier, f"{where}: partner {j} is not an earlier sample"
    if case.source != "pool":
        assert j in REFERENCE_IDS, f"{where}: partner {j} is not from the reference data"
    share = 1.0 - lam
    first = out["image"][..., 0].astype(np.float64)
    if case.mixer == "CutMix":
        pasted = first == partner_value
        assert int(pasted.sum()) == round(share * H * W), f"{where}: {pasted.sum()} partner pixels for weight {share}"
        if "mask" in out:
            assert np.all(out["mask"][pasted] == j + 1) and np.all(out["mask"][~pasted] == i + 1), f"{where}: mask"
    else:
        expected = lam * value(i) + share * partner_value
        assert np.all(np.abs(first - expected) <= 0.51), f"{where}: blend {first[0, 0]} vs {expected}"
        if "mask" in out:
            assert np.all(out["mask"] == (i + 1 if lam >= 0.5 else j + 1)), f"{where}: mask"
    if case.targets == "masks":
        assert len(out["masks"]) == 2, f"{where}: {len(out['masks'])} instance masks"
    if case.targets == "instances":
        assert len(out["masks"]) == 4, f"{where}: {len(out['masks'])} instance masks"
        own, other = (lam, share) if case.mixer == "MixUp" else (1.0, 1.0)
        remembered = [1.0, 0.5]
        for k, (cls_value, weight, inst) in enumerate(zip(out["cls"], out["weight"], out["inst"])):
            factor = own if int(cls_value) == i else other
            assert abs(weight - remembered[int(inst) % 2] * factor) < 1e-5, f"{where}: weight {weight} of box {k}"
        aligned = albu_mix.aligned_masks(out["masks"], out["inst"])
        for (x1, y1, x2, y2), mask in zip(out["bboxes"], aligned):
            ys, xs = np.nonzero(mask)
            assert len(ys) and xs.min() >= int(x1) - 1 and xs.max() <= int(np.ceil(x2)) and ys.min() >= int(y1) - 1, \
                f"{where}: the mask of box ({x1}, {y1}, {x2}, {y2}) is not its own"
    for field in ("cls", "kcls"):
        if field in out and case.targets != "instances":
            values = [int(v) for v in out[field]]
            if case.mixer == "MixUp":
                assert values == [i, j], f"{where}: {field} {values}"
            else:
                assert values in ([i, j], [i], [j], []), f"{where}: {field} {values}"
    if case.targets == "aliases":
        assert same(out["image2"], out["image"]) and same(out["mask2"], out["mask"]), f"{where}: aliases differ"
        y2 = out["label2"]
        i2, j2 = (i + 7) % K, (j + 7) % K
        assert abs(y2[i2] - lam) < 1e-6 and abs(y2[j2] - share) < 1e-6, f"{where}: label2 {y2}"


def _partner_from_pixels(case: Case, out: dict[str, Any], i: int, lam: float) -> tuple[float, int | None]:
    """The partner's first-channel value and id, read from the image where it is exact (CutMix, or MixUp
    with a partner weight large enough to decode); (0, None) otherwise."""
    if lam == 1.0:
        return 0.0, None
    first = out["image"][..., 0].astype(np.float64)
    if case.mixer == "CutMix":
        values = [int(v) for v in np.unique(first) if int(v) != value(i)]
        assert len(values) == 1, f"{case.name}, sample {i}: pixel values {values}"
        decoded = ident_of_value(values[0])
        if decoded is not None:
            assert decoded[1] == case.shape.startswith("pixel"), f"{case.name}, sample {i}: inverted {decoded[1]}"
    elif 1.0 - lam > 0.4:  # the blend's rounding, divided by the partner's weight, stays under 1.5
        guess = (float(first[0, 0]) - lam * value(i)) / (1.0 - lam)
        inverted = case.shape.startswith("pixel")
        j = min(range(K), key=lambda k: abs((255 - value(k) if inverted else value(k)) - guess))
        decoded = (j, inverted)
    else:
        decoded = None
    if decoded is None:
        return 0.0, None
    j, inverted = decoded
    return float(255 - value(j) if inverted else value(j)), j
