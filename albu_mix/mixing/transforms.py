"""MixUp and CutMix: per-sample dual-input transforms that mix every target albumentations routes.

The classes are thin. ``draw`` takes all randomness from the transform's own generators; the
partner is loaded by ``albu_mix.partners`` and brought to the primary's geometry by
``albu_mix.mixing.partner``; each target key is then routed the way albumentations routes it (its
own targets plus ``additional_targets``, ``albu_mix._routing``) to the rule for its kind in
``albu_mix.mixing.functional`` (``mixup_bboxes``, ``cutmix_masks``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np
from albumentations.core.transforms_interface import DualTransform

from .. import functional as F
from .._base import ContractMixin, check_array, check_probability
from .._compat import Targets, encoder_state
from .._routing import ANNOTATION_KINDS, PIXEL_KINDS, UNMIXABLE_KINDS, Router
from ..labels import check_num_classes, encode_label, mix_index_labels, mix_labels
from ..partners import PartnerError, PartnerSource, _below
from ..serialization import LiveSerialization, register
from . import functional as FM
from .partner import prepare

__all__ = ["MAX_ALPHA", "CutMix", "MixUp"]

#: the largest α accepted: Beta(α, α) is then 0.5 to within 0.0005, and the draw stays fast
MAX_ALPHA = 1e6
#: albumentations' declaration of the targets (read by its generic tests); label and mix_lambda are ours
_TARGETS = (Targets.IMAGE, Targets.MASK, Targets.BBOXES, Targets.KEYPOINTS)
_FAST_DTYPES = (np.dtype(np.uint8), np.dtype(np.float32))


class _Plan(NamedTuple):
    """What a mixer does with one set of data keys."""

    routes: tuple[tuple[str, str], ...]  #: (key, kind) of every key it mixes
    refused: tuple[tuple[str, str], ...]  #: (key, kind) of keys of kinds it cannot mix
    fields: tuple[str, ...]  #: label fields the partner must carry beside its annotations
    #: kind -> (column of weight_field or None, column of instance_field or None) in the internal rows,
    #: for the kinds that have one of them
    columns: dict[str, tuple[int | None, int | None]]


#: internal rows start with these many numbers before the label-field columns (albumentations' layout)
_COORDINATES = {"bboxes": 4, "keypoints": 5}


#: the target kinds with a rule per transform (``MixUp.mix_bboxes``, ...); label has its own path
_RULE_KINDS = ("image", "mask", "masks", "bboxes", "keypoints")


def _identity(value: Any, **params: Any) -> Any:
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _build_plan(mixer: Any, keys: tuple[str, ...], routes: tuple[tuple[str, str], ...]) -> _Plan:
    routes = tuple((k, kind) for k, kind in routes if kind != "mix_lambda")
    refused = tuple((k, kind) for k in keys if (kind := mixer._router.declared_kind(k)) in UNMIXABLE_KINDS)
    kinds = {kind for _, kind in routes if kind in ANNOTATION_KINDS}
    fields = tuple(sorted({f for kind in kinds for f in mixer._label_fields(kind)} - {mixer.weight_field}))
    columns = {}
    for kind in kinds:
        names = mixer._label_fields(kind)
        found = tuple(
            _COORDINATES[kind] + names.index(field) if field in names else None
            for field in (mixer.weight_field, mixer.instance_field)
        )
        if found != (None, None):  # only kinds whose rows carry a weight or an instance column
            columns[kind] = found
    for argument in ("weight_field", "instance_field"):
        field = getattr(mixer, argument)
        if field is not None and kinds and not any(field in mixer._label_fields(kind) for kind in kinds):
            listed = {kind: list(mixer._label_fields(kind)) for kind in sorted(kinds)}
            raise ValueError(
                f"{type(mixer).__name__}: {argument}={field!r} must be a label field of the pipeline's "
                f"BboxParams or KeypointParams (label_fields=[..., {field!r}]), got label fields {listed}"
            )
    return _Plan(routes, refused, fields, columns)


class _MixTransform(LiveSerialization, ContractMixin, DualTransform):
    """Shared machinery of MixUp and CutMix: the partner, the routing of targets, the label."""

    _callback_args = ("reference_data", "read_fn")
    _records_unfired = True
    _targets = _TARGETS
    #: kind -> the subclass's rule for it (``mix_image``, ``mix_bboxes``, ...), filled per subclass
    _RULES: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._RULES = {kind: getattr(cls, f"mix_{kind}") for kind in _RULE_KINDS if hasattr(cls, f"mix_{kind}")}

    def __init__(
        self,
        reference_data: Any,
        read_fn: Callable[[Any], dict[str, Any]] | None,
        alpha: float,
        num_classes: int | None,
        partner_transform: Callable[..., dict[str, Any]] | None,
        weight_field: str | None,
        instance_field: str | None,
        name: str | None,
        p: float,
    ) -> None:
        owner = type(self).__name__
        self._router: Router[_Plan] = Router(_build_plan)
        super().__init__(p=check_probability(owner, p))
        if not _is_number(alpha) or not (0 < alpha <= MAX_ALPHA):
            raise ValueError(f"{owner}: alpha must be a number in (0, {MAX_ALPHA:g}], got {alpha!r}")
        check_num_classes(owner, num_classes)
        if partner_transform is not None and not callable(partner_transform):
            raise TypeError(
                f"{owner}: partner_transform must be an albumentations transform or Compose, "
                f"got {type(partner_transform).__name__}"
            )
        for argument, value in (("weight_field", weight_field), ("instance_field", instance_field), ("name", name)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{owner}: {argument} must be a string or None, got {type(value).__name__}")
        if weight_field is not None and weight_field == instance_field:
            raise ValueError(f"{owner}: weight_field and instance_field must be two fields, got {weight_field!r} for both")
        self._source = PartnerSource(owner, reference_data, read_fn)
        self.reference_data = reference_data
        self.read_fn = read_fn
        self.alpha = float(alpha)
        self.num_classes = None if num_classes is None else int(num_classes)
        self.partner_transform = partner_transform
        self.weight_field = weight_field
        self.instance_field = instance_field
        self.name = name if name is not None else owner

    @property
    def targets(self) -> dict[str, Callable[..., Any]]:
        return {
            "image": self.apply,
            "mask": self.apply_to_mask,
            "masks": self.apply_to_masks,
            "bboxes": self.apply_to_bboxes,
            "keypoints": self.apply_to_keypoints,
            "label": _identity,
            "mix_lambda": _identity,
        }

    def set_processors(self, processors: dict[str, Any]) -> None:
        self._router.clear()  # the label fields of a plan come from the processors
        super().set_processors(processors)

    def _plan(self, data: dict[str, Any]) -> _Plan:
        """What to do with the keys of ``data``; cached per key set, so the per-call path is short."""
        return self._router.plan(self, data)

    # -- the pipeline hook ------------------------------------------------------------------------
    #: every sample of a pipeline that holds a mixer has mix_lambda, mixed or not, label or not
    _sets_mix_lambda = True

    @property
    def _hook_pool(self) -> Any:
        return self._source.pool

    # -- checks ---------------------------------------------------------------------------------
    def check_data(self, data: dict[str, Any]) -> None:
        owner = type(self).__name__
        plan = self._plan(data)
        for key, kind in plan.refused:
            if data[key] is not None:
                raise ValueError(
                    f"{owner}: the target {key!r} ({kind}) is not supported: {owner} mixes one sample with one "
                    f"partner (image, mask, masks, bboxes, keypoints, label), got {key!r} in the data"
                )
        image = data.get("image")
        if image is None:
            raise ValueError(f"{owner}: the data must hold an 'image', got keys {sorted(data)}")
        if type(image) is not np.ndarray or image.dtype not in _FAST_DTYPES or image.ndim not in (2, 3) or not image.size:
            check_array(owner, "image", image, (2, 3))  # raises with the reason
        height, width = image.shape[:2]
        for key, kind in plan.routes:
            value = data[key]
            if value is None or kind not in PIXEL_KINDS or key == "image":
                continue
            if kind == "image":
                check_array(owner, key, value, (2, 3))
            items = value if kind == "masks" else [value]
            for item in items:
                if not isinstance(item, np.ndarray) or item.shape[:2] != (height, width):
                    raise ValueError(
                        f"{owner}: {key} must be {'arrays' if kind == 'masks' else 'an array'} with the image's "
                        f"height and width {(height, width)}, got {getattr(item, 'shape', type(item).__name__)}"
                    )

    # -- drawing --------------------------------------------------------------------------------
    def _draw_partner(self) -> dict[str, int]:
        """The partner's index (or stream seed) and, with a ``partner_transform``, the seed of the
        partner's own augmentation: drawn from this transform's stream, so it is reseeded with the
        transform in every process and recorded for replay."""
        params = self._source.draw(self.py_random)
        if self.partner_transform is not None:
            params["partner_aug_seed"] = self.py_random.getrandbits(63)
        return params

    # -- applying -------------------------------------------------------------------------------
    def apply_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return self.apply_drawn(params, data)[0]

    def apply_drawn(self, params: dict[str, Any], data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        pool = self._source.pool
        if pool is None:
            return self._mix(params, data)
        try:
            return self._mix(params, data)
        except BaseException:
            pool._refused()  # the sample in progress never becomes a partner
            raise

    def _mix(self, params: dict[str, Any], data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The mixed sample, and False when nothing was mixed because there was no partner."""
        plan = self._plan(data)
        partner = prepare(self, params, data, plan)
        if partner is None:  # a stream with no partner now (e.g. a cold pool): as if not fired
            return self.not_applied(data), False
        geometry = self._geometry(params, data)
        weight = geometry["weight"]
        out = dict(data)
        rules = self._RULES
        for key, kind in plan.routes:
            value = data[key]
            if value is None:
                continue
            if kind == "label":  # also at weight 0: a bad partner label is refused on every draw, not on some
                out[key] = self._mix_label(key, value, partner[key], params, weight)
            elif weight == 0.0:
                continue  # the partner contributes nothing: the primary's targets stay exactly as they are
            elif kind in plan.columns:
                own, other = self._object_columns(key, kind, value, partner[key], plan.columns[kind], geometry, data)
                out[key] = rules[kind](self, own, other, geometry)
            else:
                out[key] = rules[kind](self, value, partner[key], geometry)
        out["mix_lambda"] = data.get("mix_lambda", 1.0) * (1.0 - weight)
        return out, True

    def not_applied(self, data: dict[str, Any]) -> dict[str, Any]:
        out = dict(data)
        out.setdefault("mix_lambda", 1.0)  # a mixer that does not mix keeps the weight it finds
        for key, kind in self._plan(data).routes:
            if kind == "label" and data[key] is not None:
                out[key] = encode_label(data[key], self.num_classes, type(self).__name__)
        return out

    def _geometry(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """The drawn numbers as the rules take them, including ``weight``: the partner's share."""
        raise NotImplementedError

    def object_weights(self, geometry: dict[str, Any]) -> tuple[float, float]:
        """The factors for ``weight_field``: the primary's objects', the partner's objects'."""
        raise NotImplementedError

    def _object_columns(self, key: str, kind: str, own: Any, other: Any, columns: tuple[int | None, int | None],
                        geometry: dict[str, Any], data: dict[str, Any]) -> tuple[Any, Any]:
        """Both samples' rows with ``weight_field`` scaled by each sample's factor and the partner's
        ``instance_field`` moved past the primary's instance masks, so that ``masks[instance]`` stays
        each object's mask."""
        weight_column, instance_column = columns
        own, other = np.array(own, dtype=np.float32), np.array(other, dtype=np.float32)
        if weight_column is not None:
            self._check_numeric(key, self.weight_field, (own, other))
            own_factor, other_factor = self.object_weights(geometry)
            if own.ndim == 2 and len(own):
                own[:, weight_column] *= np.float32(own_factor)
            if other.ndim == 2 and len(other):
                other[:, weight_column] *= np.float32(other_factor)
        if instance_column is not None and other.ndim == 2 and len(other):
            self._check_numeric(key, self.instance_field, (own, other))
            masks = data.get("masks")
            if masks is None:
                raise ValueError(
                    f"{type(self).__name__}: instance_field={self.instance_field!r} numbers the instance masks, so the "
                    f"data must hold 'masks', got keys {sorted(data)}"
                )
            other[:, instance_column] += np.float32(len(masks))
        return own, other

    def _check_numeric(self, key: str, field: str | None, rows: tuple[Any, ...]) -> None:
        processor = self.get_processor(self._router.kind(self, key) or key)
        if processor is None or not any(r.ndim == 2 and len(r) for r in rows):
            return
        try:
            numerical, _ = encoder_state(processor, key, field)
        except KeyError:  # no label of this field was encoded in this call
            return
        if not numerical:
            raise ValueError(f"{type(self).__name__}: the label field {field!r} must hold numbers, got labels of another kind")

    def _mix_label(self, key: str, label: Any, partner_label: Any, params: dict[str, Any], weight: float) -> np.ndarray:
        mixed = mix_index_labels(label, partner_label, self.num_classes, weight)
        if mixed is not None:
            return mixed
        owner = type(self).__name__
        y1 = encode_label(label, self.num_classes, owner)
        try:
            y2 = encode_label(partner_label, y1.size, f"{owner} (partner {key})")
        except (TypeError, ValueError) as error:
            raise PartnerError(f"{error} at {PartnerSource.describe(params)}") from error
        return mix_labels(y1, y2, weight)

    def _rule_args(self, kind: str) -> dict[str, Any]:
        processor = self.get_processor(kind)
        return {} if processor is None else vars(processor.params)

    def _label_fields(self, kind: str | None) -> tuple[str, ...]:
        processor = self.get_processor(kind) if kind else None
        return tuple(processor.params.label_fields or ()) if processor is not None else ()

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} mixes whole samples; call it with image=..., label=...")

    def apply_to_masks(self, masks: Any, **params: Any) -> Any:
        return self.apply(masks)

    def apply_to_bboxes(self, bboxes: np.ndarray, **params: Any) -> np.ndarray:
        return self.apply(bboxes)

    def apply_to_keypoints(self, keypoints: np.ndarray, **params: Any) -> np.ndarray:
        return self.apply(keypoints)


