"""Speed benchmarks of albu_mix against albumentations built-ins and the cheapest possible floors.

Run from the repository root::

    python benchmarks/speed.py            # full run, about a minute or two on 2 cores
    python benchmarks/speed.py --quick    # short run (under 30 s), noisier

Besides the image-only comparisons, it measures what bounding boxes and keypoints add to MixUp,
CutMix and, for reference, albumentations' own ``HorizontalFlip`` (at 224² uint8 only).

Writes ``speed.md`` (a Markdown table, also printed to stdout) and ``speed.png`` (a bar chart of
the ratios) into ``benchmarks/results`` (or ``--out DIR``). Every figure is a per-call median over
interleaved blocks (see ``_timing.py``), with OpenCV on one thread; ratios compare medians measured
in the same process and the same rounds. Absolute microseconds drift between runs and machines:
read the ratios. Nothing here asserts a timing; the goals are reported, not enforced.

Requires albu_mix and its dependencies; ``tqdm`` (progress bar) and ``matplotlib`` (chart) are
optional and imported lazily.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np

import albu_mix
from albu_mix import CutMix, Cutout, LabelSmoothing, MixUp

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is a folder, not a package
from _common import DEFAULT_OUT, command_line
from _timing import Candidate, Group, Timings, make_progress, run_group

DATA_DIR = Path(albu_mix.__file__).resolve().parent / "data"

SIZES = (224, 1024)
#: sizes at which only Cutout vs CoarseDropout runs (the foundation issue's 512² point)
CUTOUT_ONLY_SIZES = (512,)
DTYPES: tuple[type[np.generic], ...] = (np.uint8, np.float32)
NUM_CLASSES = 10
SMOOTHING_CLASSES = 1000
FLOOR_LAMBDA = 0.4  # the floors blend with a fixed weight; cv2.addWeighted's cost does not depend on it
#: the one geometry at which the cost of boxes and keypoints is measured
ANNOTATION_CONFIG_SIZE = 224
#: boxes (keypoints) on the primary, and as many again on the partner
NUM_ANNOTATIONS = 20
#: HorizontalFlip is albumentations' own: the share of the cost that is Compose's box processing
ANNOTATED_TRANSFORMS = ("MixUp", "CutMix", "HorizontalFlip")
BBOX_PARAMS = {"format": "pascal_voc", "label_fields": ["classes"]}
KEYPOINT_PARAMS = {"format": "xy", "label_fields": ["keypoint_classes"]}


@dataclass(frozen=True)
class Settings:
    """How long to time: ``rounds`` interleaved blocks per candidate, each about ``block_s`` long."""

    rounds: int
    block_s: float
    min_calls: int


FULL = Settings(rounds=31, block_s=0.025, min_calls=2)
QUICK = Settings(rounds=15, block_s=0.008, min_calls=1)


@dataclass(frozen=True)
class Config:
    """One image geometry and dtype."""

    size: int
    dtype: type[np.generic]

    @property
    def label(self) -> str:
        return f"{self.size}×{self.size}×3 {np.dtype(self.dtype).name}"


@dataclass(frozen=True)
class Goal:
    """A target for a ratio: ``ratio >= value`` or ``ratio <= value``."""

    at_least: bool
    value: float

    def met(self, ratio: float) -> bool:
        return ratio >= self.value if self.at_least else ratio <= self.value

    @property
    def text(self) -> str:
        return f"{'≥' if self.at_least else '≤'} {self.value:g}×"


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    benchmark: str
    image: str
    candidate: str
    candidate_us: float | None
    reference: str
    reference_us: float | None
    ratio: float | None
    ratio_is: str
    spread: tuple[float, float] | None = None
    goal: Goal | None = None
    #: ``(transform, annotations)`` for the rows of the annotation-cost summary, e.g. ``("MixUp", "20 boxes")``
    annotation_cost: tuple[str, str] | None = None


@dataclass
class Bench:
    """A group of interleaved candidates and the rule that turns its timings into rows."""

    group: Group
    rows: Callable[[Timings], list[Row]]


# ----------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------


def make_image(config: Config, seed: int) -> np.ndarray:
    """A fixed random image; float32 images lie in [0, 1]."""
    image = np.random.default_rng(seed).integers(0, 256, (config.size, config.size, 3), dtype=np.uint8)
    if config.dtype == np.float32:
        return image.astype(np.float32) * np.float32(1 / 255)
    return image


def read_partner(path: str) -> dict[str, Any]:
    """``read_fn`` for MixUp: decode a JPEG to RGB uint8; the label is the number the name starts with."""
    image = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return {"image": image, "label": int(Path(path).name.split("_", 1)[0])}


def read_partner_float(path: str) -> dict[str, Any]:
    """``read_fn`` for float32 pipelines: as ``read_partner``, scaled to [0, 1] float32."""
    sample = read_partner(path)
    sample["image"] = sample["image"].astype(np.float32) * np.float32(1 / 255)
    return sample


def write_partner_jpegs(folder: Path, size: int) -> list[str]:
    """The bundled sample photographs, resized to ``size``², as JPEG files named ``<label>_<name>.jpg``."""
    sources = sorted(p for p in DATA_DIR.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    paths = []
    for label, source in enumerate(sources):
        image = cv2.imread(str(source), cv2.IMREAD_COLOR)
        if image is None:
            raise RuntimeError(f"could not read the bundled sample image {source.name}")
        resized = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
        path = folder / f"{label % NUM_CLASSES}_{source.stem}_{size}.jpg"
        if not cv2.imwrite(str(path), resized, [cv2.IMWRITE_JPEG_QUALITY, 90]):
            raise RuntimeError(f"could not write {path.name}")
        paths.append(str(path))
    return paths


def noop_pipeline() -> A.Compose:
    return A.Compose([A.NoOp()], seed=0)


def coarse_dropout(side: int) -> A.CoarseDropout:
    """CoarseDropout matching ``Cutout(side, num_holes=1, fill=0, p=1)``: ints are pixels in 2.0.8."""
    return A.CoarseDropout(
        num_holes_range=(1, 1), hole_height_range=(side, side), hole_width_range=(side, side), fill=0, p=1.0
    )


def check_cutout_work(config: Config, side: int) -> None:
    """Guard the comparison, not the speed: both transforms must cut one hole of ``side`` px (at most)."""
    image = np.full((config.size, config.size, 3), 255 if config.dtype == np.uint8 else 1.0, config.dtype)
    cut = A.Compose([Cutout(side, num_holes=1, fill=0, p=1.0)], seed=1)(image=image)["image"]
    dropped = A.Compose([coarse_dropout(side)], seed=1)(image=image)["image"]
    cut_pixels = int((cut == 0).all(axis=-1).sum())
    dropped_pixels = int((dropped == 0).all(axis=-1).sum())
    if dropped_pixels != side * side or not 0 < cut_pixels <= side * side:
        raise RuntimeError(
            f"Cutout and CoarseDropout do not do comparable work at {config.label}: holes of {cut_pixels} and "
            f"{dropped_pixels} pixels, expected at most {side * side} and exactly {side * side}"
        )


# ----------------------------------------------------------------------------------------------
# Benchmarks: each builds its candidates and says how their medians become rows
# ----------------------------------------------------------------------------------------------


def ratio_row(
    timings: Timings,
    benchmark: str,
    config: Config,
    candidate: tuple[str, str],
    reference: tuple[str, str],
    goal: Goal | None = None,
    speed_up: bool = False,
) -> Row:
    """A row comparing two timed candidates, given as ``(key, display name)``.

    The ratio is candidate / reference (a cost), or reference / candidate with ``speed_up``.
    """
    (cand_key, cand_name), (ref_key, ref_name) = candidate, reference
    cand, ref = timings.median(cand_key), timings.median(ref_key)
    if speed_up:
        ratio, per_round, ratio_is = (
            ref / cand,
            timings.round_ratios(ref_key, cand_key),
            "speed-up: reference / candidate",
        )
    else:
        ratio, per_round, ratio_is = cand / ref, timings.round_ratios(cand_key, ref_key), "cost: candidate / reference"
    return Row(
        benchmark,
        config.label,
        cand_name,
        cand * 1e6,
        ref_name,
        ref * 1e6,
        ratio,
        ratio_is,
        _quartiles(per_round),
        goal,
    )


def _quartiles(values: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(values, [25, 75])
    return float(low), float(high)


def cutout_bench(config: Config) -> Bench:
    image = make_image(config, seed=0)
    side = round(0.1 * config.size)
    check_cutout_work(config, side)
    cutout = A.Compose([Cutout(side, num_holes=1, fill=0, p=1.0)], seed=0)
    dropout = A.Compose([coarse_dropout(side)], seed=0)
    noop = noop_pipeline()

    def floor() -> None:
        noop(image=image)
        image.copy()

    group = Group(
        f"Cutout {config.label}",
        [
            Candidate("cutout", lambda: cutout(image=image)),
            Candidate("coarse", lambda: dropout(image=image)),
            Candidate("floor", floor),
        ],
    )
    goal = None
    if config.dtype == np.uint8 and config.size in (224, 1024):
        goal = Goal(at_least=True, value=4.0 if config.size == 224 else 2.0)

    def rows(t: Timings) -> list[Row]:
        name = f"Cutout({side} px)"
        return [
            ratio_row(
                t,
                "Cutout vs CoarseDropout",
                config,
                ("cutout", name),
                ("coarse", f"CoarseDropout(1 hole, {side} px)"),
                goal,
                speed_up=True,
            ),
            ratio_row(t, "Cutout vs floor", config, ("cutout", name), ("floor", "Compose[NoOp] + img.copy()")),
            # The largest speed-up over CoarseDropout that any transform returning a copy can reach.
            ratio_row(
                t,
                "CoarseDropout vs floor (speed-up bound)",
                config,
                ("floor", "Compose[NoOp] + img.copy()"),
                ("coarse", f"CoarseDropout(1 hole, {side} px)"),
                speed_up=True,
            ),
        ]

    return Bench(group, rows)


def mixup_bench(config: Config) -> Bench:
    image, other = make_image(config, seed=0), make_image(config, seed=1)
    mixup = A.Compose([MixUp([{"image": other, "label": 3}], num_classes=NUM_CLASSES, p=1.0)], seed=0)
    noop = noop_pipeline()
    lam = FLOOR_LAMBDA

    def floor() -> None:
        noop(image=image, label=1)
        cv2.addWeighted(image, lam, other, 1.0 - lam, 0.0)

    if config.dtype == np.uint8:

        def naive() -> np.ndarray:
            mixed = lam * image.astype(np.float32) + (1 - lam) * other.astype(np.float32)
            return np.rint(mixed).astype(np.uint8)
    else:
        lam32, rest32 = np.float32(lam), np.float32(1 - lam)

        def naive() -> np.ndarray:
            return lam32 * image + rest32 * other

    group = Group(
        f"MixUp {config.label}",
        [
            Candidate("mixup", lambda: mixup(image=image, label=1)),
            Candidate("floor", floor),
            Candidate("naive", naive),
        ],
    )

    def rows(t: Timings) -> list[Row]:
        return [
            ratio_row(
                t,
                "MixUp vs floor",
                config,
                ("mixup", "MixUp (in-memory partner)"),
                ("floor", "cv2.addWeighted + Compose[NoOp]"),
                Goal(at_least=False, value=1.3),
            ),
            ratio_row(
                t,
                "MixUp vs naive numpy blend",
                config,
                ("mixup", "MixUp (in-memory partner)"),
                ("naive", "numpy float32 blend (+ rint→uint8)" if config.dtype == np.uint8 else "numpy float32 blend"),
            ),
        ]

    return Bench(group, rows)


def cutmix_bench(config: Config) -> Bench:
    image, other = make_image(config, seed=0), make_image(config, seed=1)
    cutmix = A.Compose([CutMix([{"image": other, "label": 3}], num_classes=NUM_CLASSES, p=1.0)], seed=0)
    noop = noop_pipeline()

    def floor() -> None:
        noop(image=image, label=1)
        image.copy()

    group = Group(
        f"CutMix {config.label}",
        [
            Candidate("cutmix", lambda: cutmix(image=image, label=1)),
            Candidate("floor", floor),
        ],
    )

    def rows(t: Timings) -> list[Row]:
        return [
            ratio_row(
                t,
                "CutMix vs floor",
                config,
                ("cutmix", "CutMix (in-memory partner, α=1)"),
                ("floor", "img.copy() + Compose[NoOp]"),
                Goal(at_least=False, value=2.5),
            )
        ]

    return Bench(group, rows)


def smoothing_bench(config: Config) -> Bench:
    image = make_image(config, seed=0)
    smoothing = A.Compose([LabelSmoothing(epsilon=0.1, num_classes=SMOOTHING_CLASSES)], seed=0)
    noop = noop_pipeline()
    group = Group(
        f"LabelSmoothing {config.label}",
        [
            Candidate("smooth", lambda: smoothing(image=image, label=1)),
            Candidate("noop", lambda: noop(image=image, label=1)),
        ],
    )

    def rows(t: Timings) -> list[Row]:
        return [
            ratio_row(
                t,
                "LabelSmoothing vs Compose[NoOp]",
                config,
                ("smooth", f"LabelSmoothing(K={SMOOTHING_CLASSES}, int label)"),
                ("noop", "Compose[NoOp]"),
            )
        ]

    return Bench(group, rows)


def files_bench(config: Config, paths: list[str]) -> Bench:
    """MixUp reading partners from JPEG files, with the partner read timed on its own."""
    image = make_image(config, seed=0)
    read_fn = read_partner if config.dtype == np.uint8 else read_partner_float
    from_files = A.Compose([MixUp(paths, read_fn, num_classes=NUM_CLASSES, p=1.0)], seed=0)
    in_memory = A.Compose([MixUp([read_fn(paths[0])], num_classes=NUM_CLASSES, p=1.0)], seed=0)
    noop = noop_pipeline()
    cycle: Iterator[str] = itertools.cycle(paths)
    lam = FLOOR_LAMBDA

    def floor() -> None:
        """The same work without albu_mix: read a partner, blend it in, pay Compose's overhead."""
        partner = read_fn(next(cycle))["image"]
        noop(image=image, label=1)
        cv2.addWeighted(image, lam, partner, 1.0 - lam, 0.0)

    group = Group(
        f"MixUp+JPEG {config.label}",
        [
            Candidate("files", lambda: from_files(image=image, label=1)),
            Candidate("read", lambda: read_fn(next(cycle))),
            Candidate("memory", lambda: in_memory(image=image, label=1)),
            Candidate("floor", floor),
        ],
    )
    reader = "read_fn alone (imread + cvtColor" + (")" if config.dtype == np.uint8 else " + /255)")

    def rows(t: Timings) -> list[Row]:
        total, read, memory = t.median("files"), t.median("read"), t.median("memory")
        mixing = total - read
        per_round_mixing = (t.blocks["files"] - t.blocks["read"]) / t.blocks["memory"]
        return [
            Row(
                "MixUp, JPEG partners: partner read",
                config.label,
                f"MixUp(paths, read_fn), {len(paths)} files",
                total * 1e6,
                reader,
                read * 1e6,
                read / total,
                "share: reference / candidate",
                _quartiles(t.round_ratios("read", "files")),
            ),
            Row(
                "MixUp, JPEG partners: mixing",
                config.label,
                "MixUp(paths, read_fn) − read_fn",
                mixing * 1e6,
                "MixUp (in-memory partner)",
                memory * 1e6,
                mixing / memory,
                "cost: candidate / reference",
                _quartiles(per_round_mixing),
            ),
            ratio_row(
                t,
                "MixUp, JPEG partners vs floor",
                config,
                ("files", f"MixUp(paths, read_fn), {len(paths)} files"),
                ("floor", "read_fn + cv2.addWeighted + Compose[NoOp]"),
            ),
        ]

    return Bench(group, rows)


