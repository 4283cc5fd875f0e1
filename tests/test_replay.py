"""Replay, serialization and copying in the pipeline shapes users write: OneOf, SomeOf, nested
Compose, partner_transform, mixers that do not fire, replay on other sizes, saved configs."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import albumentations as A
import numpy as np
import pytest
from conftest import ALBUMENTATIONSX, PIPELINE_HOOK, K, make_image, reference_samples

import albu_mix
from albu_mix import CutMix, Cutout, LabelSmoothing, MixUp


def equal(a: dict[str, Any], b: dict[str, Any], keys: tuple[str, ...] = ("image", "mask", "label", "mix_lambda")) -> bool:
    for key in keys:
        if (key in a) != (key in b):
            return False
        if key not in a:
            continue
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.dtype == y.dtype
                    and np.array_equal(x, y)):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def samples_with_masks(n: int = 6) -> list[dict[str, Any]]:
    return [{**s, "mask": np.full(s["image"].shape[:2], i, np.uint8)} for i, s in enumerate(reference_samples(n))]


def data(seed: int = 0) -> dict[str, Any]:
    image = make_image(seed=seed)
    return {"image": image, "mask": np.full(image.shape[:2], 9, np.uint8), "label": seed % K}


def flip_partner() -> Any:
    return A.Compose([A.HorizontalFlip(p=0.5), A.RandomBrightnessContrast(p=0.5)])


SHAPES: dict[str, Any] = {
    "OneOf": lambda refs: [A.OneOf([MixUp(refs, num_classes=K), CutMix(refs, num_classes=K)], p=0.7)],
    "OneOf-then-smoothing": lambda refs: [
        A.OneOf([MixUp(refs, num_classes=K), CutMix(refs, num_classes=K)], p=0.5), LabelSmoothing(0.1, num_classes=K)],
    "SomeOf": lambda refs: [A.SomeOf([MixUp(refs, num_classes=K, p=1), Cutout(6, p=1), CutMix(refs, num_classes=K, p=1)],
                                     n=2, p=0.8), LabelSmoothing(0.0, num_classes=K)],
    "nested-Compose": lambda refs: [A.HorizontalFlip(), A.Compose([MixUp(refs, num_classes=K, p=0.5),
                                                                    A.Compose([CutMix(refs, num_classes=K, p=0.5)])], p=0.8)],
    "unfired-mixers": lambda refs: [MixUp(refs, num_classes=K, p=0.3), CutMix(refs, num_classes=K, p=0.3)],
    "partner_transform": lambda refs: [
        A.HorizontalFlip(), MixUp(refs, num_classes=K, partner_transform=flip_partner(), p=0.6),
        CutMix(refs, num_classes=K, partner_transform=flip_partner(), p=0.6)],
}


@pytest.mark.parametrize("shape", SHAPES)
def test_replay_is_exact_in_every_pipeline_shape(shape: str) -> None:
    refs = samples_with_masks()
    pipeline = A.ReplayCompose(SHAPES[shape](refs))
    pipeline.set_random_seed(3)
    mixed = 0
    for i in range(60):
        original = pipeline(**data(i))
        replayed = A.ReplayCompose.replay(original["replay"], **data(i))
        assert equal(original, replayed), f"call {i}"
        mixed += original.get("mix_lambda", 1.0) != 1.0
    assert 0 < mixed < 60  # both mixed and unmixed samples were replayed


def test_the_unchosen_mixer_of_a_oneof_leaves_mix_lambda_alone() -> None:
    refs = samples_with_masks()
    pipeline = A.ReplayCompose([A.OneOf([MixUp(refs, num_classes=K), CutMix(refs, num_classes=K)], p=1.0)])
    pipeline.set_random_seed(0)
    for i in range(40):
        original = pipeline(**data(i))
        replayed = A.ReplayCompose.replay(original["replay"], **data(i))
        assert replayed["mix_lambda"] == original["mix_lambda"]
        assert np.array_equal(replayed["label"], original["label"])


def test_an_unfired_oneof_replays_the_label_as_given() -> None:
    refs = samples_with_masks()
    pipeline = A.ReplayCompose([A.OneOf([MixUp(refs, num_classes=K), CutMix(refs, num_classes=K)], p=0.0)])
    original = pipeline(**data(1))
    replayed = A.ReplayCompose.replay(original["replay"], **data(1))
    assert original["label"] == replayed["label"] == 1
    # the pipeline holds mixers: every sample leaves it with mix_lambda (where albumentations lets albu_mix see
    # the end of a call), here 1.0 since nothing mixed it
    assert replayed.get("mix_lambda", 1.0) == original.get("mix_lambda", 1.0) == 1.0
    assert ("mix_lambda" in replayed) == PIPELINE_HOOK


def test_an_unfired_mixer_is_recorded_as_such() -> None:
    pipeline = A.ReplayCompose([MixUp(reference_samples(), num_classes=K, p=0.0)])
    out = pipeline(**data(2))
    assert out["replay"]["transforms"][0]["params"] == {"fired": False}
    replayed = A.ReplayCompose.replay(out["replay"], **data(2))
    assert replayed["mix_lambda"] == 1.0 and np.array_equal(replayed["label"], out["label"])


@pytest.mark.parametrize("size", [(20, 28), (80, 112), (40, 56)])
def test_cutmix_replayed_on_another_size_keeps_weights_matching_the_pixels(size: tuple[int, int]) -> None:
    white = [{"image": np.full((40, 56, 3), 255, np.uint8), "label": 1}]
    pipeline = A.ReplayCompose([CutMix(white, num_classes=2, p=1.0)])
    pipeline.set_random_seed(1)
    for _ in range(20):
        out = pipeline(image=np.zeros((40, 56, 3), np.uint8), label=0)
        again = A.ReplayCompose.replay(out["replay"], image=np.zeros((*size, 3), np.uint8), label=0)
        share = float((again["image"] == 255).all(axis=-1).mean())
        assert 0.0 <= again["mix_lambda"] <= 1.0
        assert again["label"][1] == np.float32(share) and again["mix_lambda"] == pytest.approx(1 - share)
        if size == (40, 56):
            assert equal(out, again)


def test_replay_record_is_small_plain_and_json() -> None:
    big = [{"image": np.zeros((256, 256, 3), np.uint8), "label": i % K} for i in range(200)]
    pipeline = A.ReplayCompose([A.OneOf([MixUp(big, num_classes=K), CutMix(big, num_classes=K,
                                         partner_transform=A.Compose([A.HorizontalFlip()]))], p=1.0)])
    for i in range(10):
        out = pipeline(image=np.zeros((64, 64, 3), np.uint8), label=0)
        text = json.dumps(out["replay"])
        assert len(text) < 4096
        assert len(pickle.dumps(out["replay"])) < 4096
        replayed = A.ReplayCompose.replay(json.loads(text), image=np.zeros((64, 64, 3), np.uint8), label=0)
        assert equal(out, replayed)


def test_replay_of_a_pipeline_that_is_gone_says_so() -> None:
    out = A.ReplayCompose([MixUp(reference_samples(), num_classes=K, p=1.0)])(**data(0))
    record = out["replay"]
    del out
    import gc

    gc.collect()
    with pytest.raises(ValueError, match=r"MixUp: ReplayCompose.replay needs the pipeline that recorded this replay"):
        A.ReplayCompose.replay(record, **data(0))


# ---------------------------------------------------------------------------------------------
# partner_transform's own stream
# ---------------------------------------------------------------------------------------------


def test_partner_transform_does_not_move_in_lock_step_with_the_pipeline() -> None:
    """With Compose(seed=s) every child gets the same seed, so two identical flips move together;
    the partner's flip has a stream of its own and agrees with the pipeline's about half the time."""
    ramp = np.tile(np.arange(56, dtype=np.uint8), (40, 1))[..., None].repeat(3, 2)  # column c holds c
    refs = [{"image": ramp, "label": 0}]
    pipeline = A.Compose([A.HorizontalFlip(p=0.5),
                          CutMix(refs, num_classes=K, partner_transform=A.HorizontalFlip(p=0.5), p=1.0)], seed=5)
    primary = np.full((40, 56, 3), 200, np.uint8)
    primary[:, :28] = 100  # left half 100, right half 200: a flip shows
    agree = 0
    for _ in range(200):
        image = pipeline(image=primary, label=0)["image"][..., 0].astype(int)
        pasted = image < 100
        ys, xs = np.nonzero(pasted)
        if len(set(xs.tolist())) < 2:
            continue  # a box too thin to show a flip
        partner_flipped = bool((image[ys, xs] == 55 - xs).all())
        assert partner_flipped or (image[ys, xs] == xs).all()
        ys, xs = np.nonzero(~pasted)
        pipeline_flipped = bool(image[ys[0], xs[0]] == (200 if xs[0] < 28 else 100))
        agree += partner_flipped == pipeline_flipped
    assert 50 < agree < 150


def test_partner_transform_is_seeded_per_call_from_the_mixer() -> None:
    refs = reference_samples()
    make = lambda seed: A.Compose([MixUp(refs, num_classes=K, partner_transform=flip_partner(), p=1.0)], seed=seed)
    first = [make(4)(image=make_image(seed=i), label=0) for i in range(10)]
    again = [make(4)(image=make_image(seed=i), label=0) for i in range(10)]
    other = [make(5)(image=make_image(seed=i), label=0) for i in range(10)]
    assert all(equal(a, b) for a, b in zip(first, again))
    assert not all(equal(a, b) for a, b in zip(first, other))


# ---------------------------------------------------------------------------------------------
# Collating, serialization, copying
# ---------------------------------------------------------------------------------------------


def test_every_sample_has_mix_lambda_after_a_final_label_smoothing() -> None:
    refs = reference_samples()
    pipeline = A.Compose([A.OneOf([MixUp(refs, num_classes=K), CutMix(refs, num_classes=K)], p=0.5),
                          LabelSmoothing(0.1, num_classes=K)], seed=2)
    outs = [pipeline(**data(i)) for i in range(30)]
    assert all("mix_lambda" in o for o in outs)
    assert {o["mix_lambda"] == 1.0 for o in outs} == {True, False}
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate

    batch = default_collate([{"label": o["label"], "mix_lambda": o["mix_lambda"]} for o in outs])
    assert batch["mix_lambda"].shape == (30,) and torch.allclose(batch["label"].sum(1), torch.ones(30))


@pytest.mark.skipif(ALBUMENTATIONSX, reason="AlbumentationsX lists realized configurations (applied_config) instead")
def test_label_smoothing_is_listed_in_saved_applied_params() -> None:
    pipeline = A.Compose([LabelSmoothing(0.1, num_classes=K)], save_applied_params=True)
    out = pipeline(**data(0))
    assert [name for name, _ in out["applied_transforms"]] == ["LabelSmoothing"]


@pytest.mark.skipif(not PIPELINE_HOOK, reason="AlbumentationsX gives a transform no way to see its pipeline")
@pytest.mark.parametrize("second", [MixUp, CutMix])
def test_two_mixers_with_one_name_are_refused_when_the_pipeline_is_restored(second: type) -> None:
    refs = reference_samples()
    pipeline = A.Compose([MixUp(refs, num_classes=K), A.OneOf([second(refs, num_classes=K, name="MixUp")])])
    assert repr(pipeline).startswith("Compose(")  # a working pipeline: repr (notebooks, loggers) must not raise
    saved = json.loads(json.dumps(A.to_dict(pipeline)))
    with pytest.raises(ValueError, match=r"(MixUp|CutMix): the saved pipeline holds 2 transforms named 'MixUp'.*name="):
        A.from_dict(saved, nonserializable={"MixUp": MixUp(refs, num_classes=K)})
    fine = A.Compose([MixUp(refs, num_classes=K), A.OneOf([second(refs, num_classes=K, name="other")])])
    restored = A.from_dict(A.to_dict(fine), nonserializable={"MixUp": fine.transforms[0], "other": fine.transforms[1].transforms[0]})
    assert isinstance(restored, A.Compose)


@pytest.mark.skipif(not PIPELINE_HOOK, reason="AlbumentationsX gives a transform no way to see its pipeline")
def test_two_unnamed_mixups_are_refused_too_and_their_repr_works() -> None:
    refs = reference_samples()
    pipeline = A.OneOf([MixUp(refs, num_classes=K, alpha=0.2), MixUp(refs, num_classes=K, alpha=1.0)])
    composed = A.Compose([pipeline])
    assert "MixUp" in repr(composed) and "MixUp" in str(composed)
    with pytest.raises(ValueError, match=r"2 transforms named 'MixUp' \(MixUp, MixUp\)"):
        A.from_dict(A.to_dict(composed), nonserializable={"MixUp": MixUp(refs, num_classes=K, alpha=0.2)})


def test_serialization_does_not_walk_the_call_stack() -> None:
    """Saving one pipeline from a method of an object whose .transforms holds two pipelines (each with a
    MixUp of the default name) works: no search of the caller's frames for the pipeline being saved."""
    refs = reference_samples()

    class Holder:
        def __init__(self) -> None:
            self.transforms = [A.Compose([MixUp(refs, num_classes=K)]), A.Compose([MixUp(refs, num_classes=K)])]

        def save_first(self) -> dict[str, Any]:
            return A.to_dict(self.transforms[0])

    saved = Holder().save_first()
    restored = A.from_dict(saved, nonserializable={"MixUp": MixUp(refs, num_classes=K)})
    assert isinstance(restored.transforms[0], MixUp)


