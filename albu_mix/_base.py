"""The call contract shared by albu_mix transforms.

albumentations' stock ``BasicTransform.__call__`` returns the data untouched when a transform
does not fire. albu_mix transforms that own the label must encode it every time, and every albu_mix
transform reseeds itself in a new process (see ``seeding``). ``ContractMixin.__call__`` keeps the
stock contract (``p`` drawn from ``self.py_random``, ``force_apply``, the replay record under
``save_key``, ``replay_mode``) and adds those two things, with less per-call overhead.

Two call protocols are supported, told apart by feature detection:

- albumentations 2.0: ``Compose`` calls each transform's ``__call__``, which draws ``p`` with
  ``should_apply`` and keeps the params on the transform.
- AlbumentationsX: ``Compose`` calls ``apply_in_invocation(invocation, ...)``, a direct call opens a
  call-local invocation first, ``self.py_random`` is the invocation's stream while one is active,
  and params live in the invocation (kept only when it collects them, as direct calls do).
"""

from __future__ import annotations

import functools
import inspect
import os
import random
import warnings
from copy import deepcopy
from typing import Any

import numpy as np
from albumentations.core.transforms_interface import BasicTransform

from .seeding import process_seed, worker_init_fn

__all__ = ["ContractMixin", "check_array", "check_probability", "image_shape", "plain"]

_SUPPORTED_DTYPES = (np.uint8, np.float32)

_ARRAY_KEYS = ("image", "images", "volume")

#: AlbumentationsX's call protocol (``Compose`` calls ``apply_in_invocation``), told once at import
_INVOCATION_PROTOCOL = hasattr(BasicTransform, "apply_in_invocation")
#: albumentations 2.0 draws ``p`` in ``should_apply``; AlbumentationsX has no such method
_HAS_SHOULD_APPLY = hasattr(BasicTransform, "should_apply")


def check_probability(owner: str, p: Any) -> float:
    p = plain(p)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"{owner}: p must be a number in [0, 1], got {p!r}")
    return float(p)


def plain(value: Any) -> Any:
    """numpy scalars (also inside tuples and lists) as Python numbers, so that arguments serialize
    to JSON as the numbers they are."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def check_array(owner: str, key: str, array: Any, spatial_ndim: tuple[int, ...]) -> np.ndarray:
    """A uint8 or float32 array with one of the allowed numbers of dimensions and no empty axis."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{owner}: {key} must be a numpy array, got {type(array).__name__}")
    if array.dtype not in _SUPPORTED_DTYPES:
        raise TypeError(f"{owner}: {key} must have dtype uint8 or float32, got {array.dtype}")
    if array.ndim not in spatial_ndim:
        raise ValueError(f"{owner}: {key} must have {' or '.join(map(str, spatial_ndim))} dimensions, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{owner}: {key} must not be empty, got shape {array.shape}")
    return array


def image_shape(owner: str, data: dict[str, Any]) -> tuple[int, int]:
    """(height, width) of the sample, from ``image``, ``images`` or ``volume``."""
    for key, lead in (("image", 0), ("images", 1), ("volume", 1)):
        value = data.get(key)
        if value is None:
            continue
        shape = np.shape(value)
        if len(shape) < lead + 2:
            raise ValueError(f"{owner}: {key} must have at least {lead + 2} dimensions, got shape {shape}")
        return int(shape[lead]), int(shape[lead + 1])
    raise ValueError(f"{owner}: the data must hold an 'image' (or 'images' or 'volume'), got keys {sorted(data)}")


def _constructor_contract(name: str, init: Any) -> Any:
    """albumentations' constructor contract around ``init``: ``strict=`` is accepted, and unknown
    keyword arguments are dropped with a warning (an error under ``strict=True``) and listed in
    ``invalid_args``, with albumentations' own message. albu_mix validates the arguments by hand in
    ``__init__`` rather than through a pydantic ``InitSchema``, whose ``model_dump`` would copy the
    reference data's containers and turn a validator's TypeError into a silent default outside strict
    mode; the observable contract is the same."""
    accepted = {n for n in inspect.signature(init).parameters if n != "self"}

    @functools.wraps(init)
    def contract_init(self: Any, *args: Any, strict: bool = False, **kwargs: Any) -> None:
        invalid = [key for key in kwargs if key not in accepted]
        for key in invalid:
            del kwargs[key]
        init(self, *args, **kwargs)
        if invalid or not hasattr(self, "invalid_args"):
            self.invalid_args = invalid
        if invalid:
            message = f"Argument(s) '{', '.join(invalid)}' are not valid for transform {name}"
            if strict:
                raise ValueError(message)
            warnings.warn(message, stacklevel=2)

    return contract_init


