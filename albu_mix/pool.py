"""PartnerPool and Remember: per-sample MixUp and CutMix with partners taken from recent samples.

With file partners, every mixed sample decodes a second image, and that partner skips the primary's
augmentations. A pool avoids both: ``Remember(pool)`` puts each sample, as augmented so far, into a
small process-local pool, and ``MixUp(pool)``/``CutMix(pool)`` draw their partner from the earlier
samples there::

    pool = PartnerPool(capacity=64)
    A.Compose([
        A.RandomResizedCrop((224, 224)), A.HorizontalFlip(),
        Remember(pool),
        A.OneOf([MixUp(pool, num_classes=K), CutMix(pool, num_classes=K)], p=0.5),
        LabelSmoothing(0.1, num_classes=K),
    ])

The pool is a stream in the sense of ``albu_mix.partners`` (``pool(rng) -> dict | None``), so the
mixers take it as ``reference_data`` unchanged. It returns ``None`` ("no partner now") while it holds
fewer than ``warmup`` earlier samples; a mixer then acts as not fired.

Rules the pool keeps:

- A pooled sample is a copy, its arrays read-only; every partner is a new dict (with new lists), so
  nothing downstream changes what the pool holds.
- Memory is bounded: the ``capacity`` most recent earlier samples, plus the sample being processed.
- Process-local: a pool that finds itself in another process (a forked DataLoader worker) starts
  empty there, and a pool pickles empty (spawned workers), so each worker mixes its own samples.
- The partner is chosen only from the ``rng`` the mixer passes (two 64-bit draws: a token, then the
  pick among the earlier samples), so a seeded run repeats exactly: the pool's content follows the
  process's own sample order.
- Replay: ``Remember`` records the pool serial number of the sample; the pool notes, per sample, which
  entry each draw chose. ``ReplayCompose.replay`` then returns the same pooled partner while it is still
  pooled, and raises a ValueError that says it was evicted otherwise.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from albumentations.core.transforms_interface import DualTransform

try:  # albumentations >= 2.0.1 and AlbumentationsX
    from albumentations.core.type_definitions import Targets
except ImportError:  # albumentations 2.0.0
    from albumentations.core.types import Targets  # type: ignore[no-redef]

from ._base import ContractMixin
from .mixing.annotations import ANNOTATION_KINDS, as_partner_annotations
from .mixing.serialization import MixSerialization, register

__all__ = ["PartnerPool", "Remember"]

#: a draw made while the pool was cold: it returned None
_COLD = -1
#: draws remembered per pooled sample (a pipeline makes one per mixer that fires)
_MAX_DRAWS_PER_SAMPLE = 64
#: the target kinds that go through the pool: those MixUp and CutMix mix
_KINDS = ("image", "mask", "masks", "bboxes", "keypoints", "label")


class PartnerPool:
    """A bounded, process-local pool of recent samples, for ``MixUp``/``CutMix`` ``reference_data``.

    Fill it with ``Remember(pool)`` in the same pipeline, before the mixers. Called by a mixer as
    ``pool(rng)``, it returns a copy of one earlier sample drawn with ``rng`` (a new dict whose arrays
    are read-only), or ``None`` while it holds fewer than ``warmup`` earlier samples: the mixer then
    acts as not fired (the label is encoded and ``mix_lambda`` is 1.0). Any stream may return ``None``
    that way, for "no partner now".

    Args:
        capacity: how many earlier samples the pool keeps to draw partners from (the oldest goes
            first); it also holds the sample being processed, so at most ``capacity + 1`` samples.
        warmup: how many earlier samples the pool must hold before it hands out partners, from 1 to
            ``capacity``. Each process (each DataLoader worker) warms up on its own.

    A pool belongs to one process: one that finds itself in a new process (a forked worker) starts
    empty, and a pickled pool (a spawned worker) arrives empty. It is not meant to be shared between
    threads.
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
        self._slots: list[dict[str, Any] | None] = [None] * (self.capacity + 1)
        self._flat = [True] * (self.capacity + 1)  # per slot: no value needs thawing (no lists, no opaque objects)
        self._next = 0  # the serial number the next remembered sample gets
        self._current: int | None = None  # the sample being processed (its serial)
        self._replaying = False
        self._draws: dict[int, dict[int, int]] = {}  # sample serial -> {token: chosen serial or _COLD}

    # -- the stream contract --------------------------------------------------------------------
    def __call__(self, rng: np.random.Generator) -> dict[str, Any] | None:
        """One earlier sample, chosen with ``rng`` (a new dict, read-only arrays), or ``None`` while cold."""
        self._check_process()
        token, pick = rng.bit_generator.random_raw(2).tolist()  # two 64-bit draws: the token first
        chosen = self._replayed(token) if self._replaying else self._draw(token, pick)
        return None if chosen == _COLD else self._hand_out(chosen)

    def _draw(self, token: int, pick: int) -> int:
        """The serial of an earlier sample picked by ``pick`` (a 64-bit draw), or _COLD; noted for replay."""
        current = self._current
        oldest = self._oldest()
        earlier = (current if current is not None else self._next) - oldest
        chosen = oldest + pick % earlier if earlier >= self.warmup else _COLD  # modulo bias below 1e-17
        if current is not None:
            draws = self._draws.setdefault(current, {})
            draws.pop(token, None)
            draws[token] = chosen
            if len(draws) > _MAX_DRAWS_PER_SAMPLE:
                del draws[next(iter(draws))]
        return chosen

    def _replayed(self, token: int) -> int:
        current = self._current
        if current is None or not self._holds(current):
            raise ValueError(
                f"{self!r}: cannot replay the partner: the sample it was drawn for (pool serial {current}) is no longer "
                f"pooled, so its partner was evicted too (capacity {self.capacity}: the pool keeps the {self.capacity} "
                "most recent samples of this process). Replay sooner after recording, or use a larger capacity"
            )
        chosen = self._draws.get(current, {}).get(token)
        if chosen is None:
            raise ValueError(
                f"{self!r}: cannot replay the partner: no partner was drawn with this seed for the sample of pool serial "
                f"{current} (the replay record comes from another pool or another process)"
            )
        if chosen != _COLD and not self._holds(chosen):
            raise ValueError(
                f"{self!r}: cannot replay the partner: it was evicted (capacity {self.capacity}: the pool keeps the "
                f"{self.capacity} most recent samples of this process; the partner was pool serial {chosen}, the "
                f"oldest still pooled is {self._oldest()}). Replay sooner after recording, or use a larger capacity"
            )
        return chosen

    # -- what Remember calls --------------------------------------------------------------------
    def _upcoming_serial(self) -> int:
        self._check_process()
        return self._next

    def _remember(self, sample: dict[str, Any]) -> int:
        """Keep ``sample`` (already frozen) as the sample being processed; evict the oldest when full."""
        self._check_process()
        serial = self._next
        size = len(self._slots)
        self._slots[serial % size] = sample
        self._flat[serial % size] = not any(isinstance(v, (tuple, _Opaque)) for v in sample.values())
        self._draws.pop(serial - size, None)  # the evicted sample's draws
        self._next = serial + 1
        self._current = serial
        self._replaying = False
        return serial

    def _enter_replay(self, serial: int) -> None:
        """The next draws replay those made for the sample of ``serial`` (until a new sample comes)."""
        self._check_process()
        self._current = int(serial)
        self._replaying = True

    # -- state ----------------------------------------------------------------------------------
    def _oldest(self) -> int:
        return max(0, self._next - len(self._slots))

    def _holds(self, serial: int) -> bool:
        return self._oldest() <= serial < self._next

    def _hand_out(self, serial: int) -> dict[str, Any]:
        slot = serial % len(self._slots)
        entry = self._slots[slot]
        assert entry is not None
        if self._flat[slot]:  # arrays (read-only) and immutable values only: a new dict is enough
            return dict(entry)
        return {key: _thawed(value) for key, value in entry.items()}

    def _check_process(self) -> None:
        if self._pid != os.getpid():
            self._reset()

    def __len__(self) -> int:
        """The number of samples held (in this process), the one being processed included."""
        self._check_process()
        return self._next - self._oldest()

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


