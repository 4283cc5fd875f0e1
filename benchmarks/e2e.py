"""End-to-end cost of per-sample mixing: partners read from files, from a PartnerPool, and timm's batch Mixup.

Run from the repository root::

    python benchmarks/e2e.py            # full run, about a minute and a half on 2 cores
    python benchmarks/e2e.py --quick    # short run (under a minute), noisier

The data: a folder of 256×256 JPEG files the script writes itself into a temporary directory (random
crops of the photographs bundled in ``albu_mix/data``, upscaled). The per-sample pipeline of every
candidate: decode one JPEG with OpenCV, ``RandomResizedCrop`` to 224×224, ``HorizontalFlip``, mix,
``LabelSmoothing(0.1)``, ``Normalize``. Candidates:

- no mixing (the reference);
- ``MixUp``/``CutMix`` with one fixed in-memory partner: the mixer's own cost, a floor for any
  partner source;
- ``MixUp``/``CutMix`` with file partners: ``reference_data`` is the list of files and ``read_fn``
  decodes one (the partner is resized to 224×224 by the mixer, and skips the crop and the flip);
- ``MixUp``/``CutMix`` with a ``PartnerPool``: ``Remember(pool)`` after the flip, partners are the
  earlier samples as augmented;
- timm's batch ``Mixup`` (MixUp or CutMix mode, its own label smoothing) on batches of the
  per-sample pipeline without mixing, where timm is installed; its cost is per batch, reported per
  sample, against the same batches without mixing.

Every candidate is timed in the same process, interleaved block by block, as medians (see
``_timing.py``), with OpenCV and torch on one thread. A second part runs each configuration through a
PyTorch ``DataLoader`` with 2 workers and reports images per second.

Writes ``e2e.md`` (tables, machine, command) and ``e2e.png`` (chart) into ``benchmarks/results`` (or
``--out DIR``); ``--quick`` writes ``e2e_quick.md``/``e2e_quick.png``, so a smoke run never
overwrites the full report. Nothing here asserts a timing: the goal is reported, not enforced.

Requires albu_mix; PyTorch for the timm and DataLoader parts (skipped with a note without it);
``tqdm`` (progress bar) and ``matplotlib`` (chart) are optional. timm is never installed by the
script: its ``timm/data/mixup.py`` is loaded by file path (it needs only torch and numpy), so timm's
own dependencies (torchvision) are not needed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np

import albu_mix
from albu_mix import CutMix, LabelSmoothing, MixUp, PartnerPool, Remember

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is a folder, not a package
from _common import DEFAULT_OUT, command_line
from _timing import Candidate, Group, Progress, Timings, make_progress, run_group

try:
    import torch
except ImportError:  # the per-sample part runs without it
    torch = None

DATA_DIR = Path(albu_mix.__file__).resolve().parent / "data"
FILE_SIZE = 256  # the JPEG files are FILE_SIZE² ...
CROP = 224  # ... cropped and resized to CROP²
NUM_CLASSES = 1000
SMOOTHING = 0.1
MIXUP_ALPHA = 0.2  # ImageNet-style
CUTMIX_ALPHA = 1.0
POOL_CAPACITY = 64
GOAL = 1.10  # MixUp/CutMix with a PartnerPool, as a ratio to the same pipeline without mixing
TIMM_BATCH = 32
PER_CALL = 8  # samples per timed call: the same 8 files each time, in the same order, for every candidate
LOADER_BATCH = 32
LOADER_WORKERS = 2


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


#: the partner sources: (short name, what the partner is)
PARTNERS = {
    "memory": ("one in-memory partner", "always the same decoded 224² sample: the mixer's own cost, a floor"),
    "files": ("file partners", "`read_fn` decodes a JPEG partner"),
    "pool": ("PartnerPool", "an earlier sample, from the pool"),
}


def pipeline(partners: str, kinds: tuple[str, ...], paths: list[str], seed: int = 0) -> A.Compose:
    """The per-sample pipeline: no mixing (``partners="none"``), or the mixers of ``kinds`` (one, or
    ``OneOf`` of both) with partners from the files, from a pool, or one fixed in-memory partner."""
    if partners == "none":
        return A.Compose([*augment(), *finish()], seed=seed)
    middle: list[A.BasicTransform] = []
    if partners == "files":
        mixers = [mixer(kind, paths, read_sample) for kind in kinds]
    elif partners == "memory":
        partner = read_sample(paths[-1])
        partner["image"] = cv2.resize(partner["image"], (CROP, CROP), interpolation=cv2.INTER_AREA)
        mixers = [mixer(kind, [partner]) for kind in kinds]
    else:
        pool = PartnerPool(capacity=POOL_CAPACITY)
        mixers = [mixer(kind, pool) for kind in kinds]
        middle = [Remember(pool)]
    mixing = mixers if len(mixers) == 1 else [A.OneOf(mixers, p=1.0)]
    return A.Compose([*augment(), *middle, *mixing, *finish()], seed=seed)


def check_work(paths: list[str]) -> None:
    """Guard the comparison, not the speed: every candidate must really mix (or not), at 224²."""
    for partners in ("none", "memory", "files", "pool"):
        for kind in ("MixUp", "CutMix"):
            transform = pipeline(partners, (kind,), paths)
            outs = [transform(**read_sample(path)) for path in paths[:4]]
            mixed = sum(out["mix_lambda"] < 1.0 for out in outs)
            expected = {"none": 0, "memory": 4, "files": 4, "pool": 3}[partners]  # the pool is cold at first
            if kind == "CutMix":  # a CutMix box can come out empty (λ near 1): at most the expected count
                ok = mixed <= expected and (expected == 0 or mixed >= 1)
            else:
                ok = mixed == expected
            shape = outs[-1]["image"].shape
            if not ok or shape != (CROP, CROP, 3) or outs[-1]["image"].dtype != np.float32:
                raise RuntimeError(f"{kind} with partners={partners}: {mixed} of 4 mixed, image {shape}; expected {expected}")
            if partners == "none":
                break


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
    goal: float | None = None


def per_sample_group(paths: list[str], timm_mixup: Any) -> tuple[Group, list[Row]]:
    """Every per-sample candidate (and the timm batch candidates), and the rows of the table."""

    primaries = paths[:PER_CALL]  # every call of every candidate decodes these same files, in this order

    def sample_fn(transform: A.Compose, vector_label: bool = False) -> Callable[[], object]:
        def call() -> None:
            for path in primaries:
                sample = read_sample(path)
                if vector_label:  # the label as a mixer leaves it: a float32 vector
                    sample["label"] = np.eye(1, NUM_CLASSES, sample["label"], dtype=np.float32)[0]
                transform(**sample)

        return call

    pool = PartnerPool(capacity=POOL_CAPACITY)
    candidates = [
        Candidate("none", sample_fn(pipeline("none", (), paths)), per_call=PER_CALL),
        # where the pool's extra cost goes: Remember alone
        Candidate("remember", sample_fn(A.Compose([*augment(), Remember(pool), *finish()], seed=0)), per_call=PER_CALL),
    ]
    rows = []
    for partners in ("memory", "files", "pool"):
        for kind in ("MixUp", "CutMix"):
            key = f"{kind}-{partners}"
            candidates.append(Candidate(key, sample_fn(pipeline(partners, (kind,), paths)), per_call=PER_CALL))
            rows.append(Row(key, f"{kind}, {PARTNERS[partners][0]}", PARTNERS[partners][1], "none",
                            GOAL if partners == "pool" else None))
    if timm_mixup is not None:
        torch.set_num_threads(1)
        plain = A.Compose([*augment(), *finish(smooth=False)], seed=0)
        batch_files = primaries * (TIMM_BATCH // PER_CALL)  # the same files as every other candidate
        targets = torch.tensor([read_sample(path)["label"] for path in batch_files])

        def batch() -> Any:
            images = np.stack([plain(**read_sample(path))["image"] for path in batch_files])
            return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()

        modes = {
            "MixUp": timm_mixup(mixup_alpha=MIXUP_ALPHA, cutmix_alpha=0.0, prob=1.0, mode="batch",
                                label_smoothing=SMOOTHING, num_classes=NUM_CLASSES),
            "CutMix": timm_mixup(mixup_alpha=0.0, cutmix_alpha=CUTMIX_ALPHA, prob=1.0, mode="batch",
                                 label_smoothing=SMOOTHING, num_classes=NUM_CLASSES),
        }
        smooth_only = timm_mixup(mixup_alpha=0.0, cutmix_alpha=0.0, prob=0.0, label_smoothing=SMOOTHING,
                                 num_classes=NUM_CLASSES)
        candidates.append(Candidate("none-batch", lambda: smooth_only(batch(), targets), per_call=TIMM_BATCH))
        for kind, mix in modes.items():
            candidates.append(Candidate(f"{kind}-timm", lambda mix=mix: mix(batch(), targets), per_call=TIMM_BATCH))
            rows.append(Row(f"{kind}-timm", f"{kind}, timm `Mixup` (batch of {TIMM_BATCH})",
                            "the batch mirrored (timm's partner)", "none-batch"))
    return Group("end to end, per sample", candidates), rows


# ----------------------------------------------------------------------------------------------
# DataLoader throughput
# ----------------------------------------------------------------------------------------------


class JpegFiles:
    """A map-style dataset: file ``i % len(paths)`` through ``transform``, as (CHW float tensor, label vector)."""

    def __init__(self, paths: list[str], transform: A.Compose, length: int) -> None:
        self.paths = paths
        self.transform = transform
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        out = self.transform(**read_sample(self.paths[index % len(self.paths)]))
        return torch.from_numpy(out["image"]).permute(2, 0, 1), torch.from_numpy(out["label"])


def one_thread(worker_id: int) -> None:
    """DataLoader worker start: OpenCV and torch on one thread each, as in the per-sample part."""
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


LOADER_CONFIGS = {
    "none": "no mixing",
    "files": "OneOf(MixUp, CutMix), file partners",
    "pool": "OneOf(MixUp, CutMix), PartnerPool",
}


def loader_images_per_second(paths: list[str], partners: str, settings: Settings) -> float:
    """Images per second through a DataLoader with 2 workers, after its first batch (worker start-up
    excluded)."""
    transform = pipeline(partners, ("MixUp", "CutMix"), paths)
    dataset = JpegFiles(paths, transform, settings.loader_images + LOADER_BATCH)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=LOADER_BATCH, shuffle=True, num_workers=LOADER_WORKERS, worker_init_fn=one_thread,
        generator=torch.Generator().manual_seed(0),
    )
    batches = iter(loader)
    next(batches)
    start = time.perf_counter()
    count = sum(len(images) for images, _ in batches)
    return count / (time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# Running and reporting
# ----------------------------------------------------------------------------------------------


@dataclass
class Results:
    timings: Timings
    rows: list[Row]
    loader: dict[str, list[float]]
    timm: str
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
        group, rows = per_sample_group(paths, timm_mixup)
        loader_runs = len(LOADER_CONFIGS) * settings.loader_repeats if torch is not None else 0
        progress = progress_total(settings.rounds * len(group.candidates) + loader_runs)
        loader: dict[str, list[float]] = {key: [] for key in LOADER_CONFIGS}
        try:
            timings = run_group(group, settings.rounds, settings.block_s, progress)
            if torch is not None:
                torch.set_num_threads(1)
                for repeat in range(settings.loader_repeats):
                    order = list(LOADER_CONFIGS)
                    order = order[repeat % len(order):] + order[: repeat % len(order)]  # rotate, like the blocks
                    for partners in order:
                        progress.describe(f"DataLoader, {LOADER_WORKERS} workers: {partners}")
                        loader[partners].append(loader_images_per_second(paths, partners, settings))
                        progress.update()
            else:
                print("torch is not installed: skipping the DataLoader part", file=sys.stderr)
        finally:
            progress.close()
    return Results(timings, rows, loader, timm_note if timm_mixup is None else f"timm {timm_note}",
                   time.perf_counter() - start)


def _us(seconds: float) -> str:
    value = seconds * 1e6
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _iqr(values: np.ndarray) -> str:
    low, high = np.percentile(values, [25, 75])
    return f"{low:.2f}–{high:.2f}"


def ratios(results: Results) -> dict[str, float]:
    """Cost vs the reference: the median over rounds of the per-round ratio (the two blocks of a round
    ran back to back, so a machine that speeds up or slows down between rounds cancels out)."""
    t = results.timings
    return {row.key: float(np.median(t.round_ratios(row.key, row.reference))) for row in results.rows}


def added_us(results: Results, key: str, reference: str = "none") -> float:
    """The median over rounds of (candidate − reference) in the same round, per sample."""
    t = results.timings
    return float(np.median(t.blocks[key] - t.blocks[reference]))


def per_sample_table(results: Results) -> str:
    t = results.timings
    r = ratios(results)
    lines = [
        "| pipeline | partner | µs per sample | + µs per sample | cost vs no mixing | per-round IQR | goal | met |",
        "|---|---|---|---|---|---|---|---|",
        f"| no mixing | — | {_us(t.median('none'))} | — | 1.00× | — | | |",
    ]
    references = {"none"}
    for row in results.rows:
        if row.reference not in references:  # timm's rows compare with the same batches without mixing
            references.add(row.reference)
            lines.append(f"| no mixing, batches of {TIMM_BATCH} stacked into a tensor (timm's reference) | — "
                         f"| {_us(t.median(row.reference))} | — | 1.00× | — | | |")
        goal = f"≤ {row.goal:.2f}×" if row.goal else ""
        met = ("yes" if r[row.key] <= row.goal else "**no**") if row.goal else ""
        lines.append(
            f"| {row.name} | {row.mixing} | {_us(t.median(row.key))} | +{_us(added_us(results, row.key, row.reference))} "
            f"| {r[row.key]:.2f}× | {_iqr(t.round_ratios(row.key, row.reference))} | {goal} | {met} |"
        )
    return "\n".join(lines)


def breakdown(results: Results) -> str:
    """Where the extra time of mixing with a pool goes, from per-round differences."""
    remember = added_us(results, "remember")
    lines = []
    for kind in ("MixUp", "CutMix"):
        extra, mixer_alone = added_us(results, f"{kind}-pool"), added_us(results, f"{kind}-memory")
        lines.append(
            f"- {kind} with a PartnerPool adds {_us(extra)} µs per sample. The same mixer with one in-memory "
            f"partner adds {_us(mixer_alone)} µs (the {'blend' if kind == 'MixUp' else 'pasted box'}, the label mix, "
            f"and `LabelSmoothing` of a label vector instead of a class index), `Remember` alone adds "
            f"{_us(remember)} µs (the copy into the pool), and the pool's draw the remaining "
            f"{_us(extra - mixer_alone - remember)} µs (a generator per draw, the pick, and a partner that is "
            "no longer in the CPU cache)."
        )
    return "\n".join(lines)


def loader_table(results: Results) -> str:
    if not any(results.loader.values()):
        return "DataLoader part skipped: torch is not installed."
    base = statistics.median(results.loader["none"])
    lines = ["| DataLoader (2 workers, batch 32) | images/s (median) | runs | throughput vs no mixing |", "|---|---|---|---|"]
    for key, name in LOADER_CONFIGS.items():
        runs = results.loader[key]
        median = statistics.median(runs)
        listed = ", ".join(f"{v:,.0f}" for v in runs)
        lines.append(f"| {name} | {median:,.0f} | {listed} | {median / base:.2f}× |")
    return "\n".join(lines)


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


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
        f"- 1-minute load average: {load}",
    ])


def markdown_report(results: Results, settings: Settings, command: str, load: str, chart: str | None) -> str:
    r = ratios(results)
    pool_rows = [row for row in results.rows if row.goal is not None]
    verdict = "; ".join(
        f"{row.name}: {r[row.key]:.2f}× ({'met' if r[row.key] <= row.goal else 'missed'})" for row in pool_rows
    )
    mode = "quick" if settings is QUICK else "full"
    figure = f"\n![End-to-end cost per sample and DataLoader throughput]({chart})\n" if chart else ""
    return f"""# albu_mix end-to-end: file partners, PartnerPool, timm

