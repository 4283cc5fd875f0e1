"""Where features meet: one test (or a few) per finding of the reliability review of 0.1.x.

Each test names its finding; each failed on the code before the fix (threads sharing a pool, replay
by ``id()``, pixel-only ``partner_transform`` with masks, unbounded plan caches, ...).
"""

from __future__ import annotations

import gc
import json
import pickle
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
import pytest
from conftest import ALBUMENTATIONSX, PIPELINE_HOOK, K, make_image, reference_samples

import albu_mix
from albu_mix import CutMix, Cutout, LabelSmoothing, MixUp, PartnerError, PartnerPool, Remember
from albu_mix._routing import MAX_PLANS
from albu_mix.mixing.transforms import draw_lambda

ROOT = Path(__file__).parent.parent
SCIPY = pytest.importorskip("scipy.stats")


def ident_sample(i: int, n: int, size: tuple[int, int] = (12, 16)) -> dict[str, Any]:
    """Sample ``i`` of ``n``: a constant image of value ``i + 1`` and label ``i``, so that an output
    tells which samples it is made of."""
    return {"image": np.full((*size, 3), i + 1, np.uint8), "label": i}


# -- 1: one pool, several threads -------------------------------------------------------------------


@pytest.mark.parametrize("cls", [MixUp, CutMix])
def test_a_pool_shared_by_threads_never_hands_a_sample_itself(cls: type) -> None:
    n, calls = 200, 1200
    pool = PartnerPool(capacity=16)
    pipeline = A.Compose([Remember(pool), cls(pool, num_classes=n, p=1.0)])
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        with ThreadPoolExecutor(4) as threads:
            outs = list(threads.map(lambda i: (i % n, pipeline(**ident_sample(i % n, n))), range(calls)))
    finally:
        sys.setswitchinterval(old)
    mixed = 0
    for own, out in outs:
        label, lam = out["label"], out["mix_lambda"]
        assert label.sum() == pytest.approx(1.0, abs=1e-6)
        assert label[own] == pytest.approx(lam, abs=1e-6), f"sample {own}: label {label[own]} but mix_lambda {lam}"
        others = np.flatnonzero(label) if lam < 1 else []
        partners = [j for j in others if j != own]
        if lam < 1:
            assert len(partners) == 1, f"sample {own} mixed (mix_lambda {lam}) with itself: label {label[own]}"
            mixed += 1
    assert mixed > calls * 0.9


# -- 2: replay finds its transform by a token that is never reused -----------------------------------


def test_replay_after_the_recording_pipeline_is_gone_is_an_error_whatever_lands_at_its_address() -> None:
    refs_a = [{"image": make_image(seed=1), "label": 1}]
    recording = A.ReplayCompose([MixUp(refs_a, num_classes=3, p=1.0)])
    record = json.loads(json.dumps(recording(image=make_image(), label=0)["replay"]))
    del recording
    gc.collect()
    refs_b = [{"image": make_image(seed=2), "label": 2}]
    crowd = [MixUp(refs_b, num_classes=3, p=1.0) for _ in range(200)] + [CutMix(refs_b, num_classes=3) for _ in range(200)]
    for t in crowd:  # every one is registered for replay, as a recording would
        t.get_dict_with_id()
    with pytest.raises(ValueError, match=r"MixUp: ReplayCompose.replay needs the pipeline that recorded this replay.*gone"):
        A.ReplayCompose.replay(record, image=make_image(), label=0)


def test_the_replay_token_is_not_the_address_and_copies_get_their_own() -> None:
    import copy

    mixer = MixUp(reference_samples(), num_classes=K)
    token = mixer.get_dict_with_id()["live_token"]
    assert isinstance(token, str) and token != str(id(mixer))
    assert copy.copy(mixer).get_dict_with_id()["live_token"] != token
    assert copy.deepcopy(mixer).get_dict_with_id()["live_token"] != token
    assert pickle.loads(pickle.dumps(MixUp(list(range(3)), read_fn=_read_ref))).get_dict_with_id()["live_token"] != token


def _read_ref(i: int) -> dict[str, Any]:
    return {"image": make_image(seed=i), "label": i % K, "mask": np.zeros((40, 56), np.uint8)}


# -- 3: a pixel-only partner_transform with masks ------------------------------------------------------


