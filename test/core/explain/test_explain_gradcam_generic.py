"""Grad-CAM on any CNN by layer name: a small 3-channel camera model with a bright defect."""
import numpy as np
import pytest
import torch
from torch import nn

from pm_monitor.core.explain.gradcam import grad_cam_by_name


class TinyCameraNet(nn.Module):
    """Conv features whose class-1 score is the brightness of the red channel (a 'defect')."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 2, kernel_size=4, stride=4, bias=False))
        with torch.no_grad():
            self.features[0].weight.zero_()
            self.features[0].weight[0, 0] = 1.0 / 16  # channel 0 <- red
            self.features[0].weight[1, 2] = 1.0 / 16  # channel 1 <- blue

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.relu(self.features(x)).mean(dim=(2, 3))
        return torch.stack([pooled[:, 1], pooled[:, 0]], dim=1)


def test_heatmap_peaks_on_the_defect_of_an_rgb_frame():
    image = np.zeros((3, 64, 96), np.float32)
    image[2] = 0.5  # blue background
    image[0, 40:52, 20:32] = 1.0  # red defect
    cam = grad_cam_by_name(TinyCameraNet().eval(), "features.0",
                           torch.from_numpy(image)[None], target_class=1)
    x, y = cam.hotspot_xy
    assert 16 <= x < 36 and 36 <= y < 56
    rx, ry, rw, rh = cam.region
    assert rx <= x < rx + rw and ry <= y < ry + rh and rw <= 32


def test_unknown_layer_name_lists_the_conv_layers():
    with pytest.raises(ValueError, match=r"no layer 'layer4'.*features\.0"):
        grad_cam_by_name(TinyCameraNet(), "layer4", torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="one image"):
        grad_cam_by_name(TinyCameraNet(), "features.0", torch.zeros(2, 3, 8, 8))


def test_parameters_grad_untouched_and_frozen_models_work():
    """autograd.grad instead of hook + backward(): no .grad written (and no hook cycle, the
    memory leak the soak run found), and a model with frozen parameters still explains."""
    model = TinyCameraNet().eval()
    image = torch.rand(1, 3, 16, 16)
    grad_cam_by_name(model, "features.0", image, target_class=1)
    assert all(p.grad is None for p in model.parameters())
    for p in model.parameters():
        p.requires_grad_(False)
    cam = grad_cam_by_name(model, "features.0", image, target_class=1)
    assert cam.heatmap.shape == (16, 16) and cam.heatmap.max() == 1.0
