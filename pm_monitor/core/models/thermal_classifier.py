"""Stage 2 on real thermal images: the input of the thermal network for palette frames.

The network is ``thermal_resnet.ThermalResNet`` (the rig's localiser class, n_classes = 11); it
classifies a downscaled thermal frame of the induction-motor data set (11 conditions:
healthy, stator shorts, fan failure, locked rotor). Grad-CAM hooks ``gradcam_layer``.

Input: palette index (relative intensity 0..241, NOT deg C: the data set has no radiometry),
downscaled and normalised by ``normalise_palette_frame``: the frame's own median is subtracted,
so the overall brightness of the scene (which nearly gives away the session, see the data
set's README) is not a free cue; the network has to use the shape of hot regions.
"""
from __future__ import annotations

import numpy as np

PALETTE_MAX = 241.0  # top palette index of the data set's iron palette


def downscale(frame: np.ndarray, factor: int) -> np.ndarray:
    """Block mean over factor x factor pixels (H and W must be multiples of factor)."""
    frame = np.asarray(frame, dtype=np.float32)
    height, width = frame.shape
    if factor < 1 or height % factor or width % factor:
        raise ValueError(f"cannot downscale {frame.shape} by {factor}")
    return frame.reshape(height // factor, factor, width // factor, factor).mean(axis=(1, 3))


def normalise_palette_frame(palette_index: np.ndarray, scale: float = 0.1) -> np.ndarray:
    """(index / 241 - median of the frame) / scale, float32: local contrast, not scene warmth."""
    relative = np.asarray(palette_index, dtype=np.float32) / np.float32(PALETTE_MAX)
    return (relative - np.float32(np.median(relative))) / np.float32(scale)