def random_boxes(size: int, seed: int) -> list[list[float]]:
    """``NUM_ANNOTATIONS`` pascal_voc boxes, 16-64 px a side, inside a ``size``² image, as a dataset's
    Python lists (albumentations converts them to arrays itself)."""
    rng = np.random.default_rng(seed)
    sides = rng.uniform(16, 64, (NUM_ANNOTATIONS, 2))
    corners = rng.uniform(0, size - sides)
    return np.round(np.hstack([corners, corners + sides]), 1).tolist()


def random_keypoints(size: int, seed: int) -> list[list[float]]:
    """``NUM_ANNOTATIONS`` ``xy`` keypoints inside a ``size``² image, as Python lists."""
    return np.round(np.random.default_rng(seed).uniform(0, size - 1, (NUM_ANNOTATIONS, 2)), 1).tolist()


def annotation_bench(config: Config, name: str) -> Bench:
    """One transform (``"MixUp"``, ``"CutMix"`` or ``"HorizontalFlip"``) inside ``A.Compose``: with
    ``NUM_ANNOTATIONS`` boxes (``bbox_params``), with as many keypoints (``keypoint_params``), and
    without either, on the same image. MixUp and CutMix get a partner with as many boxes or keypoints
    again, and one int label per box or keypoint on both sides."""
    image, other = make_image(config, seed=0), make_image(config, seed=1)
    count = NUM_ANNOTATIONS
    boxes, partner_boxes = random_boxes(config.size, seed=2), random_boxes(config.size, seed=3)
    points, partner_points = random_keypoints(config.size, seed=4), random_keypoints(config.size, seed=5)
    classes = [i % NUM_CLASSES for i in range(count)]
    partner_classes = [(i + 3) % NUM_CLASSES for i in range(count)]

    def transform(partner: dict[str, Any]) -> A.BasicTransform:
        if name == "HorizontalFlip":
            return A.HorizontalFlip(p=1.0)
        mixer = {"MixUp": MixUp, "CutMix": CutMix}[name]
        return mixer([{"image": other, "label": 3, **partner}], num_classes=NUM_CLASSES, p=1.0)

    plain = A.Compose([transform({})], seed=0)
    with_boxes = A.Compose(
        [transform({"bboxes": partner_boxes, "classes": partner_classes})],
        bbox_params=A.BboxParams(**BBOX_PARAMS),
        seed=0,
    )
    with_points = A.Compose(
        [transform({"keypoints": partner_points, "keypoint_classes": partner_classes})],
        keypoint_params=A.KeypointParams(**KEYPOINT_PARAMS),
        seed=0,
    )
    label = {} if name == "HorizontalFlip" else {"label": 1}

    def call_boxes() -> dict[str, Any]:
        return with_boxes(image=image, bboxes=boxes, classes=classes, **label)

    def call_points() -> dict[str, Any]:
        return with_points(image=image, keypoints=points, keypoint_classes=classes, **label)

    check_annotation_work(name, call_boxes(), call_points())
    group = Group(
        f"{name} + boxes {config.label}",
        [
            Candidate("plain", lambda: plain(image=image, **label)),
            Candidate("boxes", call_boxes),
            Candidate("points", call_points),
        ],
    )
    partner_note = "" if name == "HorizontalFlip" else f", {count} on the partner"
    reference = f"{name} in Compose, no bbox/keypoint params"

    def rows(t: Timings) -> list[Row]:
        out = []
        for key, what, params in (("boxes", "boxes", "bbox_params"), ("points", "keypoints", "keypoint_params")):
            row = ratio_row(
                t,
                f"{count} {what} through {name}",
                config,
                (key, f"{name} + {count} {what}{partner_note} ({params})"),
                ("plain", reference),
            )
            out.append(replace(row, annotation_cost=(name, f"{count} {what}")))
        return out

    return Bench(group, rows)


