"""Gated cross-attention fusion ([P1] baseline): shapes, gradients, gate semantics."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pm_monitor.core.models.fusion import MODES, GatedFusionNet, late_fusion, mean_pool_frames


def _inputs(batch: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return torch.randn(batch, 8, 12), torch.randn(batch, 1, 30, 40)


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_gives_logits_and_a_gate_and_gradients(mode: str) -> None:
    model = GatedFusionNet(12, 4, mode, dim=16, heads=2)
    sequence, frame = _inputs()
    sequence.requires_grad_(True)
    frame.requires_grad_(True)
    out = model(sequence, frame)
    assert out.logits.shape == (3, 4) and out.gate.shape == (3,)
    assert torch.all((out.gate >= 0) & (out.gate <= 1))
    out.logits.sum().backward()
    if mode != "thermal_only":
        assert sequence.grad is not None and sequence.grad.abs().sum() > 0
    if mode != "sensor_only":
        assert frame.grad is not None and frame.grad.abs().sum() > 0


def test_fixed_gates_of_the_unimodal_modes() -> None:
    sequence, frame = _inputs()
    assert torch.all(GatedFusionNet(12, 4, "sensor_only", dim=16, heads=2)(
        sequence, frame).gate == 0)
    assert torch.all(GatedFusionNet(12, 4, "thermal_only", dim=16, heads=2)(
        sequence, frame).gate == 1)


def test_a_missing_modality_hands_the_decision_to_the_other_branch() -> None:
    model = GatedFusionNet(12, 4, "full", dim=16, heads=2).eval()
    sequence, frame = _inputs()
    no_thermal = torch.tensor([True, False, True])
    no_sensor = torch.tensor([True, True, False])
    out = model(sequence, frame, sensor_present=no_sensor, thermal_present=no_thermal)
    assert out.gate[1] == 0.0 and out.gate[2] == 1.0 and 0.0 < out.gate[0] < 1.0
    # without a frame the thermal input must not change the answer, attention included
    other_frame = frame.clone()
    other_frame[1] = 100.0
    absent = torch.tensor([False] * 3)
    for mode in ("full", "no_attention"):
        net = GatedFusionNet(12, 4, mode, dim=16, heads=2).eval()
        torch.testing.assert_close(net(sequence, frame, thermal_present=absent).logits,
                                   net(sequence, other_frame, thermal_present=absent).logits)


def test_bad_mode_and_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        GatedFusionNet(12, 4, "early")
    with pytest.raises(ValueError, match="divisible"):
        GatedFusionNet(12, 4, dim=30, heads=4)
    model = GatedFusionNet(12, 4, dim=16, heads=2)
    with pytest.raises(ValueError, match="sequence"):
        model(torch.randn(3, 12), torch.randn(3, 1, 30, 40))


def test_late_fusion() -> None:
    fused = late_fusion(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(fused, [[0.5, 0.5]])
    with pytest.raises(ValueError, match="shapes"):
        late_fusion(np.zeros((1, 2)), np.zeros((2, 2)))


def test_mean_pool_frames_crops_then_averages_blocks_with_or_without_a_batch() -> None:
    frame = np.arange(7 * 9, dtype=np.float32).reshape(7, 9)
    pooled = mean_pool_frames(frame, 4)  # cropped to 4 x 8: one row of two blocks
    assert pooled.shape == (1, 2)
    np.testing.assert_allclose(pooled, [[frame[:4, :4].mean(), frame[:4, 4:8].mean()]])
    batch = mean_pool_frames(np.stack([frame, 2 * frame]), 4)
    assert batch.shape == (2, 1, 2)
    np.testing.assert_allclose(batch[1], 2 * pooled)
