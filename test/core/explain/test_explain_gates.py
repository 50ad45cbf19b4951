"""Gate weights and modality bias ([P1], eq. 18-19) on a small gated-fusion model."""
from typing import NamedTuple

import numpy as np
import pytest
import torch
from torch import nn

from pm_monitor.core.explain.gates import gate_matrix, gate_weights, modality_bias


class FusionOutput(NamedTuple):
    logits: torch.Tensor
    gates: torch.Tensor


class GatedFusion(nn.Module):
    """c = g c_thermal + (1 - g) c_sensor with g = sigmoid(w [c_s; c_t] + b)."""

    def __init__(self, bias: float) -> None:
        super().__init__()
        self.gate = nn.Linear(4, 1)
        nn.init.zeros_(self.gate.weight)
        nn.init.constant_(self.gate.bias, bias)
        self.head = nn.Linear(2, 3)

    def forward(self, sensor: torch.Tensor, thermal: torch.Tensor) -> FusionOutput:
        g = torch.sigmoid(self.gate(torch.cat([sensor, thermal], dim=1)))
        fused = g * thermal + (1 - g) * sensor
        return FusionOutput(self.head(fused), g.squeeze(1))


def test_scalar_gate_weighs_the_first_named_modality():
    model = GatedFusion(bias=float(np.log(0.76 / 0.24))).eval()  # g = 0.76 everywhere
    weights = gate_weights(model, (torch.randn(10, 2), torch.randn(10, 2)),
                           ("thermal", "sensor"))
    assert weights.shape == (10, 2)
    np.testing.assert_allclose(weights[:, 0], 0.76, rtol=1e-5)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)


def test_modality_bias_reproduces_the_papers_numbers():
    gates = np.full(100, 0.76)
    bias = modality_bias(gates, ("thermal", "sensor"), {"thermal": 0.2879, "sensor": 0.9308})
    assert bias.ideal_gate["thermal"] == pytest.approx(0.236, abs=5e-4)
    assert bias.bias["thermal"] == pytest.approx(0.524, abs=5e-4)
    assert bias.bias["sensor"] == pytest.approx(-0.524, abs=5e-4)
    assert bias.most_overweighted()[0] == "thermal"


def test_per_modality_gates_and_errors():
    weights = np.array([[0.2, 0.3, 0.5], [0.4, 0.4, 0.2]])
    assert gate_matrix(weights, 3).shape == (2, 3)
    with pytest.raises(ValueError, match="one weight for each of 2"):
        gate_matrix(weights, 2)
    with pytest.raises(ValueError, match="two modalities"):
        gate_matrix(np.array([0.5, 0.5]), 3)
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        gate_matrix(np.array([1.5, 0.2]), 2)
    with pytest.raises(ValueError, match="no unimodal F1"):
        modality_bias(np.array([0.5]), ("thermal", "sensor"), {"thermal": 0.3})


def test_missing_gates_in_the_output_give_a_clear_error():
    model = nn.Linear(2, 2)
    with pytest.raises(KeyError, match="no 'gates' gates"):
        gate_weights(model, torch.randn(3, 2), ("a", "b"))
