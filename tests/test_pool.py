"""PartnerPool and Remember: partners from earlier samples of the same process, never read again,
never changed, bounded, process-local, repeatable and replayable."""

from __future__ import annotations

import copy
import json
import multiprocessing
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import pytest
from conftest import ALBUMENTATIONSX, PIPELINE_HOOK, processor_params

import albu_mix
from albu_mix import CutMix, LabelSmoothing, MixUp, PartnerError, PartnerPool, Remember

N = 40  # samples per run; labels are the sample's index, so a mixed label names the partner
#: samples that have not joined the pool yet after a run of calls: with the pipeline hook a sample joins
#: when its call ends; without it (AlbumentationsX) at the next Remember of the thread
LAG = 0 if PIPELINE_HOOK else 1


def sample(i: int, size: tuple[int, int] = (24, 32)) -> dict[str, Any]:
    """Sample ``i``: an image and a mask that differ from sample to sample, label ``i``."""
    rng = np.random.default_rng(i)
    return {
        "image": rng.integers(0, 256, (*size, 3), dtype=np.uint8),
        "mask": rng.integers(0, 4, size, dtype=np.uint8),
        "label": i,
    }


def pool_pipeline(pool: PartnerPool, seed: int | None = 0, p: float = 1.0, cls: Any = None, **compose: Any) -> A.Compose:
    mixers = [MixUp(pool, alpha=1.0, num_classes=N, p=1.0), CutMix(pool, num_classes=N, p=1.0)]
    mixing = [mixers[0] if cls is MixUp else mixers[1]] if cls is not None else [A.OneOf(mixers, p=p)]
    return A.Compose([A.HorizontalFlip(p=0.5), Remember(pool), *mixing, LabelSmoothing(0.0, num_classes=N)],
                     seed=seed, **compose)


def partner_of(out: dict[str, Any], own: int) -> int | None:
    """The partner's index, read from the mixed label (None when nothing of a partner is in it)."""
    label = out["label"]
    others = [j for j in np.flatnonzero(label > label.min()) if j != own]  # above the smoothing floor
    assert len(others) <= 1, out["label"]
    return int(others[0]) if others else None