def check_annotation_work(name: str, boxed: dict[str, Any], pointed: dict[str, Any]) -> None:
    """Guard the comparison, not the speed: the annotations must come through, with their labels."""
    expected = 2 * NUM_ANNOTATIONS if name == "MixUp" else NUM_ANNOTATIONS
    for out, key, field in ((boxed, "bboxes", "classes"), (pointed, "keypoints", "keypoint_classes")):
        got, labels = len(out[key]), len(out[field])
        # CutMix keeps the primary's outside the pasted box and the partner's inside it: the count varies
        ok = 0 < got <= 2 * NUM_ANNOTATIONS if name == "CutMix" else got == expected
        if not ok or labels != got:
            raise RuntimeError(
                f"{name} with {NUM_ANNOTATIONS} {key} returned {got} {key} and {labels} {field}, expected "
                f"{'1 to ' + str(2 * NUM_ANNOTATIONS) if name == 'CutMix' else expected} of each"
            )


def timm_modules() -> tuple[tuple[Any, Any] | None, str]:
    """``(timm.data.Mixup, torch)``, or ``None`` and why they do not import."""
    try:
        import timm.data
        import torch
    except Exception as error:  # noqa: BLE001 - ImportError, or a RuntimeError from a broken torchvision
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return None, f"{type(error).__name__}: {first_line[:160]}"
    return (timm.data.Mixup, torch), ""


