"""Peak memory of one call at 4096×4096×3 uint8: at most 2× the image beyond the inputs.

numpy reports its allocations to ``tracemalloc`` (and OpenCV's Python bindings allocate their
output arrays through numpy), so the peak traced around one call of a transform counts the output
and every full-size temporary. The inputs (images, partners, masks) and the transform are built
before tracing starts. The budget is ``2 × image.nbytes`` plus 64 KiB for Python objects; with a
mask, the mask may cost the same again (``2 × (image + mask)``). OpenCV's internal scratch
buffers are not numpy arrays and are not seen here.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import albumentations as A
import numpy as np
import pytest

from albu_mix import CutMix, Cutout, MixUp

SIDE = 4096
K = 5
SLACK = 64 * 1024


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "image": rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8),
        "partner": rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8),
        "small_partner": rng.integers(0, 256, (SIDE // 2, SIDE // 2, 3), dtype=np.uint8),
        "mask": np.ones((SIDE, SIDE), np.uint8),
        "partner_mask": np.full((SIDE, SIDE), 2, np.uint8),
        "small_partner_mask": np.full((SIDE // 2, SIDE // 2), 2, np.uint8),
    }


def partner(a: dict[str, np.ndarray], small: bool = False) -> list[dict[str, Any]]:
    prefix = "small_" if small else ""
    return [{"image": a[f"{prefix}partner"], "mask": a[f"{prefix}partner_mask"], "label": 1}]


#: (id, transform factory over the input arrays, whether the call carries a mask)
CASES: list[tuple[str, Callable[[dict[str, np.ndarray]], Any], bool]] = [
    ("Cutout-fill-0", lambda a: Cutout(0.5, num_holes=4, fill=0, p=1.0), False),
    ("Cutout-fill-per-channel", lambda a: Cutout(0.5, num_holes=4, fill=(10, 20, 30), p=1.0), False),
    ("Cutout-fill-mean", lambda a: Cutout(0.5, num_holes=4, fill="mean", p=1.0), False),
    ("Cutout-fill-random", lambda a: Cutout(1.0, num_holes=3, fill="random", p=1.0), False),
    ("MixUp", lambda a: MixUp(partner(a), num_classes=K, p=1.0), False),
    ("MixUp-resized-partner", lambda a: MixUp(partner(a, small=True), num_classes=K, p=1.0), False),
    ("MixUp-mask", lambda a: MixUp(partner(a), num_classes=K, p=1.0), True),
    ("MixUp-mask-resized-partner", lambda a: MixUp(partner(a, small=True), num_classes=K, p=1.0), True),
    ("CutMix", lambda a: CutMix(partner(a), num_classes=K, p=1.0), False),
    ("CutMix-area-range", lambda a: CutMix(partner(a), area_range=(0.5, 1.0), num_classes=K, p=1.0), False),
    ("CutMix-resized-partner", lambda a: CutMix(partner(a, small=True), num_classes=K, p=1.0), False),
    ("CutMix-mask", lambda a: CutMix(partner(a), num_classes=K, p=1.0), True),
    ("CutMix-mask-resized-partner", lambda a: CutMix(partner(a, small=True), num_classes=K, p=1.0), True),
]


def traced_peak(call: Callable[[], Any]) -> int:
    """Bytes allocated at the peak of ``call()`` beyond what was allocated before it."""
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak - before


def test_tracemalloc_sees_numpy_allocations(arrays: dict[str, np.ndarray]) -> None:
    # Guards the other tests against passing vacuously: one copy of the image is seen in full.
    image = arrays["image"]
    peak = traced_peak(image.copy)
    assert image.nbytes <= peak <= image.nbytes + SLACK


@pytest.mark.parametrize("route", ["direct", "compose"])
@pytest.mark.parametrize(("name", "factory", "with_mask"), CASES, ids=[case[0] for case in CASES])
def test_peak_memory_is_at_most_twice_the_image(
    arrays: dict[str, np.ndarray], name: str, factory: Any, with_mask: bool, route: str
) -> None:
    transform = factory(arrays)
    pipeline = A.Compose([transform], seed=0) if route == "compose" else transform
    if route == "direct":
        transform.set_random_seed(0)
    data: dict[str, Any] = {"image": arrays["image"]}
    if not name.startswith("Cutout"):
        data["label"] = 2
    if with_mask:
        data["mask"] = arrays["mask"]
    budget = 2 * arrays["image"].nbytes + SLACK
    if with_mask:
        budget += 2 * arrays["mask"].nbytes

    peak = traced_peak(lambda: pipeline(**data))

    ratio = peak / arrays["image"].nbytes
    assert peak <= budget, f"{name} ({route}) peaked at {ratio:.3f}x the image, budget {budget / arrays['image'].nbytes:.3f}x"
