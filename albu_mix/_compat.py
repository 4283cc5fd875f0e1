"""Every albumentations version and fork difference albu_mix depends on, decided here and only here.

albu_mix runs on albumentations 2.0.0 to 2.0.8 and on AlbumentationsX (the AGPL fork, which installs
the same ``albumentations`` module). Each difference is detected by feature, once, at import;
``tests/test_compat.py`` checks every flag against the installed distribution and its version.

The private (or internal) albumentations names albu_mix touches, and where they exist
(2.0.0 / 2.0.2 / 2.0.3 / 2.0.8 / AlbumentationsX 2.5.1; checked by reading and running each):

- ``core.types.Targets``: 2.0.0 only; ``core.type_definitions.Targets``: 2.0.1 on, X.
- ``BasicTransform._key2func``, ``._additional_targets``, ``._targets``, ``.targets``,
  ``.add_targets``, ``.available_keys``: all.
- ``BasicTransform.set_processors``, called by ``Compose`` on every transform it holds: 2.0.x only.
  ``get_processor``: all; on X it returns a call-local copy, and ``None`` outside a call.
- ``Compose.processors`` whose ``preprocess``/``postprocess`` the root ``Compose`` calls once per
  call (the pipeline hook, ``albu_mix._pipeline``): 2.0.x; on X a transform cannot reach it.
- ``BasicTransform.should_apply``: 2.0.x only. ``apply_in_invocation``,
  ``can_apply_without_invocation``, ``invocation.collect_applied``, ``_replay_params``: X only.
- ``BasicTransform.params``: a dict on 2.0.x, a call-local property on X; ``py_random`` and
  ``random_generator``: attributes on 2.0.x, the root pipeline's streams inside a call on X.
- ``replay_mode``, ``applied_in_replay``, ``save_key``, ``deterministic``, ``get_dict_with_id``,
  ``to_dict_private``, ``SERIALIZABLE_REGISTRY``, ``NON_SERIALIZABLE_REGISTRY``: all.
- ``BasicTransform.strict`` and ``invalid_args``: 2.0.3 on, X (2.0.0-2.0.2's ``Compose`` defaults
  to ``strict=True`` and does not read ``invalid_args``).
- ``BboxParams.format``: 2.0.x; ``BboxParams.coord_format``: X.
- processors' ``check_and_convert``, ``preprocess``, ``params.label_fields``: all;
  ``is_sequence_input``: 2.0.x only; ``label_manager.metadata[key][field].is_numerical/.encoder``:
  2.0.3 on and X; ``is_numerical_label``/``label_encoders``: 2.0.0-2.0.2. Label encoders'
  ``classes_``, ``inverse_classes_``, ``num_classes``: all (albu_mix extends them).
- ``core.utils.get_shape``: all (a dict on 2.0.x, a tuple on X; albu_mix only hands it back).
- ``A.Mosaic`` (``metadata_key``): 2.0.8 and X; not in 2.0.0-2.0.3.
- ``A.Sequential`` subclassed by ``albu_mix.schedule.EpochWindow``: its ``__call__`` (2.0.x: runs
  every child in replay mode) and ``apply_in_invocation`` (X: reads ``applied_in_replay``);
  ``BaseCompose.set_deterministic``, ``get_dict_with_id``, ``to_dict_private``, ``indented_repr``: all;
  ``BaseCompose._get_reconstruction_kwargs`` and ``BaseCompose.__getstate__``: X only.
"""

from __future__ import annotations

from typing import Any

import albumentations
from albumentations.core.transforms_interface import BasicTransform

try:  # albumentations >= 2.0.1 and AlbumentationsX
    from albumentations.core.type_definitions import Targets
except ImportError:  # albumentations 2.0.0
    from albumentations.core.types import Targets  # type: ignore[no-redef]

__all__ = [
    "ALBUMENTATIONSX",
    "HAS_MOSAIC",
    "HAS_SHOULD_APPLY",
    "PIPELINE_HOOK",
    "Targets",
    "bbox_params",
    "coord_format",
    "encoder_state",
    "preprocess_keeping_sequence_record",
    "replayed_params",
]

#: AlbumentationsX's call protocol: ``Compose`` calls ``apply_in_invocation``, params and random
#: streams live in a per-call invocation.
ALBUMENTATIONSX: bool = hasattr(BasicTransform, "apply_in_invocation")
#: albumentations 2.0 draws ``p`` in ``should_apply``; AlbumentationsX has no such method.
HAS_SHOULD_APPLY: bool = hasattr(BasicTransform, "should_apply")
#: albumentations 2.0's ``Compose`` hands its processors dict to every transform it holds, and its root
#: calls ``preprocess``/``postprocess`` of every entry once per call: the pipeline hook's mechanism.
PIPELINE_HOOK: bool = hasattr(BasicTransform, "set_processors")
#: ``A.Mosaic`` (albumentations 2.0.8, AlbumentationsX)
HAS_MOSAIC: bool = hasattr(albumentations, "Mosaic")


def coord_format(params: Any) -> str:
    """The coordinate format of ``BboxParams``/``KeypointParams`` (AlbumentationsX: ``coord_format``)."""
    return getattr(params, "format", None) or params.coord_format


def bbox_params(coords: str, **kwargs: Any) -> Any:
    """``A.BboxParams`` with its coordinate format, under the argument name this version takes."""
    key = "coord_format" if ALBUMENTATIONSX else "format"
    return albumentations.BboxParams(**{key: coords}, **kwargs)


def replayed_params(transform: Any) -> dict[str, Any]:
    """The params ``ReplayCompose.replay`` assigned to ``transform.params``. AlbumentationsX stores an
    assignment made outside a call in ``_replay_params``; ``params`` then reads the current call's."""
    return vars(transform).get("_replay_params", transform.params)


def encoder_state(processor: Any, key: str, field: str) -> tuple[bool, Any]:
    """(labels are numbers, the label encoder) of one label field, as this call encoded it."""
    manager = getattr(processor, "label_manager", None)
    if manager is not None:  # albumentations >= 2.0.3, AlbumentationsX
        metadata = manager.metadata[key][field]
        return bool(metadata.is_numerical), metadata.encoder
    # albumentations 2.0.0 - 2.0.2
    return bool(processor.is_numerical_label[key][field]), processor.label_encoders.get(key, {}).get(field)


def preprocess_keeping_sequence_record(processor: Any, data: dict[str, Any]) -> None:
    """``processor.preprocess(data)`` on a temporary dict, keeping the processor's record of whether
    this call's own input was a list (albumentations 2.0 decides the output type from it; X has none)."""
    record = getattr(processor, "is_sequence_input", None)
    saved = dict(record) if record is not None else None
    try:
        processor.preprocess(data)
    finally:
        if record is not None and saved is not None:
            record.clear()
            record.update(saved)
