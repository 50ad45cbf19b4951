"""Bresenham rasterisation of a min-max-normalised window into a (levels, width) binary image.

Paper 002 draws the horizontal vibration as a line image: each sample is mapped to one of
64 amplitude levels and consecutive samples are joined with Bresenham lines. Naive versions
map a normalised value v in [0, 1] with ``round(v * levels) - 1`` (or ``int(v * levels)``),
which sends the minimum to row -1 (numpy wraps it to the *top* row) or the maximum to row
``levels`` (out of range). Here ``level = min(floor(v * levels), levels - 1)``: the minimum is
level 0, the maximum level ``levels - 1``, every level is ``1 / levels`` wide.

Row 0 of the image is the top (highest level), as images are displayed.
"""
from __future__ import annotations

import numpy as np

DEFAULT_LEVELS = 64


def bresenham_line(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """Integer pixels (x, y) of the line from (x0, y0) to (x1, y1), both ends included.

    The classic integer-only algorithm (all octants). It is the reference the vectorised
    rasteriser below is tested against."""
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx = 1 if x0 < x1 else -1
    sy = 1 if y0 < y1 else -1
    err = dx + dy
    points = []
    x, y = x0, y0
    while True:
        points.append((x, y))
        if x == x1 and y == y1:
            return points
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x += sx
        if e2 <= dx:
            err += dx
            y += sy


def minmax_normalise(window: np.ndarray) -> np.ndarray:
    """Scale a 1-D window to [0, 1]; a constant window maps to 0.5 (no amplitude to show)."""
    window = np.asarray(window, dtype=np.float64)
    if window.ndim != 1 or window.size < 2:
        raise ValueError(f"need a 1-D window of at least 2 samples, got shape {window.shape}")
    if not np.isfinite(window).all():
        raise ValueError("window contains NaN or Inf")
    low, high = window.min(), window.max()
    if high - low <= 0:
        return np.full(window.shape, 0.5)
    return (window - low) / (high - low)


def amplitude_levels(normalised: np.ndarray, levels: int = DEFAULT_LEVELS) -> np.ndarray:
    """Level index 0..levels-1 of each normalised value (minimum -> 0, maximum -> levels-1)."""
    clipped = np.clip(np.asarray(normalised, dtype=np.float64), 0.0, 1.0)
    return np.minimum(np.floor(clipped * levels), levels - 1).astype(np.int64)


def _column_extents(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest level set in each column when consecutive samples (x, y[x]) are
    joined by Bresenham lines with a unit x step.

    For a segment from (x, a) to (x + 1, b) with d = |b - a| >= 1, the reference algorithm
    plots a + s*k (s = sign(b - a)) in column x for k = 0 .. (d - 1) // 2 and in column
    x + 1 for k = (d - 1) // 2 + 1 .. d. Each column therefore holds one contiguous run:
    its own sample, the first half of the outgoing segment and the second half of the
    incoming one."""
    step = np.diff(y)
    sign = np.sign(step)
    dist = np.abs(step)
    half = np.maximum(dist - 1, 0) // 2
    low = y.copy()
    high = y.copy()
    # Outgoing segment: column x reaches a + s * ((d - 1) // 2).
    out_end = y[:-1] + sign * half
    low[:-1] = np.minimum(low[:-1], out_end)
    high[:-1] = np.maximum(high[:-1], out_end)
    # Incoming segment: column x + 1 starts at a + s * ((d - 1) // 2 + 1) when within d.
    has_tail = half + 1 <= dist
    in_start = np.where(has_tail, y[:-1] + sign * (half + 1), y[1:])
    low[1:] = np.minimum(low[1:], in_start)
    high[1:] = np.maximum(high[1:], in_start)
    return low, high


def rasterise(window: np.ndarray, levels: int = DEFAULT_LEVELS,
              width: int | None = None) -> np.ndarray:
    """(levels, width) uint8 image in {0, 1} of the min-max-normalised window.

    Samples sit in consecutive columns, joined by Bresenham lines; ``width`` (a divisor of
    the window length) then merges groups of columns with a logical OR, like the paper's
    resize but without blurring the binary strokes. Row 0 is the highest level."""
    level = amplitude_levels(minmax_normalise(window), levels)
    n = level.size
    width = n if width is None else int(width)
    if width <= 0 or n % width:
        raise ValueError(f"width {width} must divide the window length {n}")
    low, high = _column_extents(level)
    rows = np.arange(levels)[:, None]
    image = (rows >= low[None, :]) & (rows <= high[None, :])  # (levels, n), row = level
    image = image.reshape(levels, width, n // width).any(axis=2)
    return np.ascontiguousarray(image[::-1]).astype(np.uint8)
