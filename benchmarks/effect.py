"""The effect study: does Cutout, MixUp, CutMix or label smoothing help a small CNN on digits?

Run from the repository root::

    python benchmarks/effect.py            # full study, about 8 minutes on 2 idle cores
    python benchmarks/effect.py --quick    # smoke run (under a minute); the numbers mean nothing

Data: scikit-learn's bundled digits (1797 8×8 images, no download), upscaled to 32×32×1 uint8 with
``cv2.resize`` (INTER_LINEAR), split 70/30 stratified with a fixed seed. Each configuration trains
the same small CNN from scratch on the CPU on 10% and on 100% of the training split, for several
seeds, and is evaluated on the whole test split: accuracy, negative log-likelihood and expected
calibration error (15 equal-width bins). Augmentations run per sample in a torch ``Dataset``
through ``A.Compose([...], seed=seed)``, with the (subset) training set as MixUp/CutMix reference
data (or, for "MixUp (pool)", a ``PartnerPool`` of the samples augmented last) and ``LabelSmoothing``
last, so every label is a float32 vector; the loss is the soft-target cross-entropy.

Writes ``effect.md`` (table, settings, command) and ``effect.png`` (accuracy per configuration,
and a reliability diagram) into ``benchmarks/results`` (or ``--out DIR``); ``--quick`` writes
``effect_quick.md`` and ``effect_quick.png`` instead, so a smoke run never overwrites the study.

Requires PyTorch (``pip install torch`` or ``pip install "albu_mix[torch]"``) and scikit-learn;
``matplotlib`` (figure) and ``tqdm`` (progress bar) are optional.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import torch
    from torch import nn
except ImportError:
    sys.stderr.write(
        "The effect study needs PyTorch, which albu_mix does not install by default.\n"
        'Install it with `pip install torch` (a CPU build is enough) or `pip install "albu_mix[torch]"`, '
        "then run `python benchmarks/effect.py` again.\n"
    )
    raise SystemExit(2) from None

try:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
except ImportError:
    sys.stderr.write("The effect study needs scikit-learn for its data set: `pip install scikit-learn`.\n")
    raise SystemExit(2) from None

import albumentations as A
import cv2
import numpy as np

import albu_mix
from albu_mix import CutMix, Cutout, LabelSmoothing, MixUp, PartnerPool, Remember

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is a folder, not a package
from _common import DEFAULT_OUT, command_line

NUM_CLASSES = 10
IMAGE_SIZE = 32
SPLIT_SEED = 0
TEST_FRACTION = 0.3
ECE_BINS = 15
TORCH_THREADS = 2

# The augmentations, with paper-like settings for 32×32 images, chosen before any run (no tuning).
CUTOUT_SIZE = 8  # px: DeVries & Taylor used 16 px on CIFAR-10 and 8 px on CIFAR-100 (32×32)
CUTOUT_FILL = "mean"  # the image's own mean: the paper's "zero after normalisation"
MIXUP_ALPHA = 1.0  # Zhang et al. on CIFAR; every sample is mixed (p=1), as every batch is in the paper
CUTMIX_ALPHA = 1.0  # Yun et al.; CutMix probability 0.5, their CIFAR setting
CUTMIX_P = 0.5
SMOOTHING = 0.1  # Szegedy et al.
POOL_CAPACITY = 64  # "MixUp (pool)": partners are the last 64 training samples, as augmented


@dataclass(frozen=True)
class Settings:
    """How much to train: optimizer steps per run (whatever the subset size) and the seeds."""

    steps: int
    seeds: tuple[int, ...]
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    width: int = 16


FULL = Settings(steps=800, seeds=(0, 1, 2, 3))
QUICK = Settings(steps=25, seeds=(0, 1))
SUBSETS = (0.1, 1.0)


@dataclass(frozen=True)
class Config:
    """One row of the study: the augmentations before the final LabelSmoothing, and its ε."""

    name: str
    description: str
    make: Callable[[list[dict[str, Any]]], list[A.BasicTransform]]
    epsilon: float = 0.0


def pool_mixup(pool: PartnerPool) -> list[A.BasicTransform]:
    """MixUp with partners from a fresh pool of earlier samples instead of the training set."""
    return [Remember(pool), MixUp(pool, alpha=MIXUP_ALPHA, num_classes=NUM_CLASSES, p=1.0)]


CONFIGS: tuple[Config, ...] = (
    Config("baseline", "no augmentation", lambda ref: []),
    Config(
        "Cutout",
        f"Cutout({CUTOUT_SIZE}, fill={CUTOUT_FILL!r}, p=1)",
        lambda ref: [Cutout(CUTOUT_SIZE, fill=CUTOUT_FILL, p=1.0)],
    ),
    Config(
        "MixUp",
        f"MixUp(train, alpha={MIXUP_ALPHA:g}, p=1)",
        lambda ref: [MixUp(ref, alpha=MIXUP_ALPHA, num_classes=NUM_CLASSES, p=1.0)],
    ),
    Config(
        "MixUp (pool)",
        f"Remember(pool) + MixUp(pool, alpha={MIXUP_ALPHA:g}, p=1), pool = PartnerPool(capacity={POOL_CAPACITY})",
        lambda ref: pool_mixup(PartnerPool(capacity=POOL_CAPACITY)),
    ),
    Config(
        "CutMix",
        f"CutMix(train, alpha={CUTMIX_ALPHA:g}, p={CUTMIX_P:g})",
        lambda ref: [CutMix(ref, alpha=CUTMIX_ALPHA, num_classes=NUM_CLASSES, p=CUTMIX_P)],
    ),
    Config("LabelSmoothing", f"LabelSmoothing(ε={SMOOTHING:g})", lambda ref: [], SMOOTHING),
    Config(
        "CutMix+LS",
        f"CutMix(train, alpha={CUTMIX_ALPHA:g}, p={CUTMIX_P:g}) + LabelSmoothing(ε={SMOOTHING:g})",
        lambda ref: [CutMix(ref, alpha=CUTMIX_ALPHA, num_classes=NUM_CLASSES, p=CUTMIX_P)],
        SMOOTHING,
    ),
)


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """The digits, 32×32×1 uint8, split once into train and test."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_split() -> Split:
    """The bundled digits (values 0..16) scaled to 0..255, upscaled to 32×32, split 70/30 stratified."""
    digits = load_digits()
    small = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)
    images = np.stack([cv2.resize(img, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_LINEAR) for img in small])
    images = images[..., None]  # H×W×1
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_FRACTION, stratify=labels, random_state=SPLIT_SEED
    )
    return Split(x_train, y_train, x_test, y_test)


