"""Target kinds and the router: how each key of a call reaches the rule for its kind.

albumentations routes every key of a call through the transform's own targets plus the aliases
``Compose(additional_targets=...)`` added (``image2`` -> ``image``). albu_mix transforms read that
same mapping, once per set of data keys, through :class:`Router`; the table below is the one place
that says what each kind of target is.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = [
    "ANNOTATION_KINDS",
    "IMAGE_LEADS",
    "MIXED_KINDS",
    "PIXEL_KINDS",
    "UNMIXABLE_KINDS",
    "Router",
]

#: image-type kinds, with the number of leading axes before height and width (albumentations' layouts)
IMAGE_LEADS = {"image": 0, "images": 1, "volume": 1, "volumes": 2}
#: kinds whose values are arrays (or lists of arrays) of the image's height and width
PIXEL_KINDS = frozenset(("image", "mask", "masks"))
#: kinds whose values go through a ``Compose`` processor (``BboxParams``/``KeypointParams``)
ANNOTATION_KINDS = ("bboxes", "keypoints")
#: kinds that MixUp and CutMix mix, and that ``Remember`` keeps for them (``label`` is albu_mix's own)
MIXED_KINDS = ("image", "mask", "masks", "bboxes", "keypoints", "label")
#: kinds a mixer refuses: a batch or a volume has no single partner
UNMIXABLE_KINDS = frozenset(("images", "volume", "volumes", "mask3d", "masks3d"))

#: how many plans a router keeps (key sets seen); the oldest goes first beyond it
MAX_PLANS = 32

Plan = TypeVar("Plan")


class Router(Generic[Plan]):
    """The kinds of a transform's keys, and a plan per set of data keys made from them.

    ``build(transform, keys, routes)`` turns one call's keys and the ``(key, kind)`` pairs of those the
    transform routes (in data order) into whatever the transform needs per call; the result is cached
    per *set* of keys (so key order does not multiply entries), and at most :data:`MAX_PLANS` are
    kept, the oldest going first. ``aliases`` also holds the aliases albumentations dropped because the
    transform does not support their kind, so that those can be refused by name.
    """

    __slots__ = ("_build", "_plans", "aliases")

    def __init__(self, build: Callable[[Any, tuple[str, ...], tuple[tuple[str, str], ...]], Plan]) -> None:
        self._build = build
        self._plans: dict[Hashable, Plan] = {}
        self.aliases: dict[str, str] = {}

    @staticmethod
    def kind(transform: Any, key: str) -> str | None:
        """The target kind albumentations routes ``key`` as (``image2`` -> ``image``), or None."""
        if key in transform._key2func:
            return transform._additional_targets.get(key, key)  # type: ignore[no-any-return]
        return None

    def declared_kind(self, key: str) -> str:
        """The kind ``key`` was declared as, routed or not (``additional_targets`` included)."""
        return self.aliases.get(key, key)

    def plan(self, transform: Any, data: dict[str, Any]) -> Plan:
        keys = frozenset(data)
        plan = self._plans.get(keys)
        if plan is None:
            kind = self.kind
            routes = tuple((key, k) for key in data if (k := kind(transform, key)) is not None)
            plan = self._build(transform, tuple(data), routes)
            if len(self._plans) >= MAX_PLANS:
                del self._plans[next(iter(self._plans))]
            self._plans[keys] = plan
        return plan

    def add_aliases(self, additional_targets: dict[str, str]) -> None:
        self.aliases.update(additional_targets)
        self.clear()

    def clear(self) -> None:
        """Forget the plans (the routes or the processors changed)."""
        self._plans.clear()

    def __len__(self) -> int:
        return len(self._plans)

    def __getstate__(self) -> tuple[Any, dict[str, str]]:
        return self._build, self.aliases  # plans are rebuilt where they are needed

    def __setstate__(self, state: tuple[Any, dict[str, str]]) -> None:
        self._build, self.aliases = state
        self._plans = {}
