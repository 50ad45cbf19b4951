"""Grad-CAM (own implementation) on a model whose answer is known: 'how hot is the frame'."""
import numpy as np
import torch
from torch import nn

from pm_monitor.core.explain.gradcam import grad_cam, hotspot_and_region


class HeatScorer(nn.Module):
    """Average-pool by 8 (a stand-in conv block), ReLU, global mean; class 0 = hot, 1 = cold."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Conv2d(1, 1, kernel_size=8, stride=8, bias=False)
        nn.init.constant_(self.block.weight, 1.0 / 64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = torch.relu(self.block(x)).mean(dim=(1, 2, 3))
        return torch.stack([score, -score], dim=1)


def _frame_with_hot_spot(x: int, y: int) -> np.ndarray:
    rows, cols = np.mgrid[0:120, 0:160]
    rng = np.random.default_rng(0)
    blob = 5.0 * np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2 * 6.0**2))
    return (blob + 0.1 * rng.standard_normal((120, 160))).astype(np.float32)


def test_heatmap_peaks_at_the_injected_hot_spot():
    model = HeatScorer().eval()
    image = torch.from_numpy(_frame_with_hot_spot(x=110, y=40))[None, None]
    result = grad_cam(model, model.block, image, target_class=0)
    assert result.heatmap.shape == (120, 160)
    assert result.heatmap.dtype == np.float32
    assert result.heatmap.min() >= 0.0 and result.heatmap.max() == 1.0
    hx, hy = result.hotspot_xy
    assert abs(hx - 110) <= 8 and abs(hy - 40) <= 8
    rx, ry, rw, rh = result.region
    assert rx <= hx < rx + rw and ry <= hy < ry + rh
    assert rw < 60 and rh < 60  # the blob, not the frame
    np.testing.assert_allclose(result.probabilities.sum(), 1.0, rtol=1e-6)


def test_hooks_are_removed_after_use():
    model = HeatScorer().eval()
    image = torch.from_numpy(_frame_with_hot_spot(x=30, y=90))[None, None]
    grad_cam(model, model.block, image)
    assert not model.block._forward_hooks


def test_region_is_the_blob_around_the_maximum_only():
    heatmap = np.zeros((20, 30), np.float32)
    heatmap[2:5, 3:7] = 1.0  # the maximum
    heatmap[10:15, 20:28] = 0.8  # a second, separate blob
    hotspot, region = hotspot_and_region(heatmap, fraction=0.5)
    assert region == (3, 2, 4, 3)
    assert hotspot == (3, 2)