@pytest.mark.parametrize(("given", "differs"), [({"alpha": 0.9}, "alpha"), ({"p": 0.2}, "p"), ({"num_classes": 7}, "num_classes")])
def test_a_restoring_object_that_differs_from_the_saved_arguments_is_an_error(given: dict[str, Any], differs: str) -> None:
    refs = reference_samples()
    saved = json.loads(json.dumps(A.to_dict(A.Compose([MixUp(refs, alpha=0.4, num_classes=K, p=0.5, name="mix")]))))
    args = {"alpha": 0.4, "num_classes": K, "p": 0.5, **given}
    with pytest.raises(ValueError, match=rf"MixUp: the object passed in nonserializable\['mix'\] differs.*{differs}: saved"):
        A.from_dict(saved, nonserializable={"mix": MixUp(refs, name="mix", **args)})
    restored = A.from_dict(saved, nonserializable={"mix": MixUp(refs, alpha=0.4, num_classes=K, p=0.5, name="mix")})
    assert restored.transforms[0].alpha == 0.4


def test_numpy_scalar_arguments_serialize_as_plain_numbers() -> None:
    pipeline = A.Compose([Cutout(np.int64(5), num_holes=np.int64(2), fill=np.float32(3.0), p=np.float64(0.5)),
                          LabelSmoothing(np.float32(0.25), num_classes=np.int64(K)),
                          MixUp(reference_samples(), alpha=np.float64(0.4), num_classes=np.int64(K))])
    text = json.dumps(A.to_dict(pipeline))
    assert '"size": 5' in text and '"num_classes": 5' in text


