"""PartnerPool and Remember: per-sample MixUp and CutMix with partners taken from recent samples.

With file partners, every mixed sample decodes a second image, and that partner skips the primary's
augmentations. A pool avoids both: ``Remember(pool)`` keeps each sample, as augmented so far, and
``MixUp(pool)``/``CutMix(pool)`` draw their partner from the samples kept before::

    pool = PartnerPool(capacity=64)
    A.Compose([
        A.RandomResizedCrop((224, 224)), A.HorizontalFlip(),
        Remember(pool),
        A.OneOf([MixUp(pool, num_classes=K), CutMix(pool, num_classes=K)], p=0.5),
        LabelSmoothing(0.1, num_classes=K),
    ])

Rules the pool keeps:

- **A sample joins the pool when its call ends.** ``Remember`` keeps the sample aside; the pipeline
  hook (``albu_mix._pipeline``) adds it to the pool when the pipeline call returns, so a sample whose
  call raised (a mixer refused it) never becomes a partner, and no sample is ever its own partner.
  Where there is no hook (AlbumentationsX, or ``Remember`` called outside a ``Compose``), the sample
  joins at the next ``Remember`` of the same thread, unless a mixer refused it.
- **Partners are complete earlier samples**: a partner is drawn among the samples that joined, and
  while fewer than ``warmup`` have, the pool answers ``None`` ("no partner now"): the mixer then acts
  as not fired.
- **Threads**: the pool may be shared by threads (a thread-based loader, a ``ThreadPoolExecutor``):
  a lock guards it and each thread has its own sample in progress. Which earlier sample a draw picks
  then depends on how the threads interleave, so only a single-threaded seeded run repeats exactly.
- **Pooled samples never change**: a pooled sample is a copy with read-only arrays, and every partner
  is a new dict (with new lists).
- **Memory is bounded**: partners are drawn from the ``capacity`` samples that joined last; the pool
  holds one more (so that the sample that joined last can still be replayed) and one in progress per
  thread.
- **Process-local**: a pool that finds itself in another process (a forked DataLoader worker) starts
  empty there, and a pool pickles empty (spawned workers), so each worker mixes its own samples.
- **Seeded runs repeat**: the partner is chosen only from the seed the mixer passes, so a
  single-threaded seeded run repeats exactly: the pool's content follows the process's sample order.
- **Replay**: ``Remember`` records the pool serial number of the sample; the pool notes, per sample,
  which pooled sample each draw chose (only inside a ``ReplayCompose``). ``ReplayCompose.replay``
  then gets the same pooled partner while it is still pooled, and a ValueError that says it was
  evicted otherwise.
"""

from __future__ import annotations

import copy
import os
import random
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from albumentations.core.transforms_interface import DualTransform

from ._base import ContractMixin, check_array
from ._compat import Targets, replayed_params
from ._routing import ANNOTATION_KINDS, MIXED_KINDS, Router
from .mixing.annotations import as_partner_annotations
from .serialization import LiveSerialization, register

__all__ = ["PartnerPool", "Recall", "Remember"]

#: draws remembered per pooled sample (a pipeline makes one per mixer that fires)
_MAX_DRAWS_PER_SAMPLE = 64
_MASK64 = (1 << 64) - 1


class _ThreadState(threading.local):
    """A pool's state in one thread: the sample in progress and where the current call stands."""

    current: int | None = None  #: the serial of this thread's sample in progress (or being replayed)
    pending: tuple[dict[str, Any], bool] | None = None  #: that sample, frozen, until its call ends
    in_call = False  #: the pipeline hook saw this thread's call start
    remembered = False  #: a Remember ran in this call
    replaying = False  #: draws replay those noted for ``current``


