"""Schedules that reach DataLoader workers: switch mixing (or any transform) on and off by epoch.

Turning mixing off for the last epochs is standard practice (timm's ``--mixup-off-epoch``,
ultralytics' ``close_mosaic``). With per-sample mixing the mixers run in the DataLoader workers, and
with ``persistent_workers=True`` a change made in the main process between epochs (``one_of.p = 0``)
never reaches them: each worker keeps the copy of the pipeline it got when it started. A
``Schedule`` holds the epoch in memory that the workers share with the main process::

    schedule = Schedule()
    transform = A.Compose([
        A.RandomResizedCrop((224, 224)), A.HorizontalFlip(),
        schedule.during(range(0, epochs - 10), [A.OneOf([MixUp(...), CutMix(...)], p=0.8)]),
        LabelSmoothing(0.1, num_classes=K),   # every label encoded, mixed or not
    ])
    loader = DataLoader(dataset, num_workers=4, persistent_workers=True, ...)
    for epoch in range(epochs):
        schedule.set_epoch(epoch)             # before iterating the loader for that epoch
        for batch in loader:
            ...

**When ``set_epoch`` takes effect.** ``iter(loader)`` sends the epoch's first
``prefetch_factor × num_workers`` indices to the workers at once (persistent workers), or starts
the workers (otherwise). Call ``set_epoch`` before iterating the loader for that epoch, as with
``DistributedSampler.set_epoch``: then every sample of the epoch sees it. A ``set_epoch`` made while
an epoch is being iterated reaches the samples requested after it; the ones already requested (up
to ``prefetch_factor × num_workers``) may see either epoch.

**How the epoch reaches the workers.** The epoch is a ``multiprocessing.RawValue`` (one 64-bit
integer in shared memory) created with the schedule:

- workers started with **fork** inherit the shared memory;
- workers started with **spawn** or **forkserver** get the dataset pickled as an argument of
  ``Process.start``; while a process is being started (``multiprocessing.context.get_spawning_popen()``
  is set) the schedule pickles the shared value itself, whose file descriptor multiprocessing passes
  to the new process; the worker then reads what the main process sets, epoch after epoch;
- anywhere else (``pickle.dumps``, ``copy.deepcopy(schedule)``, ``torch.save``, a ``Pool`` task) a
  schedule pickles as a **detached snapshot**: a new schedule, in its own memory, at the epoch it had
  when it was pickled. A schedule loaded from disk is a snapshot.

Why not ``multiprocessing.shared_memory.SharedMemory``: it can be re-attached by name from any
process, but before Python 3.13 every attaching process registers the block with the resource
tracker, which warns about leaked blocks and may unlink it when a worker exits, and the creating
process must unlink it at the right moment; a name pickled to disk would point at a block that is
gone or reused. A ``RawValue`` has no name and no tracker: it lives as long as the processes that
map it, and it travels exactly where a DataLoader needs it (fork, spawn, forkserver), with no worker
restart, no rebuilt loader and no file polling. One process writes it (the one that calls
``set_epoch``); an aligned 64-bit read or write needs no lock.

**A window** (``schedule.during(epochs, transforms)``, an :class:`EpochWindow`) applies its
transforms, one after the other like ``A.Sequential``, while the schedule's epoch is in ``epochs``,
and passes the data through untouched otherwise. It draws nothing at random of its own (it has no
probability: put one on what it holds, ``A.OneOf([...], p=0.5)``), so an open window gives exactly
what its transforms give unwrapped, and a closed window exactly what the pipeline gives without
them, seeded runs included. A closed window does not call its transforms at all: end the pipeline
with ``LabelSmoothing`` (ε = 0 only encodes) so that every sample still leaves with an encoded label
and ``mix_lambda`` (1.0). ``force_apply`` (``A.OneOf`` choosing the window, ``ReplayCompose.replay``)
does not open a closed window: a ``OneOf`` that chooses a closed window does nothing that time, so
put the ``OneOf`` inside the window rather than the window inside a ``OneOf``.

**Ranks** (``torch.distributed``): each rank makes its own schedule with its dataset and calls
``set_epoch`` with the same epoch, as it calls ``DistributedSampler.set_epoch``.

**Replay** (``ReplayCompose``): the record holds, for the window, ``{"open": ..., "epoch": ...}``
and what each of its transforms did; ``ReplayCompose.replay`` follows the record, whatever the
schedule's epoch is at replay time. The replayed window holds no schedule, so a record of
albumentations' own transforms replays in any process (albu_mix's mixers still need the recording
pipeline alive, as always).

**Serialization** follows the mixers' rule: the schedule is the live object that JSON cannot hold.
``A.to_dict``/``A.save`` store the window's epochs, its transforms, and the schedule's ``name``;
``A.from_dict(d, nonserializable={"Schedule": schedule, ...})`` restores the window on the schedule
you pass (the key is ``Schedule(name=...)``, default ``"Schedule"``; a schedule whose name differs
from the saved one is an error). The epoch is not saved: it is the passed schedule's.

**Copies.** ``copy.deepcopy`` of a pipeline (or of a window) shares its schedule, as albu_mix deep
copies share reference data: the copy follows the same ``set_epoch``. ``pickle`` of a pipeline gives
it a detached snapshot (see above).

**No probability ramp** (p as a function of the epoch): the schedules users ask for are switches
(timm, ultralytics, mmdetection's pipeline switch), and a ramp would need a callable in the
pipeline, which JSON cannot hold. Steps are windows: ``schedule.during(range(0, 10), [A.OneOf(...,
p=0.8)])`` then ``schedule.during(range(10, 15), [A.OneOf(..., p=0.4)])``, each serializable and
replayable as it is.
"""

