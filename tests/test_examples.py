"""Smoke tests of the training example: short runs end to end, DataLoader workers included."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")  # the example's default data set is scikit-learn's digits

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPO_ROOT / "examples" / "train_classifier.py"


def run_example(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The training example with ``args``, in ``cwd``; it must exit 0."""
    result = subprocess.run([sys.executable, str(EXAMPLE), *args], cwd=cwd, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


@pytest.mark.parametrize("partners", ["pool", "files"])
def test_train_classifier_runs_one_epoch(tmp_path: Path, partners: str) -> None:
    flag = [] if partners == "pool" else ["--partners", partners]  # the pool is the default
    result = run_example(tmp_path, "--epochs", "1", "--limit", "256", "--workers", "2", *flag)
    assert f"256 training and 359 validation images, 10 classes; partners: {partners}" in result.stdout
    assert "epoch 1/1" in result.stdout and "validation accuracy" in result.stdout


def test_train_classifier_switches_mixing_off_for_the_last_epochs(tmp_path: Path) -> None:
    """--mix-off-epochs 1: the persistent workers mix in epoch 1 and not in epoch 2 (a Schedule)."""
    result = run_example(tmp_path, "--epochs", "2", "--limit", "128", "--workers", "2", "--mix-off-epochs", "1")
    assert "mixing off for the last 1 of 2 epochs" in result.stdout
    mixed = dict(re.findall(r"^epoch (\d/2)[^:]*:.*mixed labels ([\d.]+)%", result.stdout, flags=re.MULTILINE))
    assert sorted(mixed) == ["1/2", "2/2"], result.stdout
    assert float(mixed["1/2"]) > 0 and float(mixed["2/2"]) == 0.0, result.stdout
    assert "epoch 2/2 (mixing off):" in result.stdout and "epoch 1/2 (mixing off)" not in result.stdout

    refused = subprocess.run(
        [sys.executable, str(EXAMPLE), "--epochs", "2", "--mix-off-epochs", "2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert refused.returncode == 2 and "--mix-off-epochs must be at least 0 and less than --epochs (2), got 2" in (
        refused.stderr
    )