@pytest.mark.parametrize("cls", [MixUp, CutMix])
@pytest.mark.parametrize(
    "partner_transform",
    [A.Normalize(), A.Compose([A.Normalize()]), A.Compose([A.RandomBrightnessContrast(p=1.0), A.Normalize()])],
    ids=["Normalize", "Compose-Normalize", "Compose-colour"],
)
def test_a_pixel_only_partner_transform_works_with_masks(cls: type, partner_transform: Any) -> None:
    refs = [{"image": make_image(seed=i), "label": i % K, "mask": np.full((40, 56), 7 + i, np.uint8)} for i in range(3)]
    pipeline = A.Compose([A.Normalize(), cls(refs, num_classes=K, partner_transform=partner_transform, p=1.0)], seed=0)
    out = pipeline(image=make_image(), label=0, mask=np.zeros((40, 56), np.uint8))
    assert out["image"].dtype == np.float32 and out["mix_lambda"] < 1.0
    partner_ids = set(np.unique(out["mask"])) - {0}
    assert partner_ids <= {7, 8, 9}


def test_a_partner_transform_that_handles_a_kind_but_not_its_alias_is_still_refused() -> None:
    refs = [{"image": make_image(seed=1), "image2": make_image(seed=2), "label": 1}]
    pipeline = A.Compose([MixUp(refs, num_classes=K, partner_transform=A.Compose([A.HorizontalFlip(p=1.0)]), p=1.0)],
                         additional_targets={"image2": "image"})
    with pytest.raises(PartnerError, match=r"MixUp: partner_transform handles 'image' but not the additional target 'image2'"):
        pipeline(image=make_image(), image2=make_image(seed=3), label=0)


# -- 4: plan caches are bounded ------------------------------------------------------------------------


def test_plan_caches_stay_bounded_whatever_the_keys() -> None:
    pool = PartnerPool()
    transforms = [Remember(pool), MixUp(pool, num_classes=K), CutMix(pool, num_classes=K), Cutout(4),
                  LabelSmoothing(0.1, num_classes=K)]
    pipeline = A.Compose(transforms, strict=False)
    for i in range(300):
        pipeline(image=make_image(), label=1, **{f"extra{i}": i})
    import itertools

    for order in itertools.permutations(["image", "label", "a", "b", "c"]):
        values = {"image": make_image(), "label": 1, "a": 1, "b": 2, "c": 3}
        pipeline(**{key: values[key] for key in order})
    for t in transforms:
        assert len(t._router) <= MAX_PLANS, type(t).__name__


# -- 5: Remember after the mixers ----------------------------------------------------------------------


def test_remember_after_a_mixer_is_refused() -> None:
    pool = PartnerPool()
    refs = reference_samples()
    pipeline = A.Compose([MixUp(refs, num_classes=K, p=0.5), Remember(pool)], seed=0)
    with pytest.raises(ValueError, match=r"Remember: the sample already carries mix_lambda.*Put Remember\(pool\) before"):
        pipeline(image=make_image(), label=1)


@pytest.mark.skipif(not PIPELINE_HOOK, reason="AlbumentationsX: a transform cannot see where a call starts")
def test_a_mixer_drawing_from_a_pool_before_remember_is_refused() -> None:
    pool = PartnerPool()
    pipeline = A.Compose([MixUp(pool, num_classes=K, p=1.0), Remember(pool)])
    with pytest.raises(ValueError, match=r"a partner was drawn before any Remember\(pool\) in this call"):
        pipeline(image=make_image(), label=1)


# -- 6: λ ~ Beta(α, α) exactly, for tiny α too ----------------------------------------------------------


@pytest.mark.parametrize("alpha", [1e-6, 1e-3, 0.05])
def test_lambda_is_symmetric_for_tiny_alpha(alpha: float) -> None:
    import random

    rng = random.Random(0)
    draws = np.array([draw_lambda(rng, alpha) for _ in range(4000)])
    below = int((draws < 0.5).sum())
    assert SCIPY.binomtest(below, len(draws), 0.5).pvalue > 1e-3, f"alpha={alpha}: {below} of 4000 below 0.5"
    assert np.all((draws >= 0) & (draws <= 1))


@pytest.mark.parametrize("alpha", [0.1, 0.4, 1.0, 5.0])
def test_lambda_follows_beta_alpha_alpha(alpha: float) -> None:
    import random

    rng = random.Random(1)
    draws = [draw_lambda(rng, alpha) for _ in range(4000)]
    assert SCIPY.kstest(draws, SCIPY.beta(alpha, alpha).cdf).pvalue > 1e-3


# -- 7: a partner weight of exactly 0 leaves the primary untouched -------------------------------------