def subset_indices(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A stratified ``fraction`` of the training split, drawn with ``seed`` (all of it for 1.0)."""
    if fraction >= 1.0:
        return np.arange(len(labels))
    keep, _ = train_test_split(np.arange(len(labels)), train_size=fraction, stratify=labels, random_state=1000 + seed)
    return np.sort(keep)


class AugmentedDigits(torch.utils.data.Dataset):
    """Training samples through an albumentations pipeline; returns (1×32×32 float tensor, K-vector)."""

    def __init__(self, samples: list[dict[str, Any]], transform: A.Compose, mean: float, std: float) -> None:
        self.samples = samples  # sample dicts: also the MixUp/CutMix reference data
        self.transform = transform
        self.mean = mean
        self.std = std

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.transform(**self.samples[index])
        image = torch.from_numpy(out["image"]).permute(2, 0, 1).float()
        return (image / 255.0 - self.mean) / self.std, torch.from_numpy(out["label"])


def to_tensor(images: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """N×H×W×1 uint8 to normalized N×1×H×W float32."""
    return (torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0 - mean) / std


# ----------------------------------------------------------------------------------------------
# Model, training, metrics
# ----------------------------------------------------------------------------------------------


def make_model(width: int) -> nn.Module:
    """Three conv-BN-ReLU blocks (w, 2w, 4w channels), global average pooling, a linear head."""

    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(1, width),
        nn.MaxPool2d(2),
        *block(width, 2 * width),
        nn.MaxPool2d(2),
        *block(2 * width, 4 * width),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4 * width, NUM_CLASSES),
    )


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against a soft target distribution (rows of ``targets`` sum to 1)."""
    return torch.sum(-targets * torch.log_softmax(logits, dim=1), dim=1).mean()


def train(dataset: AugmentedDigits, settings: Settings, seed: int) -> nn.Module:
    """SGD with momentum and a cosine schedule for ``settings.steps`` steps of fresh augmented batches."""
    torch.manual_seed(seed)
    model = make_model(settings.width)
    sampler = torch.utils.data.RandomSampler(
        dataset,
        num_samples=settings.steps * settings.batch_size,
        generator=torch.Generator().manual_seed(seed),
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=settings.batch_size, sampler=sampler, num_workers=0)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=settings.lr,
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
        nesterov=True,
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.steps)
    model.train()
    for images, targets in loader:
        loss = soft_cross_entropy(model(images), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return model


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor) -> np.ndarray:
    """Softmax probabilities, N×K float64."""
    model.eval()
    return torch.softmax(model(images), dim=1).double().numpy()