def same_pixels(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal arrays; AlbumentationsX hands transforms a grayscale H×W mask as H×W×1, so the pool keeps that."""
    return a.size == b.size and a.shape[:2] == b.shape[:2] and np.array_equal(a.reshape(b.shape), b)


def pooled(pool: PartnerPool, label: int) -> dict[str, Any]:
    """The pooled sample of ``label``, found by drawing with seed after seed."""
    for seed in range(1000):
        partner = pool(np.random.default_rng(seed))
        if partner is not None and partner["label"] == label:
            return partner
    raise AssertionError(f"no pooled sample of label {label}")


def equal_outputs(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (np.array_equal(a["image"], b["image"]) and np.array_equal(a["label"], b["label"])
            and a["mix_lambda"] == b["mix_lambda"]
            and np.array_equal(a.get("mask", np.zeros(0)), b.get("mask", np.zeros(0))))


# ----------------------------------------------------------------------------------------------
# No partner read, partners from earlier samples
# ----------------------------------------------------------------------------------------------


class CountingReader:
    """Reads sample dicts by index and counts the reads, as a Dataset reading files would."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self, index: int) -> dict[str, Any]:
        self.reads += 1
        return sample(index)


def test_no_partner_is_read_with_a_pool_and_one_per_mixed_sample_without() -> None:
    pool_reader, file_reader = CountingReader(), CountingReader()
    pool = PartnerPool(capacity=8)
    with_pool = A.Compose([Remember(pool), MixUp(pool, num_classes=N, p=1.0)], seed=0)
    with_files = A.Compose([MixUp(list(range(N)), read_fn=file_reader, num_classes=N, p=1.0)], seed=0)
    mixed = {"pool": 0, "files": 0}
    for i in range(N):
        mixed["pool"] += with_pool(**pool_reader(i))["mix_lambda"] < 1.0
        mixed["files"] += with_files(**file_reader(i))["mix_lambda"] < 1.0
    assert mixed == {"pool": N - 1, "files": N}  # the pool is cold for the first sample only
    assert pool_reader.reads == N  # the primaries, and nothing else
    assert file_reader.reads == 2 * N  # the primaries and one partner per mixed sample


@pytest.mark.parametrize("cls", [MixUp, CutMix])
def test_partners_are_earlier_samples_of_this_run(cls: Any) -> None:
    capacity = 5
    pool = PartnerPool(capacity=capacity)
    pipeline = pool_pipeline(pool, cls=cls)
    distances = []
    for i in range(N):
        partner = partner_of(pipeline(**sample(i)), i)
        if partner is not None:
            assert 0 < i - partner <= capacity
            distances.append(i - partner)
    assert len(distances) >= N // 2 and set(distances) == set(range(1, capacity + 1))


def test_the_partner_is_the_pooled_sample_as_augmented_so_far() -> None:
    """The partner's pixels are the earlier sample after the pipeline's flip: augmented like the primary."""
    pool = PartnerPool(capacity=4)
    flip = A.Compose([A.HorizontalFlip(p=1.0), Remember(pool), MixUp(pool, num_classes=N, p=1.0)], seed=0)
    first, second = sample(0), sample(1)
    flip(**first)
    out = flip(**second)
    lam = out["mix_lambda"]
    expected = lam * second["image"][:, ::-1].astype(np.float64) + (1 - lam) * first["image"][:, ::-1]
    assert lam < 1.0 and np.abs(out["image"] - expected).max() <= 0.51


# ----------------------------------------------------------------------------------------------
# Pooled samples never change
# ----------------------------------------------------------------------------------------------


def test_a_pooled_sample_is_a_read_only_copy_that_nothing_downstream_changes() -> None:
    pool = PartnerPool(capacity=4)
    remember = A.Compose([Remember(pool)])
    data = sample(0)
    data["masks"] = [data["mask"].copy(), 1 - data["mask"]]
    kept = {k: (np.array(v) if not isinstance(v, list) else [m.copy() for m in v]) for k, v in data.items()}
    remember(**data)
    remember(**sample(1))  # sample 0 is now an earlier sample, a partner for sample 1
    data["image"][:] = 0  # the caller reuses its buffers
    data["masks"][0][:] = 9
    data["masks"].append(data["mask"])

    first = pool(np.random.default_rng(0))
    assert first is not None and first["label"] == 0
    for key in ("image", "mask"):
        assert same_pixels(first[key], kept[key]) and not first[key].flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            first[key][0, 0] = 1
    assert len(first["masks"]) == 2 and all(np.array_equal(a, b) for a, b in zip(first["masks"], kept["masks"]))
    if isinstance(first["masks"], list):  # albumentations may hand transforms the masks as one N×H×W array
        first["masks"].append(first["mask"])  # the partner dict and its lists are the caller's own
    else:
        assert not first["masks"].flags.writeable
    first["label"] = 7
    first["image"] = None
    again = pool(np.random.default_rng(0))
    assert again is not first and (again["masks"] is not first["masks"] or not again["masks"].flags.writeable)
    assert len(again["masks"]) == 2 and again["label"] == 0 and np.array_equal(again["image"], kept["image"])

    # later calls (CutMix pastes into its output, MixUp blends) leave the pooled sample alone
    pipeline = A.Compose([Remember(pool), CutMix(pool, num_classes=N, p=1.0), MixUp(pool, num_classes=N, p=1.0)])
    for i in range(2, 4):
        pipeline(**sample(i))
    later = pooled(pool, label=0)
    assert np.array_equal(later["image"], kept["image"])
    assert same_pixels(later["mask"], kept["mask"])


# ----------------------------------------------------------------------------------------------
# Warm-up, capacity, eviction
# ----------------------------------------------------------------------------------------------


def test_a_cold_pool_returns_none_and_the_mixers_act_as_not_fired() -> None:
    pool = PartnerPool(capacity=8, warmup=3)
    assert pool(np.random.default_rng(0)) is None
    pipeline = A.Compose([Remember(pool), MixUp(pool, alpha=1.0, num_classes=N, p=1.0)], seed=0)
    for i in range(6):
        out = pipeline(**sample(i))
        if i < 3:  # fewer than 3 earlier samples pooled: not mixed, but the label is encoded
            assert out["mix_lambda"] == 1.0 and np.array_equal(out["image"], sample(i)["image"])
            assert out["label"].dtype == np.float32 and np.flatnonzero(out["label"]).tolist() == [i]
        else:
            assert out["mix_lambda"] < 1.0 and partner_of(out, i) is not None


def test_memory_is_bounded_by_capacity_and_the_oldest_goes_first() -> None:
    capacity = 3
    pool = PartnerPool(capacity=capacity)
    pipeline = A.Compose([Remember(pool)])
    joined = 1 if PIPELINE_HOOK else 0  # with the hook a sample joins when its call ends, else at the next one
    for i in range(10):
        pipeline(**sample(i))
        assert len(pool) == min(i + joined, capacity)
    labels = {pool(np.random.default_rng(seed))["label"] for seed in range(200)}
    assert labels == ({7, 8, 9} if PIPELINE_HOOK else {6, 7, 8})  # the oldest were evicted


def test_partners_are_drawn_evenly_from_every_pooled_sample() -> None:
    """While the pool is not full as well as once it is: every held sample is as likely a partner."""
    import scipy.stats

    pool = PartnerPool(capacity=8)
    pipeline = A.Compose([Remember(pool)])
    for i in range(5):
        pipeline(**sample(i))
    held = {pooled(pool, k)["label"] for k in range(5 - LAG)}
    picks = [pool(np.random.default_rng(seed))["label"] for seed in range(2000)]
    counts = [picks.count(k) for k in sorted(held)]
    assert set(picks) == held and scipy.stats.chisquare(counts).pvalue > 1e-3, counts


def test_replaying_an_evicted_partner_is_a_clear_error() -> None:
    pool = PartnerPool(capacity=3)
    pipeline = A.ReplayCompose([Remember(pool), MixUp(pool, num_classes=N, p=1.0)])
    records = [pipeline(**sample(i)) for i in range(12)]
    latest = A.ReplayCompose.replay(records[-1]["replay"], **sample(11))
    assert equal_outputs(latest, records[-1]) and latest["mix_lambda"] < 1.0
    with pytest.raises(ValueError, match=r"PartnerPool\(capacity=3, warmup=1\).*evicted.*capacity 3"):
        A.ReplayCompose.replay(records[2]["replay"], **sample(2))


@pytest.mark.parametrize("kwargs", [{"capacity": 0}, {"capacity": 2.5}, {"warmup": 0}, {"capacity": 4, "warmup": 5}])
def test_bad_pool_arguments_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="PartnerPool: (capacity|warmup)"):
        PartnerPool(**kwargs)


