"""MixUp and CutMix: the transforms and their routing (``transforms``), one rule per target kind
(``functional``), the partner brought to the primary's geometry (``partner``) and partner annotations
through the pipeline's processors (``annotations``)."""

from __future__ import annotations

from .transforms import MAX_ALPHA, CutMix, MixUp

__all__ = ["MAX_ALPHA", "CutMix", "MixUp"]