def reliability_bins(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> tuple[np.ndarray, ...]:
    """Per equal-width confidence bin: (count, mean confidence, accuracy); empty bins give NaN."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)  # bins (k/B, (k+1)/B]
    count = np.bincount(which, minlength=bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(which, weights=confidence, minlength=bins) / count
        acc = np.bincount(which, weights=correct.astype(float), minlength=bins) / count
    return count, conf, acc


def metrics(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy, mean negative log-likelihood, 15-bin expected calibration error, mean confidence."""
    count, conf, acc = reliability_bins(probs, labels)
    filled = count > 0
    ece = float(np.sum(count[filled] * np.abs(acc[filled] - conf[filled])) / len(labels))
    nll = float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None))))
    accuracy = float(np.mean(probs.argmax(axis=1) == labels))
    return {"acc": accuracy, "nll": nll, "ece": ece, "conf": float(probs.max(axis=1).mean())}


# ----------------------------------------------------------------------------------------------
# The study
# ----------------------------------------------------------------------------------------------


@dataclass
class Cell:
    """All runs of one configuration on one subset: per-seed metrics and test probabilities."""

    runs: list[dict[str, float]] = field(default_factory=list)
    probs: list[np.ndarray] = field(default_factory=list)

    def values(self, key: str) -> np.ndarray:
        return np.array([run[key] for run in self.runs])


