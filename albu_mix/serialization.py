"""How albu_mix transforms that hold live objects serialize and replay: MixUp, CutMix, Remember.

``reference_data``, ``read_fn``, ``partner_transform`` and a ``PartnerPool`` are live objects that
JSON cannot hold.

- **JSON** (``A.to_dict``/``A.save``): like albumentations' ``Lambda``, such a transform is stored
  under its ``name`` and restored from ``A.from_dict(d, nonserializable={name: transform})``. The saved
  plain arguments (``p``, ``alpha``, ``num_classes``, ``area_range``) sit in a small wrapper entry
  around the named one; when the pipeline is restored, the object you pass is checked against them
  and a difference is an error, never a silent swap. Two of them with one name in one pipeline can
  only be restored as one object: the saved entry says how many share the name, and restoring it is
  an error that says to pass ``name=``. (Saving and ``repr`` work: the pipeline is found through its
  hook, ``albu_mix._pipeline``, on albumentations 2.0; AlbumentationsX gives a transform no way to
  see its pipeline, so there the duplicate is not detected.)
- **Replay** (``ReplayCompose``): the record holds only the plain arguments and a token that names the
  live transform and is never reused (``id()`` is, once an object is freed);
  ``ReplayCompose.replay`` finds the live transform of that token in this process and replays a
  copy of it. The record stays small and ``json.dumps`` works on it, whatever the size of the
  reference data; replaying needs the recording transform alive in the same process, and says so
  otherwise.
"""

from __future__ import annotations

import copy
import uuid
import weakref
from typing import Any

from albumentations.core.serialization import NON_SERIALIZABLE_REGISTRY, SERIALIZABLE_REGISTRY

from ._pipeline import KEY

__all__ = ["LiveSerialization", "register"]

#: live transforms by replay token, for replay; entries vanish with their transforms
_LIVE: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


class LiveSerialization:
    """Serialization of a transform with live arguments: put first among the bases."""

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
        named = {"__class_fullname__": self.get_class_fullname(), "__name__": self.name, "p": self.p}  # type: ignore[attr-defined]
        entry = {"__class_fullname__": _saved_alias(type(self)), **self._plain_args(), "transforms": [named]}
        shared = self._name_shared_by()
        if len(shared) > 1:
            entry["name_shared_by"] = [type(t).__name__ for t in shared]
        return entry

    def get_dict_with_id(self) -> dict[str, Any]:
        token = self._replay_token()
        _LIVE[token] = self
        return {"__class_fullname__": _replay_alias(type(self)), "id": id(self), "live_token": token, **self._plain_args()}

    def _replay_token(self) -> str:
        token = self.__dict__.get("_token")
        if token is None:
            token = self.__dict__["_token"] = uuid.uuid4().hex
        return token  # type: ignore[no-any-return]

    def _name_shared_by(self) -> list[Any]:
        """The transforms of this transform's pipeline with its name (itself included), as far as the
        pipeline hook knows them (albumentations 2.0); just itself otherwise."""
        hook = (getattr(self, "processors", None) or {}).get(KEY)
        members = getattr(hook, "members", ())
        same = [m for m in members if isinstance(m, LiveSerialization) and m.name == self.name]  # type: ignore[attr-defined]
        return same if any(m is self for m in same) else [self]


def _saved_alias(cls: type) -> str:
    return f"{cls.get_class_fullname()}:saved"  # type: ignore[attr-defined]


def _replay_alias(cls: type) -> str:
    return f"{cls.get_class_fullname()}:replay"  # type: ignore[attr-defined]


def _restore_checked(cls: type) -> Any:
    """The wrapper entry's factory: the named object came from ``nonserializable``; check it."""

    def restore(transforms: list[Any], name_shared_by: list[str] | None = None, **saved: Any) -> Any:
        (mixer,) = transforms
        if name_shared_by:
            kinds = ", ".join(name_shared_by)
            name = saved.get("name")
            raise ValueError(
                f"{cls.__name__}: the saved pipeline holds {len(name_shared_by)} transforms named {name!r} ({kinds}); "
                f"A.from_dict could only restore one object for all of them. Give each its own name when you build "
                f"the pipeline, e.g. {cls.__name__}(..., name='{name}_2'), and save it again"
            )
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
    def restore(live_token: str | None = None, **saved: Any) -> Any:
        live = _LIVE.get(live_token) if isinstance(live_token, str) else None
        if live is None or not isinstance(live, cls):
            raise ValueError(
                f"{cls.__name__}: ReplayCompose.replay needs the pipeline that recorded this replay, alive in this "
                f"process (the record keeps the partner's index, not the reference data); got a record of a "
                f"{cls.__name__} that is gone{'' if live_token is not None else ' (a record without a replay token)'}"
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
