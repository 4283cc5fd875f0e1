"""Module-level pieces for the schedule tests: DataLoader workers started with spawn or forkserver
import them by name. torch is imported inside the functions: this module must import without it."""

from __future__ import annotations

import os
from typing import Any

import albumentations as A
import numpy as np

from albu_mix import LabelSmoothing, MixUp
from albu_mix.schedule import Schedule

K = 4
#: an image whose left and right halves differ, so that a flip shows
IMAGE = np.random.default_rng(0).integers(1, 256, (16, 16, 3), dtype=np.uint8)
REFS = [{"image": np.full((16, 16, 3), 5 * i, np.uint8), "label": i % K} for i in range(8)]
#: the label every sample is given; ``one_hot(LABEL)`` is what an unmixed sample leaves with
LABEL = 1


class ScheduledSamples:
    """A map dataset whose samples go through two pipelines that share one ``Schedule``: MixUp while
    the epoch is in ``mix_epochs`` (then ``LabelSmoothing(0)``, so every label is encoded), and
    albumentations' own ``HorizontalFlip(p=1)`` while it is in ``flip_epochs``. Each item reports
    what happened to it and the epoch its worker saw."""

    def __init__(self, schedule: Schedule, mix_epochs: Any = range(2), flip_epochs: Any = (1, None), n: int = 8,
                 seed: int | None = None) -> None:
        self.schedule = schedule
        self.mixing = A.Compose(
            [schedule.during(mix_epochs, [MixUp(REFS, alpha=1.0, num_classes=K, p=1.0)]), LabelSmoothing(0.0, num_classes=K)],
            seed=seed,
        )
        self.flipping = A.Compose([schedule.during(flip_epochs, [A.HorizontalFlip(p=1.0)])], seed=seed)
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, Any]:
        epoch = self.schedule.epoch
        mixed = self.mixing(image=IMAGE, label=LABEL)
        flipped = self.flipping(image=IMAGE)["image"]
        if not (np.array_equal(flipped, IMAGE) or np.array_equal(flipped, IMAGE[:, ::-1])):
            raise AssertionError("expected the image, flipped or not")
        return {
            "index": index,
            "epoch": epoch,
            "mix_lambda": float(mixed["mix_lambda"]),
            "one_hot": bool(np.array_equal(mixed["label"], np.eye(K, dtype=np.float32)[LABEL])),
            "flipped": not np.array_equal(flipped, IMAGE),
            "pid": os.getpid(),
        }


def persistent_loader(dataset: Any, context: str, **kwargs: Any) -> Any:
    """A DataLoader over ``dataset``: one sample per item, 2 persistent workers started with ``context``."""
    from torch.utils.data import DataLoader

    return DataLoader(dataset, batch_size=None, num_workers=2, persistent_workers=True,
                      multiprocessing_context=context, **kwargs)