class Progress:
    """tqdm when importable, else one printed line per finished run."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        try:
            from tqdm import tqdm

            self._bar: Any = tqdm(total=total, unit="run", dynamic_ncols=True, file=sys.stderr)
        except ImportError:
            self._bar = None

    def update(self, label: str) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.set_description_str(label)
            self._bar.update(1)
        else:
            print(f"[{self.done}/{self.total}] {label}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_study(split: Split, settings: Settings) -> dict[tuple[float, str], Cell]:
    """Train every (subset, configuration, seed) and evaluate it on the test split."""
    mean = float(split.train_images.mean() / 255.0)
    std = float(split.train_images.std() / 255.0)
    test_x = to_tensor(split.test_images, mean, std)
    cells: dict[tuple[float, str], Cell] = {}
    progress = Progress(len(SUBSETS) * len(CONFIGS) * len(settings.seeds))
    for fraction in SUBSETS:
        for seed in settings.seeds:
            keep = subset_indices(split.train_labels, fraction, seed)
            samples = [{"image": split.train_images[i], "label": int(split.train_labels[i])} for i in keep]
            for config in CONFIGS:
                pipeline = A.Compose(
                    [*config.make(samples), LabelSmoothing(epsilon=config.epsilon, num_classes=NUM_CLASSES)],
                    seed=seed,
                )
                model = train(AugmentedDigits(samples, pipeline, mean, std), settings, seed)
                probs = predict(model, test_x)
                cell = cells.setdefault((fraction, config.name), Cell())
                cell.runs.append(metrics(probs, split.test_labels))
                cell.probs.append(probs)
                progress.update(f"{fraction:.0%} {config.name} seed {seed}")
    progress.close()
    return cells


def mean_std(values: np.ndarray, scale: float = 1.0, digits: int = 2, sign: bool = False) -> str:
    """``mean ± std`` (sample std, ddof=1; no std with a single value)."""
    values = values * scale
    mean = f"{values.mean():{'+' if sign else ''}.{digits}f}".replace("-", "−")
    if len(values) < 2:
        return mean
    return f"{mean} ± {values.std(ddof=1):.{digits}f}"


def verdicts(cells: dict[tuple[float, str], Cell], fraction: float) -> str:
    """One plain sentence per configuration: the paired accuracy change and the NLL/ECE change."""
    base = cells[(fraction, "baseline")]
    lines = []
    for config in CONFIGS[1:]:
        cell = cells[(fraction, config.name)]
        delta = 100 * (cell.values("acc") - base.values("acc"))
        spread = delta.std(ddof=1) if len(delta) > 1 else 0.0
        if len(delta) > 1 and delta.mean() > spread and (delta > 0).all():
            accuracy = "higher accuracy than the baseline on every seed"
        elif len(delta) > 1 and delta.mean() < -spread and (delta < 0).all():
            accuracy = "lower accuracy than the baseline on every seed"
        else:
            accuracy = "no clear accuracy difference"
        d_nll = cell.values("nll").mean() - base.values("nll").mean()
        d_ece = 100 * (cell.values("ece").mean() - base.values("ece").mean())
        gap = 100 * (cell.values("conf").mean() - cell.values("acc").mean())
        lines.append(
            f"  - {config.name}: {accuracy} ({mean_std(delta, sign=True)} pp); "
            f"NLL {'+' if d_nll >= 0 else '−'}{abs(d_nll):.3f}, ECE {'+' if d_ece >= 0 else '−'}{abs(d_ece):.2f} pp "
            f"({'worse' if d_ece > 0 else 'better'} calibrated than the baseline; mean confidence "
            f"{abs(gap):.1f} pp {'below' if gap < 0 else 'above'} accuracy, i.e. "
            f"{'under' if gap < 0 else 'over'}-confident)"
        )
    return "\n".join(lines)


def best_config(cells: dict[tuple[float, str], Cell], fraction: float) -> str:
    """The augmentation with the highest mean test accuracy on ``fraction`` (baseline excluded)."""
    candidates = [c.name for c in CONFIGS if c.name != "baseline"]
    return max(candidates, key=lambda name: cells[(fraction, name)].values("acc").mean())


def markdown_table(cells: dict[tuple[float, str], Cell], subset_sizes: dict[float, int]) -> str:
    lines = [
        (
            "| train subset | configuration | test accuracy (%) | Δ accuracy vs baseline (pp, paired) "
            "| test NLL | test ECE (%, 15 bins) | mean confidence (%) |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for fraction in SUBSETS:
        base = cells[(fraction, "baseline")].values("acc")
        for config in CONFIGS:
            cell = cells[(fraction, config.name)]
            acc = cell.values("acc")
            delta = "—" if config.name == "baseline" else mean_std(acc - base, 100.0, sign=True)
            lines.append(
                f"| {fraction:.0%} ({subset_sizes[fraction]} images) | {config.name} | {mean_std(acc, 100.0)} "
                f"| {delta} | {mean_std(cell.values('nll'), digits=3)} | {mean_std(cell.values('ece'), 100.0)} "
                f"| {mean_std(cell.values('conf'), 100.0)} |"
            )
    return "\n".join(lines)


def per_seed_table(cells: dict[tuple[float, str], Cell], seeds: Sequence[int]) -> str:
    header = " | ".join(f"seed {s}" for s in seeds)
    lines = [f"| train subset | configuration | {header} |", "|---|---|" + "---|" * len(seeds)]
    for fraction in SUBSETS:
        for config in CONFIGS:
            accs = " | ".join(f"{100 * a:.2f}" for a in cells[(fraction, config.name)].values("acc"))
            lines.append(f"| {fraction:.0%} | {config.name} | {accs} |")
    return "\n".join(lines)


def machine_summary() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import sklearn

    return "\n".join(
        [
            (
                f"- Python {platform.python_version()}, {platform.system()} {platform.machine()}; "
                f"{os.cpu_count()} logical CPUs, {usable} usable; torch threads: {torch.get_num_threads()}"
            ),
            (
                f"- torch {torch.__version__}, numpy {np.__version__}, OpenCV {cv2.__version__}, "
                f"albumentations {A.__version__}, albu_mix {albu_mix.__version__}, scikit-learn {sklearn.__version__}"
            ),
        ]
    )


def format_duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def markdown_report(
    cells: dict[tuple[float, str], Cell],
    settings: Settings,
    split: Split,
    command: str,
    seconds: float,
    figure: str | None,
) -> str:
    sizes = {f: len(subset_indices(split.train_labels, f, settings.seeds[0])) for f in SUBSETS}
    mode = "quick smoke run: far too short to mean anything" if settings is QUICK else "full run"
    configs = "\n".join(f"  - **{c.name}**: `{c.description}`" for c in CONFIGS)
    best = best_config(cells, SUBSETS[0])
    figure_line = f"\n![Accuracy per configuration and reliability diagram]({figure})\n" if figure else ""
    summaries = "\n".join(
        f"- {fraction:.0%} subset ({sizes[fraction]} images), against the baseline "
        f"({mean_std(100 * cells[(fraction, 'baseline')].values('acc'))} % accuracy, "
        f"{mean_std(100 * cells[(fraction, 'baseline')].values('conf'))} % mean confidence):\n{verdicts(cells, fraction)}"
        for fraction in SUBSETS
    )
    parameters = sum(p.numel() for p in make_model(settings.width).parameters())
    samples = settings.steps * settings.batch_size
    return f"""# albu_mix effect study

