"""Integrated gradients: completeness against zero and healthy baselines, aggregation."""
import numpy as np
import pytest
import torch
from torch import nn

from pm_monitor.core.explain.attribution import SensorLayout, aggregate, integrated_gradients


class TinyRecurrent(nn.Module):
    """An LSTM classifier over (B, T, D): the recurrent case IG must handle."""

    def __init__(self, n_features: int = 6, n_classes: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lstm = nn.LSTM(n_features, 8, batch_first=True)
        self.head = nn.Linear(8, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.lstm(x)
        return self.head(hidden[:, -1])


def test_completeness_against_zero_baseline():
    model = TinyRecurrent().eval()
    x = np.random.default_rng(1).normal(size=(5, 6)).astype(np.float32)
    result = integrated_gradients(model, x, target=2, n_steps=64)
    assert result.values.shape == (5, 6)
    with torch.no_grad():
        expected = float(model(torch.from_numpy(x)[None])[0, 2]
                         - model(torch.zeros(1, 5, 6))[0, 2])
    assert result.output - result.baseline_output == pytest.approx(expected, abs=1e-5)
    assert result.values.sum() == pytest.approx(expected, abs=0.02 * abs(expected) + 1e-4)
    assert result.relative_completeness_error < 0.02
    assert result.n_baselines == 0


def test_completeness_against_a_healthy_background():
    model = TinyRecurrent().eval()
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 6)).astype(np.float32) + 2.0
    background = rng.normal(size=(4, 5, 6)).astype(np.float32)
    result = integrated_gradients(model, x, target=0, baselines=background, n_steps=64)
    with torch.no_grad():
        mean_healthy = float(model(torch.from_numpy(background))[:, 0].mean())
    assert result.baseline_output == pytest.approx(mean_healthy, abs=1e-5)
    assert result.n_baselines == 4
    assert result.relative_completeness_error < 0.02


def test_a_sequence_equal_to_its_baseline_gets_no_attribution():
    model = TinyRecurrent().eval()
    x = np.ones((5, 6), np.float32)
    result = integrated_gradients(model, x, target=1, baselines=x[None], n_steps=8)
    np.testing.assert_allclose(result.values, 0.0, atol=1e-7)


def test_bad_shapes_are_refused():
    model = TinyRecurrent().eval()
    with pytest.raises(ValueError, match=r"\(T, D\)"):
        integrated_gradients(model, np.zeros(6, np.float32), 0)
    with pytest.raises(ValueError, match="do not match"):
        integrated_gradients(model, np.zeros((5, 6), np.float32), 0,
                             baselines=np.zeros((2, 4, 6), np.float32))


def test_aggregate_groups_features_into_sensors_and_modalities():
    layout = SensorLayout(
        ("accel_x.rms", "accel_x.peak", "accel_y.rms", "mic.band", "thermal.max_c"),
        {"accel_x": slice(0, 2), "accel_y": slice(2, 3), "mic": slice(3, 4),
         "thermal": slice(4, 5)},
        {"accel_x": "accel", "accel_y": "accel", "mic": "mic", "thermal": "thermal"},
    )
    values = np.array([[1.0, -1.0, 0.0, 2.0, 0.0],
                       [0.0, 0.0, 0.0, 0.0, -4.0]])
    importance = aggregate(values, layout)
    assert importance.sensors == pytest.approx(
        {"accel_x": 0.25, "accel_y": 0.0, "mic": 0.25, "thermal": 0.5})
    assert importance.modalities == pytest.approx({"accel": 0.25, "mic": 0.25, "thermal": 0.5})
    np.testing.assert_allclose(importance.time_steps, [0.5, 0.5])
    assert sum(importance.features.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="attributions for"):
        aggregate(np.zeros((2, 4)), layout)