def timm_bench(config: Config, modules: tuple[Any, Any]) -> Bench | Row:
    """timm's batch Mixup per image against albu_mix MixUp (float32 only: timm mixes float tensors)."""
    mixup_cls, torch = modules
    torch.set_num_threads(1)
    batch = 32 if config.size <= 224 else 8
    image, other = make_image(config, seed=0), make_image(config, seed=1)
    chw = np.ascontiguousarray(image.transpose(2, 0, 1))
    tensor = torch.from_numpy(np.ascontiguousarray(np.broadcast_to(chw, (batch, *chw.shape))))
    target = torch.arange(batch) % NUM_CLASSES
    label = f"timm Mixup, batch {batch}, per image"
    try:
        mixer = mixup_cls(
            mixup_alpha=0.4, cutmix_alpha=0.0, prob=1.0, mode="batch", label_smoothing=0.0, num_classes=NUM_CLASSES
        )
        mixer(tensor.clone(), target)
    except Exception as error:  # noqa: BLE001 - another timm API: report it, do not crash the run
        return Row(
            "MixUp vs timm Mixup",
            config.label,
            "timm Mixup failed",
            None,
            "",
            None,
            None,
            f"{type(error).__name__}: {str(error).strip()[:160]}",
        )
    mixup = A.Compose([MixUp([{"image": other, "label": 3}], num_classes=NUM_CLASSES, p=1.0)], seed=0)
    group = Group(
        f"timm Mixup {config.label}",
        [
            Candidate("mixup", lambda: mixup(image=image, label=1)),
            Candidate("timm", lambda: mixer(tensor.clone(), target), per_call=batch),
        ],
    )

    def rows(t: Timings) -> list[Row]:
        return [
            ratio_row(
                t,
                "MixUp vs timm Mixup",
                config,
                ("mixup", "MixUp (in-memory partner)"),
                ("timm", f"{label} (clone included)"),
            )
        ]

    return Bench(group, rows)