@pytest.mark.parametrize("cls", [MixUp, CutMix])
def test_deepcopy_works_whatever_the_callbacks(cls: type) -> None:
    items = ["a", "b"]
    t = cls(items, read_fn=lambda item: {"image": make_image(), "label": 1}, num_classes=K, p=1.0)
    pipeline = A.Compose([t], seed=1)
    twin = copy.deepcopy(pipeline)
    assert twin.transforms[0].reference_data is items  # shared, not copied
    assert equal(pipeline(image=make_image(), label=1), twin(image=make_image(), label=1))
    with pytest.raises(TypeError, match="lambda"):
        pickle.dumps(t)


def test_alpha_has_an_upper_bound_and_it_draws() -> None:
    assert albu_mix.mixing.MAX_ALPHA == 1e6
    out = MixUp(reference_samples(), alpha=1e6, num_classes=K, p=1.0)(**data(0))
    assert out["mix_lambda"] == pytest.approx(0.5, abs=0.01)


def test_a_saved_pipeline_loads_without_its_seed_as_the_readme_says() -> None:
    """albumentations 2.0 does not store Compose(seed=...) (AlbumentationsX does): the README tells users
    to pass it again."""
    saved = A.to_dict(A.Compose([albu_mix.Cutout(4)], seed=3))
    loaded = A.from_dict(saved)
    assert loaded.seed == (3 if ALBUMENTATIONSX else None)
    albu_mix.reseed(loaded, 3)  # the README's way back to a repeatable run
    again = A.from_dict(saved)
    albu_mix.reseed(again, 3)
    image = make_image()
    assert np.array_equal(loaded(image=image)["image"], again(image=image)["image"])