# ----------------------------------------------------------------------------------------------
# Processes, pickling, seeds
# ----------------------------------------------------------------------------------------------


def test_a_pool_pickles_empty_and_works_after_unpickling() -> None:
    pool = PartnerPool(capacity=6, warmup=2)
    pipeline = pool_pipeline(pool)
    for i in range(5):
        pipeline(**sample(i))
    assert len(pool) == 5 - LAG
    assert len(pickle.loads(pickle.dumps(pool))) == 0

    restored = pickle.loads(pickle.dumps(pipeline))
    remember = restored.transforms[1]
    mixers = restored.transforms[2].transforms
    assert isinstance(remember, Remember) and all(m.reference_data is remember.pool for m in mixers)
    assert len(remember.pool) == 0 and remember.pool is not pool and repr(remember.pool) == repr(pool)
    outs = [restored(**sample(20 + i)) for i in range(5)]
    assert [o["mix_lambda"] == 1.0 for o in outs] == [True, True, False, False, False]  # warmup 2, afresh
    assert all(20 <= partner_of(o, 20 + i) < 20 + i for i, o in enumerate(outs) if i >= 2)
    assert len(pool) == 5 - LAG  # the original is untouched


def run_in_fork(pipeline: A.Compose, pool: PartnerPool, queue: Any) -> None:
    held = len(pool)
    partners = [partner_of(pipeline(**sample(i)), i) for i in range(20, 30)]
    queue.put((held, partners))


def test_a_forked_process_starts_with_an_empty_pool_of_its_own() -> None:
    pool = PartnerPool(capacity=32)
    pipeline = pool_pipeline(pool, cls=MixUp)
    for i in range(10):
        pipeline(**sample(i))
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=run_in_fork, args=(pipeline, pool, queue))
    child.start()
    held, partners = queue.get(timeout=60)
    child.join(timeout=60)
    assert held == 0 and partners[0] is None  # empty in the child: the first sample there is not mixed
    assert all(20 <= p < 20 + k + 1 for k, p in enumerate(partners[1:]) if p is not None)
    assert sum(p is not None for p in partners) >= 5
    assert len(pool) == 10 - LAG and pool(np.random.default_rng(0))["label"] < 10  # the parent's pool is its own


