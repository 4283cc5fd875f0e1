"""The albu_mix transforms: thin classes that draw parameters and call the kernels.

Every transform draws all its randomness from its own generators (seeded by ``Compose(seed=...)``)
inside ``draw``; ``apply_params`` is deterministic given the params, which is what
``ReplayCompose`` relies on. The kernels live in ``functional``, the label rules in ``labels`` and
the partner contract in ``partners``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any, Literal

import numpy as np
from albumentations.core.serialization import SERIALIZABLE_REGISTRY
from albumentations.core.transforms_interface import BasicTransform, DualTransform, ImageOnlyTransform

from . import functional as F
from ._base import ContractMixin, check_probability, image_shape
from .labels import SmoothingMode, encode_label, mix_index_labels, mix_labels, smooth_label
from .partners import PartnerError, PartnerSource

__all__ = ["CutMix", "Cutout", "LabelSmoothing", "MixUp"]

_SUPPORTED_DTYPES = (np.uint8, np.float32)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _check_array(owner: str, key: str, array: Any, spatial_ndim: tuple[int, ...]) -> np.ndarray:
    """A uint8 or float32 array with one of the allowed numbers of dimensions and no empty axis."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{owner}: {key} must be a numpy array, got {type(array).__name__}")
    if array.dtype not in _SUPPORTED_DTYPES:
        raise TypeError(f"{owner}: {key} must have dtype uint8 or float32, got {array.dtype}")
    if array.ndim not in spatial_ndim:
        raise ValueError(f"{owner}: {key} must have {' or '.join(map(str, spatial_ndim))} dimensions, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{owner}: {key} must not be empty, got shape {array.shape}")
    return array


# ----------------------------------------------------------------------------------------------
# Cutout
# ----------------------------------------------------------------------------------------------


def _check_size(owner: str, name: str, value: Any) -> None:
    """A side: an int >= 1 (pixels) or a float in (0, 1] (fraction of the shorter side)."""
    if isinstance(value, bool) or not _is_number(value):
        raise TypeError(f"{owner}: {name} must be an int (pixels) or a float in (0, 1], got {value!r}")
    if isinstance(value, (int, np.integer)):
        if value < 1:
            raise ValueError(f"{owner}: {name} in pixels must be >= 1, got {value}")
    elif not 0 < value <= 1:
        raise ValueError(f"{owner}: {name} as a fraction of the shorter side must be in (0, 1], got {value}")


