import numpy as np
import torch

from pm_monitor.core.models.thermal_resnet import ThermalResNet, normalise_thermal_frame


def test_shapes():
    model = ThermalResNet(n_classes=3, width=8).eval()
    out = model(torch.randn(2, 1, 120, 160))
    assert out.logits.shape == (2, 3)
    assert out.spatial_attention.shape == (2, 1, 15, 20)
    assert torch.all((out.spatial_attention > 0) & (out.spatial_attention < 1))


def test_normalisation_ignores_overall_brightness():
    frame = np.random.default_rng(0).normal(30.0, 1.0, size=(120, 160)).astype(np.float32)
    np.testing.assert_allclose(
        normalise_thermal_frame(frame), normalise_thermal_frame(frame + 15.0), atol=1e-5
    )
