"""examples/quickstart.ipynb: committed without outputs, and runs top to bottom on the CPU (nbclient)."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


def code_cells(notebook: Any) -> list[Any]:
    """The code cells of a notebook read as JSON (dicts) or with nbformat (attribute access too)."""
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_committed_notebook_has_no_outputs() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    assert code_cells(notebook)
    for cell in code_cells(notebook):
        source = "".join(cell["source"])
        assert cell["outputs"] == [], f"outputs committed in the cell starting {source[:60]!r}"
        assert cell["execution_count"] is None, f"execution count committed in the cell starting {source[:60]!r}"
    for cell in notebook["cells"]:
        assert "execution" not in cell.get("metadata", {}), "execution timings committed"
    assert "widgets" not in notebook["metadata"]


def test_notebook_is_valid_and_shows_the_whole_recipe() -> None:
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    assert notebook.cells[0].cell_type == "markdown"
    source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    for needle in ("%pip install", "render_gallery(", "A.OneOf([MixUp(", "CutMix(", "Cutout(", "LabelSmoothing(",
                   "torch.utils.data.Dataset", "torch.utils.data.DataLoader(", "log_softmax", "plot_curve(",
                   "schedule.during(", "schedule.set_epoch("):
        assert needle in source, needle
    install = next(cell.source for cell in notebook.cells if "%pip install" in cell.source)
    assert 'if importlib.util.find_spec("albu_mix") is None:' in install  # installs only when missing


def test_notebook_runs_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch", reason="the notebook trains a small CNN with PyTorch")
    nbformat = pytest.importorskip("nbformat", reason="nbformat is in the dev extra")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is in the dev extra")
    pytest.importorskip("ipykernel", reason="ipykernel is in the dev extra")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    # The kernel is this very interpreter (not whatever `python` a kernelspec on the machine names),
    # and it imports this checkout, so the install cell has nothing to do.
    kernel_dir = tmp_path / "kernels" / "albu-mix-tests"
    kernel_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "the tests' interpreter", "language": "python"}
    (kernel_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    manager = KernelManager(kernel_name="albu-mix-tests",
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")]))
    work = tmp_path / "work"
    work.mkdir()

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, km=manager, timeout=600, resources={"metadata": {"path": str(work)}})
    client.execute()  # raises CellExecutionError, with the traceback, if any cell fails

    cells = code_cells(notebook)
    install = next(cell for cell in cells if "%pip install" in cell.source)
    assert install.outputs == []  # albu_mix imports: nothing installed
    assert all(cell.execution_count is not None for cell in cells)
    images = [out for cell in cells for out in cell.outputs if "image/png" in out.get("data", {})]
    assert len(images) == 3  # the gallery, the augmented samples, the loss curve
    text = "".join(out.get("text", "") for cell in cells for out in cell.outputs)
    assert "targets (16, 4)" in text and "every target row sums to 1: True" in text
    losses = [float(v) for v in re.findall(r"epoch \d+/6: mean training loss (\S+)", text)]
    assert len(losses) == 6 and all(math.isfinite(v) and v > 0 for v in losses), text
    assert "epoch 2: mixing window closed, 0 of 64 samples with a mixed label" in text
    opened = [int(v) for v in re.findall(r"epoch [01]: mixing window open, (\d+) of 64", text)]
    assert len(opened) == 2 and all(v > 10 for v in opened), text
    assert text.count("predicted") == 4
    verdicts = re.findall(r"predicted (\w+) \(\d+%\), (right|wrong)", text)
    assert len(verdicts) == 4
    right = sum(verdict == "right" for _, verdict in verdicts)
    assert f"{right} of 4 photographs classified right after 24 training steps (a smoke run)" in text
    assert list(work.iterdir()) == []  # the notebook writes no files
