"""A real torch.distributed job: every (rank, DataLoader worker) draws its own stream, and runs repeat.

The bug report: a gloo job of 2 ranks started with ``torch.multiprocessing.spawn`` (no RANK
variable), ``Compose(seed=5)``, 2 DataLoader workers per rank, a DistributedSampler and the same
``torch.manual_seed`` on both ranks drew identical streams on rank 0 and rank 1 in every worker.
Inside ``torch.multiprocessing.spawn`` the default start method is spawn, so the DataLoader workers
are new interpreters: they see no process group and no RANK, and torch gives the workers of both
ranks the same worker seeds. The job (``workers_support.launch_distributed_job``) starts its workers
with forkserver, which puts them in the same position at a fraction of the cost (see
``workers_support.JOB_VARIANTS``), and, as a check, with fork, where the process group is visible.
It runs on CPU and the loopback interface, in a new interpreter each time, as a new run of a program
would. Each rank also checks that a ``Schedule`` reaches its persistent workers: mixing in epoch 0,
none after ``set_epoch(1)``.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
import workers_support as support
from conftest import ALBUMENTATIONSX

torch = pytest.importorskip("torch")
if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

ROOT = Path(__file__).parent.parent
RANKS_AND_WORKERS = [(0, 0), (0, 1), (1, 0), (1, 1)]
VARIANTS = [name for name, *_ in support.JOB_VARIANTS]

Streams = dict[str, dict[tuple[int, int], list[list[list[int]]]]]


def run_job(out_dir: Path) -> Streams:
    """Launch the job in a new interpreter; per variant, what each (rank, worker) drew, item by item."""
    out_dir.mkdir()
    code = (
        "import sys; sys.path.insert(0, 'tests'); import workers_support as s; "
        f"s.launch_distributed_job({str(out_dir)!r})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, f"the distributed job failed:\n{done.stderr[-4000:]}"
    streams: Streams = {}
    for rank in range(2):
        record = json.loads((out_dir / f"rank{rank}.json").read_text())
        for variant, items in record.items():
            for item in items:
                streams.setdefault(variant, {}).setdefault((rank, item["worker"]), []).append(item["draws"])
    return streams


@pytest.fixture(scope="module")
def job_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Where the two runs of the job write."""
    root = tmp_path_factory.mktemp("distributed")
    return root / "first", root / "rerun"


@pytest.fixture(scope="module")
def jobs(job_dirs: tuple[Path, Path]) -> tuple[Streams, Streams]:
    """The same job run twice."""
    return run_job(job_dirs[0]), run_job(job_dirs[1])


def with_seed(streams: Streams, variant: str, seed: int) -> dict[tuple[int, int], list[list[int]]]:
    """Per (rank, worker): what the pipeline seeded with ``seed`` drew, item by item."""
    column = support.JOB_SEEDS.index(seed)
    per_worker = streams[variant]
    assert sorted(per_worker) == RANKS_AND_WORKERS, f"expected draws from (rank, worker) {RANKS_AND_WORKERS}"
    return {key: [draws[column] for draws in items] for key, items in per_worker.items()}


# On AlbumentationsX a transform inside Compose draws from the root pipeline's stream, which albu_mix
# cannot reseed from inside, and AlbumentationsX reseeds it in a DataLoader worker from torch's
# worker seed alone: without worker_init_fn, ranks repeat each other there.
X_SAME_ON_ALL_RANKS = pytest.mark.xfail(
    ALBUMENTATIONSX,
    strict=True,
    reason="AlbumentationsX reseeds a worker's root pipeline from torch's worker seed alone",
)


@pytest.mark.parametrize(
    "variant",
    [v if v == "worker_init_fn" else pytest.param(v, marks=X_SAME_ON_ALL_RANKS) for v in VARIANTS],
)
def test_every_rank_and_worker_draws_its_own_stream(jobs: tuple[Streams, Streams], variant: str) -> None:
    drawn = with_seed(jobs[0], variant, 5)
    pairs = list(itertools.combinations(RANKS_AND_WORKERS, 2))
    same = [(a, b) for a, b in pairs if drawn[a] == drawn[b]]
    assert not same, f"{variant}: expected 4 distinct streams, got the same stream in (rank, worker) pairs {same}"
    if variant == "worker_init_fn":  # albumentations' own HorizontalFlip, reseeded by worker_init_fn
        flips = {key: [d[0] for d in items] for key, items in drawn.items()}
        same = [(a, b) for a, b in pairs if flips[a] == flips[b]]
        assert not same, f"expected 4 distinct flip sequences, got the same in (rank, worker) pairs {same}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_rerun_repeats_every_stream(jobs: tuple[Streams, Streams], variant: str) -> None:
    first, rerun = jobs
    for seed in support.JOB_SEEDS:
        assert with_seed(rerun, variant, seed) == with_seed(first, variant, seed), f"{variant}, seed {seed}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_another_seed_changes_every_stream(jobs: tuple[Streams, Streams], variant: str) -> None:
    five, six = (with_seed(jobs[0], variant, seed) for seed in (5, 6))
    for key in RANKS_AND_WORKERS:
        assert five[key] != six[key], f"{variant}: seeds 5 and 6 drew the same stream in (rank, worker) {key}"


def test_draws_are_read_from_the_images() -> None:
    """The reading that the job relies on: flip and hole box, recovered from input and output."""
    image = support.generated_image(0)
    flipped, kept = image[:, ::-1].copy(), image.copy()
    flipped[2:7, 20:24] = 0
    kept[0:3, 5:9] = 0
    assert support.what_was_drawn(image, flipped) == [1, 2, 7, 20, 24]
    assert support.what_was_drawn(image, kept) == [0, 0, 3, 5, 9]


def test_a_schedule_reaches_the_persistent_workers_of_every_rank(
    jobs: tuple[Streams, Streams], job_dirs: tuple[Path, Path]
) -> None:
    """``schedule.during(range(0, 1), [MixUp(...)])`` with 2 persistent forkserver workers per rank:
    every item mixes in epoch 0, none after ``set_epoch(1)`` (its label is one-hot), on both ranks."""
    for out_dir in job_dirs:
        for rank in range(2):
            record = json.loads((out_dir / f"rank{rank}_schedule.json").read_text())
            assert sorted(record) == [str(epoch) for epoch in support.SCHEDULE_EPOCHS]
            opened, closed = record["0"], record["1"]
            assert len(opened) == len(closed) == 4, "a DistributedSampler gives each of the 2 ranks 4 of the 8 items"
            assert all(item["epoch"] == 0 and item["mixed"] for item in opened), f"rank {rank}, epoch 0: {opened}"
            closed_ok = all(item["epoch"] == 1 and not item["mixed"] and item["one_hot"] for item in closed)
            assert closed_ok, f"rank {rank}, epoch 1: {closed}"