Command (from the repository root): `{command}` ({mode}; wall time {format_duration(seconds)})

{machine_summary()}

## Results

Test accuracy, negative log-likelihood (NLL) and expected calibration error (ECE, 15 equal-width
confidence bins) on the {len(split.test_labels)} held-out test images; mean ± sample standard deviation
over {len(settings.seeds)} seeds ({", ".join(map(str, settings.seeds))}). "Δ accuracy" is the paired
difference from the baseline run of the same seed (same training subset, initialisation and batch
order), in percentage points. Lower is better for NLL and ECE.

{markdown_table(cells, sizes)}
{figure_line}
In words (generated from the numbers above; "clear" means the paired change has the same sign on every
seed and its mean exceeds its standard deviation):

{summaries}

The reliability diagram compares the baseline with the augmentation of highest mean accuracy on the
10% subset (**{best}**), with the test predictions of all seeds pooled.

Test accuracy of every run (%):

{per_seed_table(cells, settings.seeds)}

## Settings

- Data: scikit-learn's bundled digits ({len(split.train_labels) + len(split.test_labels)} 8×8 images,
  values 0..16 scaled to 0..255), upscaled to {IMAGE_SIZE}×{IMAGE_SIZE}×1 uint8 with `cv2.resize`
  (INTER_LINEAR); one stratified {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%} split (seed {SPLIT_SEED}):
  {len(split.train_labels)} training and {len(split.test_labels)} test images.
- Training subsets: a stratified 10% of the training split ({sizes[0.1]} images, drawn anew for each
  seed; all configurations of a seed see the same subset) and the whole split ({sizes[1.0]} images).
- Model: 3 × (3×3 conv without bias, BatchNorm, ReLU) with {settings.width}/{2 * settings.width}/{4 * settings.width}
  channels, 2×2 max-pooling after the first two, global average pooling and a linear head
  ({parameters} parameters), trained from scratch on the CPU with `torch.set_num_threads({TORCH_THREADS})`.
- Optimisation: SGD with Nesterov momentum {settings.momentum}, learning rate {settings.lr} decayed to 0 on
  a cosine, weight decay {settings.weight_decay}, batch {settings.batch_size}, {settings.steps} steps per run
  whatever the subset size ({samples} augmented samples: about {samples / sizes[0.1]:.0f} epochs of the
  10% subset, {samples / sizes[1.0]:.0f} of the whole split); soft-target cross-entropy
  `sum(-y · log_softmax(logits))`. The test set is evaluated once, after the last step.
- Inputs: pixel / 255, standardised with the training split's mean and std after the augmentations.
- Augmentations run per sample in the `Dataset`'s `__getitem__` through `A.Compose([...], seed=seed)`,
  single process (`num_workers=0`). MixUp and CutMix draw their partners from the (subset) training
  set itself; "MixUp (pool)" draws them from a `PartnerPool` of the {POOL_CAPACITY} samples the run
  augmented last (`Remember(pool)` before the mixer; the pool is cold for the first sample of a run).
  Every pipeline ends with `LabelSmoothing(epsilon=ε, num_classes=10)` (ε = 0 only encodes the
  label), so every label is a float32 vector. No other augmentation (no crops, no flips:
  digits are not flip-invariant). The values follow the papers' 32×32 (CIFAR) settings and were
  fixed before any run, not tuned:
{configs}
- Cutout: {CUTOUT_SIZE} px is the CIFAR-100 hole (a quarter of the side; CIFAR-10 used 16 px); the fill
  `"mean"` is the image's own mean pixel value, the closest to the paper's "zero after
  normalisation" (the data mean). MixUp mixes every sample (p = 1), as the paper mixes every batch;
  CutMix uses the authors' CIFAR probability 0.5.
