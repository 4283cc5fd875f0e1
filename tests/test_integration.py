"""Every transform in albumentations' machinery, driven from the one table in conftest."""

from __future__ import annotations

import inspect
import json
from typing import Any

import albumentations as A
import numpy as np
import pytest
from albumentations.core.transforms_interface import BasicTransform
from conftest import TRANSFORM_TABLE

import albu_mix


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = {k for k in a if k != "replay"} | {k for k in b if k != "replay"}
    for key in keys:
        if key not in a or key not in b:
            return False
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (np.asarray(x).dtype == np.asarray(y).dtype and np.array_equal(x, y)):
                return False
        elif x != y:
            return False
    return True


def run(pipeline: Any, make_data: Any, calls: int = 12) -> list[dict[str, Any]]:
    return [pipeline(**make_data()) for _ in range(calls)]


def test_table_covers_every_public_transform() -> None:
    public = {
        name
        for name in albu_mix.__all__
        if inspect.isclass(getattr(albu_mix, name)) and issubclass(getattr(albu_mix, name), BasicTransform)
    }
    tabled = {type(factory()).__name__ for _, factory, _ in TRANSFORM_TABLE}
    assert public == {"Cutout", "LabelSmoothing", "MixUp", "CutMix", "Remember", "Recall"}
    # Remember draws nothing (it always remembers) and Recall only works behind a Remember of the same
    # pool: the table's one-transform checks do not apply; tests/test_pool.py and tests/test_detection.py
    # drive them through Compose, ReplayCompose, strict mode and serialization
    assert public - {"Remember", "Recall"} <= tabled, f"add {public - tabled} to TRANSFORM_TABLE in conftest.py"


def test_strict_compose(transform_case: Any) -> None:
    _, factory, make_data = transform_case
    pipeline = A.Compose([factory()], strict=True, seed=3)
    for out in run(pipeline, make_data):
        data = make_data()
        assert out["image"].shape == data["image"].shape and out["image"].dtype == data["image"].dtype
        if "label" in data:
            assert out["label"].dtype == np.float32 and out["label"].shape == (5,)


def test_strict_compose_rejects_unknown_keys(transform_case: Any) -> None:
    _, factory, make_data = transform_case
    with pytest.raises(ValueError, match="not in available keys"):
        A.Compose([factory()], strict=True)(**make_data(), unknown_key=1)


def test_same_seed_same_outputs_other_seed_other_outputs(transform_case: Any) -> None:
    _, factory, make_data = transform_case
    first = run(A.Compose([factory()], seed=11), make_data)
    second = run(A.Compose([factory()], seed=11), make_data)
    other = run(A.Compose([factory()], seed=12), make_data)
    assert all(same(a, b) for a, b in zip(first, second))
    assert not all(same(a, b) for a, b in zip(first, other))


def test_replay_compose_replays_exactly(transform_case: Any) -> None:
    _, factory, make_data = transform_case
    pipeline = A.ReplayCompose([factory()])
    pipeline.set_random_seed(5)
    fired = 0
    for _ in range(12):
        data = make_data()
        out = pipeline(**data)
        replayed = A.ReplayCompose.replay(out["replay"], **make_data())
        assert same(out, replayed)
        record = out["replay"]["transforms"][0]
        fired += record["applied"] and record["params"].get("fired", True)
    assert 0 < fired < 12  # p=0.7: both branches were replayed


def test_replay_record_holds_no_pixels(transform_case: Any) -> None:
    _, factory, make_data = transform_case
    out = A.ReplayCompose([factory()], p=1.0)(**make_data(), force_apply=True)
    params = out["replay"]["transforms"][0]["params"] or {}
    assert not any(isinstance(v, np.ndarray) and v.size > 4 for v in params.values())


def _serializable(transform: Any) -> bool:
    return type(transform).is_serializable()


def test_to_dict_from_dict_round_trip(transform_case: Any, tmp_path: Any) -> None:
    _, factory, make_data = transform_case
    transform = factory()
    pipeline = A.Compose([transform], seed=9)
    as_dict = A.to_dict(pipeline)
    if _serializable(transform):
        restored = A.from_dict(json.loads(json.dumps(as_dict)))
    else:
        name = as_dict["transform"]["transforms"][0]["name"]
        restored = A.from_dict(json.loads(json.dumps(as_dict)), nonserializable={name: factory()})
    assert json.loads(json.dumps(A.to_dict(restored))) == json.loads(json.dumps(as_dict))
    restored.set_random_seed(9)
    pipeline.set_random_seed(9)
    assert all(same(a, b) for a, b in zip(run(pipeline, make_data), run(restored, make_data)))


def test_save_load_json(transform_case: Any, tmp_path: Any) -> None:
    _, factory, _ = transform_case
    transform = factory()
    path = tmp_path / "pipeline.json"
    A.save(A.Compose([transform]), str(path), data_format="json")
    saved = json.loads(path.read_text())
    entry = saved["transform"]["transforms"][0]
    nonserializable = None if _serializable(transform) else {entry["name"]: factory()}
    loaded = A.load(str(path), data_format="json", nonserializable=nonserializable)
    assert type(loaded.transforms[0]) is type(transform)
    assert loaded.transforms[0].p == transform.p


@pytest.mark.parametrize("cls", [albu_mix.MixUp, albu_mix.CutMix])
def test_from_dict_without_the_live_object_says_what_to_pass(cls: Any) -> None:
    from conftest import reference_samples

    as_dict = json.loads(json.dumps(A.to_dict(A.Compose([cls(reference_samples(), name="train_mix", num_classes=5)]))))
    with pytest.raises(ValueError, match="train_mix"):
        A.from_dict(as_dict)
    with pytest.raises(ValueError, match=rf"{cls.__name__}.*train_mix.*nonserializable="):
        A.from_dict(as_dict, nonserializable={"other": None})


@pytest.mark.parametrize("cls", [albu_mix.MixUp, albu_mix.CutMix])
def test_json_form_keeps_the_plain_arguments(cls: Any) -> None:
    from conftest import reference_samples

    entry = A.to_dict(cls(reference_samples(), alpha=0.7, num_classes=5, p=0.3))["transform"]
    assert entry["alpha"] == 0.7 and entry["num_classes"] == 5 and entry["p"] == 0.3
    assert "reference_data" not in entry and "read_fn" not in entry