Command (from the repository root): `{command}` ({mode} run, {results.seconds:.0f} s)

{load}
- timm: {results.timm}

**Goal: MixUp/CutMix with a PartnerPool ≤ {GOAL:.2f}× the same pipeline without mixing.** {verdict}.

## Per sample

Each sample: `cv2.imread` of a {FILE_SIZE}×{FILE_SIZE} JPEG ({settings.files} files written from the bundled
photographs; every timed call of every candidate runs the same {PER_CALL} files in the same order, since
decoding times differ from file to file) and `cvtColor` to RGB, then `A.Compose([RandomResizedCrop(({CROP}, {CROP}), scale=(0.25, 1)),
HorizontalFlip(), <mixing>, LabelSmoothing({SMOOTHING}, num_classes={NUM_CLASSES}), Normalize()], seed=0)`.
Mixers fire on every sample (p = 1; MixUp α = {MIXUP_ALPHA}, CutMix α = {CUTMIX_ALPHA}). File partners:
`reference_data` is the list of all {settings.files} files and `read_fn` decodes the partner's JPEG, which the mixer resizes
to {CROP}² (it skips the crop and flip). PartnerPool: `Remember(pool)` right after the flip, partners
drawn from the {POOL_CAPACITY} earlier samples as augmented: no second decode, no resize. timm: the
per-sample pipeline without mixing or smoothing, {TIMM_BATCH} samples stacked into an N×C×H×W tensor,
then timm's `Mixup` (batch mode, `label_smoothing={SMOOTHING}`); its reference is the same batches
with timm's label smoothing alone, so both include the stacking a collate does.

