"""albu_mix._compat: every flag agrees with the installed distribution, and each path works.

The tests learn which albumentations is installed from the package metadata (``conftest.installed``),
never from the library's own flags, so a wrong flag is caught here.
"""

from __future__ import annotations

import types
from typing import Any

import albumentations as A
import numpy as np
import pytest
from conftest import ALBUMENTATIONSX, installed, make_image

from albu_mix import MixUp, _compat


def version() -> tuple[int, ...]:
    text = installed("albumentationsx") or installed("albumentations")
    assert text is not None
    return tuple(int(part) for part in text.split(".")[:3])


def test_the_fork_is_told_by_its_call_protocol() -> None:
    assert _compat.ALBUMENTATIONSX == ALBUMENTATIONSX
    assert _compat.HAS_SHOULD_APPLY == (not ALBUMENTATIONSX)
    assert _compat.PIPELINE_HOOK == (not ALBUMENTATIONSX)


def test_targets_come_from_where_this_version_keeps_them() -> None:
    module = _compat.Targets.__module__
    if not ALBUMENTATIONSX and version() == (2, 0, 0):
        assert module == "albumentations.core.types"
    else:
        assert module == "albumentations.core.type_definitions"


def test_mosaic_is_there_from_2_0_8_and_in_the_fork() -> None:
    if ALBUMENTATIONSX or version() >= (2, 0, 8):
        assert _compat.HAS_MOSAIC
    if not ALBUMENTATIONSX and version() <= (2, 0, 3):
        assert not _compat.HAS_MOSAIC


def test_the_pipeline_hook_is_called_where_the_flag_says() -> None:
    mixer = MixUp([{"image": make_image(seed=1), "label": 1}], num_classes=3)
    pipeline = A.Compose([A.OneOf([mixer], p=0.0)])  # the mixer is never called
    hooked = "albu_mix" in (getattr(pipeline, "processors", None) or {})
    assert hooked == _compat.PIPELINE_HOOK
    out = pipeline(image=make_image())  # no label: only the hook can give it mix_lambda
    assert ("mix_lambda" in out) == _compat.PIPELINE_HOOK


def _processor_of(pipeline: Any) -> Any:
    seen: dict[str, Any] = {}

    class Spy(A.HorizontalFlip):
        def apply_to_bboxes(self, bboxes: np.ndarray, **params: Any) -> np.ndarray:
            seen["processor"] = self.get_processor("bboxes")
            return super().apply_to_bboxes(bboxes, **params)

    compose = A.Compose([Spy(p=1.0)], bbox_params=_compat.bbox_params("pascal_voc", label_fields=["names"]))
    compose(image=make_image(), bboxes=[[1, 2, 10, 12]], names=["cat"])
    return seen["processor"]


def test_label_encoders_are_found_where_this_version_keeps_them() -> None:
    processor = _processor_of(None)
    assert processor is not None
    numerical, encoder = _compat.encoder_state(processor, "bboxes", "names")
    assert numerical is False and encoder.classes_ == {"cat": 0} or list(encoder.classes_) == ["cat"]
    has_manager = getattr(processor, "label_manager", None) is not None
    assert has_manager == (ALBUMENTATIONSX or version() >= (2, 0, 3))


def test_the_fallback_for_2_0_0_to_2_0_2_reads_the_old_attributes() -> None:
    """The path albumentations 2.0.0-2.0.2 take, forced with a processor shaped like theirs."""
    encoder = types.SimpleNamespace(classes_={"dog": 0})
    old = types.SimpleNamespace(is_numerical_label={"bboxes": {"names": False, "ids": True}},
                                label_encoders={"bboxes": {"names": encoder}})
    assert _compat.encoder_state(old, "bboxes", "names") == (False, encoder)
    assert _compat.encoder_state(old, "bboxes", "ids") == (True, None)


def test_coordinate_formats_under_either_name() -> None:
    params = _compat.bbox_params("coco", label_fields=["x"])
    assert _compat.coord_format(params) == "coco"
    assert _compat.coord_format(types.SimpleNamespace(coord_format="yolo")) == "yolo"


def test_preprocessing_a_partner_keeps_the_record_of_the_primarys_input_type() -> None:
    record = {"bboxes": True}

    class Processor:
        is_sequence_input = record

        def preprocess(self, data: dict[str, Any]) -> None:
            record["bboxes"] = False  # what albumentations 2.0 does for an array input

    _compat.preprocess_keeping_sequence_record(Processor(), {})
    assert record == {"bboxes": True}
    _compat.preprocess_keeping_sequence_record(types.SimpleNamespace(preprocess=lambda data: None), {})  # X: none


@pytest.mark.skipif(not ALBUMENTATIONSX, reason="the fork keeps replayed params apart")
def test_replayed_params_on_the_fork() -> None:
    t = types.SimpleNamespace(params={"now": 1})
    t._replay_params = {"replayed": 1}  # type: ignore[attr-defined]
    assert _compat.replayed_params(t) == {"replayed": 1}