# ----------------------------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------------------------


def build_benches(configs: list[Config], jpeg_dir: Path) -> tuple[list[Bench], list[Row]]:
    """Every benchmark to time, and the rows that need no timing (timm not importable)."""
    benches: list[Bench] = []
    static_rows: list[Row] = []
    modules, reason = timm_modules()
    if modules is None:
        print(f"timm not importable: {reason}; skipping the timm comparison", file=sys.stderr)
        static_rows.append(
            Row("MixUp vs timm Mixup", "—", f"timm not importable: {reason}", None, "", None, None, "skipped")
        )
    paths_by_size = {size: write_partner_jpegs(jpeg_dir, size) for size in sorted({c.size for c in configs} - set(CUTOUT_ONLY_SIZES))}
    for config in configs:
        if config.size in CUTOUT_ONLY_SIZES:
            benches.append(cutout_bench(config))
            continue
        benches += [
            cutout_bench(config),
            mixup_bench(config),
            cutmix_bench(config),
            smoothing_bench(config),
            files_bench(config, paths_by_size[config.size]),
        ]
        if config.size == ANNOTATION_CONFIG_SIZE and config.dtype == np.uint8:
            benches += [annotation_bench(config, name) for name in ANNOTATED_TRANSFORMS]
        if modules is not None and config.dtype == np.float32:
            timm = timm_bench(config, modules)
            if isinstance(timm, Row):
                static_rows.append(timm)
            else:
                benches.append(timm)
    return benches, static_rows


