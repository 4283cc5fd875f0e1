"""Train a small image classifier with MixUp/CutMix and label smoothing from albu_mix.

A complete, Kaggle-notebook-style script: images are read from files by a PyTorch ``Dataset``, every
training sample goes through an albumentations pipeline that mixes it with another training image
(``A.OneOf([MixUp, CutMix])``) and smooths its label, a ``DataLoader`` with 2 workers batches them,
and a soft-target cross-entropy trains the net.

Partners come from a ``PartnerPool`` by default: ``Remember(pool)`` keeps each sample, and the mixers
draw an earlier sample of the same worker, so no second image is read per mixed sample. With
``--partners files`` the training files themselves are the reference data, and every mixed sample
reads a second file. ``--mix-off-epochs N`` trains the last N epochs without mixing (as timm's
``--mixup-off-epoch`` does): the mixers sit in a ``Schedule`` window, and ``schedule.set_epoch`` before
each epoch reaches the persistent DataLoader workers.

    python examples/train_classifier.py                        # scikit-learn's digits, written as PNGs
    python examples/train_classifier.py --epochs 1 --limit 256 # a smoke run
    python examples/train_classifier.py --partners files       # partners read from the training files
    python examples/train_classifier.py --mix-off-epochs 3     # the last 3 epochs without mixing
    python examples/train_classifier.py --data-dir DIR         # DIR/<class name>/<image files>

Needs PyTorch (``pip install "albu_mix[torch]"``) and, without ``--data-dir``, scikit-learn.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import albumentations as A
import cv2
import numpy as np
import torch
from torch import nn

import albu_mix
from albu_mix import CutMix, LabelSmoothing, MixUp, PartnerPool, Remember, Schedule

SIZE = 32
Item = tuple[str, int]  # (image path, class index)
T = TypeVar("T")


def read_sample(item: Item) -> dict[str, Any]:
    """Path and class index -> sample dict. Module level, so DataLoader workers can pickle it."""
    path, label = item
    image = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise FileNotFoundError(f"cannot read an image from {path}")
    image = cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    return {"image": image[..., None], "label": label}  # H×W×1 uint8, class index


class ImageFiles(torch.utils.data.Dataset):
    """(path, class) items -> (1×H×W float tensor, float32 label vector) through ``transform``."""

    def __init__(self, items: list[Item], transform: A.Compose) -> None:
        self.items = items
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.transform(**read_sample(self.items[index]))
        image = torch.from_numpy(out["image"]).permute(2, 0, 1).float() / 255.0
        return image, torch.from_numpy(out["label"])


def write_digits(root: Path) -> None:
    """scikit-learn's 1797 bundled 8×8 digits as 32×32 PNGs in root/<digit>/<n>.png."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    for n, (image, label) in enumerate(zip(digits.images, digits.target)):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        pixels = cv2.resize(np.rint(image * 255 / 16).astype(np.uint8), (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(str(root / str(label) / f"{n}.png"), pixels)


def list_items(root: Path) -> tuple[list[Item], list[str]]:
    """Every image under root/<class name>/, with the class names in sorted order."""
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    items = [(str(f), k) for k, c in enumerate(classes) for f in sorted((root / c).iterdir()) if f.is_file()]
    return items, classes


