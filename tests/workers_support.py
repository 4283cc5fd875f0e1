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


class PartnerFlipDataset:
    """Each item: whether the mixer's ``partner_transform`` (a flip) fired, and the worker's pid."""

    def __init__(self, seed: int | None = None, n: int = 16) -> None:
        self.flip = RecordingFlip(p=0.5)
        self.transform = A.Compose([albu_mix.MixUp(REFS, num_classes=K, partner_transform=self.flip, p=1.0)], seed=seed)
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, Any]:
        self.flip.fired = False
        self.transform(image=IMAGE, label=1)
        return {"flipped": self.flip.fired, "pid": os.getpid()}


# -- a real torch.distributed job, for tests/test_distributed.py --------------------------------
# torch is imported inside the functions: this module must import without it.

#: the seeds every job draws with: the first for the streams, the second to show that a seed changes them
JOB_SEEDS = (5, 6)
#: (name, DataLoader worker_init_fn, its multiprocessing context, whether the pipeline has a HorizontalFlip).
#: Inside ``torch.multiprocessing.spawn`` the default context is spawn; forkserver (Python 3.14's default)
#: starts the workers the same way as far as seeding goes (in a process that never had the process
#: group, without RANK) and, with its modules preloaded, without importing torch again in each one.
JOB_VARIANTS = (
    ("worker_init_fn", albu_mix.worker_init_fn, "forkserver", True),
    ("transform_alone", None, "forkserver", False),
    ("transform_alone_forked", None, "fork", False),
)


def generated_image(index: int) -> np.ndarray:
    """A 24×24×3 image of values 1..255: Cutout fills its holes with 0, which no image pixel has."""
    return np.random.default_rng(index).integers(1, 256, (24, 24, 3), dtype=np.uint8)


def what_was_drawn(before: np.ndarray, after: np.ndarray) -> list[int]:
    """[flipped, hole top, bottom, left, right], read from the images: the hole is where every
    channel is 0; outside it the output equals the input, flipped left-right or not."""
    hole = (after == 0).all(axis=2)
    rows, cols = np.nonzero(hole)
    kept = after[~hole]
    if np.array_equal(kept, before[~hole]):
        flipped = 0
    elif np.array_equal(kept, before[:, ::-1][~hole]):
        flipped = 1
    else:
        raise AssertionError("expected the output to be the input, flipped or not, outside one hole of zeros")
    return [flipped, int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1]


class GeneratedImages:
    """A map dataset of generated images; each item goes through two pipelines, seeded with
    ``JOB_SEEDS`` (plain attributes, as ``worker_init_fn`` has always found them), and the item
    reports what each drew."""

    def __init__(self, flip: bool, n: int = 64) -> None:
        head = [A.HorizontalFlip(p=0.5)] if flip else []
        self.transform, self.transform_other_seed = (
            A.Compose([*head, albu_mix.Cutout((3, 9), fill=0, p=1.0)], seed=seed) for seed in JOB_SEEDS
        )
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, Any]:
        from torch.utils.data import get_worker_info

        image = generated_image(index)
        pipelines = (self.transform, self.transform_other_seed)
        return {
            "worker": get_worker_info().id,
            "draws": [what_was_drawn(image, p(image=image)["image"]) for p in pipelines],
        }


def distributed_rank(rank: int, world_size: int, init_file: str, out_dir: str) -> None:
    """One rank of the job (started by ``torch.multiprocessing.spawn``, so there is no RANK
    variable): for each variant, a DataLoader with 2 workers and a DistributedSampler over
    ``GeneratedImages``, after the same ``torch.manual_seed`` as every other rank. Writes
    ``rank<r>.json``: {variant: [{"worker": id, "draws": [per seed: what_was_drawn]}, ...]}, then
    runs the schedule check (``scheduled_epochs``) and writes ``rank<r>_schedule.json``."""
    import json
    import multiprocessing

    import torch
    import torch.distributed as dist
    from torch.utils.data import DataLoader, DistributedSampler

    # The forkserver imports these once; its workers are forks of it. (This module itself cannot be
    # preloaded: Python 3.11's forkserver ignores the sys.path that holds tests/.)
    multiprocessing.set_forkserver_preload(["torch", "albumentations", "albu_mix"])
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        record = {}
        for name, init_fn, context, flip in JOB_VARIANTS:
            torch.manual_seed(0)
            dataset = GeneratedImages(flip)
            loader = DataLoader(
                dataset,
                batch_size=None,
                sampler=DistributedSampler(dataset, shuffle=False),
                num_workers=2,
                worker_init_fn=init_fn,
                multiprocessing_context=context,
            )
            record[name] = list(loader)
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
            json.dump(record, f)
        with open(os.path.join(out_dir, f"rank{rank}_schedule.json"), "w") as f:
            json.dump(scheduled_epochs(), f)
    finally:
        dist.destroy_process_group()


