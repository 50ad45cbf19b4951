"""Shapley values per sensor / modality: known answers, captum's exact value, efficiency."""
import numpy as np
import pytest
import torch
from captum.attr import ShapleyValues
from torch import nn

from pm_monitor.core.explain import shapley as shapley_module
from pm_monitor.core.explain.attribution import SensorLayout
from pm_monitor.core.explain.shapley import coalition_weights, player_masks, sensor_shapley

# four sensors, two modalities; 2 features for accel_x, 1 for the others
LAYOUT = SensorLayout(
    ("accel_x.rms", "accel_x.kurtosis", "accel_y.rms", "mic.band", "thermal.max_c"),
    {"accel_x": slice(0, 2), "accel_y": slice(2, 3), "mic": slice(3, 4),
     "thermal": slice(4, 5)},
    {"accel_x": "accel", "accel_y": "accel", "mic": "mic", "thermal": "thermal"})


class MeanLinear(nn.Module):
    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1) @ self.weight.T


class Product(nn.Module):
    """Logit 0 = mean accel_x.rms * mean mic.band: a pure interaction of two sensors."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=1)
        value = m[:, 0] * m[:, 3]
        return torch.stack([value, -value], dim=1)


class SmallGru(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.gru = nn.GRU(5, 6, batch_first=True)
        self.head = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.gru(x)[0][:, -1]))


def _sequence(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(6, 5)).astype(np.float32)


def test_additive_model_gets_each_sensors_own_contribution():
    weight = torch.tensor(np.random.default_rng(1).normal(size=(4, 5)), dtype=torch.float32)
    x, ref = _sequence(0), _sequence(1)
    result = sensor_shapley(MeanLinear(weight), x, 2, LAYOUT, ref)
    delta = weight[2].numpy() * (x.mean(0) - ref.mean(0))
    expected = {"accel_x": delta[0] + delta[1], "accel_y": delta[2], "mic": delta[3],
                "thermal": delta[4]}
    for sensor, value in expected.items():
        assert result.sensors[sensor] == pytest.approx(value, abs=1e-5)
    assert result.modalities["accel"] == pytest.approx(delta[:3].sum(), abs=1e-5)
    assert result.efficiency_error < 1e-5
    assert "exact" in result.method and result.evaluations == 2**4 + 2**3


def test_pure_interaction_is_split_equally_and_others_get_nothing():
    x = np.zeros((6, 5), np.float32)
    x[:, 0], x[:, 3] = 2.0, 3.0
    result = sensor_shapley(Product(), x, 0, LAYOUT)  # reference: zeros
    assert result.sensors["accel_x"] == pytest.approx(3.0, abs=1e-6)
    assert result.sensors["mic"] == pytest.approx(3.0, abs=1e-6)
    assert result.sensors["accel_y"] == pytest.approx(0.0, abs=1e-7)
    assert result.sensors["thermal"] == pytest.approx(0.0, abs=1e-7)
    assert result.ranked_sensors()[:2] == ["accel_x", "mic"]
    assert result.sensor_shares()["thermal"] == pytest.approx(0.0, abs=1e-9)


def test_equals_captums_exact_shapley_values_on_a_recurrent_model():
    model = SmallGru().eval()
    x, ref = _sequence(4), _sequence(5)
    result = sensor_shapley(model, x, 1, LAYOUT, ref)
    sensor_mask, modality_mask, sensors, modalities = player_masks(LAYOUT, 6)
    for mask, names, values in ((sensor_mask, sensors, result.sensors),
                                (modality_mask, modalities, result.modalities)):
        phi = ShapleyValues(model).attribute(torch.from_numpy(x)[None],
                                             baselines=torch.from_numpy(ref)[None],
                                             target=1, feature_mask=mask)
        for i, name in enumerate(names):
            assert values[name] == pytest.approx(float(phi[mask == i][0]), abs=1e-5)
    assert result.efficiency_error < 1e-5


def test_large_games_are_sampled_with_captum_and_still_add_up(monkeypatch):
    model = SmallGru().eval()
    x = _sequence(6)
    exact = sensor_shapley(model, x, 3, LAYOUT)
    monkeypatch.setattr(shapley_module, "MAX_EXACT_PLAYERS", 2)
    sampled = sensor_shapley(model, x, 3, LAYOUT, n_permutations=200)
    assert "shapley_value_sampling" in sampled.method
    assert sampled.efficiency_error < 1e-4  # every permutation telescopes to f(x) - f(ref)
    for sensor in exact.sensors:
        assert sampled.sensors[sensor] == pytest.approx(exact.sensors[sensor], abs=0.05)
    again = sensor_shapley(model, x, 3, LAYOUT, n_permutations=200)
    assert again.sensors == sampled.sensors  # seeded: the same window, the same answer


def test_coalition_weights_sum_to_one_per_player():
    coalitions, matrix = coalition_weights(3)
    assert coalitions.shape == (8, 3)
    # a constant game has all-zero values; the grand-coalition game gives each player 1/n
    np.testing.assert_allclose(matrix @ np.ones(8), 0.0, atol=1e-12)
    grand_only = np.zeros(8)
    grand_only[7] = 1.0
    np.testing.assert_allclose(matrix @ grand_only, 1 / 3)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="T, D"):
        sensor_shapley(SmallGru(), np.zeros(5, np.float32), 0, LAYOUT)
    with pytest.raises(ValueError, match="reference"):
        sensor_shapley(SmallGru(), _sequence(), 0, LAYOUT, np.zeros((3, 5), np.float32))