from __future__ import annotations

import copy
import ctypes
import multiprocessing
import multiprocessing.context
import numbers
from typing import Any

import albumentations as A
from albumentations.core.composition import BaseCompose
from albumentations.core.serialization import NON_SERIALIZABLE_REGISTRY, SERIALIZABLE_REGISTRY
from albumentations.core.transforms_interface import BasicTransform

from ._base import set_state
from ._compat import ALBUMENTATIONSX

__all__ = ["EpochWindow", "Schedule"]

#: What ``during`` takes: a ``range``, or a ``(start, stop)`` pair whose ``stop`` may be None (no end).
Epochs = range | tuple[int, int | None]

_MAX_EPOCH = 2**63 - 1  # what the shared 64-bit integer holds
_REPR_INDENT_STEP = 2  # albumentations' own


def _checked_epoch(owner: str, value: Any) -> int:
    """``value`` as a Python int: an integer (numpy's included, bool not) in [0, 2**63)."""
    message = f"{owner}: expected an int >= 0 for the epoch, got {type(value).__name__} {value!r}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(message)
    if not 0 <= int(value) <= _MAX_EPOCH:
        raise ValueError(message)
    return int(value)


class Schedule:
    """The training epoch, shared with the DataLoader workers, and windows of epochs for transforms.

    Create it in the main process (in each rank), next to the dataset; call ``set_epoch(epoch)``
    before iterating the loader for that epoch. See the module documentation for how the epoch
    reaches workers started with fork, spawn and forkserver, and what pickling and copying do.

    Args:
        epoch: the epoch to start at (an int >= 0).
        name: the key under which ``A.from_dict(..., nonserializable={name: schedule})`` restores the
            windows of a saved pipeline.

    Examples:
        >>> import albumentations as A, numpy as np
        >>> from albu_mix import LabelSmoothing, MixUp
        >>> from albu_mix.schedule import Schedule
        >>> schedule = Schedule()
        >>> partners = [{"image": np.zeros((8, 8, 3), np.uint8), "label": 2}]
        >>> pipeline = A.Compose([
        ...     schedule.during(range(0, 2), [MixUp(partners, num_classes=3, p=1.0)]),
        ...     LabelSmoothing(0.0, num_classes=3),
        ... ], seed=0)
        >>> image = np.full((8, 8, 3), 255, np.uint8)
        >>> pipeline(image=image, label=0)["mix_lambda"] < 1.0
        True
        >>> schedule.set_epoch(2)
        >>> out = pipeline(image=image, label=0)
        >>> out["mix_lambda"], out["label"].tolist()
        (1.0, [1.0, 0.0, 0.0])
    """

    def __init__(self, epoch: int = 0, name: str = "Schedule") -> None:
        if not isinstance(name, str) or not name:
            error = ValueError if isinstance(name, str) else TypeError
            raise error(f"Schedule: expected a non-empty string for name, got {type(name).__name__} {name!r}")
        self.name = name
        self._shared = multiprocessing.RawValue(ctypes.c_int64, _checked_epoch("Schedule", epoch))

    @property
    def epoch(self) -> int:
        """The current epoch, as every process that shares this schedule sees it."""
        return int(self._shared.value)

    def set_epoch(self, epoch: int) -> None:
        """Make ``epoch`` the current epoch, for this process and the workers that share the schedule.

        Call it before iterating the loader for that epoch (``iter(loader)`` sends the first
        ``prefetch_factor × num_workers`` indices at once).

        Args:
            epoch: an int >= 0 (numpy integers too).
        """
        self._shared.value = _checked_epoch("Schedule.set_epoch", epoch)

    def during(self, epochs: Epochs, transforms: list[Any]) -> EpochWindow:
        """A transform that applies ``transforms`` while this schedule's epoch is in ``epochs``.

        Args:
            epochs: a ``range`` of epochs (any step), or a ``(start, stop)`` pair of ints, ``stop``
                excluded, where ``stop=None`` means no end (``(10, None)``: from epoch 10 on). It must
                hold at least one epoch, all >= 0. A list is refused: ``[0, 5]`` could mean two epochs.
            transforms: a non-empty list of albumentations transforms or compositions (albu_mix's
                and albumentations' own alike), applied one after the other while the window is open.

        Returns:
            An :class:`EpochWindow`, to put in an ``A.Compose`` like any transform.
        """
        return EpochWindow(transforms, schedule=self, epochs=epochs, _owner="Schedule.during")

    # -- pickling: the shared value travels only to a process being started ----------------------
    def __getstate__(self) -> dict[str, Any]:
        if multiprocessing.context.get_spawning_popen() is not None:
            # Pickled as an argument of Process.start (a DataLoader worker under spawn or forkserver):
            # the shared value travels, and the new process reads what this one sets.
            return {"name": self.name, "shared": self._shared}
        return {"name": self.name, "epoch": self.epoch}  # anywhere else: a detached snapshot

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.name = state["name"]
        shared = state.get("shared")
        self._shared = shared if shared is not None else multiprocessing.RawValue(ctypes.c_int64, state["epoch"])

    def __repr__(self) -> str:
        return f"Schedule(epoch={self.epoch}, name={self.name!r})"


