"""Distinct and reproducible randomness in every process: DataLoader workers, pools, forks, ranks.

albumentations 2.0.8 creates each transform's generators once; a forked DataLoader worker gets a
copy of them, so with an unseeded ``Compose`` every worker draws the same stream, epoch after
epoch. albu_mix transforms notice that they run in a new process and reseed themselves:

- unseeded: from fresh operating-system entropy, different in every process;
- seeded (``Compose(seed=s)``): from ``s`` and ``process_key()``: the rank, torch's worker id and
  per-epoch worker seed inside a PyTorch DataLoader worker, and where the process comes from
  (multiprocessing's identity and the forks that made it, ``os.fork`` included). Epochs differ, and
  a run repeats when torch is seeded too (``torch.manual_seed`` or the DataLoader's ``generator``)
  and the program starts its processes in the same order. The main process keeps exactly the
  stream that ``Compose(seed=s)`` promises.

The rank comes from an initialised ``torch.distributed`` process group, else (inside a DataLoader
worker only) from the rank that an albu_mix object carried into the worker when it was pickled in the
rank's process, else from ``RANK``, else from ``LOCAL_RANK``, else it is 0; a variable that is not a
non-negative integer is ignored with a warning. The rank counts in every process, the main one
included: ranks that draw in their main process (``num_workers=0``) draw distinct streams too.

One source of truth per transform: an albu_mix transform records the *base* seed it was given (by
``Compose(seed=...)``, ``reseed`` or none) and the process identity (pid, rank) its streams were
derived for; whenever it runs under another identity it derives them again from that base. So a
``reseed`` in a parent survives a fork, and ``worker_init_fn`` gives an albu_mix transform exactly the
streams it would have given itself.

``reseed`` and ``worker_init_fn`` apply the same rule to a whole pipeline, built-in albumentations
transforms and ``OneOf`` choices included.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from albumentations.core.transforms_interface import BasicTransform

__all__ = ["identity", "process_key", "process_seed", "reseed", "seed_transform", "worker_init_fn"]

# -- the rank -----------------------------------------------------------------------------------

#: The rank of the process that pickled an albu_mix object (a transform, ``worker_init_fn``) which was
#: unpickled in this process: how a DataLoader worker started with spawn or forkserver learns its
#: rank. It counts only inside a DataLoader worker, where it was meant to (a pipeline loaded from a
#: file made under another rank does not change this process's rank).
_inherited_rank: int | None = None
#: Environment variables already warned about in this process (one warning each).
_warned_variables: set[str] = set()


def _process_group_rank() -> int | None:
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return int(dist.get_rank())
    return None


def _environment_rank(name: str) -> int | None:
    """The non-negative integer in the environment variable ``name``; None when it is unset, or
    set to anything else (then with one warning per process)."""
    value = os.environ.get(name)
    if value is None:
        return None
    try:
        rank = int(value)
    except ValueError:
        rank = -1
    if rank >= 0:
        return rank
    if name not in _warned_variables:
        _warned_variables.add(name)
        warnings.warn(
            f"albu_mix: ignoring the environment variable {name}={value!r}: expected the process's rank, "
            "a non-negative integer. Workers of different ranks may draw the same random streams."
        )
    return None


def _known_rank() -> int | None:
    """This process's rank, from the first source that has it; None when none has.

    1. an initialised ``torch.distributed`` process group (always right where it is visible: in the
       rank process and in DataLoader workers forked from it);
    2. inside a DataLoader worker, the rank carried into it by an albu_mix object pickled in the rank's
       process (workers started with spawn or forkserver, where there is no process group);
    3. the ``RANK`` environment variable (torchrun and most launchers set it);
    4. ``LOCAL_RANK``, only when ``RANK`` is unset (or ignored): the rank on this machine, which some
       single-machine launchers set alone.

    A variable that is not a non-negative integer (``RANK=""``, ``RANK=rank0``) is ignored with one
    warning per process that names it and its value.
    """
    rank = _process_group_rank()
    if rank is not None:
        return rank
    if _inherited_rank is not None and _torch_worker_info() is not None:
        return _inherited_rank
    rank = _environment_rank("RANK")
    return rank if rank is not None else _environment_rank("LOCAL_RANK")


def _rank() -> int:
    rank = _known_rank()
    return 0 if rank is None else rank


#: (pid, process group initialised, identity) of the last ``identity()``: a transform checks its
#: identity on every call, so the rank is looked up again only when one of the first two changed.
_identity_cache: list[Any] = [None, None, None]


def identity() -> tuple[int, int]:
    """(pid, rank): the process a transform's streams are derived for. Cheap enough for every call:
    the rank is looked up again only in a new process or when a process group has come up."""
    pid = os.getpid()
    cache = _identity_cache
    if cache[0] == pid and cache[1]:  # a process group is up: the rank is final
        return cache[2]  # type: ignore[no-any-return]
    dist = sys.modules.get("torch.distributed")
    initialized = getattr(dist, "is_initialized", None)  # absent where torch.distributed is not available
    group = initialized is not None and initialized()
    if cache[0] != pid or cache[1] != group:
        cache[:] = [pid, group, (pid, _rank())]
    return cache[2]  # type: ignore[no-any-return]


# -- where a process comes from -----------------------------------------------------------------

#: ``process_key()`` of the main process of rank 0, whose seed is passed through unchanged
_MAIN_KEY = (0, 0, 0, 0)

#: Forks this process has made so far (``os.fork``, which multiprocessing's fork start method uses too).
_forks_made = 0
#: The forks that made this process, oldest first, each as (multiprocessing identity of the process
#: that forked, its fork count then): the same from one run of a program to the next.
_fork_path: tuple[tuple[tuple[int, ...], int], ...] = ()


def _identity() -> tuple[int, ...]:
    """multiprocessing's identity of this process: its creation number in its parent, after its
    parent's own identity ((2,) is the main process's second child, (2, 1) that child's first)."""
    return tuple(multiprocessing.current_process()._identity)