"""


def plot(cells: dict[tuple[float, str], Cell], split: Split, path: Path) -> bool:
    """Accuracy per configuration (both subsets) and a reliability diagram on the 10% subset."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install matplotlib); skipping the figure", file=sys.stderr)
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1.5, 1]})
    names = [c.name for c in CONFIGS]
    x = np.arange(len(names))
    width = 0.38
    for offset, fraction, color in ((-width / 2, SUBSETS[0], "tab:orange"), (width / 2, SUBSETS[1], "tab:blue")):
        accs = [100 * cells[(fraction, n)].values("acc") for n in names]
        means = np.array([a.mean() for a in accs])
        stds = np.array([a.std(ddof=1) if len(a) > 1 else 0.0 for a in accs])
        left.bar(
            x + offset, means, width, yerr=stds, capsize=3, color=color, label=f"{fraction:.0%} of the training split"
        )
        for xi, m, sd in zip(x + offset, means, stds):
            left.annotate(f"{m:.1f}", (xi, m + sd), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7)
    low = min(100 * cells[k].values("acc").min() for k in cells)
    high = max(100 * cells[k].values("acc").max() for k in cells)
    bottom = max(0.0, low - 2)
    left.set_ylim(bottom, high + 0.3 * (high - bottom))  # head room for the legend above the bars
    left.set_yticks([t for t in left.get_yticks() if bottom <= t <= 100])
    left.set_xticks(x, names, fontsize=9)
    left.set_ylabel("test accuracy (%), mean ± std over seeds")
    left.set_title("Test accuracy per configuration")
    left.legend(loc="upper left", ncol=2, fontsize=8)

    fraction = SUBSETS[0]
    best = best_config(cells, fraction)
    edges = np.linspace(0, 1, ECE_BINS + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    right.plot([0, 1], [0, 1], color="black", linestyle=":", linewidth=1, label="perfect calibration")
    for name, color, shift in (("baseline", "tab:gray", -0.25), (best, "tab:green", 0.25)):
        cell = cells[(fraction, name)]
        probs = np.concatenate(cell.probs)
        labels = np.tile(split.test_labels, len(cell.probs))
        count, _, acc = reliability_bins(probs, labels)
        ece = mean_std(cell.values("ece"), 100.0)
        filled = count > 0
        right.bar(
            centers[filled] + shift / ECE_BINS,
            acc[filled],
            width=0.5 / ECE_BINS,
            color=color,
            label=f"{name} (ECE {ece} %)",
        )
    right.set_xlim(0, 1)
    right.set_ylim(0, 1)
    right.set_xlabel("confidence (15 equal-width bins)")
    right.set_ylabel("accuracy in bin")
    right.set_title(f"Reliability on the {fraction:.0%} subset (seeds pooled)")
    right.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    tmp.replace(path)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: few steps, 2 seeds (under a minute)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory for the results")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    stem = "effect_quick" if args.quick else "effect"
    torch.set_num_threads(TORCH_THREADS)
    cv2.setNumThreads(1)
    args.out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    split = load_split()
    cells = run_study(split, settings)
    seconds = time.perf_counter() - start

    png = args.out / f"{stem}.png"
    drawn = plot(cells, split, png)
    report = markdown_report(
        cells, settings, split, command_line("effect.py", args.quick, args.out), seconds, png.name if drawn else None
    )
    md = args.out / f"{stem}.md"
    tmp = md.with_name(md.name + ".tmp")
    tmp.write_text(report, encoding="utf-8")
    tmp.replace(md)
    print(markdown_table(cells, {f: len(subset_indices(split.train_labels, f, settings.seeds[0])) for f in SUBSETS}))
    print(f"\n{seconds:.0f} s; wrote {md} and {png if drawn else '(no figure)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
