"""Shared fixtures: sample data and the one table of every albu_mix transform."""

from __future__ import annotations

import inspect
import os

# No network update check or telemetry from albumentations during the tests.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("ALBUMENTATIONS_NO_TELEMETRY", "1")

from importlib import metadata
from typing import Any

import numpy as np
import pytest

import albu_mix

K = 5


def installed(distribution: str) -> str | None:
    """The version of an installed distribution, or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


#: AlbumentationsX (the fork that installs the same ``albumentations`` module) calls transforms
#: through ``apply_in_invocation`` and draws from the root pipeline's stream inside ``Compose``. The
#: tests read which distribution is installed; ``test_compat`` checks the library's own flags against it.
ALBUMENTATIONSX = installed("albumentationsx") is not None
#: albumentations 2.0 (not the fork) lets a transform hook into its pipeline's calls (``albu_mix._pipeline``)
PIPELINE_HOOK = not ALBUMENTATIONSX


def make_image(h: int = 40, w: int = 56, c: int | None = 3, dtype: Any = np.uint8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (h, w) if c is None else (h, w, c)
    if np.dtype(dtype) == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape, dtype=np.float32)


def reference_samples(n: int = 6, h: int = 40, w: int = 56, seed: int = 1) -> list[dict[str, Any]]:
    """Partners with distinct labels 1..n (mod K) and masks of class ids 10 + i."""
    return [
        {
            "image": make_image(h, w, seed=seed + i),
            "label": (i + 1) % K,
            "mask": np.full((h, w), 10 + i, np.uint8),
        }
        for i in range(n)
    ]


def processor_params(cls: Any, coord_format: str, *label_fields: str, **kwargs: Any) -> Any:
    """``cls(format=..., label_fields=[...], **kwargs)``; AlbumentationsX 2.5 renamed ``format`` to
    ``coord_format``."""
    key = "coord_format" if "coord_format" in inspect.signature(cls).parameters else "format"
    return cls(**{key: coord_format, "label_fields": list(label_fields)}, **kwargs)


def partner_stream(rng: np.random.Generator) -> dict[str, Any]:
    """A module-level stream callback: a fresh partner from the transform's generator."""
    return {"image": rng.integers(0, 256, (40, 56, 3), dtype=np.uint8), "label": int(rng.integers(K))}


#: The one table of every transform: (id, factory, call kwargs builder). A guard test fails when a
#: public transform is missing from it.
def _data(label: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"image": make_image()}
    if label:
        out["label"] = 2
    return out


TRANSFORM_TABLE: list[tuple[str, Any, Any]] = [
    ("Cutout", lambda: albu_mix.Cutout((4, 12), num_holes=(1, 3), fill="random", p=0.7), lambda: _data(False)),
    ("LabelSmoothing", lambda: albu_mix.LabelSmoothing(0.2, num_classes=K, p=0.7), _data),
    ("MixUp", lambda: albu_mix.MixUp(reference_samples(), alpha=0.4, num_classes=K, p=0.7), _data),
    ("MixUp-stream", lambda: albu_mix.MixUp(partner_stream, alpha=1.0, num_classes=K, p=0.7), _data),
    ("CutMix", lambda: albu_mix.CutMix(reference_samples(), num_classes=K, p=0.7), _data),
    ("CutMix-area", lambda: albu_mix.CutMix(reference_samples(), area_range=(0.1, 0.4), num_classes=K, p=0.7), _data),
]


@pytest.fixture(params=TRANSFORM_TABLE, ids=[row[0] for row in TRANSFORM_TABLE])
def transform_case(request: pytest.FixtureRequest) -> tuple[str, Any, Any]:
    return request.param
