"""End-to-end cost of per-sample mixing: partners read from files, from a PartnerPool, a minimal
hand-written mixer (the floor), and timm's ``Mixup`` in its three modes; and of ``A.Mosaic`` fed by
the pool (``Remember``/``Recall``) vs fed by reading files, with boxes.

Run from the repository root::

    python benchmarks/e2e.py            # full run, about two minutes on 2 cores
    python benchmarks/e2e.py --quick    # short run (under a minute), noisier

The data: a folder of 256×256 JPEG files the script writes itself into a temporary directory (random
crops of the photographs bundled in ``albu_mix/data``, upscaled). The per-sample pipeline of every
candidate: decode one JPEG with OpenCV, ``RandomResizedCrop`` to 224×224, ``HorizontalFlip``, mix,
``LabelSmoothing(0.1)``, ``Normalize``. Candidates:

- no mixing (the reference);
- ``MixUp``/``CutMix`` with one fixed in-memory partner: the mixer's own cost;
- ``MixUp``/``CutMix`` with file partners: ``reference_data`` is the list of files and ``read_fn``
  decodes one (the partner is resized to 224×224 by the mixer, and skips the crop and the flip);
- a minimal hand-written per-sample mixer, defined here and not in the package: a plain
  ``albumentations.DualTransform`` whose partners are copies of the earlier samples in a
  ``collections.deque`` (``cv2.addWeighted`` or a pasted box, and a one-hot label mix; no checks, no
  routing, no replay), followed by albu_mix's ``LabelSmoothing`` like every other candidate. It is
  the floor the PartnerPool rows are judged against;
- ``MixUp``/``CutMix`` with a ``PartnerPool``: ``Remember(pool)`` after the flip, partners are the
  earlier samples as augmented;
- timm's ``Mixup`` (MixUp or CutMix, its own label smoothing) in ``mode="batch"``, ``"pair"`` and
  ``"elem"`` on batches of 32 of the per-sample pipeline without mixing, where timm is installed; its
  cost is per batch, reported per sample, against the same batches without mixing.

A detection part times, with 2 to 4 synthetic boxes per file (``pascal_voc``, a label field ``cls``)
and ``BboxParams``: the crop, flip and ``Normalize`` without Mosaic (the reference); the same with
``A.Mosaic(grid_yx=(2, 2), target_size=(224, 224))`` fed by decoding the next 3 files during the call;
the same fed by the pool (``Remember(pool)``, ``Recall(pool, n=3)``); and the reference plus
``Remember``/``Recall`` alone. Each timed call reseeds the albumentations transforms, so every call of
every pipeline draws the same crops and Mosaic geometries.

Every candidate is timed in the same process, interleaved block by block, as medians (see
``_timing.py``), with OpenCV and torch on one thread. A second part runs the no-mixing, file-partner,
floor and PartnerPool configurations through a PyTorch ``DataLoader`` with 2 workers and reports
images per second, and the workers' CPU time and minor page faults per image.

glibc's allocator thresholds are pinned for the whole run (``MALLOC_MMAP_THRESHOLD_`` 16 MiB,
``MALLOC_TRIM_THRESHOLD_`` 128 MiB, unless already set): glibc reads them once, at process start,
so the script re-executes itself once with them set on Linux, and the forked DataLoader workers
inherit them.

Writes ``e2e.md`` (tables, machine, command) and ``e2e.png`` (chart) into ``benchmarks/results`` (or
``--out DIR``); ``--quick`` writes ``e2e_quick.md``/``e2e_quick.png``, so a smoke run never
overwrites the full report. Nothing here asserts a timing: the goals are reported, not enforced.

Requires albu_mix; PyTorch for the timm and DataLoader parts (skipped with a note without it);
``tqdm`` (progress bar) and ``matplotlib`` (chart) are optional. timm is never installed by the
script: its ``timm/data/mixup.py`` is loaded by file path (it needs only torch and numpy), so timm's
own dependencies (torchvision) are not needed.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import math
import multiprocessing.util
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np

import albu_mix
from albu_mix import CutMix, LabelSmoothing, MixUp, PartnerPool, Recall, Remember

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is a folder, not a package
from _common import DEFAULT_OUT, command_line
from _timing import Candidate, Group, Progress, Timings, make_progress, run_group

try:
    import torch
except ImportError:  # the per-sample part runs without it
    torch = None

try:
    import resource
except ImportError:  # not on Windows: no worker CPU time or page faults there
    resource = None

DATA_DIR = Path(albu_mix.__file__).resolve().parent / "data"
FILE_SIZE = 256  # the JPEG files are FILE_SIZE² ...
CROP = 224  # ... cropped and resized to CROP²
NUM_CLASSES = 1000
SMOOTHING = 0.1
MIXUP_ALPHA = 0.2  # ImageNet-style
CUTMIX_ALPHA = 1.0
POOL_CAPACITY = 64  # the PartnerPool's capacity, and the floor's deque length
#: goal (a): with a PartnerPool, the ratio to the no-mixing pipeline at most this much above the ratio
#: of the minimal hand-written mixer (the floor), for MixUp and for CutMix
GOAL_VS_FLOOR = 0.04
#: goal (b): the PartnerPool's added µs per sample below timm's batch mode (same kind)
GOAL_TIMM_MODE = "batch"
TIMM_BATCH = 32  # even: timm's "pair" and "elem" modes need it
TIMM_MODES = ("batch", "pair", "elem")
MOSAIC_OTHERS = 3  # the other cells of a 2×2 mosaic: files read, or pooled samples recalled
BOXES_PER_FILE = 4  # at most, per file (2 to 4): box j of file n has the class BOXES_PER_FILE·n + j
DRAW_SEED = 0  # every timed detection call reseeds its crop, flip and Mosaic with it: the same draws each call
MOSAIC_DRAWS = 10_000  # draws of Mosaic's geometry for the report's share of 1, 2 and 4 visible cells
PER_CALL = 8  # samples per timed call: the same 8 files each time, in the same order, for every candidate
LOADER_BATCH = 32
LOADER_WORKERS = 2

#: glibc malloc thresholds, pinned for the whole run and inherited by the DataLoader workers. glibc
#: serves requests at or above the mmap threshold with their own mmap (unmapped, page-faulted afresh
#: each time) and returns the free top of the heap to the kernel above the trim threshold; by default
#: both start at 128 KiB and move with the program's history. The largest per-sample array here is a
#: 224×224×3 float32 image (588 KiB; the decoded JPEG is 192 KiB, a label vector 4 KiB): 16 MiB keeps
#: every one of them on the heap (glibc ignores a value above 32 MiB), and 128 MiB lets freed heap
#: pages stay mapped, so every configuration reuses memory instead of faulting it in again. Setting
#: them also turns glibc's dynamic threshold off, so the figures do not depend on what ran before.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(16 << 20), "MALLOC_TRIM_THRESHOLD_": str(128 << 20)}
_REEXEC_MARK = "ALBU_MIX_E2E_REEXEC"  # set when the script re-executed itself to set MALLOC_ENV


@dataclass(frozen=True)
class Settings:
    """How long to time: per-sample blocks and DataLoader runs."""

    files: int
    rounds: int
    block_s: float
    loader_images: int
    loader_repeats: int


FULL = Settings(files=64, rounds=31, block_s=0.1, loader_images=1536, loader_repeats=3)
QUICK = Settings(files=32, rounds=7, block_s=0.04, loader_images=384, loader_repeats=1)


# ----------------------------------------------------------------------------------------------
# Data and pipelines
# ----------------------------------------------------------------------------------------------


def write_jpegs(folder: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` random FILE_SIZE² crops of the bundled photographs (upscaled 2×), as JPEG files
    named ``<label>_<n>.jpg``."""
    sources = sorted(p for p in DATA_DIR.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    photos = []
    for source in sources:
        image = cv2.imread(str(source), cv2.IMREAD_COLOR)
        if image is None:
            raise RuntimeError(f"could not read the bundled sample image {source.name}")
        scale = max(2.0, FILE_SIZE / min(image.shape[:2]) * 1.25)
        photos.append(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR))
    rng = np.random.default_rng(seed)
    paths = []
    for n in range(count):
        photo = photos[n % len(photos)]
        y = int(rng.integers(photo.shape[0] - FILE_SIZE + 1))
        x = int(rng.integers(photo.shape[1] - FILE_SIZE + 1))
        path = folder / f"{n % NUM_CLASSES}_{n}.jpg"
        if not cv2.imwrite(str(path), photo[y : y + FILE_SIZE, x : x + FILE_SIZE], [cv2.IMWRITE_JPEG_QUALITY, 90]):
            raise RuntimeError(f"could not write {path.name}")
        paths.append(str(path))
    return paths