#: the epochs the job's schedule check runs, in order; MixUp's window is range(0, 1)
SCHEDULE_EPOCHS = (0, 1)


def scheduled_epochs() -> dict[str, list[dict[str, Any]]]:
    """The job's schedule check, in a rank: ``schedule_support.ScheduledSamples`` (MixUp while the epoch
    is in range(0, 1), then LabelSmoothing) in a DataLoader with a DistributedSampler and 2 persistent
    workers started with forkserver (warm by now: its modules are preloaded). ``set_epoch`` before
    each epoch; per epoch, each item's {"epoch" its worker saw, "mixed", "one_hot" label}."""
    import schedule_support
    from torch.utils.data import DistributedSampler

    from albu_mix.schedule import Schedule

    schedule = Schedule()
    dataset = schedule_support.ScheduledSamples(schedule, mix_epochs=range(1), n=8)
    sampler = DistributedSampler(dataset, shuffle=False)
    loader = schedule_support.persistent_loader(dataset, "forkserver", sampler=sampler)
    out = {}
    for epoch in SCHEDULE_EPOCHS:
        schedule.set_epoch(epoch)
        sampler.set_epoch(epoch)
        out[str(epoch)] = [
            {"epoch": item["epoch"], "mixed": item["mix_lambda"] < 1.0, "one_hot": item["one_hot"]} for item in loader
        ]
    return out


def loopback_interface() -> str | None:
    """The loopback network interface's name (Linux ``lo``, macOS ``lo0``), for gloo."""
    import socket

    names = {name for _, name in socket.if_nameindex()}
    return next((name for name in ("lo", "lo0") if name in names), None)


def launch_distributed_job(out_dir: str, world_size: int = 2) -> None:
    """A gloo job of ``world_size`` CPU ranks on the loopback interface, via ``torch.multiprocessing.spawn``."""
    import torch.multiprocessing

    interface = loopback_interface()
    if interface is not None:
        os.environ["GLOO_SOCKET_IFNAME"] = interface
    init_file = os.path.join(out_dir, "init")
    torch.multiprocessing.spawn(distributed_rank, args=(world_size, init_file, out_dir), nprocs=world_size)


# -- raw forks and the carried rank, for tests/test_seeding.py ----------------------------------


def in_fork_child(compute: Any) -> Any:
    """``compute()`` run in a raw ``os.fork()`` child of this process; its JSON-able result."""
    import json

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and leave without running the parent's code (pytest's)
        try:
            os.close(read)
            with os.fdopen(write, "w") as f:
                json.dump(compute(), f)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        reported = f.read()
    os.waitpid(pid, 0)
    if not reported:
        raise AssertionError(f"expected a result from fork child {pid}, it reported nothing")
    return json.loads(reported)


def fork_and_draw(seed: int, children: int = 2) -> dict[str, list[list[list[float]]]]:
    """What raw ``os.fork()`` children of a process holding a seeded pipeline draw, one after the
    other: {"auto": the pipeline as inherited (albu_mix transforms reseed themselves),
    "reseed": after ``albu_mix.reseed(pipeline, seed)`` in the child}."""
    out: dict[str, list[list[list[float]]]] = {}
    for how in ("auto", "reseed"):
        pipeline = make_pipeline(seed)

        def child_draws(how: str = how, pipeline: A.Compose = pipeline) -> list[tuple[float, ...]]:
            if how == "reseed":
                albu_mix.reseed(pipeline, seed)
            return draws(pipeline)

        out[how] = [in_fork_child(child_draws) for _ in range(children)]
    return out


def process_key_of_a_fork_child() -> tuple[int, ...]:
    """``process_key()`` in a raw ``os.fork()`` child of this process."""
    return tuple(in_fork_child(albu_mix.seeding.process_key))


def rank_where_it_arrives(init_fn: Any, as_worker: bool = True) -> int:
    """The rank this process sees once ``init_fn`` (a ``worker_init_fn`` or a transform) has arrived
    pickled: as a DataLoader worker (where a carried rank counts), or as any other process."""
    import types

    seeding = albu_mix.seeding
    real = seeding._torch_worker_info
    seeding._torch_worker_info = (lambda: types.SimpleNamespace(id=0, seed=1)) if as_worker else (lambda: None)
    try:
        return seeding.process_key()[0]
    finally:
        seeding._torch_worker_info = real