class _ReplayOnly:
    """The schedule of a window restored by ``ReplayCompose.replay``: replay follows the record, so
    there is no epoch to read; a call outside replay says so."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def epoch(self) -> int:
        raise RuntimeError(
            f"EpochWindow: this window was restored by ReplayCompose.replay (schedule {self.name!r}) and only "
            "replays its record; build the pipeline with your Schedule to apply it anew"
        )

    def __repr__(self) -> str:
        return f"<replay of Schedule {self.name!r}>"


def _checked_epochs(owner: str, epochs: Any) -> range | tuple[int, None]:
    """``epochs`` as a non-empty ``range`` of epochs >= 0, or ``(start, None)`` for an open end."""
    expected = "a range or a (start, stop) pair of ints >= 0 (stop None: no end)"
    if isinstance(epochs, range):
        if len(epochs) == 0:
            raise ValueError(f"{owner}: expected epochs holding at least one epoch, got the empty {epochs!r}")
        if min(epochs) < 0:
            raise ValueError(f"{owner}: expected epochs >= 0, got {epochs!r}")
        return epochs
    if isinstance(epochs, tuple) and len(epochs) == 2:
        ints = [isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in epochs]
        if not ints[0] or not (ints[1] or epochs[1] is None):
            raise TypeError(f"{owner}: expected for epochs {expected}, got {epochs!r}")
        start, stop = int(epochs[0]), None if epochs[1] is None else int(epochs[1])
        if start < 0 or (stop is not None and stop <= start):
            raise ValueError(f"{owner}: expected epochs (start, stop) with 0 <= start < stop, got {epochs!r}")
        return (start, None) if stop is None else range(start, stop)
    shown = f"{type(epochs).__name__} {epochs!r}"
    hint = " (a list is ambiguous: pass range(start, stop) or a (start, stop) tuple)" if isinstance(epochs, list) else ""
    raise TypeError(f"{owner}: expected for epochs {expected}, got {shown}{hint}")


def _checked_transforms(owner: str, transforms: Any) -> list[Any]:
    expected = "a list of albumentations transforms"
    if isinstance(transforms, (BasicTransform, BaseCompose)):
        name = type(transforms).__name__
        raise TypeError(f"{owner}: expected for transforms {expected}, got a single {name}: pass [{name}(...)]")
    if not isinstance(transforms, (list, tuple)):
        raise TypeError(f"{owner}: expected for transforms {expected}, got {type(transforms).__name__}")
    if not transforms:
        raise ValueError(f"{owner}: expected for transforms {expected}, got an empty {type(transforms).__name__}")
    for index, transform in enumerate(transforms):
        if not isinstance(transform, (BasicTransform, BaseCompose)):
            raise TypeError(
                f"{owner}: expected for transforms[{index}] an albumentations transform, got {type(transform).__name__}"
            )
    return list(transforms)


def _epochs_as_json(epochs: range | tuple[int, None]) -> list[int | None]:
    if isinstance(epochs, range):
        return [epochs.start, epochs.stop, epochs.step]
    return [epochs[0], None, 1]


def _epochs_from_json(saved: list[Any]) -> range | tuple[int, None]:
    start, stop, step = saved
    return (int(start), None) if stop is None else range(int(start), int(stop), int(step))


class EpochWindow(A.Sequential):
    """Applies its transforms while its schedule's epoch is in ``epochs``; made by ``Schedule.during``.

    It is an albumentations composition (a subclass of ``A.Sequential``), so albumentations hands
    its transforms what it hands every composition's: targets and ``additional_targets``,
    ``bbox_params``/``keypoint_params`` processors, ``Compose(seed=...)`` and ``set_random_seed``,
    strict-mode checks, ``mask_interpolation``, replay records; whatever walks a pipeline's
    ``transforms`` (``albu_mix.reseed``, ``albu_mix.worker_init_fn``) reaches them too. What it adds
    is the switch:

    - **open** (the epoch is in ``epochs``): its transforms run one after the other, each with its
      own probability; the window itself draws nothing, so the result is exactly that of the
      transforms unwrapped;
    - **closed**: its transforms are not called and draw nothing; the data passes through untouched.

    Args:
        transforms: a non-empty list of albumentations transforms or compositions.
        schedule: the :class:`Schedule` whose epoch opens and closes the window.
        epochs: a ``range``, or a ``(start, stop)`` pair (``stop=None``: no end); see
            ``Schedule.during``.

    Replay, serialization by the schedule's ``name``, pickling and copying: see the module
    documentation (``albu_mix.schedule``).
    """

    def __init__(self, transforms: list[Any], schedule: Schedule, epochs: Epochs, *, _owner: str = "EpochWindow") -> None:
        if not isinstance(schedule, (Schedule, _ReplayOnly)):
            raise TypeError(f"{_owner}: expected an albu_mix Schedule for schedule, got {type(schedule).__name__}")
        self.schedule = schedule
        self.epochs = _checked_epochs(_owner, epochs)
        self._save_key: str | None = None  # where a ReplayCompose collects records, once it made us deterministic
        super().__init__(transforms=_checked_transforms(_owner, transforms), p=1.0)

    @property
    def is_open(self) -> bool:
        """Whether the window is open at the schedule's current epoch."""
        return self._contains(self.schedule.epoch)

    def _contains(self, epoch: int) -> bool:
        epochs = self.epochs
        return epoch in epochs if isinstance(epochs, range) else epoch >= epochs[0]

    def _open_now(self, data: dict[str, Any]) -> bool:
        """Whether this call runs the transforms; noted in the replay record when one is collected."""
        epoch = self.schedule.epoch
        is_open = self._contains(epoch)
        if self._save_key is not None:
            record = data.get(self._save_key)
            if record is not None:
                record[id(self)] = {"open": is_open, "epoch": epoch}
        return is_open

    # -- the call: albumentations 2.0 calls __call__, AlbumentationsX apply_in_invocation ----------
    def __call__(self, *args: Any, force_apply: bool = False, **data: Any) -> dict[str, Any]:
        if args:
            raise KeyError("You have to pass data to augmentations as named arguments, for example: aug(image=image)")
        if ALBUMENTATIONSX:  # opens the call's invocation (when none is active) and calls apply_in_invocation
            return super().__call__(force_apply=force_apply, **data)  # type: ignore[no-any-return]
        if not self.replay_mode and not self._open_now(data):
            return data
        # open (or replaying: each transform then does what its record says): no probability of our own
        return super().__call__(force_apply=True, **data)  # type: ignore[no-any-return]

    def apply_in_invocation(self, invocation: Any, /, *args: Any, force_apply: bool, **data: Any) -> dict[str, Any]:
        """AlbumentationsX's entry point: the same switch."""
        if not self.replay_mode and not self._open_now(data):
            return data
        return super().apply_in_invocation(invocation, *args, force_apply=True, **data)  # type: ignore[no-any-return]

    def set_deterministic(self, flag: bool, save_key: str = "replay") -> None:
        super().set_deterministic(flag, save_key)
        self._save_key = save_key if flag else None

    # -- serialization: the schedule by name; replay records without it ------------------------------
    @classmethod
    def is_serializable(cls) -> bool:
        return False  # the saved entry is restored with its schedule from `nonserializable`

    def to_dict_private(self) -> dict[str, Any]:
        named = {"__class_fullname__": _SCHEDULE_KEY, "__name__": self.schedule.name, "p": 1.0}
        return {
            "__class_fullname__": f"{self.get_class_fullname()}:saved",
            "p": 1.0,
            "epochs": _epochs_as_json(self.epochs),
            "schedule": self.schedule.name,
            "transforms": [named, *(t.to_dict_private() for t in self.transforms)],
        }

    def get_dict_with_id(self) -> dict[str, Any]:
        return {
            "__class_fullname__": f"{self.get_class_fullname()}:replay",
            "id": id(self),
            "params": None,
            "epochs": _epochs_as_json(self.epochs),
            "schedule": self.schedule.name,
            "transforms": [t.get_dict_with_id() for t in self.transforms],
        }

    def _get_reconstruction_kwargs(self) -> dict[str, Any]:
        """AlbumentationsX rebuilds a composition from these (``window + transform``)."""
        return {"schedule": self.schedule, "epochs": self.epochs}

    def indented_repr(self, indent: int = _REPR_INDENT_STEP) -> str:
        children = "".join(
            "\n" + " " * indent + (t.indented_repr(indent + _REPR_INDENT_STEP) if hasattr(t, "indented_repr") else repr(t)) + ","
            for t in self.transforms
        )
        closing = " " * (indent - _REPR_INDENT_STEP)
        return f"{type(self).__name__}([{children}\n{closing}], epochs={self.epochs!r}, schedule={self.schedule!r})"

    # -- copying: a deep copy shares the schedule ----------------------------------------------------
    def __deepcopy__(self, memo: dict[int, Any]) -> EpochWindow:
        memo.setdefault(id(self.schedule), self.schedule)
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        getstate = getattr(super(), "__getstate__", None)  # AlbumentationsX drops locks; Python >= 3.11: __dict__
        return set_state(new, copy.deepcopy(getstate() if getstate is not None else self.__dict__, memo))