def _as_range(owner: str, name: str, value: Any, check: Callable[[str, str, Any], None]) -> tuple[Any, Any]:
    """``value`` or ``(min, max)`` as a checked ``(min, max)`` pair of one kind."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{owner}: {name} as a range must be (min, max), got {value!r}")
        low, high = value
        check(owner, name, low)
        check(owner, name, high)
        if isinstance(low, (int, np.integer)) != isinstance(high, (int, np.integer)):
            raise TypeError(f"{owner}: {name} range must be two ints or two floats, got {value!r}")
        if low > high:
            raise ValueError(f"{owner}: {name} range must have min <= max, got {value!r}")
        return low, high
    check(owner, name, value)
    return value, value


def _check_count(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be an int >= 1, got {value!r}")


class Cutout(ContractMixin, ImageOnlyTransform):
    """Cutout (DeVries & Taylor, 2017): mask out square patches of the image.

    Each hole is a square whose centre is drawn uniformly over the whole image; where the square
    crosses the border it is clipped, so border regions get occluded too (the paper found this
    matters). An unclipped hole of side ``s`` has exactly ``s × s`` pixels, odd ``s`` included.
    albumentations' ``CoarseDropout`` instead keeps holes fully inside the image.

    Args:
        size: the side of a hole. An int is pixels; a float in (0, 1] is a fraction of the image's
            shorter side (rounded, at least 1 px); ``(min, max)`` of either draws a side per hole
            (ints inclusive, floats uniform). The paper used 16 px on CIFAR-10's 32×32 images.
        num_holes: an int, or ``(min, max)`` to draw the count per image (inclusive).
        fill: a number, one value per channel, ``"random"`` (uniform noise over the dtype's range:
            0..255 for uint8, [0, 1) for float32) or ``"mean"`` (the image's own per-channel
            mean, the paper's "zero after normalisation").
        p: probability of applying the transform. The paper applies it to every image (p=1).

    Targets:
        image, images, volume, volumes (every image of a batch and every slice of a volume get the
        same holes, as albumentations does for its own transforms)

    Image types:
        uint8, float32; H×W, H×W×1, H×W×3, H×W×C for any C. Output dtype and shape equal the
        input's; the input is never modified and may be read-only.

    Examples:
        >>> import albumentations as A, numpy as np
        >>> from albu_mix import Cutout
        >>> pipeline = A.Compose([Cutout(50, p=1.0)], seed=0)
        >>> out = pipeline(image=np.full((224, 224, 3), 255, np.uint8))["image"]
        >>> int((out == 0).all(axis=-1).sum()) <= 50 * 50
        True

    References:
        T. DeVries and G. W. Taylor, "Improved Regularization of Convolutional Neural Networks
        with Cutout", arXiv:1708.04552, 2017.
    """

    def __init__(
        self,
        size: int | float | tuple[int, int] | tuple[float, float],  # noqa: PYI041 (pixels or a fraction)
        num_holes: int | tuple[int, int] = 1,
        fill: float | Sequence[float] | Literal["random", "mean"] = 0,
        p: float = 0.5,
    ) -> None:
        owner = type(self).__name__
        super().__init__(p=check_probability(owner, p))
        self._size_range = _as_range(owner, "size", size, _check_size)
        self._holes_range = _as_range(owner, "num_holes", num_holes, _check_count)
        if isinstance(fill, str):
            if fill not in ("random", "mean"):
                raise ValueError(f"{owner}: fill as a string must be 'random' or 'mean', got {fill!r}")
        elif _is_number(fill):
            if not math.isfinite(fill):
                raise ValueError(f"{owner}: fill must be finite, got {fill!r}")
        elif isinstance(fill, (list, tuple, np.ndarray)) and len(fill) > 0 and all(_is_number(v) for v in fill):
            if not all(math.isfinite(v) for v in fill):
                raise ValueError(f"{owner}: fill must be finite, got {list(fill)!r}")
            fill = tuple(float(v) for v in fill)
        else:
            raise TypeError(f"{owner}: fill must be a number, a per-channel sequence, 'random' or 'mean', got {fill!r}")
        self.size = tuple(size) if isinstance(size, list) else size
        self.num_holes = tuple(num_holes) if isinstance(num_holes, list) else num_holes
        self.fill = fill

    def _side(self, height: int, width: int) -> int:
        low, high = self._size_range
        if isinstance(low, (int, np.integer)):
            return low if low == high else self.py_random.randint(low, high)
        fraction = low if low == high else self.py_random.uniform(low, high)
        return max(1, round(fraction * min(height, width)))

    def draw(self, data: dict[str, Any]) -> dict[str, Any]:
        height, width = image_shape(type(self).__name__, data)
        rng = self.py_random
        low, high = self._holes_range
        count = low if low == high else rng.randint(low, high)
        holes = []
        for _ in range(count):
            side = self._side(height, width)
            holes.append(F.centered_square(rng.randrange(height), rng.randrange(width), side, height, width))
        params: dict[str, Any] = {"holes": holes}
        if self.fill == "random":
            params["fill_seed"] = rng.randrange(2**32)
        return params

    _LAYOUTS = (("image", 0), ("images", 1), ("volume", 1), ("volumes", 2))

    def check_data(self, data: dict[str, Any]) -> None:
        owner = type(self).__name__
        for key, lead in self._LAYOUTS:
            value = data.get(key)
            if key == "images" and isinstance(value, (list, tuple)):
                for item in value:
                    _check_array(owner, key, item, (2, 3))
            elif value is not None:
                _check_array(owner, key, value, (lead + 2, lead + 3))

    def apply_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        out = dict(data)
        owner = type(self).__name__
        for key, lead in self._LAYOUTS:
            value = data.get(key)
            if value is None:
                continue
            if key == "images" and isinstance(value, (list, tuple)):
                out[key] = [self._cut(owner, v, params, 0) for v in value]
            else:
                out[key] = self._cut(owner, value, params, lead)
        return out

    def _cut(self, owner: str, array: np.ndarray, params: dict[str, Any], lead: int) -> np.ndarray:
        try:
            return F.cutout(array, params["holes"], self.fill, params.get("fill_seed", 0), leading_axes=lead)
        except ValueError as error:
            raise ValueError(f"{owner}: {error} (image shape {array.shape}, dtype {array.dtype})") from error

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        return F.cutout(img, params["holes"], self.fill, params.get("fill_seed", 0))

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("size", "num_holes", "fill")


# ----------------------------------------------------------------------------------------------
# Label smoothing
# ----------------------------------------------------------------------------------------------


def _check_num_classes(owner: str, num_classes: Any) -> None:
    if num_classes is not None and (
        isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1
    ):
        raise ValueError(f"{owner}: num_classes must be an int >= 1 or None, got {num_classes!r}")


class LabelSmoothing(ContractMixin, BasicTransform):
    """Label smoothing (Szegedy et al., 2016) of the ``"label"`` target; images pass through.

    Args:
        epsilon: ε in [0, 1). ε = 0 only encodes the label, which keeps batches collatable at the
            end of a pipeline whose mixing transforms may not run.
        num_classes: K. Needed when labels are class indices; a vector label must have K entries.
        mode: ``"uniform"``: ``(1 - ε)·y + ε/K``, the Szegedy form, identical to
            ``torch.nn.CrossEntropyLoss(label_smoothing=ε)``. ``"others"``: ``1 - ε`` on the true
            class and ``ε/(K - 1)`` on each other (the seed article's variant). ``"multilabel"``:
            ``(1 - ε)·y + ε/2`` per class (timm's multi-label rule). Soft or already-mixed vectors
            are smoothed by the same affine rule, so sums stay 1.
        p: probability of smoothing. When it does not fire the label is still encoded.

    Targets:
        label (a class index or a 1-D vector; the output is a new float32 vector of length K)

    Examples:
        >>> import numpy as np
        >>> from albu_mix import LabelSmoothing
        >>> t = LabelSmoothing(epsilon=0.01, num_classes=5, mode="others")
        >>> t(image=np.zeros((4, 4, 3), np.uint8), label=0)["label"].tolist()
        [0.9900000095367432, 0.0024999999441206455, 0.0024999999441206455, 0.0024999999441206455, 0.0024999999441206455]

    References:
        C. Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016.
    """

    def __init__(
        self,
        epsilon: float = 0.1,
        num_classes: int | None = None,
        mode: SmoothingMode = "uniform",
        p: float = 1.0,
    ) -> None:
        owner = type(self).__name__
        super().__init__(p=check_probability(owner, p))
        if isinstance(epsilon, bool) or not _is_number(epsilon) or not 0 <= epsilon < 1:
            raise ValueError(f"{owner}: epsilon must be a number in [0, 1), got {epsilon!r}")
        _check_num_classes(owner, num_classes)
        if mode not in ("uniform", "others", "multilabel"):
            raise ValueError(f"{owner}: mode must be 'uniform', 'others' or 'multilabel', got {mode!r}")
        if mode == "others" and num_classes is not None and num_classes < 2:
            raise ValueError(f"{owner}: mode='others' needs num_classes >= 2, got {num_classes}")
        self.epsilon = float(epsilon)
        self.num_classes = num_classes
        self.mode = mode

    @property
    def targets(self) -> dict[str, Callable[..., Any]]:
        return {"label": self.apply_to_label, "mix_lambda": _identity}

    def apply_to_label(self, label: Any, **params: Any) -> np.ndarray:
        y = encode_label(label, self.num_classes, type(self).__name__)
        if self.mode == "others" and y.size < 2:
            raise ValueError(f"{type(self).__name__}: mode='others' needs at least 2 classes, got a label of length {y.size}")
        return smooth_label(y, self.epsilon, self.mode)

    def check_data(self, data: dict[str, Any]) -> None:
        if "label" not in data:
            raise ValueError(f"{type(self).__name__}: the data must hold a 'label', got keys {sorted(data)}")

    def draw(self, data: dict[str, Any]) -> dict[str, Any]:
        return {}

    def apply_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "label": self.apply_to_label(data["label"])}

    def not_applied(self, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "label": encode_label(data["label"], self.num_classes, type(self).__name__)}

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("epsilon", "num_classes", "mode")


def _identity(value: Any, **params: Any) -> Any:
    return value


# ----------------------------------------------------------------------------------------------
# MixUp and CutMix
# ----------------------------------------------------------------------------------------------

_UNSUPPORTED_KEYS = frozenset(("bboxes", "keypoints", "images", "masks", "volume", "volumes", "mask3d", "masks3d"))


class _MixTransform(ContractMixin, DualTransform):
    """Shared machinery of MixUp and CutMix: the partner, the label and the mask."""

    _callback_args = ("reference_data", "read_fn")

    def __init__(
        self,
        reference_data: Any,
        read_fn: Callable[[Any], dict[str, Any]] | None,
        alpha: float,
        num_classes: int | None,
        partner_transform: Callable[..., dict[str, Any]] | None,
        name: str | None,
        p: float,
    ) -> None:
        owner = type(self).__name__
        super().__init__(p=check_probability(owner, p))
        if isinstance(alpha, bool) or not _is_number(alpha) or not (alpha > 0 and math.isfinite(alpha)):
            raise ValueError(f"{owner}: alpha must be a finite number > 0, got {alpha!r}")
        _check_num_classes(owner, num_classes)
        if partner_transform is not None and not callable(partner_transform):
            raise TypeError(
                f"{owner}: partner_transform must be an albumentations transform or Compose, "
                f"got {type(partner_transform).__name__}"
            )
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{owner}: name must be a string or None, got {type(name).__name__}")
        self._source = PartnerSource(owner, reference_data, read_fn)
        self.reference_data = reference_data
        self.read_fn = read_fn
        self.alpha = float(alpha)
        self.num_classes = num_classes
        self.partner_transform = partner_transform
        self.name = name if name is not None else owner

    def set_random_seed(self, seed: int | None) -> None:
        super().set_random_seed(seed)
        # The partner's own augmentation follows the pipeline's seed too.
        transform = getattr(self, "partner_transform", None)
        if transform is not None and hasattr(transform, "set_random_seed"):
            transform.set_random_seed(seed)

    @property
    def targets(self) -> dict[str, Callable[..., Any]]:
        return {"image": self.apply, "mask": self.apply_to_mask, "label": _identity, "mix_lambda": _identity}

    # -- checks ---------------------------------------------------------------------------------
    def check_data(self, data: dict[str, Any]) -> None:
        owner = type(self).__name__
        for key in _UNSUPPORTED_KEYS & data.keys():
            if data[key] is not None:
                raise ValueError(
                    f"{owner}: the target {key!r} is not supported yet; {owner} mixes 'image', 'mask' and "
                    f"'label' only, got {key!r} in the data"
                )
        if "image" not in data:
            raise ValueError(f"{owner}: the data must hold an 'image', got keys {sorted(data)}")
        image = _check_array(owner, "image", data["image"], (2, 3))
        mask = data.get("mask")
        if mask is not None:
            if not isinstance(mask, np.ndarray) or mask.shape[:2] != image.shape[:2]:
                raise ValueError(
                    f"{owner}: mask must be an array with the image's height and width {image.shape[:2]}, "
                    f"got {getattr(mask, 'shape', type(mask).__name__)}"
                )

    # -- the partner ----------------------------------------------------------------------------
    def _partner(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """Load the partner and bring it to the primary's geometry; checks name the partner."""
        owner = type(self).__name__
        sample = self._source.load(params)
        image = data["image"]
        if self.partner_transform is not None:
            inputs = {"image": sample["image"]}
            if data.get("mask") is not None and sample.get("mask") is not None:
                inputs["mask"] = sample["mask"]
            try:
                transformed = self.partner_transform(**inputs)
            except Exception as error:
                raise PartnerError(
                    f"{owner}: partner_transform failed on the {PartnerSource.describe(params)}: {error}"
                ) from error
            sample = {**sample, **{k: transformed[k] for k in inputs}}
        partner = _layout_like(sample["image"], image)
        if partner.dtype != image.dtype:
            raise PartnerError(
                f"{owner}: the partner image must have the primary's dtype {image.dtype}, got {partner.dtype} "
                f"at {PartnerSource.describe(params)}"
            )
        if partner.ndim != image.ndim or partner.shape[2:] != image.shape[2:]:
            raise PartnerError(
                f"{owner}: the partner image must have the primary's channels (shape {image.shape}), "
                f"got shape {partner.shape} at {PartnerSource.describe(params)}"
            )
        if partner.size == 0:
            raise PartnerError(
                f"{owner}: the partner image must not be empty, got shape {partner.shape} at "
                f"{PartnerSource.describe(params)}"
            )
        height, width = image.shape[:2]
        sample["image"] = F.resize_to(partner, height, width)
        if data.get("mask") is not None:
            mask = sample.get("mask")
            if not isinstance(mask, np.ndarray):
                raise PartnerError(
                    f"{owner}: the primary has a 'mask', so the partner needs a 'mask' array too, "
                    f"got {'none' if mask is None else type(mask).__name__} at {PartnerSource.describe(params)}"
                )
            primary_mask = data["mask"]
            if mask.size == 0:
                raise PartnerError(
                    f"{owner}: the partner mask must not be empty, got shape {mask.shape} at "
                    f"{PartnerSource.describe(params)}"
                )
            if mask.shape[:2] != partner.shape[:2]:
                raise PartnerError(
                    f"{owner}: the partner mask must have its own image's height and width {partner.shape[:2]}, "
                    f"got shape {mask.shape} at {PartnerSource.describe(params)}"
                )
            mask = _layout_like(mask, primary_mask)
            if mask.ndim != np.ndim(primary_mask) or mask.shape[2:] != np.shape(primary_mask)[2:]:
                raise PartnerError(
                    f"{owner}: the partner mask must have the primary mask's channels (shape "
                    f"{np.shape(primary_mask)}), got shape {mask.shape} at {PartnerSource.describe(params)}"
                )
            sample["mask"] = F.resize_to(mask, height, width, nearest=True)
        if "label" in data and "label" not in sample:
            raise PartnerError(
                f"{owner}: the primary has a 'label', so the partner needs a 'label' too, got keys "
                f"{sorted(sample)} at {PartnerSource.describe(params)}"
            )
        return sample

    def _labels(self, data: dict[str, Any], partner: dict[str, Any] | None, params: dict[str, Any],
                partner_weight: float) -> dict[str, Any]:
        owner = type(self).__name__
        if partner is not None:
            mixed = mix_index_labels(data["label"], partner["label"], self.num_classes, partner_weight)
            if mixed is not None:
                return {"label": mixed}
        y1 = encode_label(data["label"], self.num_classes, owner)
        if partner is None:
            return {"label": y1}
        try:
            y2 = encode_label(partner["label"], y1.size, f"{owner} (partner label)")
        except (TypeError, ValueError) as error:
            raise PartnerError(f"{error} at {PartnerSource.describe(params)}") from error
        return {"label": mix_labels(y1, y2, partner_weight)}

    def _mixed(self, data: dict[str, Any], image: np.ndarray, mask: Any, partner: dict[str, Any],
               params: dict[str, Any], partner_weight: float) -> dict[str, Any]:
        out = {**data, "image": image, "mix_lambda": 1.0 - partner_weight}
        if mask is not None:
            out["mask"] = mask
        if "label" in data:
            out.update(self._labels(data, partner, params, partner_weight))
        return out

    def not_applied(self, data: dict[str, Any]) -> dict[str, Any]:
        out = {**data, "mix_lambda": 1.0}
        if "label" in data:
            out.update(self._labels(data, None, {}, 0.0))
        return out

    # -- serialization --------------------------------------------------------------------------
    @classmethod
    def is_serializable(cls) -> bool:
        # reference_data and read_fn are live objects: JSON cannot hold them. Like albumentations'
        # Lambda, the JSON form carries a name; A.from_dict(d, nonserializable={name: transform})
        # restores the transform.
        return False

    def to_dict_private(self) -> dict[str, Any]:
        state = {"__class_fullname__": self.get_class_fullname(), "__name__": self.name, "p": self.p}
        state.update({k: v for k, v in self.get_transform_init_args().items() if k in self._json_args})
        return state

    def get_dict_with_id(self) -> dict[str, Any]:
        # ReplayCompose rebuilds transforms from this dict in the same process: keep the live objects
        # and point at the class under its replay alias (see _register_for_replay).
        state = {"__class_fullname__": _replay_alias(type(self)), "p": self.p, "id": id(self)}
        state.update(self.get_transform_init_args())
        return state

    _json_args: tuple[str, ...] = ("alpha", "num_classes", "name")

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} mixes whole samples; call it with image=..., label=...")


def _layout_like(partner: np.ndarray, primary: Any) -> np.ndarray:
    """A 2-D partner array as H×W×1 when the primary is H×W×1. AlbumentationsX's ``Compose`` hands
    its transforms grayscale images and masks with a channel axis, while partners come as stored."""
    if partner.ndim == 2 and np.ndim(primary) == 3 and np.shape(primary)[2] == 1:
        return partner[..., np.newaxis]
    return partner


def _draw_beta(py_random: Any, alpha: float) -> float:
    return py_random.betavariate(alpha, alpha)


class MixUp(_MixTransform):
    """mixup (Zhang et al., 2018), per sample: blend the image with a partner drawn from reference data.

    λ ~ Beta(α, α); image = λ·primary + (1 - λ)·partner; label = λ·y_primary + (1 - λ)·y_partner.

    Args:
        reference_data: where partners come from: a sequence (list of sample dicts or of file paths,
            a Dataset), indexed with an index the transform draws from its own seeded generator; or
            a callable ``fn(rng) -> dict`` that returns the partner itself. See ``albu_mix.partners``.
        read_fn: ``read_fn(item) -> dict`` turns a sequence item into a sample dict.
        alpha: α > 0 of Beta(α, α). The paper used α = 1 on CIFAR and 0.1-0.4 on ImageNet.
        num_classes: K, needed when labels are class indices.
        partner_transform: an albumentations transform or Compose applied to the partner first.
        name: the key under which ``A.from_dict(..., nonserializable={name: transform})`` restores it.
        p: probability of mixing.

    Outputs:
        ``image`` (uint8 rounded to nearest, float32 stays float32), ``label`` (float32 vector of
        length K, also when the transform does not fire), ``mix_lambda`` (the primary's weight λ,
        1.0 when it does not fire), ``mask``: class ids are never blended; the output mask is the
        mask of the sample with the larger weight (the primary's when λ >= 0.5).

    The partner is resized to the primary's height and width when they differ (area interpolation
    when shrinking, linear otherwise, nearest for the mask). Another dtype or channel count is an
    error. bboxes and keypoints are not supported yet and raise a clear error.

    References:
        H. Zhang, M. Cisse, Y. N. Dauphin and D. Lopez-Paz, "mixup: Beyond Empirical Risk
        Minimization", ICLR 2018.
    """

    def __init__(
        self,
        reference_data: Any,
        read_fn: Callable[[Any], dict[str, Any]] | None = None,
        alpha: float = 0.4,
        num_classes: int | None = None,
        partner_transform: Callable[..., dict[str, Any]] | None = None,
        name: str | None = None,
        p: float = 0.5,
    ) -> None:
        super().__init__(reference_data, read_fn, alpha, num_classes, partner_transform, name, p)

    def draw(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"lam": _draw_beta(self.py_random, self.alpha), **self._source.draw(self.py_random)}

    def apply_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        partner = self._partner(params, data)
        lam = params["lam"]
        image = F.blend(data["image"], partner["image"], lam)
        mask = data.get("mask")
        if mask is not None:
            mask = (mask if lam >= 0.5 else partner["mask"]).copy()
        return self._mixed(data, image, mask, partner, params, 1.0 - lam)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("reference_data", "read_fn", "alpha", "num_classes", "partner_transform", "name")


class CutMix(_MixTransform):
    """CutMix (Yun et al., 2019), per sample: paste a box of a partner drawn from reference data.

    λ ~ Beta(α, α); the box has ``int(H·√(1 - λ))`` rows and ``int(W·√(1 - λ))`` columns, its centre
    uniform over the image, clipped at the borders. The label weight is then **recomputed** from the
    clipped box, as in the authors' released code (timm's ``correct_lam``): the partner's weight is
    exactly the share of pixels it contributes, ``area / (H·W)``, and ``mix_lambda = 1 - area/(H·W)``.

    Args:
        reference_data, read_fn, num_classes, partner_transform, name, p: as in ``MixUp``.
        alpha: α > 0 of Beta(α, α); the paper used α = 1.
        area_range: ``(min, max)`` with 0 <= min <= max <= 1. When set, the box's area fraction is
            drawn uniformly from it instead of from λ (in the spirit of timm's ``cutmix_minmax``);
            the box keeps the image's aspect ratio and is placed fully inside the image, so its
            fraction is the drawn one up to rounding, and λ follows from the box.

    Outputs:
        ``image`` (the partner's pixels in exactly the box), ``mask`` (the partner's mask pasted in
        exactly the same box), ``label``, ``mix_lambda`` as in ``MixUp``.

    References:
        S. Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers with Localizable
        Features", ICCV 2019.
    """

    def __init__(
        self,
        reference_data: Any,
        read_fn: Callable[[Any], dict[str, Any]] | None = None,
        alpha: float = 1.0,
        area_range: tuple[float, float] | None = None,
        num_classes: int | None = None,
        partner_transform: Callable[..., dict[str, Any]] | None = None,
        name: str | None = None,
        p: float = 0.5,
    ) -> None:
        super().__init__(reference_data, read_fn, alpha, num_classes, partner_transform, name, p)
        if area_range is not None:
            if (
                not isinstance(area_range, (list, tuple))
                or len(area_range) != 2
                or not all(_is_number(v) for v in area_range)
                or not 0 <= area_range[0] <= area_range[1] <= 1
            ):
                raise ValueError(
                    f"{type(self).__name__}: area_range must be (min, max) with 0 <= min <= max <= 1, got {area_range!r}"
                )
            area_range = (float(area_range[0]), float(area_range[1]))
        self.area_range = area_range

    _json_args = ("alpha", "area_range", "num_classes", "name")

    def draw(self, data: dict[str, Any]) -> dict[str, Any]:
        height, width = data["image"].shape[:2]  # check_data has vetted the image
        rng = self.py_random
        if self.area_range is None:
            lam = _draw_beta(rng, self.alpha)
            box = F.cutmix_box(lam, rng.randrange(height), rng.randrange(width), height, width)
        else:
            ratio = math.sqrt(rng.uniform(*self.area_range))
            rect_h, rect_w = min(height, round(height * ratio)), min(width, round(width * ratio))
            y1, x1 = rng.randint(0, height - rect_h), rng.randint(0, width - rect_w)
            box = (y1, y1 + rect_h, x1, x1 + rect_w)
        return {"box": box, **self._source.draw(rng)}

    def apply_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        partner = self._partner(params, data)
        box = params["box"]
        image = data["image"]
        weight = F.box_fraction(box, image.shape[0], image.shape[1])
        mixed = F.paste_box(image, partner["image"], box)
        mask = data.get("mask")
        if mask is not None:
            mask = F.paste_box(mask, partner["mask"], box)
        return self._mixed(data, mixed, mask, partner, params, weight)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("reference_data", "read_fn", "alpha", "area_range", "num_classes", "partner_transform", "name")


def _replay_alias(cls: type) -> str:
    return f"{cls.get_class_fullname()}:replay"  # type: ignore[attr-defined]


def _missing_nonserializable(cls: type) -> Callable[..., Any]:
    def restore(**args: Any) -> Any:
        name = args.get("__name__", cls.__name__)
        raise ValueError(
            f"{cls.__name__}: the serialized pipeline holds a {cls.__name__} named {name!r} whose reference_data "
            f"cannot be stored in JSON; restore it with A.from_dict(d, nonserializable={{{name!r}: "
            f"{cls.__name__}(reference_data, ..., name={name!r})}}), got no entry {name!r}"
        )

    return restore


def _register_for_replay(cls: type) -> None:
    """Let ReplayCompose rebuild the class from live objects, and make a JSON restore without the
    object fail with a message that says what to pass (albumentations 2.0.8 would raise KeyError)."""
    SERIALIZABLE_REGISTRY[_replay_alias(cls)] = cls  # type: ignore[assignment]
    SERIALIZABLE_REGISTRY[cls.get_class_fullname()] = _missing_nonserializable(cls)  # type: ignore[attr-defined,assignment]


for _cls in (MixUp, CutMix):
    _register_for_replay(_cls)