def _count_fork() -> None:
    global _forks_made
    _forks_made += 1


def _note_fork() -> None:
    """In a new child: the fork that made it (the parent's identity and fork count come with the copy)."""
    global _fork_path, _forks_made
    _fork_path = (*_fork_path, (_identity(), _forks_made))
    _forks_made = 0


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(before=_count_fork, after_in_child=_note_fork)


def _torch_worker_info() -> Any:
    data = sys.modules.get("torch.utils.data")
    return data.get_worker_info() if data is not None else None


def _sections() -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(torch worker, multiprocessing identity, fork numbers) of this process.

    In a DataLoader worker the worker's own creation (the last number of its identity, and the fork
    that made it when it was forked) is left out: torch's worker id tells the workers apart, and a
    loader started again in the same process after ``torch.manual_seed`` repeats its streams.
    """
    identity = _identity()
    forks = [count for _, count in _fork_path]
    info = _torch_worker_info()
    if info is None:
        return (), identity, tuple(forks)
    # the fork that made the worker is the last one made by a process of another identity
    outside = [i for i, (forker, _) in enumerate(_fork_path) if forker != identity]
    if outside:
        del forks[outside[-1]]
    return (int(info.id), int(info.seed) % 2**63), identity[:-1], tuple(forks)


def process_key() -> tuple[int, ...]:
    """What tells this process from the other processes of a job, the same in every run of a program.

    ``(rank, n, *worker, n, *identity, n, *forks)``: the rank (see ``_known_rank``), then three
    sections, each its length ``n`` and its numbers: torch's (worker id, per-epoch worker seed) in a
    DataLoader worker; multiprocessing's identity (the process's creation number in its parent, in
    every ancestor); and the number of each fork that made the process among its parent's forks,
    ``os.fork`` included. In a DataLoader worker the last two leave out the worker's own creation, so
    they name the process that started it. The main process of rank 0 has ``(0, 0, 0, 0)``.
    """
    key = [_rank()]
    for section in _sections():
        key += [len(section), *section]
    return tuple(key)


def process_seed(seed: int | None, salt: int = 0) -> int | None:
    """The seed for this process: None (fresh entropy) when unseeded, else one derived from
    ``(seed, salt, process_key())``. In the main process of rank 0 the seed is returned unchanged,
    so a single-process run is exactly what ``Compose(seed=s)`` promises."""
    if seed is None:
        return None
    key = process_key()
    if key == _MAIN_KEY and salt == 0:
        return seed
    return int(np.random.SeedSequence([int(seed) % 2**63, salt, *key]).generate_state(2, np.uint64)[0] >> 1)


# -- one transform ------------------------------------------------------------------------------


def seed_transform(transform: Any, base: int | None) -> None:
    """Give an albu_mix transform the streams of ``base`` for this process, and record both: the base
    is what the transform derives from again in any other process (a fork, a spawned worker)."""
    derived = process_seed(base)
    BasicTransform.set_random_state(transform, np.random.default_rng(derived), random.Random(derived))
    transform._seed_base = base
    transform._seeded_for = identity()


# -- reseeding pipelines ------------------------------------------------------------------------


def _transforms(pipeline: Any) -> list[Any]:
    found = [pipeline]
    for child in getattr(pipeline, "transforms", []) or []:
        found.extend(_transforms(child))
    return found


def _worker_base(seed: int | None, worker: int | None) -> int | None:
    if seed is None or worker is None:
        return seed
    return int(np.random.SeedSequence([int(seed) % 2**63, 2, int(worker)]).generate_state(2, np.uint64)[0] >> 1)


def reseed(pipeline: Any, seed: int | None = None, *, worker: int | None = None) -> None:
    """Reseed every transform and composition in ``pipeline`` for this process.

    With ``seed=None`` each gets fresh entropy. With a seed, albu_mix transforms take it as their base
    (as ``Compose(seed=...)`` gives it) and derive their streams from it and the process (see
    ``process_key``), in this process and in any process started from it later; albumentations' own
    transforms and compositions get seeds derived from ``(seed, position in the pipeline,
    process_key())``. Works on ``Compose``, ``OneOf`` and ``SomeOf`` as well as on single transforms.

    ``worker``: an index that tells this process from its siblings where albu_mix cannot (processes
    started by exec: a ``subprocess`` pool, Ray, Dask, joblib's loky workers each look like the main
    process of rank 0); call ``reseed(pipeline, seed, worker=index)`` at the start of each.
    """
    base = _worker_base(seed, worker)
    _reseed(pipeline, base, own_bases=False)
    pipeline._albu_mix_seed = base


def _reseed(pipeline: Any, base: int | None, own_bases: bool) -> None:
    for position, transform in enumerate(_transforms(pipeline)):
        if hasattr(transform, "_seeded_for"):  # an albu_mix transform: from its own base, or the new one
            seed_transform(transform, transform._seed_base if own_bases else base)
        elif hasattr(transform, "set_random_state"):
            derived = process_seed(base, salt=position + 1)
            transform.set_random_state(np.random.default_rng(derived), random.Random(derived))


def _is_pipeline(value: Any) -> bool:
    return hasattr(value, "set_random_state") and hasattr(value, "transforms")


def _is_dataset(value: Any) -> bool:
    """A torch ``Dataset``, or an object with attributes that can be indexed and measured."""
    data = sys.modules.get("torch.utils.data")
    if data is not None and isinstance(value, data.Dataset):
        return True
    return not isinstance(value, type) and all(hasattr(value, name) for name in ("__dict__", "__getitem__", "__len__"))


#: types whose values are neither pipelines nor datasets, skipped at once
_PLAIN = frozenset({type(None), bool, int, float, complex, str, bytes, tuple, list, dict, np.ndarray})
#: lists, tuples and dicts longer than this are data (records, paths), not where pipelines are kept
MAX_SEARCHED_MEMBERS = 64


def _pipelines_in(dataset: Any, seen: set[int]) -> Iterator[Any]:
    """The pipelines among the dataset's attributes and in the short lists, tuples and dicts among
    them (at most ``MAX_SEARCHED_MEMBERS`` members: longer ones hold records, not pipelines), then, in
    the same way, in the datasets found there (``Subset.dataset``, ``ConcatDataset.datasets``, any
    wrapper's attribute). ``seen`` holds the objects visited in this search, so cycles end."""
    seen.add(id(dataset))
    for value in list(getattr(dataset, "__dict__", {}).values()):
        if isinstance(value, (dict, list, tuple)):
            if len(value) > MAX_SEARCHED_MEMBERS:
                continue
            members = list(value.values() if isinstance(value, dict) else value)
        else:
            members = [value]
        for member in members:
            if type(member) in _PLAIN or id(member) in seen:
                continue
            if _is_pipeline(member):
                seen.add(id(member))
                yield member
            elif _is_dataset(member):
                yield from _pipelines_in(member, seen)


class _WorkerInitFn:
    """``DataLoader(worker_init_fn=albu_mix.worker_init_fn)``: reseed the dataset's pipelines.

    Finds the albumentations pipelines (objects with ``set_random_state`` and ``transforms``, such as
    ``Compose``) among the attributes of the worker's dataset, in short lists, tuples and dicts among
    them, and in the datasets it wraps (``Subset`` from ``random_split``, ``ConcatDataset``, any
    attribute that is itself a dataset), and reseeds each for the worker: albu_mix transforms from
    their own base seed, exactly as they would reseed themselves, and albumentations' own transforms
    (which cannot) like ``reseed`` does, from the pipeline's seed. Warns when it finds no pipeline.

    It also carries the rank of the process that starts the workers into them: workers started with
    spawn or forkserver (the default inside ``torch.multiprocessing.spawn``) see no process group.
    """

    def __call__(self, worker_id: int) -> None:
        del worker_id  # the worker's identity comes from torch itself
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        if info is None:
            return
        pipelines = list(_pipelines_in(info.dataset, set()))
        if not pipelines:
            warnings.warn(
                "albu_mix.worker_init_fn: found no albumentations pipeline (an object with set_random_state and "
                f"transforms) in the worker's dataset, a {type(info.dataset).__qualname__}: looked among its "
                f"attributes, in lists, tuples and dicts of up to {MAX_SEARCHED_MEMBERS} members among them, and "
                "in the datasets it wraps (Subset, ConcatDataset, attributes that are datasets). Nothing was reseeded.",
                stacklevel=2,
            )
        for pipeline in pipelines:
            base = pipeline.__dict__.get("_albu_mix_seed", getattr(pipeline, "seed", None))
            _reseed(pipeline, base, own_bases=True)

    def __reduce__(self) -> tuple[Any, tuple[int | None, int]]:
        # Pickled for a worker started with spawn or forkserver: take the rank along, read here,
        # where it is valid.
        return _arrive_in_worker, (_known_rank(), os.getpid())

    def __repr__(self) -> str:
        return "albu_mix.worker_init_fn"


def _arrive_in_worker(rank: int | None, pickled_in: int) -> _WorkerInitFn:
    """Unpickling ``worker_init_fn`` (or an albu_mix transform) in a new process: remember the rank of
    the process it came from, for when this process turns out to be a DataLoader worker."""
    global _inherited_rank
    if rank is not None and pickled_in != os.getpid():
        _inherited_rank = rank
    return worker_init_fn


worker_init_fn = _WorkerInitFn()