class Remember(MixSerialization, ContractMixin, DualTransform):
    """Put the sample, as augmented so far, into a ``PartnerPool``; the data passes through unchanged.

    Place it after the augmentations partners should share (crops, flips) and before ``MixUp(pool)``
    and ``CutMix(pool)``. It always runs (``p`` is 1.0) and draws nothing at random, so it does not
    change what the other transforms draw.

    Every target MixUp and CutMix mix goes into the pool under its key: ``image``, ``mask``, ``masks``,
    ``label``, the pipeline's ``additional_targets`` of those kinds, and ``bboxes``/``keypoints``,
    which are stored in the pipeline's format (``bbox_params``/``keypoint_params``) with their label
    fields, as a partner dict carries them. Stored values are copies with read-only arrays.

    Args:
        pool: the ``PartnerPool`` to fill; pass the same object to the mixers.
        name: the key under which ``A.from_dict(..., nonserializable={name: transform})`` restores it.

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
        self._route_cache: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}
        super().__init__(p=1.0)
        self.pool = pool
        self.name = name if name is not None else owner

    @property
    def targets(self) -> dict[str, Callable[..., Any]]:
        return {kind: _identity for kind in _KINDS}

    def check_data(self, data: dict[str, Any]) -> None:
        image = data.get("image")
        if image is None:
            raise ValueError(f"{type(self).__name__}: the data must hold an 'image', got keys {sorted(data)}")
        if not isinstance(image, np.ndarray):
            raise TypeError(f"{type(self).__name__}: image must be a numpy array, got {type(image).__name__}")

    def draw(self, data: dict[str, Any]) -> dict[str, Any]:
        # not random: the serial number the sample gets in the pool, which replay needs
        return {"serial": self.pool._upcoming_serial()}

    def apply_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        if self.replay_mode:
            self.pool._enter_replay(params["serial"])
        else:
            self.pool._remember(self._stored(data))
        return data

    def add_targets(self, additional_targets: dict[str, str]) -> None:
        self._route_cache.clear()
        super().add_targets(additional_targets)

    def _routes(self, data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        """``(key, kind)`` of every key of ``data`` that goes into the pool (cached per set of keys)."""
        keys = tuple(data)
        routes = self._route_cache.get(keys)
        if routes is None:
            routes = tuple((k, self._additional_targets.get(k, k)) for k in keys if k in self._key2func)
            self._route_cache[keys] = routes
        return routes

    def _stored(self, data: dict[str, Any]) -> dict[str, Any]:
        """The sample as a partner dict carries it, frozen."""
        out: dict[str, Any] = {}
        for key, kind in self._routes(data):
            value = data[key]
            if value is None:
                continue
            if kind in ANNOTATION_KINDS:
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
            else:
                out[key] = _frozen(value)
        return out

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("pool", "name")


register(Remember)
