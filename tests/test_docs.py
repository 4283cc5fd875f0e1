"""The README stays true: its commands are the ones CI runs, and its first example runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def bash_blocks() -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)]


def test_readme_commands_are_the_ones_ci_runs() -> None:
    install_and_demo, tests = bash_blocks()[:2]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m albu_mix demo" in install_and_demo and install_and_demo.split(" && ")[0] in ci
    assert "python -m albu_mix demo" in ci
    assert tests in ci


def test_readme_has_no_unfilled_section() -> None:
    assert "<!--" not in README


def test_readme_usage_example_runs() -> None:
    code = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)[0]
    rng = np.random.default_rng(0)
    namespace = {
        "my_images": [(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), i % 10) for i in range(8)],
        "image": rng.integers(0, 256, (256, 256, 3), dtype=np.uint8),
    }
    exec(compile(code, "README.md", "exec"), namespace)
    out = namespace["out"]
    assert out["image"].shape == (224, 224, 3) and out["image"].dtype == np.float32
    assert out["label"].shape == (10,) and abs(float(out["label"].sum()) - 1) < 1e-5


def test_readme_detection_example_runs() -> None:
    from conftest import ALBUMENTATIONSX

    if ALBUMENTATIONSX:
        import pytest

        pytest.skip("AlbumentationsX renamed BboxParams(format=...) to coord_format")
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL) if "bbox_params" in b]
    rng = np.random.default_rng(0)
    names = ["cat", "dog", "bird"]
    data = []
    for i in range(6):
        n = i % 4
        centres = rng.uniform(0.3, 0.7, (n, 2))
        boxes = [[float(x), float(y), 0.2, 0.3] for x, y in centres]
        data.append((rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), boxes, [names[j % 3] for j in range(n)]))
    namespace = {"my_detection_data": data}
    for _ in range(20):
        exec(compile(code, "README.md", "exec"), namespace)
        out, weights = namespace["out"], namespace["box_weights"]
        assert len(out["bboxes"]) == len(out["class_names"]) == len(out["origin"]) == len(weights)
        assert set(out["class_names"]) <= set(names) and set(out["origin"]) <= {0, 1}
        assert all(0 <= w <= 1 for w in weights)