Method: every candidate warmed up, then timed in blocks of about {settings.block_s * 1000:g} ms, interleaved
(one block of each per round, the order rotating), {settings.rounds} rounds, in one process, OpenCV and
torch on one thread. µs per sample is the median over the blocks; "+ µs" and the cost are the medians
over the rounds of the difference and of the ratio between the candidate's block and the
reference's block of the same round (the speed of a shared machine drifts from round to round, and
blocks of one round ran back to back); "per-round IQR" is the spread of those per-round ratios.

{per_sample_table(results)}

Where the extra time goes ("no mixing" plus `Remember(pool)` alone was timed in the same rounds; each
figure is the median over the rounds of the difference from "no mixing" in the same round):

{breakdown(results)}

## DataLoader

`torch.utils.data.DataLoader(batch_size={LOADER_BATCH}, num_workers={LOADER_WORKERS}, shuffle=True)` over the same
files, the pipelines above with `A.OneOf([MixUp, CutMix], p=1)` (each worker has its own pool),
images as CHW float tensors; {settings.loader_images} images per run after the first batch (worker start-up
excluded), {settings.loader_repeats} run(s) per configuration, interleaved.

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
    fig, axes = plt.subplots(1, 2 if has_loader else 1, figsize=(12 if has_loader else 7, 4.2),
                             gridspec_kw={"width_ratios": [1.6, 1]} if has_loader else None)
    left = axes[0] if has_loader else axes
    names = [row.name.replace(", ", "\n", 1).replace("`", "") for row in results.rows]
    values = [r[row.key] for row in results.rows]
    colors = ["tab:green" if row.goal and r[row.key] <= row.goal else "tab:red" if row.goal
              else "tab:gray" for row in results.rows]
    y = np.arange(len(values))[::-1]
    left.barh(y, values, color=colors, height=0.65)
    for yi, value in zip(y, values):
        left.annotate(f"{value:.2f}×", (value, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    left.axvline(1.0, color="black", linewidth=0.8, linestyle=":")
    left.axvline(GOAL, color="tab:green", linewidth=1, linestyle="--", label=f"goal for the pool: ≤ {GOAL:.2f}×")
    left.set_yticks(y, names, fontsize=8)
    left.set_xlim(0.8, max(values) * 1.15)
    left.set_xlabel("cost per sample vs the same pipeline without mixing")
    left.set_title(f"Decode {FILE_SIZE}² JPEG → crop {CROP}² → flip → mix → smooth → normalise")
    left.legend(loc="lower right", fontsize=8)
    if has_loader:
        right = axes[1]
        keys = list(LOADER_CONFIGS)
        medians = [statistics.median(results.loader[k]) for k in keys]
        right.bar(range(len(keys)), medians, color=["tab:gray", "tab:red", "tab:green"])
        for xi, value in enumerate(medians):
            right.annotate(f"{value:,.0f}", (xi, value), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
        right.set_xticks(range(len(keys)), ["no mixing", "file partners", "PartnerPool"], fontsize=9)
        right.set_ylabel("images per second")
        right.set_ylim(0, max(medians) * 1.15)
        right.set_title(f"DataLoader, {LOADER_WORKERS} workers, OneOf(MixUp, CutMix)")
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return True


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
    print(breakdown(results))
    print()
    print(loader_table(results))
    print(f"\n{results.seconds:.0f} s; wrote {md.name}{' and ' + png.name if drawn else ''} to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
