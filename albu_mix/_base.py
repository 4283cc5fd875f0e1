"""The call contract shared by albu_mix transforms.

albumentations' stock ``BasicTransform.__call__`` returns the data untouched when a transform
does not fire. albu_mix transforms that own the label must encode it every time, and every albu_mix
transform reseeds itself in a new process (see ``seeding``). ``ContractMixin.__call__`` keeps the
stock contract (``p`` drawn from ``self.py_random``, ``force_apply``, the replay record under
``save_key``, ``replay_mode``) and adds those two things, with less per-call overhead. It also joins
the pipeline hook (``_pipeline``) when a ``Compose`` hands it its processors.

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
import random
import warnings
from copy import deepcopy
from typing import Any

import numpy as np

from . import seeding
from ._compat import ALBUMENTATIONSX, HAS_SHOULD_APPLY, replayed_params
from ._pipeline import install
from ._routing import IMAGE_LEADS
from .seeding import worker_init_fn

__all__ = ["ContractMixin", "check_array", "check_probability", "image_shape", "plain", "set_state"]

_SUPPORTED_DTYPES = (np.uint8, np.float32)


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


def set_state(new: Any, state: dict[str, Any]) -> Any:
    """``new`` (made by ``__new__``) given ``state`` the way its class restores a pickled state: with
    ``__setstate__`` where there is one (AlbumentationsX recreates its locks there), else into ``__dict__``."""
    restore = getattr(new, "__setstate__", None)
    if restore is not None:
        restore(state)
    else:
        new.__dict__.update(state)
    return new


def image_shape(owner: str, data: dict[str, Any]) -> tuple[int, int]:
    """(height, width) of the sample, from ``image``, ``images``, ``volume`` or ``volumes``."""
    for key, lead in IMAGE_LEADS.items():
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, (list, tuple)):  # a list of images or volumes: its first
            if not value:
                continue
            value, lead = value[0], lead - 1
        shape = np.shape(value)
        if len(shape) < lead + 2:
            raise ValueError(f"{owner}: {key} must have at least {lead + 2} dimensions, got shape {shape}")
        return int(shape[lead]), int(shape[lead + 1])
    raise ValueError(
        f"{owner}: the data must hold an 'image' (or 'images', 'volume' or 'volumes'), got keys {sorted(data)}"
    )


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
    ``not_applied(data) -> data``; ``_hook_pool`` and ``_sets_mix_lambda`` tell the pipeline hook
    what this transform needs at the start and end of each call (albumentations 2.0 only).
    """

    #: the base seed this transform derives its streams from, and the (pid, rank) they were derived
    #: for (``seeding``: one source of truth)
    _seed_base: int | None
    _seeded_for: tuple[int, int]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not hasattr(init, "__wrapped__"):
            cls.__init__ = _constructor_contract(cls.__name__, init)  # type: ignore[method-assign]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "_seeded_for" not in vars(self):  # albumentations < 2.0.6 does not seed from __init__
            seeding.seed_transform(self, getattr(self, "seed", None))

    # -- randomness -----------------------------------------------------------------------------
    def set_random_seed(self, seed: int | None) -> None:
        super().set_random_seed(seed)  # type: ignore[misc]
        seeding.seed_transform(self, seed)

    def set_random_state(self, random_generator: np.random.Generator, py_random: random.Random, **kwargs: Any) -> None:
        """Streams given directly (a composition passing its own down): they are this process's."""
        super().set_random_state(random_generator, py_random, **kwargs)  # type: ignore[misc]
        self._seeded_for = seeding.identity()

    # -- routing ----------------------------------------------------------------------------------
    #: the transform's ``_routing.Router``, for those that route keys by kind (None: they do not)
    _router: Any = None

    def add_targets(self, additional_targets: dict[str, str]) -> None:
        """``Compose(additional_targets=...)``: the router learns every alias (albumentations keeps only
        those of supported kinds; the router keeps all, so a mixer can refuse the others by name)."""
        if self._router is not None:
            self._router.add_aliases(additional_targets)
        super().add_targets(additional_targets)  # type: ignore[misc]

    # -- the pipeline hook ------------------------------------------------------------------------
    def set_processors(self, processors: dict[str, Any]) -> None:
        """albumentations 2.0's ``Compose`` hands every transform its processors: join the pipeline hook."""
        super().set_processors(processors)  # type: ignore[misc]
        install(processors, self)

    #: the ``PartnerPool`` this transform fills or draws from, told by the hook when a call starts and ends
    _hook_pool: Any = None
    #: True for the mixers: every sample leaves their pipeline with ``mix_lambda``
    _sets_mix_lambda: bool = False

    # -- the call -------------------------------------------------------------------------------
    def __call__(self, *args: Any, force_apply: bool = False, **data: Any) -> dict[str, Any]:
        if args:
            raise KeyError("You have to pass data to augmentations as named arguments, for example: aug(image=image)")
        if ALBUMENTATIONSX:
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
            params = replayed_params(self)
            return self.not_applied(data) if params.get("fired") is False else self.apply_params(params, data)
        if self._seeded_for != seeding.identity():  # a new process, or a new rank: derive again
            seeding.seed_transform(self, self._seed_base)
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
        out, applied = self.apply_drawn(params, data)
        if collect_params and not applied:
            self.params = {}  # e.g. a cold pool: nothing was applied, so nothing is listed as applied
        return out

    def _fires(self, force_apply: bool) -> bool:
        """The stock probability rule; ``p`` is drawn from ``self.py_random``."""
        if HAS_SHOULD_APPLY:  # albumentations 2.0
            return bool(self.should_apply(force_apply=force_apply))  # type: ignore[attr-defined]
        p = self.p  # type: ignore[attr-defined]
        return force_apply or p >= 1.0 or (p > 0.0 and self.py_random.random() < p)  # type: ignore[attr-defined]

    def apply_with_params(self, params: dict[str, Any], *args: Any, **data: Any) -> dict[str, Any]:
        """albumentations' entry point for applying known params; same as ``apply_params``."""
        return self.apply_params(params, data)

    def apply_drawn(self, params: dict[str, Any], data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """``apply_params`` on freshly drawn params, and whether it applied them (False: it acted as
        not fired, as a mixer does when its pool has no partner yet)."""
        return self.apply_params(params, data), True

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
        state = dict(parent() if parent is not None else self.__dict__)
        state.pop("_token", None)  # a copy is another transform: it gets a replay token of its own
        return state

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
        new.__dict__.pop("_token", None)  # a copy is another transform: it gets a replay token of its own
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        """A deep copy that shares the callback arguments (reference data, ``read_fn``) instead of
        copying them: it copies no data set and works whatever the callbacks are, lambdas included
        (pickling still refuses those, with advice)."""
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        shared = {*self._callback_args, "_source"}
        state = {k: v if k in shared else deepcopy(v, memo) for k, v in self._plain_state().items()}
        return set_state(new, state)

    #: constructor arguments that may hold user callbacks, checked when pickling
    _callback_args: tuple[str, ...] = ()
    #: True where ``not_applied`` changes the data, so a call that did not fire is recorded for replay
    #: as ``{"fired": False}``
    _records_unfired: bool = False