#: below this α a Gamma(α) variate underflows to 0 often enough to matter (at 0.05: about once in 10**16)
_TINY_ALPHA = 0.05


def draw_lambda(py_random: Any, alpha: float) -> float:
    """λ ~ Beta(α, α), exactly, for every α > 0.

    A Beta variate is ``G1 / (G1 + G2)`` with ``G1, G2 ~ Gamma(α)``, which is what Python's
    ``betavariate`` computes; for small α both underflow to 0 in floating point, and ``betavariate``
    then returns 0 far more often than 1 (99.9% zeros at α = 1e-6). Below α = 0.05 they are drawn in
    logs instead, ``log G = log Gamma(α + 1) + log(U) / α`` with ``U`` uniform: nothing underflows, and
    ``λ = 1 / (1 + exp(log G2 - log G1))`` is symmetric by construction (``G1`` and ``G2`` are drawn
    alike); the tiny-α limit is 0 or 1 with probability ½ each. From α = 0.05 on an underflow has a
    probability of about 1e-16, and ``betavariate`` is exact (and faster).
    """
    if alpha >= _TINY_ALPHA:
        return py_random.betavariate(alpha, alpha)  # type: ignore[no-any-return]
    log_g1 = _log_gamma_variate(py_random, alpha)
    log_g2 = _log_gamma_variate(py_random, alpha)
    difference = log_g2 - log_g1
    if difference > 700.0:  # exp would overflow: λ is 0 to double precision
        return 0.0
    return 1.0 / (1.0 + math.exp(difference))