def test_dataloader_workers_each_mix_their_own_samples() -> None:
    torch = pytest.importorskip("torch")

    class Samples(torch.utils.data.Dataset):
        def __init__(self) -> None:
            self.pool = PartnerPool(capacity=6)
            self.transform = pool_pipeline(self.pool, seed=None, cls=MixUp)

        def __len__(self) -> int:
            return N

        def __getitem__(self, index: int) -> tuple[int, int, int]:
            out = self.transform(**sample(index))
            partner = partner_of(out, index)
            return index, -1 if partner is None else partner, torch.utils.data.get_worker_info().id

    loader = torch.utils.data.DataLoader(Samples(), batch_size=4, num_workers=2, multiprocessing_context="fork")
    seen: dict[int, list[int]] = {0: [], 1: []}
    mixed = 0
    for indices, partners, workers in loader:
        for index, partner, worker in zip(indices.tolist(), partners.tolist(), workers.tolist()):
            if partner >= 0:
                assert partner in seen[worker][-6:], (index, partner, worker)  # an earlier sample of this worker
                mixed += 1
            seen[worker].append(index)
    assert mixed == N - 2  # each worker's first sample meets an empty pool


def test_a_seeded_run_repeats_exactly() -> None:
    def run(seed: int) -> list[dict[str, Any]]:
        pool = PartnerPool(capacity=5)
        pipeline = pool_pipeline(pool, seed=seed, p=0.7)
        return [pipeline(**sample(i)) for i in range(N)]

    first, again, other = run(3), run(3), run(4)
    assert all(equal_outputs(a, b) for a, b in zip(first, again))
    assert not all(equal_outputs(a, b) for a, b in zip(first, other))


def test_the_partner_is_chosen_by_the_generator_alone() -> None:
    pool = PartnerPool(capacity=16)
    remember = A.Compose([Remember(pool)])
    for i in range(17):
        remember(**sample(i))
    chosen = [pool(np.random.default_rng(seed))["label"] for seed in range(64)]
    assert chosen == [pool(np.random.default_rng(seed))["label"] for seed in range(64)]
    assert len(set(chosen)) > 8


# ----------------------------------------------------------------------------------------------
# Every target through the pool
# ----------------------------------------------------------------------------------------------


def annotated(i: int) -> dict[str, Any]:
    data = sample(i, size=(40, 60))
    rng = np.random.default_rng(100 + i)
    corners = rng.uniform(2, 25, (3, 2))
    data.update(
        bboxes=np.round(np.hstack([corners, corners + rng.uniform(5, 14, (3, 2))]), 2).tolist(),
        classes=[["cat", "dog", "bird"][(i + j) % 3] for j in range(3)],
        keypoints=np.round(rng.uniform(1, 38, (4, 2)), 2).tolist(),
        kp_names=[f"p{i}{j}" for j in range(4)],
        masks=np.stack([(data["mask"] == k).astype(np.uint8) for k in range(2)]),
        image2=rng.integers(0, 256, (40, 60, 3), dtype=np.uint8),
        mask2=rng.integers(0, 3, (40, 60), dtype=np.uint8),
    )
    return data


def flipped_alone(i: int) -> dict[str, Any]:
    """Sample ``i`` after the flip alone (no label: albumentations 2.0.0 is strict about unknown keys)."""
    data = annotated(i)
    del data["label"]
    return annotated_pipeline([A.HorizontalFlip(p=1.0)])(**data)


def annotated_pipeline(transforms: list[Any]) -> A.Compose:
    return A.Compose(
        transforms,
        bbox_params=processor_params(A.BboxParams, "pascal_voc", "classes"),
        keypoint_params=processor_params(A.KeypointParams, "xy", "kp_names"),
        additional_targets={"image2": "image", "mask2": "mask"},
        seed=0,
    )


