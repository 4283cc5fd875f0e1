"""Schedules: transforms switched on and off by epoch, in one process and in persistent DataLoader
workers started with fork, spawn and forkserver; replay, seeds, serialization, pickling, copies."""

from __future__ import annotations

import copy
import gc
import json
import pickle
from typing import Any

import albumentations as A
import numpy as np
import pytest
import schedule_support as support
from conftest import K, make_image, reference_samples

from albu_mix import CutMix, Cutout, LabelSmoothing, MixUp
from albu_mix._compat import HAS_MOSAIC
from albu_mix.schedule import EpochWindow, Schedule

IMAGE = make_image()


class Probe(A.NoOp):
    """albumentations' NoOp that counts the calls that reach it."""

    calls = 0

    def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
        Probe.calls += 1
        return img


def outputs(pipeline: A.Compose, n: int = 6, **data: Any) -> list[tuple[bytes, bytes, float]]:
    """(image, label, mix_lambda) of ``n`` calls, comparable exactly."""
    out = []
    for _ in range(n):
        result = pipeline(image=IMAGE, label=2, **data)
        out.append((result["image"].tobytes(), result["label"].tobytes(), result.get("mix_lambda", 1.0)))
    return out


# -- the schedule ---------------------------------------------------------------------------------


def test_set_epoch_sets_the_epoch_every_window_reads() -> None:
    schedule = Schedule()
    assert schedule.epoch == 0 and schedule.name == "Schedule"
    window = schedule.during((3, None), [A.HorizontalFlip(p=1.0)])
    assert not window.is_open
    schedule.set_epoch(np.int64(3))
    assert schedule.epoch == 3 and type(schedule.epoch) is int and window.is_open
    schedule.set_epoch(2**40)
    assert window.is_open
    assert repr(Schedule(5, name="mix")) == "Schedule(epoch=5, name='mix')"


@pytest.mark.parametrize("epochs, at, expected", [
    (range(3), [0, 2, 3, 9], [True, True, False, False]),
    (range(2, 10, 3), [2, 3, 5, 8, 11], [True, False, True, True, False]),
    ((4, 6), [3, 4, 5, 6], [False, True, True, False]),
    ((4, None), [3, 4, 10**6], [False, True, True]),
])
def test_which_epochs_open_a_window(epochs: Any, at: list[int], expected: list[bool]) -> None:
    schedule = Schedule()
    window = schedule.during(epochs, [A.NoOp()])
    opened = []
    for epoch in at:
        schedule.set_epoch(epoch)
        opened.append(window.is_open)
    assert opened == expected


BAD_ARGUMENTS = [
    (lambda: Schedule().set_epoch(-1), ValueError, r"Schedule\.set_epoch: expected an int >= 0 for the epoch, got int -1"),
    (lambda: Schedule().set_epoch(1.0), TypeError, r"Schedule\.set_epoch: expected an int >= 0 .*got float 1\.0"),
    (lambda: Schedule().set_epoch(True), TypeError, r"Schedule\.set_epoch: expected an int >= 0 .*got bool True"),
    (lambda: Schedule().set_epoch("3"), TypeError, r"Schedule\.set_epoch: .*got str '3'"),
    (lambda: Schedule().set_epoch(2**63), ValueError, r"Schedule\.set_epoch: expected an int >= 0"),
    (lambda: Schedule(-2), ValueError, r"Schedule: expected an int >= 0 for the epoch, got int -2"),
    (lambda: Schedule(name=""), ValueError, r"Schedule: expected a non-empty string for name, got str ''"),
    (lambda: Schedule(name=None), TypeError, r"Schedule: expected a non-empty string for name, got NoneType None"),
    (lambda: Schedule().during([0, 5], [A.NoOp()]), TypeError,
     r"Schedule\.during: expected for epochs a range or a \(start, stop\) pair .*got list \[0, 5\] \(a list is ambiguous"),
    (lambda: Schedule().during(5, [A.NoOp()]), TypeError, r"Schedule\.during: expected for epochs .*got int 5"),
    (lambda: Schedule().during(range(3, 3), [A.NoOp()]), ValueError,
     r"Schedule\.during: expected epochs holding at least one epoch, got the empty range\(3, 3\)"),
    (lambda: Schedule().during(range(-2, 3), [A.NoOp()]), ValueError, r"Schedule\.during: expected epochs >= 0"),
    (lambda: Schedule().during((5, 2), [A.NoOp()]), ValueError,
     r"Schedule\.during: expected epochs \(start, stop\) with 0 <= start < stop, got \(5, 2\)"),
    (lambda: Schedule().during((-1, None), [A.NoOp()]), ValueError, r"Schedule\.during: .*0 <= start < stop"),
    (lambda: Schedule().during((0.5, 3), [A.NoOp()]), TypeError, r"Schedule\.during: expected for epochs .*\(0\.5, 3\)"),
    (lambda: Schedule().during(range(5), A.HorizontalFlip()), TypeError,
     (r"Schedule\.during: expected for transforms a list of albumentations transforms, got a single HorizontalFlip: "
      r"pass \[HorizontalFlip\(\.\.\.\)\]")),
    (lambda: Schedule().during(range(5), []), ValueError,
     r"Schedule\.during: expected for transforms a list of albumentations transforms, got an empty list"),
    (lambda: Schedule().during(range(5), None), TypeError, r"Schedule\.during: .*transforms, got NoneType"),
    (lambda: Schedule().during(range(5), [A.NoOp(), "flip"]), TypeError,
     r"Schedule\.during: expected for transforms\[1\] an albumentations transform, got str"),
    (lambda: EpochWindow([A.NoOp()], schedule="Schedule", epochs=range(2)), TypeError,
     r"EpochWindow: expected an albu_mix Schedule for schedule, got str"),
]


