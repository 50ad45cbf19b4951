"""Frames as the monitor hands them to the cascade -> exactly the real-data CNNs' training input.

Thermal: replay_node publishes thermal_motor frames as mono16 = the palette index (0..241)
mapped linearly onto an ASSUMED span in deg C (centikelvin counts); the pipeline turns them
into deg C (imaging/codec.py to_celsius). ``palette_index_from_celsius`` inverts the span map
(rounding to the integer index the file held), then the training path follows: block-mean
downscale and ``normalise_palette_frame``.

Camera: the pipeline hands (H, W, 3) uint8 RGB (mono8 repeated into three channels). PIL's
"L" conversion (ITU-R 601 luma, integer weights summing to 65536) gives a mono frame back
exactly; then ``resize_grey`` and ``normalise_grey_image`` as in training.

The ``*Input`` modules take the whole frame and do that preprocessing inside ``forward``, so
Grad-CAM (which upsamples to its input's size) returns a heatmap of the frame's own size, for
the cascade's Stage 2 and the explainer alike. The preprocessing is not differentiable and
need not be: Grad-CAM differentiates the logits with respect to a feature map only.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn

from pm_monitor.core.models.camera_defect import (
    CameraDefectNet,
    normalise_grey_image,
    resize_grey,
)
from pm_monitor.core.models.thermal_classifier import (
    PALETTE_MAX,
    downscale,
    normalise_palette_frame,
)
from pm_monitor.core.models.thermal_resnet import ThermalResNet


def palette_index_from_celsius(frame_c: np.ndarray, span_c: tuple[float, float]) -> np.ndarray:
    """deg C of replay_node's mono16 thermal_motor frames -> palette index 0..241 (float32).

    The replay maps index i to lo + i x (hi - lo) / 241 and encodes it in 0.01 K steps; the
    index step is (hi - lo) / 241 K (0.25 K for 20..80 deg C), so rounding recovers it."""
    lo, hi = span_c
    frame = np.asarray(frame_c, dtype=np.float64)
    if frame.ndim != 2:
        raise ValueError(f"thermal frame must be (H, W) deg C, got shape {frame.shape}")
    index = np.rint((frame - lo) * (PALETTE_MAX / (hi - lo)))
    return np.clip(index, 0.0, PALETTE_MAX).astype(np.float32)


def thermal_model_input(frame_c: np.ndarray, span_c: tuple[float, float],
                        factor: int) -> np.ndarray:
    """(H / factor, W / factor) float32: what the thermal classifier saw in training."""
    frame = np.asarray(frame_c)
    if frame.ndim != 2 or frame.shape[0] % factor or frame.shape[1] % factor:
        raise ValueError(f"thermal frame {frame.shape} is not (H, W) with H and W multiples "
                         f"of the model's downscale factor {factor} (thermal_motor: 240x320)")
    return normalise_palette_frame(downscale(palette_index_from_celsius(frame, span_c), factor))


def grey_of(frame: np.ndarray) -> np.ndarray:
    """(H, W) uint8 grey of an RGB8 camera frame (or of a grey one, returned as it is)."""
    pixels = np.asarray(frame)
    if pixels.dtype != np.uint8:
        raise ValueError(f"camera frame must be uint8, got {pixels.dtype}")
    if pixels.ndim == 2:
        return pixels
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"camera frame must be (H, W, 3) RGB or (H, W) grey, got {pixels.shape}")
    return np.asarray(Image.fromarray(np.ascontiguousarray(pixels), "RGB").convert("L"))


def thermal_pixels(image: np.ndarray) -> np.ndarray:
    """A window's thermal frame as the float32 (H, W) deg C the thermal wrapper takes."""
    pixels = np.asarray(image, np.float32)
    if pixels.ndim != 2:
        raise ValueError(f"thermal frame must be (H, W) deg C, got shape {pixels.shape}")
    return pixels


def grey_pixels(image: np.ndarray) -> np.ndarray:
    """A window's camera frame as the float32 (H, W) grey the camera wrapper takes."""
    return grey_of(image).astype(np.float32)


def camera_model_input(grey: np.ndarray, size: int) -> np.ndarray:
    """(size, size) float32: what the NEU camera model saw in training."""
    return normalise_grey_image(resize_grey(grey, size))


class ThermalInput(nn.Module):
    """ThermalResNet fed with whole deg C frames (1, 1, H, W); Grad-CAM layer
    ``net.attended``."""

    def __init__(self, net: ThermalResNet, span_c: tuple[float, float], factor: int) -> None:
        super().__init__()
        self.net, self.span_c, self.factor = net, span_c, factor

    @property
    def gradcam_layer(self) -> nn.Module:
        return self.net.gradcam_layer

    def forward(self, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        image = thermal_model_input(_one_frame(frame), self.span_c, self.factor)
        return tuple(self.net(_as_input(image, frame)))


class CameraInput(nn.Module):
    """CameraDefectNet fed with whole grey frames (1, 1, H, W) of 0..255; Grad-CAM layer
    ``net.features``."""

    def __init__(self, net: CameraDefectNet, size: int) -> None:
        super().__init__()
        self.net, self.size = net, size

    @property
    def gradcam_layer(self) -> nn.Module:
        return self.net.gradcam_layer

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        grey = np.clip(np.rint(_one_frame(frame)), 0, 255).astype(np.uint8)
        return self.net(_as_input(camera_model_input(grey, self.size), frame))


def _one_frame(frame: torch.Tensor) -> np.ndarray:
    if frame.dim() != 4 or frame.shape[:2] != (1, 1):
        raise ValueError(f"expected one frame (1, 1, H, W), got {tuple(frame.shape)}")
    return frame.detach()[0, 0].numpy()


def _as_input(image: np.ndarray, frame: torch.Tensor) -> torch.Tensor:
    """(1, 1, h, w) tensor; requires grad when the frame does, so Grad-CAM's feature map is
    differentiable even with frozen parameters."""
    return torch.from_numpy(image)[None, None].requires_grad_(frame.requires_grad)