def test_boxes_keypoints_masks_and_additional_targets_come_back_as_the_pipeline_gives_them() -> None:
    pool = PartnerPool(capacity=4)
    flip = A.HorizontalFlip(p=1.0)
    pipeline = annotated_pipeline([flip, Remember(pool)])
    flipped = pipeline(**annotated(0))  # what the pipeline gives for sample 0: flipped, in its own format
    pipeline(**annotated(1))
    pooled = pool(np.random.default_rng(0))
    assert pooled is not None and pooled["label"] == 0
    for key in ("image", "mask", "image2", "mask2"):
        assert same_pixels(pooled[key], flipped[key]), key
    assert len(pooled["masks"]) == 2 and all(same_pixels(a, b) for a, b in zip(pooled["masks"], flipped["masks"]))
    np.testing.assert_allclose(np.asarray(pooled["bboxes"]), np.asarray(flipped["bboxes"]), atol=1e-4)
    np.testing.assert_allclose(np.asarray(pooled["keypoints"])[:, :2], np.asarray(flipped["keypoints"])[:, :2], atol=1e-4)
    assert pooled["classes"] == list(flipped["classes"]) == annotated(0)["classes"]
    assert pooled["kp_names"] == list(flipped["kp_names"]) == annotated(0)["kp_names"]
    assert not np.allclose(np.asarray(pooled["bboxes"]), np.asarray(annotated(0)["bboxes"]))  # really flipped


def test_mixup_through_the_pool_appends_the_earlier_samples_boxes_with_their_labels() -> None:
    pool = PartnerPool(capacity=4)
    pipeline = annotated_pipeline([A.HorizontalFlip(p=1.0), Remember(pool), MixUp(pool, num_classes=N, p=1.0)])
    first = pipeline(**annotated(0))  # cold pool: only flipped
    second = pipeline(**annotated(1))
    assert first["mix_lambda"] == 1.0 and second["mix_lambda"] < 1.0
    n = len(annotated(1)["bboxes"])
    np.testing.assert_allclose(np.asarray(second["bboxes"])[n:], np.asarray(first["bboxes"]), atol=1e-3)
    assert list(second["classes"]) == annotated(1)["classes"] + annotated(0)["classes"]
    m = len(annotated(1)["keypoints"])
    np.testing.assert_allclose(np.asarray(second["keypoints"])[m:, :2], np.asarray(first["keypoints"])[:, :2], atol=1e-3)
    assert list(second["kp_names"]) == annotated(1)["kp_names"] + annotated(0)["kp_names"]
    assert len(second["masks"]) == 4 and np.array_equal(second["masks"][2], first["masks"][0])
    heavier = second if second["mix_lambda"] >= 0.5 else first  # class ids are never blended
    assert np.array_equal(second["mask2"], heavier["mask2"] if heavier is first else flipped_alone(1)["mask2"])


def test_cutmix_through_the_pool_pastes_every_target_of_the_earlier_sample() -> None:
    pool = PartnerPool(capacity=4)
    cutmix = CutMix(pool, area_range=(0.3, 0.5), num_classes=N, p=1.0)
    pipeline = annotated_pipeline([A.HorizontalFlip(p=1.0), Remember(pool), cutmix])
    first = pipeline(**annotated(0))
    second = pipeline(**annotated(1))
    alone = flipped_alone(1)
    for key in ("image", "mask", "image2", "mask2"):
        pasted = second[key] != alone[key]
        assert pasted.any(), key
        assert np.array_equal(second[key][pasted], first[key][pasted]), key
    assert set(second["classes"]) <= {"cat", "dog", "bird"} and len(second["classes"]) == len(second["bboxes"])


# ----------------------------------------------------------------------------------------------
# Replay, strict mode, serialization
# ----------------------------------------------------------------------------------------------


def test_replaycompose_replays_a_pool_mixed_sample_exactly() -> None:
    pool = PartnerPool(capacity=16)
    pipeline = A.ReplayCompose([
        A.HorizontalFlip(p=0.5), Remember(pool),
        A.OneOf([MixUp(pool, num_classes=N, p=1.0), CutMix(pool, num_classes=N, p=1.0)], p=0.8),
        LabelSmoothing(0.1, num_classes=N),
    ])
    pipeline.set_random_seed(0)  # unseeded, 5 or fewer of 11 warm samples mixed one run in 90
    records = [pipeline(**sample(i)) for i in range(12)]
    assert sum(r["mix_lambda"] < 1.0 for r in records) >= 6
    for i in (11, 3, 0, 7):  # in any order, the cold first sample included
        replayed = A.ReplayCompose.replay(records[i]["replay"], **sample(i))
        assert equal_outputs(replayed, records[i]), i
    assert len(pool) == 12  # replay adds nothing to the pool
    after = pipeline(**sample(12))
    assert partner_of(after, 12) in (None, *range(12))  # and recording goes on afterwards


