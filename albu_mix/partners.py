"""Partner sources: the reference-data contract of MixUp and CutMix, and its validation.

``reference_data`` is one of:

- a sequence (anything with ``len`` and integer indexing: a list of sample dicts, a list of file
  paths, a PyTorch ``Dataset``). The transform draws an index with its own seeded generator and
  ``read_fn(item) -> dict`` turns the item into a sample dict; without ``read_fn`` the items must
  already be sample dicts;
- a callable ``fn(rng: numpy.random.Generator) -> dict | None`` that returns the partner sample
  itself (for streams). The transform draws a seed and calls ``fn(numpy.random.default_rng(seed))``.
  ``None`` means "no partner now": the transform then acts as not fired;
- a ``PartnerPool``: the transform draws a seed the same way and hands it to the pool directly (no
  generator is made per call; see ``albu_mix.pool``).

A sample dict has ``"image"``; it needs ``"label"`` when the primary sample has a label and
``"mask"`` when the primary has a mask. Only the index or the seed goes into the transform's
params, never the partner's pixels, so ``ReplayCompose`` replays the same partner cheaply.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["PartnerError", "PartnerSource"]



class PartnerError(ValueError):
    """A partner could not be read, or is malformed. Names the transform and the partner."""


class _Reading(threading.local):
    """Whether this thread is reading a partner of this source (a call back into it is recursion)."""

    active = False


class _Recursion(PartnerError):
    """Reading a partner called the same transform again (reference data that runs its own pipeline)."""


class PartnerSource:
    """Draws partners from ``reference_data`` and checks what comes back."""

    def __init__(self, owner: str, reference_data: Any, read_fn: Callable[[Any], Any] | None) -> None:
        from .pool import PartnerPool  # the pool imports the mixers' helpers; import it when needed

        self.owner = owner
        self.pool = reference_data if isinstance(reference_data, PartnerPool) else None
        self.is_stream = self.pool is not None or (callable(reference_data) and not _is_sequence(reference_data))
        if read_fn is not None and not callable(read_fn):
            raise TypeError(f"{owner}: read_fn must be callable or None, got {type(read_fn).__name__}")
        if self.is_stream:
            if hasattr(reference_data, "__getitem__") and self.pool is None:
                raise TypeError(
                    f"{owner}: reference_data is a {type(reference_data).__name__}, which can be called and indexed "
                    "but has no len(), so it is neither a stream fn(rng) -> dict nor a sequence (a pandas .iloc "
                    "indexer?). Pass a sequence with len and integer indexing: for a DataFrame, "
                    "df.to_dict('records') (a list of row dicts) or range(len(df)) with a read_fn that reads df.iloc[i]"
                )
            if read_fn is not None:
                raise ValueError(
                    f"{owner}: read_fn applies to sequence reference_data only (len and integer indexing), got a "
                    f"callable {type(reference_data).__name__}, which is taken as a stream fn(rng) -> dict"
                )
        else:
            if not _is_sequence(reference_data):
                raise TypeError(
                    f"{owner}: reference_data must be a sequence (len and indexing), a PartnerPool or a callable "
                    f"fn(rng) -> dict, got {type(reference_data).__name__}"
                )
            size = _length(owner, reference_data, "when the transform was built")
            if size == 0:
                raise ValueError(f"{owner}: reference_data must not be empty, got a sequence of length 0")
        self.reference_data = reference_data
        self.read_fn = read_fn
        self._reading = _Reading()
        # a list or tuple of sample dicts, or a pool, cannot call back into the pipeline: no guard needed
        self._guarded = self.pool is None and not (read_fn is None and type(reference_data) in (list, tuple))

    def draw(self, py_random: random.Random) -> dict[str, int]:
        """The params that pick a partner: an index into a sequence or a seed for a stream."""
        if self.is_stream:
            return {"partner_seed": py_random.getrandbits(63)}
        try:
            size = len(self.reference_data)
        except Exception:  # noqa: BLE001 (any error: _length says which, as a PartnerError)
            size = None
        if type(size) is int and size > 0:  # the common case, checked without building any message
            return {"partner_index": _below(py_random, size)}
        size = _length(self.owner, self.reference_data, "when the transform fired", PartnerError)
        if size < 1:
            raise PartnerError(
                f"{self.owner}: reference_data must hold at least one partner when the transform fires, got "
                f"len(reference_data) = {size!r} (it was not empty when the transform was built)"
            )
        return {"partner_index": _below(py_random, size)}

    @staticmethod
    def describe(params: Mapping[str, Any]) -> str:
        """How error messages name the partner: its index, or the seed of a stream."""
        if "partner_seed" in params:
            return f"partner seed {params['partner_seed']}"
        return f"partner index {params['partner_index']}"

    def load(self, params: Mapping[str, Any], note: bool = True) -> dict[str, Any] | None:
        """Fetch the partner named by ``params``, or None when a stream has no partner now (a cold
        ``PartnerPool``); errors name the transform and the partner. ``note``: a pool notes the draw for
        replay (inside a ``ReplayCompose``)."""
        guarded = self._guarded
        if guarded and self._reading.active:
            raise _Recursion(
                f"{self.owner}: reading a partner called this {self.owner} again (recursion): reference_data or read_fn "
                "runs the pipeline that holds this transform. Give the mixer the raw samples (or a reader that does not "
                "augment), not the augmented dataset"
            )
        if guarded:
            self._reading.active = True
        try:
            if self.pool is not None:
                sample = self.pool._partner(params["partner_seed"], note)
            elif "partner_seed" in params:
                sample = self.reference_data(np.random.default_rng(params["partner_seed"]))
            elif self.read_fn is None:
                sample = self.reference_data[params["partner_index"]]
            else:
                sample = self.read_fn(self.reference_data[params["partner_index"]])
        except _Recursion:
            raise
        except Exception as error:
            raise PartnerError(
                f"{self.owner}: reading the partner failed at {self.describe(params)}: {type(error).__name__}: {error}"
            ) from error
        finally:
            if guarded:
                self._reading.active = False
        if sample is None and self.is_stream:
            return None
        if type(sample) is not dict and not isinstance(sample, Mapping):
            hint = "" if self.read_fn is not None or self.is_stream else " (pass read_fn to turn items into dicts)"
            raise PartnerError(
                f"{self.owner}: the partner at {self.describe(params)} must be a sample dict with an 'image', "
                f"got {type(sample).__name__}{hint}"
            )
        image = sample.get("image")
        if not isinstance(image, np.ndarray):
            got = "no image" if image is None else type(image).__name__
            hint = (
                " (a PIL image, as HuggingFace datasets give them? convert it in read_fn: np.asarray(image.convert('RGB')))"
                if type(image).__module__.startswith("PIL") else ""
            )
            raise PartnerError(
                f"{self.owner}: the partner at {self.describe(params)} must have an 'image' numpy array, got {got}{hint}"
            )
        return sample  # read, never written: the partner's preparation makes new dicts and arrays

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_reading"]  # per thread, per process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reading = _Reading()


def _below(py_random: random.Random, n: int) -> int:
    """A uniform integer in [0, n): one 53-bit draw (bias below n / 2**53, nil for the sizes of data sets),
    a fifth of the cost of ``randrange``."""
    return min(int(py_random.random() * n), n - 1)


def _length(owner: str, data: Any, when: str, error_type: type[Exception] = TypeError) -> int:
    """``len(data)`` as the number of partners, or an error that names the transform and the problem."""
    try:
        size = len(data)
    except Exception as error:
        raise error_type(
            f"{owner}: len(reference_data) must give the number of partners ({when}), but it raised "
            f"{type(error).__name__}: {error} (reference_data is a {type(data).__name__}"
            f"{' with shape ' + str(np.shape(data)) if isinstance(data, np.ndarray) else ''})"
        ) from error
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise error_type(f"{owner}: len(reference_data) must be an int >= 0 ({when}), got {size!r}")
    return size


def _is_sequence(obj: Any) -> bool:
    return hasattr(obj, "__len__") and hasattr(obj, "__getitem__") and not isinstance(obj, (str, bytes, Mapping))