@pytest.mark.parametrize("call, error, message", BAD_ARGUMENTS)
def test_bad_arguments_are_refused_with_what_was_expected(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


# -- the window in one process --------------------------------------------------------------------


def mixing_pipeline(window: Any, seed: int = 3) -> A.Compose:
    """HorizontalFlip, then ``window`` (a list of transforms to put as they are, or an EpochWindow),
    then LabelSmoothing."""
    middle = window if isinstance(window, list) else [window]
    return A.Compose([A.HorizontalFlip(p=0.5), *middle, LabelSmoothing(0.1, num_classes=K)], seed=seed)


def windowed_transforms() -> list[Any]:
    return [MixUp(reference_samples(), num_classes=K, p=0.7), Cutout(8, p=0.5), A.RandomBrightnessContrast(p=0.5)]


def test_an_open_window_is_its_transforms_and_a_closed_one_is_nothing() -> None:
    """The window draws nothing of its own: open, a seeded pipeline gives exactly what it gives with
    the transforms unwrapped; closed, exactly what it gives without them."""
    schedule = Schedule()
    schedule.set_epoch(2)
    windowed = mixing_pipeline(schedule.during(range(2, 4), windowed_transforms()))
    assert outputs(windowed) == outputs(mixing_pipeline(windowed_transforms()))
    schedule.set_epoch(4)
    windowed = mixing_pipeline(schedule.during(range(2, 4), windowed_transforms()))
    assert outputs(windowed) == outputs(mixing_pipeline([]))


def test_a_closed_window_does_not_call_its_transforms() -> None:
    schedule = Schedule()
    pipeline = A.Compose([schedule.during(range(1), [Probe(p=1.0)])])
    Probe.calls = 0
    pipeline(image=IMAGE)
    assert Probe.calls == 1
    schedule.set_epoch(1)
    for _ in range(5):
        pipeline(image=IMAGE)
    assert Probe.calls == 1
    schedule.set_epoch(0)
    pipeline(image=IMAGE)
    assert Probe.calls == 2  # moving the epoch back reopens it


@pytest.mark.parametrize("shape", ["plain", "OneOf inside", "inside OneOf"])
def test_a_closed_window_and_a_final_label_smoothing_encode_every_label(shape: str) -> None:
    schedule = Schedule()
    mixers = [MixUp(reference_samples(), num_classes=K, p=1.0), CutMix(reference_samples(), num_classes=K, p=1.0)]
    if shape == "plain":
        middle = schedule.during(range(3), mixers[:1])
    elif shape == "OneOf inside":
        middle = schedule.during(range(3), [A.OneOf(mixers, p=1.0)])
    else:  # a OneOf that chooses a closed window does nothing that time
        middle = A.OneOf([schedule.during(range(3), mixers[:1]), schedule.during(range(3), mixers[1:])], p=1.0)
    pipeline = A.Compose([middle, LabelSmoothing(0.0, num_classes=K)], seed=0)
    open_lambdas = [pipeline(image=IMAGE, label=2)["mix_lambda"] for _ in range(8)]
    assert all(lam < 1.0 for lam in open_lambdas)
    schedule.set_epoch(3)
    for _ in range(8):
        out = pipeline(image=IMAGE, label=2)
        assert out["mix_lambda"] == 1.0
        assert out["label"].dtype == np.float32 and out["label"].tolist() == np.eye(K)[2].tolist()
        assert np.array_equal(out["image"], IMAGE)


def test_albumentations_hands_the_windowed_transforms_their_targets() -> None:
    """additional_targets reach the transforms inside the window; strict mode knows their keys."""
    schedule = Schedule()
    pipeline = A.Compose(
        [schedule.during(range(1), [A.HorizontalFlip(p=1.0), LabelSmoothing(0.0, num_classes=K)])],
        additional_targets={"image2": "image"}, strict=True,
    )
    out = pipeline(image=IMAGE, image2=IMAGE[::-1].copy(), label=1)
    assert np.array_equal(out["image"], IMAGE[:, ::-1]) and np.array_equal(out["image2"], IMAGE[::-1, ::-1])
    assert out["label"].tolist() == np.eye(K)[1].tolist()  # strict: the window lists its transforms' keys


@pytest.mark.skipif(not HAS_MOSAIC, reason="A.Mosaic is in albumentations 2.0.8 and AlbumentationsX")
def test_a_scheduled_mosaic_is_mosaic_while_open() -> None:
    schedule = Schedule()
    extra = [{"image": make_image(seed=10 + i)} for i in range(3)]

    def images(middle: list[Any]) -> list[bytes]:
        pipeline = A.Compose(middle, seed=0, strict=True)
        return [pipeline(image=IMAGE, mosaic_metadata=extra)["image"].tobytes() for _ in range(6)]

    def mosaic() -> A.Mosaic:
        return A.Mosaic(target_size=IMAGE.shape[:2], p=1.0)

    opened = images([schedule.during(range(1), [mosaic()])])
    assert opened == images([mosaic()]) and set(opened) != {IMAGE.tobytes()}
    schedule.set_epoch(1)
    assert images([schedule.during(range(1), [mosaic()])]) == [IMAGE.tobytes()] * 6


def test_seeded_runs_repeat_across_epochs() -> None:
    def run() -> list[Any]:
        schedule = Schedule()
        pipeline = mixing_pipeline(schedule.during(range(1, 3), windowed_transforms()), seed=11)
        drawn = []
        for epoch in (0, 1, 2, 3, 1):
            schedule.set_epoch(epoch)
            drawn += outputs(pipeline, n=3)
        return drawn

    first = run()
    assert first == run()
    assert len({lam for _, _, lam in first}) > 2  # mixed in the window, 1.0 outside it


def test_the_repr_shows_the_window() -> None:
    schedule = Schedule(name="mixing")
    text = repr(A.Compose([schedule.during((5, None), [A.HorizontalFlip(p=1.0)])]))
    assert "EpochWindow([" in text and "HorizontalFlip(" in text
    assert "epochs=(5, None), schedule=Schedule(epoch=0, name='mixing'))" in text


# -- replay ----------------------------------------------------------------------------------------


def replay_pipeline(schedule: Schedule) -> A.ReplayCompose:
    return A.ReplayCompose([
        schedule.during(range(2), [A.HorizontalFlip(p=1.0), MixUp(reference_samples(), num_classes=K, p=1.0)]),
        LabelSmoothing(0.0, num_classes=K),
    ])


@pytest.mark.parametrize("recorded_at, replayed_at", [(0, 5), (5, 0)])
def test_replay_follows_the_record_not_the_schedule(recorded_at: int, replayed_at: int) -> None:
    schedule = Schedule(recorded_at)
    pipeline = replay_pipeline(schedule)
    recorded = pipeline(image=IMAGE, label=2)
    record = json.loads(json.dumps(recorded["replay"]))  # plain data
    window = record["transforms"][0]
    assert window["params"] == {"open": recorded_at == 0, "epoch": recorded_at}
    assert window["applied"] is (recorded_at == 0)
    schedule.set_epoch(replayed_at)
    replayed = A.ReplayCompose.replay(record, image=IMAGE, label=2)
    assert np.array_equal(replayed["image"], recorded["image"])
    assert np.array_equal(replayed["label"], recorded["label"])
    assert replayed["mix_lambda"] == recorded["mix_lambda"]
    assert (recorded["mix_lambda"] < 1.0) is (recorded_at == 0)


def test_a_window_of_albumentations_transforms_replays_without_its_schedule() -> None:
    """The replayed window holds no schedule: the record alone replays it, the pipeline gone."""
    schedule = Schedule()
    pipeline = A.ReplayCompose([schedule.during(range(1), [A.HorizontalFlip(p=1.0)])])
    recorded = pipeline(image=IMAGE)
    record = json.loads(json.dumps(recorded["replay"]))
    del pipeline, schedule
    gc.collect()
    replayed = A.ReplayCompose.replay(record, image=IMAGE)
    assert np.array_equal(replayed["image"], IMAGE[:, ::-1])
    restored = A.ReplayCompose._restore_for_replay(record)
    restored.transforms[0].replay_mode = False
    with pytest.raises(RuntimeError, match="EpochWindow: this window was restored by ReplayCompose.replay"):
        restored(image=IMAGE)


# -- serialization, pickling, copies ---------------------------------------------------------------


def test_to_dict_and_from_dict_restore_the_window_on_the_schedule_you_pass() -> None:
    schedule = Schedule(name="mixing")
    mixer = MixUp(reference_samples(), num_classes=K, p=1.0)
    pipeline = A.Compose([
        schedule.during(range(0, 4, 2), [mixer]),
        schedule.during((3, None), [A.HorizontalFlip(p=1.0)]),
        LabelSmoothing(0.0, num_classes=K),
    ])
    saved = json.loads(json.dumps(A.to_dict(pipeline)))
    other = Schedule(name="mixing")
    restored = A.from_dict(saved, nonserializable={"mixing": other, "MixUp": mixer})
    windows = restored.transforms[:2]
    assert [type(w) for w in windows] == [EpochWindow, EpochWindow]
    assert windows[0].schedule is other and windows[1].schedule is other
    assert windows[0].epochs == range(0, 4, 2) and windows[1].epochs == (3, None)
    assert windows[0].transforms[0] is mixer and isinstance(windows[1].transforms[0], A.HorizontalFlip)
    assert A.to_dict(restored) == A.to_dict(pipeline)
    other.set_epoch(3)  # the restored pipeline follows the schedule passed: flip, no mixing
    out = restored(image=IMAGE, label=1)
    assert out["mix_lambda"] == 1.0 and np.array_equal(out["image"], IMAGE[:, ::-1])

    with pytest.raises(ValueError, match=r"EpochWindow: .*Schedule named 'mixing'.*nonserializable=\{'mixing': sched"):
        A.from_dict(saved, nonserializable={"MixUp": mixer})
    with pytest.raises(TypeError, match=r"EpochWindow: nonserializable\['mixing'\] must be an albu_mix Schedule, got"):
        A.from_dict(saved, nonserializable={"mixing": mixer, "MixUp": mixer})
    with pytest.raises(ValueError, match=r"EpochWindow: the Schedule passed in nonserializable\['mixing'\] is named"):
        A.from_dict(saved, nonserializable={"mixing": Schedule(), "MixUp": mixer})


def test_pickling_gives_a_detached_snapshot() -> None:
    schedule = Schedule(3)
    pipeline = mixing_pipeline(schedule.during(range(4), windowed_transforms()))
    clone = pickle.loads(pickle.dumps(pipeline))
    copied = clone.transforms[1].schedule
    assert copied is not schedule and copied.epoch == 3 and copied.name == "Schedule"
    schedule.set_epoch(7)
    assert copied.epoch == 3 and clone.transforms[1].is_open  # a snapshot: it keeps its own epoch
    copied.set_epoch(4)
    assert schedule.epoch == 7 and not clone.transforms[1].is_open
    assert pickle.loads(pickle.dumps(schedule)).epoch == 7


def test_a_deep_copy_of_a_pipeline_shares_its_schedule() -> None:
    schedule = Schedule()
    pipeline = mixing_pipeline(schedule.during(range(1), windowed_transforms()))
    clone = copy.deepcopy(pipeline)
    window, cloned = pipeline.transforms[1], clone.transforms[1]
    assert cloned is not window and cloned.transforms[0] is not window.transforms[0]
    assert cloned.schedule is schedule
    assert copy.deepcopy(window).schedule is schedule
    schedule.set_epoch(1)
    assert not cloned.is_open
    detached = copy.deepcopy(schedule)  # the schedule itself: a snapshot, like pickle
    assert detached is not schedule and detached.epoch == 1
    detached.set_epoch(0)
    assert schedule.epoch == 1


# -- persistent DataLoader workers ------------------------------------------------------------------

#: epochs in order, and per epoch (mixed, flipped) for ScheduledSamples' windows: MixUp during
#: range(0, 2), HorizontalFlip from epoch 1 on; the last epoch goes back to 0
EPOCHS = [(0, (True, False)), (1, (True, True)), (2, (False, True)), (3, (False, True)), (0, (True, False))]


@pytest.mark.parametrize("context", ["fork", "spawn", "forkserver"])
def test_persistent_workers_follow_the_schedule(context: str) -> None:
    pytest.importorskip("torch")
    schedule = Schedule()
    loader = support.persistent_loader(support.ScheduledSamples(schedule, n=8), context)
    workers = set()
    for epoch, (mixed, flipped) in EPOCHS:
        schedule.set_epoch(epoch)  # before iterating the loader for that epoch
        items = list(loader)
        assert [item["index"] for item in items] == list(range(8))
        assert {item["epoch"] for item in items} == {epoch}, f"{context}: epoch {epoch}"
        assert [item["mix_lambda"] < 1.0 for item in items] == [mixed] * 8, f"{context}: epoch {epoch}, mixing"
        if not mixed:  # LabelSmoothing(0) encoded every label; the window did not call MixUp
            assert all(item["one_hot"] for item in items), f"{context}: epoch {epoch}, labels"
        assert [item["flipped"] for item in items] == [flipped] * 8, f"{context}: epoch {epoch}, flip"
        workers |= {item["pid"] for item in items}
    assert len(workers) == 2  # the same two workers served every epoch


def test_a_set_epoch_during_an_epoch_reaches_the_samples_requested_after_it() -> None:
    """``iter(loader)`` requests ``prefetch_factor × num_workers`` samples at once and one more with
    each sample received: set_epoch before iterating reaches every sample of the epoch; during the
    epoch, only those requested after it."""
    pytest.importorskip("torch")
    schedule = Schedule()
    loader = support.persistent_loader(support.ScheduledSamples(schedule, n=16), "fork", prefetch_factor=2)
    list(loader)  # the workers are up
    schedule.set_epoch(1)
    iterator = iter(loader)
    first = next(iterator)  # requested, computed and received before the set_epoch below
    schedule.set_epoch(5)
    rest = list(iterator)
    in_flight = 2 * 2  # prefetch_factor × num_workers, the last of them requested when `first` arrived
    assert first["epoch"] == 1 and first["mix_lambda"] < 1.0
    assert all(item["epoch"] == 5 and item["mix_lambda"] == 1.0 for item in rest[in_flight:])
    assert all(item["epoch"] in (1, 5) for item in rest[:in_flight])


def test_workers_that_start_every_epoch_follow_it_too() -> None:
    torch = pytest.importorskip("torch")
    schedule = Schedule()
    loader = torch.utils.data.DataLoader(support.ScheduledSamples(schedule, n=8), batch_size=None, num_workers=2,
                                         multiprocessing_context="fork")
    for epoch, (mixed, flipped) in EPOCHS:
        schedule.set_epoch(epoch)
        items = list(loader)
        assert [(item["mix_lambda"] < 1.0, item["flipped"]) for item in items] == [(mixed, flipped)] * 8, epoch
