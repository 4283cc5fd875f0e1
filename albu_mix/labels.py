"""The label target: encoding, validation, smoothing and mixing of class labels.

A sample carries its class label under the key ``"label"``. It may be a class index (an int,
which needs ``num_classes``) or a 1-D one-hot, multi-hot or soft vector (a list, tuple or array).
Transforms that touch the label return a new float32 1-D vector of length K; the caller's label
is never modified.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

__all__ = [
    "MAX_CLASSES",
    "SmoothingMode",
    "check_num_classes",
    "encode_label",
    "mix_index_labels",
    "mix_labels",
    "smooth_label",
]

SmoothingMode = Literal["uniform", "others", "multilabel"]

#: the largest K accepted: every sample carries a float32 label vector of K entries (64 MiB at 2**24)
MAX_CLASSES = 2**24


def check_num_classes(owner: str, num_classes: Any) -> None:
    """``num_classes`` is None or an int in [1, MAX_CLASSES]; otherwise an error that names ``owner``."""
    if num_classes is None:
        return
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"{owner}: num_classes must be an int >= 1 or None, got {num_classes!r}")
    if num_classes > MAX_CLASSES:
        raise ValueError(
            f"{owner}: num_classes must be at most {MAX_CLASSES} (each sample carries a float32 label vector of "
            f"num_classes entries: {num_classes * 4 / 2**30:.3g} GiB here), got {num_classes}"
        )


def _is_index(label: Any) -> bool:
    if isinstance(label, (bool, np.bool_)):
        return False
    if isinstance(label, (int, np.integer)):
        return True
    return isinstance(label, np.ndarray) and label.ndim == 0 and np.issubdtype(label.dtype, np.integer)


def _from_tensor(label: Any, owner: str) -> Any:
    """A PyTorch tensor as a numpy array (CPU tensors only); anything else unchanged."""
    if type(label).__module__.split(".")[0] != "torch" or not hasattr(label, "detach"):
        return label
    if label.device.type != "cpu":
        raise TypeError(
            f"{owner}: label must be on the CPU, got a tensor on {label.device}; pass label.cpu() (labels are "
            "encoded in the data pipeline, before batches move to the device)"
        )
    return label.detach().numpy()


def encode_label(label: Any, num_classes: int | None, owner: str = "label") -> np.ndarray:
    """Encode ``label`` as a new float32 vector of length K, with errors that say what is wrong.

    Args:
        label: a class index (an int, a numpy integer, a 0-d integer array or tensor; needs
            ``num_classes``), or a 1-D one-hot, multi-hot or soft vector (a list, tuple, array or CPU
            tensor) with entries in [0, 1].
        num_classes: K. Required for an index; a vector must then have exactly K entries.
        owner: who asks, for the error messages (a transform's name).

    Raises:
        ValueError: an index out of range, an index without ``num_classes``, a vector of the wrong
            length or shape, NaN or infinite entries, entries outside [0, 1].
        TypeError: a label that is neither an integer index nor a numeric vector.
    """
    label = _from_tensor(label, owner)
    if _is_index(label):
        index = int(label)
        check_num_classes(owner, num_classes)
        if num_classes is None:
            raise ValueError(
                f"{owner}: a class index label needs num_classes to be set, got label={index} and num_classes=None"
            )
        if not 0 <= index < num_classes:
            raise ValueError(f"{owner}: class index must be in [0, {num_classes}), got {index}")
        out = np.zeros(num_classes, dtype=np.float32)
        out[index] = 1.0
        return out
    if isinstance(label, np.ndarray) and label.ndim == 0 and label.dtype.kind == "f":
        label = label.item()
    if isinstance(label, (float, np.floating)):
        raise TypeError(f"{owner}: label must be an integer class index or a 1-D vector, got the float {label!r}")
    if not isinstance(label, (np.ndarray, Sequence)) or isinstance(label, (str, bytes)):
        raise TypeError(
            f"{owner}: label must be an integer class index or a 1-D vector, got {type(label).__name__}"
        )
    try:
        raw = np.asarray(label)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{owner}: label vector must be numeric, got {label!r}") from error
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: label vector must be numeric (bool, int or float), got dtype {raw.dtype}: {raw.tolist()}")
    if raw.ndim != 1:
        raise ValueError(f"{owner}: label vector must be 1-D, got shape {raw.shape}")
    if num_classes is not None and raw.size != num_classes:
        raise ValueError(f"{owner}: label vector must have num_classes={num_classes} entries, got {raw.size}")
    if raw.size == 0:
        raise ValueError(f"{owner}: label vector must not be empty, got length 0")
    low, high = raw.min(), raw.max()  # one pass each; NaN makes them NaN, and the test below False
    if not (low >= 0 and high <= 1 + 1e-6):
        _refuse_entries(owner, raw)
    return np.array(raw, dtype=np.float32)  # always a copy: the caller's label stays untouched


def _refuse_entries(owner: str, raw: np.ndarray) -> None:
    """The error for a vector with entries that are not in [0, 1], judged on the values as given
    (1e39 is out of range, not infinite, though it has no float32)."""
    values = raw.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{owner}: label vector must be finite, got NaN or inf in {raw.tolist()}")
    raise ValueError(
        f"{owner}: label vector entries must lie in [0, 1] (one-hot, multi-hot or soft), got {raw.tolist()}"
    )


def smooth_label(y: np.ndarray, epsilon: float, mode: SmoothingMode = "uniform") -> np.ndarray:
    """Smooth an encoded label vector; a new float32 array.

    - ``"uniform"``: ``(1 - ε)·y + ε/K`` (Szegedy et al., 2016). Identical to
      ``torch.nn.CrossEntropyLoss(label_smoothing=ε)`` and timm's ``mixup_target``.
    - ``"others"``: ``(1 - ε)`` on the true class and ``ε/(K - 1)`` on each other class (the seed
      article's variant); for a soft vector, ``(1 - ε)·y + ε/(K - 1)·(1 - y)``. Needs K ≥ 2.
    - ``"multilabel"``: ``(1 - ε)·y + ε/2`` per class: Szegedy's rule with K = 2 for each
      independent yes/no label; exactly timm's ``mixup_target(..., multi_label=True)`` and its
      ``BinaryCrossEntropy(smooth_dense=True)`` (timm 1.0.31).

    Every rule is affine in ``y``, so smoothing a mixed label equals mixing smoothed labels, and a
    vector that sums to 1 still sums to 1 under ``"uniform"`` and ``"others"``.
    """
    k = y.shape[-1]
    y64 = y.astype(np.float64)
    if mode == "uniform":
        out = (1.0 - epsilon) * y64 + epsilon / k
    elif mode == "others":
        out = (1.0 - epsilon) * y64 + (epsilon / (k - 1)) * (1.0 - y64)
    else:
        out = (1.0 - epsilon) * y64 + epsilon / 2.0
    return out.astype(np.float32)


def mix_labels(y1: np.ndarray, y2: np.ndarray, partner_weight: float) -> np.ndarray:
    """``(1 - w)·y1 + w·y2`` as a new float32 vector, with ``w`` the partner's share (MixUp, CutMix).

    Weighting by the partner's share ``w`` (rather than by ``λ = 1 - w``) makes a one-hot partner's
    entry exactly ``float32(w)``: in CutMix, the share of partner pixels.
    """
    out = y1 * np.float32(1.0 - partner_weight)
    out += y2 * np.float32(partner_weight)
    return out


def mix_index_labels(index1: Any, index2: Any, num_classes: int | None, partner_weight: float) -> np.ndarray | None:
    """The mix of two valid class indices as ``mix_labels`` would give it, without temporaries.

    Returns None unless both labels are class indices in ``[0, num_classes)``: the common case per
    sample takes this short path and everything else goes through ``encode_label``.
    """
    if num_classes is None:
        return None
    plain = type(index1) is int and type(index2) is int  # the common case, checked first
    if not plain and not (_is_index(index1) and _is_index(index2)):
        return None
    i1, i2 = int(index1), int(index2)
    if not (0 <= i1 < num_classes and 0 <= i2 < num_classes):
        return None
    out = np.zeros(num_classes, dtype=np.float32)
    out[i1] = np.float32(1.0 - partner_weight)
    out[i2] += np.float32(partner_weight)
    return out
