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


def background_rgb(frame: np.ndarray, palette: str = "inferno") -> np.ndarray:
    """(H, W) thermal deg C -> RGB in the palette ("inferno" or "grey");
    (H, W, 3) camera -> unchanged."""
    if frame.ndim == 3:
        return frame.astype(np.uint8, copy=False)
    lut = {"inferno": _INFERNO, "grey": _GREY}.get(palette)
    if lut is None:
        raise ValueError(f"unknown palette {palette!r}: use 'inferno' or 'grey'")
    return lut[(normalise(frame) * 255).astype(np.uint8)]


def overlay(frame: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45,
            hotspot_xy: tuple[int, int] | None = None,
            region: tuple[int, int, int, int] | None = None,
            palette: str = "inferno") -> np.ndarray:
    """Blend a [0, 1] heatmap (jet) over the frame; mark hotspot (cross) and region (box).

    Where the heatmap is weak the frame shows through (alpha scales with the heat), so the
    operator still recognises the machine around the hot spot.
    """
    if heatmap.shape != frame.shape[:2]:
        raise ValueError(f"heatmap {heatmap.shape} does not match frame {frame.shape[:2]}")
    base = background_rgb(frame, palette).astype(np.float32)
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


def _draw_outlined_cross(img: np.ndarray, xy: tuple[int, int], arm: int, half_width: int
                         ) -> None:
    """A green cross (2 half_width + 1 px thick) with a one-pixel black outline: visible on
    the red of a hot spot and on dark backgrounds alike, also when the image is shrunk."""
    for colour, grow in (((0, 0, 0), 1), ((0, 255, 0), 0)):
        reach, width = arm + grow, half_width + grow
        for offset in range(-width, width + 1):
            _draw_line(img, (xy[0], xy[1] + offset), reach, horizontal=True, colour=colour)
            _draw_line(img, (xy[0] + offset, xy[1]), reach, horizontal=False, colour=colour)


def _draw_line(img: np.ndarray, xy: tuple[int, int], reach: int, horizontal: bool,
               colour: tuple[int, int, int]) -> None:
    height, width = img.shape[:2]
    x, y = int(xy[0]), int(xy[1])
    if horizontal and 0 <= y < height:
        img[y, max(0, x - reach):min(width, x + reach + 1)] = colour
    elif not horizontal and 0 <= x < width:
        img[max(0, y - reach):min(height, y + reach + 1), x] = colour


def colour_bar(height: int, width: int = 12) -> np.ndarray:
    """(height, width, 3) jet bar, 1.0 (hot) at the top, with a one-pixel black frame."""
    values = np.linspace(1.0, 0.0, height)
    bar = np.repeat(_JET[(values * 255).astype(np.uint8)][:, None, :], width, axis=1)
    bar[[0, -1], :] = 0
    bar[:, [0, -1]] = 0
    return bar


def render(frame: np.ndarray, heatmap: np.ndarray, alpha: float = 0.6,
           hotspot_xy: tuple[int, int] | None = None,
           region: tuple[int, int, int, int] | None = None,
           scale: int = 3, with_colour_bar: bool = True) -> np.ndarray:
    """The operator's heatmap image: the jet map over a grey thermal frame (a coloured thermal
    palette would hide the map's colours), enlarged `scale` times (nearest neighbour, so pixels
    stay honest), the region box and an outlined hotspot cross drawn at the enlarged size, and
    a jet colour bar on the right (top = strongest evidence)."""
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be within [0, 1], got {alpha}")
    base = overlay(frame, heatmap, alpha, palette="grey")
    big = np.repeat(np.repeat(base, scale, axis=0), scale, axis=1)
    if region is not None:
        x, y, w, h = region
        for inset in range(max(1, scale // 2) + 1):
            _draw_box(big, (x * scale + inset, y * scale + inset, w * scale - 2 * inset,
                            h * scale - 2 * inset), (255, 255, 255))
    if hotspot_xy is not None:
        centre = (hotspot_xy[0] * scale + scale // 2, hotspot_xy[1] * scale + scale // 2)
        _draw_outlined_cross(big, centre, arm=5 * scale, half_width=max(1, scale // 3))
    if not with_colour_bar:
        return big
    gap = np.zeros((big.shape[0], 4, 3), np.uint8)
    bar = colour_bar(big.shape[0], width=4 * scale)
    return np.concatenate([big, gap, bar], axis=1)
