"""Render a localisation heatmap over a thermal or camera frame, as an operator sees it."""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps


def _colormap_lut(name: str) -> np.ndarray:
    cmap = colormaps[name]
    return (cmap(np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)


# Built once: the lookup tables make rendering a frame a few array indexings.
_JET = _colormap_lut("jet")
_GREY = _colormap_lut("gray")
_INFERNO = _colormap_lut("inferno")


def normalise(image: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the frame's own 1st-99th percentile (robust to dead pixels)."""
    lo, hi = np.percentile(image, (1.0, 99.0))
    if hi - lo < 1e-6:
        return np.zeros(image.shape, np.float32)
    return np.clip((image.astype(np.float32) - lo) / (hi - lo), 0.0, 1.0)


def background_rgb(frame: np.ndarray) -> np.ndarray:
    """(H, W) thermal deg C -> inferno-coloured RGB; (H, W, 3) camera -> unchanged."""
    if frame.ndim == 3:
        return frame.astype(np.uint8, copy=False)
    return _INFERNO[(normalise(frame) * 255).astype(np.uint8)]


def overlay(frame: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45,
            hotspot_xy: tuple[int, int] | None = None,
            region: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Blend a [0, 1] heatmap (jet) over the frame; mark hotspot (cross) and region (box).

    Where the heatmap is weak the frame shows through (alpha scales with the heat), so the
    operator still recognises the machine around the hot spot.
    """
    if heatmap.shape != frame.shape[:2]:
        raise ValueError(f"heatmap {heatmap.shape} does not match frame {frame.shape[:2]}")
    base = background_rgb(frame).astype(np.float32)
    heat = np.clip(heatmap, 0.0, 1.0)
    colour = _JET[(heat * 255).astype(np.uint8)].astype(np.float32)
    weight = (alpha * heat)[..., None]
    out = (base * (1.0 - weight) + colour * weight).astype(np.uint8)
    if region is not None:
        _draw_box(out, region, (255, 255, 255))
    if hotspot_xy is not None:
        _draw_cross(out, hotspot_xy, (0, 255, 0))
    return out


def _draw_box(img: np.ndarray, region: tuple[int, int, int, int],
              colour: tuple[int, int, int]) -> None:
    height, width = img.shape[:2]
    x, y, w, h = region
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width - 1, x + max(w, 1) - 1), min(height - 1, y + max(h, 1) - 1)
    if x0 > x1 or y0 > y1:
        return
    img[y0, x0:x1 + 1] = colour
    img[y1, x0:x1 + 1] = colour
    img[y0:y1 + 1, x0] = colour
    img[y0:y1 + 1, x1] = colour


def _draw_cross(img: np.ndarray, xy: tuple[int, int], colour: tuple[int, int, int],
                arm: int = 5) -> None:
    height, width = img.shape[:2]
    x, y = int(xy[0]), int(xy[1])
    if not (0 <= x < width and 0 <= y < height):
        return
    img[y, max(0, x - arm):min(width, x + arm + 1)] = colour
    img[max(0, y - arm):min(height, y + arm + 1), x] = colour