def read_sample(path: str) -> dict[str, Any]:
    """Decode one JPEG to RGB uint8; the label is the number its name starts with. Also the ``read_fn``
    of the file-partner mixers."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read an image from {path}")
    return {"image": cv2.cvtColor(image, cv2.COLOR_BGR2RGB), "label": int(Path(path).name.split("_", 1)[0])}


def augment() -> list[A.BasicTransform]:
    return [A.RandomResizedCrop(size=(CROP, CROP), scale=(0.25, 1.0)), A.HorizontalFlip()]


def finish(smooth: bool = True) -> list[A.BasicTransform]:
    smoothing = [LabelSmoothing(SMOOTHING, num_classes=NUM_CLASSES)] if smooth else []
    return [*smoothing, A.Normalize()]


def mixer(kind: str, reference: Any, read_fn: Any = None, p: float = 1.0) -> A.BasicTransform:
    if kind == "MixUp":
        return MixUp(reference, read_fn=read_fn, alpha=MIXUP_ALPHA, num_classes=NUM_CLASSES, p=p)
    return CutMix(reference, read_fn=read_fn, alpha=CUTMIX_ALPHA, num_classes=NUM_CLASSES, p=p)


# ----------------------------------------------------------------------------------------------
# The floor: a minimal hand-written per-sample mixer (benchmark code, not part of albu_mix)
# ----------------------------------------------------------------------------------------------


class _MinimalMixer(A.DualTransform):
    """The least a per-sample mixer with partners from recent samples does, and nothing more.

    Partners are (image, class index) copies of the earlier samples in ``partners`` (a bounded
    ``deque`` shared by the mixers of one pipeline); while it is empty the sample is left unmixed.
    The label comes in as a class index and leaves as a float32 one-hot mix of length
    ``num_classes``. No input checks, no target routing (image and label only), no replay; the
    incoming image is never modified.
    """

    def __init__(self, partners: collections.deque, alpha: float, num_classes: int, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.partners = partners
        self.alpha = alpha
        self.num_classes = num_classes

    @property
    def targets(self) -> dict[str, Callable[..., Any]]:
        # the keys this transform handles, declared for Compose; apply_with_params below acts on the
        # whole data dict, so these per-key functions are never called
        return {"image": self.apply, "label": self.apply}

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("alpha", "num_classes")

    def mix(self, image: np.ndarray, partner: np.ndarray) -> tuple[np.ndarray, float]:
        """The mixed image and the partner's weight."""
        raise NotImplementedError

    def apply_with_params(self, params: dict[str, Any], **data: Any) -> dict[str, Any]:
        image, label = data["image"], data["label"]
        out = np.zeros(self.num_classes, dtype=np.float32)
        out[label] = 1.0
        if self.partners:
            partner_image, partner_label = self.partners[self.py_random.randrange(len(self.partners))]
            data["image"], weight = self.mix(image, partner_image)
            out[label] -= weight
            out[partner_label] += weight
        self.partners.append((image.copy(), label))
        data["label"] = out
        return data


class MinimalMixUp(_MinimalMixer):
    def mix(self, image: np.ndarray, partner: np.ndarray) -> tuple[np.ndarray, float]:
        lam = self.py_random.betavariate(self.alpha, self.alpha)
        return cv2.addWeighted(image, lam, partner, 1.0 - lam, 0.0), 1.0 - lam


class MinimalCutMix(_MinimalMixer):
    def mix(self, image: np.ndarray, partner: np.ndarray) -> tuple[np.ndarray, float]:
        height, width = image.shape[:2]
        ratio = math.sqrt(1.0 - self.py_random.betavariate(self.alpha, self.alpha))
        cut_h, cut_w = int(height * ratio), int(width * ratio)
        y1 = self.py_random.randrange(height) - cut_h // 2
        x1 = self.py_random.randrange(width) - cut_w // 2
        y1, y2, x1, x2 = max(y1, 0), min(y1 + cut_h, height), max(x1, 0), min(x1 + cut_w, width)
        out = image.copy()
        out[y1:y2, x1:x2] = partner[y1:y2, x1:x2]
        return out, max(0, y2 - y1) * max(0, x2 - x1) / (height * width)


def minimal_mixer(kind: str, partners: collections.deque) -> A.BasicTransform:
    if kind == "MixUp":
        return MinimalMixUp(partners, MIXUP_ALPHA, NUM_CLASSES)
    return MinimalCutMix(partners, CUTMIX_ALPHA, NUM_CLASSES)


#: the partner sources: (short name, what the partner is)
PARTNERS = {
    "memory": ("one in-memory partner", "always the same decoded 224² sample: the mixer's own cost"),
    "files": ("file partners", "`read_fn` decodes a JPEG partner"),
    "floor": ("minimal hand-written mixer (floor)",
              "an earlier sample, a copy from a `deque`; no checks, no routing, no replay"),
    "pool": ("PartnerPool", "an earlier sample, from the pool"),
}


def pipeline(partners: str, kinds: tuple[str, ...], paths: list[str], seed: int = 0, smooth: bool = True) -> A.Compose:
    """The per-sample pipeline: no mixing (``partners="none"``), or the mixers of ``kinds`` (one, or
    ``OneOf`` of both) with partners from the files, from a pool, one fixed in-memory partner, or the
    minimal hand-written mixer (``"floor"``)."""
    if partners == "none":
        return A.Compose([*augment(), *finish(smooth)], seed=seed)
    middle: list[A.BasicTransform] = []
    if partners == "files":
        mixers = [mixer(kind, paths, read_sample) for kind in kinds]
    elif partners == "memory":
        partner = read_sample(paths[-1])
        partner["image"] = cv2.resize(partner["image"], (CROP, CROP), interpolation=cv2.INTER_AREA)
        mixers = [mixer(kind, [partner]) for kind in kinds]
    elif partners == "floor":
        recent: collections.deque = collections.deque(maxlen=POOL_CAPACITY)
        mixers = [minimal_mixer(kind, recent) for kind in kinds]
    else:
        pool = PartnerPool(capacity=POOL_CAPACITY)
        mixers = [mixer(kind, pool) for kind in kinds]
        middle = [Remember(pool)]
    mixing = mixers if len(mixers) == 1 else [A.OneOf(mixers, p=1.0)]
    return A.Compose([*augment(), *middle, *mixing, *finish(smooth)], seed=seed)


def _mixed_entries(label: np.ndarray) -> int:
    """How many classes of a smoothed label vector carry weight above the smoothing's own ε/K."""
    return int(np.count_nonzero(label > np.float32(SMOOTHING / NUM_CLASSES)))


def check_work(paths: list[str]) -> None:
    """Guard the comparison, not the speed: every candidate must really mix (or not), at 224², and end
    with a smoothed float32 label vector of length K that sums to 1."""
    for partners in ("none", "memory", "files", "floor", "pool"):
        for kind in ("MixUp", "CutMix"):
            transform = pipeline(partners, (kind,), paths)
            outs = [transform(**read_sample(path)) for path in paths[:4]]
            if partners == "floor":  # no mix_lambda: count the classes a label carries
                mixed = sum(_mixed_entries(out["label"]) == 2 for out in outs)
            else:
                mixed = sum(out["mix_lambda"] < 1.0 for out in outs)
            expected = {"none": 0, "memory": 4, "files": 4, "floor": 3, "pool": 3}[partners]  # pool, deque: cold first
            if kind == "CutMix":  # a CutMix box can come out empty (λ near 1): at most the expected count
                ok = mixed <= expected and (expected == 0 or mixed >= 1)
            else:
                ok = mixed == expected
            image, label = outs[-1]["image"], outs[-1]["label"]
            if not ok or image.shape != (CROP, CROP, 3) or image.dtype != np.float32:
                raise RuntimeError(
                    f"{kind} with partners={partners}: {mixed} of 4 mixed, image {image.shape}; expected {expected}"
                )
            for out in outs:
                label = out["label"]
                if label.dtype != np.float32 or label.shape != (NUM_CLASSES,) or abs(float(label.sum()) - 1.0) > 1e-4:
                    raise RuntimeError(
                        f"{kind} with partners={partners}: label {label.dtype} {label.shape} sums to {label.sum()}"
                    )
            if partners == "none":
                break
    # the floor before smoothing: a one-hot mix that sums to 1, two classes once the deque holds a sample
    for kind in ("MixUp", "CutMix"):
        transform = pipeline("floor", (kind,), paths, smooth=False)
        labels = [transform(**read_sample(path))["label"] for path in paths[:6]]
        counts = [int(np.count_nonzero(label)) for label in labels]
        sums_ok = all(abs(float(label.sum()) - 1.0) < 1e-5 for label in labels)
        mixed_ok = counts[0] == 1 and (counts[1:].count(2) == 5 if kind == "MixUp" else counts[1:].count(2) >= 1)
        if not (sums_ok and mixed_ok and set(counts) <= {1, 2}):
            sums = [float(label.sum()) for label in labels]
            raise RuntimeError(f"minimal {kind}: non-zero entries per label {counts}, sums {sums}")


