"""Module-level pieces for the worker tests (spawned processes import them by name)."""

from __future__ import annotations

import os
from typing import Any

import albumentations as A
import numpy as np

import albu_mix

K = 4
IMAGE = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
REFS = [{"image": np.full((16, 16, 3), 5 * i, np.uint8), "label": i % K} for i in range(50)]


def read_ref(index: int) -> dict[str, Any]:
    return REFS[index]


class RecordingFlip(A.HorizontalFlip):
    """albumentations' HorizontalFlip, which notes when it fires (AlbumentationsX keeps no params on
    a transform after a Compose call, so ``params`` cannot tell)."""

    fired = False

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        self.fired = True
        return super().apply(img, **params)


def make_pipeline(seed: int | None = None) -> A.Compose:
    return A.Compose(
        [
            RecordingFlip(p=0.5),
            albu_mix.Cutout(4, p=0.5),
            albu_mix.MixUp(list(range(50)), read_fn=read_ref, alpha=1.0, num_classes=K, p=1.0),
            albu_mix.CutMix(REFS, num_classes=K, p=0.5),
            albu_mix.LabelSmoothing(0.0, num_classes=K),
        ],
        seed=seed,
    )


def draws(pipeline: A.Compose, n: int = 6) -> list[tuple[float, ...]]:
    """What a worker drew: (mix_lambda, partner label vector...) per call."""
    out = []
    for _ in range(n):
        result = pipeline(image=IMAGE, label=1)
        out.append((round(result["mix_lambda"], 12), *result["label"].round(6).tolist(), int(result["image"].sum())))
    return out


def run_in_worker(pipeline: A.Compose) -> tuple[int, list[tuple[float, ...]]]:
    return os.getpid(), draws(pipeline)


def run_reseeded(pipeline: A.Compose) -> tuple[int, list[tuple[float, ...]]]:
    """The documented workaround for plain pools on AlbumentationsX: reseed in the worker."""
    albu_mix.reseed(pipeline, pipeline.seed)
    return os.getpid(), draws(pipeline)


PIPELINE: A.Compose | None = None  # set before forking


def run_global(_: int) -> tuple[int, list[tuple[float, ...]]]:
    assert PIPELINE is not None
    return os.getpid(), draws(PIPELINE)


class DigitsLikeDataset:
    """A torch-style map dataset whose __getitem__ runs the pipeline."""

    def __init__(self, seed: int | None = None, n: int = 8) -> None:
        self.transform = make_pipeline(seed)
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, Any]:
        flip = self.transform.transforms[0]
        flip.fired = False
        out = self.transform(image=IMAGE, label=1)
        flipped = flip.fired
        return {"mix_lambda": out["mix_lambda"], "label": out["label"], "flipped": flipped, "pid": os.getpid()}
