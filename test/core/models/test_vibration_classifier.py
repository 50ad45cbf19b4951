"""Vibration fault-type MLP: shapes, gradients, probabilities, clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pm_monitor.core.models.vibration_classifier import VibrationMLP, predict_proba


def test_shapes_gradients_and_probabilities() -> None:
    torch.manual_seed(0)
    model = VibrationMLP(34, 10, hidden_size=16)
    x = torch.randn(5, 34, requires_grad=True)
    logits = model(x)
    assert logits.shape == (5, 10)
    logits[:, 3].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())
    probs = predict_proba(model, np.random.default_rng(0).standard_normal((7, 34)))
    assert probs.shape == (7, 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)


def test_wrong_width_and_bad_sizes_are_clear_errors() -> None:
    model = VibrationMLP(34, 10)
    with pytest.raises(ValueError, match=r"\(B, 34\)"):
        model(torch.randn(2, 33))
    with pytest.raises(ValueError, match="bad sizes"):
        VibrationMLP(34, 1)


def test_shipped_classifier_runs_on_raw_windows_and_refuses_another_rate() -> None:
    from pathlib import Path

    from pm_monitor.core.models.vibration_classifier import ShippedFaultClassifier

    repo = Path(__file__).resolve().parents[3]
    stored = np.load(repo / "test/fixtures/cwru_shipped_windows.npz")
    classifier = ShippedFaultClassifier.from_file(
        repo / f"models/cwru/fold_test{int(stored['test_load_hp'])}hp.pt")
    probs = classifier.predict_windows(stored["windows"], 12000, stored["rpm"] / 60.0)
    np.testing.assert_array_equal(probs.argmax(1), stored["predicted"])
    assert len(classifier.class_names) == probs.shape[1] == 10
    with pytest.raises(ValueError, match="12000 Hz"):
        classifier.predict_windows(stored["windows"], 25600, 29.0)
