"""Smoke test of the training example: one short epoch end to end, DataLoader workers included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")  # the example's default data set is scikit-learn's digits

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPO_ROOT / "examples" / "train_classifier.py"


@pytest.mark.parametrize("partners", ["pool", "files"])
def test_train_classifier_runs_one_epoch(tmp_path: Path, partners: str) -> None:
    flag = [] if partners == "pool" else ["--partners", partners]  # the pool is the default
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--epochs", "1", "--limit", "256", "--workers", "2", *flag],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert f"256 training and 359 validation images, 10 classes; partners: {partners}" in result.stdout
    assert "epoch 1/1" in result.stdout and "validation accuracy" in result.stdout
