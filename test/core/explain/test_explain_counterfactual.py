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