# -- the registry entries A.from_dict and ReplayCompose.replay look up ------------------------------

#: the saved entry of a window's schedule, restored from `nonserializable` by name (like a Lambda)
_SCHEDULE_KEY = f"{Schedule.__module__}.{Schedule.__qualname__}"


def _restore_saved(transforms: list[Any], epochs: list[Any], schedule: str, p: float = 1.0) -> EpochWindow:
    live, *children = transforms
    if not isinstance(live, Schedule):
        raise TypeError(
            f"EpochWindow: nonserializable[{schedule!r}] must be an albu_mix Schedule, got {type(live).__name__}"
        )
    if live.name != schedule:
        raise ValueError(
            f"EpochWindow: the Schedule passed in nonserializable[{schedule!r}] is named {live.name!r}, the saved "
            f"pipeline's is {schedule!r}; build it with Schedule(name={schedule!r})"
        )
    return live.during(_epochs_from_json(epochs), children)


def _restore_for_replay(transforms: list[Any], epochs: list[Any], schedule: str) -> EpochWindow:
    return EpochWindow(transforms, schedule=_ReplayOnly(schedule), epochs=_epochs_from_json(epochs))  # type: ignore[arg-type]


def _missing_schedule(**saved: Any) -> Any:
    name = saved.get("__name__", "Schedule")
    raise ValueError(
        f"EpochWindow: the serialized pipeline holds a window of the Schedule named {name!r}, which JSON cannot "
        f"store; restore it with A.from_dict(d, nonserializable={{{name!r}: schedule, ...}}), got no entry {name!r}"
    )


_FULLNAME = EpochWindow.get_class_fullname()
SERIALIZABLE_REGISTRY[f"{_FULLNAME}:saved"] = _restore_saved
SERIALIZABLE_REGISTRY[f"{_FULLNAME}:replay"] = _restore_for_replay
NON_SERIALIZABLE_REGISTRY[_SCHEDULE_KEY] = Schedule
SERIALIZABLE_REGISTRY[_SCHEDULE_KEY] = _missing_schedule