def test_a_zero_partner_weight_never_lets_the_partner_in() -> None:
    bad = np.full((40, 56, 3), np.inf, np.float32)
    bad[0, 0] = np.nan
    refs = [{"image": bad, "label": 1}]
    image = make_image(dtype=np.float32)
    mixup = MixUp(refs, num_classes=K)
    out = mixup.apply_params({"lam": 1.0, "partner_index": 0}, {"image": image, "label": 0})
    assert np.array_equal(out["image"], image) and out["mix_lambda"] == 1.0
    assert out["label"].tolist() == [1.0, 0, 0, 0, 0]
    cutmix = CutMix(refs, num_classes=K)
    out = cutmix.apply_params({"box": (5, 5, 3, 9), "shape": (40, 56), "partner_index": 0}, {"image": image, "label": 0})
    assert np.array_equal(out["image"], image) and out["mix_lambda"] == 1.0


def test_a_partner_weight_of_one_gives_the_partner_exactly() -> None:
    primary = np.full((40, 56, 3), np.inf, np.float32)
    partner = make_image(dtype=np.float32, seed=3)
    out = MixUp([{"image": partner, "label": 1}], num_classes=K).apply_params(
        {"lam": 0.0, "partner_index": 0}, {"image": primary, "label": 0})
    assert np.array_equal(out["image"], partner) and out["mix_lambda"] == 0.0


# -- 8: LabelSmoothing smooths label aliases, after mixing too ------------------------------------------


def test_label_aliases_are_mixed_then_smoothed() -> None:
    refs = [{"image": make_image(seed=1), "label": 1, "label2": 2}]
    pipeline = A.Compose([MixUp(refs, num_classes=K, p=1.0), LabelSmoothing(0.1, num_classes=K)],
                         additional_targets={"label2": "label"}, seed=0)
    out = pipeline(image=make_image(), label=0, label2=3)
    lam = out["mix_lambda"]
    for key, own, partner in (("label", 0, 1), ("label2", 3, 2)):
        mixed = albu_mix.mix_labels(albu_mix.encode_label(own, K), albu_mix.encode_label(partner, K), 1 - lam)
        assert np.allclose(out[key], albu_mix.smooth_label(mixed, 0.1), atol=1e-6), key


# -- 9: Cutout on volumes alone -------------------------------------------------------------------------


def test_cutout_cuts_volumes_given_alone() -> None:
    volumes = np.full((2, 3, 20, 24, 3), 200, np.uint8)
    out = A.Compose([Cutout(8, p=1.0)], seed=0)(volumes=volumes)
    cut = out["volumes"] == 0
    assert cut.any() and np.array_equal(cut[0, 0], cut[1, 2])  # every slice of every volume alike


# -- 10: a sample a mixer refuses never becomes a partner -----------------------------------------------


def test_a_refused_sample_is_not_pooled_and_later_samples_are_fine() -> None:
    pool = PartnerPool(capacity=4)
    pipeline = A.Compose([Remember(pool), MixUp(pool, num_classes=K, p=1.0)], seed=0)
    for i in range(3):
        pipeline(image=make_image(seed=i), label=i % K)
    with pytest.raises(PartnerError, match=r"MixUp: the partner's 'image' must have the primary's dtype float32"):
        pipeline(image=make_image(dtype=np.float32, seed=9), label=1)
    for i in range(12):  # more than capacity: a pooled float32 sample would have been drawn
        out = pipeline(image=make_image(seed=10 + i), label=i % K)
        assert out["image"].dtype == np.uint8
    with pytest.raises(ValueError, match=r"Remember: image must not be empty"):
        pipeline(image=np.zeros((0, 5, 3), np.uint8), label=1)
    pipeline(image=make_image(seed=30), label=1)


# -- 11: clear errors -----------------------------------------------------------------------------------


class _LenRaises:
    def __len__(self) -> int:
        return 1 // 0

    def __getitem__(self, i: int) -> Any:
        return None


class _NegativeLen:
    def __len__(self) -> int:
        return -1  # noqa: PLE0303 (the bad length under test)

    def __getitem__(self, i: int) -> Any:
        return None


class _ILocLike:
    """Like pandas' ``df.iloc``: callable and indexable, no len()."""

    def __call__(self, axis: int = 0) -> Any:
        return self

    def __getitem__(self, i: int) -> Any:
        return {"image": make_image(), "label": 1}