def _pick(seed: int) -> int:
    """A 64-bit number from a seed (SplitMix64's finaliser): which pooled sample a draw picks."""
    z = (seed + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


class PartnerPool:
    """A bounded, process-local pool of recent samples, for ``MixUp``/``CutMix`` ``reference_data``.

    Fill it with ``Remember(pool)`` in the same pipeline, before the mixers. A mixer draws one of the
    samples that joined before (a new dict whose arrays are read-only), or gets ``None`` while fewer
    than ``warmup`` have: the mixer then acts as not fired (the label is encoded and ``mix_lambda`` is
    1.0). A pool is also a stream in the sense of ``albu_mix.partners``: ``pool(rng)`` draws with a
    seed taken from ``rng``.

    Args:
        capacity: how many earlier samples partners are drawn from (the oldest goes first); the pool
            holds one more, for replay, and the samples in progress (one per thread).
        warmup: how many earlier samples the pool must hold before it hands out partners, from 1 to
            ``capacity``. Each process (each DataLoader worker) warms up on its own.

    A pool belongs to one process: one that finds itself in a new process (a forked worker) starts
    empty, and a pickled pool (a spawned worker) arrives empty. Threads may share it (see the module).
    """

    def __init__(self, capacity: int = 64, warmup: int = 1) -> None:
        for name, value in (("capacity", capacity), ("warmup", warmup)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"PartnerPool: {name} must be an int >= 1, got {value!r}")
        if warmup > capacity:
            raise ValueError(f"PartnerPool: warmup must be at most capacity ({capacity}), got {warmup!r}")
        self.capacity = int(capacity)
        self.warmup = int(warmup)
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._local = _ThreadState()
        self._entries: dict[int, tuple[dict[str, Any], bool]] = {}  # serial -> (frozen sample, flat), oldest first
        self._order: list[int] = []  # the serials of _entries, oldest first: what a pick indexes
        self._next = 0  # the serial the next remembered sample gets
        self._draws: dict[int, dict[int, tuple[int, ...]]] = {}  # sample serial -> {seed: chosen serials}

    # -- drawing ----------------------------------------------------------------------------------
    def __call__(self, rng: np.random.Generator) -> dict[str, Any] | None:
        """The stream contract: one earlier sample chosen with a seed drawn from ``rng``, or ``None``."""
        return self._partner(int(rng.bit_generator.random_raw()) >> 1, note=True)

    def _partner(self, seed: int, note: bool) -> dict[str, Any] | None:
        """The pooled sample chosen by ``seed`` (a new dict, read-only arrays), or None while cold. The
        choice is noted for replay when ``note`` is True (inside a ``ReplayCompose``)."""
        chosen = self._choose(seed, note, None)
        return _handed_out(*chosen[0]) if chosen else None

    def _partners(self, seed: int, n: int, note: bool) -> list[dict[str, Any]]:
        """Up to ``n`` distinct pooled samples chosen by ``seed`` (fewer while the pool holds fewer, none
        while cold), each as ``_partner`` hands it out."""
        chosen = self._choose(seed, note, n)
        return [_handed_out(*entry) for entry in chosen]

    def _choose(self, seed: int, note: bool, n: int | None) -> list[tuple[dict[str, Any], bool]]:
        """The entries of the samples ``seed`` chooses among the most recent ``capacity`` (none while
        fewer than ``warmup`` joined): one (``n`` None) or ``n`` distinct ones; when replaying, those
        chosen with this seed. The choice is noted for replay when ``note`` is True (inside a
        ``ReplayCompose``)."""
        self._check_process()
        local = self._local
        with self._lock:
            if local.replaying:
                return [self._entries[serial] for serial in self._replayed(seed)]
            if local.in_call and not local.remembered:
                raise ValueError(
                    f"{self!r}: a partner was drawn before any Remember(pool) in this call: put Remember(pool) "
                    "before MixUp(pool)/CutMix(pool)/Recall(pool) in the same pipeline (otherwise a sample could be "
                    "drawn as its own partner)"
                )
            order = self._order
            held = len(order)
            count = min(held, self.capacity)  # the most recent: the one before them is kept for replay
            chosen: tuple[int, ...]
            if count < self.warmup:
                chosen = ()
            elif n is None:
                chosen = (order[held - count + _pick(seed) % count],)
            else:
                chosen = tuple(random.Random(seed).sample(order[held - count:], min(n, count)))
            current = local.current
            if note and current is not None:
                draws = self._draws.setdefault(current, {})
                draws.pop(seed, None)
                draws[seed] = chosen
                if len(draws) > _MAX_DRAWS_PER_SAMPLE:
                    del draws[next(iter(draws))]
            return [self._entries[serial] for serial in chosen]  # taken under the lock: eviction cannot race

    def _replayed(self, seed: int) -> tuple[int, ...]:
        current = self._local.current
        if current is None or current not in self._entries:
            raise ValueError(
                f"{self!r}: cannot replay the partner: the sample it was drawn for (pool serial {current}) is no longer "
                f"pooled, so its partner was evicted too (capacity {self.capacity}: the pool keeps the {self.capacity} "
                "most recent samples of this process). Replay sooner after recording, or use a larger capacity"
            )
        chosen: tuple[int, ...] | None = self._draws.get(current, {}).get(seed)
        if chosen is None:
            raise ValueError(
                f"{self!r}: cannot replay the partner: no partner was drawn with this seed for the sample of pool serial "
                f"{current} (the replay record comes from another pool or another process, or was not recorded by a "
                "ReplayCompose)"
            )
        gone = [serial for serial in chosen if serial not in self._entries]
        if gone:
            oldest = self._order[0] if self._order else self._next
            raise ValueError(
                f"{self!r}: cannot replay the partner: it was evicted (capacity {self.capacity}: the pool keeps the "
                f"{self.capacity} most recent samples of this process; the partner was pool serial {gone[0]}, the "
                f"oldest still pooled is {oldest}). Replay sooner after recording, or use a larger capacity"
            )
        return chosen

    # -- what Remember and the pipeline hook call -------------------------------------------------
    def _keep(self, sample: dict[str, Any], flat: bool) -> int:
        """Keep ``sample`` (already frozen; ``flat``: no value needs thawing) as this thread's sample in
        progress, and return its serial number; it joins the pool when its call ends. A sample still in
        progress from this thread's last call joins now (where there is no hook)."""
        self._check_process()
        local = self._local
        with self._lock:
            self._commit(local)
            serial = self._next
            self._next = serial + 1
            local.current, local.pending = serial, (sample, flat)
            local.remembered, local.replaying = True, False
        return serial

    def _enter_replay(self, serial: int) -> None:
        """The next draws of this thread replay those made for the sample of ``serial``."""
        self._check_process()
        local = self._local
        with self._lock:
            self._commit(local)
            local.current, local.replaying, local.remembered = int(serial), True, True

    def _call_started(self) -> None:
        """The pipeline hook: a call starts in this thread. A sample still in progress here is from a
        call that raised: it never joins."""
        self._check_process()
        local = self._local
        if local.pending is not None:
            with self._lock:
                self._discard(local)
        local.in_call, local.remembered, local.replaying = True, False, False

    def _call_finished(self) -> None:
        """The pipeline hook: this thread's call ended without error; its sample joins the pool."""
        self._check_process()
        local = self._local
        with self._lock:
            self._commit(local)
            local.in_call = local.replaying = False

    def _refused(self) -> None:
        """A mixer refused this thread's sample in progress: it never joins."""
        with self._lock:
            self._discard(self._local)

    def _commit(self, local: _ThreadState) -> None:
        pending = local.pending
        if pending is None:
            return
        serial = local.current
        local.pending = None
        self._entries[serial] = pending
        self._order.append(serial)
        # one more than partners are drawn from: the sample that joined last can still be replayed
        while len(self._order) > self.capacity + 1:
            evicted = self._order.pop(0)
            del self._entries[evicted]
            self._draws.pop(evicted, None)

    def _discard(self, local: _ThreadState) -> None:
        if local.pending is not None:
            self._draws.pop(local.current, None)
            local.pending = None

    # -- state ----------------------------------------------------------------------------------
    def _check_process(self) -> None:
        if self._pid != os.getpid():
            self._reset()

    def __len__(self) -> int:
        """The number of samples (in this process) that partners are drawn from."""
        self._check_process()
        return min(len(self._order), self.capacity)

    def clear(self) -> None:
        """Forget every sample (the pool is cold again)."""
        self._reset()

    def __repr__(self) -> str:
        return f"PartnerPool(capacity={self.capacity}, warmup={self.warmup})"

    # -- pickling: a pool travels empty ---------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "warmup": self.warmup}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.capacity = state["capacity"]
        self.warmup = state["warmup"]
        self._reset()


class _Opaque:
    """A value of no known immutable kind, kept as a deep copy and handed out as a new deep copy."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = copy.deepcopy(value)


def _handed_out(entry: dict[str, Any], flat: bool) -> dict[str, Any]:
    """A pooled entry as a new partner dict."""
    if flat:  # arrays (read-only) and immutable values only: a new dict is enough
        return dict(entry)
    return {key: _thawed(value) for key, value in entry.items()}


def _frozen(value: Any) -> Any:
    """A copy of ``value`` that nothing can change: arrays copied and read-only, sequences as tuples."""
    if isinstance(value, np.ndarray):
        out = value.copy()
        out.flags.writeable = False
        return out
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, np.generic)):
        return value
    return _Opaque(value)


def _thawed(value: Any) -> Any:
    """A pooled value as handed out: sequences as new lists, arrays shared (read-only)."""
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    if isinstance(value, _Opaque):
        return copy.deepcopy(value.value)
    return value


def _identity(value: Any, **params: Any) -> Any:
    return value


def _build_routes(transform: Any, keys: tuple[str, ...], routes: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return routes


class Remember(LiveSerialization, ContractMixin, DualTransform):
    """Keep the sample, as augmented so far, for a ``PartnerPool``; the data passes through unchanged.

    Place it after the augmentations partners should share (crops, flips) and before ``MixUp(pool)``
    and ``CutMix(pool)``. It always runs (``p`` is 1.0) and draws nothing at random, so it does not
    change what the other transforms draw. The sample joins the pool when the pipeline call ends (see
    ``albu_mix.pool``): a sample that a mixer refuses never becomes a partner.

    Every target MixUp and CutMix mix goes into the pool under its key: ``image``, ``mask``, ``masks``,
    ``label``, the pipeline's ``additional_targets`` of those kinds, and ``bboxes``/``keypoints``,
    which are stored in the pipeline's format (``bbox_params``/``keypoint_params``) with their label
    fields, as a partner dict carries them. Stored values are copies with read-only arrays.

    Args:
        pool: the ``PartnerPool`` to fill; pass the same object to the mixers.
        name: the key under which ``A.from_dict(..., nonserializable={name: transform})`` restores it.

    Raises a ValueError for a sample that already carries ``mix_lambda``: a mixer ran before
    ``Remember`` (it belongs before them), or the sample comes out of another mixing pipeline; its
    partners would be mixed samples, and labels would compound.

    Replay: the record holds the pool serial number of the sample, and replaying it makes the mixers
    that follow find the partner they drew then (see ``PartnerPool``).
    """

    _callback_args = ("pool",)
    _json_args = ("name",)
    _targets = (Targets.IMAGE, Targets.MASK, Targets.BBOXES, Targets.KEYPOINTS)

    def __init__(self, pool: PartnerPool, name: str | None = None) -> None:
        owner = type(self).__name__
        if not isinstance(pool, PartnerPool):
            raise TypeError(f"{owner}: pool must be an albu_mix.PartnerPool, got {type(pool).__name__}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{owner}: name must be a string or None, got {type(name).__name__}")
        self._router: Router[tuple[tuple[str, str], ...]] = Router(_build_routes)
        super().__init__(p=1.0)
        self.pool = pool
        self.name = name if name is not None else owner

    @property
    def targets(self) -> dict[str, Callable[..., Any]]:
        return {kind: _identity for kind in MIXED_KINDS}

    def check_data(self, data: dict[str, Any]) -> None:
        owner = type(self).__name__
        image = data.get("image")
        if image is None:
            raise ValueError(f"{owner}: the data must hold an 'image', got keys {sorted(data)}")
        check_array(owner, "image", image, (2, 3))  # what a mixer would refuse is never pooled
        if "mix_lambda" in data and not self.replay_mode:  # type: ignore[attr-defined]
            raise ValueError(
                f"{owner}: the sample already carries mix_lambda={data['mix_lambda']!r}: a mixer ran before Remember "
                f"(or the sample comes out of another mixing pipeline), so its partners would be mixed samples and "
                f"labels would compound. Put Remember(pool) before MixUp(pool)/CutMix(pool), right after the "
                f"augmentations partners should share"
            )

    def _run(self, data: dict[str, Any], force_apply: bool, collect_params: bool = True) -> dict[str, Any]:
        """The call contract, lean: Remember always runs and draws nothing, so the probability and the
        per-process reseeding do not apply; the pool serial it gets is its params (for replay)."""
        self.check_data(data)
        if self.replay_mode:  # type: ignore[attr-defined]
            if self.applied_in_replay:  # type: ignore[attr-defined]
                self.pool._enter_replay(replayed_params(self)["serial"])
            return data
        stored, flat = self._stored(data)
        params = {"serial": self.pool._keep(stored, flat)}
        if collect_params:
            self.params = params
        if self.deterministic:  # type: ignore[attr-defined]
            data[self.save_key][id(self)] = dict(params)  # type: ignore[attr-defined]
        return data

    def apply_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Replaying a record outside ``ReplayCompose.replay``: the draws of the mixers that follow
        replay those made for the sample of ``params["serial"]``."""
        self.pool._enter_replay(params["serial"])
        return data

    @property
    def _hook_pool(self) -> PartnerPool:
        return self.pool

    def _stored(self, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The sample as a partner dict carries it, frozen, and whether every value is flat (arrays and
        immutable values, which a new dict hands out safely)."""
        out: dict[str, Any] = {}
        flat = True
        for key, kind in self._router.plan(self, data):
            value = data[key]
            if value is None:
                continue
            if type(value) is np.ndarray and kind not in ANNOTATION_KINDS:  # the common case: an image, a mask
                frozen = value.copy()
                frozen.flags.writeable = False
                out[key] = frozen
            elif kind in ANNOTATION_KINDS:
                processor = self.get_processor(kind)
                if processor is None:
                    params = "bbox_params" if kind == "bboxes" else "keypoint_params"
                    raise ValueError(
                        f"{type(self).__name__}: {key!r} needs the pipeline's {params}: call it inside "
                        f"A.Compose([...], {params}=...), got no processor"
                    )
                rows, labels = as_partner_annotations(processor, key, value, data["image"])
                out[key] = _frozen(rows)
                out.update({field: _frozen(list(values)) for field, values in labels.items()})
                flat = flat and not labels
            else:
                out[key] = frozen = _frozen(value)
                flat = flat and not isinstance(frozen, (tuple, _Opaque))
        return out, flat

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("pool", "name")


register(Remember)


class Recall(LiveSerialization, ContractMixin, DualTransform):
    """Put ``n`` earlier pooled samples under ``key``, for ``A.Mosaic``; the data passes through unchanged.

    ``A.Mosaic`` (albumentations 2.0.8, AlbumentationsX) takes the other cells of its grid from a list
    of sample dicts under ``metadata_key`` (default ``"mosaic_metadata"``): ``Recall`` fills it from a
    ``PartnerPool`` that ``Remember`` fills earlier in the same pipeline, so the extra cells cost no
    decode, and they carry the augmentations before ``Remember``, like MixUp/CutMix partners do (the
    buffer of recent images ultralytics keeps for Mosaic, mmdetection's ``CachedMosaic``)::

        pool = PartnerPool(capacity=64)
        A.Compose([
            A.HorizontalFlip(), Remember(pool), Recall(pool, n=3),
            A.Mosaic(grid_yx=(2, 2), target_size=(640, 640), p=0.5),
        ], bbox_params=A.BboxParams(format="yolo", label_fields=["cls"]))

    The items are distinct earlier samples, chosen with this transform's own seeded stream (one seed per
    call, recorded for replay), as partner dicts: ``image``, ``mask``, ``label``, and ``bboxes`` and
    ``keypoints`` in the pipeline's format with every label field, new dicts with read-only arrays. A
    cold pool gives fewer items (none until ``warmup`` samples joined); ``A.Mosaic`` then fills the
    missing cells with the primary.

    Args:
        pool: the ``PartnerPool`` that ``Remember(pool)`` fills, earlier in the same pipeline.
        n: how many earlier samples to put under ``key`` (at most; ``A.Mosaic`` with a 2×2 grid needs 3).
        key: the data key to fill: ``A.Mosaic``'s ``metadata_key``.
        name: the key under which ``A.from_dict(..., nonserializable={name: transform})`` restores it.
    """

    _callback_args = ("pool",)
    _json_args = ("n", "key", "name")
    _targets = (Targets.IMAGE, Targets.MASK, Targets.BBOXES, Targets.KEYPOINTS)

    def __init__(self, pool: PartnerPool, n: int = 3, key: str = "mosaic_metadata", name: str | None = None) -> None:
        owner = type(self).__name__
        if not isinstance(pool, PartnerPool):
            raise TypeError(f"{owner}: pool must be an albu_mix.PartnerPool, got {type(pool).__name__}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{owner}: n must be an int >= 1, got {n!r}")
        for argument, value in (("key", key), ("name", name)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{owner}: {argument} must be a string, got {type(value).__name__}")
        super().__init__(p=1.0)
        self.pool = pool
        self.n = int(n)
        self.key = key
        self.name = name if name is not None else owner

    @property
    def targets(self) -> dict[str, Callable[..., Any]]:
        return {kind: _identity for kind in MIXED_KINDS}

    @property
    def _hook_pool(self) -> PartnerPool:
        return self.pool

    def draw(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"recall_seed": self.py_random.getrandbits(63)}  # as the mixers draw their seeds

    def apply_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        items = self.pool._partners(params["recall_seed"], self.n, note=self.deterministic or self.replay_mode)  # type: ignore[attr-defined]
        return {**data, self.key: items}

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("pool", "n", "key", "name")


register(Recall)