def run_all(settings: Settings) -> tuple[list[Row], float]:
    """Time every benchmark; returns the rows and the wall time in seconds."""
    cv2.setNumThreads(1)
    configs = [Config(size, dtype) for size in sorted(SIZES + CUTOUT_ONLY_SIZES) for dtype in DTYPES]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="albu_mix_bench_") as folder:
        benches, rows = build_benches(configs, Path(folder))
        progress = make_progress(sum(settings.rounds * len(b.group.candidates) for b in benches))
        timed: list[Row] = []
        try:
            for bench in benches:
                timings = run_group(bench.group, settings.rounds, settings.block_s, progress, settings.min_calls)
                timed += bench.rows(timings)
        finally:
            progress.close()
    return timed + rows, time.perf_counter() - start


# ----------------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------------


def _us(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 10:
        return f"{value:.2f}"
    if value < 1000:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def markdown_table(rows: list[Row]) -> str:
    header = (
        "| benchmark | image | candidate | µs/call | reference | µs/call | ratio | ratio is "
        "| per-round IQR | goal | met |"
    )
    lines = [header, "|" + "---|" * 11]
    for row in rows:
        spread = "—" if row.spread is None else f"{row.spread[0]:.2f}–{row.spread[1]:.2f}"
        goal = row.goal.text if row.goal else ""
        met = ("yes" if row.goal.met(row.ratio) else "**no**") if row.goal and row.ratio is not None else ""
        lines.append(
            f"| {row.benchmark} | {row.image} | {row.candidate} | {_us(row.candidate_us)} | {row.reference} "
            f"| {_us(row.reference_us)} | {_ratio(row.ratio)} | {row.ratio_is} | {spread} | {goal} | {met} |"
        )
    return "\n".join(lines)


def annotation_table(rows: list[Row]) -> str:
    """The annotation-cost rows as: without, with, extra µs per call, ratio. Empty without such rows."""
    shown = [r for r in rows if r.annotation_cost is not None and r.ratio is not None]
    if not shown:
        return ""
    lines = [
        "| transform | annotations | image | without (µs/call) | with (µs/call) | extra µs/call | ratio | per-round IQR |",
        "|" + "---|" * 8,
    ]
    for row in shown:
        assert row.annotation_cost is not None and row.candidate_us is not None and row.reference_us is not None
        transform, what = row.annotation_cost
        spread = "—" if row.spread is None else f"{row.spread[0]:.2f}–{row.spread[1]:.2f}"
        lines.append(
            f"| {transform} | {what} | {row.image} | {_us(row.reference_us)} | {_us(row.candidate_us)} "
            f"| +{_us(row.candidate_us - row.reference_us)} | {_ratio(row.ratio)} | {spread} |"
        )
    return "\n".join(lines)


def annotation_section(rows: list[Row]) -> str:
    table = annotation_table(rows)
    if not table:
        return ""
    n = NUM_ANNOTATIONS
    return f"""
## Extra cost of boxes and keypoints

Each transform alone in `A.Compose([...], seed=0)`, timed interleaved with itself in three pipelines:
without `bbox_params`/`keypoint_params` (image and label only), with {n} boxes
(`BboxParams(format="pascal_voc", label_fields=["classes"])`, one int label per box) and with {n}
keypoints (`KeypointParams(format="xy", label_fields=["keypoint_classes"])`). MixUp's and CutMix's
partner carries {n} boxes or keypoints more, with their labels. Boxes are 16–64 px a side, boxes
and keypoints are passed as Python lists, as a dataset returns them. "extra µs/call" is the
difference of the two medians. `HorizontalFlip` is albumentations' own transform: flipping {n} rows
is cheap, so its extra cost is mostly `Compose`'s own processing of the annotations (checks and
conversion on the way in, checks, filtering and conversion on the way out), which a pipeline with
`bbox_params`/`keypoint_params` pays once per call whatever its transforms. MixUp and CutMix add
the partner's annotations: checked and converted as the primary's, concatenated (CutMix: cut to the
pasted box and filtered), so `Compose` then post-processes up to {2 * n} rows instead of {n}.

{table}
"""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> float | None:
    """The 1-minute load average, where the system reports one."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def load_line(before: float | None, after: float | None) -> str:
    """Other processes compete for the CPUs when the load before the run nears the CPU count."""
    if before is None or after is None:
        return "- load average: not available on this system"
    return (
        f"- 1-minute load average before / after the run: {before:.2f} / {after:.2f} "
        "(this run itself adds about 1; a busy machine makes the figures noisier)"
    )


def machine_summary() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    python = (
        f"{platform.python_version()} ({platform.python_implementation()}), {platform.system()} {platform.machine()}"
    )
    versions = f"numpy {np.__version__}, OpenCV {cv2.__version__}, albumentations {A.__version__}"
    return "\n".join(
        [
            f"- Python {python}",
            f"- {versions}, albu_mix {albu_mix.__version__}",
            f"- CPU: {_cpu_model()}; {os.cpu_count()} logical CPUs, {usable} usable by this process",
            f"- OpenCV threads: {cv2.getNumThreads()} (set with cv2.setNumThreads(1))",
        ]
    )


def markdown_report(rows: list[Row], settings: Settings, command: str, seconds: float, load: str) -> str:
    mode = "quick" if settings is QUICK else "full"
    return f"""# albu_mix speed benchmarks

Command (from the repository root): `{command}` ({mode} run, {seconds:.0f} s)

{machine_summary()}
{load}

Method: every candidate is warmed up, then timed in blocks of N calls (N chosen so a block lasts
about {settings.block_s * 1000:g} ms); the candidates of one benchmark run interleaved, one block each
per round (A, B, A, B, ...; the order rotates from round to round), for {settings.rounds} rounds, with
OpenCV on one thread. µs/call is the median over the blocks; the ratio is
taken between two medians from the same rounds. "per-round IQR" is the interquartile range of
the {settings.rounds} per-round ratios. Images are fixed random images (float32 in [0, 1]), all
pipelines are `A.Compose([...], seed=0)`. Absolute times drift between runs and machines:
compare ratios. Goals are reported, never asserted.

{markdown_table(rows)}

- *speed-up* rows: how many times faster the candidate is than the reference.
- *cost* rows: the candidate's time in units of the reference (1.00× = free on top of it).
- "CoarseDropout vs floor (speed-up bound)": CoarseDropout's time over the floor (`Compose[NoOp]`
  plus one `img.copy()`), the largest speed-up any Cutout that returns a new image can reach.