# ----------------------------------------------------------------------------------------------
# timm, loaded by file path
# ----------------------------------------------------------------------------------------------


def timm_mixup_class() -> tuple[Any, str]:
    """timm's ``Mixup`` class from ``timm/data/mixup.py`` loaded by file path, or None and why not."""
    if torch is None:
        return None, "torch is not installed"
    try:
        spec = importlib.util.find_spec("timm")
    except (ImportError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"
    if spec is None or not spec.submodule_search_locations:
        return None, "timm is not installed (pip install --no-deps timm; it is never a dependency)"
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "mixup.py"
    try:
        loader = importlib.util.spec_from_file_location("_timm_mixup", path)
        assert loader is not None and loader.loader is not None
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
        version = _timm_version(Path(next(iter(spec.submodule_search_locations))))
        return module.Mixup, version
    except Exception as error:  # noqa: BLE001 - another timm layout: report it, do not crash the run
        return None, f"{type(error).__name__}: {str(error).strip()[:160]}"


def _timm_version(root: Path) -> str:
    try:
        text = (root / "version.py").read_text(encoding="utf-8")
        return text.split("=", 1)[1].strip().strip("'\"")
    except (OSError, IndexError):
        return "unknown version"


# ----------------------------------------------------------------------------------------------
# Per-sample timing
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    name: str
    mixing: str
    reference: str
    floor: str | None = None  # for the PartnerPool rows: the floor row of the same kind (goal a)
    timm: str | None = None  # for the PartnerPool rows: timm's batch-mode row of the same kind (goal b)


#: what timm's partner is in each mode (timm mixes element i with element N-1-i of the batch)
TIMM_PARTNERS = {
    "batch": "the batch mirrored; one λ (one box) for the whole batch",
    "pair": "the mirrored element; one λ per pair, both elements of a pair mixed",
    "elem": "the mirrored element; one λ per element",
}


def per_sample_group(paths: list[str], timm_mixup: Any) -> tuple[Group, list[Row]]:
    """Every per-sample candidate (and the timm batch candidates), and the rows of the table."""

    primaries = paths[:PER_CALL]  # every call of every candidate decodes these same files, in this order

    def sample_fn(transform: A.Compose) -> Callable[[], object]:
        def call() -> None:
            for path in primaries:
                transform(**read_sample(path))

        return call

    pool = PartnerPool(capacity=POOL_CAPACITY)
    candidates = [
        Candidate("none", sample_fn(pipeline("none", (), paths)), per_call=PER_CALL),
        # where the pool's extra cost goes: Remember alone
        Candidate("remember", sample_fn(A.Compose([*augment(), Remember(pool), *finish()], seed=0)), per_call=PER_CALL),
    ]
    rows = []
    has_timm = timm_mixup is not None
    for partners in ("memory", "files", "floor", "pool"):
        for kind in ("MixUp", "CutMix"):
            key = f"{kind}-{partners}"
            candidates.append(Candidate(key, sample_fn(pipeline(partners, (kind,), paths)), per_call=PER_CALL))
            pool_row = partners == "pool"
            rows.append(Row(key, f"{kind}, {PARTNERS[partners][0]}", PARTNERS[partners][1], "none",
                            floor=f"{kind}-floor" if pool_row else None,
                            timm=f"{kind}-timm-{GOAL_TIMM_MODE}" if pool_row and has_timm else None))
    if has_timm:
        torch.set_num_threads(1)
        plain = A.Compose([*augment(), *finish(smooth=False)], seed=0)
        batch_files = primaries * (TIMM_BATCH // PER_CALL)  # the same files as every other candidate
        targets = torch.tensor([read_sample(path)["label"] for path in batch_files])

        def batch() -> Any:
            images = np.stack([plain(**read_sample(path))["image"] for path in batch_files])
            return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()

        smooth_only = timm_mixup(mixup_alpha=0.0, cutmix_alpha=0.0, prob=0.0, label_smoothing=SMOOTHING,
                                 num_classes=NUM_CLASSES)
        candidates.append(Candidate("none-batch", lambda: smooth_only(batch(), targets), per_call=TIMM_BATCH))
        for mode in TIMM_MODES:
            for kind in ("MixUp", "CutMix"):
                alphas = {"mixup_alpha": MIXUP_ALPHA, "cutmix_alpha": 0.0} if kind == "MixUp" else \
                    {"mixup_alpha": 0.0, "cutmix_alpha": CUTMIX_ALPHA}
                mix = timm_mixup(**alphas, prob=1.0, mode=mode, label_smoothing=SMOOTHING, num_classes=NUM_CLASSES)
                key = f"{kind}-timm-{mode}"
                candidates.append(Candidate(key, lambda mix=mix: mix(batch(), targets), per_call=TIMM_BATCH))
                rows.append(Row(key, f"{kind}, timm `Mixup(mode=\"{mode}\")` (batch of {TIMM_BATCH})",
                                TIMM_PARTNERS[mode], "none-batch"))
    return Group("end to end, per sample", candidates), rows


# ----------------------------------------------------------------------------------------------
# Detection: Mosaic fed by the pool vs fed by reading files
# ----------------------------------------------------------------------------------------------

#: what each detection candidate puts between the flip and ``Normalize``
DETECTION = {
    "det-none": ("no Mosaic (reference)", "—"),
    "det-files": ("Mosaic fed by reading files", f"{MOSAIC_OTHERS} more files decoded per sample"),
    "det-pool": ("Mosaic fed by the pool", f"`Remember(pool)`, `Recall(pool, n={MOSAIC_OTHERS})`"),
    # where the pool's extra cost goes: its two transforms without Mosaic
    "det-recall": ("no Mosaic, `Remember` and `Recall` alone", "the pool's own cost, with boxes"),
}

Annotations = dict[str, tuple[np.ndarray, list[int]]]


def box_annotations(paths: list[str], seed: int = 0) -> Annotations:
    """Synthetic boxes for every file, kept in memory next to the paths: file ``n`` gets
    ``2 + n % 3`` boxes (``pascal_voc`` pixels of the FILE_SIZE² file, sides of 48 to 128 pixels)
    drawn from a generator seeded with ``(seed, n)``, and box ``j`` the class ``BOXES_PER_FILE·n + j``,
    so a box of a mosaic tells which file it comes from."""
    annotations = {}
    for n, path in enumerate(paths):
        rng = np.random.default_rng([seed, n])
        count = 2 + n % 3
        sides = rng.integers(48, 129, size=(count, 2))
        corners = rng.integers(0, FILE_SIZE - sides + 1)
        boxes = np.concatenate([corners, corners + sides], axis=1).astype(np.float32)
        boxes.flags.writeable = False  # shared by every call: a pipeline that wrote into it would raise
        annotations[path] = (boxes, [BOXES_PER_FILE * n + j for j in range(count)])
    return annotations


def read_detection(path: str, annotations: Annotations) -> dict[str, Any]:
    """Decode one JPEG to RGB uint8, with its boxes and their ``cls`` from memory."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read an image from {path}")
    boxes, classes = annotations[path]
    return {"image": cv2.cvtColor(image, cv2.COLOR_BGR2RGB), "bboxes": boxes, "cls": classes}


def mosaic_others(index: int, paths: list[str]) -> list[str]:
    """The files that fill the other cells of file ``index``'s mosaic when it reads files: the next ones."""
    return [paths[(index + k) % len(paths)] for k in range(1, MOSAIC_OTHERS + 1)]


def detection_pipeline(key: str, pool: PartnerPool | None = None) -> A.Compose:
    """The detection pipeline of ``key`` (see ``DETECTION``); ``det-pool`` and ``det-recall`` need a ``pool``."""
    recall = [Remember(pool), Recall(pool, n=MOSAIC_OTHERS)] if key in ("det-pool", "det-recall") else []
    mosaic = [A.Mosaic(grid_yx=(2, 2), target_size=(CROP, CROP), p=1.0)] if key in ("det-files", "det-pool") else []
    middle: list[A.BasicTransform] = [*recall, *mosaic]
    return A.Compose([*augment(), *middle, A.Normalize()],
                     bbox_params=A.BboxParams(format="pascal_voc", label_fields=["cls"]), seed=0)


def detection_call(key: str, index: int, paths: list[str], annotations: Annotations,
                   transform: A.Compose) -> dict[str, Any]:
    """One sample of file ``index`` through ``transform``; reading files, the other cells' files are
    decoded now, as a loader that reads them would."""
    sample = read_detection(paths[index], annotations)
    if key == "det-files":
        sample["mosaic_metadata"] = [read_detection(other, annotations) for other in mosaic_others(index, paths)]
    return transform(**sample)


def _sources(out: dict[str, Any]) -> set[int]:
    """The files the boxes of an output come from (see ``box_annotations``)."""
    return {round(float(c)) // BOXES_PER_FILE for c in out["cls"]}


def _check_output(key: str, index: int, out: dict[str, Any], allowed: set[int]) -> None:
    """A CROP² float32 image, one ``cls`` per box, boxes inside the image, from the ``allowed`` files only."""
    image, boxes, sources = out["image"], np.asarray(out["bboxes"], dtype=np.float64), _sources(out)
    if image.shape != (CROP, CROP, 3) or image.dtype != np.float32:
        raise RuntimeError(f"{key}, file {index}: image {image.shape} {image.dtype}, expected {CROP}² float32")
    if len(boxes) != len(out["cls"]) or (len(boxes) and (boxes.min() < 0 or boxes.max() > CROP)):
        raise RuntimeError(f"{key}, file {index}: {len(boxes)} boxes for {len(out['cls'])} classes, or boxes "
                           f"outside the {CROP}² image: {boxes.tolist()}")
    if not sources <= allowed:
        raise RuntimeError(f"{key}, file {index}: boxes from files {sorted(sources)}, expected only {sorted(allowed)}")
    if key in ("det-pool", "det-recall"):
        for item in out["mosaic_metadata"]:
            if item["image"].shape != (CROP, CROP, 3) or len(item["bboxes"]) != len(item["cls"]):
                raise RuntimeError(f"{key}, file {index}: a pooled sample with image {item['image'].shape}, "
                                   f"{len(item['bboxes'])} boxes and {len(item['cls'])} classes")


@dataclass(frozen=True)
class DetectionCheck:
    samples: int  # files checked per pipeline from a cold pool
    several: dict[str, int]  # per Mosaic pipeline: of those, samples with boxes from 2 or more files
    timed_several: dict[str, int]  # per Mosaic pipeline: of the PER_CALL samples of a timed call, the same
    pool_items: int  # what Recall put under the key in a timed call (pool warm), for every sample
    cells: dict[int, float] | None  # share of Mosaic's draws that show 1, 2 or 4 cells


def mosaic_cells(draws: int = MOSAIC_DRAWS) -> dict[int, float] | None:
    """How often ``A.Mosaic`` with these arguments shows 1, 2 or 4 cells in its CROP² view (its own
    geometry, drawn ``draws`` times by a separate seeded instance), or None if it has no such method."""
    mosaic = A.Compose([A.Mosaic(grid_yx=(2, 2), target_size=(CROP, CROP), p=1.0)], seed=1).transforms[0]
    geometry = getattr(mosaic, "_calculate_geometry", None)
    if geometry is None:
        return None
    counts = collections.Counter(len(geometry({})) for _ in range(draws))
    return {cells: counts[cells] / draws for cells in sorted(counts)}


def check_detection(paths: list[str], annotations: Annotations, group: Group, samples: int = 16) -> DetectionCheck:
    """Guard the comparison, not the speed. From a cold pool, on ``samples`` files: every output is a
    CROP² float32 image with boxes inside it; the reference keeps one file's boxes; the Mosaic
    pipelines put boxes of several files into one sample (reading files: only the sample's own file and
    its other cells' files; the pool: only earlier files), and ``Recall`` gives 0, 1, 2, then
    ``MOSAIC_OTHERS`` earlier samples. Then the timed calls themselves (the pool warm after one call):
    the same, ``MOSAIC_OTHERS`` pooled samples for every sample, and mosaics of several files."""
    samples = min(samples, len(paths))
    several = {}
    for key in ("det-none", "det-files", "det-pool"):
        transform = detection_pipeline(key, PartnerPool(capacity=POOL_CAPACITY))
        count = 0
        for index in range(samples):
            out = detection_call(key, index, paths, annotations, transform)
            if key == "det-none":
                allowed = {index}
            elif key == "det-files":
                allowed = {index, *(paths.index(other) for other in mosaic_others(index, paths))}
            else:
                allowed = set(range(index + 1))
                if len(out["mosaic_metadata"]) != min(MOSAIC_OTHERS, index):
                    raise RuntimeError(f"{key}, file {index}: Recall gave {len(out['mosaic_metadata'])} pooled "
                                       f"samples, expected {min(MOSAIC_OTHERS, index)}")
            _check_output(key, index, out, allowed)
            count += len(_sources(out)) >= 2
        if key != "det-none":
            if count < max(2, samples // 4):
                raise RuntimeError(f"{key}: only {count} of {samples} samples have boxes from several files")
            several[key] = count
    timed_several = {}
    pool_items = set()
    for candidate in group.candidates:
        candidate.fn()  # warms the pool up
        outs = candidate.fn()
        for index, out in enumerate(outs):
            others = {paths.index(other) for other in mosaic_others(index, paths)}
            allowed = {"det-files": {index, *others}, "det-pool": set(range(PER_CALL))}.get(candidate.key, {index})
            _check_output(candidate.key, index, out, allowed)
            if candidate.key in ("det-pool", "det-recall"):
                pool_items.add(len(out["mosaic_metadata"]))
        if candidate.key in ("det-files", "det-pool"):
            timed_several[candidate.key] = sum(len(_sources(out)) >= 2 for out in outs)
            if not timed_several[candidate.key]:
                raise RuntimeError(f"{candidate.key}: no timed sample has boxes from several files")
    if pool_items != {MOSAIC_OTHERS}:
        raise RuntimeError(f"Recall gave {sorted(pool_items)} pooled samples in a timed call, expected {MOSAIC_OTHERS}")
    return DetectionCheck(samples, several, timed_several, MOSAIC_OTHERS, mosaic_cells())


def detection_group(paths: list[str], annotations: Annotations) -> Group:
    """The three detection pipelines. Every call runs the same PER_CALL files in the same order, and
    first reseeds the pipeline's albumentations transforms (not ``Remember``/``Recall``), so every call
    of every candidate draws the same crops, flips and Mosaic geometries: Mosaic's cost depends on how
    many cells its draw shows, and the pipelines then differ only in what fills the cells."""

    def sample_fn(key: str) -> Callable[[], object]:
        transform = detection_pipeline(key, PartnerPool(capacity=POOL_CAPACITY))
        seeded = [t for t in transform.transforms if not isinstance(t, (Remember, Recall))]

        def call() -> list[dict[str, Any]]:
            for t in seeded:
                t.set_random_seed(DRAW_SEED)
            return [detection_call(key, index, paths, annotations, transform) for index in range(PER_CALL)]

        return call

    return Group("detection: Mosaic, pool vs files", [Candidate(key, sample_fn(key), per_call=PER_CALL) for key in DETECTION])


# ----------------------------------------------------------------------------------------------
# DataLoader throughput, worker CPU time and page faults
# ----------------------------------------------------------------------------------------------


class JpegFiles:
    """A map-style dataset: file ``i % len(paths)`` through ``transform``, as (CHW float tensor, label vector).

    ``report_dir``: where each worker writes its CPU time, page faults and image count when it exits.
    """

    def __init__(self, paths: list[str], transform: A.Compose, length: int, report_dir: str) -> None:
        self.paths = paths
        self.transform = transform
        self.length = length
        self.report_dir = report_dir
        self.images = 0  # counted in each worker's own copy

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        self.images += 1
        out = self.transform(**read_sample(self.paths[index % len(self.paths)]))
        return torch.from_numpy(out["image"]).permute(2, 0, 1), torch.from_numpy(out["label"])


def _own_usage() -> tuple[float, int, int]:
    """This process's CPU seconds (user + system, all its threads), minor and major page faults."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_minflt, usage.ru_majflt


def _report_worker(dataset: JpegFiles, start: tuple[float, int, int]) -> None:
    """Run as the worker process exits: write what it used since ``worker_start`` (one line of numbers)."""
    end = _own_usage()
    line = f"{end[0] - start[0]!r} {end[1] - start[1]} {end[2] - start[2]} {dataset.images}\n"
    path = Path(dataset.report_dir) / f"{os.getpid()}.txt"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(line, encoding="utf-8")
    os.replace(tmp, path)


def worker_start(worker_id: int) -> None:
    """DataLoader worker start: OpenCV and torch on one thread each, as in the per-sample part; note
    the worker's CPU time and page faults so far, and register the report it writes when it exits
    (``multiprocessing`` runs its finalizers as a worker process ends)."""
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    if resource is not None:
        dataset = torch.utils.data.get_worker_info().dataset
        multiprocessing.util.Finalize(None, _report_worker, args=(dataset, _own_usage()), exitpriority=100)


@dataclass(frozen=True)
class LoaderRun:
    images_per_s: float
    cpu_ms_per_image: float | None  # summed over the workers; None when a worker did not report
    minor_faults_per_image: float | None
    major_faults: int | None


def _worker_reports(folder: Path, expected: int, wait_s: float = 10.0) -> list[tuple[float, int, int, int]] | None:
    deadline = time.monotonic() + wait_s
    while True:
        files = sorted(folder.glob("*.txt"))
        if len(files) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if len(files) != expected:
        return None
    reports = []
    for file in files:
        cpu, minor, major, images = file.read_text(encoding="utf-8").split()
        reports.append((float(cpu), int(minor), int(major), int(images)))
    return reports


LOADER_CONFIGS = {
    "none": "no mixing",
    "files": "OneOf(MixUp, CutMix), file partners",
    "floor": "OneOf(minimal MixUp, minimal CutMix), one `deque` (floor)",
    "pool": "OneOf(MixUp, CutMix), PartnerPool",
}


def loader_run(paths: list[str], partners: str, settings: Settings) -> LoaderRun:
    """One run through a DataLoader with 2 workers: images per second after its first batch (worker
    start-up excluded), and the workers' CPU time and page faults per image over their whole run."""
    transform = pipeline(partners, ("MixUp", "CutMix"), paths)
    with tempfile.TemporaryDirectory(prefix="albu_mix_e2e_workers_") as report_dir:
        dataset = JpegFiles(paths, transform, settings.loader_images + LOADER_BATCH, report_dir)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=LOADER_BATCH, shuffle=True, num_workers=LOADER_WORKERS, worker_init_fn=worker_start,
            generator=torch.Generator().manual_seed(0), persistent_workers=False,
        )
        batches = iter(loader)
        next(batches)
        start = time.perf_counter()
        count = sum(len(images) for images, _ in batches)
        images_per_s = count / (time.perf_counter() - start)
        del batches  # exhausted: the workers have been told to exit and joined
        reports = _worker_reports(Path(report_dir), LOADER_WORKERS) if resource is not None else None
    if reports is None:
        return LoaderRun(images_per_s, None, None, None)
    images = sum(r[3] for r in reports)
    return LoaderRun(images_per_s, 1e3 * sum(r[0] for r in reports) / images, sum(r[1] for r in reports) / images,
                     sum(r[2] for r in reports))


# ----------------------------------------------------------------------------------------------
# Running and reporting
# ----------------------------------------------------------------------------------------------


@dataclass
class Results:
    timings: Timings
    rows: list[Row]
    loader: dict[str, list[LoaderRun]]
    timm: str
    detection: Timings | None = None
    detection_check: DetectionCheck | None = None
    seconds: float = 0.0


def run(settings: Settings, progress_total: Callable[[int], Progress] = make_progress) -> Results:
    cv2.setNumThreads(1)
    start = time.perf_counter()
    timm_mixup, timm_note = timm_mixup_class()
    if timm_mixup is None:
        print(f"timm's Mixup not available: {timm_note}; skipping the timm rows", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="albu_mix_e2e_") as folder:
        paths = write_jpegs(Path(folder), settings.files)
        check_work(paths)
        annotations = box_annotations(paths)
        group, rows = per_sample_group(paths, timm_mixup)
        mosaics = detection_group(paths, annotations)
        detection_check = check_detection(paths, annotations, mosaics)
        loader_runs = len(LOADER_CONFIGS) * settings.loader_repeats + 1 if torch is not None else 0
        progress = progress_total(settings.rounds * (len(group.candidates) + len(mosaics.candidates)) + loader_runs)
        loader: dict[str, list[LoaderRun]] = {key: [] for key in LOADER_CONFIGS}
        try:
            timings = run_group(group, settings.rounds, settings.block_s, progress)
            detection = run_group(mosaics, settings.rounds, settings.block_s, progress)
            if torch is not None:
                torch.set_num_threads(1)
                progress.describe(f"DataLoader, {LOADER_WORKERS} workers: warm-up")
                loader_run(paths, "none", replace(settings, loader_images=4 * LOADER_BATCH))  # discarded
                progress.update()
                for repeat in range(settings.loader_repeats):
                    order = list(LOADER_CONFIGS)
                    order = order[repeat % len(order):] + order[: repeat % len(order)]  # rotate, like the blocks
                    for partners in order:
                        progress.describe(f"DataLoader, {LOADER_WORKERS} workers: {partners}")
                        loader[partners].append(loader_run(paths, partners, settings))
                        progress.update()
            else:
                print("torch is not installed: skipping the DataLoader part", file=sys.stderr)
        finally:
            progress.close()
    return Results(timings, rows, loader, timm_note if timm_mixup is None else f"timm {timm_note}",
                   detection, detection_check, time.perf_counter() - start)


def _us(seconds: float) -> str:
    value = seconds * 1e6
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"
    return text.replace("-", "−")


def _signed_us(seconds: float) -> str:
    return ("+" if seconds >= 0 else "−") + _us(abs(seconds))


def _iqr(values: np.ndarray) -> str:
    low, high = np.percentile(values, [25, 75])
    return f"{low:.2f}–{high:.2f}"


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '−'}{abs(value):.2f}"


def ratios(results: Results) -> dict[str, float]:
    """Cost vs the reference: the median over rounds of the per-round ratio (the two blocks of a round
    ran back to back, so a machine that speeds up or slows down between rounds cancels out)."""
    t = results.timings
    return {row.key: float(np.median(t.round_ratios(row.key, row.reference))) for row in results.rows}


def added_us(results: Results, key: str, reference: str = "none") -> float:
    """The median over rounds of (candidate − reference) in the same round, per sample (seconds)."""
    t = results.timings
    return float(np.median(t.blocks[key] - t.blocks[reference]))


def vs_floor(results: Results, row: Row) -> float:
    """Goal (a): the PartnerPool's ratio minus the floor's ratio (both to the no-mixing pipeline)."""
    r = ratios(results)
    return r[row.key] - r[row.floor]


def vs_floor_iqr(results: Results, row: Row) -> str:
    """The spread of the same difference taken round by round."""
    t = results.timings
    per_round = (t.blocks[row.key] - t.blocks[row.floor]) / t.blocks[row.reference]
    low, high = np.percentile(per_round, [25, 75])
    return f"{_signed(low)} to {_signed(high)}"


def goal_a_met(results: Results, row: Row) -> bool:
    return vs_floor(results, row) <= GOAL_VS_FLOOR


def goal_b_met(results: Results, row: Row) -> bool:
    timm_row = next(r for r in results.rows if r.key == row.timm)
    return added_us(results, row.key, row.reference) < added_us(results, row.timm, timm_row.reference)


def pool_rows(results: Results) -> list[Row]:
    return [row for row in results.rows if row.floor is not None]


def per_sample_table(results: Results) -> str:
    t = results.timings
    r = ratios(results)
    lines = [
        (
            "| pipeline | partner | µs per sample | added µs per sample | cost vs no mixing | per-round IQR "
            "| vs floor (per-round IQR) | goal (a) | met |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
        f"| no mixing | — | {_us(t.median('none'))} | — | 1.00× | — | | | |",
    ]
    references = {"none"}
    for row in results.rows:
        if row.reference not in references:  # timm's rows compare with the same batches without mixing
            references.add(row.reference)
            lines.append(f"| no mixing, batches of {TIMM_BATCH} stacked into a tensor (timm's reference) | — "
                         f"| {_us(t.median(row.reference))} | — | 1.00× | — | | | |")
        floor = goal = met = ""
        if row.floor is not None:
            floor = f"{_signed(vs_floor(results, row))} ({vs_floor_iqr(results, row)})"
            goal = f"≤ +{GOAL_VS_FLOOR:.2f}"
            met = "yes" if goal_a_met(results, row) else "**no**"
        added = _signed_us(added_us(results, row.key, row.reference))
        lines.append(
            f"| {row.name} | {row.mixing} | {_us(t.median(row.key))} | {added} "
            f"| {r[row.key]:.2f}× | {_iqr(t.round_ratios(row.key, row.reference))} | {floor} | {goal} | {met} |"
        )
    return "\n".join(lines)


def goal_lines(results: Results) -> str:
    """Goals (a) and (b), one line per PartnerPool row."""
    r = ratios(results)
    lines = []
    for row in pool_rows(results):
        lines.append(
            f"- (a) {row.name}: {r[row.key]:.2f}× against the floor's {r[row.floor]:.2f}×, "
            f"{_signed(vs_floor(results, row))} (goal ≤ +{GOAL_VS_FLOOR:.2f}): "
            f"**{'met' if goal_a_met(results, row) else 'missed'}**."
        )
    for row in pool_rows(results):
        if row.timm is None:
            lines.append(f"- (b) {row.name}: not measured ({results.timm}).")
            continue
        timm_row = next(x for x in results.rows if x.key == row.timm)
        lines.append(
            f"- (b) {row.name} adds {_signed_us(added_us(results, row.key, row.reference))} µs per sample, timm's "
            f"`Mixup(mode=\"{GOAL_TIMM_MODE}\")` {_signed_us(added_us(results, row.timm, timm_row.reference))} µs "
            f"(goal: below timm's): **{'met' if goal_b_met(results, row) else 'missed'}**."
        )
    return "\n".join(lines)


def verdict(results: Results) -> str:
    """One-line summary of both goals for the report's header."""
    parts = []
    for row in pool_rows(results):
        kind = row.name.split(",", 1)[0]
        a = f"(a) {_signed(vs_floor(results, row))} {'met' if goal_a_met(results, row) else 'missed'}"
        b = f"(b) {'met' if goal_b_met(results, row) else 'missed'}" if row.timm else "(b) not measured"
        parts.append(f"{kind}: {a}, {b}")
    return "; ".join(parts)


def breakdown(results: Results) -> str:
    """Where the extra time of mixing with a pool goes, from per-round differences."""
    remember = added_us(results, "remember")
    lines = []
    for kind in ("MixUp", "CutMix"):
        extra, mixer_alone = added_us(results, f"{kind}-pool"), added_us(results, f"{kind}-memory")
        floor = added_us(results, f"{kind}-floor")
        lines.append(
            f"- {kind} with a PartnerPool adds {_us(extra)} µs per sample, the minimal hand-written mixer (the floor) "
            f"{_us(floor)} µs: a difference of {_signed_us(extra - floor)} µs. The same albu_mix mixer with one "
            f"in-memory partner adds {_us(mixer_alone)} µs (the {'blend' if kind == 'MixUp' else 'pasted box'}, the "
            f"label mix, and `LabelSmoothing` of a label vector instead of a class index), `Remember` alone adds "
            f"{_us(remember)} µs (the copy into the pool), which leaves "
            f"{_signed_us(extra - mixer_alone - remember)} µs for the pool's draw (the pick, the pool's bookkeeping at both ends of the call, and a partner that is no longer in the CPU cache; "
            "a difference of differences, so the noisiest figure here)."
        )
    return "\n".join(lines)


def detection_table(results: Results) -> str:
    """µs per sample, added µs and cost vs the reference, for the three detection pipelines."""
    t = results.detection
    if t is None:
        return "Detection part not run."
    lines = [
        "| pipeline | what it adds | µs per sample | added µs per sample | cost vs no Mosaic | per-round IQR |",
        "|---|---|---|---|---|---|",
        f"| {DETECTION['det-none'][0]} | — | {_us(t.median('det-none'))} | — | 1.00× | — |",
    ]
    for key in ("det-files", "det-pool", "det-recall"):
        name, adds = DETECTION[key]
        ratio = t.round_ratios(key, "det-none")
        lines.append(
            f"| {name} | {adds} | {_us(t.median(key))} | {_signed_us(float(np.median(t.blocks[key] - t.blocks['det-none'])))} "
            f"| {float(np.median(ratio)):.2f}× | {_iqr(ratio)} |"
        )
    return "\n".join(lines)


def detection_saving(results: Results) -> str:
    """What feeding Mosaic from the pool saves over reading files, from per-round differences."""
    t = results.detection
    if t is None:
        return ""
    saved = t.blocks["det-files"] - t.blocks["det-pool"]
    share = saved / t.blocks["det-files"]
    added_files = t.blocks["det-files"] - t.blocks["det-none"]
    added_pool = t.blocks["det-pool"] - t.blocks["det-none"]
    own = t.blocks["det-recall"] - t.blocks["det-none"]
    low, high = np.percentile(saved, [25, 75])
    median = float(np.median(saved))
    verb = f"saves {_us(median)}" if median >= 0 else f"costs {_us(-median)} more"
    return (
        f"- Mosaic fed by the pool instead of by reading files {verb} µs per sample (per-round difference "
        f"IQR {_signed_us(low)} to {_signed_us(high)}), {100 * float(np.median(share)):.0f}% of the file-fed pipeline's "
        f"time, and adds {100 * float(np.median(added_pool / added_files)):.0f}% of what the file-fed Mosaic adds. Of "
        f"what the pool-fed Mosaic adds, the pool's own transforms (`Remember` and `Recall` without Mosaic, timed in "
        f"the same rounds) account for {_signed_us(float(np.median(own)))} µs per sample. (Medians over the rounds of "
        "per-round differences and ratios.)"
    )


def detection_check_lines(results: Results) -> str:
    check = results.detection_check
    if check is None:
        return ""

    def counts(several: dict[str, int]) -> str:
        return ", ".join(f"{DETECTION[key][0].lower()} {count}" for key, count in several.items())

    lines = [(
        f"- Checked before timing, from a cold pool on {check.samples} files: samples with boxes of 2 or more files: "
        f"{counts(check.several)}; in a timed call, of its {PER_CALL} samples: {counts(check.timed_several)}; "
        f"`Recall` gave {check.pool_items} pooled samples to every sample of a timed call."
    )]
    if check.cells:
        shares = ", ".join(f"{cells} cell{'s' if cells > 1 else ''} in {100 * share:.0f}%"
                           for cells, share in check.cells.items())
        lines.append(
            f"- With these arguments (`cell_shape` left at its default, (512, 512)), the {CROP}² view of the 2×2 grid "
            f"shows {shares} of Mosaic's draws (its own geometry, drawn {MOSAIC_DRAWS:,} times); both Mosaic pipelines draw "
            "the same way, and reading files decodes the other files whatever the draw shows."
        )
    return "\n".join(lines)


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if len(known) == len(values) and known else None


def loader_summary(results: Results) -> dict[str, tuple[float, float | None, float | None]]:
    """Per configuration: median images/s, median worker CPU ms per image, median minor faults per image."""
    return {
        key: (statistics.median(run.images_per_s for run in runs),
              _median_or_none([run.cpu_ms_per_image for run in runs]),
              _median_or_none([run.minor_faults_per_image for run in runs]))
        for key, runs in results.loader.items() if runs
    }


def _batch_pages_per_image() -> float:
    """4 KiB pages of the shared-memory image batch a worker fills, per image."""
    return math.ceil(LOADER_BATCH * 3 * CROP * CROP * 4 / 4096) / LOADER_BATCH


def loader_table(results: Results) -> str:
    if not any(results.loader.values()):
        return "DataLoader part skipped: torch is not installed."
    summary = loader_summary(results)
    base_rate, base_cpu, _ = summary["none"]
    lines = [
        (
            f"| DataLoader ({LOADER_WORKERS} workers, batch {LOADER_BATCH}) | images/s (median) | runs "
            "| throughput vs no mixing | worker CPU ms per image | worker CPU vs no mixing | minor page faults per image |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for key, name in LOADER_CONFIGS.items():
        runs = results.loader[key]
        rate, cpu, faults = summary[key]
        listed = ", ".join(f"{run.images_per_s:,.0f}" for run in runs)
        cpu_text = f"{cpu:.2f}" if cpu is not None else "n/a"
        cpu_ratio = f"{cpu / base_cpu:.2f}×" if cpu is not None and base_cpu else "n/a"
        faults_text = f"{faults:.1f}" if faults is not None else "n/a"
        lines.append(
            f"| {name} | {rate:,.0f} | {listed} | {rate / base_rate:.2f}× | {cpu_text} | {cpu_ratio} | {faults_text} |"
        )
    majors = [run.major_faults for runs in results.loader.values() for run in runs if run.major_faults is not None]
    if majors and any(majors):
        lines.append(f"\nMajor page faults in the workers (all runs): {sum(majors)}.")
    return "\n".join(lines)


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def allocator_summary() -> str:
    libc, version = platform.libc_ver()
    values = ", ".join(f"`{name}={os.environ[name]}`" for name in MALLOC_ENV if name in os.environ)
    if not values:
        return f"- allocator: {libc or 'C library'} {version} with its default thresholds (not Linux: not pinned)"
    how = ("set by the script, which re-executed itself once so that glibc reads them at start"
           if os.environ.get(_REEXEC_MARK) else "from the caller's environment")
    return f"- allocator: {libc or 'C library'} {version}, {values} ({how}; the DataLoader workers inherit them)"


def machine_summary(load_before: float | None, load_after: float | None) -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = f"numpy {np.__version__}, OpenCV {cv2.__version__}, albumentations {A.__version__}, albu_mix {albu_mix.__version__}"
    if torch is not None:
        versions += f", torch {torch.__version__}"
    load = "not available"
    if load_before is not None and load_after is not None:
        load = f"{load_before:.2f} before, {load_after:.2f} after (other processes on the same cores make figures noisier)"
    python = f"{platform.python_version()}, {platform.system()} {platform.machine()}"
    return "\n".join([
        f"- Python {python}; {os.cpu_count()} logical CPUs, {usable} usable",
        f"- {versions}",
        allocator_summary(),
        f"- 1-minute load average: {load}",
    ])


def markdown_report(results: Results, settings: Settings, command: str, load: str, chart: str | None) -> str:
    mode = "quick" if settings is QUICK else "full"
    figure = f"\n![End-to-end cost per sample and DataLoader throughput]({chart})\n" if chart else ""
    return f"""# albu_mix end-to-end: file partners, PartnerPool, a minimal mixer (floor), timm; Mosaic from the pool

Command (from the repository root): `{command}` ({mode} run, {results.seconds:.0f} s)

{load}
- timm: {results.timm}

**Goals**, for MixUp and for CutMix, with a PartnerPool, K = {NUM_CLASSES}: (a) the cost vs the
no-mixing pipeline within {GOAL_VS_FLOOR:.2f} of the cost of a minimal hand-written mixer (the floor);
(b) fewer added µs per sample than timm's `Mixup` in batch mode. {verdict(results)}.

{goal_lines(results)}

## Per sample

Each sample: `cv2.imread` of a {FILE_SIZE}×{FILE_SIZE} JPEG ({settings.files} files written from the bundled
photographs; every timed call of every candidate runs the same {PER_CALL} files in the same order, since
decoding times differ from file to file) and `cvtColor` to RGB, then `A.Compose([RandomResizedCrop(({CROP}, {CROP}), scale=(0.25, 1)),
HorizontalFlip(), <mixing>, LabelSmoothing({SMOOTHING}, num_classes={NUM_CLASSES}), Normalize()], seed=0)`.
Mixers fire on every sample (p = 1; MixUp α = {MIXUP_ALPHA}, CutMix α = {CUTMIX_ALPHA}). File partners:
`reference_data` is the list of all {settings.files} files and `read_fn` decodes the partner's JPEG, which the mixer resizes
to {CROP}² (it skips the crop and flip). PartnerPool: `Remember(pool)` right after the flip, partners
drawn from the {POOL_CAPACITY} earlier samples as augmented: no second decode, no resize.

The floor: a minimal per-sample mixer written in the benchmark, not in the package, in the same
place as `Remember(pool)` + mixer: a plain `albumentations.DualTransform` that declares the
`image` and `label` targets and overrides `apply_with_params` to act on the whole sample. Its
partner is a random entry of a `collections.deque(maxlen={POOL_CAPACITY})` of copies (image and class
index) of the earlier samples; it appends a copy of each sample after drawing. MixUp:
`cv2.addWeighted` with λ ~ Beta({MIXUP_ALPHA}, {MIXUP_ALPHA}); CutMix: a copy of the image with a box of
area share 1 − λ (λ ~ Beta({CUTMIX_ALPHA}, {CUTMIX_ALPHA}), random centre, clipped) pasted from the partner; the
label is a float32 one-hot mix of length {NUM_CLASSES} weighted by the partner's share (its pixel share for
CutMix). No input checks, no other targets, no replay. It is followed by the same
`LabelSmoothing({SMOOTHING}, num_classes={NUM_CLASSES})` and `Normalize`, so every candidate ends with the same
smoothed K = {NUM_CLASSES} vector. Before timing, the script checks that every candidate mixes: labels
sum to 1, and after the first sample the floor's labels have two non-zero classes.

timm: the per-sample pipeline without mixing or smoothing, {TIMM_BATCH} samples stacked into an N×C×H×W
tensor, then timm's `Mixup(mode=...)` with `label_smoothing={SMOOTHING}`, in `"batch"` (one λ per
batch), `"pair"` and `"elem"` modes (one λ per pair or per element, mixed element by element; both
need an even batch); timm's partner for element i is element N−1−i. Its reference is the same
batches with timm's label smoothing alone, so both include the stacking a collate does, and its
"added µs per sample" is the mixing alone.

Method: every candidate warmed up, then timed in blocks of about {settings.block_s * 1000:g} ms, interleaved
(one block of each per round, the order rotating), {settings.rounds} rounds, in one process, OpenCV and
torch on one thread. µs per sample is the median over the blocks; "added µs" and the cost are the
medians over the rounds of the difference and of the ratio between the candidate's block and the
reference's block of the same round (the speed of a shared machine drifts from round to round, and
blocks of one round ran back to back); "per-round IQR" is the spread of those per-round ratios.
"vs floor" is the PartnerPool's cost minus the floor's cost (the two medians of the "cost" column);
in brackets the interquartile range of the same difference taken round by round.

{per_sample_table(results)}

Where the extra time goes ("no mixing" plus `Remember(pool)` alone was timed in the same rounds; each
figure is the median over the rounds of the difference from "no mixing" in the same round):

{breakdown(results)}

## Detection: Mosaic fed by the pool vs by reading files

The same {settings.files} files, each with 2 to 4 synthetic boxes kept in memory next to its path (`pascal_voc`
pixels of the {FILE_SIZE}² file, sides of 48 to 128 pixels, drawn from a generator seeded with the file's
index) and a label field `cls`, the class index {BOXES_PER_FILE}·n + j for box j of file n (so a box in a mosaic
tells which file it comes from). Each sample: `cv2.imread` and `cvtColor` to RGB, its boxes and `cls`,
then `A.Compose([...], bbox_params=A.BboxParams(format="pascal_voc", label_fields=["cls"]), seed=0)` with:

- no Mosaic (the reference): `RandomResizedCrop(({CROP}, {CROP}), scale=(0.25, 1))`, `HorizontalFlip()`, `Normalize()`;
- Mosaic fed by reading files: the same crop and flip, `A.Mosaic(grid_yx=(2, 2), target_size=({CROP}, {CROP}), p=1.0)`,
  `Normalize()`; the sample passed to the pipeline holds `mosaic_metadata`, the next {MOSAIC_OTHERS} files (by index)
  decoded with OpenCV during the call, with their boxes and `cls`, so each sample pays {MOSAIC_OTHERS + 1} decodes, as a
  loader that reads them would; their cells are the files as stored ({FILE_SIZE}², neither cropped nor flipped);
- Mosaic fed by the pool: the same crop and flip, `Remember(pool)`, `Recall(pool, n={MOSAIC_OTHERS})`, the same `A.Mosaic`,
  `Normalize()`, with `pool = PartnerPool(capacity={POOL_CAPACITY})`: the other cells are {MOSAIC_OTHERS} earlier samples, as
  cropped and flipped, with their boxes and `cls`.

A fourth pipeline, the reference plus `Remember(pool)` and `Recall(pool, n={MOSAIC_OTHERS})` without Mosaic, shows the pool's
own cost with boxes. Method: as in the per-sample part (every timed call runs the same {PER_CALL} files in the same
order, blocks of about {settings.block_s * 1000:g} ms interleaved over {settings.rounds} rounds, in the same process; the pool is warm
after the first call). In addition, each timed call first reseeds the pipeline's albumentations transforms
(crop, flip, Mosaic, Normalize; not `Remember`/`Recall`) with seed {DRAW_SEED}, so every call of every pipeline draws the same crops,
flips and Mosaic geometries: Mosaic's cost depends on how many cells its draw shows (see below), and the
two Mosaic pipelines then differ only in what fills the other cells. "added µs" and the cost are medians
over the rounds of the per-round difference and ratio to the reference's block of the same round.

{detection_table(results)}

{detection_saving(results)}
{detection_check_lines(results)}

## DataLoader

`torch.utils.data.DataLoader(batch_size={LOADER_BATCH}, num_workers={LOADER_WORKERS}, shuffle=True,
persistent_workers=False)` over the same files, the pipelines above with `A.OneOf([MixUp, CutMix], p=1)` (each worker has its
own pool; the floor's two mixers share one `deque` per worker), images as CHW float tensors;
{settings.loader_images} images per run after the first batch (worker start-up excluded),
{settings.loader_repeats} run(s) per configuration, interleaved, after one discarded short warm-up run.

Worker CPU time and page faults: each worker reads its own `getrusage(RUSAGE_SELF)` (user + system
CPU of all its threads, minor page faults) at the end of its `worker_init_fn`, and again in a
`multiprocessing.util.Finalize` hook registered there, which runs as the worker process exits (with
`persistent_workers=False` the workers exit at the end of every run); it writes the difference and
the number of images it transformed to a file the main process reads after the run. Per image is
the sum over both workers divided by the images they transformed ({settings.loader_images + LOADER_BATCH}: the first
batch included, worker start-up not), so it covers decoding, the pipeline, collation and sending
the batch. Page faults include the copy-on-write faults of a forked worker touching inherited
memory, and the collated batch: a worker collates each batch into a new shared-memory tensor
({LOADER_BATCH}×3×{CROP}×{CROP} float32, {_batch_pages_per_image():.0f} new pages per image), which no
allocator setting avoids. "n/a" means a worker did not report (killed, or no `resource` module). glibc's
`MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_` are pinned (see the machine summary): glibc reads
them at process start, so the script re-executes itself once with them set, and the forked
workers inherit them; 16 MiB keeps every per-sample array (at most a {CROP}² float32 image, 588 KiB)
off `mmap`, and 128 MiB keeps freed heap memory mapped instead of returning it to the kernel and
faulting it in again.

{loader_table(results)}
{figure}"""


def plot(results: Results, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install matplotlib); skipping the chart", file=sys.stderr)
        return False
    r = ratios(results)
    has_loader = any(results.loader.values())
    has_detection = results.detection is not None
    widths = [1.2, 1.0, *([0.9] if has_loader else []), *([0.9] if has_detection else [])]
    fig, axes = plt.subplots(1, len(widths), figsize=((17 if has_loader else 12) + (4.5 if has_detection else 0), 6.2),
                             gridspec_kw={"width_ratios": widths})
    rows = results.rows
    names = [row.name.replace(", ", "\n", 1).replace("`", "") for row in rows]
    y = np.arange(len(rows))[::-1]
    by_key = {row.key: row for row in rows}

    def color(row: Row, met: Callable[[Results, Row], bool] | None) -> str:
        if row.floor is not None and met is not None:
            return "tab:green" if met(results, row) else "tab:red"
        if "-floor" in row.key:
            return "tab:blue"
        if "-timm-" in row.key:
            return "tab:purple" if row.key.endswith(GOAL_TIMM_MODE) else "plum"
        return "tab:gray"

    # (1) cost vs no mixing, with goal (a): a tick at the floor + 0.04 on each PartnerPool bar
    left = axes[0]
    values = [r[row.key] for row in rows]
    left.barh(y, values, color=[color(row, goal_a_met) for row in rows], height=0.65)
    for yi, value in zip(y, values):
        left.annotate(f"{value:.2f}×", (value, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
    for yi, row in zip(y, rows):
        if row.floor is not None:
            limit = r[row.floor] + GOAL_VS_FLOOR
            left.plot([limit, limit], [yi - 0.45, yi + 0.45], color="black", linewidth=1.6)
    left.plot([], [], color="black", linewidth=1.6, label=f"goal (a): floor + {GOAL_VS_FLOOR:.2f}")
    left.axvline(1.0, color="black", linewidth=0.8, linestyle=":")
    left.set_yticks(y, names, fontsize=7)
    left.set_xlim(0.8, max(values) * 1.15)
    left.set_xlabel("cost per sample vs the same pipeline without mixing\n(timm: vs the same batches without mixing)")
    left.set_title(f"Decode {FILE_SIZE}² JPEG → crop {CROP}² → flip → mix → smooth → normalise", fontsize=9)
    left.legend(loc="lower right", fontsize=7)

    # (2) added µs per sample, with goal (b): timm's batch mode of the same kind
    middle = axes[1]
    added = [1e6 * added_us(results, row.key, row.reference) for row in rows]
    middle.barh(y, added, color=[color(row, goal_b_met if row.timm else None) for row in rows], height=0.65)
    for yi, value in zip(y, added):
        middle.annotate(f"{value:,.0f}", (max(value, 0), yi), xytext=(4, 0), textcoords="offset points", va="center",
                        fontsize=7)
    for yi, row in zip(y, rows):
        if row.floor is not None and row.timm is not None:
            limit = 1e6 * added_us(results, row.timm, by_key[row.timm].reference)
            middle.plot([limit, limit], [yi - 0.45, yi + 0.45], color="black", linewidth=1.6)
    middle.plot([], [], color="black", linewidth=1.6, label=f"goal (b): timm mode=\"{GOAL_TIMM_MODE}\"")
    middle.set_yticks(y, [""] * len(rows))
    middle.set_xlim(min(0.0, min(added) * 1.1), max(added) * 1.18)
    middle.set_xlabel("added µs per sample\n(vs the same reference as the cost)")
    middle.set_title("What mixing adds per sample", fontsize=9)
    middle.legend(loc="lower right", fontsize=7)

    if has_loader:
        right = axes[2]
        summary = loader_summary(results)
        keys = [key for key in LOADER_CONFIGS if key in summary]
        medians = [summary[key][0] for key in keys]
        palette = {"none": "tab:gray", "files": "tab:red", "floor": "tab:blue", "pool": "tab:green"}
        right.bar(range(len(keys)), medians, color=[palette[key] for key in keys])
        for xi, key in enumerate(keys):
            rate, cpu, _ = summary[key]
            label = f"{rate:,.0f}" + (f"\n{cpu:.2f} ms CPU/img" if cpu is not None else "")
            right.annotate(label, (xi, rate), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7)
        short = {"none": "no mixing", "files": "file\npartners", "floor": "minimal\nmixer (floor)",
                 "pool": "PartnerPool"}
        right.set_xticks(range(len(keys)), [short[key] for key in keys], fontsize=8)
        right.set_ylabel("images per second")
        right.set_ylim(0, max(medians) * 1.25)
        right.set_title(f"DataLoader, {LOADER_WORKERS} workers, OneOf(MixUp, CutMix)", fontsize=9)
    if has_detection:
        plot_detection(results, axes[-1])
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return True


def plot_detection(results: Results, axis: Any) -> None:
    """The detection part: µs per sample of each pipeline, with its cost vs no Mosaic."""
    t = results.detection
    keys = ["det-none", "det-recall", "det-files", "det-pool"]
    short = {"det-none": "no Mosaic", "det-recall": "no Mosaic,\nRemember + Recall", "det-files": "Mosaic fed by\nreading files",
             "det-pool": "Mosaic fed by\nthe pool"}
    palette = {"det-none": "tab:gray", "det-recall": "tab:olive", "det-files": "tab:red", "det-pool": "tab:green"}
    medians = [1e6 * t.median(key) for key in keys]
    y = np.arange(len(keys))[::-1]
    axis.barh(y, medians, color=[palette[key] for key in keys], height=0.6)
    for yi, key, value in zip(y, keys, medians):
        ratio = float(np.median(t.round_ratios(key, "det-none")))
        axis.annotate(f"{value:,.0f} µs\n{ratio:.2f}×", (value, yi), xytext=(4, 0), textcoords="offset points",
                      va="center", fontsize=7)
    axis.set_yticks(y, [short[key] for key in keys], fontsize=8)
    axis.set_xlim(0, max(medians) * 1.3)
    axis.set_xlabel("µs per sample (median); cost vs no Mosaic")
    axis.set_title("Detection (boxes): Mosaic 2×2, pool vs files", fontsize=9)


def pin_allocator() -> None:
    """Re-execute this script once with glibc's malloc thresholds set (``MALLOC_ENV``), unless they are.

    glibc reads ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` once, when a process starts,
    so setting them in ``os.environ`` now would not reach this process's allocator, and forked
    DataLoader workers inherit the allocator state, not the environment. Values the caller already set
    win. Linux only (elsewhere glibc is not the allocator)."""
    if not sys.platform.startswith("linux") or all(name in os.environ for name in MALLOC_ENV):
        return
    env = {**MALLOC_ENV, **os.environ, _REEXEC_MARK: "1"}
    arguments = list(getattr(sys, "orig_argv", []))[1:] or sys.argv  # the interpreter's own options too
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *arguments], env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="short run (under a minute), noisier")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the results (default: benchmarks/results)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    stem = "e2e_quick" if args.quick else "e2e"
    args.out.mkdir(parents=True, exist_ok=True)
    before = load_average()
    if before is not None and before > 0.5 * (os.cpu_count() or 1):
        print(f"note: the machine looks busy (load average {before:.2f}); figures will be noisier", file=sys.stderr)
    results = run(settings)
    load = machine_summary(before, load_average())
    png = args.out / f"{stem}.png"
    drawn = plot(results, png)
    report = markdown_report(results, settings, command_line("e2e.py", args.quick, args.out), load,
                             png.name if drawn else None)
    md = args.out / f"{stem}.md"
    tmp = md.with_name(md.name + ".tmp")
    tmp.write_text(report, encoding="utf-8")
    os.replace(tmp, md)
    print(per_sample_table(results))
    print()
    print(goal_lines(results))
    print()
    print(breakdown(results))
    print()
    print(detection_table(results))
    print()
    print(detection_saving(results))
    print(detection_check_lines(results))
    print()
    print(loader_table(results))
    print(f"\n{results.seconds:.0f} s; wrote {md.name}{' and ' + png.name if drawn else ''} to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    pin_allocator()
    sys.exit(main())
