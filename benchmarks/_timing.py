"""Interleaved micro-benchmark timing: calibrated blocks, alternating candidates, medians.

A *group* holds callables that are compared with each other. Each one is warmed up and
calibrated to a block of ``N`` calls lasting about ``target_s``; then the group runs ``rounds``
rounds, and each round times one block of every callable, one after the other (A, B, A, B, ...;
the order rotates from round to round so no callable always runs first). The per-call time of a
block is its duration divided by ``N``. A callable's figure is the median over its blocks, and a
ratio is taken between two such medians measured in the same process, in the same rounds.

This module is imported by ``speed.py`` through its own directory (``benchmarks`` is not a
package). It only measures; it never asserts anything about the numbers.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Candidate", "Group", "Progress", "Timings", "make_progress", "run_group"]


@dataclass(frozen=True)
class Candidate:
    """One callable to time. ``per_call`` divides a call's time (e.g. a batch size for per-image)."""

    key: str
    fn: Callable[[], object]
    per_call: int = 1


@dataclass
class Group:
    """Callables timed together, interleaved, so their ratios share the same conditions."""

    title: str
    candidates: list[Candidate]


@dataclass
class Timings:
    """Per-call seconds of every block of every candidate of one group, round by round."""

    blocks: dict[str, np.ndarray] = field(default_factory=dict)
    calls_per_block: dict[str, int] = field(default_factory=dict)

    def median(self, key: str) -> float:
        return float(np.median(self.blocks[key]))

    def round_ratios(self, numerator: str, denominator: str) -> np.ndarray:
        """``numerator / denominator`` per round (the two blocks of a round ran back to back)."""
        return self.blocks[numerator] / self.blocks[denominator]


class Progress:
    """A minimal progress bar interface: tqdm when importable, else a text bar on stderr."""

    def __init__(self, total: int) -> None:
        self.total = max(1, total)
        self.done = 0
        self.label = ""
        self._last_drawn = -1.0

    def describe(self, label: str) -> None:
        self.label = label

    def update(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._last_drawn >= 0.2 or self.done >= self.total:
            self._last_drawn = now
            width = 30
            filled = int(width * self.done / self.total)
            bar = "#" * filled + "-" * (width - filled)
            sys.stderr.write(f"\r[{bar}] {100 * self.done / self.total:5.1f}% {self.label[:48]:<48}")
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


class _TqdmProgress(Progress):
    def __init__(self, total: int) -> None:
        super().__init__(total)
        from tqdm import tqdm

        self._bar = tqdm(total=total, unit="block", dynamic_ncols=True, file=sys.stderr)

    def describe(self, label: str) -> None:
        self._bar.set_description_str(label[:48])

    def update(self, count: int = 1) -> None:
        self._bar.update(count)

    def close(self) -> None:
        self._bar.close()


def make_progress(total: int) -> Progress:
    """A tqdm bar if tqdm imports, else the text bar (with a one-line hint on stderr)."""
    try:
        return _TqdmProgress(total)
    except ImportError:
        sys.stderr.write("tqdm is not installed (pip install tqdm); using a plain progress bar\n")
        return Progress(total)


def _time_block(fn: Callable[[], object], calls: int) -> float:
    """Seconds for ``calls`` back-to-back calls of ``fn``, with the cyclic garbage collector paused
    (as ``timeit`` does); it runs again between blocks."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def calibrate(fn: Callable[[], object], target_s: float, min_calls: int = 1) -> int:
    """Warm ``fn`` up and return a call count whose block lasts about ``target_s``."""
    fn()  # first call: imports, caches, allocator warm-up
    calls = 1
    elapsed = _time_block(fn, calls)
    while elapsed < min(target_s, 0.005) and calls < 1_000_000:  # grow until the estimate is usable
        calls *= 4
        elapsed = _time_block(fn, calls)
    per_call = elapsed / calls
    _time_block(fn, max(1, math.ceil(target_s / per_call)))  # one full-size warm-up block
    return max(min_calls, math.ceil(target_s / per_call))


def run_group(group: Group, rounds: int, target_s: float, progress: Progress, min_calls: int = 1) -> Timings:
    """Time every candidate of ``group`` in ``rounds`` interleaved rounds (see the module docstring)."""
    progress.describe(group.title)
    sizes = {c.key: calibrate(c.fn, target_s, min_calls) for c in group.candidates}
    samples: dict[str, list[float]] = {c.key: [0.0] * rounds for c in group.candidates}
    order: Sequence[Candidate] = group.candidates
    gc.collect()
    for index in range(rounds):
        shift = index % len(order)
        for candidate in [*order[shift:], *order[:shift]]:
            calls = sizes[candidate.key]
            elapsed = _time_block(candidate.fn, calls)
            samples[candidate.key][index] = elapsed / (calls * candidate.per_call)
            progress.update()
    return Timings(
        blocks={key: np.asarray(values) for key, values in samples.items()},
        calls_per_block=sizes,
    )
