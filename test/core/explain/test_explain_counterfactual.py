"""Counterfactual search on models whose answer is known."""
import numpy as np
import pytest
import torch
from torch import nn

from pm_monitor.core.explain.counterfactual import CounterfactualConfig, CounterfactualSearch

NAMES = ("accel_x.rms", "accel_x.kurtosis", "thermal.max_c", "mic.band_20_500hz")


class ThresholdOnFeature(nn.Module):
    """Class 1 ("faulty") when the time-mean of `feature` exceeds `level`, else class 0."""

    def __init__(self, feature: int, level: float, gain: float = 10.0) -> None:
        super().__init__()
        self.feature, self.level, self.gain = feature, level, gain
        self.dummy = nn.Parameter(torch.zeros(1))  # a module with parameters, like real ones

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = self.gain * (x[:, :, self.feature].mean(dim=1) - self.level) + self.dummy
        return torch.stack([torch.zeros_like(score), score], dim=1)


def _search(model, **config):
    mean = np.array([0.0, 1.0, 40.0, -3.0], np.float32)
    std = np.array([0.5, 0.5, 2.0, 1.0], np.float32)
    return CounterfactualSearch(model, NAMES, mean, std, "normal",
                                CounterfactualConfig(**config))


def test_finds_the_feature_and_the_smallest_sufficient_change():
    x = np.full((4, 4), 0.3, np.float32)
    x[:, 2] = 2.5  # thermal.max_c at +2.5 sd, the only driver; the model flips at +1.0 sd
    result = _search(ThresholdOnFeature(feature=2, level=1.0)).search(x)
    assert result.reached_target
    (change,) = result.changes
    assert change.feature == "thermal.max_c"
    assert change.current_z == pytest.approx(2.5)
    assert change.needed_z == pytest.approx(1.0, abs=0.01)
    assert change.needed_z <= 1.0  # verified side of the boundary
    # physical units: z * std + mean, in deg C
    assert change.current.unit == "degC"
    assert change.current.value == pytest.approx(45.0)
    assert change.needed.value == pytest.approx(42.0, abs=0.05)
    assert result.p_target_after > 0.5 > result.p_target_before
    assert "thermal.max_c" in result.summary and "normal if" in result.summary


def test_healthy_bounds_constrain_the_change_and_not_reached_is_reported():
    x = np.full((4, 4), 0.3, np.float32)
    x[:, 2] = 2.5
    low = np.full(4, 1.5, np.float32)  # healthy data never went below +1.5 sd
    high = np.full(4, 3.0, np.float32)
    result = _search(ThresholdOnFeature(feature=2, level=1.0), max_features=1).search(
        x, bounds=(low, high))
    assert not result.reached_target
    (change,) = result.changes
    assert change.feature == "thermal.max_c" and change.needed_z == pytest.approx(1.5)
    assert "not reached" in result.summary


def test_already_normal_needs_no_change():
    x = np.zeros((4, 4), np.float32) + 0.1
    result = _search(ThresholdOnFeature(feature=2, level=1.0)).search(x)
    assert result.reached_target and result.changes == ()
    assert result.summary == "already normal"


def test_absent_features_are_never_changed():
    x = np.zeros((4, 4), np.float32)
    x[:, 0] = 0.5  # only accel_x.rms measured; the decision hinges on absent thermal
    result = _search(ThresholdOnFeature(feature=2, level=-1.0)).search(x)
    assert not result.reached_target and result.changes == ()
    assert result.summary == "no feasible change"


def test_wrong_sequence_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(T, 4\)"):
        _search(ThresholdOnFeature(0, 0.0)).search(np.zeros((4, 3), np.float32))


class SensorSum(nn.Module):
    """Faulty when the time-mean of accel_x.rms + accel_x.kurtosis (+ a tiny share of
    thermal.max_c) exceeds `level`: no single feature inside its range is enough."""

    def __init__(self, level: float, thermal_weight: float = 0.0) -> None:
        super().__init__()
        self.level, self.thermal_weight = level, thermal_weight
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1)
        score = 10.0 * (mean[:, 0] + mean[:, 1] + self.thermal_weight * mean[:, 2]
                        - self.level) + self.dummy
        return torch.stack([torch.zeros_like(score), score], dim=1)


def _sensor_case():
    x = np.full((4, 4), 0.2, np.float32)
    x[:, 0] = x[:, 1] = 2.0  # both accel_x features raised
    bounds = (np.full(4, 0.5, np.float32), np.full(4, 3.0, np.float32))
    return x, bounds  # one feature at its bound: 0.5 + 2.0 = 2.5 > level 1.5, still faulty


def test_one_feature_is_not_enough_but_the_whole_sensor_is():
    x, bounds = _sensor_case()
    model = SensorSum(level=1.5)
    by_feature = _search(model, move="feature", max_features=1).search(x, bounds)
    assert not by_feature.reached_target
    by_sensor = _search(model, move="sensor", max_sensors=1).search(x, bounds)
    assert by_sensor.reached_target and by_sensor.sensors == ("accel_x",)
    assert {c.feature for c in by_sensor.changes} == {"accel_x.rms", "accel_x.kurtosis"}
    # inside the healthy range, and just enough: rms + kurtosis at the boundary 1.5
    assert all(c.needed_z >= 0.5 - 1e-6 for c in by_sensor.changes)
    assert sum(c.needed_z for c in by_sensor.changes) == pytest.approx(1.5, abs=0.02)
    assert by_sensor.p_target_after > 0.5
    assert "accel_x read within the healthy range" in by_sensor.summary


def test_auto_prefers_features_and_falls_back_to_sensors():
    x, bounds = _sensor_case()
    auto = _search(SensorSum(level=1.5), move="auto", max_features=1).search(x, bounds)
    assert auto.reached_target and auto.sensors == ("accel_x",)
    easy = _search(SensorSum(level=3.0), move="auto", max_features=1).search(x, bounds)
    assert easy.reached_target and easy.sensors == () and len(easy.changes) == 1


class Saturating(nn.Module):
    """Faulty when relu(rms - 1) + relu(kurtosis - 1) > 0.5 (time-means): lowering rms below
    1.0 gains nothing more, so a greedy full move of rms overshoots."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.relu(x.mean(dim=1) - 1.0)
        score = 10.0 * (mean[:, 0] + mean[:, 1] - 0.5) + self.dummy
        return torch.stack([torch.zeros_like(score), score], dim=1)


def test_refine_shrinks_the_overshoot_of_the_greedy_steps():
    x = np.full((4, 4), 0.2, np.float32)
    x[:, 0] = x[:, 1] = 2.0
    bounds = (np.full(4, -3.0, np.float32), np.full(4, 3.0, np.float32))
    rough = _search(Saturating(), move="feature", refine=False).search(x, bounds)
    refined = _search(Saturating(), move="feature").search(x, bounds)
    assert rough.reached_target and refined.reached_target
    rough_z = {c.feature: c.needed_z for c in rough.changes}
    refined_z = {c.feature: c.needed_z for c in refined.changes}
    assert rough_z["accel_x.rms"] == pytest.approx(-3.0)  # first greedy step: to the bound
    assert refined_z["accel_x.rms"] == pytest.approx(1.0, abs=0.03)  # just below the kink
    assert refined_z["accel_x.kurtosis"] == pytest.approx(rough_z["accel_x.kurtosis"])
    assert refined.p_target_after > 0.5


def test_unknown_move_is_refused():
    with pytest.raises(ValueError, match="move must be one of"):
        _search(ThresholdOnFeature(0, 0.0), move="sensors")