class ContractMixin:
    """Put before an albumentations base class: ``class Cutout(ContractMixin, ImageOnlyTransform)``.

    Subclasses implement ``draw(data) -> params`` (all randomness, from ``self.py_random``),
    ``apply_params(params, data) -> data`` (deterministic) and may override
    ``not_applied(data) -> data``.
    """

    _seeded_pid: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not hasattr(init, "__wrapped__"):
            cls.__init__ = _constructor_contract(cls.__name__, init)  # type: ignore[method-assign]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # albumentations < 2.0.6 does not call set_random_seed from __init__: mark the owner here.
        self._mark_seeded_here()

    # -- randomness -----------------------------------------------------------------------------
    def set_random_seed(self, seed: int | None) -> None:
        super().set_random_seed(seed)  # type: ignore[misc]
        self._seeded_pid = os.getpid()

    def set_random_state(self, random_generator: np.random.Generator, py_random: random.Random) -> None:
        super().set_random_state(random_generator, py_random)  # type: ignore[misc]
        self._seeded_pid = os.getpid()

    def _mark_seeded_here(self) -> None:
        self._seeded_pid = os.getpid()

    def _reseed_if_new_process(self) -> None:
        if self._seeded_pid != os.getpid():
            derived = process_seed(self.seed)  # type: ignore[attr-defined]
            self.random_generator = np.random.default_rng(derived)
            self.py_random = random.Random(derived)
            self._seeded_pid = os.getpid()

    # -- the call -------------------------------------------------------------------------------
    def __call__(self, *args: Any, force_apply: bool = False, **data: Any) -> dict[str, Any]:
        if args:
            raise KeyError("You have to pass data to augmentations as named arguments, for example: aug(image=image)")
        if _INVOCATION_PROTOCOL:
            # AlbumentationsX: the stock __call__ opens the call-local invocation and calls
            # apply_in_invocation below (can_apply_without_invocation keeps it off its fast path).
            return super().__call__(force_apply=force_apply, **data)  # type: ignore[misc]
        return self._run(data, force_apply)

    def apply_in_invocation(self, invocation: Any, /, *, force_apply: bool, **data: Any) -> dict[str, Any]:
        """AlbumentationsX's entry point, from ``Compose`` and from ``__call__``; runs the same contract."""
        return self._run(data, force_apply, collect_params=invocation.collect_applied)

    def can_apply_without_invocation(self, *, force_apply: bool) -> bool:
        """AlbumentationsX: never take the stock fast path, which would skip the contract."""
        return False

    def _run(self, data: dict[str, Any], force_apply: bool, collect_params: bool = True) -> dict[str, Any]:
        self.check_data(data)
        if self.replay_mode:  # type: ignore[attr-defined]
            if not self.applied_in_replay:  # type: ignore[attr-defined]
                return data  # not called when recorded (e.g. the other choice of a OneOf): leave all alone
            params = self._replayed_params()
            return self.not_applied(data) if params.get("fired") is False else self.apply_params(params, data)
        self._reseed_if_new_process()
        if collect_params:
            self.params = {}
        if not self._fires(force_apply):
            if self._records_unfired and self.deterministic:  # type: ignore[attr-defined]
                # called but not fired still changes the data (the label is encoded): replay must know
                data[self.save_key][id(self)] = {"fired": False}  # type: ignore[attr-defined]
            return self.not_applied(data)
        params = self.draw(data)
        if collect_params:
            self.params = params
        if self.deterministic:  # type: ignore[attr-defined]
            data[self.save_key][id(self)] = deepcopy(params)  # type: ignore[attr-defined]
        return self.apply_params(params, data)

    def _fires(self, force_apply: bool) -> bool:
        """The stock probability rule; ``p`` is drawn from ``self.py_random``."""
        if _HAS_SHOULD_APPLY:  # albumentations 2.0
            return bool(self.should_apply(force_apply=force_apply))  # type: ignore[attr-defined]
        p = self.p  # type: ignore[attr-defined]
        return force_apply or p >= 1.0 or (p > 0.0 and self.py_random.random() < p)  # type: ignore[attr-defined]

    def _replayed_params(self) -> dict[str, Any]:
        """The params ``ReplayCompose.replay`` assigned to ``self.params``. AlbumentationsX stores an assignment
        made outside a call in ``_replay_params``, and ``self.params`` reads the current call's params."""
        return vars(self).get("_replay_params", self.params)  # type: ignore[attr-defined]

    def apply_with_params(self, params: dict[str, Any], *args: Any, **data: Any) -> dict[str, Any]:
        """albumentations' entry point for applying known params; same as ``apply_params``."""
        return self.apply_params(params, data)

    def check_data(self, data: dict[str, Any]) -> None:
        """Reject inputs this transform cannot handle, before anything is drawn."""

    def draw(self, data: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def apply_params(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def not_applied(self, data: dict[str, Any]) -> dict[str, Any]:
        return data

    # -- pickling and copying -------------------------------------------------------------------
    def _plain_state(self) -> dict[str, Any]:
        parent = getattr(super(), "__getstate__", None)
        return dict(parent() if parent is not None else self.__dict__)

    def __getstate__(self) -> dict[str, Any]:
        state = self._plain_state()
        for name in self._callback_args:
            qualname = getattr(state.get(name), "__qualname__", "")
            if "<lambda>" in qualname or "<locals>" in qualname:
                raise TypeError(
                    f"{type(self).__name__}: {name} is {qualname!r}, which cannot be pickled, so the transform "
                    "cannot go to DataLoader workers started with spawn or forkserver. Use a module-level "
                    "function or a picklable object instead of a lambda or a local function."
                )
        # Unpickled in a worker started with spawn or forkserver, this tells the worker its rank (read
        # here, in the rank process, where it is valid): see seeding.worker_init_fn.
        state["_rank_carrier"] = worker_init_fn
        return state

    def __copy__(self) -> Any:
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        """A deep copy that shares the callback arguments (reference data, ``read_fn``) instead of
        copying them: it copies no data set and works whatever the callbacks are, lambdas included
        (pickling still refuses those, with advice)."""
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        shared = {*self._callback_args, "_source"}
        state = {k: v if k in shared else deepcopy(v, memo) for k, v in self._plain_state().items()}
        restore = getattr(new, "__setstate__", None)
        if restore is not None:
            restore(state)
        else:
            new.__dict__.update(state)
        return new

    #: constructor arguments that may hold user callbacks, checked when pickling
    _callback_args: tuple[str, ...] = ()
    #: True where ``not_applied`` changes the data, so a call that did not fire is recorded for replay
    #: as ``{"fired": False}``
    _records_unfired: bool = False
