"""Partner sources: the reference-data contract of MixUp and CutMix, and its validation.

``reference_data`` is one of:

- a sequence (anything with ``len`` and integer indexing: a list of sample dicts, a list of file
  paths, a PyTorch ``Dataset``). The transform draws an index with its own seeded generator and
  ``read_fn(item) -> dict`` turns the item into a sample dict; without ``read_fn`` the items must
  already be sample dicts;
- a callable ``fn(rng: numpy.random.Generator) -> dict | None`` that returns the partner sample
  itself (for streams). The transform draws a seed and calls ``fn(numpy.random.default_rng(seed))``.
  ``None`` means "no partner now" (a ``PartnerPool`` that is still cold): the transform then acts as
  not fired.

A sample dict has ``"image"``; it needs ``"label"`` when the primary sample has a label and
``"mask"`` when the primary has a mask. Only the index or the seed goes into the transform's
params, never the partner's pixels, so ``ReplayCompose`` replays the same partner cheaply.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["PartnerError", "PartnerSource"]

_SEED_BOUND = 2**63


class PartnerError(ValueError):
    """A partner could not be read, or is malformed. Names the transform and the partner."""


class PartnerSource:
    """Draws partners from ``reference_data`` and checks what comes back."""

    def __init__(self, owner: str, reference_data: Any, read_fn: Callable[[Any], Any] | None) -> None:
        self.owner = owner
        self.is_stream = callable(reference_data) and not _is_sequence(reference_data)
        if not self.is_stream:
            if not _is_sequence(reference_data):
                raise TypeError(
                    f"{owner}: reference_data must be a sequence (len and indexing) or a callable "
                    f"fn(rng) -> dict, got {type(reference_data).__name__}"
                )
            if len(reference_data) == 0:
                raise ValueError(f"{owner}: reference_data must not be empty, got a sequence of length 0")
        elif read_fn is not None:
            raise ValueError(f"{owner}: read_fn applies to sequence reference_data only, got a callable stream")
        if read_fn is not None and not callable(read_fn):
            raise TypeError(f"{owner}: read_fn must be callable or None, got {type(read_fn).__name__}")
        self.reference_data = reference_data
        self.read_fn = read_fn

    def draw(self, py_random: random.Random) -> dict[str, int]:
        """The params that pick a partner: an index into a sequence or a seed for a stream."""
        if self.is_stream:
            return {"partner_seed": py_random.randrange(_SEED_BOUND)}
        try:
            size = len(self.reference_data)
        except Exception as error:
            raise PartnerError(
                f"{self.owner}: len(reference_data) must give the number of partners, but it raised "
                f"{type(error).__name__}: {error}"
            ) from error
        if not isinstance(size, int) or size < 1:
            raise PartnerError(
                f"{self.owner}: reference_data must hold at least one partner when the transform fires, got "
                f"len(reference_data) = {size!r} (it was not empty when the transform was built)"
            )
        return {"partner_index": py_random.randrange(size)}

    @staticmethod
    def describe(params: Mapping[str, Any]) -> str:
        """How error messages name the partner: its index, or the seed of a stream."""
        if "partner_seed" in params:
            return f"partner seed {params['partner_seed']}"
        return f"partner index {params['partner_index']}"

    def load(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """Fetch the partner named by ``params``, or None when a stream has no partner now (a cold
        ``PartnerPool``); errors name the transform and the partner."""
        try:
            if "partner_seed" in params:
                sample = self.reference_data(np.random.default_rng(params["partner_seed"]))
            elif self.read_fn is None:
                sample = self.reference_data[params["partner_index"]]
            else:
                sample = self.read_fn(self.reference_data[params["partner_index"]])
        except Exception as error:
            raise PartnerError(
                f"{self.owner}: reading the partner failed at {self.describe(params)}: {type(error).__name__}: {error}"
            ) from error
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
            raise PartnerError(
                f"{self.owner}: the partner at {self.describe(params)} must have an 'image' numpy array, "
                f"got {'no image' if image is None else type(image).__name__}"
            )
        return dict(sample)


def _is_sequence(obj: Any) -> bool:
    return hasattr(obj, "__len__") and hasattr(obj, "__getitem__") and not isinstance(obj, (str, bytes, Mapping))
