"""MixUp and CutMix: the transforms (``transforms``), one rule per target kind (``functional``),
partner annotations through the pipeline's processors (``annotations``) and serialization."""

from __future__ import annotations

from .transforms import MAX_ALPHA, CutMix, MixUp

__all__ = ["MAX_ALPHA", "CutMix", "MixUp"]