def _log_gamma_variate(py_random: Any, alpha: float) -> float:
    """log of a Gamma(α, 1) variate, for any α > 0 (``Gamma(α) = Gamma(α + 1) · U^(1/α)``)."""
    if alpha >= 1.0:
        return _log(py_random.gammavariate(alpha, 1.0))
    u = 1.0 - py_random.random()  # in (0, 1]
    return _log(py_random.gammavariate(alpha + 1.0, 1.0)) + math.log(u) / alpha


def _log(value: float) -> float:
    return math.log(value) if value > 0.0 else -745.0  # a Gamma(>= 1) variate of exactly 0: one in 2**53


class MixUp(_MixTransform):
    """mixup (Zhang et al., 2018), per sample: blend the sample with a partner drawn from reference data.

    λ ~ Beta(α, α); image = λ·primary + (1 - λ)·partner; label = λ·y_primary + (1 - λ)·y_partner.
    Every target albumentations routes to the transform is mixed with the partner's value under the
    same key, additional targets included (``image2`` gets the same λ).

    Args:
        reference_data: where partners come from: a sequence (list of sample dicts or of file paths,
            a Dataset), indexed with an index the transform draws from its own seeded generator; or
            a callable ``fn(rng) -> dict | None`` that returns the partner itself (None: no partner
            now, the transform then acts as not fired). See ``albu_mix.partners``.
        read_fn: ``read_fn(item) -> dict`` turns a sequence item into a sample dict.
        alpha: α in (0, 1e6] of Beta(α, α). The paper used α = 1 on CIFAR and 0.1-0.4 on ImageNet.
        num_classes: K, needed when labels are class indices.
        partner_transform: an albumentations transform or Compose applied to the partner first, with
            its own random stream (a seed drawn per call from this transform's generator, recorded
            for replay). With boxes or keypoints it must be an ``A.Compose`` with the pipeline's
            ``bbox_params``/``keypoint_params``.
        name: the key under which ``A.from_dict(..., nonserializable={name: transform})`` restores it.
        p: probability of mixing.

    Targets (per kind; the partner's value must be there under the same key):
        image: blended, uint8 rounded to nearest, float32 stays float32.
        mask: class ids are never blended: the mask of the sample with the larger weight (the
            primary's when λ >= 0.5). The partner mask must have the primary mask's dtype.
        masks: instance masks, the primary's then the partner's (N + M).
        bboxes, keypoints: the primary's rows, then the partner's, label fields alike.
        label: float32 vector of length K, also when the transform does not fire.
        mix_lambda (output): the primary's weight λ, 1.0 when the transform does not fire.

    The partner is resized to the primary's height and width when they differ (area interpolation
    when shrinking, linear otherwise, nearest for masks); its boxes and keypoints follow. Another dtype
    or channel count is an error. ``images``, ``volume(s)`` and 3-D masks raise a clear error.

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
        weight_field: str | None = None,
        instance_field: str | None = None,
        name: str | None = None,
        p: float = 0.5,
    ) -> None:
        super().__init__(reference_data, read_fn, alpha, num_classes, partner_transform, weight_field,
                         instance_field, name, p)

    _json_args = ("alpha", "num_classes", "weight_field", "instance_field", "name")

    def draw(self, data: dict[str, Any]) -> dict[str, Any]:
        params = self._draw_partner()
        params["lam"] = draw_lambda(self.py_random, self.alpha)
        return params

    def object_weights(self, geometry: dict[str, Any]) -> tuple[float, float]:
        """Zhang et al., 2019 (Bag of Freebies): each object weighs as much as its image in the blend."""
        return geometry["lam"], 1.0 - geometry["lam"]

    def _geometry(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"lam": params["lam"], "weight": 1.0 - params["lam"]}

    def mix_image(self, image: np.ndarray, partner: np.ndarray, geometry: dict[str, Any]) -> np.ndarray:
        return FM.mixup_image(image, partner, geometry["lam"])

    def mix_mask(self, mask: np.ndarray, partner: np.ndarray, geometry: dict[str, Any]) -> np.ndarray:
        return FM.mixup_mask(mask, partner, geometry["lam"])

    def mix_masks(self, masks: Any, partner: Any, geometry: dict[str, Any]) -> Any:
        return FM.mixup_masks(masks, partner)

    def mix_bboxes(self, boxes: np.ndarray, partner: np.ndarray, geometry: dict[str, Any]) -> np.ndarray:
        return FM.mixup_bboxes(boxes, partner)

    def mix_keypoints(self, keypoints: np.ndarray, partner: np.ndarray, geometry: dict[str, Any]) -> np.ndarray:
        return FM.mixup_keypoints(keypoints, partner)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("reference_data", "read_fn", "alpha", "num_classes", "partner_transform", "weight_field",
                "instance_field", "name")


class CutMix(_MixTransform):
    """CutMix (Yun et al., 2019), per sample: paste a box of a partner drawn from reference data.

    λ ~ Beta(α, α); the box has ``int(H·√(1 - λ))`` rows and ``int(W·√(1 - λ))`` columns, its centre
    uniform over the image, clipped at the borders. The label weight is then **recomputed** from the
    clipped box, as in the authors' released code (timm's ``correct_lam``): the partner's weight is
    exactly the share of pixels it contributes, ``area / (H·W)``, and ``mix_lambda = 1 - area/(H·W)``.
    Every routed target gets the same box, additional targets included.

    Args:
        reference_data, read_fn, num_classes, partner_transform, name, p: as in ``MixUp``.
        alpha: α in (0, 1e6] of Beta(α, α); the paper used α = 1.
        area_range: ``(min, max)`` with 0 <= min <= max <= 1. When set, the box's area fraction is
            drawn uniformly from it instead of from λ (in the spirit of timm's ``cutmix_minmax``);
            the box keeps the image's aspect ratio and is placed fully inside the image, so its
            fraction is the drawn one up to rounding, and λ follows from the box.

    Targets (per kind; the partner's value must be there under the same key):
        image, mask: the partner's pixels (mask values) in exactly the box.
        masks: the primary's instance masks zeroed inside the box, then the partner's zeroed outside.
        bboxes: each primary box cut to its part outside the box (dropped when fully covered or under
            the pipeline's ``min_area``/``min_visibility``/``min_width``/``min_height``), then each
            partner box cropped to the box and filtered alike.
        keypoints: the primary's outside the box, then the partner's inside it (with
            ``remove_invisible=False`` in ``KeypointParams``, all of both).
        label, mix_lambda: as in ``MixUp``.

    The drawn box is recorded in pixels with the image size it was drawn for; replayed on an image of
    another size it is scaled to the same relative place, and the label follows the scaled box.

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
        weight_field: str | None = None,
        instance_field: str | None = None,
        name: str | None = None,
        p: float = 0.5,
    ) -> None:
        super().__init__(reference_data, read_fn, alpha, num_classes, partner_transform, weight_field,
                         instance_field, name, p)
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

    _json_args = ("alpha", "area_range", "num_classes", "weight_field", "instance_field", "name")

    def draw(self, data: dict[str, Any]) -> dict[str, Any]:
        height, width = data["image"].shape[:2]  # check_data has vetted the image
        rng = self.py_random
        if self.area_range is None:
            lam = draw_lambda(rng, self.alpha)
            box = F.cutmix_box(lam, _below(rng, height), _below(rng, width), height, width)
        else:
            ratio = math.sqrt(rng.uniform(*self.area_range))
            rect_h, rect_w = min(height, round(height * ratio)), min(width, round(width * ratio))
            y1, x1 = rng.randint(0, height - rect_h), rng.randint(0, width - rect_w)
            box = (y1, y1 + rect_h, x1, x1 + rect_w)
        return {"box": box, "shape": (height, width), **self._draw_partner()}

    def _geometry(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = data["image"].shape[:2]
        box, shape = params["box"], params.get("shape")
        if shape is not None and (shape[0] != height or shape[1] != width):  # replayed on another size
            box = _scaled_box(box, shape, (height, width))
        return {"box": box, "height": height, "width": width, "weight": F.box_fraction(box, height, width)}

    def object_weights(self, geometry: dict[str, Any]) -> tuple[float, float]:
        """Every object that stays visible keeps its weight: a box cut to its visible part (or dropped by
        the pipeline's ``min_visibility``/``min_area``) carries the same object, as in detection CutMix
        (YOLOv4) and albumentations' own ``CoarseDropout``; the image-level λ describes pixels, not objects."""
        return 1.0, 1.0

    def mix_image(self, image: np.ndarray, partner: np.ndarray, geometry: dict[str, Any]) -> np.ndarray:
        return FM.cutmix_image(image, partner, geometry["box"])

    def mix_mask(self, mask: np.ndarray, partner: np.ndarray, geometry: dict[str, Any]) -> np.ndarray:
        return FM.cutmix_mask(mask, partner, geometry["box"])

    def mix_masks(self, masks: Any, partner: Any, geometry: dict[str, Any]) -> Any:
        return FM.cutmix_masks(masks, partner, geometry["box"])

    def mix_bboxes(self, boxes: np.ndarray, partner: np.ndarray, geometry: dict[str, Any]) -> np.ndarray:
        limits = self._rule_args("bboxes")
        return FM.cutmix_bboxes(
            boxes, partner, geometry["box"], geometry["height"], geometry["width"],
            min_area=limits.get("min_area", 0.0), min_visibility=limits.get("min_visibility", 0.0),
            min_width=limits.get("min_width", 0.0), min_height=limits.get("min_height", 0.0),
        )

    def mix_keypoints(self, keypoints: np.ndarray, partner: np.ndarray, geometry: dict[str, Any]) -> np.ndarray:
        remove = self._rule_args("keypoints").get("remove_invisible", True)
        return FM.cutmix_keypoints(keypoints, partner, geometry["box"], remove_invisible=remove)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("reference_data", "read_fn", "alpha", "area_range", "num_classes", "partner_transform",
                "weight_field", "instance_field", "name")


def _scaled_box(box: Any, drawn_for: Any, size: tuple[int, int]) -> F.Box:
    """``box`` drawn for an image of ``drawn_for`` (height, width), at the same relative place in an
    image of ``size``; unchanged when the sizes agree."""
    y1, y2, x1, x2 = (int(v) for v in box)
    (h0, w0), (h, w) = (int(drawn_for[0]), int(drawn_for[1])), size
    if (h0, w0) == (h, w):
        return (y1, y2, x1, x2)
    return (round(y1 * h / h0), round(y2 * h / h0), round(x1 * w / w0), round(x2 * w / w0))


for _cls in (MixUp, CutMix):
    register(_cls, legacy_names=(f"albu_mix.transforms.{_cls.__name__}",))
