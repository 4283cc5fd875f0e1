"""Distinct and reproducible randomness in every process: DataLoader workers, pools, ranks.

albumentations 2.0.8 creates each transform's generators once; a forked DataLoader worker gets a
copy of them, so with an unseeded ``Compose`` every worker draws the same stream, epoch after
epoch. albu_mix transforms notice that they run in a new process and reseed themselves:

- unseeded: from fresh operating-system entropy, different in every process;
- seeded (``Compose(seed=s)``): from ``(s, rank, worker id)`` and, inside a PyTorch DataLoader
  worker, torch's per-epoch worker seed, so epochs differ and a run repeats when torch is seeded
  too (``torch.manual_seed`` or the DataLoader's ``generator``). The rank comes from an
  initialised ``torch.distributed``, else from the ``RANK`` environment variable, else 0.

``reseed`` and ``worker_init_fn`` apply the same rule to a whole pipeline, built-in albumentations
transforms and ``OneOf`` choices included.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
from typing import Any

import numpy as np

__all__ = ["process_key", "process_seed", "reseed", "worker_init_fn"]


def _rank() -> int:
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    return int(os.environ.get("RANK", "0"))


def _worker() -> tuple[int, ...]:
    """Who this worker is: torch's (worker id, per-epoch seed), or the pool's identity, or ()."""
    data = sys.modules.get("torch.utils.data")
    info = data.get_worker_info() if data is not None else None
    if info is not None:
        return (int(info.id), int(info.seed) % 2**63)
    # Outside torch: the process's identity, its creation number in its parent (1, 2, ... in the
    # order the parent started processes), the same from one run of a program to the next.
    return tuple(multiprocessing.current_process()._identity)


def process_key() -> tuple[int, ...]:
    """What tells one worker from another: (rank, worker identity...)."""
    return (_rank(), *_worker())


def process_seed(seed: int | None, salt: int = 0) -> int | None:
    """The seed for this process: None (fresh entropy) when unseeded, else one derived from
    ``(seed, salt, rank, worker)``. In the main process of rank 0 the seed is returned unchanged,
    so a single-process run is exactly what ``Compose(seed=s)`` promises."""
    if seed is None:
        return None
    key = process_key()
    if key == (0,) and salt == 0:
        return seed
    return int(np.random.SeedSequence([int(seed) % 2**63, salt, *key]).generate_state(2, np.uint64)[0] >> 1)


def _transforms(pipeline: Any) -> list[Any]:
    found = [pipeline]
    for child in getattr(pipeline, "transforms", []) or []:
        found.extend(_transforms(child))
    return found


def reseed(pipeline: Any, seed: int | None = None) -> None:
    """Reseed every transform and composition in ``pipeline`` for this process.

    With ``seed=None`` each gets fresh entropy; with a seed each gets one derived from
    ``(seed, position in the pipeline, rank, worker)``. Works on albumentations' own transforms,
    ``Compose``, ``OneOf`` and ``SomeOf`` as well as on albu_mix transforms.
    """
    for position, transform in enumerate(_transforms(pipeline)):
        derived = process_seed(seed, salt=position + 1)
        if hasattr(transform, "set_random_state"):
            transform.set_random_state(np.random.default_rng(derived), random.Random(derived))
        if hasattr(transform, "_mark_seeded_here"):
            transform._mark_seeded_here()


def worker_init_fn(worker_id: int) -> None:
    """``DataLoader(worker_init_fn=albu_mix.worker_init_fn)``: reseed the dataset's pipelines.

    Looks for albumentations pipelines among the attributes of the worker's dataset (one level,
    e.g. ``self.transform``) and reseeds each with ``reseed``, from the pipeline's own seed when
    it has one. Fixes the built-in transforms that albu_mix cannot reach by itself.
    """
    del worker_id  # the worker's identity comes from torch itself
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    if info is None:
        return
    for value in list(vars(info.dataset).values()):
        if hasattr(value, "set_random_state") and hasattr(value, "transforms"):
            reseed(value, getattr(value, "seed", None))
