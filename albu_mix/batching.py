"""Batching: ``DataLoader(collate_fn=albu_mix.collate)`` names the cause when samples do not match.

A mixing transform that is not called (an unfired ``A.OneOf`` or sub-pipeline) leaves the label as
the user gave it, a class index, while mixed samples carry float32 vectors; a batch of both cannot
be stacked, and torch's ``default_collate`` then fails with a message about tensors
(``only 0-dimensional arrays can be converted to Python scalars``), or, for dict samples, raises
``KeyError: 'mix_lambda'`` or silently drops the key, depending on the order of the batch. The rule
is to end the pipeline with ``LabelSmoothing`` (ε = 0 only encodes), which always encodes the label
and sets ``mix_lambda``. ``collate`` checks for exactly these mismatches and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["collate"]

_FIX = (
    "a mixing transform that did not run (an unfired OneOf or sub-pipeline) leaves the label as given and, where "
    "albu_mix cannot see the end of the pipeline's call (AlbumentationsX), sets no mix_lambda; end the pipeline "
    "with albu_mix.LabelSmoothing(epsilon=0.0), which needs no label (pass num_classes=K when samples carry a "
    "class label): it always encodes the label and sets mix_lambda"
)


def collate(batch: Sequence[Any]) -> Any:
    """torch's ``default_collate``, with a clear error for samples whose labels or keys differ.

    Raises:
        TypeError: samples where one field holds a label vector in some samples and a class index
            in others, or dict samples with different keys (``mix_lambda`` in some only); the
            message names the field, the sample and the fix.
    """
    from torch.utils.data import default_collate

    problem = _mismatch(batch)
    if problem is not None:
        raise TypeError(f"albu_mix.collate: {problem}; {_FIX}")
    return default_collate(batch)


def _mismatch(batch: Sequence[Any]) -> str | None:
    if not batch:
        return None
    first = batch[0]
    if isinstance(first, Mapping):
        keys = set(first)
        for i, sample in enumerate(batch):
            if set(sample) != keys:
                missing, extra = sorted(keys - set(sample)), sorted(set(sample) - keys)
                return f"sample {i} has keys {sorted(sample)}, sample 0 has {sorted(keys)} (differing: {missing + extra})"
        fields = [(repr(k), [s[k] for s in batch]) for k in first]
    elif isinstance(first, (tuple, list)):
        if any(not isinstance(s, (tuple, list)) or len(s) != len(first) for s in batch):
            return None
        fields = [(f"position {j}", [s[j] for s in batch]) for j in range(len(first))]
    else:
        return None
    for name, values in fields:
        kinds = [_kind(v) for v in values]
        if "index" in kinds and "vector" in kinds:
            i = kinds.index("index")
            return f"the field {name} is a label vector in some samples and a class index in others (sample {i}: {values[i]!r})"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "other"
    if isinstance(value, (int, np.integer)):
        return "index"
    ndim = getattr(value, "ndim", None)
    if ndim == 0 and str(getattr(value, "dtype", "")).removeprefix("torch.").startswith(("int", "uint")):
        return "index"
    if ndim == 1:
        return "vector"
    return "other"