@pytest.mark.parametrize(
    ("reference_data", "read_fn", "error", "match"),
    [
        (np.array(3), None, TypeError, r"MixUp: len\(reference_data\) must give the number of partners.*unsized.*ndarray with shape \(\)"),
        (_LenRaises(), None, TypeError, r"MixUp: len\(reference_data\) must give the number of partners.*ZeroDivisionError"),
        (_NegativeLen(), None, TypeError, r"MixUp: len\(reference_data\) must give the number of partners.*>= 0"),
        (_ILocLike(), _read_ref, TypeError, r"MixUp: reference_data is a _ILocLike, which can be called and indexed but has no len\(\).*pandas .iloc"),
    ],
    ids=["0-d array", "len raises", "len -1", "iloc"],
)
def test_reference_data_errors_say_what_is_wrong(reference_data: Any, read_fn: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        MixUp(reference_data, read_fn=read_fn, num_classes=K)


def test_a_huge_num_classes_is_refused_up_front() -> None:
    for build in (lambda: MixUp(reference_samples(), num_classes=2**40), lambda: LabelSmoothing(num_classes=2**40)):
        with pytest.raises(ValueError, match=r"num_classes must be at most 16777216 .*4.1e\+03 GiB.*got 1099511627776"):
            build()
    with pytest.raises(ValueError, match=r"label: num_classes must be at most"):
        albu_mix.encode_label(3, 2**40)


def test_reference_data_that_runs_its_own_pipeline_is_named_as_recursion() -> None:
    class Dataset:
        def __init__(self) -> None:
            self.transform = A.Compose([MixUp(self, num_classes=K, p=1.0)])

        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int) -> dict[str, Any]:
            return self.transform(image=make_image(seed=i), label=i % K)

    with pytest.raises(PartnerError) as caught:
        Dataset()[0]
    message = str(caught.value)
    assert "recursion" in message and "runs the pipeline that holds this transform" in message
    assert message.count("PartnerError") <= 1 and len(message) < 1000


def test_label_out_of_float32_range_is_out_of_range_not_infinite() -> None:
    with pytest.raises(ValueError, match=r"entries must lie in \[0, 1\].*1e\+39"):
        albu_mix.encode_label([1e39, 0.0], 2)
    with pytest.raises(ValueError, match=r"must be finite, got NaN or inf"):
        albu_mix.encode_label([np.inf, 0.0], 2)


def test_a_float32_fill_that_overflows_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Cutout: fill for a float32 image must lie within ±3.403e\+38, got \[1e\+40\]"):
        A.Compose([Cutout(4, fill=1e40, p=1.0)])(image=make_image(dtype=np.float32))


def test_ragged_images_for_cutout_are_a_clear_error() -> None:
    images = [make_image(20, 20), make_image(20, 24)]
    with pytest.raises(ValueError, match=r"Cutout: the items of images must all have one shape.*\(20, 20, 3\), \(20, 24, 3\)"):
        Cutout(4, p=1.0)(images=images)


def test_a_pooled_partner_of_another_dtype_says_where_remember_belongs() -> None:
    pool = PartnerPool()
    pipeline = A.Compose([Remember(pool), A.Normalize(p=0.5), MixUp(pool, num_classes=K, p=1.0)], seed=3)
    with pytest.raises(PartnerError, match=r"the pool holds samples as Remember saw them.*after A.Normalize") as caught:
        for i in range(20):
            pipeline(image=make_image(seed=i), label=1)
    assert "partner_transform=A.Normalize()" not in str(caught.value)


def test_a_pil_partner_image_gets_a_hint() -> None:
    PIL = pytest.importorskip("PIL.Image")
    refs = [{"image": PIL.fromarray(make_image()), "label": 1}]
    with pytest.raises(PartnerError, match=r"got [A-Za-z]*Image \(a PIL image.*np.asarray\(image.convert\('RGB'\)\)"):
        MixUp(refs, num_classes=K, p=1.0)(image=make_image(), label=0)


# -- 12: a mixer that met a cold pool is not listed as applied ------------------------------------------


@pytest.mark.skipif(ALBUMENTATIONSX, reason="AlbumentationsX lists realized configurations (applied_config) instead")
def test_a_cold_pool_is_not_listed_as_applied() -> None:
    pool = PartnerPool(warmup=3)
    pipeline = A.Compose([Remember(pool), MixUp(pool, num_classes=K, p=1.0)], save_applied_params=True, seed=0)
    listed = [[name for name, _ in pipeline(image=make_image(seed=i), label=1)["applied_transforms"]] for i in range(5)]
    assert ["MixUp" in names for names in listed] == [False, False, False, True, True]


# -- 14-17: seeds across ranks and processes --------------------------------------------------------------


def _run(code: str, env: dict[str, str]) -> Any:
    import os

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **env}, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


_LAMBDAS = (
    "import json, sys; sys.path.insert(0, 'tests'); import workers_support as s; p = s.make_pipeline(5); "
    "print(json.dumps([d[0] for d in s.draws(p, 8)]))"
)


