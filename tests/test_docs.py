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


def _detection_data(rng: np.random.Generator, names: list[str]) -> list[tuple[np.ndarray, list[list[float]], list[str]]]:
    data = []
    for i in range(12):
        n = i % 4
        centres = rng.uniform(0.3, 0.7, (n, 2))
        boxes = [[float(x), float(y), 0.2, 0.3] for x, y in centres]
        data.append((rng.integers(0, 256, (120, 160, 3), dtype=np.uint8), boxes, [names[j % 3] for j in range(n)]))
    return data


def _on_this_albumentations(code: str) -> str:
    """The README's example as its AlbumentationsX note says to write it there."""
    from conftest import ALBUMENTATIONSX

    if not ALBUMENTATIONSX:
        return code
    code = code.replace('format="yolo"', 'coord_format="yolo"').replace('format="pascal_voc"', 'coord_format="pascal_voc"')
    code = code.replace("], p=0.5),\n], bbox_params", "], p=0.5),\n    LabelSmoothing(0.0),\n], bbox_params")
    return "from albu_mix import LabelSmoothing\n" + code


def test_readme_detection_example_runs() -> None:
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL) if "weight_field=" in b]
    code = _on_this_albumentations(code)
    rng = np.random.default_rng(0)
    names = ["cat", "dog", "bird"]
    namespace = {"my_detection_data": _detection_data(rng, names)}
    for _ in range(4):  # the example's loop reads out["mix_lambda"] of every sample: none lacks it
        exec(compile(code, "README.md", "exec"), namespace)
        out, weights = namespace["out"], namespace["box_weights"]
        assert len(out["bboxes"]) == len(out["class_names"]) == len(weights)
        assert set(out["class_names"]) <= set(names) and all(0 <= w <= 1 for w in weights)
        assert 0 < namespace["lam"] <= 1


def test_readme_mosaic_example_runs() -> None:
    from albu_mix._compat import HAS_MOSAIC

    if not HAS_MOSAIC:
        import pytest

        pytest.skip("A.Mosaic is in albumentations 2.0.8 and AlbumentationsX")
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL) if "Recall(pool" in b]
    namespace: dict = {}
    exec(compile(_on_this_albumentations(code), "README.md", "exec"), namespace)
    transform = namespace["transform"]
    rng = np.random.default_rng(1)
    sizes = []
    for image, boxes, names in _detection_data(rng, ["cat", "dog", "bird"])[:6]:
        out = transform(image=image, bboxes=boxes, class_names=names)
        sizes.append(len(out["mosaic_metadata"]))
    assert sizes == [0, 1, 2, 3, 3, 3]  # a cold pool gives fewer
