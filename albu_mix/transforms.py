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
from albumentations.core.transforms_interface import BasicTransform, ImageOnlyTransform

from . import functional as F
from ._base import ContractMixin, check_array, check_probability, image_shape, plain
from ._routing import IMAGE_LEADS, Router
from .labels import SmoothingMode, check_num_classes, encode_label, smooth_label
from .mixing import CutMix, MixUp  # re-exported: albu_mix.transforms.MixUp, as in 0.1.0

__all__ = ["CutMix", "Cutout", "LabelSmoothing", "MixUp"]


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _image_routes(transform: Any, keys: tuple[str, ...], routes: tuple[tuple[str, str], ...]) -> tuple[tuple[str, int], ...]:
    """(key, leading axes) of every image-type key routed to the transform, aliases included."""
    return tuple((key, IMAGE_LEADS[kind]) for key, kind in routes if kind in IMAGE_LEADS)


def _label_routes(transform: Any, keys: tuple[str, ...], routes: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """Every label key routed to the transform: ``label`` and its aliases (``additional_targets``)."""
    return tuple(key for key, kind in routes if kind == "label")

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
            mean, the paper's "zero after normalisation"; for ``images`` each image's own mean,
            for a volume the whole volume's, whether given as a list or as one array).
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
        size, num_holes, fill = plain(size), plain(num_holes), plain(fill)
        self._router: Router[tuple[tuple[str, int], ...]] = Router(_image_routes)
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

    def _routed(self, data: dict[str, Any]) -> list[tuple[str, int, Any]]:
        """(key, leading axes, value) of every image-type key albumentations routes to this
        transform, ``additional_targets`` included (``image2`` is cut like ``image``)."""
        return [(key, lead, data[key]) for key, lead in self._router.plan(self, data) if data[key] is not None]

    def check_data(self, data: dict[str, Any]) -> None:
        owner = type(self).__name__
        for key, lead, value in self._routed(data):
            if isinstance(value, (list, tuple)):
                for item in value:
                    check_array(owner, key, item, (lead + 1, lead + 2))
                shapes = {item.shape for item in value}
                if len(shapes) > 1:
                    raise ValueError(
                        f"{owner}: the items of {key} must all have one shape (they get the same holes), got shapes "
                        f"{sorted(shapes)}"
                    )
            else:
                check_array(owner, key, value, (lead + 2, lead + 3))

    def apply_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        out = dict(data)
        owner = type(self).__name__
        for key, lead, value in self._routed(data):
            if isinstance(value, (list, tuple)):  # a list of images (or of volumes)
                out[key] = [self._cut(owner, v, params, lead - 1) for v in value]
            elif self.fill == "mean" and self._router.kind(self, key) in ("images", "volumes"):
                # "mean" is each sample's own mean: per image of a batch, per volume, as for a list
                out[key] = np.stack([self._cut(owner, v, params, lead - 1) for v in value])
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


class LabelSmoothing(ContractMixin, BasicTransform):
    """Label smoothing (Szegedy et al., 2016) of the ``"label"`` target; images pass through.

    Args:
        epsilon: ε in [0, 1). ε = 0 only encodes the label, which keeps batches collatable at the
            end of a pipeline whose mixing transforms may not run.
        num_classes: K. Needed when labels are class indices; a vector label must have K entries.
        mode: ``"uniform"``: ``(1 - ε)·y + ε/K``, the Szegedy form, identical to
            ``torch.nn.CrossEntropyLoss(label_smoothing=ε)``. ``"others"``: ``1 - ε`` on the true
            class and ``ε/(K - 1)`` on each other (the seed article's variant). ``"multilabel"``:
            ``(1 - ε)·y + ε/2`` per class (Szegedy's rule with K = 2 for each independent yes/no
            label). Soft or already-mixed vectors are smoothed by the same affine rule, so sums
            stay 1. Put it after MixUp/CutMix: placed before them it never sees the partner's
            label, which is then mixed in unsmoothed.
        p: probability of smoothing. When it does not fire the label is still encoded.

    Targets:
        label and its aliases (``additional_targets={"label2": "label"}``): a class index or a 1-D
        vector; the output is a new float32 vector of length K. A sample without a label passes
        through, as albumentations lets absent targets through. mix_lambda is passed through, and set
        to 1.0 when no mixer set it, so that every sample at the end of a pipeline ending with
        LabelSmoothing has it (with or without a label: the finishing transform of detection and
        segmentation pipelines on AlbumentationsX)

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
        self._router: Router[tuple[str, ...]] = Router(_label_routes)
        super().__init__(p=check_probability(owner, p))
        if isinstance(epsilon, bool) or not _is_number(epsilon) or not 0 <= epsilon < 1:
            raise ValueError(f"{owner}: epsilon must be a number in [0, 1), got {epsilon!r}")
        check_num_classes(owner, num_classes)
        if mode not in ("uniform", "others", "multilabel"):
            raise ValueError(f"{owner}: mode must be 'uniform', 'others' or 'multilabel', got {mode!r}")
        if mode == "others" and num_classes is not None and num_classes < 2:
            raise ValueError(f"{owner}: mode='others' needs num_classes >= 2, got {num_classes}")
        self.epsilon = float(epsilon)
        self.num_classes = plain(num_classes)
        self.mode = mode

    _targets = ()  # no image-type target: the label is albu_mix's own (see ``targets``)

    @property
    def targets(self) -> dict[str, Callable[..., Any]]:
        return {"label": self.apply_to_label, "mix_lambda": _identity}

    def apply_to_label(self, label: Any, **params: Any) -> np.ndarray:
        k = self.num_classes
        if (type(label) is np.ndarray and label.dtype == np.float32 and label.ndim == 1 and label.size
                and (k is None or label.size == k) and label.min() >= 0 and label.max() <= 1 + 1e-6):
            y = label  # the common case after a mixer, checked in one pass each way (NaN fails both); not copied,
            # since smoothing makes a new array
        else:
            y = encode_label(label, k, type(self).__name__)  # everything else, with the errors that say why
        if self.mode == "others" and y.size < 2:
            raise ValueError(f"{type(self).__name__}: mode='others' needs at least 2 classes, got a label of length {y.size}")
        return smooth_label(y, self.epsilon, self.mode)

    _records_unfired = True

    def draw(self, data: dict[str, Any]) -> dict[str, Any]:
        # not empty, so that Compose(save_applied_params=True) lists the call
        return {"epsilon": self.epsilon}

    def apply_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return self._labels_done(data, self.apply_to_label)

    def not_applied(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._labels_done(data, self._encoded)

    def _labels_done(self, data: dict[str, Any], rule: Callable[[Any], np.ndarray]) -> dict[str, Any]:
        """Every label key (``label`` and its aliases) through ``rule``; ``mix_lambda`` is 1.0 when no mixer
        set it, so every sample at the end of a pipeline that ends here has it. A sample without a label
        passes through (albumentations' rule for absent targets): this is also the finishing transform of
        a detection or segmentation pipeline."""
        out = {"mix_lambda": 1.0, **data}
        for key in self._router.plan(self, data):
            if data[key] is not None:
                out[key] = rule(data[key])
        return out

    def _encoded(self, label: Any) -> np.ndarray:
        return encode_label(label, self.num_classes, type(self).__name__)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("epsilon", "num_classes", "mode")


def _identity(value: Any, **params: Any) -> Any:
    return value
