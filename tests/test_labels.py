"""The label target: encoding, validation and the three smoothing rules."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest

from albu_mix import LabelSmoothing, encode_label, mix_labels, smooth_label

IMAGE = np.zeros((4, 4, 3), np.uint8)


def smoothed(label, **kwargs) -> np.ndarray:
    return LabelSmoothing(**kwargs)(image=IMAGE, label=label)["label"]


def test_reference_vectors_from_the_seed_article() -> None:
    others = smoothed(0, epsilon=0.01, num_classes=5, mode="others")
    uniform = smoothed(0, epsilon=0.01, num_classes=5, mode="uniform")
    assert others.dtype == np.float32 and uniform.dtype == np.float32
    np.testing.assert_allclose(others, [0.99, 0.0025, 0.0025, 0.0025, 0.0025], rtol=0, atol=1e-7)
    np.testing.assert_allclose(uniform, [0.992, 0.002, 0.002, 0.002, 0.002], rtol=0, atol=1e-7)


def test_multilabel_rule() -> None:
    out = smoothed([1, 0, 1, 0], epsilon=0.1, mode="multilabel")
    np.testing.assert_allclose(out, [0.95, 0.05, 0.95, 0.05], atol=1e-7)


@pytest.mark.parametrize("mode", ["uniform", "others"])
def test_soft_and_mixed_vectors_keep_summing_to_one(mode: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        y = rng.dirichlet(np.ones(7)).astype(np.float32)
        out = smoothed(y, epsilon=float(rng.uniform(0, 0.99)), mode=mode)
        assert out.sum() == pytest.approx(1.0, abs=1e-5)
        assert (out >= 0).all()


@pytest.mark.parametrize("mode", ["uniform", "others", "multilabel"])
def test_smoothing_commutes_with_mixing(mode: str) -> None:
    y1, y2 = encode_label(1, 6), encode_label(4, 6)
    w = 0.3
    a = smooth_label(mix_labels(y1, y2, w), 0.2, mode)
    b = mix_labels(smooth_label(y1, 0.2, mode), smooth_label(y2, 0.2, mode), w)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_matches_torch_cross_entropy_label_smoothing() -> None:
    torch = pytest.importorskip("torch")
    logits = torch.randn(8, 10, generator=torch.Generator().manual_seed(0))
    targets = torch.arange(8) % 10
    expected = torch.nn.CrossEntropyLoss(label_smoothing=0.15)(logits, targets)
    soft = torch.tensor(np.stack([smoothed(int(t), epsilon=0.15, num_classes=10) for t in targets]))
    ours = -(soft * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
    assert float(ours) == pytest.approx(float(expected), abs=1e-6)


def test_epsilon_zero_only_encodes_and_p_zero_still_encodes() -> None:
    np.testing.assert_array_equal(smoothed(2, epsilon=0.0, num_classes=4), [0, 0, 1, 0])
    out = smoothed(2, epsilon=0.5, num_classes=4, p=0.0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [0, 0, 1, 0])


@pytest.mark.parametrize("label", [3, np.int64(3), np.array(3)])
def test_index_kinds(label) -> None:
    np.testing.assert_array_equal(encode_label(label, 5), [0, 0, 0, 1, 0])


def test_caller_label_is_never_modified_nor_aliased() -> None:
    label = np.array([0.0, 1.0, 0.0], np.float32)
    label.setflags(write=False)
    out = smoothed(label, epsilon=0.3)
    assert not np.shares_memory(out, label)
    np.testing.assert_array_equal(label, [0, 1, 0])
    encoded = encode_label(label, None)
    assert not np.shares_memory(encoded, label)
    listed = [0, 1, 0]
    smoothed(listed, epsilon=0.3)
    assert listed == [0, 1, 0]


@pytest.mark.parametrize(
    ("label", "num_classes", "error", "match"),
    [
        (5, 5, ValueError, r"LabelSmoothing: class index must be in \[0, 5\), got 5"),
        (-1, 5, ValueError, r"LabelSmoothing: class index must be in \[0, 5\), got -1"),
        (2, None, ValueError, r"LabelSmoothing: a class index label needs num_classes.*got label=2"),
        ([0, 1, 0], 5, ValueError, r"LabelSmoothing: label vector must have num_classes=5 entries, got 3"),
        ([0, np.nan, 1], None, ValueError, r"LabelSmoothing: label vector must be finite, got NaN"),
        ([0.5, -0.5, 1], None, ValueError, r"LabelSmoothing: label vector entries must lie in \[0, 1\]"),
        ([[0, 1]], None, ValueError, r"LabelSmoothing: label vector must be 1-D, got shape \(1, 2\)"),
        ([], None, ValueError, r"LabelSmoothing: label vector must not be empty"),
        ("cat", 5, TypeError, r"LabelSmoothing: label must be an integer class index or a 1-D vector, got str"),
        (1.0, 5, TypeError, r"LabelSmoothing: label must be an integer class index .* got the float 1.0"),
    ],
)
def test_bad_labels(label, num_classes, error, match) -> None:
    with pytest.raises(error, match=match):
        smoothed(label, epsilon=0.1, num_classes=num_classes)


def test_label_smoothing_lets_a_sample_without_a_label_through_and_sets_mix_lambda() -> None:
    """albumentations lets absent targets through; LabelSmoothing also finishes label-free pipelines."""
    out = LabelSmoothing()(image=IMAGE)
    assert out["image"] is IMAGE and "label" not in out and out["mix_lambda"] == 1.0


def test_label_smoothing_smooths_every_label_alias() -> None:
    pipeline = A.Compose([LabelSmoothing(0.1, num_classes=4)], additional_targets={"label2": "label"})
    out = pipeline(image=IMAGE, label=1, label2=3)
    expected = smooth_label(encode_label(3, 4), 0.1)
    assert np.array_equal(out["label2"], expected) and np.array_equal(out["label"], smooth_label(encode_label(1, 4), 0.1))
    unfired = A.Compose([LabelSmoothing(0.1, num_classes=4, p=0.0)], additional_targets={"label2": "label"})
    assert np.array_equal(unfired(image=IMAGE, label=1, label2=3)["label2"], encode_label(3, 4))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epsilon": 1.0}, r"LabelSmoothing: epsilon must be a number in \[0, 1\), got 1.0"),
        ({"epsilon": -0.1}, r"LabelSmoothing: epsilon must be a number in \[0, 1\), got -0.1"),
        ({"mode": "label"}, r"LabelSmoothing: mode must be 'uniform', 'others' or 'multilabel', got 'label'"),
        ({"num_classes": 0}, r"LabelSmoothing: num_classes must be an int >= 1 or None, got 0"),
        ({"mode": "others", "num_classes": 1}, r"LabelSmoothing: mode='others' needs num_classes >= 2, got 1"),
        ({"p": 1.5}, r"LabelSmoothing: p must be a number in \[0, 1\], got 1.5"),
    ],
)
def test_bad_parameters(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        LabelSmoothing(**kwargs)
