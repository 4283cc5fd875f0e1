"""How MixUp and CutMix serialize and replay without storing (or guessing) their live objects.

``reference_data``, ``read_fn`` and ``partner_transform`` are live objects that JSON cannot hold.

- **JSON** (``A.to_dict``/``A.save``): like albumentations' ``Lambda``, a mixer is stored under its
  ``name`` and restored from ``A.from_dict(d, nonserializable={name: transform})``. The saved plain
  arguments (``p``, ``alpha``, ``num_classes``, ``area_range``) sit in a small wrapper entry around the
  named one; when the pipeline is restored, the object you pass is checked against them and a
  difference is an error, never a silent swap. Two mixers with one name in one pipeline are an error
  at ``to_dict`` time, since a restore could only give both the same object.
- **Replay** (``ReplayCompose``): the record holds only the plain arguments and the transform's
  ``id`` (as ``live_id``, since albumentations drops its own ``id`` key); ``ReplayCompose.replay`` finds the live transform of that id in this process and replays
  a copy of it. The record stays small and ``json.dumps`` works on it, whatever the size of the
  reference data; replaying needs the recording pipeline alive in the same process.
"""

from __future__ import annotations

import copy
import sys
import weakref
from typing import Any

from albumentations.core.serialization import NON_SERIALIZABLE_REGISTRY, SERIALIZABLE_REGISTRY

__all__ = ["MixSerialization", "register"]

#: live mixers by ``id``, for replay; entries vanish with their transforms
_LIVE: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()


class MixSerialization:
    """Serialization of a mixer: put first among the bases."""

    #: the plain constructor arguments that JSON keeps
    _json_args: tuple[str, ...] = ("alpha", "num_classes", "name")

    @classmethod
    def is_serializable(cls) -> bool:
        return False  # the named entry is restored from `nonserializable`, like albumentations' Lambda

    def _plain_args(self) -> dict[str, Any]:
        args = {"p": self.p}  # type: ignore[attr-defined]
        args.update({k: v for k, v in self.get_transform_init_args().items() if k in self._json_args})  # type: ignore[attr-defined]
        if isinstance(args.get("area_range"), tuple):
            args["area_range"] = list(args["area_range"])
        return args

    def to_dict_private(self) -> dict[str, Any]:
        _refuse_duplicate_names(self)
        named = {"__class_fullname__": self.get_class_fullname(), "__name__": self.name, "p": self.p}  # type: ignore[attr-defined]
        return {"__class_fullname__": _saved_alias(type(self)), **self._plain_args(), "transforms": [named]}

    def get_dict_with_id(self) -> dict[str, Any]:
        _LIVE[id(self)] = self
        return {"__class_fullname__": _replay_alias(type(self)), "id": id(self), "live_id": id(self), **self._plain_args()}


def _saved_alias(cls: type) -> str:
    return f"{cls.get_class_fullname()}:saved"  # type: ignore[attr-defined]


def _replay_alias(cls: type) -> str:
    return f"{cls.get_class_fullname()}:replay"  # type: ignore[attr-defined]


def _mixers(pipeline: Any) -> list[Any]:
    found = [pipeline] if isinstance(pipeline, MixSerialization) else []
    for child in getattr(pipeline, "transforms", None) or []:
        found.extend(_mixers(child))
    return found


def _refuse_duplicate_names(mixer: Any) -> None:
    """Two mixers of one name in the pipeline being serialized: an error that says to pass ``name=``.

    The outermost composition whose ``to_dict_private`` is running is found on the call stack; this
    runs only when serializing."""
    root = None
    frame = sys._getframe(2)
    while frame is not None:
        owner = frame.f_locals.get("self")
        if owner is not mixer and hasattr(owner, "transforms") and any(m is mixer for m in _mixers(owner)):
            root = owner
        frame = frame.f_back
    if root is None:
        return
    same = [m for m in _mixers(root) if m.name == mixer.name]
    if len(same) > 1:
        kinds = ", ".join(type(m).__name__ for m in same)
        raise ValueError(
            f"{type(mixer).__name__}: the pipeline holds {len(same)} mixers named {mixer.name!r} ({kinds}); "
            f"A.from_dict could only restore one object for all of them. Give each its own name, e.g. "
            f"{type(mixer).__name__}(..., name='{mixer.name}_2')"
        )


def _restore_checked(cls: type) -> Any:
    """The wrapper entry's factory: the named object came from ``nonserializable``; check it."""

    def restore(transforms: list[Any], **saved: Any) -> Any:
        (mixer,) = transforms
        if not isinstance(mixer, cls):
            raise TypeError(
                f"{cls.__name__}: nonserializable[{saved.get('name')!r}] must be a {cls.__name__}, got {type(mixer).__name__}"
            )
        differ = {k: (v, a) for k, v in saved.items() if (a := mixer._plain_args().get(k)) != v}
        if differ:
            listed = "; ".join(f"{k}: saved {v!r}, given {a!r}" for k, (v, a) in differ.items())
            raise ValueError(
                f"{cls.__name__}: the object passed in nonserializable[{saved.get('name')!r}] differs from the saved "
                f"pipeline ({listed}); build it with the saved arguments"
            )
        return mixer

    return restore


def _restore_for_replay(cls: type) -> Any:
    def restore(live_id: int, **saved: Any) -> Any:
        live = _LIVE.get(live_id)
        if live is None:
            raise ValueError(
                f"{cls.__name__}: ReplayCompose.replay needs the pipeline that recorded this replay, alive in this "
                f"process (the record keeps the partner's index, not the reference data); got a record of a "
                f"{cls.__name__} that is gone"
            )
        return copy.copy(live)

    return restore


def _missing_nonserializable(cls: type) -> Any:
    def restore(**args: Any) -> Any:
        name = args.get("__name__", cls.__name__)
        raise ValueError(
            f"{cls.__name__}: the serialized pipeline holds a {cls.__name__} named {name!r} whose reference_data "
            f"cannot be stored in JSON; restore it with A.from_dict(d, nonserializable={{{name!r}: "
            f"{cls.__name__}(reference_data, ..., name={name!r})}}), got no entry {name!r}"
        )

    return restore


def register(cls: type, legacy_names: tuple[str, ...] = ()) -> None:
    """Register the factories above for ``cls``, and the names 0.1.0 saved it under."""
    SERIALIZABLE_REGISTRY[_saved_alias(cls)] = _restore_checked(cls)  # type: ignore[assignment]
    SERIALIZABLE_REGISTRY[_replay_alias(cls)] = _restore_for_replay(cls)  # type: ignore[assignment]
    for name in (cls.get_class_fullname(), *legacy_names):  # type: ignore[attr-defined]
        NON_SERIALIZABLE_REGISTRY[name] = cls  # type: ignore[assignment]
        SERIALIZABLE_REGISTRY[name] = _missing_nonserializable(cls)  # type: ignore[assignment]