- *share* row: the fraction of the whole MixUp call spent reading the partner file.
- The "mixing" row subtracts the median partner read from the median MixUp-from-files call
  and compares the rest with MixUp on an in-memory partner (≈ 1× when loading is the only
  extra cost). Fresh partner arrays can cost page faults that an in-memory partner does not
  (the C allocator returns large blocks to the system and takes them back), so this row can
  exceed 1× without albu_mix doing extra work; the "vs floor" row compares with the same
  read and blend done without albu_mix, which pays the same faults.
- "N boxes / keypoints through T" rows: T with annotations vs T without, both in `A.Compose`
  (cost); see the next section.
{annotation_section(rows)}"""


def plot_ratios(rows: list[Row], path: Path) -> bool:
    """A horizontal bar chart of every ratio (log scale), goals marked. False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install matplotlib); skipping the chart", file=sys.stderr)
        return False
    shown = [r for r in rows if r.ratio is not None]
    colors = ["tab:gray" if r.goal is None else ("tab:green" if r.goal.met(r.ratio) else "tab:red") for r in shown]
    labels = [f"{r.benchmark} · {r.image}  [{r.ratio_is.split(':')[0]}]" for r in shown]
    positions = np.arange(len(shown))[::-1]
    fig, ax = plt.subplots(figsize=(11, 0.32 * len(shown) + 1.6))
    ax.barh(positions, [r.ratio for r in shown], color=colors, height=0.7)
    for pos, row in zip(positions, shown):
        text_at = max(row.ratio, row.goal.value if row.goal else 0.0)  # keep the value clear of the goal tick
        ax.annotate(
            f"{row.ratio:.2f}×", (text_at, pos), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8
        )
        if row.goal is not None:
            ax.plot([row.goal.value] * 2, [pos - 0.45, pos + 0.45], color="black", linewidth=1.5)
    for pos, (above, below) in zip(positions[1:], itertools.pairwise(shown)):
        if above.image != below.image:  # a thin rule between image sizes and dtypes
            ax.axhline(pos + 0.5, color="lightgray", linewidth=0.8)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.6, linestyle=":")
    ax.set_yticks(positions, labels, fontsize=8)
    ax.set_xlabel("ratio (log scale); black ticks: goals; green met, red missed, grey no goal")
    ax.set_title("albu_mix speed ratios (medians of interleaved blocks, one thread)")
    ax.set_xlim(min(0.5 * min(r.ratio for r in shown), 0.5), 2.5 * max(r.ratio for r in shown))
    fig.tight_layout()
    _write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return True


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through ``<name>.tmp`` and rename, so a crash never leaves a half-written result."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="short run (under 30 s), fewer and shorter blocks")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for speed.md and speed.png (default: benchmarks/results)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = load_average()
    if load_before is not None and load_before > 0.5 * (os.cpu_count() or 1):
        print(
            f"note: the machine looks busy (load average {load_before:.2f}); figures will be noisier", file=sys.stderr
        )
    rows, seconds = run_all(settings)
    load = load_line(load_before, load_average())
    report = markdown_report(rows, settings, command_line("speed.py", args.quick, args.out), seconds, load)
    md_path = args.out / "speed.md"
    _write_atomically(md_path, lambda tmp: tmp.write_text(report, encoding="utf-8"))
    print(markdown_table(rows))
    print(annotation_section(rows))
    plotted = plot_ratios(rows, args.out / "speed.png")
    print(f"\nwrote {md_path.name}{' and speed.png' if plotted else ''} to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