def test_identically_seeded_mixers_drawing_the_same_seed_do_not_mix_up_replay() -> None:
    """With Compose(seed=s), MixUp and CutMix draw from identical streams, so now and then both draw
    the same partner seed, samples apart; training must go on, and each replay must find its own partner."""
    pool = PartnerPool(capacity=4)
    mixup, cutmix = MixUp(pool, num_classes=N, p=1.0), CutMix(pool, num_classes=N, p=1.0)
    pipeline = A.ReplayCompose([Remember(pool), A.OneOf([mixup, cutmix], p=1.0)])
    pipeline.set_random_seed(0)
    records = [pipeline(**sample(i % N)) for i in range(300)]
    seeds: dict[int, list[int]] = {}
    for i, record in enumerate(records):
        for t in record["replay"]["transforms"][1]["transforms"]:
            if t["params"] is not None and "partner_seed" in t["params"]:
                seeds.setdefault(t["params"]["partner_seed"], []).append(i)
    apart = [calls for calls in seeds.values() if len(calls) > 1 and calls[-1] - calls[0] > 5]
    if not ALBUMENTATIONSX:  # AlbumentationsX draws every transform from the pipeline's one stream
        assert apart, "expected MixUp and CutMix to draw some partner seed twice, more than capacity apart"
    exact = 0
    for i in range(295, 300):  # each recent record replays its own partner, or says it was evicted
        try:
            replayed = A.ReplayCompose.replay(records[i]["replay"], **sample(i % N))
        except PartnerError as error:
            assert "evicted" in str(error) and i < 299
            continue
        assert equal_outputs(replayed, records[i]), i
        exact += 1
    assert exact >= 1


def test_remember_always_runs_and_refuses_p() -> None:
    pool = PartnerPool()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        remember = Remember(pool, p=0.5)
    assert remember.p == 1.0 and any("'p' are not valid for transform Remember" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="not valid for transform Remember"):
        Remember(pool, p=0.5, strict=True)
    with pytest.raises(TypeError, match="Remember: pool must be an albu_mix.PartnerPool, got list"):
        Remember([sample(0)])
    with pytest.raises(ValueError, match="Remember: the data must hold an 'image', got keys"):
        Remember(pool)(mask=sample(0)["mask"])
    strict = A.Compose([Remember(pool), MixUp(pool, num_classes=N, p=1.0)], strict=True, seed=0)
    for i in range(5):
        strict(**sample(i))
    assert len(pool) == 5 - LAG


def test_remember_serializes_by_name_like_the_mixers_and_copies_share_the_pool() -> None:
    pool = PartnerPool(capacity=4)
    pipeline = A.Compose([Remember(pool), MixUp(pool, num_classes=N, p=1.0)])
    saved = json.loads(json.dumps(A.to_dict(pipeline)))
    with pytest.raises(ValueError, match="Remember"):
        A.from_dict(saved)
    other = PartnerPool(capacity=4)
    restored = A.from_dict(saved, nonserializable={"Remember": Remember(other), "MixUp": MixUp(other, num_classes=N, p=1.0)})
    for i in range(3):
        restored(**sample(i))
    assert len(other) == 3 - LAG and len(pool) == 0
    copied = copy.deepcopy(restored)  # a copy of a pipeline keeps Remember and the mixers on one pool
    assert copied.transforms[0].pool is copied.transforms[1].reference_data is other


def test_the_public_names() -> None:
    assert albu_mix.PartnerPool is PartnerPool and albu_mix.Remember is Remember
    assert issubclass(PartnerError, ValueError)


def test_the_readme_dataloader_example_runs(tmp_path: Any) -> None:
    torch = pytest.importorskip("torch")
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
               if "PartnerPool(" in b and "DataLoader(" in b]
    items = []
    for i in range(12):
        path = str(tmp_path / f"{i}.jpg")
        cv2.imwrite(path, sample(i, size=(240, 256))["image"])
        items.append((path, i % 10))
    namespace: dict[str, Any] = {
        "items": items,
        "model": torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 10)),
    }
    code = code.replace("num_workers=4", "num_workers=2")  # as many as this machine's cores
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["targets"].shape == (12, 10) and torch.isfinite(namespace["loss"])
    assert torch.allclose(namespace["targets"].sum(dim=1), torch.ones(12))
    assert namespace["images"].shape == (12, 3, 224, 224)