def make_model(num_classes: int, width: int = 16) -> nn.Module:
    """Three conv-BN-ReLU-pool blocks, global average pooling, a linear head."""
    layers: list[nn.Module] = []
    for cin, cout in ((1, width), (width, 2 * width), (2 * width, 4 * width)):
        layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, num_classes))


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against soft targets (each row of ``targets`` sums to 1)."""
    return torch.sum(-targets * torch.log_softmax(logits, dim=1), dim=1).mean()


def mixed_labels(targets: torch.Tensor) -> int:
    """How many rows of ``targets`` weigh two classes: samples mixed with a partner of another class
    (a smoothed one-hot row has one entry above its smallest one)."""
    floor = targets.min(dim=1, keepdim=True).values
    return int(((targets > floor + 1e-6).sum(dim=1) > 1).sum())


def progress(iterable: Iterable[T], desc: str) -> Iterable[T]:
    """A tqdm progress bar when tqdm is installed, else the iterable itself."""
    try:
        from tqdm import tqdm

        return tqdm(iterable, desc=desc, leave=False)
    except ImportError:
        return iterable


def run(data_dir: Path, args: argparse.Namespace) -> float:
    """Split the files 80/20, train for ``args.epochs`` epochs, return the last validation accuracy."""
    items, classes = list_items(data_dir)
    k = len(classes)
    order = np.random.default_rng(args.seed).permutation(len(items))
    n_val = len(items) // 5
    val_items = [items[i] for i in order[:n_val]]
    train_items = [items[i] for i in order[n_val:]][: args.limit]
    print(f"{len(train_items)} training and {len(val_items)} validation images, {k} classes; partners: {args.partners}")
    if args.mix_off_epochs:
        print(f"mixing off for the last {args.mix_off_epochs} of {args.epochs} epochs")

    if args.partners == "pool":
        # partners are earlier samples of the same worker, as augmented so far: no second read
        pool = PartnerPool(capacity=64)
        remember: list[A.BasicTransform] = [Remember(pool)]  # after the augmentations partners should share
        reference, read_fn = pool, None
    else:
        # partners are training files, read (and decoded) once more for every mixed sample
        remember, reference, read_fn = [], train_items, read_sample
    # The epoch lives in memory the DataLoader workers share: set_epoch reaches persistent workers.
    schedule = Schedule()
    mixing = schedule.during(range(args.epochs - args.mix_off_epochs), [
        A.OneOf([MixUp(reference, read_fn=read_fn, alpha=0.4, num_classes=k),
                 CutMix(reference, read_fn=read_fn, alpha=1.0, num_classes=k)], p=0.8),
    ])
    train_tf = A.Compose([
        *remember,
        mixing,  # closed: MixUp and CutMix are not called, and the label is still encoded below
        LabelSmoothing(epsilon=0.1, num_classes=k),  # last: every label is a float32 vector of length k
    ], seed=args.seed)
    val_tf = A.Compose([LabelSmoothing(epsilon=0.0, num_classes=k)])  # ε = 0 only encodes the label
    loader_args = {"batch_size": args.batch_size, "num_workers": args.workers}
    if args.workers > 0:
        loader_args["worker_init_fn"] = albu_mix.worker_init_fn  # also reseeds OneOf's choice per worker
    train_loader = torch.utils.data.DataLoader(ImageFiles(train_items, train_tf), shuffle=True,
                                               persistent_workers=args.workers > 0, **loader_args)
    val_loader = torch.utils.data.DataLoader(ImageFiles(val_items, val_tf), **loader_args)

    torch.manual_seed(args.seed)
    model = make_model(k)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    lr_schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=args.epochs * len(train_loader))
    accuracy = 0.0
    for epoch in range(args.epochs):
        schedule.set_epoch(epoch)  # before iterating the loader: every sample of the epoch sees it
        model.train()
        losses, mixed = [], 0
        for images, targets in progress(train_loader, f"epoch {epoch + 1}"):
            loss = soft_cross_entropy(model(images), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            lr_schedule.step()
            losses.append(loss.item())
            mixed += mixed_labels(targets)
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for images, targets in val_loader:
                correct += (model(images).argmax(1) == targets.argmax(1)).sum().item()
                total += len(targets)
        accuracy = correct / total
        state = "" if mixing.is_open else " (mixing off)"
        print(f"epoch {epoch + 1}/{args.epochs}{state}: train loss {np.mean(losses):.3f}, "
              f"mixed labels {mixed / len(train_items):.1%}, validation accuracy {accuracy:.2%}")
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description="Train a small CNN with albu_mix MixUp/CutMix + LabelSmoothing.")
    parser.add_argument("--data-dir", type=Path, help="folder of <class name>/<image> files (default: digits)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--limit", type=int, default=None, help="use at most this many training images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--partners", choices=("pool", "files"), default="pool",
                        help="where MixUp/CutMix partners come from: a PartnerPool of earlier samples (default) "
                             "or the training files, read again")
    parser.add_argument("--mix-off-epochs", type=int, default=0, metavar="N",
                        help="train the last N epochs without MixUp/CutMix (default: 0)")
    args = parser.parse_args()
    if not 0 <= args.mix_off_epochs < args.epochs:
        parser.error(f"--mix-off-epochs must be at least 0 and less than --epochs ({args.epochs}), "
                     f"got {args.mix_off_epochs}")
    torch.set_num_threads(2)
    if args.data_dir is not None:
        run(args.data_dir, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        write_digits(Path(tmp))
        run(Path(tmp), args)


if __name__ == "__main__":  # required: DataLoader workers may re-import this module
    main()