@pytest.mark.skipif(ALBUMENTATIONSX, reason="AlbumentationsX: transforms inside Compose draw from the root stream")
def test_ranks_without_workers_draw_distinct_streams_that_repeat() -> None:
    rank0, rank1, rank1_again = (_run(_LAMBDAS, {"RANK": r}) for r in ("0", "1", "1"))
    assert rank1 == rank1_again and rank0 != rank1
    assert _run(_LAMBDAS, {"RANK": "0"}) == rank0


_RESEED_THEN_FORK = (
    "import json, os, sys; sys.path.insert(0, 'tests'); import albu_mix, workers_support as s\n"
    "p = s.make_pipeline(None); albu_mix.reseed(p, 7)\n"
    "r, w = os.pipe()\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.write(w, json.dumps([d[0] for d in s.draws(p, 6)]).encode()); os._exit(0)\n"
    "os.waitpid(pid, 0); print(os.read(r, 100000).decode())\n"
)


@pytest.mark.skipif(ALBUMENTATIONSX or not hasattr(__import__("os"), "fork"), reason="POSIX fork, albumentations 2.0")
def test_a_reseed_in_the_parent_survives_a_fork() -> None:
    first, second = _run(_RESEED_THEN_FORK, {}), _run(_RESEED_THEN_FORK, {})
    assert first == second, "the fork child of a reseeded pipeline drew from fresh entropy"


_UNPICKLED = (
    "import json, pickle, sys; sys.path.insert(0, 'tests'); import albu_mix, workers_support as s\n"
    "p = pickle.loads(bytes.fromhex(sys.argv[1] if len(sys.argv) > 1 else open('{path}').read()))\n"
    "{reseed}\n"
    "print(json.dumps([d[0] for d in s.draws(p, 6)]))\n"
)


@pytest.mark.skipif(ALBUMENTATIONSX, reason="AlbumentationsX: transforms inside Compose draw from the root stream")
def test_exec_started_workers_are_told_apart_by_reseed_with_a_worker_index(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import workers_support as support

    path = tmp_path / "pipeline.hex"
    path.write_text(pickle.dumps(support.make_pipeline(5)).hex())
    plain = _UNPICKLED.format(path=path, reseed="")
    assert _run(plain, {}) == _run(plain, {})  # documented: alike, as albu_mix cannot tell them apart
    told = [_run(_UNPICKLED.format(path=path, reseed=f"albu_mix.reseed(p, 5, worker={i})"), {}) for i in (0, 1, 0)]
    assert told[0] != told[1] and told[0] == told[2]


# -- 19: replay onto data without a label ----------------------------------------------------------------


def test_replay_onto_data_without_a_label_lets_label_smoothing_through() -> None:
    pipeline = A.ReplayCompose([Cutout(4, p=1.0), LabelSmoothing(0.1, num_classes=K)])
    record = pipeline(image=make_image(), label=1)["replay"]
    out = A.ReplayCompose.replay(record, image=make_image())
    assert "label" not in out and out["mix_lambda"] == 1.0


# -- 21: worker_init_fn does not walk long lists --------------------------------------------------------


def test_worker_init_fn_does_not_inspect_the_records_of_a_long_list(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    inspected = []

    class Record:
        def __getattribute__(self, name: str) -> Any:
            inspected.append(name)
            return object.__getattribute__(self, name)

    class Dataset(torch.utils.data.Dataset):
        def __init__(self) -> None:
            self.records = [Record() for _ in range(10_000)]
            self.transform = A.Compose([Cutout(4)])

        def __len__(self) -> int:
            return len(self.records)

    dataset = Dataset()
    import types

    monkeypatch.setattr(torch.utils.data, "get_worker_info",
                        lambda: types.SimpleNamespace(id=0, num_workers=2, seed=1, dataset=dataset))
    before = dataset.transform.transforms[0].py_random.getstate()
    albu_mix.worker_init_fn(0)
    assert inspected == [] and dataset.transform.transforms[0].py_random.getstate() != before


# -- 22: docs ----------------------------------------------------------------------------------------------


def test_the_multilabel_rule_is_timms_where_timm_is_at_hand() -> None:
    torch = pytest.importorskip("torch")
    import importlib.util

    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("timm is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "mixup.py"
    module_spec = importlib.util.spec_from_file_location("timm_mixup_alone", path)
    assert module_spec is not None and module_spec.loader is not None
    mixup = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(mixup)
    y = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    theirs = mixup.mixup_target(torch.tensor(y)[None], 4, lam=1.0, smoothing=0.2, multi_label=True)
    assert np.allclose(theirs.numpy()[0], albu_mix.smooth_label(y, 0.2, "multilabel"))
    assert "threading" in sys.modules and threading.active_count() >= 1
