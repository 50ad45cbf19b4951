"""Rasterising the RigLayout into per-part pixel masks (shared by both image renderers)."""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from pm_monitor.sim.layout import RigLayout

# Painter's order: later parts cover earlier ones (housings sit on pedestals, the shaft
# stub continues the shaft). Label 0 is the background.
PART_ORDER: tuple[str, ...] = (
    "base", "motor", "terminal_box", "shaft", "de_pedestal", "nde_pedestal",
    "de_housing", "nde_housing", "shaft_stub",
)


def label_image(layout: RigLayout, width: int, height: int) -> np.ndarray:
    """(height, width) int array: 0 background, i + 1 for PART_ORDER[i]."""
    labels = np.zeros((height, width), dtype=np.int16)
    for label, part in enumerate(PART_ORDER, start=1):
        labels[getattr(layout, part).to_pixels(width, height).slices] = label
    return labels


def part_masks(layout: RigLayout, width: int, height: int,
               blur_px: float = 0.0) -> dict[str, np.ndarray]:
    """Coverage of every part and of the "background", float32 in [0, 1], summing to 1.

    blur_px > 0 applies a Gaussian point-spread function (optics), which keeps the sum 1.
    """
    labels = label_image(layout, width, height)
    names = ("background", *PART_ORDER)
    masks = {}
    for label, name in enumerate(names):
        mask = (labels == label).astype(np.float32)
        if blur_px > 0.0:
            mask = gaussian_filter(mask, blur_px, mode="nearest")
        masks[name] = mask
    return masks


def pixel_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) pixel index grids of shape (height, width), float32."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return x, y
